// json.test.js — JSONTestSuite (nst/JSONTestSuite, test_parsing/) sent
// through POST /v1/chat/completions: every y_ file is parsed (whatever the
// schema then says, the error is never invalid_json), every n_ file is a
// 400 invalid_json, and each i_ file gives the choice recorded in
// tests/data/JSONTestSuite/CHOICES.md. Then schema errors name their path.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { request } = require('undici');
const { startHearth, ROOT } = require('./harness');

const DIR = path.join(ROOT, 'tests/data/JSONTestSuite');
let h;
before(async () => { h = await startHearth(['--access-log', 'off']); });
after(async () => { await h.stop(); });

async function post(body, headers = {}) {
  const res = await request(`${h.url}/v1/chat/completions`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: JSON.parse(text) };
}

function choices() {
  const table = new Map();
  for (const line of fs.readFileSync(path.join(DIR, 'CHOICES.md'), 'utf8').split('\n')) {
    const m = /^\| (i_[^ ]+\.json) \| (accept|reject) \|/.exec(line);
    if (m) table.set(m[1], m[2]);
  }
  return table;
}

test('JSONTestSuite through the route: y_ parsed, n_ invalid_json, i_ as documented', async () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  const table = choices();
  let y = 0, n = 0, i = 0;
  for (const f of files) {
    const bytes = fs.readFileSync(path.join(DIR, f));
    const r = await post(bytes);
    const invalidJson = r.status === 400 && r.body.error.code === 'invalid_json';
    if (f.startsWith('y_')) {
      assert.ok(!invalidJson, `${f} must parse, got ${JSON.stringify(r.body)}`);
      assert.ok(r.status === 400 || r.status === 404, `${f}: ${r.status}`);
      y++;
    } else if (f.startsWith('n_')) {
      assert.ok(invalidJson, `${f} must be refused as invalid_json, got ${r.status} ${JSON.stringify(r.body)}`);
      n++;
    } else if (f.startsWith('i_')) {
      const want = table.get(f);
      assert.ok(want, `${f} has a row in CHOICES.md`);
      assert.equal(invalidJson ? 'reject' : 'accept', want, f);
      i++;
    }
  }
  assert.ok(y >= 90 && n >= 180 && i >= 30, `ran ${y} y_, ${n} n_, ${i} i_`);
});

test('invalid_json names where the text went wrong', async () => {
  const r = await post('{"model": "m",, "messages": []}');
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_json');
  assert.equal(r.body.error.type, 'invalid_request_error');
  assert.match(r.body.error.message, /byte 14|column 15/);
  const empty = await post('');
  assert.equal(empty.body.error.code, 'invalid_json');
});

const CASES = [
  [{ messages: [{ role: 'user', content: 'x' }] }, 'model', /is required/],
  [{ model: 'm' }, 'messages', /is required/],
  [{ model: 'm', messages: [] }, 'messages', /must not be empty/],
  [{ model: 5, messages: [{ role: 'user', content: 'x' }] }, 'model', /expected a string/],
  [{ model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'bot', content: 'b' }] }, 'messages[1].role', /must be one of/],
  [{ model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }, { role: 'user', content: 7 }] }, 'messages[2].content', /expected a string or an array/],
  [{ model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 3 }, 'temperature', /at most 2/],
  [{ model: 'm', messages: [{ role: 'user', content: 'x' }], top_p: -0.1 }, 'top_p', /at least 0/],
  [{ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 1.5 }, 'max_tokens', /expected an integer/],
  [{ model: 'm', messages: [{ role: 'user', content: 'x' }], stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', /at most 4/],
  [{ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, 'stream', /expected a boolean/],
  [{ model: 'm', messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: 1 } }, 'stream_options.include_usage', /expected a boolean/],
  [{ model: 'm', messages: [{ role: 'user', content: 'x' }], logit_bias: { 12: 300 } }, 'logit_bias.12', /at most 100/],
  [{ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }, 'messages[0].content[0].text', /expected a string/],
];

for (const [body, param, message] of CASES) {
  test(`schema: ${param} ${message}`, async () => {
    const r = await post(JSON.stringify(body));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_value');
    assert.equal(r.body.error.param, param);
    assert.match(r.body.error.message, message);
    assert.ok(r.body.error.message.startsWith(param + ': '));
  });
}

test('a valid request reaches model routing: unknown model is 404 naming it', async () => {
  const r = await post(JSON.stringify({
    model: 'no-such-model', messages: [{ role: 'system', content: 's' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    temperature: 0.5, top_p: 0.9, max_tokens: 10, stop: 'x', stream: false, seed: 1, n: 1, user: 'u',
    presence_penalty: 0.1, frequency_penalty: 0.2, logprobs: true, top_logprobs: 3, top_k: 5, min_p: 0.1,
  }));
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'model_not_found');
  assert.equal(r.body.error.param, 'model');
  assert.match(r.body.error.message, /no-such-model/);
});
