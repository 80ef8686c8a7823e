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
  assert.ok(atFirstB - atSend >= steps, `A received ${atFirstB - atSend} tokens during B's ${steps}-step prefill`);
});
