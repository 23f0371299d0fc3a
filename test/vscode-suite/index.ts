/** Entry point `@vscode/test-electron` loads in the extension host: runs every *.test.js beside it. */
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { screenshot } from './automation';

export function run(): Promise<void> {
  // EARLY_EXIT_TEST_GREP runs only the tests whose full title matches (a regular expression).
  const grep = process.env.EARLY_EXIT_TEST_GREP;
  const mocha = new Mocha({ ui: 'tdd', color: !!process.env.EARLY_EXIT_TEST_COLOR, timeout: 90_000, ...(grep ? { grep: new RegExp(grep) } : {}) });
  // A failing test leaves a screenshot of the workbench (where the host can take one).
  mocha.suite.afterEach(async function () {
    const t = this.currentTest;
    if (t?.state === 'failed') await screenshot(`failed-${t.fullTitle().replace(/[^\w-]+/g, '_').slice(0, 80)}`).catch(() => undefined);
  });
  for (const f of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(join(__dirname, f));
  return new Promise((ok, fail) => {
    mocha.run((failures) => (failures ? fail(new Error(`${failures} test(s) failed`)) : ok()));
  });
}
