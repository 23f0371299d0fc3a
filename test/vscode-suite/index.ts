/** Entry point `@vscode/test-electron` loads in the extension host: runs every *.test.js beside it. */
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { screenshot } from './automation';

export function run(): Promise<void> {
  // EARLY_EXIT_TEST_GREP runs only the tests whose full title matches (a regular expression).
  const grep = process.env.EARLY_EXIT_TEST_GREP;
  // forbidPending: a skipped test fails the run (a test whose precondition is missing fails with its reason instead)
  const mocha = new Mocha({ ui: 'tdd', color: !!process.env.EARLY_EXIT_TEST_COLOR, timeout: 90_000, forbidPending: true, ...(grep ? { grep: new RegExp(grep) } : {}) });
  // A failing test leaves a screenshot of the workbench (where the host can take one).
  mocha.suite.afterEach(async function () {
    const t = this.currentTest;
    if (t?.state === 'failed') await screenshot(`failed-${t.fullTitle().replace(/[^\w-]+/g, '_').slice(0, 80)}`).catch(() => undefined);
  });
  for (const f of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(join(__dirname, f));
  return new Promise((ok, fail) => {
    const runner = mocha.run((failures) => {
      const s = runner.stats!;
      // one line CI logs can be searched for, whatever the reporter printed above it
      console.log(`VS Code suite: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped (${s.tests} run${grep ? `, --grep ${grep}` : ''})`);
      if (failures) fail(new Error(`${failures} test(s) failed`)); else ok();
    });
  });
}
