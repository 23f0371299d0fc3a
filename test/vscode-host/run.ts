/**
 * Runs the integration suite (test/vscode-suite, bundled into dist/test/vscode-suite) in a real VS
 * Code with `@vscode/test-electron`:
 * - unset or EARLY_EXIT_VSCODE=code-server: in code-server through ./code-server-host, which takes
 *   the place of the VS Code executable. Always, also where desktop VS Code could be downloaded: only
 *   this host starts with workspace trust on and lets the tests see the workbench (screenshots, clicks),
 *   while test-electron starts desktop VS Code with --disable-workspace-trust;
 * - EARLY_EXIT_VSCODE=desktop: desktop VS Code (downloaded and cached in .vscode-test). The tests of
 *   Restricted Mode and of the rendered workbench then fail, each saying it needs code-server.
 * The fixture workspace is copied to a temporary folder so the tests may edit it freely.
 */
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');
const HOST = join(__dirname, 'code-server-host');

async function vscodeExecutable(): Promise<{ path: string; kind: 'desktop' | 'code-server' }> {
  const wanted = process.env.EARLY_EXIT_VSCODE ?? 'code-server';
  if (wanted === 'code-server') return { path: HOST, kind: 'code-server' };
  if (wanted !== 'desktop') throw new Error(`EARLY_EXIT_VSCODE: expected "code-server" (the default) or "desktop", got "${wanted}"`);
  console.log('Desktop VS Code: the Restricted Mode and workbench tests will fail (they need code-server, the default host).');
  return { path: await downloadAndUnzipVSCode({ cachePath: join(REPO, '.vscode-test') }), kind: 'desktop' };
}

async function main(): Promise<number> {
  const extensionTestsPath = join(REPO, 'dist/test/vscode-suite/index.js');
  if (!existsSync(extensionTestsPath)) throw new Error(`${extensionTestsPath} is missing; run "node scripts/build-tests.mjs" first`);
  // the folder's name is in the window title, so it is the same in every run (screenshots compare)
  const scratch = mkdtempSync(join(tmpdir(), 'early-exit-workspace-'));
  const workspace = join(scratch, 'workspace');
  cpSync(join(REPO, 'test/fixtures/workspace'), workspace, { recursive: true });
  const started = Date.now();
  try {
    const exe = await vscodeExecutable();
    console.log(`VS Code integration suite in ${exe.kind === 'desktop' ? `desktop VS Code (${exe.path})` : 'code-server 4.100.3 (VS Code 1.100.3) + headless Chromium'}`);
    return await runTests({
      vscodeExecutablePath: exe.path,
      extensionDevelopmentPath: REPO,
      extensionTestsPath,
      launchArgs: [workspace, '--disable-extensions'],
      extensionTestsEnv: { EARLY_EXIT_TEST_RESULTS: join(REPO, 'test-results'), ...(process.stdout.isTTY ? { EARLY_EXIT_TEST_COLOR: '1' } : {}) },
    });
  } catch (e) {
    console.error(String((e as Error).message ?? e));
    return 1;
  } finally {
    console.log(`VS Code suite took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code));
