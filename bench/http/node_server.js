'use strict';
// bench/http/node_server.js — the plain Node.js `http` peer of bench/http/run.sh.
//
// node:cluster forks WORKERS processes (default 2) that share one listening
// port. GET /healthz answers {"status":"ok"}. POST /v1/chat/completions reads
// the body, JSON.parse()s it, runs validateChat() (hand-written, the same
// rules as chat_schema.json) and then answers with the status and body hearth
// gave for the same request (BENCH_POST_STATUS, BENCH_POST_BODY_FILE), so it
// does the same work hearth does: parse, validate, answer an error.
// A body that fails validation gets 400 with an OpenAI-shaped error.
//
// Environment: HOST, PORT, WORKERS, BENCH_POST_STATUS, BENCH_POST_BODY_FILE.
// NODE_CLUSTER_SCHED_POLICY (rr|none) is read by Node itself.

const cluster = require('node:cluster');
const http = require('node:http');
const fs = require('node:fs');

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number(process.env.PORT || 8080);
const WORKERS = Number(process.env.WORKERS || 2);
const MAX_BODY = 1 << 20;

if (cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  let stopping = false;
  cluster.on('exit', (w, code, sig) => {
    if (!stopping) console.error(`node_server: worker ${w.process.pid} died (${sig || code})`);
  });
  const stop = () => {
    stopping = true;
    for (const id in cluster.workers) cluster.workers[id].kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const POST_STATUS = Number(process.env.BENCH_POST_STATUS || 404);
  const POST_BODY = fs.readFileSync(process.env.BENCH_POST_BODY_FILE);
  const HEALTH = Buffer.from('{"status":"ok"}');

  const send = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  };
  const badRequest = (res, msg) => send(res, 400, Buffer.from(JSON.stringify(
    { error: { message: msg, type: 'invalid_request_error', param: null, code: null } })));

  const server = http.createServer((req, res) => {
    if (req.url === '/healthz' && req.method === 'GET') return send(res, 200, HEALTH);
    if (req.url === '/v1/chat/completions' && req.method === 'POST') {
      const chunks = [];
      let size = 0;
      req.on('data', (c) => {
        size += c.length;
        if (size > MAX_BODY) { send(res, 413, Buffer.from('{"error":{"message":"body too large","type":"invalid_request_error","param":null,"code":null}}')); req.destroy(); return; }
        chunks.push(c);
      });
      req.on('end', () => {
        if (res.writableEnded) return;
        let body;
        try {
          body = JSON.parse(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        } catch (e) {
          return badRequest(res, 'invalid JSON: ' + e.message);
        }
        const err = validateChat(body);
        if (err) return badRequest(res, err);
        send(res, POST_STATUS, POST_BODY);
      });
      return;
    }
    send(res, 404, Buffer.from('{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}}'));
  });
  server.keepAliveTimeout = 75000;
  server.listen(PORT, HOST);
}

// ---- validation: the rules of chat_schema.json, by hand -------------------

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);
const FORMATS = new Set(['text', 'json_object', 'json_schema']);
const CHOICES = new Set(['none', 'auto', 'required']);

function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
function absent(v) { return v === undefined || v === null; }

function optNumber(b, k, lo, hi) {
  const v = b[k];
  if (absent(v)) return null;
  if (typeof v !== 'number' || !(v >= lo && v <= hi)) return `${k}: must be a number in [${lo}, ${hi}]`;
  return null;
}
function optInt(b, k, lo, hi) {
  const v = b[k];
  if (absent(v)) return null;
  if (!Number.isInteger(v) || v < lo || v > hi) return `${k}: must be an integer in [${lo}, ${hi}]`;
  return null;
}
function optType(b, k, type) {
  const v = b[k];
  if (absent(v) || typeof v === type) return null;
  return `${k}: must be a ${type}`;
}

// Returns null when body is a valid chat request, else a message naming the field.
function validateChat(b) {
  if (!isObject(b)) return 'body: must be a JSON object';
  if (typeof b.model !== 'string' || b.model.length === 0 || b.model.length > 256) return 'model: must be a non-empty string';
  const msgs = b.messages;
  if (!Array.isArray(msgs) || msgs.length === 0) return 'messages: must be a non-empty array';
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    if (!isObject(m)) return `messages[${i}]: must be an object`;
    if (!ROLES.has(m.role)) return `messages[${i}].role: must be one of system, developer, user, assistant, tool`;
    const c = m.content;
    if (Array.isArray(c)) {
      if (c.length === 0) return `messages[${i}].content: must not be empty`;
      for (let j = 0; j < c.length; j++) {
        const p = c[j];
        if (!isObject(p) || p.type !== 'text') return `messages[${i}].content[${j}].type: must be "text"`;
        if (typeof p.text !== 'string') return `messages[${i}].content[${j}].text: must be a string`;
      }
    } else if (absent(c)) {
      // Only an assistant message that calls tools may leave its content out.
      if (m.role !== 'assistant' || absent(m.tool_calls)) return `messages[${i}].content: is required`;
    } else if (typeof c !== 'string') {
      return `messages[${i}].content: must be a string or an array`;
    }
    if (!absent(m.name) && typeof m.name !== 'string') return `messages[${i}].name: must be a string`;
    if (m.role === 'tool' ? typeof m.tool_call_id !== 'string'
                          : !absent(m.tool_call_id) && typeof m.tool_call_id !== 'string') return `messages[${i}].tool_call_id: must be a string`;
    if (!absent(m.tool_calls) && !Array.isArray(m.tool_calls)) return `messages[${i}].tool_calls: must be an array`;
  }
  let e;
  if ((e = optNumber(b, 'temperature', 0, 2))) return e;
  if ((e = optNumber(b, 'top_p', 0, 1))) return e;
  if ((e = optNumber(b, 'presence_penalty', -2, 2))) return e;
  if ((e = optNumber(b, 'frequency_penalty', -2, 2))) return e;
  if ((e = optInt(b, 'max_tokens', 1, Number.MAX_SAFE_INTEGER))) return e;
  if ((e = optInt(b, 'max_completion_tokens', 1, Number.MAX_SAFE_INTEGER))) return e;
  if ((e = optInt(b, 'n', 1, 128))) return e;
  if ((e = optInt(b, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))) return e;
  if ((e = optInt(b, 'top_logprobs', 0, 20))) return e;
  if ((e = optType(b, 'stream', 'boolean'))) return e;
  if ((e = optType(b, 'logprobs', 'boolean'))) return e;
  if ((e = optType(b, 'user', 'string'))) return e;
  const so = b.stream_options;
  if (!absent(so)) {
    if (!isObject(so)) return 'stream_options: must be an object';
    if (so.include_usage !== undefined && typeof so.include_usage !== 'boolean') return 'stream_options.include_usage: must be a boolean';
  }
  const stop = b.stop;
  if (!absent(stop) && typeof stop !== 'string') {
    if (!Array.isArray(stop) || stop.length > 4) return 'stop: must be a string or an array of at most 4 strings';
    for (let i = 0; i < stop.length; i++) if (typeof stop[i] !== 'string') return `stop[${i}]: must be a string`;
  }
  const lb = b.logit_bias;
  if (!absent(lb)) {
    if (!isObject(lb)) return 'logit_bias: must be an object';
    for (const k in lb) {
      const v = lb[k];
      if (typeof v !== 'number' || !(v >= -100 && v <= 100)) return `logit_bias.${k}: must be a number in [-100, 100]`;
    }
  }
  const rf = b.response_format;
  if (!absent(rf) && (!isObject(rf) || !FORMATS.has(rf.type))) return 'response_format.type: must be one of text, json_object, json_schema';
  const tools = b.tools;
  if (!absent(tools)) {
    if (!Array.isArray(tools)) return 'tools: must be an array';
    for (let i = 0; i < tools.length; i++) {
      const t = tools[i];
      if (!isObject(t) || t.type !== 'function') return `tools[${i}].type: must be "function"`;
      if (!isObject(t.function) || typeof t.function.name !== 'string' || t.function.name.length === 0) return `tools[${i}].function.name: must be a non-empty string`;
    }
  }
  const tc = b.tool_choice;
  if (!absent(tc) && !isObject(tc) && !CHOICES.has(tc)) return 'tool_choice: must be none, auto, required or an object';
  return null;
}
