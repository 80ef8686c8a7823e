// forward_ref.test.js — hearth's forward pass against an independent NumPy
// reference (tests/reference/ref_forward.py) on models of random weights
// written by tools/gguf_gen.py: llama, GQA with tied embeddings, qwen2
// (biases, NeoX RoPE), one model per tensor type, BERT embeddings, plus the
// real stories260K. Needs python3 with NumPy (Debian's python3-numpy);
// skipped with a message when there is none.
//
// Two comparisons per model, both as max|hearth - ref| / max|ref| per row:
//  - "plain": the reference computes in float64 from the dequantized
//    weights. Hearth, like llama.cpp, rounds every matmul input to the
//    weight type's dot-product format (F16, BF16, or 8-bit Q8_0/Q8_1 blocks
//    of 32, Q8_K blocks of 256) and keeps K/V in F16, so the bound is per
//    type (BOUND below, about 1.5-2x the worst seen over five seeds).
//  - "emulated": the reference does those same roundings (--f16-kv
//    --act-quant). Rows then agree to float32 accumulation noise (~1e-7)
//    until one value lands within that noise of a rounding boundary and
//    rounds the other way; from there on the rows differ by ordinary
//    quantization noise. So at least one row must agree to 1e-5: a
//    systematic difference (a wrong scale, a dropped or unrounded term)
//    leaves no row agreeing, however small it is next to quantization noise.
//    (BERT: one pooled row, no F16 cache; it must agree outright.)
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ROOT, BIN, startHearth } = require('./harness');

const GEN = path.join(ROOT, 'tools', 'gguf_gen.py');
const REF = path.join(ROOT, 'tests', 'reference', 'ref_forward.py');
const PROMPT = 'Hello world, this is a test of the quick brown fox jumping over the lazy dog.';

const PYTHON = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean).find((py) =>
  spawnSync(py, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0);
const skip = PYTHON ? false : 'no python3 with numpy (apt-get install python3-numpy)';

// Worst plain relative error allowed, by tensor type (see the header).
// F32: K/V in F16 only (measured <= 4.5e-4). F16/BF16: activations rounded
// to 11/8 significant bits (<= 9e-4, <= 5.4e-3). 32-blocks: Q8_0/Q8_1
// activations (<= 1.9e-2). K-quants: Q8_K over 256 values, a coarser step
// for the same 8 bits (<= 3.1e-2).
const BOUND = {
  f32: 1e-3, f16: 2e-3, bf16: 1e-2,
  q8_0: 4e-2, q4_0: 4e-2, q4_1: 4e-2, q5_0: 4e-2, q5_1: 4e-2,
  q2_k: 5e-2, q3_k: 5e-2, q4_k: 5e-2, q5_k: 5e-2, q6_k: 5e-2,
};
// "Agree" for the emulated comparison. F16 activations keep 11 bits, so
// float32 noise flips a rounding in most rows, each flip moving the row by
// ~3e-5 to 1e-4; the other formats' steps are far coarser.
const AGREE = { f16: 2e-4 };
const agree = (type) => AGREE[type] || 1e-5;

let tmp;
if (!skip) tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-fwdref-'));
process.on('exit', () => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${path.basename(cmd)} ${args.join(' ')}\n${r.stderr}`);
  return r.stdout;
}

function generate(name, args) {
  const file = path.join(tmp, `${name}.gguf`);
  sh(PYTHON, [GEN, ...args, '--out', file]);
  return file;
}

const tokenize = (model, text) => sh(BIN, ['tokenize', '-m', model, '--add-special', text]).trim();

function reference(model, ids, compare, extra = []) {
  return JSON.parse(sh(PYTHON, [REF, '-m', model, '--ids', ids, '--compare', compare, '--json', ...extra]));
}

// Logit dumps go to the temp dir, never beside a model in the repo.
const dumpPath = (model) => require('node:path').join(require('node:os').tmpdir(), `hearth-${process.pid}-${require('node:path').basename(model)}.logits`);

// hearth run --dump-logits on PROMPT, then both comparisons.
function compareDecoder(model, prompt = PROMPT, extra = []) {
  const dump = dumpPath(model);
  sh(BIN, ['run', '-m', model, '-p', prompt, '--dump-logits', dump, '-t', '2']);
  return reference(model, tokenize(model, prompt), dump, ['--emulated-too', ...extra]);
}

function check(r, type, bound = BOUND[type]) {
  const plain = r.plain || r;
  assert.ok(plain.max_rel_err < bound,
    `plain: worst row ${plain.max_rel_err.toExponential(3)} >= ${bound} (mean ${plain.mean_rel_err.toExponential(3)})`);
  if (r.emulated) {
    assert.ok(r.emulated.min_rel_err < agree(type),
      `emulated: no row agrees to ${agree(type)}; best ${r.emulated.min_rel_err.toExponential(3)}`);
  }
}

const report = (t, r) => t.diagnostic(`plain worst ${r.plain.max_rel_err.toExponential(2)}, ` +
  `mean ${r.plain.mean_rel_err.toExponential(2)}; emulated best row ${r.emulated.min_rel_err.toExponential(2)}`);

const SHAPE = ['--n-embd', '256', '--n-layer', '2', '--n-head', '4', '--n-ff', '512', '--n-vocab', '600'];

test('llama F32 matches the reference within 1e-3', { skip }, (t) => {
  const m = generate('llama-f32', ['--arch', 'llama', '--type', 'f32', '--seed', '1', ...SHAPE]);
  const r = compareDecoder(m);
  report(t, r);
  check(r, 'f32');
  // The check sees a RoPE of the wrong style: the same logits against
  // NeoX pairs are far off.
  const wrong = reference(m, tokenize(m, PROMPT), dumpPath(m), ['--rope', 'neox']);
  assert.ok(wrong.max_rel_err > 0.1, `wrong RoPE only ${wrong.max_rel_err}`);
});

test('llama F32 with grouped-query attention and tied embeddings', { skip }, (t) => {
  const m = generate('llama-gqa', ['--arch', 'llama', '--type', 'f32', '--seed', '2', ...SHAPE,
    '--n-head-kv', '2', '--tied', '--rope-base', '500000']);
  const r = compareDecoder(m);
  report(t, r);
  // A tied embedding is small (it is also the output projection), so the
  // attention output, read from the F16 cache, dominates the residual: the
  // cache's rounding shows more, 6e-4 to 1.15e-3 over eight seeds (and
  // emulated rows agree to 1e-7, so it is that rounding and nothing else).
  check(r, 'f32', 1.5e-3);
});

test('qwen2 F32 (q/k/v biases, NeoX RoPE, GQA)', { skip }, (t) => {
  const m = generate('qwen2-f32', ['--arch', 'qwen2', '--type', 'f32', '--seed', '3', ...SHAPE,
    '--n-head-kv', '2']);
  const r = compareDecoder(m);
  report(t, r);
  check(r, 'f32');
  const wrong = reference(m, tokenize(m, PROMPT), dumpPath(m), ['--rope', 'normal']);
  assert.ok(wrong.max_rel_err > 0.1, `wrong RoPE only ${wrong.max_rel_err}`);
});

test('qwen2 Q8_0 with one KV head and tied embeddings', { skip }, (t) => {
  const m = generate('qwen2-q8', ['--arch', 'qwen2', '--type', 'q8_0', '--seed', '4', ...SHAPE,
    '--n-head-kv', '1', '--tied']);
  const r = compareDecoder(m);
  report(t, r);
  check(r, 'q8_0');
});

for (const type of ['f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1',
  'q2_k', 'q3_k', 'q4_k', 'q5_k', 'q6_k']) {
  test(`llama ${type.toUpperCase()} within its quantization bound`, { skip }, (t) => {
    const m = generate(`llama-${type}`, ['--arch', 'llama', '--type', type, '--seed', '5', ...SHAPE,
      '--n-head-kv', '2']);
    const r = compareDecoder(m);
    report(t, r);
    check(r, type);
  });
}

test('single-token decoding agrees with the reference too', { skip }, () => {
  // The prompt goes through the batched matmul; generated tokens through
  // the matrix-vector path, one at a time. The reference reruns the whole
  // sequence and must give the same greedy tokens and top log-probabilities.
  let checked = 0;
  for (const [name, type, seed] of [['decode-f32', 'f32', '1'], ['decode-q4_k', 'q4_k', '5']]) {
    const m = generate(name, ['--arch', 'llama', '--type', type, '--seed', seed, ...SHAPE, '--n-head-kv', '2']);
    const r = spawnSync(BIN, ['run', '-m', m, '-p', PROMPT, '-n', '8', '--temp', '0', '--ids',
      '--logprobs', '5', '-t', '2'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    const gen = lines.filter((l) => !l.startsWith('top:')).join(' ').trim().split(/\s+/).map(Number);
    const tops = lines.filter((l) => l.startsWith('top:')).map((l) =>
      l.split(' ').slice(1).map((p) => p.split(':').map(Number)));
    const prompt = tokenize(m, PROMPT).split(' ').map(Number);
    const ids = [...prompt, ...gen.slice(0, -1)];
    const out = m + '.ref';
    sh(PYTHON, [REF, '-m', m, '--ids', ids.join(' '), '--out', out]);
    const all = new Float32Array(fs.readFileSync(out).buffer.slice(0));
    const V = all.length / ids.length;
    gen.forEach((id, g) => {
      const row = all.subarray((prompt.length - 1 + g) * V, (prompt.length + g) * V);
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      const lse = max + Math.log(sum);
      // logits differ by up to BOUND x max|logit|; log-probabilities by
      // about twice that
      let amax = 0;
      for (const v of row) amax = Math.max(amax, Math.abs(v));
      const tol = 2 * BOUND[type] * amax;
      for (const [tid, lp] of tops[g]) {
        assert.ok(Math.abs(row[tid] - lse - lp) < tol,
          `${name} step ${g} token ${tid}: hearth ${lp}, reference ${row[tid] - lse} (tol ${tol})`);
        checked++;
      }
      const sorted = Array.from(row).sort((a, b) => b - a);
      if (sorted[0] - sorted[1] > tol) assert.equal(id, row.indexOf(sorted[0]), `${name} step ${g}: greedy token`);
    });
    assert.equal(gen.length, 8, `${name}: 8 tokens generated`);
  }
  assert.equal(checked, 2 * 8 * 5);
});

test('stories260K (a real model) matches the reference within 1e-3', { skip }, () => {
  const model = path.join(ROOT, 'models', 'stories260K.gguf');
  const ref = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/data/reference/stories260K.jsonl'), 'utf8')
    .split('\n')[0]);
  assert.equal(tokenize(model, ref.prompt), ref.prompt_ids.join(' '));
  const r = compareDecoder(model, ref.prompt);
  check(r, 'f32');
});

// BERT: hearth embed (pooled, L2-normalized) against the reference, whose
// GELU is the erf form, as hearth's forward_bert.c chose.
for (const [type, pooling] of [['f32', 'mean'], ['f32', 'cls'], ['f16', 'mean'], ['q8_0', 'mean'],
  ['q4_k', 'cls']]) {
  test(`bert ${type.toUpperCase()} ${pooling} pooling embedding`, { skip }, (t) => {
    const m = generate(`bert-${type}-${pooling}`, ['--arch', 'bert', '--type', type, '--seed', '6',
      '--pooling', pooling, ...SHAPE]);
    const text = 'hello world, this is a test of the quick brown fox';
    const out = m + '.json';
    fs.writeFileSync(out, sh(BIN, ['embed', '-m', m, '-t', '2', text]));
    const r = reference(m, tokenize(m, text), out, ['--emulated-too']);
    report(t, r);
    // No F16 cache in the encoder: F32 agrees to rounding.
    check(r, type === 'f32' ? 'f32' : type);
    if (type === 'f32') assert.ok(r.plain.max_rel_err < 1e-5, `f32 ${r.plain.max_rel_err}`);
  });
}

// Decoder embeddings through POST /v1/embeddings (last-token pooling, the
// default for llama-family models without {arch}.pooling_type) against the
// reference's final hidden states: stories260K (F32) and a generated
// llama Q4_0 model (repacked weights).
for (const [name, type] of [['stories260K', 'f32'], ['llama-q4_0-embed', 'q4_0']]) {
  test(`llama ${type.toUpperCase()} embeddings from the server equal the reference's last hidden state`, { skip }, async (t) => {
    const m = name === 'stories260K' ? path.join(ROOT, 'models', 'stories260K.gguf')
      : generate(name, ['--arch', 'llama', '--type', type, '--seed', '9', ...SHAPE]);
    const h = await startHearth(['-m', m, '--alias', 'm', '--access-log', 'off']);
    try {
      const text = 'Once upon a time there was a little cat who liked to sing.';
      const res = await fetch(`${h.url}/v1/embeddings`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', input: [text, 'a'] }),
      });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.data.length, 2);
      const v = body.data[0].embedding;
      const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
      const ids = tokenize(m, text);
      assert.equal(body.usage.prompt_tokens, ids.split(' ').length + tokenize(m, 'a').split(' ').length);
      const out = path.join(tmp || os.tmpdir(), `${name}-embed.json`);
      fs.writeFileSync(out, JSON.stringify(v) + '\n');
      const r = reference(m, ids, out, ['--embed']);
      t.diagnostic(`rel err ${r.max_rel_err.toExponential(2)}`);
      check(r, type);
      // The pooling is the last token's: the mean of the hidden states is far off.
      const mean = reference(m, ids, out, ['--embed', '--pooling', 'mean']);
      assert.ok(mean.max_rel_err > 0.05, `mean pooling only ${mean.max_rel_err}`);
    } finally {
      await h.stop();
    }
  });
}

// Scoring a prompt (POST /v1/completions with echo, logprobs and
// max_tokens 0) against the reference's rows: every position's score of
// the next prompt token and its top five, on a generated llama Q8_0 model
// (the prompt's rows through the batched products) and stories260K.
for (const [name, type] of [['stories260K', 'f32'], ['llama-q8_0-score', 'q8_0']]) {
  test(`llama ${type.toUpperCase()} prompt scores from the server equal the reference's`, { skip }, async (t) => {
    const m = name === 'stories260K' ? path.join(ROOT, 'models', 'stories260K.gguf')
      : generate(name, ['--arch', 'llama', '--type', type, '--seed', '11', ...SHAPE, '--n-head-kv', '2']);
    const h = await startHearth(['-m', m, '--alias', 'm', '--access-log', 'off']);
    try {
      const ids = tokenize(m, PROMPT).split(' ').map(Number);
      const res = await fetch(`${h.url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', prompt: ids, echo: true, logprobs: 5, max_tokens: 0 }),
      });
      assert.equal(res.status, 200);
      const lp = (await res.json()).choices[0].logprobs;
      assert.equal(lp.token_logprobs.length, ids.length);
      const out = path.join(tmp, `${name}.rows`);
      sh(PYTHON, [REF, '-m', m, '--ids', ids.join(' '), '--out', out]);
      const all = new Float32Array(fs.readFileSync(out).buffer.slice(0));
      const V = all.length / ids.length;
      let worst = 0, checked = 0;
      for (let i = 1; i < ids.length; i++) {
        const row = all.subarray((i - 1) * V, i * V);
        let max = -Infinity, amax = 0, sum = 0;
        for (const v of row) max = Math.max(max, v), amax = Math.max(amax, Math.abs(v));
        for (const v of row) sum += Math.exp(v - max);
        const lse = max + Math.log(sum);
        const tol = 2 * BOUND[type] * amax; // as for single-token decoding above
        const d = Math.abs(row[ids[i]] - lse - lp.token_logprobs[i]);
        worst = Math.max(worst, d);
        assert.ok(d < tol, `position ${i} token ${ids[i]}: hearth ${lp.token_logprobs[i]}, reference ${row[ids[i]] - lse} (tol ${tol})`);
        // hearth's top five (and the token itself, when not among them)
        // are the reference's: every score listed is one of those, the
        // best first. (Two tokens of this random vocabulary may share a
        // text, hence a key: the object then lists fewer.)
        const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]);
        const want = [...order.slice(0, 5), ids[i]].map((id) => row[id] - lse);
        const top = Object.values(lp.top_logprobs[i]).sort((a, b) => b - a);
        assert.ok(Math.abs(top[0] - want[0]) < tol, `position ${i}: best ${top[0]}, reference ${want[0]}`);
        for (const v of top) {
          assert.ok(want.some((w) => Math.abs(v - w) < tol), `position ${i}: ${v} is none of the reference's ${want}`);
          checked++;
        }
      }
      assert.ok(checked >= 4 * (ids.length - 1), `${checked} top entries`);
      t.diagnostic(`${ids.length - 1} positions; largest logprob difference ${worst.toExponential(2)}`);
    } finally {
      await h.stop();
    }
  });
}
