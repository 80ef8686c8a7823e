#!/usr/bin/env node
// bench/embeddings/concurrent.js — sentences/s of all-MiniLM-L6-v2 when C
// clients send single sentences at once (each its own connection, a new
// request as soon as its last answer is read): what a service sees under
// load, where requests that arrive together can share encoder passes.
// hearth and llama-server (same GGUF) in one run, 2 threads each; prints
// sentences/s per client count and the ratio.
//
//   node bench/embeddings/concurrent.js
//   LLAMA_SERVER=/path/to/llama-server CLIENTS=1,8,32 TYPES=f32,q8_0 node bench/embeddings/concurrent.js
//
// Sentences: tests/data/embeddings/sentences.txt up to 400 characters
// (~240 of them, well under 512 tokens, which llama-server refuses past
// its batch); a round sends each twice, spread over the C clients, and the
// best of ROUNDS rounds counts, after a warm-up round. hearth: `hearth
// serve --threads 2` (each client a kept-alive connection). llama-server:
// --embeddings --pooling mean -t/-tb 2, -np 1 -c 512 -b = -ub 512, and a
// new connection per request (it answers kept-alive connections in two
// segments without TCP_NODELAY, and each waited for the client's delayed
// ACK: see run.js). One slot, so it takes the clients' requests one at a
// time: with -np C (a slot per client, which would let it batch them)
// this llama.cpp aborts as soon as two short sentences meet in a batch
// (GGML_ASSERT "seq_id cannot be larger than n_tokens with pooling_type ==
// MEAN", llama-context.cpp; the client sees "socket hang up").
// Environment: CLIENTS ("1,8,32"), TYPES ("f32"), ROUNDS (3), THREADS (2),
// LLAMA_SERVER (its column is skipped without it).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const CLIENTS = (process.env.CLIENTS || '1,8,32').split(',').map(Number);
const TYPES = (process.env.TYPES || 'f32').split(',');
const ROUNDS = Number(process.env.ROUNDS || 3);
const THREADS = Number(process.env.THREADS || 2);
const log = (...a) => console.error(...a);

const sentences = fs.readFileSync(path.join(ROOT, 'tests/data/embeddings/sentences.txt'), 'utf8')
  .split('\n').filter((l) => l && l.length <= 400);

const { freePort, start, waitReady } = require('../lib/servers');

function post(port, body, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/embeddings', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
        const j = JSON.parse(text);
        if (!j.data || j.data.length !== 1 || j.data[0].embedding.length < 2) return reject(new Error(`no vector: ${text.slice(0, 300)}`));
        resolve();
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// One round: every sentence twice, C clients each sending its next one as
// soon as its last answer is in. Sentences/s.
async function round(port, c, keepAlive) {
  const agent = new http.Agent({ keepAlive, maxSockets: c });
  const bodies = [...sentences, ...sentences].map((s) => JSON.stringify({ model: 'minilm', input: s }));
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: c }, async () => {
    while (next < bodies.length) await post(port, bodies[next++], agent);
  }));
  const s = (performance.now() - t0) / 1000;
  agent.destroy();
  return bodies.length / s;
}

async function measure(name, port, keepAlive) {
  await round(port, Math.max(...CLIENTS), keepAlive); // warm-up
  const out = {};
  for (const c of CLIENTS) {
    const r = [];
    for (let i = 0; i < ROUNDS; i++) r.push(await round(port, c, keepAlive));
    out[c] = Math.max(...r);
    log(`${name}, ${c} clients: ${r.map((x) => x.toFixed(1)).join(' ')} sentences/s`);
  }
  return out;
}

(async () => {
  execFileSync('make', ['-C', ROOT, '-s', '-j2', 'hearth'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-conc-'));
  const servers = [];
  process.on('exit', () => servers.forEach((s) => s.kill()));
  const rows = [];
  for (const type of TYPES) {
    const model = path.join(ROOT, 'models', `all-minilm-l6-v2-${type}.gguf`);
    if (!fs.existsSync(model)) throw new Error(`${model} is missing (scripts/install.sh makes it)`);
    const hp = await freePort();
    const h = start(path.join(ROOT, 'hearth'), ['serve', '--port', String(hp), '-m', model, '--alias', 'minilm',
      '--threads', String(THREADS), '--access-log', 'off', '--data', fs.mkdtempSync(path.join(tmp, 'data-'))]);
    servers.push(h);
    await waitReady(`http://127.0.0.1:${hp}/readyz`, h);
    const hs = await measure(`hearth ${type}`, hp, true);
    await h.stop();
    const ls = {};
    if (process.env.LLAMA_SERVER) {
      const lp = await freePort();
      const l = start(process.env.LLAMA_SERVER, ['-m', model, '--host', '127.0.0.1', '--port', String(lp),
        '--alias', 'minilm', '--embeddings', '--pooling', 'mean', '-t', String(THREADS), '-tb', String(THREADS),
        '-np', '1', '-c', '512', '-b', '512', '-ub', '512']);
      servers.push(l);
      await waitReady(`http://127.0.0.1:${lp}/health`, l);
      Object.assign(ls, await measure(`llama.cpp ${type}`, lp, false));
      await l.stop();
    }
    for (const c of CLIENTS) rows.push([type, c, hs[c], ls[c]]);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`all-MiniLM-L6-v2, ${sentences.length} sentences (up to 400 characters) twice a round, ` +
    `${THREADS} threads, best of ${ROUNDS} rounds; load avg ${os.loadavg()[0].toFixed(2)}`);
  console.log('type  clients   hearth s/s  llama.cpp s/s  hearth/llama.cpp');
  for (const [type, c, h, l] of rows) {
    console.log(`${type.padEnd(5)} ${String(c).padStart(7)} ${h.toFixed(1).padStart(12)} ${(l ? l.toFixed(1) : '-').padStart(14)} ` +
      `${(l ? `${(h / l).toFixed(2)}x` : '-').padStart(17)}`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
