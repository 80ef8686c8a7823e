// harness.js — starts a real hearth binary for a test and stops it after.
// Every server gets its own temporary data directory and port 0 (the OS
// picks a free port; hearth logs which).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.HEARTH_BIN || path.join(ROOT, 'hearth');

async function startHearth(args = [], { env = {}, cwd, noWaitReady = false } = {}) {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-test-'));
  const full = ['serve', '--port', '0', '--data', data, '--access-log', 'stdout', ...args];
  const proc = spawn(BIN, full, {
    cwd: cwd || ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  proc.stdout.on('data', (d) => { stdout += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hearth did not start:\n${stderr}`)), 10000);
    proc.stderr.on('data', (d) => {
      stderr += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`hearth exited ${code}:\n${stderr}`)); });
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  // Ready means the models are loaded too, as an orchestrator would wait.
  if (!noWaitReady) {
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
      if (r && r.status === 200) break;
      if (proc.exitCode !== null) break;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    data,
    proc,
    exited,
    stderr: () => stderr,
    stdout: () => stdout,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const r = await exited;
      fs.rmSync(data, { recursive: true, force: true });
      return r;
    },
  };
}

// Sends raw bytes on one connection and collects everything the server
// sends until it closes or `idleMs` passes without data.
function rawExchange(port, chunks, { idleMs = 400, gapMs = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = Buffer.alloc(0);
    let closed = false;
    let timer;
    const done = () => { clearTimeout(timer); sock.destroy(); resolve({ text: out.toString('latin1'), closed }); };
    const arm = () => { clearTimeout(timer); timer = setTimeout(done, idleMs); };
    sock.on('data', (d) => { out = Buffer.concat([out, d]); arm(); });
    sock.on('end', () => { closed = true; done(); });
    sock.on('error', (e) => { if (e.code === 'ECONNRESET' || e.code === 'EPIPE') { closed = true; done(); } else reject(e); });
    sock.on('connect', async () => {
      for (const c of [].concat(chunks)) {
        if (sock.destroyed) break;
        sock.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      arm();
    });
  });
}

// Splits a raw byte stream of HTTP/1.1 responses (Content-Length or
// chunked) into {status, headers, body} objects.
function parseResponses(text) {
  const out = [];
  let rest = text;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    rest = rest.slice(end + 4);
    let body = '';
    if (status === 100) { out.push({ status, headers, body }); continue; }
    if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = rest.slice(0, n);
      rest = rest.slice(n);
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const le = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, le), 16);
        rest = rest.slice(le + 2);
        if (size === 0) { rest = rest.slice(2); break; }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    }
    out.push({ status, headers, body });
  }
  return out;
}

module.exports = { startHearth, rawExchange, parseResponses, ROOT, BIN };
