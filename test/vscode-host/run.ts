/**
 * Runs the integration suite (test/vscode-suite, bundled into dist/test/vscode-suite) in a real VS
 * Code with `@vscode/test-electron`:
 * - EARLY_EXIT_VSCODE=code-server, or no desktop VS Code can be had (offline): in code-server
 *   through ./code-server-host, which takes the place of the VS Code executable;
 * - EARLY_EXIT_VSCODE=desktop: desktop VS Code only (downloaded and cached in .vscode-test);
 * - unset: desktop VS Code when it can be downloaded, else code-server.
 * The fixture workspace is copied to a temporary folder so the tests may edit it freely.
 */
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');
const HOST = join(__dirname, 'code-server-host');

async function vscodeExecutable(): Promise<{ path: string; kind: 'desktop' | 'code-server' }> {
  const wanted = process.env.EARLY_EXIT_VSCODE;
  if (wanted === 'code-server') return { path: HOST, kind: 'code-server' };
  try {
    return { path: await downloadAndUnzipVSCode({ cachePath: join(REPO, '.vscode-test') }), kind: 'desktop' };
  } catch (e) {
    if (wanted === 'desktop') throw e;
    console.log(`Desktop VS Code is not available (${(e as Error).message.split('\n')[0]}); running the suite in code-server.`);
    return { path: HOST, kind: 'code-server' };
  }
}

async function main(): Promise<number> {
  const extensionTestsPath = join(REPO, 'dist/test/vscode-suite/index.js');
  if (!existsSync(extensionTestsPath)) throw new Error(`${extensionTestsPath} is missing; run "node scripts/build-tests.mjs" first`);
  const workspace = mkdtempSync(join(tmpdir(), 'early-exit-workspace-'));
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
    rmSync(workspace, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code));
