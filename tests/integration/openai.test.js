// openai.test.js — the official `openai` npm client against hearth serving
// models/stories260K.gguf: models, chat (streamed and not), completions,
// stop strings, logprobs, errors, cancellation and a full queue.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync, execFileSync } = require('node:child_process');
const OpenAI = require('openai');
const { startHearth, ROOT, BIN } = require('./harness');

const MODEL = 'stories260K';
let h, client;
before(async () => {
  h = await startHearth(['-m', 'models/stories260K.gguf', '--slots', '2', '--access-log', 'off']);
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => { await h.stop(); });

const metric = async (name) => {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{model="${MODEL}"\\} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
};

test('models: list and retrieve', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  assert.ok(ids.includes(MODEL));
  const m = await client.models.retrieve(MODEL);
  assert.equal(m.id, MODEL);
  assert.equal(m.object, 'model');
  assert.equal(typeof m.created, 'number');
  assert.equal(m.owned_by, 'hearth');
  await assert.rejects(client.models.retrieve('nope'), (e) => e.status === 404);
});

test('chat completion: OpenAI fields, usage, greedy is repeatable', async () => {
  const req = { model: MODEL, messages: [{ role: 'system', content: 'Tell a story.' }, { role: 'user', content: 'Once upon a time' }], max_tokens: 24, temperature: 0 };
  const a = await client.chat.completions.create(req);
  assert.match(a.id, /^chatcmpl-/);
  assert.equal(a.object, 'chat.completion');
  assert.equal(a.model, MODEL);
  assert.equal(a.choices.length, 1);
  assert.equal(a.choices[0].message.role, 'assistant');
  assert.equal(typeof a.choices[0].message.content, 'string');
  assert.ok(a.choices[0].message.content.length > 0);
  assert.equal(a.choices[0].finish_reason, 'length');
  assert.equal(a.usage.completion_tokens, 24);
  assert.equal(a.usage.total_tokens, a.usage.prompt_tokens + 24);
  assert.equal(typeof a.usage.prompt_tokens_details.cached_tokens, 'number');
  const b = await client.chat.completions.create(req);
  assert.equal(b.choices[0].message.content, a.choices[0].message.content);
  // The second identical prompt reuses the first one's KV.
  assert.ok(b.usage.prompt_tokens_details.cached_tokens >= b.usage.prompt_tokens - 1);
});

test('chat stream: deltas add up to the non-streamed answer, then usage', async () => {
  const req = { model: MODEL, messages: [{ role: 'user', content: 'The little dog' }], max_tokens: 30, temperature: 0 };
  const whole = await client.chat.completions.create(req);
  const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  let text = '', chunks = 0, finish = null, usage = null, role = null;
  for await (const c of stream) {
    assert.equal(c.object, 'chat.completion.chunk');
    if (c.usage) usage = c.usage;
    if (!c.choices.length) continue;
    chunks++;
    if (c.choices[0].delta.role) role = c.choices[0].delta.role;
    text += c.choices[0].delta.content || '';
    if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.equal(role, 'assistant');
  assert.equal(text, whole.choices[0].message.content);
  assert.ok(chunks >= 30, `one chunk per token: ${chunks}`);
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 30);
});

test('completions: greedy text equals `hearth run`', async () => {
  const prompt = 'Once upon a time';
  const res = await client.completions.create({ model: MODEL, prompt, max_tokens: 64, temperature: 0 });
  const run = spawnSync(BIN, ['run', '-m', path.join(ROOT, 'models/stories260K.gguf'), '-p', prompt, '-n', '64', '--temp', '0'], { encoding: 'utf8' });
  assert.equal(run.status, 0);
  assert.equal(res.choices[0].text, run.stdout);
  assert.equal(res.object, 'text_completion');
  assert.equal(res.usage.prompt_tokens, 5);
});

test('completions stream with echo and token prompts', async () => {
  const stream = await client.completions.create({ model: MODEL, prompt: [1, 403, 407], max_tokens: 4, temperature: 0, echo: true, stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.text || '';
  assert.ok(text.startsWith('<s> Once upon'), text); // the ids' text, special ones as theirs
  const whole = await client.completions.create({ model: MODEL, prompt: [1, 403, 407], max_tokens: 4, temperature: 0, echo: true });
  assert.equal(whole.choices[0].text, text);
  // max_tokens 0: the echoed prompt alone, under an id of its own like any answer's
  const a = await client.completions.create({ model: MODEL, prompt: 'Once upon', max_tokens: 0, echo: true });
  const b = await client.completions.create({ model: MODEL, prompt: 'Once upon', max_tokens: 0, echo: true });
  assert.equal(a.choices[0].text, 'Once upon');
  assert.equal(a.usage.completion_tokens, 0);
  assert.match(a.id, /^cmpl-[A-Za-z0-9]{24}$/);
  assert.notEqual(a.id, b.id);
  assert.equal(a.system_fingerprint, whole.system_fingerprint);
});

test('stop strings end the answer before the stop text', async () => {
  const req = { model: MODEL, prompt: 'Once upon a time', max_tokens: 64, temperature: 0 };
  const free = await client.completions.create(req);
  assert.match(free.choices[0].text, /Lily/);
  const stopped = await client.completions.create({ ...req, stop: ['Lily', 'zzz'] });
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  assert.equal(stopped.choices[0].text, free.choices[0].text.slice(0, free.choices[0].text.indexOf('Lily')));
  const s = await client.completions.create({ ...req, stop: 'Lily', stream: true });
  let text = '';
  for await (const c of s) text += c.choices[0]?.text || '';
  assert.equal(text, stopped.choices[0].text);
});

test('logprobs: chosen and top tokens', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Once' }], max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, 5);
  for (const t of lp) {
    assert.equal(typeof t.token, 'string');
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0].token, t.token, 'greedy picks the top token');
    assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob);
    assert.deepEqual(Buffer.from(t.bytes).toString('utf8'), t.token);
  }
  assert.equal(lp.map((t) => t.token).join(''), r.choices[0].message.content);
});

test('completions echo with logprobs scores every prompt token as generation does', async (t) => {
  // The same tokens twice: generated greedily after a prompt (their
  // logprobs from decode steps of one token), then sent back whole as the
  // prompt of an echo with max_tokens 0 (every row in one batch). The
  // scores must agree to summation-order noise (stories260K is F32 with
  // an F16 KV cache: ~1e-4 seen); one position off would compare a token
  // with its neighbour's score, a difference of whole units.
  const stories = path.join(ROOT, 'models/stories260K.gguf');
  const prompt = 'Once upon a time';
  const promptIds = execFileSync(BIN, ['tokenize', '-m', stories, '--add-special', prompt], { encoding: 'utf8' })
    .trim().split(/\s+/).map(Number);
  const gen = await client.completions.create({ model: MODEL, prompt, max_tokens: 12, temperature: 0, logprobs: 3 });
  const run = spawnSync(BIN, ['run', '-m', stories, '-p', prompt, '-n', '12', '--temp', '0', '--ids'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const genIds = run.stderr.trim().split(/\s+/).map(Number);
  assert.equal(genIds.length, 12);
  const ids = [...promptIds, ...genIds];
  const scored = await client.completions.create({ model: MODEL, prompt: ids, max_tokens: 0, echo: true, logprobs: 3 });
  const c = scored.choices[0], lp = c.logprobs;
  assert.equal(c.finish_reason, 'length');
  assert.deepEqual([scored.usage.prompt_tokens, scored.usage.completion_tokens], [ids.length, 0]);
  assert.equal(c.text, lp.tokens.join(''));
  assert.equal(c.text, `<s> ${prompt}${gen.choices[0].text}`); // the ids' text: BOS as its own
  for (const k of ['tokens', 'token_logprobs', 'top_logprobs', 'text_offset']) assert.equal(lp[k].length, ids.length, k);
  assert.equal(lp.token_logprobs[0], null, 'the first token has no context to be scored in');
  assert.equal(lp.top_logprobs[0], null);
  lp.tokens.forEach((t, i) => assert.equal(c.text.slice(lp.text_offset[i], lp.text_offset[i] + t.length), t, `offset of token ${i}`));
  const want = gen.choices[0].logprobs;
  let worst = 0;
  for (let k = 0; k < genIds.length; k++) {
    const at = promptIds.length + k;
    assert.equal(lp.tokens[at], want.tokens[k]);
    worst = Math.max(worst, Math.abs(lp.token_logprobs[at] - want.token_logprobs[k]));
    assert.deepEqual(Object.keys(lp.top_logprobs[at]), Object.keys(want.top_logprobs[k]), `top tokens at ${k}`);
    for (const [t, v] of Object.entries(want.top_logprobs[k]))
      assert.ok(Math.abs(lp.top_logprobs[at][t] - v) < 1e-3, `top ${JSON.stringify(t)} at ${k}: ${lp.top_logprobs[at][t]} vs ${v}`);
  }
  assert.ok(worst < 1e-3, `largest difference ${worst}`);
  t.diagnostic(`largest logprob difference, scored against generated: ${worst.toExponential(2)}`);
  // the prompt's own tokens are scored too: a likely story opening
  for (let i = 1; i < promptIds.length; i++) {
    assert.ok(lp.token_logprobs[i] < 0 && lp.token_logprobs[i] > -3, `prompt token ${i}: ${lp.token_logprobs[i]}`);
    assert.ok(Object.keys(lp.top_logprobs[i]).length >= 3);
  }
  // A text prompt: offsets into the text as sent (the tokenizer's added
  // space has no place in it), and a stream says the same in its first chunk.
  const text = await client.completions.create({ model: MODEL, prompt, max_tokens: 0, echo: true, logprobs: 1 });
  assert.equal(text.choices[0].text, prompt);
  assert.deepEqual(text.choices[0].logprobs.text_offset, [0, 0, 4, 9, 11]);
  assert.deepEqual(text.choices[0].logprobs.token_logprobs.slice(1), lp.token_logprobs.slice(1, promptIds.length));
  const stream = await client.completions.create({ model: MODEL, prompt, max_tokens: 2, echo: true, logprobs: 1, temperature: 0, stream: true });
  const chunks = [];
  for await (const ch of stream) chunks.push(ch.choices[0]);
  assert.equal(chunks[0].text, prompt);
  assert.deepEqual(chunks[0].logprobs, text.choices[0].logprobs);
  assert.deepEqual(chunks.slice(1, 3).map((ch) => ch.logprobs.tokens[0]), want.tokens.slice(0, 2));
  assert.deepEqual(chunks.slice(1, 3).map((ch) => ch.logprobs.text_offset[0]), [prompt.length, prompt.length + want.tokens[0].length]);
  // Offsets into the text as sent, wherever the tokenizer put spaces and
  // control tokens of its own: a text that begins with a space (SentencePiece
  // adds one more), a special text inside, a prompt of only the BOS (its
  // stream still carries the scores).
  const offsets = async (p) => (await client.completions.create({ model: MODEL, prompt: p, max_tokens: 0, echo: true, logprobs: 0 }))
    .choices[0].logprobs;
  assert.deepEqual((await offsets(' Once upon')).text_offset, [0, 0, 0, 5]);
  const inside = await offsets('Tim<s> ran');
  assert.deepEqual(inside.tokens.slice(0, 3), ['<s>', ' Tim', '<s>']);
  assert.deepEqual(inside.text_offset.slice(0, 4), [0, 0, 3, 6]);
  // Offsets count characters, as OpenAI's do, not bytes: past "é", "à"
  // and "東京" (byte tokens here) every whole token still sits at its text.
  const wide = 'Un café, là-bas: 東京 ok';
  const w = (await client.completions.create({ model: MODEL, prompt: wide, max_tokens: 4, echo: true, logprobs: 0, temperature: 0 })).choices[0];
  let placed = 0;
  w.logprobs.tokens.forEach((t, i) => {
    if (t === '<s>' || t.startsWith('bytes:')) return;
    const at = w.logprobs.text_offset[i];
    const here = w.text.slice(at, at + t.length) === t || (t[0] === ' ' && w.text.slice(at, at + t.length - 1) === t.slice(1));
    assert.ok(here, `token ${i} ${JSON.stringify(t)} at ${at}: ${JSON.stringify(w.text.slice(at, at + t.length))}`);
    placed++;
  });
  assert.ok(placed >= 15, `${placed} tokens placed`);
  assert.equal(w.logprobs.text_offset.at(-4), wide.length, 'the first generated token starts where the echo ends');
  const lone = await client.completions.create({ model: MODEL, prompt: '', max_tokens: 0, echo: true, logprobs: 1, stream: true });
  const loneChunks = [];
  for await (const ch of lone) loneChunks.push(ch.choices[0]);
  assert.deepEqual(loneChunks[0].logprobs, { tokens: ['<s>'], token_logprobs: [null], top_logprobs: [null], text_offset: [0] });
  // Nothing to score or generate, streamed: still a stream.
  const res = await fetch(`${h.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: ['a', 'b'], max_tokens: 0, echo: true, stream: true, stream_options: { include_usage: true } }) });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const frames = (await res.text()).trim().split('\n\n').map((f) => f.slice(6));
  assert.equal(frames.at(-1), '[DONE]');
  const parsed = frames.slice(0, -1).map((f) => JSON.parse(f));
  assert.deepEqual(parsed.slice(0, 2).map((f) => [f.choices[0].index, f.choices[0].text, f.choices[0].finish_reason]), [[0, 'a', 'length'], [1, 'b', 'length']]);
  assert.equal(parsed[2].usage.completion_tokens, 0);
  // lm-evaluation-harness asks echo, logprobs 1, max_tokens 1, a batch of
  // one token list: the prompt's scores, then one generated token
  const lm = await client.completions.create({ model: MODEL, prompt: [promptIds], max_tokens: 1, echo: true, logprobs: 1, temperature: 0 });
  const l = lm.choices[0].logprobs;
  assert.equal(l.token_logprobs.length, promptIds.length + 1);
  assert.equal(l.tokens.at(-1), want.tokens[0]);
  // logprobs 0: the token's own score is its top entry
  const zero = await client.completions.create({ model: MODEL, prompt: ids.slice(0, 4), max_tokens: 0, echo: true, logprobs: 0 });
  zero.choices[0].logprobs.top_logprobs.slice(1).forEach((t, i) =>
    assert.deepEqual(t, { [zero.choices[0].logprobs.tokens[i + 1]]: zero.choices[0].logprobs.token_logprobs[i + 1] }));
});

test('n choices and batches of prompts: each choice as its own request would be', async () => {
  // Greedy: every choice of a prompt is that prompt's single answer.
  const prompts = ['Once upon a time', 'Tim had a red ball', 'The sun'];
  const alone = await Promise.all(prompts.map((prompt) =>
    client.completions.create({ model: MODEL, prompt, max_tokens: 10, temperature: 0, logprobs: 2 })));
  const batch = await client.completions.create({ model: MODEL, prompt: prompts, max_tokens: 10, temperature: 0, n: 2, logprobs: 2 });
  assert.equal(batch.choices.length, 6);
  batch.choices.forEach((c, i) => {
    assert.equal(c.index, i);
    const one = alone[Math.floor(i / 2)].choices[0];
    assert.equal(c.text, one.text, `choice ${i}`);
    assert.deepEqual(c.logprobs.tokens, one.logprobs.tokens);
    c.logprobs.token_logprobs.forEach((v, k) => assert.ok(Math.abs(v - one.logprobs.token_logprobs[k]) < 1e-3));
  });
  // usage: each prompt once, every choice's tokens
  const promptTokens = alone.reduce((a, r) => a + r.usage.prompt_tokens, 0);
  assert.equal(batch.usage.prompt_tokens, promptTokens);
  assert.equal(batch.usage.completion_tokens, 6 * 10);
  // Sampled: the n choices of one prompt are n draws, repeatable with a seed.
  const req = { model: MODEL, prompt: 'Once upon a time', max_tokens: 16, temperature: 1, seed: 7, n: 4 };
  const a = await client.completions.create(req), b = await client.completions.create(req);
  assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
  assert.ok(new Set(a.choices.map((c) => c.text)).size > 1, 'four draws, not one four times');
  // Chat, streamed: each chunk names its choice; the deltas of each add up
  // to that choice of the same request unstreamed.
  const chat = { model: MODEL, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 12, temperature: 1, seed: 11, n: 3 };
  const whole = await client.chat.completions.create(chat);
  assert.deepEqual(whole.choices.map((c) => c.index), [0, 1, 2]);
  const stream = await client.chat.completions.create({ ...chat, stream: true, stream_options: { include_usage: true } });
  const texts = ['', '', ''], finishes = [], roles = [0, 0, 0];
  let usage;
  for await (const ch of stream) {
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      texts[c.index] += c.delta.content || '';
      if (c.delta.role) roles[c.index]++;
      if (c.finish_reason) finishes.push(c.index);
    }
  }
  assert.deepEqual(texts, whole.choices.map((c) => c.message.content));
  assert.deepEqual(roles, [1, 1, 1]);
  assert.deepEqual(finishes.sort(), [0, 1, 2]);
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
  assert.equal(usage.prompt_tokens, whole.usage.prompt_tokens);
  // Scoring a batch (lm-evaluation-harness with batch_size > 1): each
  // prompt's scores are those it gets alone.
  const lists = [[1, 403, 407, 261], [1, 378, 432]];
  const scored = await client.completions.create({ model: MODEL, prompt: lists, max_tokens: 0, echo: true, logprobs: 1 });
  for (const [i, ids] of lists.entries()) {
    const one = await client.completions.create({ model: MODEL, prompt: ids, max_tokens: 0, echo: true, logprobs: 1 });
    assert.deepEqual(scored.choices[i].logprobs.tokens, one.choices[0].logprobs.tokens);
    scored.choices[i].logprobs.token_logprobs.slice(1).forEach((v, k) =>
      assert.ok(Math.abs(v - one.choices[0].logprobs.token_logprobs[k + 1]) < 1e-3));
  }
});

test('choices that do not all find room: 503, and the ones queued are cancelled', async () => {
  const busy = await startHearth(['-m', 'models/stories260K.gguf', '--slots', '2', '--queue', '0', '--access-log', 'off']);
  try {
    const c = new OpenAI({ baseURL: `${busy.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const cancelled = async () => Number(/^hearth_model_cancellations_total\{model="stories260K"\} (\d+)$/m
      .exec(await (await fetch(`${busy.url}/metrics`)).text())[1]);
    const long = c.completions.create({ model: MODEL, prompt: 'Once', max_tokens: 1500, temperature: 1 });
    await new Promise((r) => setTimeout(r, 50));
    // one slot is free: the first choice takes it, the second finds none
    const res = await fetch(`${busy.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 200, n: 2 }) });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal((await res.json()).error.code, 'server_busy');
    assert.equal(await cancelled(), 1);
    await long;
    const two = await c.completions.create({ model: MODEL, prompt: 'x', max_tokens: 4, n: 2 });
    assert.equal(two.choices.length, 2);
  } finally { await busy.stop(); }
});

test('/tokenize and /detokenize: the ids the model sees, and back', async () => {
  const post = async (route, body) => {
    const r = await fetch(`${h.url}/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };
  const prompt = 'Once upon a time';
  const cli = execFileSync(BIN, ['tokenize', '-m', path.join(ROOT, 'models/stories260K.gguf'), '--add-special', prompt],
    { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  const t = await post('tokenize', { model: MODEL, prompt, return_token_strs: true });
  assert.equal(t.status, 200);
  assert.deepEqual(t.body.tokens, cli);
  assert.equal(t.body.count, cli.length);
  assert.equal(t.body.max_model_len, 2048);
  assert.deepEqual(t.body.token_strs, ['<s>', ' Once', ' upon', ' a', ' time']);
  const done = await client.completions.create({ model: MODEL, prompt, max_tokens: 1 });
  assert.equal(done.usage.prompt_tokens, t.body.count);
  // no model named: the first one served; no special tokens: no BOS
  const bare = await post('tokenize', { prompt, add_special_tokens: false });
  assert.deepEqual(bare.body.tokens, cli.slice(1));
  assert.equal(bare.body.token_strs, null);
  const back = await post('detokenize', { model: MODEL, tokens: bare.body.tokens });
  assert.deepEqual(back, { status: 200, body: { prompt } });
  assert.equal((await post('detokenize', { tokens: [] })).body.prompt, '');
  // a chat request's messages: the prompt the chat endpoint builds
  const messages = [{ role: 'system', content: 'Tell a story.' }, { role: 'user', content: prompt }];
  const chat = await post('tokenize', { model: MODEL, messages });
  const answered = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 1 });
  assert.equal(chat.body.count, answered.usage.prompt_tokens);
  // errors name what is wrong and change nothing
  const bad = await post('detokenize', { model: MODEL, tokens: [1, 99999] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.param, 'tokens[1]');
  assert.equal((await post('tokenize', { model: MODEL, prompt: 5 })).body.error.param, 'prompt');
  assert.equal((await post('tokenize', { model: 'nope', prompt })).status, 404);
  assert.equal((await post('tokenize', { model: MODEL, messages: 'x' })).body.error.param, 'messages');
  const both = await post('tokenize', { model: MODEL, prompt, messages });
  assert.equal(both.status, 400);
  assert.equal(both.body.error.param, 'prompt');
});

test('a seed makes sampling repeatable', async () => {
  const req = { model: MODEL, prompt: 'Tim had a red ball', max_tokens: 24, temperature: 1.0, seed: 42 };
  const a = await client.completions.create(req);
  const b = await client.completions.create(req);
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test('errors: unknown model 404, bad parameter 400 naming it, n past the slots and queue, context overflow', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e.status === 404 && e.code === 'model_not_found');
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], temperature: 5 }),
    (e) => e.status === 400 && e.param === 'temperature');
  // 2 slots and a queue of 64 take 66 choices at once
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], n: 67 }),
    (e) => e.status === 400 && e.param === 'n' && /67 choices.*at most 66/.test(e.message));
  await assert.rejects(client.completions.create({ model: MODEL, prompt: Array(34).fill('x'), n: 2 }),
    (e) => e.status === 400 && e.param === 'n');
  // a batch past them is refused before its prompts are tokenized
  await assert.rejects(client.completions.create({ model: MODEL, prompt: Array(5000).fill('x'.repeat(100)) }),
    (e) => e.status === 400 && e.param === 'prompt' && /5000 choices/.test(e.message));
  await assert.rejects(client.completions.create({ model: MODEL, prompt: [[1, 2], []] }),
    (e) => e.status === 400 && e.param === 'prompt[1]');
  await assert.rejects(client.completions.create({ model: MODEL, prompt: [] }),
    (e) => e.status === 400 && e.param === 'prompt');
  await assert.rejects(client.completions.create({ model: MODEL, prompt: [[1, 2], [3, 99999]] }),
    (e) => e.status === 400 && e.param === 'prompt[1][1]');
  await assert.rejects(client.completions.create({ model: MODEL, prompt: 'x', n: 2, best_of: 3 }),
    (e) => e.status === 400 && e.param === 'best_of');
  // a token id is a key once: "01" or " 1" would name token 1 a second time
  for (const key of ['01', ' 1', '+1', '1.0', ''])
    await assert.rejects(client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 1, logit_bias: { 1: 5, [key]: -5 } }),
      (e) => e.status === 400 && e.param === `logit_bias.${key}`, `logit_bias key ${JSON.stringify(key)}`);
  const biased = await client.completions.create({ model: MODEL, prompt: 'Once', max_tokens: 1, logit_bias: { 0: 1, 10: 100 } });
  assert.equal(biased.choices.length, 1);
  await assert.rejects(client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 1, stream_options: { include_usage: true } }),
    (e) => e.status === 400 && e.param === 'stream_options');
  await assert.rejects(client.completions.create({ model: MODEL, prompt: 'word '.repeat(3000) }),
    (e) => e.status === 400 && e.code === 'context_length_exceeded' && /2048 tokens/.test(e.message));
  await assert.rejects(client.embeddings.create({ model: MODEL, input: [[1, 99999]] }), (e) => e.status === 400);
  // A decoder's embeddings hold to its context like its chat does (an
  // encoder cuts, as sentence-transformers does).
  const fits = Array(2048).fill(1), over = Array(2049).fill(1);
  const e = await client.embeddings.create({ model: MODEL, input: [fits], encoding_format: 'float' });
  assert.equal(e.usage.prompt_tokens, 2048);
  await assert.rejects(client.embeddings.create({ model: MODEL, input: [[1, 2], over] }),
    (e) => e.status === 400 && e.code === 'context_length_exceeded' && e.param === 'input[1]' &&
      /2048 tokens.*2049 tokens/.test(e.message));
  // A model name with a NUL is named whole in the 404, not cut at the NUL
  // (where it would name a model that is served).
  for (const route of ['chat/completions', 'completions', 'embeddings']) {
    const res = await fetch(`${h.url}/v1/${route}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: `${MODEL}\u0000evil`, messages: [{ role: 'user', content: 'x' }], prompt: 'x', input: 'x' }),
    });
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.message.split(';')[0], `The model '${MODEL}\\x00evil' does not exist or is not served here`);
  }
  // The server still serves after all that.
  const ok = await client.completions.create({ model: MODEL, prompt: 'Once', max_tokens: 2 });
  assert.equal(ok.choices.length, 1);
});

// A content that types a control token stays text under templates that
// transform contents too (Gemma's and Llama 3's `| trim`): stories260K's
// </s> typed in a message adds the tokens of its characters, not one token.
test('a control-token text in a content stays text under a template that trims contents', async () => {
  for (const tmpl of ['google-gemma-2-2b-it.jinja', 'meta-llama-Llama-3.1-8B-Instruct.jinja']) {
    const t = await startHearth(['-m', 'models/stories260K.gguf', '--chat-template', `tests/data/templates/${tmpl}`,
      '--access-log', 'off']);
    try {
      const tokens = async (content) => {
        const res = await fetch(`${t.url}/v1/chat/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: 1, temperature: 0 }),
        });
        const body = await res.json();
        assert.equal(res.status, 200, `${tmpl}: ${JSON.stringify(body)}`);
        return body.usage.prompt_tokens;
      };
      const plain = (text) => execFileSync(BIN, ['tokenize', '-m', 'models/stories260K.gguf', text], { encoding: 'utf8' }).trim().split(/\s+/).length;
      const typed = await tokens('  x </s> y  '), bare = await tokens('  x y  ');
      assert.ok(typed - bare >= plain('</s>') - 1, `${tmpl}: </s> in a content added ${typed - bare} tokens`);
    } finally { await t.stop(); }
  }
});

// A web page can POST a form or text body anywhere without a preflight: with
// an Origin, such a body is refused before any model runs; JSON, or no
// Origin (curl -d, servers), is served.
test('a POST from a web page (Origin) without a JSON Content-Type is refused, JSON and Origin-less ones are served', async () => {
  const http = require('node:http');
  const post = (headers, body) => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: h.port, path: '/v1/completions', method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const body = JSON.stringify({ model: MODEL, prompt: 'Once', max_tokens: 1 });
  const generated = await metric('hearth_model_generated_tokens_total');
  for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'Multipart/Form-Data; boundary=x', null]) {
    const r = await post(type ? { origin: 'http://evil.example', 'content-type': type } : { origin: 'null' }, body);
    assert.equal(r.status, 403, type);
    assert.equal(JSON.parse(r.text).error.code, 'cross_origin_form');
  }
  assert.equal(await metric('hearth_model_generated_tokens_total'), generated);
  assert.equal((await post({ origin: 'http://evil.example', 'content-type': 'application/json' }, body)).status, 200);
  assert.equal((await post({ 'content-type': 'application/x-www-form-urlencoded' }, body)).status, 200);
});

test('a client that goes away cancels its sequence and frees the slot', async () => {
  const before = await metric('hearth_model_cancellations_total');
  const ac = new AbortController();
  const stream = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 2000, temperature: 1, stream: true }, { signal: ac.signal });
  let n = 0;
  try {
    for await (const c of stream) { if (++n === 3) ac.abort(); }
  } catch { /* the client reports its own abort; either way the stream is gone */ }
  assert.ok(n >= 3);
  for (let i = 0; i < 50 && (await metric('hearth_model_cancellations_total')) === before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await metric('hearth_model_cancellations_total'), before + 1);
  assert.equal(await metric('hearth_model_active_sequences'), 0);
});

test('a full queue answers 503 with retry-after', async () => {
  const busy = await startHearth(['-m', 'models/stories260K.gguf', '--slots', '1', '--queue', '0', '--access-log', 'off']);
  try {
    const c = new OpenAI({ baseURL: `${busy.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const long = c.completions.create({ model: MODEL, prompt: 'Once', max_tokens: 1500, temperature: 1 });
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${busy.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 1 }) });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal((await res.json()).error.code, 'server_busy');
    await long;
  } finally { await busy.stop(); }
});

test('embeddings through the openai client equal hearth embed, in float and base64', async () => {
  const model = path.join(ROOT, 'models/all-minilm-l6-v2.gguf');
  const fs = require('node:fs');
  assert.ok(fs.existsSync(model), 'scripts/install.sh puts the default embedding model in models/');
  const e = await startHearth(['-m', model, '--access-log', 'off']);
  try {
    const c = new OpenAI({ baseURL: `${e.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const texts = ['The cat sits on the mat.', 'A feline rests on a rug.', 'Stock markets fell sharply today.'];
    const r = await c.embeddings.create({ model: 'all-minilm-l6-v2', input: texts, encoding_format: 'float' });
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, 3);
    assert.ok(r.usage.prompt_tokens > 10);
    const vecs = r.data.map((d) => d.embedding);
    for (const v of vecs) {
      assert.equal(v.length, 384);
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5, 'L2-normalized');
    }
    const cos = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
    assert.ok(cos(vecs[0], vecs[1]) > cos(vecs[0], vecs[2]) + 0.2, 'similar sentences are closer');
    // The CLI gives the same vectors.
    const cli = spawnSync(BIN, ['embed', '-m', model, ...texts], { encoding: 'utf8' }).stdout.trim().split('\n').map(JSON.parse);
    cli.forEach((v, i) => assert.ok(cos(v, vecs[i]) > 0.999999));
    // The client's default is base64: little-endian float32 of the same vector.
    const b = await c.embeddings.create({ model: 'all-minilm-l6-v2', input: texts[0] });
    b.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - vecs[0][i]) < 1e-6));
    // Token ids in, and a shortened vector renormalized.
    const ids = await c.embeddings.create({ model: 'all-minilm-l6-v2', input: [[101, 7592, 2088, 102]], dimensions: 64, encoding_format: 'float' });
    assert.equal(ids.data[0].embedding.length, 64);
    assert.ok(Math.abs(Math.hypot(...ids.data[0].embedding) - 1) < 1e-5);
    await assert.rejects(c.embeddings.create({ model: 'all-minilm-l6-v2', input: [[101, 99999]] }),
      (err) => err.status === 400 && err.param === 'input[0][1]');
    await assert.rejects(c.chat.completions.create({ model: 'all-minilm-l6-v2', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err.status === 400 && err.param === 'model');
  } finally { await e.stop(); }
});

// A body over 64 KiB (here padded with JSON white space) is parsed, rendered
// and tokenized on the intake thread, then submitted from its loop: the
// same answers as a small body, streamed or not, and the same errors.
test('a large chat or completions body (read off the loop) gets the small body\'s answer', async () => {
  const pad = ' '.repeat(70 * 1024);
  const post = async (route, obj) => {
    const body = JSON.stringify(obj).replace('{', `{${pad}`);
    assert.ok(body.length > 64 * 1024);
    const res = await fetch(`${h.url}/v1/${route}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body,
    });
    return { status: res.status, text: await res.text() };
  };
  const chatReq = { model: MODEL, messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 20, temperature: 0 };
  const small = await client.chat.completions.create(chatReq);
  const big = await post('chat/completions', chatReq);
  assert.equal(big.status, 200);
  assert.equal(JSON.parse(big.text).choices[0].message.content, small.choices[0].message.content);
  const streamed = await post('chat/completions', { ...chatReq, stream: true });
  assert.equal(streamed.status, 200);
  const deltas = streamed.text.split('\n').filter((l) => l.startsWith('data: {'))
    .map((l) => JSON.parse(l.slice(6)).choices[0]?.delta?.content ?? '').join('');
  assert.equal(deltas, small.choices[0].message.content);
  assert.match(streamed.text, /data: \[DONE\]/);
  const compReq = { model: MODEL, prompt: 'The cat', max_tokens: 16, temperature: 0 };
  const smallComp = await client.completions.create(compReq);
  const bigComp = await post('completions', compReq);
  assert.equal(bigComp.status, 200);
  assert.equal(JSON.parse(bigComp.text).choices[0].text, smallComp.choices[0].text);
  const unknown = await post('chat/completions', { ...chatReq, model: 'nope' });
  assert.equal(unknown.status, 404);
  assert.equal(JSON.parse(unknown.text).error.code, 'model_not_found');
  const long = await post('chat/completions', { ...chatReq, messages: [{ role: 'user', content: 'a b '.repeat(40000) }] });
  assert.equal(long.status, 400);
  assert.equal(JSON.parse(long.text).error.code, 'context_length_exceeded');
  const broken = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: `{${pad}"model": `,
  });
  assert.equal(broken.status, 400);
  assert.equal((await broken.json()).error.code, 'invalid_json');
});
