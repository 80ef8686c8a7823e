#!/usr/bin/env node
// bench/scoring — scoring text, as an evaluation harness does (every
// token's log-probability given those before it): hearth's POST
// /v1/completions with echo, logprobs 1 and max_tokens 0, one 512-token
// chunk per request, beside llama.cpp's llama-perplexity on the same model,
// text and chunks, in one run. Prints tokens/s of each and the ratio, and
// the perplexity each computes over the second half of every chunk (what
// llama-perplexity scores), as a check that both scored the same thing.
//
//   node bench/scoring/run.js [MODEL.gguf]   (default: models/smollm2-135m-instruct.gguf)
//   LLAMA_PERPLEXITY=/path/to/llama-perplexity node bench/scoring/run.js
//
// Environment: CHUNKS (8), CTX (512 tokens a chunk), THREADS (2), REPS (3:
// the best pass of hearth's counts; llama-perplexity runs once per rep too),
// TEXT (bench/embeddings/passages.txt), LLAMA_PERPLEXITY.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort, start, waitReady } = require('../lib/servers');

const ROOT = path.resolve(__dirname, '..', '..');
const MODEL = path.resolve(process.argv[2] || path.join(ROOT, 'models', 'smollm2-135m-instruct.gguf'));
const CHUNKS = Number(process.env.CHUNKS || 8);
const CTX = Number(process.env.CTX || 512);
const THREADS = String(process.env.THREADS || 2);
const REPS = Number(process.env.REPS || 3);
const TEXT = process.env.TEXT || path.join(ROOT, 'bench', 'embeddings', 'passages.txt');
const BIN = path.join(ROOT, 'hearth');

// The chunks as llama-perplexity makes them: the text's tokens (no BOS
// added by the tokenizer call) cut into CTX-token pieces, each starting
// with BOS when the model adds one.
function chunks() {
  const text = fs.readFileSync(TEXT, 'utf8');
  const ids = execFileSync(BIN, ['tokenize', '-m', MODEL, text], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .trim().split(/\s+/).map(Number);
  const bos = execFileSync(BIN, ['tokenize', '-m', MODEL, '--add-special', ''], { encoding: 'utf8' }).trim();
  const out = [];
  for (let i = 0; i + CTX <= ids.length && out.length < CHUNKS; i += CTX) {
    const c = ids.slice(i, i + CTX);
    if (bos) c[0] = Number(bos);
    out.push(c);
  }
  if (out.length < CHUNKS) throw new Error(`${TEXT} holds only ${out.length} chunks of ${CTX} tokens`);
  return out;
}

// Perplexity over the second half of each chunk, from per-token logprobs.
function perplexity(all) {
  let sum = 0, n = 0;
  for (const lp of all) for (let i = CTX / 2; i < CTX; i++) sum -= lp[i], n++;
  return Math.exp(sum / n);
}

async function hearth(cs) {
  const port = await freePort();
  const srv = start(BIN, ['serve', '-m', MODEL, '--alias', 'm', '--port', String(port), '-t', THREADS,
    '--slots', '1', '--batch', String(CTX), '--access-log', 'off', '--data', fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-score-'))]);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${base}/readyz`, srv);
    let best = Infinity, lps;
    for (let rep = 0; rep < REPS; rep++) {
      const t0 = performance.now();
      lps = [];
      for (const c of cs) {
        const r = await fetch(`${base}/v1/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', prompt: c, echo: true, logprobs: 1, max_tokens: 0 }),
        });
        if (r.status !== 200) throw new Error(`hearth: ${r.status} ${await r.text()}`);
        lps.push((await r.json()).choices[0].logprobs.token_logprobs);
      }
      best = Math.min(best, performance.now() - t0);
    }
    return { tps: (cs.length * CTX) / (best / 1000), ppl: perplexity(lps) };
  } finally {
    await srv.stop();
  }
}

function llama(exe) {
  let best = 0, ppl = NaN;
  for (let rep = 0; rep < REPS; rep++) {
    const r = spawnSync(exe, ['-m', MODEL, '-f', TEXT, '-c', String(CTX), '-b', String(CTX), '--chunks', String(CHUNKS),
      '-t', THREADS], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const log = r.stdout + r.stderr;
    if (r.status !== 0) throw new Error(`llama-perplexity failed:\n${log.slice(-2000)}`);
    const m = /prompt eval time =\s*([\d.]+) ms \/\s*(\d+) tokens/.exec(log);
    const p = /Final estimate: PPL = ([\d.]+)/.exec(log);
    if (!m || !p) throw new Error(`llama-perplexity: no timing or PPL in its output:\n${log.slice(-2000)}`);
    best = Math.max(best, Number(m[2]) / (Number(m[1]) / 1000));
    ppl = Number(p[1]);
  }
  return { tps: best, ppl };
}

(async () => {
  const cs = chunks();
  const h = await hearth(cs);
  const exe = process.env.LLAMA_PERPLEXITY;
  const l = exe ? llama(exe) : null;
  console.log(`${path.basename(MODEL)}: ${cs.length} chunks of ${CTX} tokens from ${path.relative(ROOT, TEXT)}, ` +
    `${THREADS} threads, best of ${REPS}`);
  console.log('scorer             tokens/s   perplexity (second halves)');
  console.log(`hearth           ${h.tps.toFixed(1).padStart(10)}   ${h.ppl.toFixed(4)}`);
  if (l) {
    console.log(`llama-perplexity ${l.tps.toFixed(1).padStart(10)}   ${l.ppl.toFixed(4)}`);
    console.log(`hearth/llama.cpp: ${(h.tps / l.tps).toFixed(2)}x`);
  } else {
    console.log('LLAMA_PERPLEXITY not set: no llama.cpp row');
  }
})().catch((e) => { console.error(e); process.exit(1); });
