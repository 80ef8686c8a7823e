// pull.test.js — `hearth pull` and `hearth models` against a local server
// that answers like the Hugging Face hub: /OWNER/REPO/resolve/REV/FILE is a
// 302 to /cdn/MODE/FILE carrying the file's sha256 in X-Linked-Etag, and
// the CDN honours Range with 206. The repository name picks the CDN's
// behaviour: good, cut (the first answer stops half way), corrupt (one
// byte flipped), norange (ignores Range), auth (redirects to another host
// name, so the token must not follow). HF_ENDPOINT points hearth at it.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { ROOT, BIN } = require('./harness');

const MODEL = fs.readFileSync(path.join(ROOT, 'models', 'stories260K.gguf'));
const SHA = crypto.createHash('sha256').update(MODEL).digest('hex');
const CORRUPT = Buffer.from(MODEL);
CORRUPT[CORRUPT.length >> 1] ^= 0xff;

// llama.context_length read from the file itself (a u32 after the key).
function contextLength(buf) {
  const key = Buffer.from('llama.context_length');
  const at = buf.indexOf(key) + key.length;
  assert.equal(buf.readUInt32LE(at), 4, 'u32 value type');
  return buf.readUInt32LE(at + 4);
}

let server, base, port;
let log = []; // {url, range, auth} per request

function serveFile(req, res, body, { ranges = true, cut = false } = {}) {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range || '');
  if (ranges && m) {
    const start = Number(m[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` });
      return res.end();
    }
    res.writeHead(206, {
      'Content-Length': body.length - start,
      'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
      'Accept-Ranges': 'bytes',
      ETag: '"cdn-etag-not-a-sha"',
    });
    return res.end(body.subarray(start));
  }
  res.writeHead(200, { 'Content-Length': body.length, 'Accept-Ranges': ranges ? 'bytes' : 'none' });
  if (cut) {
    // Headers promise the whole file; the connection dies half way.
    res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.destroy(), 20));
    return;
  }
  res.end(body);
}

const cutServed = new Set();

function handle(req, res) {
  log.push({ url: req.url, range: req.headers.range, auth: req.headers.authorization, host: req.headers.host });
  const hub = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url);
  if (hub) {
    const [, , repo, , file] = hub;
    if (repo === 'missing' || file !== 'stories260K.gguf') {
      res.writeHead(404, { 'X-Error-Code': 'EntryNotFound', 'X-Error-Message': 'Entry not found',
        'Content-Type': 'text/plain' });
      return res.end('Entry not found');
    }
    const host = repo === 'auth' ? `localhost:${port}` : `127.0.0.1:${port}`;
    res.writeHead(302, {
      Location: `http://${host}/cdn/${repo}/${file}`,
      'X-Linked-Etag': `"${SHA}"`,
      'X-Linked-Size': String(MODEL.length),
      ETag: '"a661b1a138dac6dc5590367402d100765010ffd6"',
      'Content-Type': 'text/plain',
    });
    return res.end(`Found. Redirecting to /cdn/${repo}/${file}`);
  }
  const cdn = /^\/cdn\/([^/]+)\/(.+)$/.exec(req.url);
  if (cdn) {
    const mode = cdn[1];
    if (mode === 'html') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end('<html><body>not a model</body></html>');
    }
    if (mode === 'corrupt') return serveFile(req, res, CORRUPT);
    if (mode === 'norange') return serveFile(req, res, MODEL, { ranges: false });
    if (mode === 'cut' && !cutServed.has(req.url)) {
      cutServed.add(req.url);
      return serveFile(req, res, MODEL, { cut: true });
    }
    return serveFile(req, res, MODEL);
  }
  res.writeHead(404);
  res.end('no such path');
}

before(async () => {
  server = http.createServer(handle);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  port = server.address().port;
  base = `http://127.0.0.1:${port}`;
});
after(() => new Promise((r) => server.close(r)));

function tmpdir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-pull-'));
}

// Async on purpose: the fake hub lives in this process.
function hearth(args, env = {}) {
  const e = { ...process.env, HF_ENDPOINT: base, NO_PROXY: '*', ...env };
  for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'ALL_PROXY', 'all_proxy', 'HF_TOKEN'])
    if (!(k in env)) delete e[k];
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, args, { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 10000);
    p.on('error', reject);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

const sha256File = (f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

test('pull hf:OWNER/REPO/FILE follows the redirect, verifies and stores NAME.gguf', async () => {
  const dir = tmpdir();
  log = [];
  const r = await hearth(['pull', 'hf:test/good/stories260K.gguf', '--models-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256File(path.join(dir, 'stories260K.gguf')), SHA);
  assert.ok(!fs.existsSync(path.join(dir, 'stories260K.gguf.part')));
  assert.match(r.stdout, /verified/);
  assert.deepEqual(log.map((l) => l.url), ['/test/good/resolve/main/stories260K.gguf', '/cdn/good/stories260K.gguf']);
  // Not a TTY: no progress bar redraws, only plain lines.
  assert.doesNotMatch(r.stderr, /\r/);

  // Again: already there, nothing downloaded.
  log = [];
  const again = await hearth(['pull', 'hf:test/good/stories260K.gguf', '--models-dir', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /already there/);
  assert.equal(log.length, 0);

  // `hearth models` lists it with its architecture and context length.
  const ls = await hearth(['models', '--models-dir', dir]);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /^stories260K\s+1\.2 MB\s+llama\s+f32\s+2048\s/m);
  fs.rmSync(dir, { recursive: true });
});

test('a revision after @ goes into the resolve URL', async () => {
  const dir = tmpdir();
  log = [];
  const r = await hearth(['pull', 'hf:test/good/stories260K.gguf@v1.0', '--models-dir', dir, '--name', 'tiny']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(log[0].url, '/test/good/resolve/v1.0/stories260K.gguf');
  assert.ok(fs.existsSync(path.join(dir, 'tiny.gguf')));
  fs.rmSync(dir, { recursive: true });
});

test('a cut connection leaves .part; the next pull resumes with Range', async () => {
  const dir = tmpdir();
  log = [];
  const first = await hearth(['pull', 'hf:test/cut/stories260K.gguf', '--models-dir', dir]);
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stderr, /run the same command again to resume/);
  const part = path.join(dir, 'stories260K.gguf.part');
  assert.ok(fs.existsSync(part));
  const kept = fs.statSync(part).size;
  assert.ok(kept > 0 && kept < MODEL.length, `kept ${kept}`);
  assert.ok(!fs.existsSync(path.join(dir, 'stories260K.gguf')));

  log = [];
  const second = await hearth(['pull', 'hf:test/cut/stories260K.gguf', '--models-dir', dir]);
  assert.equal(second.code, 0, second.stderr);
  const cdn = log.find((l) => l.url.startsWith('/cdn/'));
  assert.equal(cdn.range, `bytes=${kept}-`);
  assert.match(second.stderr, /resuming/);
  assert.match(second.stdout, /resumed/);
  assert.equal(sha256File(path.join(dir, 'stories260K.gguf')), SHA);
  assert.ok(!fs.existsSync(part));
  fs.rmSync(dir, { recursive: true });
});

test('a server that ignores Range makes the pull start over, still verified', async () => {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'stories260K.gguf.part'), MODEL.subarray(0, 1000));
  const r = await hearth(['pull', 'hf:test/norange/stories260K.gguf', '--models-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /starting over/);
  assert.equal(sha256File(path.join(dir, 'stories260K.gguf')), SHA);
  fs.rmSync(dir, { recursive: true });
});

test('a .part that is already whole is finished without downloading again', async () => {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'stories260K.gguf.part'), MODEL);
  const r = await hearth(['pull', 'hf:test/good/stories260K.gguf', '--models-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256File(path.join(dir, 'stories260K.gguf')), SHA);
  fs.rmSync(dir, { recursive: true });
});

test('corrupt bytes: sha256 mismatch, exit 1, nothing left behind', async () => {
  const dir = tmpdir();
  const r = await hearth(['pull', 'hf:test/corrupt/stories260K.gguf', '--models-dir', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /sha256 mismatch/);
  assert.ok(r.stderr.includes(SHA), 'names the expected hash');
  const got = crypto.createHash('sha256').update(CORRUPT).digest('hex');
  assert.ok(r.stderr.includes(got), 'names the hash it computed');
  assert.deepEqual(fs.readdirSync(dir), []);
  fs.rmSync(dir, { recursive: true });
});

test('a plain URL: no published hash is a warning, the file is still checked as GGUF', async () => {
  const dir = tmpdir();
  const r = await hearth(['pull', `${base}/cdn/good/stories260K.gguf`, '--models-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: .*no sha256/);
  assert.equal(sha256File(path.join(dir, 'stories260K.gguf')), SHA);

  // --sha256 supplies the hash the server does not publish.
  const bad = await hearth(['pull', `${base}/cdn/good/stories260K.gguf`, '--models-dir', dir,
    '--name', 'checked', '--sha256', '0'.repeat(64)]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /sha256 mismatch/);
  assert.ok(!fs.existsSync(path.join(dir, 'checked.gguf')));

  // An HTML page is refused as soon as its first bytes arrive.
  const html = await hearth(['pull', `${base}/cdn/html/page.gguf`, '--models-dir', dir]);
  assert.equal(html.code, 1);
  assert.match(html.stderr, /not a GGUF file/);
  assert.ok(!fs.existsSync(path.join(dir, 'page.gguf')));
  assert.ok(!fs.existsSync(path.join(dir, 'page.gguf.part')));
  fs.rmSync(dir, { recursive: true });
});

test('404 is a clear error and exit 1', async () => {
  const dir = tmpdir();
  const r = await hearth(['pull', 'hf:test/missing/stories260K.gguf', '--models-dir', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /HTTP 404, not found: Entry not found/);
  assert.ok(!fs.existsSync(path.join(dir, 'stories260K.gguf')));
  const url = await hearth(['pull', `${base}/nowhere/x.gguf`, '--models-dir', dir]);
  assert.equal(url.code, 1);
  assert.match(url.stderr, /HTTP 404/);
  assert.deepEqual(fs.readdirSync(dir), [], 'no empty .part left behind');
  fs.rmSync(dir, { recursive: true });
});

test('network error and bad usage', async () => {
  const dir = tmpdir();
  const r = await hearth(['pull', 'hf:test/good/stories260K.gguf', '--models-dir', dir],
    { HF_ENDPOINT: 'http://127.0.0.1:1' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /hearth pull: http:\/\/127\.0\.0\.1:1\/.*connect/i);
  assert.deepEqual(fs.readdirSync(dir), [], 'no empty .part left behind');
  assert.equal((await hearth(['pull', 'hf:just-a-name', '--models-dir', dir])).code, 2);
  assert.equal((await hearth(['pull', '--models-dir', dir])).code, 2);
  assert.equal((await hearth(['pull', 'hf:a/b/c.gguf', '--sha256', 'xyz'])).code, 2);
  fs.rmSync(dir, { recursive: true });
});

test('HF_TOKEN goes to the hub but not across the redirect to another host', async () => {
  const dir = tmpdir();
  log = [];
  const r = await hearth(['pull', 'hf:test/auth/stories260K.gguf', '--models-dir', dir], { HF_TOKEN: 'hf_secret' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(log[0].auth, 'Bearer hf_secret');
  const cdn = log.find((l) => l.url.startsWith('/cdn/'));
  assert.match(cdn.host, /^localhost:/);
  assert.equal(cdn.auth, undefined);
  fs.rmSync(dir, { recursive: true });
});

test('hearth models: size, arch, quantization, context; bad files get a reason', async () => {
  const dir = tmpdir();
  fs.copyFileSync(path.join(ROOT, 'models', 'stories260K.gguf'), path.join(dir, 'stories260K.gguf'));
  fs.writeFileSync(path.join(dir, 'broken.gguf'), MODEL.subarray(0, 5000));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a model');
  fs.writeFileSync(path.join(dir, 'half.gguf.part'), MODEL.subarray(0, 100));
  const r = await hearth(['models', '--models-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3, r.stdout); // header + 2
  assert.match(lines[1], /^broken\s+5 kB\s+unreadable: .+/);
  assert.match(lines[2], /^stories260K\s/);

  const j = await hearth(['models', '--models-dir', dir, '--json'], { HEARTH_MODELS_DIR: '/nonexistent' });
  assert.equal(j.code, 0, j.stderr);
  const rows = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((x) => x.name), ['broken', 'stories260K']);
  assert.ok(rows[0].error.length > 0);
  const s = rows[1];
  assert.equal(s.arch, 'llama');
  assert.equal(s.quantization, 'f32');
  assert.equal(s.context_length, contextLength(MODEL));
  assert.equal(s.bytes, MODEL.length);
  assert.ok(s.parameters > 250000 && s.parameters < 350000, String(s.parameters));

  // HEARTH_MODELS_DIR is the default directory.
  const env = await hearth(['models', '--json'], { HEARTH_MODELS_DIR: dir });
  assert.equal(env.stdout, j.stdout);
  fs.rmSync(dir, { recursive: true });
});
