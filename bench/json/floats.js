// The peer of floats.c: Node's JSON.stringify on the same float32 values,
// 384 to a vector, as a Node gateway writes an embedding (each float
// widened to a double, whose shortest text is longer than the float's).
const fs = require('fs');
const raw = fs.readFileSync('/tmp/hearth_bench_floats.f32');
const all = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
const DIMS = 384, vectors = [];
for (let v = 0; v + DIMS <= all.length; v += DIMS) vectors.push(Array.from(all.subarray(v, v + DIMS)));
let best = Infinity, bytes = 0;
for (let r = 0; r < 40; r++) {
  const t0 = process.hrtime.bigint();
  bytes = 0;
  for (const v of vectors) bytes += JSON.stringify(v).length;
  const ns = Number(process.hrtime.bigint() - t0);
  if (r >= 5 && ns < best) best = ns;
}
const n = vectors.length * DIMS;
console.log(`${'node JSON.stringify (doubles)'.padEnd(42)} ${(best / n).toFixed(1).padStart(6)} ns/float  ${((best / n) * DIMS / 1000).toFixed(1).padStart(5)} us per ${DIMS}  ${(bytes / n).toFixed(2).padStart(5)} bytes/float`);
