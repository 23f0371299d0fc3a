/**
 * JSON files as people produce them: the one decoder for experiment files and the JSON files of a
 * run folder. Bytes become text only when they are UTF-8 (a UTF-8 byte-order mark is dropped and
 * said so; UTF-16/UTF-32, invalid UTF-8 and binary files are named as such), and a syntax error
 * names its line and column in words — comments, single quotes, trailing commas, NaN — from our
 * own scanner, so the message never depends on the JavaScript engine's wording (which for some
 * errors gave no position at all and quoted the whole file).
 */
import { ValidationError } from './errors';

export interface DecodedText {
  text: string;
  /** What was tolerated and should be said (e.g. a byte-order mark that was dropped). */
  notes: string[];
}

/** 1-based line and column (in characters) of `pos` in `text`. */
export function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1, start = 0;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) { line++; start = i + 1; }
  return { line, column: pos - start + 1 };
}

/** Offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) { i++; continue; }
    let n: number, min: number;
    if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; } else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; } else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; } else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * Decodes the bytes of a JSON file that must be UTF-8. Throws a ValidationError naming `file` and
 * what the bytes are instead (UTF-16 / UTF-32 with or without a byte-order mark, a binary file,
 * invalid UTF-8 with its line and column), each with what to do.
 */
export function decodeJsonBytes(bytes: Uint8Array, file: string): DecodedText {
  const notes: string[] = [];
  const b = bytes;
  const saveAs = 'save it as UTF-8 (in VS Code: "Save with Encoding" → UTF-8)';
  const fail = (what: string) => { throw new ValidationError(`${file}: ${what}`, file); };
  if (b.length >= 4 && b[0] === 0x00 && b[1] === 0x00 && b[2] === 0xfe && b[3] === 0xff) fail(`is UTF-32 (big-endian) text; JSON files must be UTF-8: ${saveAs}`);
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0x00 && b[3] === 0x00) fail(`is UTF-32 (little-endian) text; JSON files must be UTF-8: ${saveAs}`);
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) fail(`is UTF-16 (little-endian) text, with a byte-order mark; JSON files must be UTF-8: ${saveAs}`);
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) fail(`is UTF-16 (big-endian) text, with a byte-order mark; JSON files must be UTF-8: ${saveAs}`);
  // UTF-16 without a byte-order mark: ASCII characters with a zero byte beside each
  if (b.length >= 4 && b[0] !== 0 && b[1] === 0 && b[2] !== 0 && b[3] === 0) fail(`is UTF-16 (little-endian) text; JSON files must be UTF-8: ${saveAs}`);
  if (b.length >= 4 && b[0] === 0 && b[1] !== 0 && b[2] === 0 && b[3] !== 0) fail(`is UTF-16 (big-endian) text; JSON files must be UTF-8: ${saveAs}`);
  let start = 0;
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) {
    start = 3;
    notes.push(`${file}: starts with a UTF-8 byte-order mark (BOM); it was ignored`);
  }
  const body = b.subarray(start);
  const nul = body.indexOf(0);
  if (nul >= 0) fail(`is not a text file (a zero byte at offset ${nul + start}); is it the right file?`);
  const bad = firstInvalidUtf8(body);
  if (bad >= 0) {
    const before = new TextDecoder().decode(body.subarray(0, bad));
    const { line, column } = lineColumn(before, before.length);
    fail(`is not valid UTF-8 at line ${line}, column ${column} (byte 0x${body[bad].toString(16).padStart(2, '0')}; perhaps Latin-1 or Windows-1252): ${saveAs}`);
  }
  return { text: new TextDecoder().decode(body), notes };
}

/** Where the first syntax error of `text` is, and what it is in words; null when `text` is valid JSON. */
export function locateJsonError(text: string): { pos: number; what: string } | null {
  let i = 0;
  const n = text.length;
  class Stop { constructor(readonly pos: number, readonly what: string) {} }
  const stop = (what: string, pos = i): never => { throw new Stop(pos, what); };
  const ws = () => {
    for (;;) {
      while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
      if (text.startsWith('//', i) || text.startsWith('/*', i)) stop('comments (// … or /* … */) are not allowed in JSON; remove them');
      return;
    }
  };
  const end = (what: string) => stop(`unexpected end of file: ${what}`);
  const word = () => /^[A-Za-z_$][\w$]*/.exec(text.slice(i, i + 40))?.[0] ?? '';
  const str = () => {
    if (text[i] === "'") stop('strings and names need double quotes ("…"), not single quotes');
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return; }
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === undefined) end('a string is not closed');
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) stop('invalid \\u escape in a string (needs four hex digits)');
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) stop(`invalid escape \\${e} in a string (write \\\\ for a backslash)`);
        i += 2;
        continue;
      }
      if (c === 10 || c === 13) stop('a line break inside a string (strings end on the line they start; write \\n)');
      if (c < 0x20) stop('a control character inside a string');
      i++;
    }
    end('a string is not closed');
  };
  const num = () => {
    const re = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m || m[0] === '-') stop(`invalid number "${text.slice(i, i + 12).split(/[\s,}\]]/)[0]}"`);
    i += m![0].length;
    if (/[\d.eE]/.test(text[i] ?? '')) {
      const start = i - m![0].length;
      stop(`invalid number "${text.slice(start, i + 8).split(/[\s,}\]]/)[0]}"${m![0] === '0' || m![0] === '-0' ? ' (no leading zeros)' : ''}`, start);
    }
  };
  const value = (): void => {
    ws();
    if (i >= n) end('a value is missing');
    const c = text[i];
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (i >= n) end('an object is not closed with }');
        if (text[i] === '}') stop("a trailing comma before '}' (remove the comma)");
        if (text[i] !== '"') {
          if (text[i] === "'") str();
          stop(word() ? `property name ${word()} needs double quotes ("${word()}")` : `expected a property name in double quotes, found '${text[i]}'`);
        }
        str(); ws();
        if (i >= n) end("a ':' is missing after a property name");
        if (text[i] !== ':') stop(`expected ':' after the property name, found '${text[i]}'`);
        i++;
        value(); ws();
        if (i >= n) end('an object is not closed with }');
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        stop(`expected ',' or '}' after a property value, found '${text[i]}'`);
      }
    }
    if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        ws();
        if (text[i] === ']') stop("a trailing comma before ']' (remove the comma)");
        value(); ws();
        if (i >= n) end('an array is not closed with ]');
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        stop(`expected ',' or ']' after an array item, found '${text[i]}'`);
      }
    }
    if (c === '"' || c === "'") { str(); return; }
    if (c === '-' || (c >= '0' && c <= '9')) { num(); return; }
    const w = word();
    if (w === 'true' || w === 'false' || w === 'null') { i += w.length; return; }
    if (w === 'NaN' || w === 'Infinity' || w === 'undefined') stop(`${w} is not a JSON value; write a number (or null)`);
    if (w === 'True' || w === 'False' || w === 'None' || w === 'TRUE' || w === 'FALSE') stop(`${w} is not a JSON value; write ${w === 'None' ? 'null' : w.toLowerCase()}`);
    if (c === '+') stop('a number cannot start with +');
    if (c === '.') stop('a number needs a digit before the point (0.5, not .5)');
    stop(w ? `unexpected word ${w} (strings need double quotes)` : `unexpected character "${c}"`);
  };
  try {
    ws();
    if (i >= n) return { pos: 0, what: 'the file is empty' };
    value();
    ws();
    if (i < n) stop('unexpected text after the end of the JSON value');
    return null;
  } catch (e) {
    if (e instanceof Stop) return { pos: e.pos, what: e.what };
    throw e;
  }
}

/**
 * Parses JSON text; a syntax error is a ValidationError `<file>: invalid JSON at line L, column C:
 * <what>`. A leading byte-order mark character (text from an editor) is dropped.
 */
export function parseJsonText(text: string, file = 'experiment'): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (e) {
    const found = locateJsonError(body);
    const pos = found?.pos ?? Number(/position (\d+)/.exec((e as Error).message)?.[1] ?? body.length);
    const what = found?.what ?? String((e as Error).message).replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '').slice(0, 200);
    const { line, column } = lineColumn(body, pos);
    throw new ValidationError(`${file}: invalid JSON at line ${line}, column ${column}: ${what}`, file);
  }
}
