#!/usr/bin/env node
// bench/structured — the cost of constrained output: chat completions with
// a json_schema response_format against the same requests as free text, on
// hearth and, when LLAMA_SERVER names a llama-server binary, on it (its
// GBNF grammars from the same schema) with the same model in the same run.
// Prints generated tokens/s for both kinds, each server's constrained/free
// ratio, hearth/llama-server, and how many constrained answers parse as
// JSON that fits the schema (checked with Ajv).
//
//   node bench/structured/run.js [MODEL.gguf]   (default: the SmolLM2 model
//   the install script fetched, models/smollm2-135m-instruct.gguf)
//
// Method: REQUESTS (8) distinct prompts, one request at a time, greedy
// (temperature 0), max_tokens MAX_TOKENS (128), THREADS (2) threads; one
// warm-up request of each kind first; best of ROUNDS (2) passes per kind.
// The schema uses only what both servers enforce (objects, strings,
// integers, enums, arrays with maxItems).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const Ajv = require('ajv');

const ROOT = path.resolve(__dirname, '..', '..');
const REQUESTS = Number(process.env.REQUESTS || 8);
const MAX_TOKENS = Number(process.env.MAX_TOKENS || 128);
const THREADS = String(process.env.THREADS || 2);
const ROUNDS = Number(process.env.ROUNDS || 2);
const MODEL = path.resolve(process.argv[2] || path.join(ROOT, 'models', 'smollm2-135m-instruct.gguf'));

const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer' },
    city: { enum: ['Paris', 'Rome', 'Oslo', 'Lima', 'Cairo'] },
    hobbies: { type: 'array', items: { type: 'string' }, maxItems: 3 },
    married: { type: 'boolean' },
  },
  required: ['name', 'age', 'city', 'hobbies', 'married'],
  additionalProperties: false,
};
const validate = new Ajv({ strict: false }).compile(SCHEMA);
const CITIES = ['Paris', 'Rome', 'Oslo', 'Lima', 'Cairo', 'Paris', 'Rome', 'Oslo'];
const prompt = (i) => `Invent person number ${i + 1}: a ${20 + 3 * i} year old who lives in ${CITIES[i % CITIES.length]}. Describe them.`;

const { freePort, start, waitReady } = require('../lib/servers');

// OpenAI's form for hearth; llama-server c392e50 ignores that one and
// enforces its own, {"type": "json_object", "schema": ...}.
async function chat(base, i, constrained, llama) {
  const body = { model: 'bench', temperature: 0, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: prompt(i) }] };
  if (constrained) {
    body.response_format = llama ? { type: 'json_object', schema: SCHEMA }
      : { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: SCHEMA } };
  }
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${base}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const j = JSON.parse(text);
  return { tokens: j.usage.completion_tokens, content: j.choices[0].message.content, finish: j.choices[0].finish_reason };
}

// {tps: {free, json}, fits: how many constrained answers parse and fit}
async function benchServer(name, base) {
  const llama = name === 'llama-server';
  await chat(base, 0, false, llama);
  await chat(base, 0, true, llama);
  const tps = {};
  let fits = 0;
  for (const constrained of [false, true]) {
    let best = 0;
    for (let r = 0; r < ROUNDS; r++) {
      let tokens = 0, ok = 0;
      const t0 = performance.now();
      for (let i = 0; i < REQUESTS; i++) {
        const a = await chat(base, i, constrained, llama);
        tokens += a.tokens;
        if (constrained) {
          try { if (validate(JSON.parse(a.content))) ok++; } catch {}
        }
      }
      best = Math.max(best, tokens / ((performance.now() - t0) / 1000));
      if (constrained) fits = ok;
    }
    tps[constrained ? 'json' : 'free'] = best;
    console.error(`${name} ${constrained ? 'json_schema' : 'free text'}: ${best.toFixed(1)} tokens/s`);
  }
  return { tps, fits };
}

(async () => {
  execFileSync('make', ['-C', ROOT, '-s']);
  if (!fs.existsSync(MODEL)) throw new Error(`no model at ${MODEL} (run scripts/install.sh)`);
  const results = [];
  const hp = await freePort();
  const h = start(path.join(ROOT, 'hearth'), ['serve', '--port', String(hp), '-m', MODEL, '--alias', 'bench',
    '--threads', THREADS, '--access-log', 'off', '--data', fs.mkdtempSync('/tmp/hearth-bench-')]);
  try {
    await waitReady(`http://127.0.0.1:${hp}/readyz`, h);
    results.push(['hearth', await benchServer('hearth', `http://127.0.0.1:${hp}`)]);
  } finally {
    await h.stop();
  }
  if (process.env.LLAMA_SERVER) {
    const lp = await freePort();
    const l = start(process.env.LLAMA_SERVER, ['-m', MODEL, '--port', String(lp), '--host', '127.0.0.1',
      '-np', '1', '-c', '2048', '-t', THREADS, '--alias', 'bench']);
    try {
      await waitReady(`http://127.0.0.1:${lp}/health`, l);
      results.push(['llama-server', await benchServer('llama-server', `http://127.0.0.1:${lp}`)]);
    } finally {
      await l.stop();
    }
  }
  console.log(`model ${path.basename(MODEL)}, ${REQUESTS} requests a kind, max ${MAX_TOKENS} tokens, greedy, ${THREADS} threads, best of ${ROUNDS}`);
  console.log('server         free tok/s   json_schema tok/s   json/free   answers fitting the schema');
  for (const [name, r] of results) {
    console.log(`${name.padEnd(13)} ${r.tps.free.toFixed(1).padStart(11)} ${r.tps.json.toFixed(1).padStart(19)} ` +
      `${(r.tps.json / r.tps.free).toFixed(2).padStart(11)}   ${r.fits} of ${REQUESTS}`);
  }
  if (results.length === 2) {
    const [h1, l1] = [results[0][1], results[1][1]];
    console.log(`ratio hearth / llama-server: free ${(h1.tps.free / l1.tps.free).toFixed(2)}x, ` +
      `json_schema ${(h1.tps.json / l1.tps.json).toFixed(2)}x`);
  }
  const out = path.join(ROOT, 'bench', 'results', `structured-${Date.now()}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ model: MODEL, results }, null, 1));
  console.log(`raw results: ${path.relative(ROOT, out)}`);
})().catch((e) => { console.error(`bench/structured: ${e.message}`); process.exit(1); });
