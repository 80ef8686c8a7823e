'use strict';
// bench/http/fastify_server.js — the Fastify 4 peer of bench/http/run.sh.
//
// node:cluster forks WORKERS processes (default 2), each a Fastify instance
// with the logger off. GET /healthz answers {"status":"ok"} through a
// response schema (fast-json-stringify). POST /v1/chat/completions validates
// the body with chat_schema.json (Ajv, compiled once at start-up; type
// coercion off so "0.7" is not a number, as in hearth) and then answers with
// the status and body hearth gave for the same request (BENCH_POST_STATUS,
// BENCH_POST_BODY_FILE). A body that fails validation gets Fastify's 400.
//
// Environment: HOST, PORT, WORKERS, BENCH_POST_STATUS, BENCH_POST_BODY_FILE.

const cluster = require('node:cluster');
const fs = require('node:fs');
const path = require('node:path');

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number(process.env.PORT || 8080);
const WORKERS = Number(process.env.WORKERS || 2);

if (cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  let stopping = false;
  cluster.on('exit', (w, code, sig) => {
    if (!stopping) console.error(`fastify_server: worker ${w.process.pid} died (${sig || code})`);
  });
  const stop = () => {
    stopping = true;
    for (const id in cluster.workers) cluster.workers[id].kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const fastify = require('fastify')({
    logger: false,
    bodyLimit: 1 << 20,
    keepAliveTimeout: 75000,
    ajv: { customOptions: { allowUnionTypes: true, coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, 'chat_schema.json'), 'utf8'));
  delete schema.$comment;
  const POST_STATUS = Number(process.env.BENCH_POST_STATUS || 404);
  const POST_BODY = fs.readFileSync(process.env.BENCH_POST_BODY_FILE);

  fastify.get('/healthz', {
    schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } },
  }, async () => ({ status: 'ok' }));

  fastify.post('/v1/chat/completions', { schema: { body: schema } }, (req, reply) => {
    reply.code(POST_STATUS).type('application/json').send(POST_BODY);
  });

  fastify.listen({ host: HOST, port: PORT }).catch((e) => {
    console.error('fastify_server:', e);
    process.exit(1);
  });
}
