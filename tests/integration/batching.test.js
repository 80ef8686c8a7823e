// batching.test.js — continuous batching as a client sees it: a long prompt
// arriving while another sequence streams is prefilled in short steps, and
// the running stream keeps receiving tokens through that prefill (one per
// step) instead of waiting for the whole prompt.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startHearth } = require('./harness');

const BUSY = 8; // --batch-busy: prompt tokens per step while A generates
let h;

before(async () => {
  h = await startHearth(['-m', 'models/stories260K.gguf', '--slots', '2', '--batch', '512',
    '--batch-busy', String(BUSY), '--access-log', 'off']);
});
after(async () => { await h.stop(); });

async function metric(name) {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{model="stories260K"\\} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} missing from /metrics`);
  return Number(m[1]);
}

// Streams a completion, calling onToken(text) for each token frame.
async function stream(body, onToken) {
  const res = await fetch(`${h.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stories260K', stream: true, ...body }),
  });
  assert.equal(res.status, 200, await (res.status === 200 ? '' : res.text()));
  const dec = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += dec.decode(chunk, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!frame.startsWith('data: ') || frame === 'data: [DONE]') continue;
      const j = JSON.parse(frame.slice(6));
      if (j.choices && j.choices[0] && j.choices[0].text !== undefined && j.choices[0].text !== '') onToken(j.choices[0].text);
    }
  }
}

test('a long prompt is prefilled in short steps while another stream keeps flowing', async () => {
  let aTokens = 0;
  let atSend = -1;
  let atFirstB = -1;
  let bPromptTokens = 0;
  let startB;
  const bStarted = new Promise((res) => { startB = res; });
  // A: a long greedy generation that cannot end early (EOS banned).
  const a = stream({ prompt: 'Once upon a time', max_tokens: 1500, temperature: 0, logit_bias: { 2: -100 } },
    () => { aTokens++; if (aTokens === 5) startB(); });
  await bStarted;
  // B: a prompt of about 600 tokens, prefilled in ~75 steps of BUSY tokens.
  const words = [];
  for (let i = 0; i < 40; i++) words.push(`The little dog number ${i} ran.`);
  const mixedBefore = await metric('hearth_model_mixed_steps_total');
  atSend = aTokens;
  const bRes = await fetch(`${h.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'stories260K', prompt: words.join(' '), max_tokens: 1, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  assert.equal(bRes.status, 200, bRes.status === 200 ? '' : await bRes.text());
  const dec = new TextDecoder();
  let buf = '';
  for await (const chunk of bRes.body) {
    buf += dec.decode(chunk, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!frame.startsWith('data: ') || frame === 'data: [DONE]') continue;
      const j = JSON.parse(frame.slice(6));
      if (atFirstB < 0 && j.choices && j.choices.length) atFirstB = aTokens;
      if (j.usage) bPromptTokens = j.usage.prompt_tokens;
    }
  }
  await a;
  const steps = Math.ceil(bPromptTokens / BUSY);
  assert.ok(bPromptTokens > 400, `B's prompt has ${bPromptTokens} tokens`);
  // Every step of B's prefill also carried A's next token, and none carried
  // more than BUSY prompt tokens: A's stream never waited for more.
  const mixed = (await metric('hearth_model_mixed_steps_total')) - mixedBefore;
  assert.ok(mixed >= steps, `${mixed} steps mixed B's prompt with A's tokens, want >= ${steps}`);
  assert.ok(await metric('hearth_model_mixed_step_prompt_tokens_max') <= BUSY);
  // Client side: A's stream flowed meanwhile. The two answers travel on two
  // connections, so a few of A's frames written before B's first one may
  // still be on their way when B's is read (a loaded CI host showed 70 of
  // 74); the exact count per step is the server's metric above.
  assert.ok(atFirstB - atSend >= steps - 8, `A received ${atFirstB - atSend} tokens during B's ${steps}-step prefill`);
});

// Four requests sent at once whose prompts share a long beginning (a
// common system prompt): the first computes it, the others wait for its
// prefill to pass that part and copy it, so each of them reports the shared
// tokens as cached; every answer is the one `hearth run` gives for its prompt.
test('requests arriving together compute their shared beginning once', async () => {
  const path = require('node:path');
  const { spawnSync } = require('node:child_process');
  const { ROOT, BIN } = require('./harness');
  const h4 = await startHearth(['-m', 'models/stories260K.gguf', '--slots', '4', '--access-log', 'off']);
  try {
    const shared = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park '
      + 'with her friends. One day, she saw a big red ball under a tree and ran to get it. ';
    const endings = ['Her mom said', 'The dog barked', 'Tom was sad', 'A bird sang'];
    const count = async (prompt) => {
      const r = await fetch(`${h4.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'stories260K', prompt, max_tokens: 0 }) });
      return (await r.json()).usage.prompt_tokens;
    };
    const nShared = await count(shared);
    assert.ok(nShared >= 40, `shared part is ${nShared} tokens`);
    const answers = await Promise.all(endings.map(async (e) => {
      const r = await fetch(`${h4.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'stories260K', prompt: shared + e, max_tokens: 24, temperature: 0 }) });
      assert.equal(r.status, 200);
      return r.json();
    }));
    const cached = answers.map((a) => a.usage.prompt_tokens_details.cached_tokens).sort((x, y) => x - y);
    // the first computed everything; the three others took at least the shared part less the
    // token where the tokenizations of the shared text and of the whole prompt may differ
    assert.equal(cached[0], 0, `cached ${cached}`);
    for (const c of cached.slice(1)) assert.ok(c >= nShared - 2, `cached ${cached}, shared ${nShared}`);
    for (let i = 0; i < endings.length; i++) {
      const run = spawnSync(BIN, ['run', '-m', path.join(ROOT, 'models/stories260K.gguf'), '-p', shared + endings[i],
        '-n', '24', '--temp', '0'], { encoding: 'utf8' });
      assert.equal(run.status, 0);
      assert.equal(answers[i].choices[0].text, run.stdout, `answer ${i}`);
    }
  } finally {
    await h4.stop();
  }
});
