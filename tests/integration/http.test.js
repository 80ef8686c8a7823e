// http.test.js — hearth's HTTP/1.1 server driven by real clients (undici,
// fetch) and raw sockets for what a client library would never send.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { request, Agent } = require('undici');
const { startHearth, rawExchange, parseResponses } = require('./harness');

let h;
before(async () => { h = await startHearth(['--max-body-bytes', '65536']); });
after(async () => { await h.stop(); });

const CHAT = JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] });

test('GET /healthz answers 200 with JSON and a request id', async () => {
  const res = await fetch(`${h.url}/healthz`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /application\/json/);
  assert.deepEqual(await res.json(), { status: 'ok' });
  assert.match(res.headers.get('x-request-id'), /^req_[0-9a-f]{20}$/);
});

test('x-request-id from the client is kept', async () => {
  const res = await fetch(`${h.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(res.headers.get('x-request-id'), 'abc-123');
});

test('GET /readyz is ready once the store is open', async () => {
  const res = await fetch(`${h.url}/readyz`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, 'ready');
  assert.equal(body.store, true);
});

test('unknown path is a 404 in OpenAI error shape', async () => {
  const res = await fetch(`${h.url}/v1/nope`);
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(body.error.type, 'invalid_request_error');
  assert.match(body.error.message, /GET \/v1\/nope/);
});

test('wrong method is a 405 with Allow', async () => {
  const res = await fetch(`${h.url}/healthz`, { method: 'DELETE' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET, HEAD');
  const body = await res.json();
  assert.equal(body.error.code, 'method_not_allowed');
  const post = await fetch(`${h.url}/v1/chat/completions`);
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'POST');
});

test('HEAD gets the headers of GET and no body', async () => {
  const { text } = await rawExchange(h.port, 'HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, /Content-Length: 15\r\n/);
  assert.ok(text.endsWith('\r\n\r\n'), 'no body after the head');
});

test('keep-alive: many requests share one connection', async () => {
  const agent = new Agent({ connections: 1, pipelining: 1 });
  for (let i = 0; i < 20; i++) {
    const res = await request(`${h.url}/healthz`, { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    await res.body.text();
  }
  await agent.close();
  const metrics = await (await fetch(`${h.url}/metrics`)).text();
  assert.match(metrics, /hearth_http_connections_total \d+/);
});

test('pipelined requests are answered in order on one connection', async () => {
  const reqs = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\n\r\n' +
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Request-Id: two\r\nContent-Length: ${CHAT.length}\r\n\r\n${CHAT}` +
    'GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: three\r\n\r\n' +
    'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: four\r\nConnection: close\r\n\r\n';
  const { text, closed } = await rawExchange(h.port, reqs);
  const rs = parseResponses(text);
  assert.deepEqual(rs.map((r) => r.status), [200, 404, 404, 200]);
  assert.deepEqual(rs.map((r) => r.headers['x-request-id']), ['one', 'two', 'three', 'four']);
  assert.equal(JSON.parse(rs[1].body).error.code, 'model_not_found');
  assert.equal(rs[3].headers.connection, 'close');
  assert.ok(closed, 'Connection: close closes');
});

test('a pipelined burst split at every byte boundary gives the same answers', async () => {
  const reqs = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n${CHAT.slice(0, 5)}\r\n${(CHAT.length - 5).toString(16)}\r\n${CHAT.slice(5)}\r\n0\r\n\r\n` +
    'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
  for (const size of [1, 7, 64]) {
    const chunks = [];
    for (let i = 0; i < reqs.length; i += size) chunks.push(reqs.slice(i, i + size));
    const { text } = await rawExchange(h.port, chunks, { gapMs: size === 1 ? 0 : 1 });
    const rs = parseResponses(text);
    assert.deepEqual(rs.map((r) => r.status), [404, 200], `split every ${size} bytes`);
  }
});

test('chunked request bodies are decoded', async () => {
  const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 5 }] });
  const half = Math.floor(body.length / 2);
  const raw = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
    `${half.toString(16)};ext=1\r\n${body.slice(0, half)}\r\n${(body.length - half).toString(16)}\r\n${body.slice(half)}\r\n0\r\nTrailer: x\r\n\r\n`;
  const [r] = parseResponses((await rawExchange(h.port, raw)).text);
  assert.equal(r.status, 400);
  assert.equal(JSON.parse(r.body).error.param, 'messages[0].content');
});

test('responses to a streaming client library work (undici stream body)', async () => {
  const res = await request(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    body: (async function* () { yield CHAT.slice(0, 10); yield CHAT.slice(10); })(),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(res.statusCode, 404);
  assert.equal((await res.body.json()).error.code, 'model_not_found');
});

test('Expect: 100-continue gets 100 then the answer', async () => {
  const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${CHAT.length}\r\nExpect: 100-continue\r\n\r\n`;
  const sock = require('node:net').connect(h.port, '127.0.0.1');
  let text = '';
  sock.on('data', (d) => {
    text += d;
    if (text.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !sock.sentBody) { sock.sentBody = true; sock.write(CHAT); }
  });
  sock.write(head);
  await new Promise((r) => setTimeout(r, 300));
  sock.destroy();
  const rs = parseResponses(text);
  assert.deepEqual(rs.map((r) => r.status), [100, 404]);
});

test('Expect with an unknown expectation is 417', async () => {
  const { text } = await rawExchange(h.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 2\r\n\r\n{}');
  assert.match(text, /^HTTP\/1\.1 417 /);
});

test('a body over the route limit is 413 before it is read', async () => {
  const { text, closed } = await rawExchange(h.port, 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 405 /); // wrong method is answered first
  assert.ok(closed);
  const big = await rawExchange(h.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${100 << 20}\r\n\r\n`);
  assert.match(big.text, /^HTTP\/1\.1 413 /);
  assert.equal(JSON.parse(parseResponses(big.text)[0].body).error.code, 'request_too_large');
  assert.ok(big.closed);
});

test('a chunked body over the limit is 413', async () => {
  const size = 5 << 20;
  const raw = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n`;
  const { text, closed } = await rawExchange(h.port, [raw, 'x'.repeat(size)]);
  assert.match(text, /^HTTP\/1\.1 413 /);
  assert.ok(closed);
});

test('an oversized request line is 414, an oversized header block 431', async () => {
  const longLine = await rawExchange(h.port, `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  assert.match(longLine.text, /^HTTP\/1\.1 414 URI Too Long/);
  const manyHeaders = Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join('');
  const many = await rawExchange(h.port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${manyHeaders}\r\n`);
  assert.match(many.text, /^HTTP\/1\.1 431 /);
  const big = await rawExchange(h.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20000)}\r\n\r\n`);
  assert.match(big.text, /^HTTP\/1\.1 431 /);
  assert.ok(big.closed);
});

const SMUGGLING = {
  'Content-Length with Transfer-Encoding': 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'differing duplicate Content-Length': 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
  'Content-Length list that differs': 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 5\r\n\r\nabcde',
  'signed Content-Length': 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd',
  'obs-fold': 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n',
  'bad chunk size': 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n',
  'chunk size with 0x': 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nab\r\n0\r\n\r\n',
  'missing CRLF after chunk data': 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n',
  'bare LF line ending': 'GET /healthz HTTP/1.1\nHost: x\n\n',
  'bare CR in a header': 'GET /healthz HTTP/1.1\r\nHost: x\rX: y\r\n\r\n',
  'space before colon': 'GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n',
  'chunked not last': 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n',
  'missing Host on HTTP/1.1': 'GET /healthz HTTP/1.1\r\n\r\n',
  'two Host headers': 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
  'Transfer-Encoding on HTTP/1.0': 'POST /v1/chat/completions HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
};

for (const [name, raw] of Object.entries(SMUGGLING)) {
  test(`request smuggling: ${name} is 400 and closes`, async () => {
    const { text, closed } = await rawExchange(h.port, raw + 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const rs = parseResponses(text);
    assert.equal(rs.length, 1, `exactly one answer, got: ${text.slice(0, 200)}`);
    assert.equal(rs[0].status, 400);
    assert.equal(rs[0].headers.connection, 'close');
    assert.equal(JSON.parse(rs[0].body).error.type, 'invalid_request_error');
    assert.ok(closed, 'connection closed');
  });
}

test('unknown transfer coding is 501, HTTP/2 preface and HTTP/3.0 are 505', async () => {
  const te = await rawExchange(h.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n');
  assert.match(te.text, /^HTTP\/1\.1 (501|400) /);
  const v = await rawExchange(h.port, 'GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n');
  assert.match(v.text, /^HTTP\/1\.1 505 /);
});

test('HTTP/1.0 closes unless keep-alive is asked for', async () => {
  const plain = await rawExchange(h.port, 'GET /healthz HTTP/1.0\r\n\r\n');
  assert.match(plain.text, /^HTTP\/1\.0 200 OK/);
  assert.ok(plain.closed);
  const ka = await rawExchange(h.port, 'GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n');
  assert.equal(parseResponses(ka.text).length, 2);
  assert.match(ka.text, /Connection: keep-alive/);
});

// HTTP/1.0 has no chunked coding: a stream goes unframed to a 1.0 client
// and ends with the connection, which closes even when keep-alive is asked.
test('HTTP/1.0 streams go unframed and end with the connection', async () => {
  const model = (await (await fetch(`${h.url}/v1/models`)).json()).data.find((m) => m.meta.kind !== 'embedding');
  const body = JSON.stringify({ model: model.id, prompt: 'Hello', max_tokens: 3, stream: true });
  for (const ka of ['', 'Connection: keep-alive\r\n']) {
    const r = await rawExchange(h.port, `POST /v1/completions HTTP/1.0\r\n${ka}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`, { idleMs: 5000 });
    assert.ok(r.closed, 'the connection ends the body');
    const [head, ...rest] = r.text.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.0 200 OK/);
    assert.doesNotMatch(head, /Transfer-Encoding/i);
    assert.match(head, /Connection: close/);
    const events = rest.join('\r\n\r\n').split('\n\n').filter(Boolean);
    assert.ok(events.length >= 2, r.text);
    for (const e of events) assert.match(e, /^data: /, `an SSE event, not a chunk size: ${JSON.stringify(e)}`);
    assert.equal(events[events.length - 1], 'data: [DONE]');
    assert.equal(JSON.parse(events[0].slice(6)).object, 'text_completion');
  }
});

test('metrics count requests by route and status', async () => {
  await fetch(`${h.url}/healthz`);
  const text = await (await fetch(`${h.url}/metrics`)).text();
  assert.match(text, /hearth_http_requests_total\{route="GET \/healthz",status="200"\} \d+/);
  assert.match(text, /hearth_http_requests_total\{route="unmatched",status="404"\} \d+/);
  assert.match(text, /hearth_http_request_duration_seconds_bucket\{route="GET \/healthz",le="\+Inf"\} \d+/);
  assert.match(text, /hearth_http_connections_open \d+/);
  assert.match(text, /hearth_event_loop_lag_seconds\{loop="0"\} [0-9.]+/);
  assert.match(text, /hearth_http_parse_errors_total [1-9]\d*/);
});

test('the access log has one JSON line per request', async () => {
  await fetch(`${h.url}/healthz`, { headers: { 'x-request-id': 'log-me' } });
  await new Promise((r) => setTimeout(r, 200));
  const lines = h.stdout().trim().split('\n').map((l) => JSON.parse(l));
  const mine = lines.find((l) => l.id === 'log-me');
  assert.ok(mine, 'line for the request');
  assert.equal(mine.status, 200);
  assert.equal(mine.path, '/healthz');
  assert.equal(mine.method, 'GET');
  assert.equal(typeof mine.ms, 'number');
});
