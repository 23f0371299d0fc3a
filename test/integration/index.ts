/** Entry point `@vscode/test-electron` loads in the extension host: runs every *.test.js beside it. */
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: !!process.env.EARLY_EXIT_TEST_COLOR, timeout: 30_000 });
  for (const f of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(join(__dirname, f));
  return new Promise((ok, fail) => {
    mocha.run((failures) => (failures ? fail(new Error(`${failures} test(s) failed`)) : ok()));
  });
}
