// structured.test.js — response_format through the official `openai`
// client: "json_object" and "json_schema" constrain sampling so that the
// answer is JSON (and fits the schema, checked with Ajv), streamed or not,
// at any temperature, on the tiny story model (which knows nothing of JSON),
// with formats (date, date-time, uuid, email), patterns and numeric bounds,
// and on SmolLM2; schemas the automaton cannot enforce are a 400 naming
// the place; a constrained request does not disturb a free one beside it;
// tool_choice naming a function (or "required" with one tool) forces a
// call that fits its parameters, answered as tool_calls; with "auto" the
// model's own calls are found in its text; `hearth run
// --json-schema FILE` and `--json` constrain the command line's output the
// same way.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai');
const Ajv = require('ajv');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startHearth, ROOT, BIN } = require('./harness');

const TINY = 'stories260K';
const SMOL = 'smollm2-135m-instruct';
let h, client;
before(async () => {
  h = await startHearth(['-m', 'models/stories260K.gguf', '-m', 'models/smollm2-135m-instruct.gguf',
    '--slots', '2', '--access-log', 'off']);
  client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => { await h.stop(); });

const person = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 20 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    city: { enum: ['Paris', 'Rome', 'Oslo'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 8 }, maxItems: 3 },
    pet: { anyOf: [{ type: 'null' }, { $ref: '#/$defs/Pet' }] },
  },
  required: ['name', 'age', 'city', 'tags', 'pet'],
  additionalProperties: false,
  $defs: {
    Pet: {
      type: 'object',
      properties: { kind: { type: 'string', maxLength: 10 }, legs: { type: 'number', minimum: 0, maximum: 8 } },
      required: ['kind', 'legs'],
      additionalProperties: false,
    },
  },
};
const validate = new Ajv({ strict: false }).compile(person);
const jsonSchema = (schema) => ({ type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } });

test('json_object: the tiny model writes a JSON object, seeds repeat, streaming adds up', async () => {
  for (const seed of [1, 2, 3, 4]) {
    const req = { model: TINY, messages: [{ role: 'user', content: 'Once upon a time' }], temperature: 1.0, seed,
      max_tokens: 400, response_format: { type: 'json_object' } };
    const a = await client.chat.completions.create(req);
    const text = a.choices[0].message.content;
    if (a.choices[0].finish_reason === 'stop') {
      const v = JSON.parse(text);
      assert.equal(typeof v, 'object');
      assert.ok(v !== null && !Array.isArray(v));
    } else {
      assert.equal(a.choices[0].finish_reason, 'length');
      assert.equal(a.usage.completion_tokens, 400);
      assert.equal(text[0] === '{' || /^\s/.test(text), true);
    }
    const b = await client.chat.completions.create(req);
    assert.equal(b.choices[0].message.content, text, 'a seed repeats the constrained draw');
    let streamed = '', finish = null;
    for await (const chunk of await client.chat.completions.create({ ...req, stream: true })) {
      const c = chunk.choices[0];
      if (c && c.delta && c.delta.content) streamed += c.delta.content;
      if (c && c.finish_reason) finish = c.finish_reason;
    }
    assert.equal(streamed, text);
    assert.equal(finish, a.choices[0].finish_reason);
  }
});

test('json_schema: every answer fits the schema (tiny model, several temperatures)', async () => {
  let stopped = 0;
  for (const [temperature, seed] of [[0, 0], [0.7, 11], [1.0, 12], [1.5, 13], [1.0, 14], [1.2, 15]]) {
    const a = await client.chat.completions.create({ model: TINY, temperature, seed, max_tokens: 300,
      messages: [{ role: 'user', content: 'Tell me about a person.' }], response_format: jsonSchema(person) });
    const c = a.choices[0];
    if (c.finish_reason !== 'stop') continue; // cut by max_tokens: a prefix, checked below
    stopped++;
    const v = JSON.parse(c.message.content);
    assert.ok(validate(v), `${c.message.content}\n${JSON.stringify(validate.errors)}`);
  }
  assert.ok(stopped >= 3, `only ${stopped} of 6 answers completed within 300 tokens`);
});

test('n choices under one schema: each choice fits it, and each is its own draw', async () => {
  const a = await client.chat.completions.create({ model: TINY, temperature: 1.0, seed: 21, max_tokens: 300, n: 4,
    messages: [{ role: 'user', content: 'Tell me about a person.' }], response_format: jsonSchema(person) });
  assert.equal(a.choices.length, 4);
  const done = a.choices.filter((c) => c.finish_reason === 'stop');
  assert.ok(done.length >= 2, `only ${done.length} of 4 answers completed within 300 tokens`);
  for (const c of done) {
    const v = JSON.parse(c.message.content);
    assert.ok(validate(v), `${c.message.content}\n${JSON.stringify(validate.errors)}`);
  }
  assert.ok(new Set(a.choices.map((c) => c.message.content)).size > 1, 'four draws');
  // forced calls too, streamed: each choice's call comes under its index
  const calls = new Map();
  const stream = await client.chat.completions.create({ model: TINY, temperature: 1.0, seed: 5, max_tokens: 120, n: 3,
    stream: true, messages: [{ role: 'user', content: 'Pick a number.' }], tools: [digit], tool_choice: 'required' });
  for await (const chunk of stream)
    for (const ch of chunk.choices) for (const t of ch.delta.tool_calls || []) calls.set(ch.index, t);
  assert.deepEqual([...calls.keys()].sort(), [0, 1, 2]);
  for (const t of calls.values()) {
    const { n } = JSON.parse(t.function.arguments);
    assert.ok(Number.isInteger(n) && n >= 0 && n <= 9);
  }
});

// A discriminated union, as pydantic writes Union[Circle, Square]: two
// object shapes that both begin with '{', told apart only by their keys and
// the value of "kind"; the reader follows both until the text decides.
const shapes = {
  type: 'object',
  properties: { shapes: { type: 'array', minItems: 1, maxItems: 3, items: { anyOf: [{ $ref: '#/$defs/Circle' }, { $ref: '#/$defs/Square' }] } } },
  required: ['shapes'],
  additionalProperties: false,
  $defs: {
    Circle: { type: 'object', properties: { kind: { const: 'circle' }, radius: { type: 'number', minimum: 0, maximum: 100 } },
      required: ['kind', 'radius'], additionalProperties: false },
    Square: { type: 'object', properties: { kind: { const: 'square' }, side: { type: 'integer', minimum: 1, maximum: 100 }, label: { type: 'string', maxLength: 10 } },
      required: ['kind', 'side'], additionalProperties: false },
  },
};

test('json_schema: anyOf of two object shapes (a discriminated union) holds, tiny model and SmolLM2', async () => {
  const fits = new Ajv({ strict: false }).compile(shapes);
  let stopped = 0;
  for (const [temperature, seed] of [[0, 0], [0.8, 21], [1.0, 22], [1.2, 23], [1.0, 24], [1.5, 25]]) {
    const a = await client.chat.completions.create({ model: TINY, temperature, seed, max_tokens: 200,
      messages: [{ role: 'user', content: 'Draw shapes.' }], response_format: jsonSchema(shapes) });
    const c = a.choices[0];
    if (c.finish_reason !== 'stop') continue;
    stopped++;
    assert.ok(fits(JSON.parse(c.message.content)), `${c.message.content}\n${JSON.stringify(fits.errors)}`);
  }
  assert.ok(stopped >= 3, `only ${stopped} of 6 answers completed within 200 tokens`);
  const a = await client.chat.completions.create({ model: SMOL, temperature: 0, max_tokens: 120,
    messages: [{ role: 'user', content: 'List a circle of radius 2 and a square of side 3 as JSON.' }], response_format: jsonSchema(shapes) });
  const v = JSON.parse(a.choices[0].message.content);
  assert.ok(fits(v), `${a.choices[0].message.content}\n${JSON.stringify(fits.errors)}`);
});

test('json_schema: formats and bounds hold on the tiny model', async () => {
  const schema = {
    type: 'object',
    properties: {
      when: { type: 'string', format: 'date-time' },
      day: { type: 'string', format: 'date' },
      id: { type: 'string', format: 'uuid' },
      score: { type: 'integer', minimum: -10, maximum: 10 },
      ratio: { type: 'number', minimum: 0, maximum: 1 },
      code: { type: 'string', pattern: '^[A-Z]{3}-\\d{2,4}$' },
    },
    required: ['when', 'day', 'id', 'score', 'ratio', 'code'],
    additionalProperties: false,
  };
  let stopped = 0;
  for (const seed of [21, 22, 23, 24]) {
    const a = await client.chat.completions.create({ model: TINY, temperature: 1.0, seed, max_tokens: 300,
      messages: [{ role: 'user', content: 'When?' }], response_format: jsonSchema(schema) });
    if (a.choices[0].finish_reason !== 'stop') continue;
    stopped++;
    const v = JSON.parse(a.choices[0].message.content);
    assert.match(v.when, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/);
    assert.ok(!Number.isNaN(Date.parse(v.when)), v.when);
    assert.match(v.day, /^\d{4}-\d\d-\d\d$/);
    const [y, m, d] = v.day.split('-').map(Number);
    const back = new Date(Date.UTC(y, m - 1, d));
    assert.equal(back.getUTCDate(), d, `${v.day} is a real day`);
    assert.match(v.id, /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/);
    assert.ok(Number.isInteger(v.score) && v.score >= -10 && v.score <= 10, String(v.score));
    assert.ok(v.ratio >= 0 && v.ratio <= 1, String(v.ratio));
    assert.match(v.code, /^[A-Z]{3}-\d{2,4}$/);
  }
  assert.ok(stopped >= 2, `only ${stopped} of 4 answers completed within 300 tokens`);
});

test('json_schema: SmolLM2 fills a schema with a sensible answer', async () => {
  const schema = {
    type: 'object',
    properties: { capital: { type: 'string' }, country: { type: 'string' }, population_millions: { type: 'number' } },
    required: ['capital', 'country', 'population_millions'],
    additionalProperties: false,
  };
  const a = await client.chat.completions.create({ model: SMOL, temperature: 0, max_tokens: 80,
    messages: [{ role: 'user', content: 'What is the capital of France? Answer in JSON.' }],
    response_format: jsonSchema(schema) });
  assert.equal(a.choices[0].finish_reason, 'stop');
  const v = JSON.parse(a.choices[0].message.content);
  assert.deepEqual(Object.keys(v).sort(), ['capital', 'country', 'population_millions']);
  assert.equal(typeof v.population_millions, 'number');
  assert.match(v.capital, /Paris/);
  const card = await client.chat.completions.create({ model: SMOL, temperature: 0, max_tokens: 80,
    messages: [{ role: 'user', content: 'Make up a contact card for John Smith who works at Acme.' }],
    response_format: jsonSchema({
      type: 'object',
      properties: { name: { type: 'string' }, email: { type: 'string', format: 'email' },
        phone: { type: 'string', pattern: '^\\+?[0-9 -]{7,15}$' } },
      required: ['name', 'email', 'phone'],
      additionalProperties: false,
    }) });
  assert.equal(card.choices[0].finish_reason, 'stop');
  const c = JSON.parse(card.choices[0].message.content);
  assert.match(c.email, /^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$/);
  assert.match(c.phone, /^\+?[0-9 -]{7,15}$/);
  assert.match(c.name, /John/);
});

test('a free request beside a constrained one is untouched', async () => {
  const free = { model: TINY, messages: [{ role: 'user', content: 'The cat' }], temperature: 0, max_tokens: 40 };
  const alone = (await client.chat.completions.create(free)).choices[0].message.content;
  const [beside, constrained] = await Promise.all([
    client.chat.completions.create(free),
    client.chat.completions.create({ ...free, messages: [{ role: 'user', content: 'The dog' }], max_tokens: 200,
      response_format: { type: 'json_object' } }),
  ]);
  assert.equal(beside.choices[0].message.content, alone);
  assert.equal(constrained.choices[0].message.content.trimStart()[0], '{');
});

test('schemas that cannot be enforced are refused with their place', async () => {
  const cases = [
    [{ type: 'object', properties: { age: { type: 'integer', multipleOf: 2 } } }, /schema\.properties\.age: 'multipleOf' is not supported/],
    [{ type: 'object', properties: { t: { type: 'number', maximum: 0.5 } } }, /'maximum' is supported only as a whole number/],
    [{ type: 'object', properties: { s: { type: 'string', pattern: '(?<=a)b' } } }, /pattern: lookarounds/],
    [{ type: 'object', properties: { s: { type: 'string', format: 'ipv4' } } }, /format "ipv4" is not supported/],
    [{ type: 'array', items: {} }, /root must be an object/],
    [{ type: 'object', properties: { x: { oneOf: [{ type: 'object' }, { type: 'object' }] } } }, /oneOf alternatives must begin differently/],
    [{ type: 'object', properties: { x: { $ref: '#/$defs/Missing' } } }, /names no definition/],
  ];
  for (const [schema, re] of cases) {
    await assert.rejects(
      client.chat.completions.create({ model: TINY, messages: [{ role: 'user', content: 'x' }], response_format: jsonSchema(schema) }),
      (e) => e.status === 400 && e.param === 'response_format.json_schema.schema' && re.test(e.message),
    );
  }
  await assert.rejects(
    client.chat.completions.create({ model: TINY, messages: [{ role: 'user', content: 'x' }], response_format: { type: 'xml' } }),
    (e) => e.status === 400 && e.param === 'response_format.type',
  );
  await assert.rejects(
    client.chat.completions.create({ model: TINY, messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema' } }),
    (e) => e.status === 400 && /json_schema/.test(e.param),
  );
  // the server goes on serving
  const ok = await client.chat.completions.create({ model: TINY, messages: [{ role: 'user', content: 'x' }], max_tokens: 4 });
  assert.equal(ok.choices[0].message.role, 'assistant');
});

// Forced function calls: tool_choice naming a function (or "required" with
// one tool) makes the answer a call of it, fitting its parameters.
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 40 }, unit: { enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};
const digit = {
  type: 'function',
  function: {
    name: 'pick',
    parameters: { type: 'object', properties: { n: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['n'], additionalProperties: false },
  },
};

test('tool_choice naming a function: the answer is a call of it (SmolLM2, whole)', async () => {
  const a = await client.chat.completions.create({ model: SMOL, temperature: 0, max_tokens: 80,
    messages: [{ role: 'user', content: 'What is the weather in Paris, in celsius?' }],
    tools: [digit, weather], tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  const c = a.choices[0];
  assert.equal(c.finish_reason, 'tool_calls');
  assert.equal(c.message.content, null);
  assert.equal(c.message.tool_calls.length, 1);
  const call = c.message.tool_calls[0];
  assert.match(call.id, /^call_/);
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  const args = JSON.parse(call.function.arguments);
  const ok = new Ajv({ strict: false }).compile(weather.function.parameters);
  assert.ok(ok(args), call.function.arguments);
  // SmolLM2's template does not show tools; told of the function in the
  // system message, the model fills the arguments from the question
  assert.match(args.city, /Paris/);
  assert.equal(args.unit, 'celsius');
});

test('tool_choice "required" with one tool, streamed (tiny model): one delta carries the call', async () => {
  for (const seed of [1, 2, 3]) {
    let role = null, finish = null, text = '';
    const calls = [];
    const stream = await client.chat.completions.create({ model: TINY, temperature: 1.0, seed, max_tokens: 120, stream: true,
      messages: [{ role: 'user', content: 'Pick a number.' }], tools: [digit], tool_choice: 'required' });
    for await (const chunk of stream) {
      const ch = chunk.choices[0];
      if (!ch) continue;
      if (ch.delta.role) role = ch.delta.role;
      if (ch.delta.content) text += ch.delta.content;
      for (const t of ch.delta.tool_calls || []) calls.push(t);
      if (ch.finish_reason) finish = ch.finish_reason;
    }
    assert.equal(role, 'assistant');
    assert.equal(finish, 'tool_calls', text);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].index, 0);
    assert.equal(calls[0].function.name, 'pick');
    const { n } = JSON.parse(calls[0].function.arguments);
    assert.ok(Number.isInteger(n) && n >= 0 && n <= 9);
    assert.equal(text, '');
  }
});

test('tool_choice "required" with several tools: the name picks the arguments\' schema', async () => {
  const paint = {
    type: 'function',
    function: { name: 'paint', parameters: { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] } },
      required: ['color'], additionalProperties: false } },
  };
  const tools = [digit, paint];
  const fits = Object.fromEntries(tools.map((t) => [t.function.name, new Ajv({ strict: false }).compile(t.function.parameters)]));
  let calls = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const a = await client.chat.completions.create({ model: TINY, temperature: 1.2, seed, max_tokens: 120,
      messages: [{ role: 'user', content: 'Do something.' }], tools, tool_choice: 'required' });
    const c = a.choices[0];
    if (c.finish_reason !== 'tool_calls') continue;
    const call = c.message.tool_calls[0];
    assert.ok(call.function.name in fits, call.function.name);
    assert.ok(fits[call.function.name](JSON.parse(call.function.arguments)), `${call.function.name} ${call.function.arguments}`);
    calls++;
  }
  assert.ok(calls >= 8, `only ${calls} of 12 calls completed`); // which name wins is the model's; the unit test checks both
  // SmolLM2 calls one of them with fitting arguments too
  const a = await client.chat.completions.create({ model: SMOL, temperature: 0, max_tokens: 80,
    messages: [{ role: 'user', content: 'What is the weather in Rome, in fahrenheit?' }], tools: [digit, weather], tool_choice: 'required' });
  const call = a.choices[0].message.tool_calls[0];
  const tool = [digit, weather].find((t) => t.function.name === call.function.name);
  assert.ok(tool && new Ajv({ strict: false }).compile(tool.function.parameters)(JSON.parse(call.function.arguments)));
});

test('forced calls that cannot be made are refused; "auto" stays free text', async () => {
  const msg = [{ role: 'user', content: 'x' }];
  const refused = async (body, param, re) => assert.rejects(
    client.chat.completions.create({ model: TINY, messages: msg, max_tokens: 8, ...body }),
    (e) => e.status === 400 && e.param === param && re.test(e.message));
  // two tools of one name: which one a call means would be a guess, forced or not
  for (const tool_choice of ['required', 'auto'])
    await refused({ tools: [digit, { ...digit }], tool_choice }, 'tools[1].function.name', /is the name of an earlier tool too/);
  await refused({ tools: [digit], tool_choice: { type: 'function', function: { name: 'nope' } } },
    'tool_choice.function.name', /no tool is named "nope"/);
  await refused({ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'number', multipleOf: 3 } } } } }],
    tool_choice: 'required' }, 'tools[0].function.parameters', /parameters\.properties\.a: 'multipleOf' is not supported/);
  await refused({ tools: [digit], tool_choice: 'required', response_format: { type: 'json_object' } }, 'response_format', /forced tool call/);
  const free = await client.chat.completions.create({ model: TINY, messages: msg, max_tokens: 8, temperature: 0, tools: [digit], tool_choice: 'auto' });
  assert.equal(typeof free.choices[0].message.content, 'string');
  assert.equal(free.choices[0].message.tool_calls, undefined);
});

// tool_choice "auto" (the default with tools): the model may answer with
// calls, in the shape its training uses; hearth finds them in the text.
// SmolLM2's template shows no tools, so hearth tells it of them and of the
// <tool_call> shape, and shows its earlier calls in that shape: after three
// turns that called get_weather, greedy SmolLM2 calls it for Rome.
const cities = [['Paris', 18], ['London', 12], ['Berlin', 9]];
const history = cities.flatMap(([city, t], i) => [
  { role: 'user', content: `What is the weather in ${city}?` },
  { role: 'assistant', content: null, tool_calls: [{ id: `call_${i}`, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ city }) } }] },
  { role: 'tool', tool_call_id: `call_${i}`, content: JSON.stringify({ temperature: t }) },
  { role: 'assistant', content: `It is ${t} degrees in ${city}.` },
]);
const city = {
  type: 'function',
  function: { name: 'get_weather', description: 'Get the current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

test('tool_choice "auto": SmolLM2 calls when it chooses to, whole and streamed; otherwise text streams as it comes', async () => {
  const ask = { model: SMOL, temperature: 0, max_tokens: 60, tools: [city],
    messages: [...history, { role: 'user', content: 'What is the weather in Rome?' }] };
  const one = (await client.chat.completions.create(ask)).choices[0];
  assert.equal(one.finish_reason, 'tool_calls', one.message.content);
  assert.equal(one.message.content, null);
  assert.equal(one.message.tool_calls.length, 1);
  assert.equal(one.message.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(one.message.tool_calls[0].function.arguments), { city: 'Rome' });
  let text = '', finish = null;
  const calls = [];
  for await (const chunk of await client.chat.completions.create({ ...ask, stream: true })) {
    const ch = chunk.choices[0];
    if (!ch) continue;
    if (ch.delta.content) text += ch.delta.content;
    for (const t of ch.delta.tool_calls || []) calls.push(t);
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  assert.equal(text, '', 'no piece of the call went out as text');
  assert.equal(finish, 'tool_calls');
  assert.deepEqual(calls.map((c) => [c.index, c.function.name, JSON.parse(c.function.arguments)]), [[0, 'get_weather', { city: 'Rome' }]]);
  // earlier turns that said something before calling: so does the answer,
  // as content beside the call; a stream sends that text as it comes
  const talky = { ...ask, messages: ask.messages.map((m) => (m.tool_calls ? { ...m, content: 'Let me check the weather.' } : m)) };
  const said = (await client.chat.completions.create(talky)).choices[0];
  assert.equal(said.finish_reason, 'tool_calls');
  assert.equal(said.message.content, 'Let me check the weather.');
  assert.deepEqual(JSON.parse(said.message.tool_calls[0].function.arguments), { city: 'Rome' });
  const saidPieces = [];
  let saidCall = null;
  for await (const chunk of await client.chat.completions.create({ ...talky, stream: true })) {
    const ch = chunk.choices[0];
    if (ch?.delta.content) saidPieces.push(ch.delta.content);
    if (ch?.delta.tool_calls) saidCall = ch.delta.tool_calls[0];
  }
  assert.equal(saidPieces.join('').trim(), 'Let me check the weather.');
  assert.ok(saidPieces.length > 3, `the text came in ${saidPieces.length} pieces`);
  assert.equal(saidCall.function.name, 'get_weather');
  // the same conversation with tool_choice "none": text, no call parsed
  const none = (await client.chat.completions.create({ ...ask, tool_choice: 'none' })).choices[0];
  assert.equal(none.message.tool_calls, undefined);
  assert.equal(typeof none.message.content, 'string');
  assert.notEqual(none.finish_reason, 'tool_calls');
  // a question the model answers itself: text, streamed token by token
  const plain = { model: SMOL, temperature: 0, max_tokens: 40, tools: [city],
    messages: [{ role: 'user', content: 'What is the capital of France?' }] };
  const answer = (await client.chat.completions.create(plain)).choices[0];
  assert.equal(answer.message.tool_calls, undefined);
  assert.ok(answer.message.content.length > 0);
  const pieces = [], logprobs = [];
  for await (const chunk of await client.chat.completions.create({ ...plain, stream: true, logprobs: true })) {
    if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
    logprobs.push(...(chunk.choices[0]?.logprobs?.content || []));
  }
  assert.equal(pieces.join(''), answer.message.content);
  assert.ok(pieces.length > 5, `the text came in ${pieces.length} pieces`);
  // every token keeps its logprob, also those held back for a moment
  const whole = (await client.chat.completions.create({ ...plain, logprobs: true })).choices[0].logprobs.content;
  assert.deepEqual(logprobs.map((l) => l.token), whole.map((l) => l.token));
});

// A follow-up without tools (the calls were answered, the client sends
// none now): the earlier calls still reach the model, in the same shape,
// so that the tool messages answer something it can see.
test('earlier tool_calls are shown to a template without tools, also when the request brings no tools', async () => {
  const post = async (route, body) => {
    const r = await fetch(`${h.url}/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200);
    return r.json();
  };
  const prompt = async (extra) => {
    const t = await post('tokenize', { model: SMOL, messages: [...history, { role: 'user', content: 'Thanks!' }], ...extra });
    return (await post('detokenize', { model: SMOL, tokens: t.tokens })).prompt;
  };
  for (const text of [await prompt({}), await prompt({ tools: [city] })]) {
    for (const [c, t] of cities) {
      assert.ok(text.includes(`<tool_call>{"name": "get_weather", "arguments": {"city":"${c}"}}</tool_call>`), text);
      assert.ok(text.includes(`tool\n{"temperature":${t}}`), text);
    }
  }
});

test('hearth run --json-schema / --json: the command line\'s output fits, refusals say why', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-run-json-'));
  const file = (name, text) => { const p = path.join(dir, name); fs.writeFileSync(p, text); return p; };
  const schemaPath = file('person.json', JSON.stringify(person));
  const run = (args) => spawnSync(BIN, ['run', '-m', path.join(ROOT, 'models/stories260K.gguf'), '-p', 'Once upon a time',
    '-t', '1', ...args], { encoding: 'utf8' });
  const validate = new Ajv({ strict: false }).compile(person);
  for (const [seed, temp] of [[1, '0.8'], [2, '1.0'], [3, '1.3']]) {
    const r = run(['--json-schema', schemaPath, '-n', '400', '--seed', String(seed), '--temp', temp]);
    assert.equal(r.status, 0, r.stderr);
    const v = JSON.parse(r.stdout);
    assert.ok(validate(v), `${r.stdout}: ${JSON.stringify(validate.errors)}`);
  }
  // --json: SmolLM2 asked in its chat format closes its object well within the budget
  const any = spawnSync(BIN, ['run', '-m', path.join(ROOT, 'models/smollm2-135m-instruct.gguf'), '--parse-special',
    '-p', '<|im_start|>user\nDescribe a cat as a JSON object with its name and age.<|im_end|>\n<|im_start|>assistant\n',
    '-n', '100', '--temp', '0', '--json'], { encoding: 'utf8' });
  assert.equal(any.status, 0, any.stderr);
  const obj = JSON.parse(any.stdout);
  assert.equal(typeof obj, 'object');
  assert.ok(obj !== null && !Array.isArray(obj));
  assert.equal(typeof obj.name, 'string', any.stdout);
  // too few tokens: the output is not whole JSON, and the exit status says so
  const cut = run(['--json', '-n', '3', '--temp', '0']);
  assert.equal(cut.status, 1);
  assert.match(cut.stderr, /JSON is incomplete after 3 tokens/);
  assert.throws(() => JSON.parse(cut.stdout));
  const refused = run(['--json-schema', file('bad.json', '{"type":"object","properties":{"x":{"type":"number","multipleOf":3}}}')]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /properties\.x: 'multipleOf' is not supported/);
  const broken = run(['--json-schema', file('broken.json', '{"type":')]);
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /broken\.json: unexpected end of input/);
  const missing = run(['--json-schema', path.join(dir, 'absent.json')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read .*absent\.json/);
  fs.rmSync(dir, { recursive: true });
});

test('stop strings do not cut a constrained answer; a named call among more than 64 tools', async () => {
  // "," and "\"" occur in almost every JSON object: under a constraint the
  // answer ends at its own closing brace, not at a stop string inside it
  for (const seed of [1, 2]) {
    const a = await client.chat.completions.create({ model: TINY, temperature: 1.0, seed, max_tokens: 300,
      messages: [{ role: 'user', content: 'Once upon a time' }], stop: [',', '"'],
      response_format: { type: 'json_schema', json_schema: { name: 'p', schema: person } } });
    if (a.choices[0].finish_reason === 'stop') {
      const v = JSON.parse(a.choices[0].message.content);
      assert.ok(new Ajv({ strict: false }).compile(person)(v), a.choices[0].message.content);
    } else {
      assert.equal(a.choices[0].finish_reason, 'length');
      assert.equal(a.usage.completion_tokens, 300);
    }
  }
  const tools = [];
  for (let i = 0; i < 70; i++) {
    tools.push({ type: 'function', function: { name: `tool_${i}`, parameters: { type: 'object',
      properties: { n: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['n'], additionalProperties: false } } });
  }
  const r = await client.chat.completions.create({ model: TINY, temperature: 0, max_tokens: 60,
    messages: [{ role: 'user', content: 'Pick a number.' }], tools, tool_choice: { type: 'function', function: { name: 'tool_66' } } });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(r.choices[0].message.tool_calls[0].function.name, 'tool_66');
  const { n } = JSON.parse(r.choices[0].message.tool_calls[0].function.arguments);
  assert.ok(Number.isInteger(n) && n >= 0 && n <= 9);
  await assert.rejects(client.chat.completions.create({ model: TINY, max_tokens: 60,
    messages: [{ role: 'user', content: 'Pick a number.' }], tools, tool_choice: 'required' }),
  (e) => e.status === 400 && /at most 64 tools/.test(e.message));
});
