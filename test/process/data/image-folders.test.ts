/**
 * Reliability matrix (docs/reliability.md), image folders, through `early-exit data inspect`:
 * what the reader decodes never depends on which file sorts first (a grey image first used to turn
 * a colour set grey), nothing in the folder vanishes or changes without a note, and an image that
 * is truncated, oversized or of a variant the decoders cannot read names the file and says which.
 * Odd but valid variants (16-bit, palette, interlaced, transparency; grey, progressive and
 * EXIF-rotated JPEGs) are read to the right pixels.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeImage } from '../../../src/data/images';
import { assertOneLine, killAll, quote, runCli } from '../../fixtures/cli';
import { greyPng, JPEG_VARIANTS, jpegWithOrientation, pngBytes, pngClaiming, rgbJpeg, rgbPng } from '../../fixtures/images';

let tmp = '';
let k = 0;
const LIMIT = 120_000;

before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-rel-images-')); });
after(() => { killAll(); fs.rmSync(tmp, { recursive: true, force: true }); });

function folder(files: Record<string, Buffer | string>): string {
  const d = path.join(tmp, `f${k++}`);
  for (const [rel, b] of Object.entries(files)) {
    fs.mkdirSync(path.join(d, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(d, rel), b);
  }
  return d;
}

interface Inspect { shape: number[]; classes: string[]; splits: { name: string; count: number }[]; notes: string[] }
async function inspect(p: string): Promise<{ json: Inspect; stderr: string }> {
  const r = await runCli(['data', 'inspect', p, '--json'], { timeoutMs: LIMIT });
  assert.equal(r.code, 0, r.stderr);
  return { json: JSON.parse(r.stdout), stderr: r.stderr };
}

test('the channel count never depends on which image sorts first: one grey image among colour ones is converted and said, in a folder and in an archive', async () => {
  const colour = { 'train/cat/m.png': rgbPng(8, 8), 'train/dog/m.jpg': rgbJpeg(8, 8), 'test/cat/m.png': rgbPng(8, 8, 30), 'test/dog/m.png': rgbPng(8, 8, 90) };
  const shapes: number[][] = [];
  for (const greyName of ['train/cat/a.png', 'train/cat/z.png']) {
    const d = folder({ ...colour, [greyName]: greyPng(8, 8) });
    const { json } = await inspect(d);
    shapes.push(json.shape);
    const note = `1 grey image (${path.join(d, greyName)}) is converted to RGB (the other 4 are in colour)`;
    assert.deepEqual(json.notes, [note]);
    // without --json the note goes to stderr, under the table
    const text = await runCli(['data', 'inspect', d], { timeoutMs: LIMIT });
    assert.equal(text.stderr, `note: ${note}\n`);
    assert.match(text.stdout, /^shape: {3}8×8×3 \(height×width×channels\)$/m);
    // the same folder as an archive whose first member is the grey image
    const tgz = path.join(tmp, `g${k++}.tar.gz`);
    execFileSync('tar', ['czf', tgz, '-C', d, greyName, ...Object.keys(colour)]);
    const a = await inspect(tgz);
    assert.deepEqual(a.json.shape, [8, 8, 3]);
    assert.deepEqual(a.json.notes, [`1 grey image (${tgz}:${greyName}) is converted to RGB (the other 4 are in colour)`]);
  }
  assert.deepEqual(shapes, [[8, 8, 3], [8, 8, 3]]);
  // all grey (PNG and a one-component JPEG): one channel, nothing to say
  const grey = await inspect(folder({ 'train/a/1.png': greyPng(8, 8), 'train/b/2.jpg': JPEG_VARIANTS.grey, 'test/a/3.png': greyPng(8, 8), 'test/b/4.png': greyPng(8, 8) }));
  assert.deepEqual(grey.json.shape, [8, 8, 1]);
  assert.deepEqual(grey.json.notes, []);
});

test('images of different sizes are an error listing each size with an example, whichever sorts first', async () => {
  for (const odd of ['train/cat/a.png', 'train/cat/z.png']) {
    const d = folder({ 'train/cat/m.png': rgbPng(8, 8), 'train/dog/m.png': rgbPng(8, 8), 'test/cat/m.png': rgbPng(8, 8), [odd]: rgbPng(6, 5) });
    assertOneLine(await runCli(['data', 'inspect', d], { timeoutMs: LIMIT }), 2,
      new RegExp(`^early-exit data inspect: ${quote(d)}: images have 2 different sizes: 8×8 \\(3 images, e\\.g\\. ${quote(path.join(d, 'test/cat/m.png'))}\\), 6×5 \\(1 image, e\\.g\\. ${quote(path.join(d, odd))}\\); set dataset\\.resize to \\[height, width\\] to resize them all to one size$`));
  }
});

test('nothing in the folder vanishes without a word: other files, hidden files, broken links, unused splits, classes without training or test images', async () => {
  const d = folder({
    'train/cat/a.png': rgbPng(8, 8), 'train/cat/b.gif': 'GIF89a', 'train/cat/.DS_Store': 'x', 'train/cat/._a.png': 'apple double',
    'train/dog/c.png': rgbPng(8, 8), 'test/cat/d.png': rgbPng(8, 8), 'test/bird/e.png': rgbPng(8, 8),
    'valid/cat/f.png': rgbPng(8, 8), 'README.txt': 'about this data',
  });
  fs.symlinkSync(path.join(d, 'nowhere.png'), path.join(d, 'train', 'dog', 'link.png'));
  const { json } = await inspect(d);
  assert.deepEqual(json.classes, ['bird', 'cat', 'dog']);
  assert.deepEqual(json.notes, [
    'skipped 2 files (README.txt, train/cat/b.gif) that are not .png, .jpg or .jpeg images',
    'skipped 2 hidden entries (train/cat/.DS_Store, train/cat/._a.png) (names starting with ".")',
    'skipped 1 entry (train/dog/link.png (a broken link)) that is not an ordinary file or folder',
    'the "valid" folder (1 image) is not used for training or testing (the validation split is dataset.validationFraction of train)',
    '1 class (bird) has test images but no training images: the network cannot learn it',
    '1 class (dog) has training images but no test images: it is not tested',
  ]);
  assert.equal((await runCli(['data', 'inspect', d], { timeoutMs: LIMIT })).stderr, json.notes.map((n) => `note: ${n}\n`).join(''));
});

test('a truncated, oversized, unsupported or mislabelled image names the file and says which, not the decoder\'s words', async () => {
  const good = { 'train/a/1.png': rgbPng(8, 8), 'test/a/2.png': rgbPng(8, 8) };
  const png = rgbPng(8, 8);
  const jpg = rgbJpeg(8, 8);
  const cases: [string, Buffer, string][] = [
    ['cut.png', png.subarray(0, png.length - 20), `truncated PNG: ${png.length - 20} bytes, the file ends inside its IDAT chunk`],
    ['huge.png', pngClaiming(60000, 60000), 'PNG image is 60000×60000 (3600 Mpx), more than the 64 Mpx an image may have; it is refused before decoding'],
    ['arith.jpg', JPEG_VARIANTS.arithmetic, 'unsupported JPEG: arithmetic-coded; save it as a baseline or progressive JPEG, or as PNG'],
    ['cut.jpg', jpg.subarray(0, jpg.length - 10), `truncated JPEG: ${jpg.length - 10} bytes, the file ends inside its image data`],
    ['anim.png', Buffer.from('GIF89a\x08\x00\x08\x00', 'latin1'), 'a GIF image, not a PNG or JPEG; only PNG and JPEG are read'],
    ['empty.png', Buffer.alloc(0), 'empty file, 0 bytes'],
  ];
  for (const [name, bytes, what] of cases) {
    const d = folder({ ...good, [`train/a/${name}`]: bytes });
    const r = await runCli(['data', 'inspect', d], { timeoutMs: LIMIT });
    assertOneLine(r, 2, new RegExp(`^early-exit data inspect: ${quote(path.join(d, 'train/a', name))}: cannot decode image \\(${quote(what)}\\)$`));
    assert.doesNotMatch(r.stderr, /read requests|marker was not found|out of range/);
  }
});

test('more class folders than labels can hold (256) is an error, not labels that wrap around', async () => {
  const files: Record<string, Buffer> = {};
  const png = greyPng(2, 2);
  for (let c = 0; c < 257; c++) { files[`train/c${String(c).padStart(3, '0')}/x.png`] = png; files[`test/c${String(c).padStart(3, '0')}/y.png`] = png; }
  const d = folder(files);
  assertOneLine(await runCli(['data', 'inspect', d], { timeoutMs: LIMIT }), 2, new RegExp(`^early-exit data inspect: ${quote(d)}: 257 class folders; an image-folder dataset can have at most 256 classes$`));
});

test('odd but valid variants are read to the right pixels: 16-bit, 1- and 4-bit grey, palette, grey palette, interlaced, alpha and colour-key PNGs; grey, progressive and EXIF-rotated JPEGs', async () => {
  const px = (x: number, y: number) => [x * 30, y * 30, 77];
  const reference = decodeImage(pngBytes({ width: 8, height: 8, colourType: 2, pixel: px }), 'ref').data;
  const variants: [string, Buffer, (d: Uint8Array) => void][] = [
    ['rgb16', pngBytes({ width: 8, height: 8, colourType: 2, bitDepth: 16, pixel: (x, y) => px(x, y).map((v) => v * 257) }), (d) => assert.deepEqual(d, reference)],
    ['interlaced', pngBytes({ width: 8, height: 8, colourType: 2, interlace: true, pixel: px }), (d) => assert.deepEqual(d, reference)],
    ['rgba', pngBytes({ width: 8, height: 8, colourType: 6, pixel: (x, y) => [...px(x, y), 10] }), (d) => assert.deepEqual(d, reference)],
    ['colour-key', pngBytes({ width: 8, height: 8, colourType: 2, pixel: px, trns: Buffer.from([0, 0, 0, 0, 0, 77]) }), (d) => assert.deepEqual(d, reference, 'the keyed colour is kept, not made black')],
    ['palette', pngBytes({ width: 8, height: 8, colourType: 3, bitDepth: 4, palette: [[1, 2, 3], [200, 100, 50]], pixel: (x) => [x & 1] }), (d) => assert.deepEqual([...d.subarray(0, 6)], [1, 2, 3, 200, 100, 50])],
    ['grey1', pngBytes({ width: 8, height: 8, colourType: 0, bitDepth: 1, pixel: (x) => [x & 1] }), (d) => assert.deepEqual([...d.subarray(0, 4)], [0, 255, 0, 255])],
    ['grey4', pngBytes({ width: 8, height: 8, colourType: 0, bitDepth: 4, pixel: (x) => [x] }), (d) => assert.deepEqual([...d.subarray(0, 3)], [0, 17, 34])],
    ['grey-palette', pngBytes({ width: 8, height: 8, colourType: 3, palette: [[9, 9, 9], [90, 90, 90]], pixel: (x) => [x & 1] }), (d) => assert.deepEqual([...d.subarray(0, 2)], [9, 90])],
  ];
  for (const [name, bytes, check] of variants) {
    const img = decodeImage(bytes, name);
    check(img.data);
  }
  // through a folder: grey variants are one channel; alpha, colour keys and EXIF tags are said
  const d = folder({
    'train/a/rgba.png': variants[2][1], 'train/a/key.png': variants[3][1], 'train/b/exif.jpg': jpegWithOrientation(6),
    'train/b/progressive.jpg': JPEG_VARIANTS.progressive, 'test/a/x.png': variants[0][1], 'test/b/y.png': variants[1][1],
  });
  const { json } = await inspect(d);
  assert.deepEqual(json.shape, [8, 8, 3]);
  assert.deepEqual(json.notes, [
    `2 images (${path.join(d, 'train/a/key.png')}, ${path.join(d, 'train/a/rgba.png')}) have transparency; the alpha channel is dropped (the colour under it is used as stored)`,
    `1 JPEG (${path.join(d, 'train/b/exif.jpg')}) has an EXIF orientation tag; the pixels are used as stored, not rotated`,
  ]);
});
