// The peer of bench_json.c: Node's JSON.parse (what Fastify's body parser
// uses) and JSON.stringify on the bodies bench_json wrote to /tmp.
const fs = require('fs');
for (const name of ['short', 'long']) {
  const text = fs.readFileSync(`/tmp/hearth_bench_json_${name}.json`, 'utf8');
  const bytes = Buffer.byteLength(text);
  const iters = Math.ceil(400e6 / bytes);
  let v;
  for (let i = 0; i < 1000; i++) v = JSON.parse(text);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) v = JSON.parse(text);
  let t1 = process.hrtime.bigint();
  let s;
  for (let i = 0; i < iters; i++) s = JSON.stringify(v);
  let t2 = process.hrtime.bigint();
  const rs = Number(t1 - t0) / 1e9, ws = Number(t2 - t1) / 1e9;
  console.log(`node   ${name.padEnd(6)} ${String(bytes).padStart(6)} bytes  JSON.parse ${((bytes * iters) / 1e6 / rs).toFixed(0).padStart(5)} MB/s ${((rs / iters) * 1e6).toFixed(2)} us/body | JSON.stringify ${((bytes * iters) / 1e6 / ws).toFixed(0)} MB/s`);
  if (s.length === 0) console.log('');
}
