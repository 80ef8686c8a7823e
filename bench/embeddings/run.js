#!/usr/bin/env node
// bench/embeddings — sentences/s of all-MiniLM-L6-v2 at batch 1 and batch 32
// on 2 threads: hearth, llama.cpp's llama-server on the same GGUF file, and
// sentence-transformers on PyTorch CPU, in one run. Prints sentences/s and
// the ratios hearth/llama.cpp and hearth/sentence-transformers beside the
// targets (>= 1.0x and >= 3x; printed, not asserted).
//
//   bash bench/embeddings/run.sh [--json]     (the entry point: it makes the
//                                              sentence-transformers venv)
//   LLAMA_SERVER=/work/peers/llama.cpp/build/bin/llama-server bash bench/embeddings/run.sh
//
// Method.
// - Sentences: tests/data/embeddings/sentences.txt (the embeddings test
//   set: 257 varied lines in ~30 languages, emoji, code, URLs; median 14
//   tokens) without the texts over 512 tokens (7 of them), because
//   llama-server refuses those instead of cutting them: 250 sentences,
//   mean ~19 tokens, two of exactly 512. The token counts come from the
//   Hugging Face tokenizer in the venv (or from the reference ids in
//   tests/data/embeddings/minilm_reference.jsonl). The same sentences, in
//   the same order and the same groups, go to all three.
// - Batch 1: one sentence per request ("input": "..."), sequential. Batch
//   32: 32 sentences per request ("input": [...]), consecutive groups of the
//   list, sequential. hearth and llama-server are measured through their
//   HTTP API (POST /v1/embeddings) with the same client (node:http with a
//   keep-alive agent, or Node's fetch with CLIENT=fetch; the JSON answer
//   read and parsed inside the timing).
//   sentence-transformers runs in-process (one model.encode(group,
//   batch_size=B) call per group; no HTTP, which favours it slightly),
//   float32, torch.set_num_threads(THREADS), max_seq_length 512 like the
//   other two (the model's config says 256; 512 makes the same tokens go
//   through all three). Like any sentence-transformers service it pads each
//   encode call to its longest text: the group holding the two 512-token
//   texts is computed at 512 tokens for all its sentences; hearth and
//   llama.cpp do no padding.
// - Each engine is warmed up (one pass over all sentences at the largest
//   batch, 8 single sentences) before timing; then every batch size runs
//   ROUNDS passes over all sentences and the best pass counts. One server
//   runs at a time. The warm-up pass's vectors are compared: the minimum
//   cosine of hearth and llama.cpp with sentence-transformers, and how many
//   sentences fall below 0.999, are printed, so a run that compares unlike
//   things (pooling, truncation) shows.
//   (This llama.cpp's WordPiece tokenizer splits some non-ASCII texts
//   differently from Hugging Face's: ~17 of the 250 get other vectors.)
// - llama-server settings, one server per batch size B (started, warmed
//   up, measured, stopped): --embeddings --pooling mean (the model's
//   pooling, as sentence-transformers' 1_Pooling says), -t THREADS -tb
//   THREADS (hearth's --threads), -np B (each input of a request is a task
//   in its own slot: B slots put the B inputs of a request in the same
//   llama_decode, fewer would split it), -c B*512 (each slot keeps the
//   model's full 512-token context, so every sentence hearth takes fits),
//   -b = -ub = UB with UB the largest token total of any group of B
//   sentences (HF count) plus 25%, rounded up to 256, at least 512 (when
//   every text is longer than B tokens, as documents are, only the longest
//   text's, see ubatch below):
//   llama.cpp requires a non-causal batch to fit one ubatch and refuses a
//   prompt longer than -ub, and the server fills a decode with up to -b
//   tokens from all slots, so with -b = -ub >= the group's tokens each
//   request is exactly one decode and no sentence is split. A larger UB
//   costs memory, not time: graphs are built for the tokens actually sent.
//   One server per B, not one -np 32 server for both: this llama.cpp
//   aborts on a mean-pooled batch whose slot id is >= its token count
//   (GGML_ASSERT "seq_id cannot be larger than n_tokens with pooling_type
//   == MEAN", llama-context.cpp), which a short single sentence landing in
//   a high slot triggers. llama.cpp's encoder attends over the whole
//   ubatch with a mask (n_tokens^2 per head, across sentences), which is
//   its design and is measured as it is.
// - hearth: `hearth serve -m FILE --threads THREADS` (defaults otherwise:
//   2 I/O threads), access log off.
//
// Environment: CLIENT (http or fetch), THREADS (2), BATCHES ("1,32"), ROUNDS (3), TYPES ("f32";
// "f32,f16" adds the F16 file for hearth and llama.cpp; sentence-transformers
// stays float32), SENTENCES (another file, one text a line;
// bench/embeddings/passages.txt holds 47 passages of 97-480 tokens, mean
// 272, cut at sentence ends from this repository's README and performance
// notes: documents in RAG-sized chunks instead of sentences), MAX_TOKENS
// (512: longer texts are left out), LLAMA_SERVER (path to llama-server; the
// llama.cpp column is skipped without it), ST_PYTHON and ST_MODEL (set by
// run.sh; without ST_PYTHON the sentence-transformers column is skipped).
// --json prints the summary as one JSON object instead of the table; the raw
// results always go to bench/results/embeddings-<time>.json.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const THREADS = Number(process.env.THREADS || 2);
const BATCHES = (process.env.BATCHES || '1,32').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS || 3);
const TYPES = (process.env.TYPES || 'f32').split(',');
const MAX_TOKENS = Number(process.env.MAX_TOKENS || 512);
const DEFAULT_SENTENCES = path.join(ROOT, 'tests/data/embeddings/sentences.txt');
const SENTENCES = process.env.SENTENCES ? path.resolve(process.env.SENTENCES) : DEFAULT_SENTENCES;
const JSON_OUT = process.argv.includes('--json');
const TARGETS = { llama: 1.0, st: 3.0 };
const ALIAS = 'minilm';
const log = (...a) => console.error(...a);

const { freePort, start, waitReady } = require('../lib/servers');

function readSentences(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// Token counts (HF tokenizer, [CLS]/[SEP] included, not truncated), or null.
function tokenCounts(sentences, jsonFile) {
  if (process.env.ST_PYTHON) {
    const out = execFileSync(process.env.ST_PYTHON, [path.join(__dirname, 'st_bench.py'), 'count',
      process.env.ST_MODEL, jsonFile], { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' } });
    return JSON.parse(out);
  }
  const ref = path.join(ROOT, 'tests/data/embeddings/minilm_reference.jsonl');
  if (SENTENCES === DEFAULT_SENTENCES && fs.existsSync(ref)) {
    const refs = fs.readFileSync(ref, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
    if (refs.length === sentences.length && refs.every((r, i) => r.sentence === sentences[i])) return refs.map((r) => r.ids.length);
  }
  return null;
}

const groups = (arr, b) => Array.from({ length: Math.ceil(arr.length / b) }, (_, i) => arr.slice(i * b, i * b + b));

// POST one request and read the whole answer: node:http (CLIENT=http, the
// default) or Node's fetch (CLIENT=fetch). Both servers get the same
// client. fetch (undici) spends ~0.8-1.2 ms of CPU per request here against
// ~0.4 ms for node:http, on the same two cores and in series with the
// server, so at batch 1 it measured the client as much as the servers;
// CLIENT=fetch gives the older figures.
//
// node:http connects in one of two ways, and each server is measured in
// the one that serves it faster (probeConnection): keep-alive, or a new
// connection per request. llama-server needs the second: it writes an
// answer in two segments without TCP_NODELAY, so on a kept-alive
// connection (out of Linux's quick-ACK start) the second waits for the
// client's delayed ACK, ~40 ms a request (6-9 ms on new connections).
const CLIENT = process.env.CLIENT || 'http';
const AGENTS = {
  'keep-alive': new http.Agent({ keepAlive: true, maxSockets: 1 }),
  'new connection per request': new http.Agent({ keepAlive: false, maxSockets: 1 }),
};
function post(url, body, agent) {
  if (CLIENT === 'fetch') {
    return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then(async (res) => ({ status: res.status, text: await res.text() }));
  }
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function embed(base, input, agent) {
  const n = Array.isArray(input) ? input.length : 1;
  const mode = Object.keys(AGENTS).find((k) => AGENTS[k] === agent) || CLIENT;
  const body = JSON.stringify({ model: ALIAS, input });
  // A kept-alive socket the server has just closed fails at once; the
  // request was not read, so it goes again once (llama-server does this
  // now and then between the probe's rounds).
  const { status, text } = await post(`${base}/v1/embeddings`, body, agent)
    .catch((e) => (e.code === 'ECONNRESET' && mode === 'keep-alive' ? post(`${base}/v1/embeddings`, body, agent) : Promise.reject(e)))
    .catch((e) => { throw new Error(`${base}: a request of ${n} inputs (${mode}) failed: ${e.code || e.message}`); });
  if (status !== 200) throw new Error(`${base}: HTTP ${status} ${text.slice(0, 500)}`);
  const j = JSON.parse(text);
  if (!j.data || j.data.length !== n) throw new Error(`${base}: ${n} inputs, ${j.data && j.data.length} vectors`);
  return j.data.sort((a, b) => a.index - b.index).map((d) => d.embedding);
}

async function pass(base, sentences, b, agent, keep) {
  for (const g of groups(sentences, b)) {
    const v = await embed(base, b === 1 ? g[0] : g, agent);
    if (keep) keep.push(...v);
  }
}

// The connection mode (AGENTS) in which requests of b sentences go faster:
// 16 of them for b = 1, else 4, each mode timed twice, alternating. (Only
// requests of the batch being measured: llama-server started for batch 32
// aborts on some single short sentences, see above.)
async function probeConnection(base, sentences, b) {
  if (CLIENT === 'fetch') return 'keep-alive';
  const reqs = groups(sentences, b).slice(0, b === 1 ? 16 : 4).map((g) => (b === 1 ? g[0] : g));
  const ms = Object.fromEntries(Object.keys(AGENTS).map((k) => [k, Infinity]));
  for (let r = 0; r < 2; r++) {
    for (const [mode, agent] of Object.entries(AGENTS)) {
      for (const x of reqs.slice(0, 2)) await embed(base, x, agent);
      const t0 = performance.now();
      for (const x of reqs) await embed(base, x, agent);
      ms[mode] = Math.min(ms[mode], performance.now() - t0);
    }
  }
  return Object.keys(ms).reduce((x, y) => (ms[y] < ms[x] ? y : x));
}

// Warm-up (a pass over all sentences at the largest of batches, whose
// vectors are kept, and 8 single sentences when batch 1 is measured), then
// per batch size the connection probe and ROUNDS timed passes:
// {sps: {B: best}, rounds: {B: [...]}, vectors, connection: {B: mode}}.
async function benchServer(name, base, sentences, batches) {
  const vectors = [];
  const keep = AGENTS['keep-alive'];
  await pass(base, sentences, Math.max(...batches), keep, vectors);
  if (batches.includes(1)) for (const s of sentences.slice(0, 8)) await embed(base, s, keep);
  const sps = {}, rounds = {}, connection = {};
  for (const b of batches) {
    connection[b] = await probeConnection(base, sentences, b);
    const agent = AGENTS[connection[b]];
    rounds[b] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      await pass(base, sentences, b, agent);
      rounds[b].push(sentences.length / ((performance.now() - t0) / 1000));
    }
    sps[b] = Math.max(...rounds[b]);
    log(`${name} batch ${b} (${connection[b]}): ${rounds[b].map((x) => x.toFixed(1)).join(' ')} sentences/s`);
  }
  return { sps, rounds, vectors, connection };
}

function cosine(a, b) {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
}
// {min, below: how many under 0.999} of the cosines of A's and B's vectors.
function agreement(A, B) {
  if (!A || !B) return null;
  const c = A.map((a, i) => cosine(a, B[i]));
  return { min: Math.min(...c), below: c.filter((x) => x < 0.999).length, n: c.length };
}

(async () => {
  try {
    execFileSync('make', ['-C', ROOT, '-s', '-j2', 'hearth'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    if (!fs.existsSync(path.join(ROOT, 'hearth'))) throw new Error('make failed and there is no ./hearth');
    log('bench/embeddings: WARNING: make failed; measuring the existing ./hearth');
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-emb-'));
  const servers = [];
  const cleanup = () => servers.forEach((s) => s.kill());
  process.on('exit', cleanup);
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));

  const all = readSentences(SENTENCES);
  const allFile = path.join(tmp, 'all.json');
  fs.writeFileSync(allFile, JSON.stringify(all));
  const counts = tokenCounts(all, allFile);
  let sentences = all, tokens = null;
  if (counts) {
    const keep = all.map((_, i) => i).filter((i) => counts[i] <= MAX_TOKENS);
    sentences = keep.map((i) => all[i]);
    tokens = keep.map((i) => counts[i]);
  } else {
    log(`bench/embeddings: no token counts (no ST_PYTHON): all ${all.length} texts kept, llama-server -ub B*512`);
  }
  const sentFile = path.join(tmp, 'sentences.json');
  fs.writeFileSync(sentFile, JSON.stringify(sentences));
  const maxB = Math.max(...BATCHES);
  // llama-server's -b/-ub for batch size b: the largest token total of a
  // group of b sentences, plus 25% (llama.cpp's tokenizer splits some texts
  // into more pieces), rounded up to 256, at least 512 — or, when every
  // text is longer than b tokens, the longest text's the same way (B = 1
  // gets what it got before): each decode then takes the whole
  // texts that fit, and attention stays within few of them (documents at
  // batch 32: 1.2 -> 9.2 passages/s), while llama.cpp's mean-pooling assert
  // (a slot id >= the decode's tokens, see above) cannot fire. LLAMA_UB=N
  // sets it (at least 512).
  const groupTokens = (b) => (tokens ? Math.max(...groups(tokens, b).map((g) => g.reduce((s, x) => s + x, 0))) : b * 512);
  const perText = (b) => tokens && Math.min(...tokens) > b;
  const ubatch = (b) => (process.env.LLAMA_UB ? Math.max(512, Number(process.env.LLAMA_UB))
    : perText(b) ? Math.max(512, Math.ceil((Math.max(...tokens) * 1.25) / 256) * 256)
      : Math.max(512, Math.ceil((groupTokens(b) * 1.25) / 256) * 256));
  const info = {
    sentences: sentences.length, of: all.length, file: path.relative(ROOT, SENTENCES),
    mean_tokens: tokens ? tokens.reduce((s, x) => s + x, 0) / tokens.length : null,
    max_tokens: tokens ? Math.max(...tokens) : null, threads: THREADS, rounds: ROUNDS, client: CLIENT, batches: BATCHES,
    llama_ubatch: Object.fromEntries(BATCHES.map((b) => [b, ubatch(b)])), host: os.hostname(), cpu: os.cpus()[0].model, load: os.loadavg()[0],
  };
  log(`bench/embeddings: ${sentences.length} of ${all.length} sentences from ${info.file}` +
      (tokens ? ` (mean ${info.mean_tokens.toFixed(1)} tokens, max ${info.max_tokens}; max ${groupTokens(maxB)} per group of ${maxB})` : ''));

  const results = {}; // results[type][engine] = {sps, rounds, vectors}
  for (const type of TYPES) {
    const model = path.join(ROOT, 'models', `all-minilm-l6-v2-${type}.gguf`);
    if (!fs.existsSync(model)) throw new Error(`${model} is missing (tools/convert_bert.py makes it)`);
    results[type] = {};
    const hp = await freePort();
    const h = start(path.join(ROOT, 'hearth'), ['serve', '--port', String(hp), '-m', model, '--alias', ALIAS,
      '--threads', String(THREADS), '--access-log', 'off', '--data', fs.mkdtempSync(path.join(tmp, 'data-'))]);
    servers.push(h);
    await waitReady(`http://127.0.0.1:${hp}/readyz`, h);
    results[type].hearth = await benchServer(`hearth ${type}`, `http://127.0.0.1:${hp}`, sentences, BATCHES);
    await h.stop();
    if (process.env.LLAMA_SERVER) {
      // One llama-server per batch size, largest first (see the header).
      const runs = [];
      for (const b of [...BATCHES].sort((x, y) => y - x)) {
        const lp = await freePort();
        const l = start(process.env.LLAMA_SERVER, ['-m', model, '--host', '127.0.0.1', '--port', String(lp),
          '--alias', ALIAS, '--embeddings', '--pooling', 'mean', '-t', String(THREADS), '-tb', String(THREADS),
          '-np', String(b), '-c', String(b * 512), '-b', String(ubatch(b)), '-ub', String(ubatch(b))]);
        servers.push(l);
        await waitReady(`http://127.0.0.1:${lp}/health`, l);
        runs.push(await benchServer(`llama.cpp ${type}`, `http://127.0.0.1:${lp}`, sentences, [b]));
        await l.stop();
      }
      results[type].llama = {
        sps: Object.assign({}, ...runs.map((r) => r.sps)),
        rounds: Object.assign({}, ...runs.map((r) => r.rounds)),
        vectors: runs[0].vectors,
        connection: Object.assign({}, ...runs.map((r) => r.connection)),
      };
    }
  }
  if (!process.env.LLAMA_SERVER) log('bench/embeddings: LLAMA_SERVER not set: no llama.cpp column');

  let st = null;
  if (process.env.ST_PYTHON) {
    const embFile = path.join(tmp, 'st-emb.json');
    const out = execFileSync(process.env.ST_PYTHON, [path.join(__dirname, 'st_bench.py'), 'bench',
      process.env.ST_MODEL, sentFile, '--batches', BATCHES.join(','), '--rounds', String(ROUNDS),
      '--threads', String(THREADS), '--max-seq-length', '512', '--out', embFile],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, HF_HUB_OFFLINE: '1', RAYON_NUM_THREADS: String(THREADS), OMP_NUM_THREADS: String(THREADS) } });
    st = JSON.parse(out.trim().split('\n').pop());
    st.vectors = JSON.parse(fs.readFileSync(embFile, 'utf8'));
  } else {
    log('bench/embeddings: ST_PYTHON not set (run through run.sh): no sentence-transformers column');
  }
  fs.rmSync(tmp, { recursive: true, force: true });

  // ---- report ----
  const rows = [];
  const summary = { info, types: {} };
  for (const type of TYPES) {
    const r = results[type];
    const s = (summary.types[type] = { batches: {}, agreement: {} });
    for (const b of BATCHES) {
      const e = { hearth: r.hearth.sps[b], llama: r.llama ? r.llama.sps[b] : null, st: st ? st.sps[String(b)] : null };
      e.hearth_over_llama = e.llama ? e.hearth / e.llama : null;
      e.hearth_over_st = e.st ? e.hearth / e.st : null;
      s.batches[b] = e;
      rows.push([type, b, e]);
    }
    s.agreement.hearth_vs_st = st ? agreement(r.hearth.vectors, st.vectors) : null;
    s.agreement.llama_vs_st = st && r.llama ? agreement(r.llama.vectors, st.vectors) : null;
    s.agreement.hearth_vs_llama = r.llama ? agreement(r.hearth.vectors, r.llama.vectors) : null;
  }
  const raw = { summary, results: Object.fromEntries(Object.entries(results).map(([t, r]) => [t,
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { sps: v.sps, rounds: v.rounds, connection: v.connection }]))])),
  st: st && { sps: st.sps, rounds: st.rounds, torch: st.torch, threads: st.threads } };
  const outFile = path.join(ROOT, 'bench', 'results', `embeddings-${Date.now()}.json`);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, JSON.stringify(raw, null, 1));
  if (JSON_OUT) {
    console.log(JSON.stringify(summary));
    return;
  }
  const f = (x, d = 1) => (x == null ? '-' : x.toFixed(d));
  const ratio = (x, t) => (x == null ? '-' : `${x.toFixed(2)}x ${x >= t ? '(met)' : '(below)'}`);
  console.log(`all-MiniLM-L6-v2: ${info.sentences} sentences from ${info.file}` +
    (tokens ? ` (mean ${f(info.mean_tokens)} tokens, max ${info.max_tokens})` : '') +
    `, ${THREADS} threads, best of ${ROUNDS} passes, client ${CLIENT}; load avg ${f(info.load, 2)}`);
  console.log(`targets: hearth/llama.cpp >= ${TARGETS.llama.toFixed(1)}x, hearth/sentence-transformers >= ${TARGETS.st.toFixed(1)}x` +
    (process.env.LLAMA_SERVER ? `; llama-server per batch B: -np B -c B*512 -b/-ub ${BATCHES.map((b) => `${ubatch(b)} (B=${b})`).join(', ')}` : ''));
  console.log('type  batch   hearth s/s  llama.cpp s/s  sent-tr s/s   hearth/llama.cpp  hearth/sent-tr');
  for (const [type, b, e] of rows) {
    console.log(`${type.padEnd(5)} ${String(b).padStart(5)} ${f(e.hearth).padStart(12)} ${f(e.llama).padStart(14)} ` +
      `${f(e.st).padStart(12)}   ${ratio(e.hearth_over_llama, TARGETS.llama).padStart(16)}  ${ratio(e.hearth_over_st, TARGETS.st).padStart(14)}`);
  }
  const agr = (a) => (a ? `min ${a.min.toFixed(6)}, ${a.below} of ${a.n} below 0.999` : '-');
  for (const type of TYPES) {
    const a = summary.types[type].agreement;
    console.log(`${type} cosines of the warm-up vectors: hearth vs sentence-transformers ${agr(a.hearth_vs_st)}; ` +
      `llama.cpp vs sentence-transformers ${agr(a.llama_vs_st)}; hearth vs llama.cpp ${agr(a.hearth_vs_llama)}`);
  }
  if (CLIENT === 'http') {
    const modes = TYPES.map((t) => {
      const r = results[t];
      const l = r.llama ? `; llama.cpp ${BATCHES.map((b) => `B=${b} ${r.llama.connection[b]}`).join(', ')}` : '';
      return `${t}: hearth ${BATCHES.map((b) => `B=${b} ${r.hearth.connection[b]}`).join(', ')}${l}`;
    });
    console.log(`connections (each server in its faster mode): ${modes.join(' | ')}`);
  }
  console.log(`raw results: ${path.relative(ROOT, outFile)}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
