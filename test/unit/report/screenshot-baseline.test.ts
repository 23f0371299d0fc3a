/** The screenshot comparison the report and VS Code suites use (test/screenshots.ts) fails when it should. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { expectMatchesBaseline } from '../../screenshots';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-shots-'));

/** A 100×50 grey image with `paint` applied, written to `<tmp>/<file>`. */
function png(file: string, paint: (data: Buffer, width: number) => void = () => {}, width = 100): string {
  const p = new PNG({ width, height: 50 });
  p.data.fill(128);
  paint(p.data, width);
  const out = path.join(tmp, file);
  fs.writeFileSync(out, PNG.sync.write(p));
  return out;
}

test('identical and near-identical screenshots match; a changed region, a new size or a missing baseline fail, saying why', () => {
  const baselines = path.join(tmp, 'baselines');
  fs.mkdirSync(baselines);
  fs.copyFileSync(png('base.png'), path.join(baselines, 'shot.png'));
  assert.equal(expectMatchesBaseline(png('same.png'), 'shot', baselines).differing, 0);
  // every pixel off by 15 per channel (45 in all, under the tolerance of 48): anti-aliasing-sized noise
  assert.equal(expectMatchesBaseline(png('noise.png', (d) => { for (let i = 0; i < d.length; i += 4) d[i] = d[i + 1] = d[i + 2] = 143; }), 'shot', baselines).differing, 0);
  // 4 of 5 000 pixels changed (0.08 %, under 0.1 %) pass; 10 (0.2 %) fail, say where they are (the
  // dots at pixel 97·k run from (0,0) to (97,0) across and down to (73,8)) and leave a diff image
  const dots = (n: number) => (d: Buffer) => { for (let k = 0; k < n; k++) d.fill(0, 4 * 97 * k, 4 * 97 * k + 3); };
  assert.equal(expectMatchesBaseline(png('four.png', dots(4)), 'shot', baselines).differing, 4);
  assert.throws(() => expectMatchesBaseline(png('ten.png', dots(10)), 'shot', baselines),
    /ten\.png differs from its baseline .*shot\.png in 10 of 5000 pixels \(0\.20 %, allowed 0\.10 %\), all within x 0–97, y 0–8; differing pixels in red: .*ten-diff\.png/);
  const diff = PNG.sync.read(fs.readFileSync(path.join(tmp, 'ten-diff.png')));
  assert.deepEqual([...diff.data.subarray(0, 4)], [255, 0, 0, 255]);
  // a looser tolerance for a screenshot with known noise
  assert.equal(expectMatchesBaseline(path.join(tmp, 'ten.png'), 'shot', baselines, { maxDiffShare: 0.005 }).differing, 10);
  assert.throws(() => expectMatchesBaseline(png('wide.png', undefined, 120), 'shot', baselines), /wide\.png is 120×50, its baseline .*shot\.png 100×50/);
  assert.throws(() => expectMatchesBaseline(png('new.png'), 'never-stored', baselines),
    /no baseline .*never-stored\.png for the screenshot .*new\.png: look at the screenshot and, if it is right, run the suite with EARLY_EXIT_UPDATE_BASELINES=1/);
});

test('EARLY_EXIT_UPDATE_BASELINES=1 writes the screenshot as its baseline', () => {
  const baselines = path.join(tmp, 'update');
  process.env.EARLY_EXIT_UPDATE_BASELINES = '1';
  try {
    assert.equal(expectMatchesBaseline(png('first.png', (d) => d.fill(9, 0, 40)), 'first', baselines).updated, true);
  } finally {
    delete process.env.EARLY_EXIT_UPDATE_BASELINES;
  }
  assert.deepEqual(fs.readFileSync(path.join(baselines, 'first.png')), fs.readFileSync(path.join(tmp, 'first.png')));
  assert.equal(expectMatchesBaseline(path.join(tmp, 'first.png'), 'first', baselines).updated, false);
});
