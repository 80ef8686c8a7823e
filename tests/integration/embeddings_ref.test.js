// embeddings_ref.test.js — `hearth embed` and `hearth tokenize` on the real
// all-MiniLM-L6-v2 (converted by tools/convert_bert.py to
// models/all-minilm-l6-v2-{f32,f16,q8_0}.gguf) against sentence-transformers
// on PyTorch (tests/data/embeddings/minilm_reference.jsonl, written by
// tools/embed_reference.py; see the README there).
//
// Embeddings: the cosine with the reference must be >= 0.9999 (F32),
// >= 0.999 (F16), >= 0.99 (Q8_0) for every sentence. Texts longer than the
// context are cut by hearth to [CLS] + 510 tokens + [SEP]; the reference was
// computed with max_seq_length 512, which cuts the same way.
//
// Tokenizer: `hearth tokenize --add-special` (the way `hearth embed`
// tokenizes: CLS/SEP added, special-token texts such as "[SEP]" in the input
// parsed, as sentence-transformers and hearth embed read them)
// must give exactly the Hugging Face ids for every sentence. Both sides are
// compared UNtruncated (hearth tokenize never truncates; the reference ids
// were taken with truncation=False), so the whole text is checked, not only
// its first 512 tokens; truncation itself is covered by the embedding test.
//
// A text whose ids differ fails the tokenizer test and, where that moves its
// embedding, the embedding tests too; their messages mark such texts
// "[tokenizer]" and log the minimum cosine over the texts hearth tokenizes
// exactly as HF does, which is the number that measures the encoder.
//
// Each test is skipped, saying so, when its model file is absent (the models
// are not in git; scripts/install.sh or tools/convert_bert.py makes them).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { ROOT, BIN, startHearth } = require('./harness');

const DATA = path.join(ROOT, 'tests/data/embeddings/minilm_reference.jsonl');
const refs = fs.readFileSync(DATA, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
const modelPath = (type) => path.join(ROOT, 'models', `all-minilm-l6-v2-${type}.gguf`);
const THRESHOLDS = { f32: 0.9999, f16: 0.999, q8_0: 0.99 };
const BATCH = 48; // texts per `hearth embed` process
const TOK_FLAGS = ['--add-special', '--parse-special'];

function run(args) {
  return new Promise((resolve, reject) => {
    execFile(BIN, args, { encoding: 'utf8', maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`hearth ${args[0]} failed (${err.code}): ${stderr}`));
      else resolve(stdout);
    });
  });
}

function cosine(a, b) {
  let d = 0; let na = 0; let nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
}

// A text for a message: cut to 80 characters, invisible characters (controls,
// format characters, separators other than ' ', unassigned) as \u{...}.
const show = (s) => `"${(s.length > 80 ? `${s.slice(0, 77)}...` : s).replace(
  /[\p{C}\p{Z}"\\]/gu, (c) => (c === ' ' ? c : c === '"' || c === '\\' ? `\\${c}`
    : `\\u{${c.codePointAt(0).toString(16)}}`))}"`;

// hearth's ids for every reference text (two processes at a time), once.
let hearthIdsPromise = null;
function hearthIds(model) {
  if (hearthIdsPromise) return hearthIdsPromise;
  hearthIdsPromise = (async () => {
    const ids = new Array(refs.length);
    let next = 0;
    const worker = async () => {
      while (next < refs.length) {
        const i = next++;
        const out = await run(['tokenize', '-m', model, ...TOK_FLAGS, '--', refs[i].sentence]);
        ids[i] = out.trim().split(/\s+/).filter((x) => x !== '').map(Number);
      }
    };
    await Promise.all([worker(), worker()]);
    return ids;
  })();
  return hearthIdsPromise;
}
const sameIds = (a, b) => a.length === b.length && a.every((x, k) => x === b[k]);
const tokModel = ['q8_0', 'f16', 'f32'].map(modelPath).find((p) => fs.existsSync(p));

test('the reference data file is sane', () => {
  assert.ok(refs.length >= 200, `only ${refs.length} sentences`);
  for (const r of refs) {
    assert.equal(r.embedding.length, 384, show(r.sentence));
    assert.equal(r.ids[0], 101);
    assert.equal(r.ids[r.ids.length - 1], 102);
  }
  assert.ok(refs.some((r) => r.ids.length > 512), 'no text over 512 tokens');
});

for (const type of Object.keys(THRESHOLDS)) {
  const model = modelPath(type);
  const skip = fs.existsSync(model) ? false
    : `${path.relative(ROOT, model)} is absent (make it with tools/convert_bert.py or scripts/install.sh)`;
  test(`hearth embed matches sentence-transformers (${type}, cosine >= ${THRESHOLDS[type]})`,
    { skip, timeout: 600000 }, async () => {
      const cos = [];
      for (let i = 0; i < refs.length; i += BATCH) {
        const batch = refs.slice(i, i + BATCH);
        const out = await run(['embed', '-m', model, '-t', '2', '--', ...batch.map((r) => r.sentence)]);
        const lines = out.split('\n').filter((l) => l.startsWith('['));
        assert.equal(lines.length, batch.length, `hearth embed printed ${lines.length} vectors for ${batch.length} texts`);
        lines.forEach((l, j) => {
          const v = JSON.parse(l);
          assert.equal(v.length, batch[j].embedding.length, show(batch[j].sentence));
          cos.push(cosine(v, batch[j].embedding));
        });
      }
      const hids = await hearthIds(tokModel);
      const tokOk = refs.map((r, i) => sameIds(hids[i], r.ids));
      const line = (i) => `  ${cos[i].toFixed(6)} ${tokOk[i] ? '' : '[tokenizer] '}${show(refs[i].sentence)}`;
      const order = cos.map((c, i) => i).sort((a, b) => cos[a] - cos[b]);
      const clean = order.filter((i) => tokOk[i]);
      const bad = order.filter((i) => !(cos[i] >= THRESHOLDS[type]));
      console.log(`${type}: min cosine ${cos[order[0]].toFixed(7)} over all ${cos.length} texts, ` +
        `${clean.length ? cos[clean[0]].toFixed(7) : '-'} over the ${clean.length} hearth tokenizes as HF does; lowest:\n` +
        `${order.slice(0, 5).map(line).join('\n')}`);
      assert.equal(bad.length, 0,
        `${bad.length} texts under cosine ${THRESHOLDS[type]} (${type}):\n${bad.slice(0, 12).map(line).join('\n')}`);
    });
}

// A test against `hearth serve` with the F32 MiniLM as "minilm" (skipped,
// saying so, without the file); body(h) gets the running server.
function serverTest(name, timeout, body) {
  test(name, {
    skip: fs.existsSync(modelPath('f32')) ? false : 'models/all-minilm-l6-v2-f32.gguf is absent',
    timeout,
  }, async () => {
    const h = await startHearth(['-m', modelPath('f32'), '--alias', 'minilm', '--access-log', 'off']);
    try {
      await body(h);
    } finally {
      await h.stop();
    }
  });
}

// The server packs the texts of one request into shared encoder passes:
// the same vectors, whatever the neighbours.
serverTest('POST /v1/embeddings in batches of 32 matches sentence-transformers (f32)', 300000, async (h) => {
  let worst = 1;
  for (let i = 0; i < refs.length; i += 32) {
    const batch = refs.slice(i, i + 32);
    const res = await fetch(`${h.url}/v1/embeddings`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'minilm', input: batch.map((r) => r.sentence) }),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.data.length, batch.length);
    body.data.forEach((d, j) => {
      assert.equal(d.index, j);
      const c = cosine(d.embedding, batch[j].embedding);
      worst = Math.min(worst, c);
      assert.ok(c >= THRESHOLDS.f32, `cosine ${c} for ${show(batch[j].sentence)}`);
    });
  }
  console.log(`server, batches of 32: min cosine ${worst.toFixed(7)}`);
});

test(`hearth tokenize ${TOK_FLAGS.join(' ')} gives the Hugging Face ids`, {
  skip: tokModel ? false : 'no models/all-minilm-l6-v2-*.gguf (make one with tools/convert_bert.py)',
  timeout: 300000,
}, async () => {
  const hids = await hearthIds(tokModel);
  const bad = [];
  refs.forEach((r, i) => {
    const ids = hids[i];
    if (sameIds(ids, r.ids)) return;
    let k = 0;
    while (k < ids.length && ids[k] === r.ids[k]) k++;
    bad.push(`  ${show(r.sentence)}: first difference at ${k}: hearth ${JSON.stringify(ids.slice(k, k + 6))}` +
      ` HF ${JSON.stringify(r.ids.slice(k, k + 6))}`);
  });
  assert.equal(bad.length, 0, `${bad.length} of ${refs.length} texts tokenize differently:\n${bad.join('\n')}`);
});

// `hearth bench` on an encoder times one text of -p random tokens through
// the whole pass (bench/embeddings' in-process side) and refuses a length
// past the model's context.
test('hearth bench times an encoder pass (embN) and refuses a text longer than the context', {
  skip: fs.existsSync(modelPath('f32')) ? false : 'models/all-minilm-l6-v2-f32.gguf is absent',
}, async () => {
  const out = await run(['bench', '-m', modelPath('f32'), '-p', '16', '-r', '3', '-t', '2', '--json']);
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 1, out);
  const r = JSON.parse(lines[0]);
  assert.equal(r.arch, 'bert');
  assert.equal(r.type, 'f32');
  assert.equal(r.test, 'emb16');
  assert.equal(r.n_tokens, 16);
  assert.equal(r.repetitions, 3);
  // 16 tokens are ~0.34 GFLOP through the encoder: a real pass is neither
  // instant nor minutes long
  assert.ok(r.tokens_per_second > 10 && r.tokens_per_second < 1e7, JSON.stringify(r));
  await assert.rejects(run(['bench', '-m', modelPath('f32'), '-p', '513', '-r', '1']),
    /an encoder test needs 1 to 512 tokens/);
});

// --ab KNOB alternates a knob by repetition and reports both halves: even
// repetitions as configured, odd ones as "<test>-<knob>" with the knob off.
test('hearth bench --ab reports the two settings of a knob from alternated passes', {
  skip: fs.existsSync(modelPath('f32')) ? false : 'models/all-minilm-l6-v2-f32.gguf is absent',
}, async () => {
  const out = await run(['bench', '-m', modelPath('f32'), '-p', '8', '-r', '6', '-t', '2', '--json', '--ab', 'steal']);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((r) => [r.test, r.repetitions]), [['emb8', 3], ['emb8-steal', 3]], out);
  for (const r of lines) {
    assert.ok(r.median_tokens_per_second > 10 && r.median_tokens_per_second < 1e7, JSON.stringify(r));
  }
  const table = await run(['bench', '-m', modelPath('f32'), '-p', '4', '-r', '4', '-t', '2', '--ab', 'steal']);
  assert.match(table, /emb4: steal on \/ off = \d+\.\d{3} \(medians of 2 and 2 alternated repetitions\)/);
  await assert.rejects(run(['bench', '-m', modelPath('f32'), '-p', '4', '-r', '2', '--ab', 'prefetch']),
    /--ab takes steal, amx-f32, norms or f16-group, not 'prefetch'/);
});

// Requests that arrive while a pass runs share the next one: a 512-token
// text first, then 16 single-text requests at once; each answer equals the
// one the text gets alone, and the metrics show fewer passes than texts.
serverTest('concurrent requests share encoder passes and get the vectors they get alone', 120000, async (h) => {
  const embed = async (input) => {
    const res = await fetch(`${h.url}/v1/embeddings`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'minilm', input }),
    });
    assert.equal(res.status, 200);
    return (await res.json()).data[0].embedding;
  };
  const counters = async () => {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    const get = (name) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text)[1]);
    return { texts: get('hearth_model_embedded_texts_total'), passes: get('hearth_model_encoder_passes_total') };
  };
  const texts = refs.slice(0, 16).map((r) => r.sentence);
  const alone = [];
  for (const t of texts) alone.push(await embed(t));
  const before = await counters();
  assert.equal(before.texts, 16);
  assert.equal(before.passes, 16);
  const long = embed('the quick brown fox jumps over the lazy dog '.repeat(60));
  const together = await Promise.all(texts.map((t) => embed(t)));
  await long;
  const after = await counters();
  assert.equal(after.texts - before.texts, 17);
  assert.ok(after.passes - before.passes <= 5, `17 texts took ${after.passes - before.passes} passes`);
  console.log(`17 texts (one of 512 tokens, then 16 at once) in ${after.passes - before.passes} passes`);
  together.forEach((v, i) => {
    const worst = Math.max(...v.map((x, d) => Math.abs(x - alone[i][d])));
    assert.ok(worst <= 1e-6, `text ${i}: ${worst} from its vector alone`);
  });
});

// A body over 64 KiB is parsed and tokenized on the intake thread, not on
// its loop: the same vectors as in small requests, and the same errors.
serverTest('a large embeddings body (read off the loop) gets the reference vectors and the usual errors', 300000, async (h) => {
  const post = async (body) => {
    const res = await fetch(`${h.url}/v1/embeddings`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body,
    });
    return { status: res.status, body: await res.json() };
  };
  const texts = [...refs, ...refs, ...refs].map((r) => r.sentence);
  const big = JSON.stringify({ model: 'minilm', input: texts });
  assert.ok(Buffer.byteLength(big) > 64 * 1024, `${Buffer.byteLength(big)} bytes`);
  const res = await post(big);
  assert.equal(res.status, 200);
  assert.equal(res.body.data.length, texts.length);
  let worst = 1;
  res.body.data.forEach((d, j) => {
    assert.equal(d.index, j);
    const c = cosine(d.embedding, refs[j % refs.length].embedding);
    worst = Math.min(worst, c);
    assert.ok(c >= THRESHOLDS.f32, `cosine ${c} for ${show(texts[j])}`);
  });
  const small = await post(JSON.stringify({ model: 'minilm', input: texts.slice(0, 8) }));
  assert.equal(small.status, 200);
  small.body.data.forEach((d, j) => {
    const diff = Math.max(...d.embedding.map((x, k) => Math.abs(x - res.body.data[j].embedding[k])));
    assert.ok(diff <= 1e-6, `text ${j}: ${diff} between the large and the small request`);
  });
  assert.ok(res.body.usage.prompt_tokens > 0);
  console.log(`${texts.length} texts in one ${Buffer.byteLength(big)}-byte body: min cosine ${worst.toFixed(7)}`);

  const pad = 'x'.repeat(70 * 1024);
  let bad = await post(`{"model":"minilm","input":["${pad}"`);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_json');
  bad = await post(JSON.stringify({ model: 'nope', input: [pad] }));
  assert.equal(bad.status, 404);
  assert.equal(bad.body.error.code, 'model_not_found');
  const lists = Array.from({ length: 2048 }, () => [101, ...Array(40).fill(7592), 102]);
  lists[5] = [101, 999999, 102];
  bad = await post(JSON.stringify({ model: 'minilm', input: lists }));
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.param, 'input[5][1]');
  lists[5] = [];
  bad = await post(JSON.stringify({ model: 'minilm', input: lists }));
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.param, 'input[5]');
  const health = await fetch(`${h.url}/healthz`);
  assert.equal(health.status, 200);
});

// A client that sends a large body and leaves: the intake reads it, finds
// the client gone when it hands the texts to the loop, and drops them
// instead of running ~1,500 texts through the model for nobody.
// A single text sent while a large batch is being embedded waits a pass or
// two, not for the rest of the batch: passes take one text of each waiting
// request in turn, and requests join between passes. The batch's vectors
// are still those of its texts alone.
serverTest('a single text is not kept waiting behind a large batch', 120000, async (h) => {
  const post = (input) => fetch(`${h.url}/v1/embeddings`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'minilm', input }),
  }).then(async (res) => ({ status: res.status, body: await res.json(), at: Date.now() }));
  const texts = Array.from({ length: 400 }, (_, i) => `batch text ${i}: ` + 'the quick brown fox jumps over the lazy dog '.repeat(6));
  const alone = (await post([texts[0], texts[399]])).body.data.map((d) => d.embedding);
  const embedded = async () => {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    return Number(/^hearth_model_embedded_texts_total\{model="minilm"\} (\d+)$/m.exec(text)[1]);
  };
  const before = await embedded();
  const t0 = Date.now();
  const batch = post(texts);
  // once the batch is in the model (its first pass done), one more text
  for (let i = 0; i < 500 && (await embedded()) === before; i++) await new Promise((r) => setTimeout(r, 10));
  const sent = Date.now();
  const single = await post('a short question');
  const big = await batch;
  assert.equal(single.status, 200);
  assert.equal(big.status, 200);
  assert.equal(big.body.data.length, 400);
  // the single text's wait is a pass or two, not the rest of the batch
  assert.ok(single.at - sent < (big.at - t0) / 3,
    `the single text waited ${single.at - sent} ms; the batch took ${big.at - t0} ms`);
  for (const [k, i] of [[0, 0], [1, 399]]) {
    const v = big.body.data[i].embedding;
    const worst = Math.max(...v.map((x, d) => Math.abs(x - alone[k][d])));
    assert.ok(worst <= 1e-6, `batch text ${i}: ${worst} from its vector alone`);
  }
});

// Full-context texts fill a pass by themselves (four of MiniLM's 512 fill
// the 2,048 a pass takes): a short text sent while four such batches run
// still gets into a pass soon, because each pass starts with another job.
serverTest('a short text gets into a pass beside batches of full-context texts', 120000, async (h) => {
  const post = (input) => fetch(`${h.url}/v1/embeddings`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'minilm', input }),
  }).then(async (res) => ({ status: res.status, body: await res.json(), at: Date.now() }));
  const embedded = async () => {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    return Number(/^hearth_model_embedded_texts_total\{model="minilm"\} (\d+)$/m.exec(text)[1]);
  };
  const long = (k, i) => `batch ${k} text ${i}: ` + 'the quick brown fox jumps over the lazy dog '.repeat(60);
  const before = await embedded();
  const t0 = Date.now();
  const batches = [0, 1, 2, 3].map((k) => post(Array.from({ length: 8 }, (_, i) => long(k, i))));
  for (let i = 0; i < 500 && (await embedded()) === before; i++) await new Promise((r) => setTimeout(r, 10));
  const sent = Date.now();
  const single = await post('a short question');
  const done = await Promise.all(batches);
  const end = Math.max(...done.map((b) => b.at));
  assert.equal(single.status, 200);
  for (const b of done) {
    assert.equal(b.status, 200);
    assert.equal(b.body.usage.prompt_tokens, 8 * 512);
  }
  assert.ok(single.at - sent < (end - t0) / 3,
    `the short text waited ${single.at - sent} ms; the batches took ${end - t0} ms`);
});

// A client that leaves while its texts are being embedded: the model skips
// the rest (a cancellation in the metrics), and the next request does not
// wait for texts nobody will read.
serverTest('embeddings whose client left mid-way stop at the next pass', 120000, async (h) => {
  const net = require('node:net');
  const metric = async (name) => {
    const text = await (await fetch(`${h.url}/metrics`)).text();
    const m = new RegExp(`^${name}\\{model="minilm"\\} ([0-9.e+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const before = { texts: await metric('hearth_model_embedded_texts_total'), cancelled: await metric('hearth_model_cancellations_total') };
  // 2,048 texts of ~100 tokens: ~100 passes, many seconds of work
  const texts = Array.from({ length: 2048 }, (_, i) => `text ${i}: ` + 'the quick brown fox jumps over the lazy dog '.repeat(10));
  const body = JSON.stringify({ model: 'minilm', input: texts });
  const { port } = new URL(h.url);
  const s = net.connect(Number(port), '127.0.0.1', () => {
    s.write(`POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    s.write(body);
  });
  s.on('error', () => {});
  // wait until the model is at it, then leave
  for (let i = 0; i < 300 && !((await metric('hearth_model_embedded_texts_total')) > before.texts); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  s.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  const res = await fetch(`${h.url}/v1/embeddings`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'minilm', input: 'still here' }),
  });
  const waited = Date.now() - t0;
  assert.equal(res.status, 200);
  assert.equal((await res.json()).data[0].embedding.length, 384);
  const after = { texts: await metric('hearth_model_embedded_texts_total'), cancelled: await metric('hearth_model_cancellations_total') };
  assert.equal(after.cancelled, before.cancelled + 1);
  assert.ok(after.texts - before.texts < 2048, `${after.texts - before.texts} texts embedded for a client that left`);
  assert.ok(waited < 5000, `the next request waited ${waited} ms`);
});

serverTest('a large embeddings body whose client left is dropped before the model runs it', 120000, async (h) => {
  const net = require('node:net');
  const metrics = async () => (await fetch(`${h.url}/metrics`)).text();
  const texts = Array.from({ length: 1500 }, () => 'the quick brown fox jumps over the lazy dog '.repeat(150));
  const body = JSON.stringify({ model: 'minilm', input: texts });
  const { port } = new URL(h.url);
  await new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1', () => {
      s.write(`POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
      s.end(body); // all of it, then gone
    });
    s.on('error', reject);
    s.on('close', resolve);
  });
  let text = '';
  for (let i = 0; i < 600 && !/requests_total\{route="POST \/v1\/embeddings"/.test(text); i++) {
    await new Promise((r) => setTimeout(r, 100));
    text = await metrics();
  }
  assert.match(text, /requests_total\{route="POST \/v1\/embeddings",status="other"\} 1/);
  assert.match(text, /hearth_model_embedded_texts_total\{model="minilm"\} 0/);
  const res = await fetch(`${h.url}/v1/embeddings`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'minilm', input: 'still here' }),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).data[0].embedding.length, 384);
});
