// lifecycle.test.js — timeouts against slow clients, graceful shutdown,
// configuration precedence and the store on disk.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { execFileSync } = require('node:child_process');
const { startHearth, rawExchange, parseResponses, BIN } = require('./harness');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('slowloris: a head sent too slowly gets 408 and the connection closes', async () => {
  const h = await startHearth(['--header-timeout-ms', '500']);
  try {
    const sock = net.connect(h.port, '127.0.0.1');
    let text = '';
    let closedAt = 0;
    sock.on('data', (d) => { text += d; });
    const closed = new Promise((r) => sock.on('close', () => { closedAt = Date.now(); r(); }));
    sock.on('error', () => {});
    const start = Date.now();
    const head = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    let i = 0;
    const drip = setInterval(() => { if (!sock.destroyed) sock.write(head[i++ % head.length]); }, 100);
    await closed;
    clearInterval(drip);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(closedAt - start < 3000, `closed after ${closedAt - start} ms`);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    assert.match(metrics, /hearth_http_timeouts_total [1-9]/);
  } finally { await h.stop(); }
});

test('a connection that sends nothing is closed after the header timeout, not the idle one', async () => {
  const h = await startHearth(['--header-timeout-ms', '500', '--idle-timeout-ms', '60000']);
  try {
    const start = Date.now();
    const { text, closed } = await rawExchange(h.port, '', { idleMs: 4000 });
    assert.ok(closed, 'closed by the server');
    assert.equal(text, '');
    assert.ok(Date.now() - start < 3000, `closed after ${Date.now() - start} ms`);
    // and a connection that then sends its request in time is served
    const ok = await rawExchange(h.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { idleMs: 3000 });
    assert.equal(parseResponses(ok.text)[0].status, 200);
  } finally { await h.stop(); }
});

test('a body sent too slowly gets 408', async () => {
  const h = await startHearth(['--body-timeout-ms', '500']);
  try {
    const { text, closed } = await rawExchange(h.port,
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"model"', { idleMs: 3000 });
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(closed);
  } finally { await h.stop(); }
});

test('an idle keep-alive connection is closed after the idle timeout', async () => {
  const h = await startHearth(['--idle-timeout-ms', '500']);
  try {
    const start = Date.now();
    const { text, closed } = await rawExchange(h.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { idleMs: 4000 });
    assert.equal(parseResponses(text)[0].status, 200);
    assert.ok(closed, 'closed by the server');
    assert.ok(Date.now() - start < 3000);
  } finally { await h.stop(); }
});

test('a client that leaves a stream is logged whole: method, path, aborted (the log reads the request after its connection closed)', async () => {
  const h = await startHearth(['-m', 'models/stories260K.gguf']);
  try {
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController();
      const res = await fetch(`${h.url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
        body: JSON.stringify({ model: 'stories260K', prompt: 'Once', max_tokens: 1500, stream: true, n: 2 }),
      });
      const reader = res.body.getReader();
      await reader.read();
      ac.abort();
      await reader.read().catch(() => {});
    }
    await sleep(300);
    const ok = await fetch(`${h.url}/healthz`);
    assert.equal(ok.status, 200);
    const lines = h.stdout().trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.path === '/v1/completions');
    assert.equal(lines.length, 3, h.stdout());
    for (const l of lines) {
      assert.equal(l.method, 'POST');
      assert.equal(l.aborted, true);
    }
  } finally {
    const { code, signal } = await h.stop();
    assert.deepEqual([code, signal], [0, null], h.stderr());
  }
});

test('SIGTERM: stops accepting, finishes the request in flight, exits 0', async () => {
  const h = await startHearth(['--shutdown-timeout-ms', '5000']);
  const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
  const sock = net.connect(h.port, '127.0.0.1');
  await new Promise((r) => sock.on('connect', r));
  let text = '';
  sock.on('data', (d) => { text += d; });
  sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
  await sleep(100);
  h.proc.kill('SIGTERM');
  await sleep(300);
  // New connections are refused once the listeners are closed.
  await assert.rejects(fetch(`${h.url}/healthz`));
  sock.write(body.slice(10));
  const { code } = await h.exited;
  assert.equal(code, 0);
  const rs = parseResponses(text);
  assert.equal(rs.length, 1);
  assert.equal(rs[0].status, 404);
  assert.equal(JSON.parse(rs[0].body).error.code, 'model_not_found');
  assert.match(h.stderr(), /stopped/);
  sock.destroy();
  await h.stop();
});

test('SIGTERM with a stuck client: exit 0 within the deadline', async () => {
  const h = await startHearth(['--shutdown-timeout-ms', '300', '--body-timeout-ms', '60000']);
  const sock = net.connect(h.port, '127.0.0.1');
  sock.on('error', () => {});
  await new Promise((r) => sock.on('connect', r));
  sock.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{');
  await sleep(100);
  const start = Date.now();
  h.proc.kill('SIGTERM');
  const { code } = await h.exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - start < 2000, `took ${Date.now() - start} ms`);
  sock.destroy();
  await h.stop();
});

test('SIGTERM past the deadline with work in the models: answers are dropped, nothing leaks, exit 0', async () => {
  // The models are still busy (an embedding of 24 long texts, a streamed
  // and a whole completion) when the deadline passes and the connections
  // are closed; their last callbacks come while the server stops and must
  // find the closed loops (a use after free, and leaks, under ASan before
  // the models were closed ahead of the server's memory).
  const h = await startHearth(['-m', 'models/all-minilm-l6-v2.gguf', '-m', 'models/smollm2-135m-instruct.gguf',
    '--shutdown-timeout-ms', '100']);
  const post = (route, body) => fetch(`${h.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body) }).then((r) => r.text().then(() => `${r.status} whole`, () => `${r.status} cut`), () => 'cut');
  const long = Array.from({ length: 400 }, (_, i) => `word${i % 37}`).join(' ');
  // Greedy counting goes on for thousands of tokens (no early end of text).
  const chat = (stream) => post('/v1/completions', { model: 'smollm2-135m-instruct', stream, max_tokens: 4000,
    temperature: 0, prompt: '1, 2, 3, 4, 5, 6, 7, 8,' });
  const results = [post('/v1/embeddings', { model: 'all-minilm-l6-v2', input: Array(24).fill(long) }), chat(true), chat(false)];
  await sleep(400);
  h.proc.kill('SIGTERM');
  const { code, signal } = await h.exited;
  assert.equal(signal, null);
  assert.equal(code, 0, h.stderr().slice(-2000));
  const got = await Promise.all(results);
  assert.equal(got[0], 'cut');
  assert.equal(got[1], '200 cut'); // the stream had begun
  assert.equal(got[2], 'cut');
  assert.match(h.stderr(), /deadline of 100 ms passed/);
  assert.match(h.stderr(), /stopped/);
  await h.stop();
});

test('configuration: flag over environment over config file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-cfg-'));
  const cfg = path.join(dir, 'hearth.conf');
  fs.writeFileSync(cfg, '# test config\nio-threads = 3\nlog-level = info\n');
  const threads = (h) => Number(/\((\d+) I\/O threads/.exec(h.stderr())[1]);
  let h = await startHearth(['--config', cfg]);
  assert.equal(threads(h), 3);
  await h.stop();
  h = await startHearth(['--config', cfg], { env: { HEARTH_IO_THREADS: '2' } });
  assert.equal(threads(h), 2);
  await h.stop();
  h = await startHearth(['--config', cfg, '--io-threads', '1'], { env: { HEARTH_IO_THREADS: '2' } });
  assert.equal(threads(h), 1);
  await h.stop();
  h = await startHearth([], { env: { HEARTH_CONFIG: cfg } });
  assert.equal(threads(h), 3);
  await h.stop();
  fs.rmSync(dir, { recursive: true });
});

test('configuration errors name the option and the source', () => {
  const run = (args, env = {}) => {
    try {
      execFileSync(BIN, ['serve', ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
      return null;
    } catch (e) { return { status: e.status, stderr: e.stderr.toString() }; }
  };
  let r = run(['--port', 'abc']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /flag port: expected an integer/);
  r = run([], { HEARTH_IO_THREADS: '0' });
  assert.match(r.stderr, /environment io-threads: expected an integer from 1/);
  r = run(['--bogus']);
  assert.match(r.stderr, /unknown option '--bogus'/);
});

test('serve --help lists every option with its environment variable', () => {
  const out = execFileSync(BIN, ['serve', '--help']).toString();
  for (const flag of ['--host', '--port', '--data', '--io-threads', '--access-log', '--max-body-bytes',
    '--header-timeout-ms', '--body-timeout-ms', '--idle-timeout-ms', '--shutdown-timeout-ms', '--config']) {
    assert.ok(out.includes(flag), flag);
  }
  assert.match(out, /HEARTH_IO_THREADS/);
});

test('the store is SQLite in WAL mode with migrations recorded', async () => {
  const h = await startHearth();
  const db = path.join(h.data, 'hearth.db');
  const header = fs.readFileSync(db).subarray(0, 20);
  assert.equal(header.subarray(0, 15).toString(), 'SQLite format 3');
  assert.equal(header[18], 2, 'WAL write version');
  assert.equal(header[19], 2, 'WAL read version');
  const rows = execFileSync('sqlite3', [db, 'SELECT version, name FROM schema_migrations ORDER BY version']).toString();
  assert.match(rows, /^1\|meta$/m);
  await h.stop();
});

test('a port in use is a clear error', async () => {
  const h = await startHearth();
  try {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-test-'));
    try {
      execFileSync(BIN, ['serve', '--port', String(h.port), '--data', other], { stdio: 'pipe' });
    } finally { fs.rmSync(other, { recursive: true, force: true }); }
    assert.fail('second server started');
  } catch (e) {
    assert.equal(e.status, 1);
    // SO_REUSEPORT alone would let a second hearth share the port
    // silently; hearth probes the port first.
    assert.match(e.stderr.toString(), /cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
  } finally { await h.stop(); }
});

test('a data directory in use by another hearth is refused', async () => {
  const h = await startHearth();
  try {
    execFileSync(BIN, ['serve', '--port', '0', '--data', h.data], { stdio: 'pipe' });
    assert.fail('second server started');
  } catch (e) {
    assert.equal(e.status, 1);
    assert.match(e.stderr.toString(), /is locked by another hearth \(pid \d+\)/);
  } finally { await h.stop(); }
});
