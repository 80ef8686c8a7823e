#!/usr/bin/env node
// bench/serve — streamed chat completions at concurrency 1, 4 and 8 against
// hearth and, when LLAMA_SERVER names a llama-server binary, against it on
// the same model in the same run. Prints TTFT p50/p95 and aggregate
// generated tokens/s per concurrency, and the ratios hearth/llama-server.
//
//   node bench/serve/run.js [MODEL.gguf]     (default: a generated
//   TinyLlama-shaped Q4_0 model, made by bench/engine's generator)
//
// Environment: CONCURRENCY ("1,4,8"), REQUESTS per level (2 x concurrency),
// MAX_TOKENS (64), THREADS (2), LLAMA_SERVER.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const net = require('node:net');

const ROOT = path.resolve(__dirname, '..', '..');
const LEVELS = (process.env.CONCURRENCY || '1,4,8').split(',').map(Number);
const MAX_TOKENS = Number(process.env.MAX_TOKENS || 64);
const THREADS = String(process.env.THREADS || 2);

function modelPath() {
  if (process.argv[2]) return path.resolve(process.argv[2]);
  const p = path.join(ROOT, 'bench', '.cache', 'tinyllama-q4_0.gguf');
  if (!fs.existsSync(p)) {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    console.error(`generating ${p} ...`);
    execFileSync('python3', [path.join(ROOT, 'tools', 'gguf_gen.py'), '--arch', 'llama', '--type', 'q4_0',
      '--n-embd', '2048', '--n-layer', '22', '--n-head', '32', '--n-head-kv', '4', '--n-ff', '5632',
      '--n-vocab', '32000', '--ctx', '2048', '--seed', '1', '--out', p + '.tmp'], { stdio: 'inherit' });
    fs.renameSync(p + '.tmp', p);
  }
  return p;
}

const freePort = () => new Promise((res) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
});

async function waitReady(url, ms = 120000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const r = await fetch(url).catch(() => null);
    if (r && r.status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} never became ready`);
}

// One streamed request; returns {ttft, tokens, ms}.
async function oneStream(base, model, i) {
  const t0 = performance.now();
  const send = () => fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model, stream: true, max_tokens: MAX_TOKENS, temperature: 0.8, seed: i,
      // the prompt differs per request so no run rides on another's cache
      messages: [{ role: 'user', content: `Request ${i}: tell me a long story about the number ${i * 7919}.` }],
    }),
  });
  // A kept-alive connection the server closed between two requests fails
  // before any answer ("fetch failed"; llama-server at 8 streams, about one
  // run in four): the request was not served, so it goes once more, its
  // time still counted from the first try.
  let res;
  try {
    res = await send();
  } catch (e) {
    const why = (e.cause && (e.cause.code || e.cause.message)) || e.message;
    try {
      res = await send();
    } catch (e2) {
      throw new Error(`${base}: request ${i} failed twice before any answer: ${why}; ` +
        `${(e2.cause && (e2.cause.code || e2.cause.message)) || e2.message}`);
    }
  }
  if (res.status !== 200) throw new Error(`${base}: HTTP ${res.status} ${await res.text()}`);
  let ttft = null, tokens = 0, buf = '', bytes = 0;
  const dec = new TextDecoder();
  const body = res.body[Symbol.asyncIterator]();
  for (;;) {
    let step;
    try {
      step = await body.next();
    } catch (e) {
      // Say which server cut which stream where (seen twice in ~25 runs,
      // an undici UND_ERR_SOCKET near a stream's end, server unknown).
      throw new Error(`${base}: stream of request ${i} cut after ${tokens} tokens, ${bytes} bytes: ` +
        `${(e.cause && (e.cause.code || e.cause.message)) || e.message}`);
    }
    if (step.done) break;
    const chunk = step.value;
    bytes += chunk.length;
    buf += dec.decode(chunk, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!frame.startsWith('data: ') || frame === 'data: [DONE]') continue;
      const j = JSON.parse(frame.slice(6));
      if (j.choices && j.choices[0] && j.choices[0].delta && j.choices[0].delta.content !== undefined) {
        if (ttft === null) ttft = performance.now() - t0;
        tokens++;
      }
    }
  }
  return { ttft, tokens, ms: performance.now() - t0 };
}

async function level(base, model, conc) {
  const total = Number(process.env.REQUESTS || 2 * conc);
  let next = 0;
  const results = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < total) results.push(await oneStream(base, model, next++));
  }));
  const wall = (performance.now() - t0) / 1000;
  const ttfts = results.map((r) => r.ttft).sort((a, b) => a - b);
  const q = (p) => ttfts[Math.min(ttfts.length - 1, Math.floor(p * ttfts.length))];
  const tokens = results.reduce((s, r) => s + r.tokens, 0);
  return { conc, p50: q(0.5), p95: q(0.95), tps: tokens / wall, tokens };
}

function start(cmd, args, url) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  p.stderr.on('data', (d) => { log = (log + d).slice(-4000); });
  const exited = new Promise((r) => p.on('exit', (code, signal) => r({ code, signal })));
  return {
    p, log: () => log, exited,
    stop: () => { try { process.kill(-p.pid, 'SIGTERM'); } catch {} },
  };
}

async function benchServer(name, base, model) {
  const rows = [];
  await oneStream(base, model, 999999); // warm-up
  for (const c of LEVELS) rows.push(await level(base, model, c));
  return rows;
}

(async () => {
  execFileSync('make', ['-C', ROOT, '-s']);
  const model = modelPath();
  const maxConc = Math.max(...LEVELS);
  const servers = [];
  const stops = [];
  let current = null; // the server being measured
  process.on('exit', () => stops.forEach((s) => s()));
  process.on('SIGINT', () => process.exit(130));
  try {
    const hp = await freePort();
    const h = start(path.join(ROOT, 'hearth'), ['serve', '--port', String(hp), '-m', model, '--alias', 'bench',
      '--slots', String(maxConc), '--threads', THREADS, '--ctx-size', '1024', '--access-log', 'off',
      '--data', fs.mkdtempSync('/tmp/hearth-bench-')]);
    stops.push(h.stop);
    await waitReady(`http://127.0.0.1:${hp}/readyz`);
    current = h;
    servers.push(['hearth', await benchServer('hearth', `http://127.0.0.1:${hp}`, 'bench')]);
    h.stop();
    await h.exited; // the next server gets both cores to itself
    if (process.env.LLAMA_SERVER) {
      const lp = await freePort();
      const l = start(process.env.LLAMA_SERVER, ['-m', model, '--port', String(lp), '--host', '127.0.0.1',
        '-np', String(maxConc), '-c', String(1024 * maxConc), '-t', THREADS, '--alias', 'bench']);
      stops.push(l.stop);
      await waitReady(`http://127.0.0.1:${lp}/health`);
      current = l;
      servers.push(['llama-server', await benchServer('llama-server', `http://127.0.0.1:${lp}`, 'bench')]);
      l.stop();
      await l.exited;
    }
  } catch (e) {
    console.error(`bench/serve: ${e.message}`);
    if (current) {
      await Promise.race([current.exited, new Promise((r) => setTimeout(r, 1000))]);
      const how = current.p.exitCode !== null || current.p.signalCode ? `exited (${current.p.exitCode ?? current.p.signalCode})` : 'still running';
      console.error(`the server is ${how}; the end of its stderr:\n${current.log()}`);
    }
    process.exit(1);
  }
  console.log(`model ${path.basename(model)}, ${MAX_TOKENS} tokens per request, ${THREADS} threads`);
  console.log('server        conc  TTFT p50 ms  TTFT p95 ms   tokens/s   vs conc 1');
  for (const [name, rows] of servers) {
    for (const r of rows) {
      console.log(`${name.padEnd(13)} ${String(r.conc).padStart(4)} ${r.p50.toFixed(1).padStart(12)} ${r.p95.toFixed(1).padStart(12)} ${r.tps.toFixed(1).padStart(10)} ${(r.tps / rows[0].tps).toFixed(2).padStart(11)}`);
    }
  }
  if (servers.length === 2) {
    console.log('ratio hearth / llama-server:');
    servers[0][1].forEach((r, i) => {
      const l = servers[1][1][i];
      console.log(`  conc ${r.conc}: tokens/s ${(r.tps / l.tps).toFixed(2)}x, TTFT p50 ${(r.p50 / l.p50).toFixed(2)}x (lower is better)`);
    });
  }
  const out = path.join(ROOT, 'bench', 'results', `serve-${Date.now()}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ model, servers }, null, 1));
  console.log(`raw results: ${out}`);
})();
