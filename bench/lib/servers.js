// bench/lib/servers.js — starting and stopping the servers the benches
// measure (bench/embeddings, bench/structured, bench/scoring).
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');

const freePort = () => new Promise((res) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
});

// A server in its own process group; its last 4 KB of stderr kept for errors.
function start(cmd, args) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  let exited = false;
  const done = new Promise((res) => p.on('exit', () => { exited = true; res(); }));
  p.stderr.on('data', (d) => { log = (log + d).slice(-4000); });
  return {
    log: () => log,
    exited: () => exited,
    stop: async () => {
      if (exited) return;
      try { process.kill(-p.pid, 'SIGTERM'); } catch {}
      await done;
    },
    kill: () => { if (!exited) try { process.kill(-p.pid, 'SIGKILL'); } catch {} },
  };
}

async function waitReady(url, srv, ms = 120000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (srv.exited()) throw new Error(`server exited before ready:\n${srv.log()}`);
    const r = await fetch(url).catch(() => null);
    if (r && r.status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} never became ready:\n${srv.log()}`);
}

module.exports = { freePort, start, waitReady };
