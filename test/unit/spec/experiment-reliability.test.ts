/**
 * Reliability matrix (docs/reliability.md), experiment files: each row of the table is one test
 * here or in experiment.test.ts, and property-based fuzzing of the parser (fast-check): whatever
 * the text, parseExperiment returns an experiment or throws the project's ValidationError, and
 * never lets a sweep or `--set` path reach Object.prototype.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defaultExperiment, expandSweep, parseExperiment, parseOverride, setPath, validateExperiment } from '../../../src/spec/experiment';
import { ValidationError } from '../../../src/spec/errors';
import { decodeJsonBytes, locateJsonError, parseJsonText } from '../../../src/spec/json-text';

const FUZZ_RUNS = Number(process.env.EE_FUZZ_RUNS ?? 300);
const valid = () => JSON.parse(JSON.stringify(defaultExperiment('resnet18', 't', 'synthetic')));
const text = (mutate: (x: any) => void) => { const x = valid(); mutate(x); return JSON.stringify(x, null, 2); };
const fails = (src: string, pattern: RegExp) =>
  assert.throws(() => parseExperiment(src, 'e.exits.json'), (e: unknown) => {
    assert.ok(e instanceof ValidationError, `not a ValidationError: ${e}`);
    assert.match((e as Error).message, pattern);
    return true;
  });

/** parseExperiment must return or throw ValidationError; anything else is a bug. */
function onlyValidationErrors(src: string): void {
  try {
    parseExperiment(src, 'fuzz.exits.json');
  } catch (e) {
    if (!(e instanceof ValidationError)) throw new Error(`parseExperiment threw ${(e as Error)?.name}: ${(e as Error)?.message}\ninput: ${src.slice(0, 500)}`, { cause: e });
    assert.ok(e.message.startsWith('fuzz.exits.json'), `message does not name the file: ${e.message}`);
  }
}

test('invalid JSON: the error names the file, line and column', () => {
  const at = (src: string, message: string) => fails(src, new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  at('{\n  "backbone": {\n    "name": "resnet18",\n  }\n}', "e.exits.json: invalid JSON at line 4, column 3: a trailing comma before '}' (remove the comma)");
  at('{"backbone": {"name": "resnet18"}', 'e.exits.json: invalid JSON at line 1, column 34: unexpected end of file: an object is not closed with }');
  at('', 'e.exits.json: invalid JSON at line 1, column 1: the file is empty');
  at('{"backbone": {"name": "resnet18"}}\n\n  garbage', 'e.exits.json: invalid JSON at line 3, column 3: unexpected text after the end of the JSON value');
  // the errors V8 reports without a position (and with the whole file quoted) are located too
  at('{"backbone": {"name": "resnet18", "width": tru}}', 'e.exits.json: invalid JSON at line 1, column 44: unexpected word tru (strings need double quotes)');
  at('{"method": {"lambda": NaN}}', 'e.exits.json: invalid JSON at line 1, column 23: NaN is not a JSON value; write a number (or null)');
  at("{'backbone': 1}", 'e.exits.json: invalid JSON at line 1, column 2: strings and names need double quotes ("…"), not single quotes');
  at('{\n  /* a note */\n}', 'e.exits.json: invalid JSON at line 2, column 3: comments (// … or /* … */) are not allowed in JSON; remove them');
  at('{"training": {"lr": .5}}', 'e.exits.json: invalid JSON at line 1, column 21: a number needs a digit before the point (0.5, not .5)');
  at('{"training": {"epochs": 010}}', 'e.exits.json: invalid JSON at line 1, column 25: invalid number "010" (no leading zeros)');
  // a BOM character (an editor's text) is dropped, not an error
  assert.equal(parseExperiment('\uFEFF' + JSON.stringify(valid()), 'e.exits.json').name, 't');
});

test('the bytes of an experiment file: a UTF-8 BOM is dropped and said, UTF-16/UTF-32, invalid UTF-8 and binary files are named', () => {
  const body = '{"name": "x"}';
  const decode = (b: Buffer) => decodeJsonBytes(b, 'e.exits.json');
  assert.deepEqual(decode(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)])), { text: body, notes: ['e.exits.json: starts with a UTF-8 byte-order mark (BOM); it was ignored'] });
  assert.deepEqual(decode(Buffer.from('{"name": "café ☕"}')), { text: '{"name": "café ☕"}', notes: [] });
  const utf8 = 'save it as UTF-8 (in VS Code: "Save with Encoding" → UTF-8)';
  const refused: [Buffer, string][] = [
    [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')]), `is UTF-16 (little-endian) text, with a byte-order mark; JSON files must be UTF-8: ${utf8}`],
    [Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(body, 'utf16le').swap16()]), `is UTF-16 (big-endian) text, with a byte-order mark; JSON files must be UTF-8: ${utf8}`],
    [Buffer.from(body, 'utf16le'), `is UTF-16 (little-endian) text; JSON files must be UTF-8: ${utf8}`],
    [Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.from('{\0\0\0', 'latin1')]), `is UTF-32 (little-endian) text; JSON files must be UTF-8: ${utf8}`],
    [Buffer.from('{\n "name": "na\xefve"}', 'latin1'), `is not valid UTF-8 at line 2, column 13 (byte 0xef; perhaps Latin-1 or Windows-1252): ${utf8}`],
    [Buffer.from([0x7b, 0x0a, 0x00, 0x01]), 'is not a text file (a zero byte at offset 2); is it the right file?'],
    // an overlong encoding and a lone surrogate are not UTF-8 either
    [Buffer.from([0x7b, 0xc0, 0xaf, 0x7d]), `is not valid UTF-8 at line 1, column 2 (byte 0xc0; perhaps Latin-1 or Windows-1252): ${utf8}`],
    [Buffer.from([0x7b, 0xed, 0xa0, 0x80, 0x7d]), `is not valid UTF-8 at line 1, column 2 (byte 0xed; perhaps Latin-1 or Windows-1252): ${utf8}`],
  ];
  for (const [bytes, what] of refused) {
    assert.throws(() => decode(bytes), (e: Error) => { assert.ok(e instanceof ValidationError); assert.equal(e.message, `e.exits.json: ${what}`); return true; });
  }
});

test('fuzz: our JSON scanner agrees with JSON.parse on every text, and every invalid text gets a line and column within it (never the whole file quoted)', () => {
  const junk = fc.array(fc.constantFrom('{', '}', '[', ']', ',', ':', '"', "'", '1', '0', '-', '.', 'e', '+', 'true', 'tru', 'null', 'NaN', '//', '/*', '*/', '\\', '\n', ' ', '"a"', '\u0000', '\u00e9', '\uFEFF'), { maxLength: 30 }).map((a) => a.join(''));
  fc.assert(fc.property(fc.oneof(junk, fc.string({ maxLength: 60 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v, null, 1))), (text) => {
    let valid = true;
    try { JSON.parse(text); } catch { valid = false; }
    assert.equal(locateJsonError(text) === null, valid, `scanner and JSON.parse disagree on ${JSON.stringify(text)}`);
    if (valid || text.charCodeAt(0) === 0xfeff) return;
    assert.throws(() => parseJsonText(text, 'f.json'), (e: Error) => {
      const m = /^f\.json: invalid JSON at line (\d+), column (\d+): (.+)$/s.exec(e.message);
      assert.ok(m, e.message);
      const lines = text.split('\n');
      assert.ok(Number(m[1]) <= lines.length && Number(m[2]) <= lines[Number(m[1]) - 1].length + 1, `${e.message} is outside ${JSON.stringify(text)}`);
      assert.ok(m[3].length < 120, `message too long: ${m[3]}`);
      return true;
    });
  }), { numRuns: FUZZ_RUNS * 3, includeErrorInReport: true });
});

test('wrong types name the JSON path and the expected type', () => {
  fails(text((x) => { x.training.epochs = 'ten'; }), /training\.epochs: must be integer, got string \("ten"\)/);
  fails(text((x) => { x.backbone.width = [1]; }), /backbone\.width: must be number, got array/);
  fails(text((x) => { x.exits = { point: 'block2' }; }), /exits: must be array, got object/);
  fails(text((x) => { x.training.batchSize = 2.5; }), /training\.batchSize: must be integer, got number \(2\.5\)/);
  fails('[1, 2]', /experiment: must be a JSON object/);
  fails('null', /experiment: must be a JSON object/);
});

test('unknown fields are errors listing the allowed ones, also for names Object.prototype has', () => {
  fails(text((x) => { x.training.learningRate = 0.1; }), /training\.learningRate: unknown field; allowed: epochs, batchSize/);
  fails(text((x) => { x.exitz = []; }), /exitz: unknown field/);
  for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
    fails(text((x) => { Object.defineProperty(x.training, key, { value: 1, enumerable: true }); }), new RegExp(`training\\.${key}: unknown field`));
  }
});

test('missing required fields name the path', () => {
  fails(text((x) => { delete x.backbone; }), /e\.exits\.json: backbone: missing required field/);
  fails(text((x) => { delete x.backbone.name; }), /backbone\.name: missing required field/);
  fails(text((x) => { delete x.exits[0].point; }), /exits\[0\]\.point: missing required field/);
});

test('out-of-range values: λ < 0, width ≤ 0, batch size 0, epochs 0, τ outside [0, 1]', () => {
  fails(text((x) => { x.method.lambda = -0.5; }), /method\.lambda: must be ≥ 0, got -0\.5/);
  fails(text((x) => { x.backbone.width = 0; }), /backbone\.width: must be > 0, got 0/);
  fails(text((x) => { x.backbone.width = -1; }), /backbone\.width: must be > 0, got -1/);
  fails(text((x) => { x.training.batchSize = 0; }), /training\.batchSize: must be ≥ 1, got 0/);
  fails(text((x) => { x.training.epochs = 0; }), /training\.epochs: must be ≥ 1, got 0/);
  fails(text((x) => { x.evaluation.threshold = 1.01; }), /evaluation\.threshold: must be ≤ 1, got 1\.01/);
  fails(text((x) => { x.evaluation.threshold = -0.01; }), /evaluation\.threshold: must be ≥ 0, got -0\.01/);
  fails(text((x) => { x.evaluation.threshold = [0.5, 2, 0.5]; }), /evaluation\.threshold\[1\]: must be ≤ 1, got 2/);
  // the boundaries themselves are valid
  assert.equal(parseExperiment(text((x) => { x.evaluation.threshold = [0, 1, 0.5]; x.method.lambda = 0; })).method.lambda, 0);
});

test('an exit at a point the backbone lacks lists the points it has', () => {
  fails(text((x) => { x.exits[0].point = 'conv4'; }), /exits\[0\]\.point: "conv4" is not a point of resnet18; allowed: block1, block2/);
  fails(text((x) => { x.backbone = { name: 'alexnet', width: 0.125 }; x.exits = [{ point: 'block2' }]; }), /exits\[0\]\.point: "block2" is not a point of alexnet; allowed: conv1/);
});

test('duplicate exits at one point are an error naming the second', () => {
  fails(text((x) => { x.exits = [{ point: 'block2' }, { point: 'block4' }, { point: 'block2' }]; x.evaluation.threshold = 0.5; }), /exits\[2\]\.point: duplicate exit at "block2"/);
});

test('a sweep that expands to zero runs is an error, not an empty group', () => {
  fails(text((x) => { x.sweep = {}; }), /sweep: empty/);
  fails(text((x) => { x.sweep = { 'method.lambda': [] }; }), /sweep\.method\.lambda: needs at least 1 item/);
  fails(text((x) => { x.sweep = { 'method.lambda': [0.1], 'training.seed': [] }; }), /sweep\.training\.seed: needs at least 1 item/);
  // expandSweep guards the same on an experiment built in code
  const x = validateExperiment(valid());
  assert.throws(() => expandSweep({ ...x, sweep: { 'method.lambda': [] } }), /expands to zero runs/);
});

test('sweep and --set paths cannot reach Object.prototype', () => {
  const probe = '__eesPolluted';
  for (const p of [`__proto__.${probe}`, `constructor.prototype.${probe}`, `method.__proto__.${probe}`, `exits[0].constructor.prototype.${probe}`]) {
    fails(text((x) => { x.sweep = { [p]: [1] }; }), /sweep\.|__proto__|constructor|prototype/);
    assert.throws(() => setPath(valid(), p, 1), ValidationError);
    assert.throws(() => { const o = parseOverride(`${p}=1`); setPath(valid(), o.path, o.value); }, ValidationError);
  }
  assert.equal(({} as Record<string, unknown>)[probe], undefined, 'Object.prototype was polluted');
  assert.throws(() => setPath(valid(), '__proto__.x', 1), (e: Error) => e.message === '__proto__.x: "__proto__" is not a field of an experiment');
});

// ---- property-based fuzzing -----------------------------------------------------------------


test('fuzz: arbitrary JSON values only ever give a ValidationError', () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => onlyValidationErrors(JSON.stringify(v))), { numRuns: FUZZ_RUNS, includeErrorInReport: true });
});

test('fuzz: arbitrary strings (and JSON-ish junk) only ever give a ValidationError', () => {
  const junk = fc.array(fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '1', '-', 'e', 'true', 'null', '\n', ' ', '"backbone"', '\\u0000', '\u2028'), { maxLength: 40 }).map((a) => a.join(''));
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 }), junk), onlyValidationErrors), { numRuns: FUZZ_RUNS, includeErrorInReport: true });
});

/** Paths into the default experiment: where a mutation lands. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

test('fuzz: a valid experiment with one field replaced, removed or added only ever gives a ValidationError', () => {
  const base = valid();
  base.sweep = { 'method.lambda': [0.1, 1] };
  const all = paths(base).filter((p) => p.length > 0);
  const special = fc.constantFrom<unknown>(0, -1, 1e308, -0, 0.5, 1, 2, 4097, '', 'block2', 'resnet18', 'proposed', null, true, [], {}, [0.5], { point: 'block2' }, '__proto__', 'constructor');
  const mutation = fc.record({
    at: fc.constantFrom(...all),
    op: fc.constantFrom('set', 'delete', 'add'),
    value: fc.oneof(special, fc.jsonValue({ maxDepth: 2 })),
    key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'sweep', 'point', 'head', 'x'), fc.string({ maxLength: 8 })),
  });
  fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
    const x = JSON.parse(JSON.stringify(base));
    for (const m of muts) {
      let parent: any = x;
      for (const k of m.at.slice(0, -1)) { if (parent === null || typeof parent !== 'object') break; parent = parent[k]; }
      if (parent === null || typeof parent !== 'object') continue;
      const last = m.at[m.at.length - 1];
      if (m.op === 'set') parent[last] = m.value;
      else if (m.op === 'delete') delete parent[last];
      else if (typeof parent[last] === 'object' && parent[last] !== null && !Array.isArray(parent[last])) {
        Object.defineProperty(parent[last], m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
      }
    }
    onlyValidationErrors(JSON.stringify(x));
  }), { numRuns: FUZZ_RUNS * 2, includeErrorInReport: true });
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

test('fuzz: sweep paths and --set overrides only ever give a ValidationError and never touch Object.prototype', () => {
  const segment = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'method', 'lambda', 'training', 'exits', '[0]', '[1]', 'sweep', ''), fc.string({ maxLength: 6 }));
  const pathArb = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('.').replace(/\.\[/g, '['));
  fc.assert(fc.property(pathArb, fc.jsonValue({ maxDepth: 2 }), (p, v) => {
    onlyValidationErrors(text((x) => { x.sweep = { [p]: [v] }; }));
    try {
      const o = parseOverride(`${p}=${JSON.stringify(v)}`);
      const x = valid();
      setPath(x, o.path, o.value);
      validateExperiment(x);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw new Error(`--set ${p}: threw ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    }
    for (const k of Object.getOwnPropertyNames(Object.prototype)) assert.ok(typeof (Object.prototype as any)[k] === 'function' || k === '__proto__', `Object.prototype.${k} was set`);
    assert.deepEqual(Object.keys(Object.prototype), []);
  }), { numRuns: FUZZ_RUNS, includeErrorInReport: true });
});
