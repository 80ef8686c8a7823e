// tokenizer_hf.test.js — `hearth tokenize` on SmolLM2-135M-Instruct
// (models/smollm2-135m-instruct.gguf, installed by scripts/install.sh) against
// the model's real Hugging Face tokenizer (the `tokenizers` package) on the
// 1,525 lines of tests/data/tokenizer/smollm2_lines.jsonl: prose in some
// forty languages and scripts, code, numbers of every shape, emoji sequences,
// odd white space and control characters, special-token texts and their
// look-alikes. The reference, tests/data/tokenizer/smollm2_hf.jsonl, was
// written by tools/tokenizer_reference.py (see the README there).
//
// Modes compared:
//   hearth tokenize --parse-special      = HF encode(text, add_special_tokens=False):
//                                          "<|im_start|>" in the text is token 1
//   hearth tokenize (no --parse-special) = the same with encode_special_tokens=True:
//                                          "<|im_start|>" is tokenized as text
// Every line must give exactly the reference ids. All lines go through one
// process per mode (`--jsonl`, one JSON string per line), so the test takes
// well under a second; a few lines are also checked through the one-TEXT
// form, which must agree with --jsonl.
//
// Skipped, saying so, only when the model file is absent.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ROOT, BIN } = require('./harness');

const DIR = path.join(ROOT, 'tests/data/tokenizer');
const LINES = path.join(DIR, 'smollm2_lines.jsonl');
const MODEL = path.join(ROOT, 'models', 'smollm2-135m-instruct.gguf');
const readJsonl = (file) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
const lines = readJsonl(LINES);
const refs = readJsonl(path.join(DIR, 'smollm2_hf.jsonl'));
const skip = fs.existsSync(MODEL) ? false
  : 'models/smollm2-135m-instruct.gguf is absent (scripts/install.sh installs it)';

// A text for a message: cut to 80 characters, invisible characters (controls,
// format characters, separators other than ' ', unassigned) as \u{...}.
const show = (s) => `"${(s.length > 80 ? `${s.slice(0, 77)}...` : s).replace(
  /[\p{C}\p{Z}"\\]/gu, (c) => (c === ' ' ? c : c === '"' || c === '\\' ? `\\${c}`
    : `\\u{${c.codePointAt(0).toString(16)}}`))}"`;

function tokenize(args, input) {
  const r = spawnSync(BIN, ['tokenize', '-m', MODEL, ...args],
    { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `hearth tokenize ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const parseIds = (line) => line.split(' ').filter((x) => x !== '').map(Number);

// Every line of the lines file through --jsonl; asserts one output line per
// input line and equal ids, listing the first mismatches with their text.
function checkAll(flags, want) {
  const out = tokenize([...flags, '--jsonl', LINES]).split('\n');
  assert.equal(out.pop(), '', 'output ends with a newline');
  assert.equal(out.length, refs.length, `${out.length} lines of ids for ${refs.length} texts`);
  const bad = [];
  refs.forEach((r, i) => {
    const ids = parseIds(out[i]);
    const w = want(r);
    if (ids.length === w.length && ids.every((x, k) => x === w[k])) return;
    let k = 0;
    while (k < ids.length && ids[k] === w[k]) k++;
    bad.push(`  line ${i + 1} ${show(r.text)}: first difference at id ${k}: ` +
      `hearth ${JSON.stringify(ids.slice(k, k + 8))} HF ${JSON.stringify(w.slice(k, k + 8))}`);
  });
  assert.equal(bad.length, 0, `${bad.length} of ${refs.length} lines tokenize differently ` +
    `(hearth tokenize ${flags.join(' ') || '(no flags)'}):\n${bad.slice(0, 20).join('\n')}` +
    `${bad.length > 20 ? `\n  ... and ${bad.length - 20} more` : ''}`);
}

test('the reference data is sane and varied', () => {
  assert.ok(lines.length >= 1000, `only ${lines.length} lines`);
  assert.equal(refs.length, lines.length, 'one reference per line');
  refs.forEach((r, i) => assert.equal(r.text, lines[i], `line ${i + 1} is the same text in both files`));
  assert.equal(new Set(lines).size, lines.length, 'no line twice');
  const has = (re, what, min = 5) => {
    const n = lines.filter((l) => re.test(l)).length;
    assert.ok(n >= min, `only ${n} lines with ${what}`);
  };
  has(/\p{Script=Han}/u, 'CJK ideographs');
  has(/\p{Script=Hiragana}|\p{Script=Katakana}/u, 'kana');
  has(/\p{Script=Hangul}/u, 'Hangul');
  has(/\p{Script=Cyrillic}/u, 'Cyrillic');
  has(/\p{Script=Arabic}/u, 'Arabic');
  has(/\p{Script=Devanagari}/u, 'Devanagari');
  has(/\u200d/u, 'ZWJ sequences');
  has(/\p{Emoji_Modifier}/u, 'skin tones');
  has(/\p{Regional_Indicator}{2}/u, 'flags');
  has(/\d{20,}/u, 'long digit runs');
  has(/\d+\.\d+/u, 'decimals');
  has(/\d{4}-\d\d-\d\d/u, 'ISO dates');
  has(/\t/u, 'tabs');
  has(/\r/u, 'CRs');
  has(/\n/u, 'LFs');
  has(/ {3,}/u, 'runs of spaces');
  has(/^ /u, 'leading spaces');
  has(/ $/u, 'trailing spaces');
  has(/\u00a0/u, 'non-breaking spaces');
  has(/[\u200b-\u200d\u2060\ufeff]/u, 'zero-width characters');
  has(/<\|im_start\|>/u, 'special-token texts');
  has(/<\|im_start(?!\|>)|<\|IM_START\|>/u, 'special-token look-alikes', 2);
  has(/[\u0004\u0006\u0013\u0014\u0016\u001d]|[\u{40000}-\u{bffff}]/u, 'bytes SmolLM2 has no token for');
  assert.ok(refs.some((r) => r.ids_no_special), 'no line where special-token parsing matters');
});

test('hearth tokenize --parse-special gives the Hugging Face ids on every line', { skip }, () => {
  checkAll(['--parse-special'], (r) => r.ids);
});

test('hearth tokenize without --parse-special gives HF\'s ids with special tokens read as text', { skip }, () => {
  checkAll([], (r) => r.ids_no_special || r.ids);
});

test('the one-TEXT form agrees with --jsonl', { skip }, () => {
  // argv cannot carry NUL; every 50th other line is enough to tie the two forms
  const some = refs.filter((r, i) => i % 50 === 0 && !r.text.includes('\0') && r.text !== '');
  for (const r of some) {
    const ids = parseIds(tokenize(['--parse-special', '--', r.text]).replace(/\n$/, ''));
    assert.deepEqual(ids, r.ids, show(r.text));
  }
});

test('hearth tokenize --jsonl reads stdin and names the bad line', { skip }, () => {
  assert.equal(tokenize(['--jsonl', '-'], '"Hello world"\n""\n"a\\u0000b"\n'), '19556 905\n\n81 190 82\n');
  const r = spawnSync(BIN, ['tokenize', '-m', MODEL, '--jsonl', '-'],
    { encoding: 'utf8', input: '"ok"\n{"text": "x"}\n' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /-:2: expected a JSON string, got object/);
  const r2 = spawnSync(BIN, ['tokenize', '-m', MODEL, '--jsonl', '-'], { encoding: 'utf8', input: '"ok"\n"unterminated\n' });
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /-:2: /);
});
