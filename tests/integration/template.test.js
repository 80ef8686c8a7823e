// template.test.js — `hearth template FILE.jinja CASE.json` on every case of
// tests/data/templates/cases.jsonl (real templates, rendered by Jinja2 as
// Hugging Face does): stdout is the expected prompt byte for byte, or the
// command exits 1 with the template's own raise_exception message.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ROOT, BIN } = require('./harness');

const DIR = path.join(ROOT, 'tests/data/templates');
const cases = fs.readFileSync(path.join(DIR, 'cases.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test(`hearth template reproduces all ${cases.length} cases`, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-tmpl-'));
  let rendered = 0, raised = 0;
  for (const c of cases) {
    const file = path.join(tmp, 'case.json');
    fs.writeFileSync(file, JSON.stringify(c));
    // strftime_now is fixed at the date the cases were rendered.
    const r = spawnSync(BIN, ['template', '--now', String(Date.UTC(2026, 0, 15) / 1000), path.join(DIR, c.template), file], { encoding: 'utf8' });
    if (c.error !== undefined) {
      assert.equal(r.status, 1, `${c.template} ${c.case} must raise`);
      assert.ok(r.stderr.includes(c.error), `${c.template} ${c.case}: ${r.stderr}`);
      raised++;
    } else {
      assert.equal(r.status, 0, `${c.template} ${c.case}: ${r.stderr}`);
      assert.equal(r.stdout, c.expected, `${c.template} ${c.case}`);
      rendered++;
    }
  }
  assert.ok(rendered > 100 && raised >= 1, `${rendered} rendered, ${raised} raised`);
  fs.rmSync(tmp, { recursive: true });
});

test('a template that does not compile is a clear error', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-tmpl-'));
  fs.writeFileSync(path.join(tmp, 'bad.jinja'), '{% for m in messages %}{{ m.content }');
  fs.writeFileSync(path.join(tmp, 'case.json'), JSON.stringify({ messages: [] }));
  const r = spawnSync(BIN, ['template', path.join(tmp, 'bad.jinja'), path.join(tmp, 'case.json')], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /line 1/);
  fs.rmSync(tmp, { recursive: true });
});

test('chat completions prompt the model with its chat template (--chat-template)', async () => {
  const { startHearth } = require('./harness');
  const tmpl = path.join(DIR, 'zephyr.jinja');
  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Once upon a time' }];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-tmpl-'));
  const file = path.join(tmp, 'case.json');
  fs.writeFileSync(file, JSON.stringify({ messages, add_generation_prompt: true, bos_token: '<s>', eos_token: '</s>' }));
  const prompt = spawnSync(BIN, ['template', tmpl, file], { encoding: 'utf8' }).stdout;
  const model = path.join(ROOT, 'models/stories260K.gguf');
  const ids = spawnSync(BIN, ['tokenize', '-m', model, '--parse-special', prompt], { encoding: 'utf8' }).stdout.trim().split(' ');
  const h = await startHearth(['-m', 'models/stories260K.gguf', '--chat-template', tmpl, '--access-log', 'off']);
  try {
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', messages, max_tokens: 1 }),
    });
    const body = await res.json();
    assert.equal(res.status, 200);
    // zephyr's text does not start with <s>: the model's BOS comes first.
    assert.equal(body.usage.prompt_tokens, ids.length + 1);
  } finally {
    await h.stop();
    fs.rmSync(tmp, { recursive: true });
  }
});
