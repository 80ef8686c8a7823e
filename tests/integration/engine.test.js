// engine.test.js — `hearth run` against llama.cpp's own outputs on the tiny
// stories260K model: the greedy token ids and text exactly, the top-5
// log-probabilities of the first positions within 5e-3.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ROOT, BIN } = require('./harness');

const MODEL = path.join(ROOT, 'models', 'stories260K.gguf');
const refs = fs.readFileSync(path.join(ROOT, 'tests/data/reference/stories260K.jsonl'), 'utf8')
  .trim().split('\n').map((l) => JSON.parse(l));

function run(prompt, n, extra = []) {
  const out = { stdout: '', stderr: '' };
  const r = require('node:child_process').spawnSync(BIN,
    ['run', '-m', MODEL, '-p', prompt, '-n', String(n), '--temp', '0', '--ids', '--logprobs', '5', ...extra],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  out.stdout = r.stdout;
  const lines = r.stderr.trim().split('\n');
  out.ids = lines.filter((l) => !l.startsWith('top:')).join(' ').trim().split(/\s+/).map(Number);
  out.tops = lines.filter((l) => l.startsWith('top:')).map((l) =>
    l.split(' ').slice(1).map((p) => p.split(':').map(Number)));
  return out;
}

for (const ref of refs) {
  test(`greedy continuation equals llama.cpp's: ${JSON.stringify(ref.prompt)}`, () => {
    const r = run(ref.prompt, ref.ids.length);
    assert.deepEqual(r.ids, ref.ids);
    assert.equal(r.stdout, ref.text);
    ref.top.forEach((refTop, pos) => {
      const mine = new Map(r.tops[pos]);
      for (const [id, lp] of refTop) {
        assert.ok(mine.has(id), `position ${pos}: token ${id} in the top 5`);
        assert.ok(Math.abs(mine.get(id) - lp) < 5e-3, `position ${pos} token ${id}: ${mine.get(id)} vs ${lp}`);
      }
    });
  });
}

test('the same run with one thread gives the same tokens', () => {
  const a = run(refs[0].prompt, 32, ['-t', '1']);
  const b = run(refs[0].prompt, 32, ['-t', '2']);
  assert.deepEqual(a.ids, b.ids);
});

test('a seed makes sampling repeatable, another seed differs', () => {
  const sample = (seed) => execFileSync(BIN, ['run', '-m', MODEL, '-p', 'Once upon a time', '-n', '48',
    '--temp', '1.0', '--seed', String(seed)], { encoding: 'utf8' });
  assert.equal(sample(7), sample(7));
  assert.notEqual(sample(7), sample(8));
});

test('a malformed model file is a clear error', () => {
  const bad = path.join(require('node:os').tmpdir(), 'hearth-bad.gguf');
  fs.writeFileSync(bad, fs.readFileSync(MODEL).subarray(0, 5000));
  const r = require('node:child_process').spawnSync(BIN, ['run', '-m', bad, '-p', 'x'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /hearth run: .+/);
  fs.rmSync(bad);
});

// Header values no model can have: refused at load with what is wrong, not
// a 1.3 TB allocation failing without a word or a model computing NaNs.
test('absurd hyperparameters are refused at load, by name', () => {
  const patched = (key, write) => {
    // a metadata entry: u64 key length, the key, u32 value type, the value
    const buf = Buffer.from(fs.readFileSync(MODEL));
    const name = Buffer.from(key);
    const at = buf.indexOf(name);
    assert.ok(at > 8 && buf.readBigUInt64LE(at - 8) === BigInt(name.length), `${key} found`);
    write(buf, at + name.length + 4, buf.readUInt32LE(at + name.length));
    const file = path.join(require('node:os').tmpdir(), `hearth-hparams-${process.pid}.gguf`);
    fs.writeFileSync(file, buf);
    try {
      return require('node:child_process').spawnSync(BIN, ['run', '-m', file, '-p', 'x', '-n', '1'], { encoding: 'utf8' });
    } finally {
      fs.rmSync(file, { force: true });
    }
  };
  const layers = patched('llama.block_count', (b, at, type) => { assert.equal(type, 4); b.writeUInt32LE(1 << 30, at); });
  assert.equal(layers.status, 1);
  assert.match(layers.stderr, /block_count 1073741824, but the file holds \d+ tensors/);
  const eps = patched('llama.attention.layer_norm_rms_epsilon', (b, at, type) => { assert.equal(type, 6); b.writeFloatLE(-1, at); });
  assert.equal(eps.status, 1);
  assert.match(eps.stderr, /bad norm epsilon -1/);
});

test('a norm stored in another type than F32 is refused by name, not read as floats', () => {
  // the tensor info of blk.0.attn_norm.weight: u64 name length, the name,
  // u32 n_dims, n_dims u64 extents, then the u32 type (0 = F32, 1 = F16)
  const buf = Buffer.from(fs.readFileSync(MODEL));
  const name = Buffer.from('blk.0.attn_norm.weight');
  const at = buf.indexOf(name);
  assert.ok(at > 8 && buf.readBigUInt64LE(at - 8) === BigInt(name.length), 'tensor info found');
  const dims = buf.readUInt32LE(at + name.length);
  const typeAt = at + name.length + 4 + 8 * dims;
  assert.equal(buf.readUInt32LE(typeAt), 0, 'stored as F32');
  buf.writeUInt32LE(1, typeAt);
  const bad = path.join(require('node:os').tmpdir(), `hearth-f16-norm-${process.pid}.gguf`);
  fs.writeFileSync(bad, buf);
  try {
    const r = require('node:child_process').spawnSync(BIN, ['run', '-m', bad, '-p', 'x', '-n', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /blk\.0\.attn_norm\.weight: a vector must be f32, not f16/);
  } finally {
    fs.rmSync(bad, { force: true });
  }
});
