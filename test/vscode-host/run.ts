/**
 * Runs the integration suite (test/vscode-suite, bundled into dist/test/vscode-suite) in a real VS
 * Code with `@vscode/test-electron`, against the packaged extension: the VSIX that
 * `npm run package` wrote is installed into a fresh extensions folder as a user installs it
 * (`--install-extension`), so a packaging mistake fails the suite. VS Code runs a test suite only
 * for a development extension: that is an empty one (./suite-host), beside the installed VSIX.
 * EARLY_EXIT_TEST_FROM=source tests the development folder instead (quicker while iterating).
 * - unset or EARLY_EXIT_VSCODE=code-server: in code-server through ./code-server-host, which takes
 *   the place of the VS Code executable. Always, also where desktop VS Code could be downloaded: only
 *   this host starts with workspace trust on and lets the tests see the workbench (screenshots, clicks),
 *   while test-electron starts desktop VS Code with --disable-workspace-trust;
 * - EARLY_EXIT_VSCODE=desktop: desktop VS Code (downloaded and cached in .vscode-test). The tests of
 *   Restricted Mode and of the rendered workbench then fail, each saying it needs code-server.
 * The fixture workspace is copied to a temporary folder so the tests may edit it freely.
 */
import { spawnSync } from 'node:child_process';
import { downloadAndUnzipVSCode, resolveCliArgsFromVSCodeExecutablePath, runTests } from '@vscode/test-electron';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { installExtension } from './code-server-host';

const REPO = resolve(__dirname, '../..');
const HOST = join(__dirname, 'code-server-host');
const SUITE_HOST_EXTENSION = join(__dirname, 'suite-host');

async function vscodeExecutable(): Promise<{ path: string; kind: 'desktop' | 'code-server' }> {
  const wanted = process.env.EARLY_EXIT_VSCODE ?? 'code-server';
  if (wanted === 'code-server') return { path: HOST, kind: 'code-server' };
  if (wanted !== 'desktop') throw new Error(`EARLY_EXIT_VSCODE: expected "code-server" (the default) or "desktop", got "${wanted}"`);
  console.log('Desktop VS Code: the Restricted Mode and workbench tests will fail (they need code-server, the default host).');
  return { path: await downloadAndUnzipVSCode({ cachePath: join(REPO, '.vscode-test') }), kind: 'desktop' };
}

/** The VSIX `npm run package` wrote for this version. */
function packagedVsix(): string {
  const { name, version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  const vsix = join(REPO, 'out', `${name}-${version}.vsix`);
  if (!existsSync(vsix)) throw new Error(`${vsix} is missing; run "npm run package" first (npm run test:vscode does)`);
  return vsix;
}

/** Installs the VSIX into `extensionsDir` with the VS Code that runs the suite. */
function install(vsix: string, extensionsDir: string, exe: { path: string; kind: 'desktop' | 'code-server' }): void {
  if (exe.kind === 'code-server') {
    installExtension(vsix, extensionsDir);
    return;
  }
  const [cli, ...args] = resolveCliArgsFromVSCodeExecutablePath(exe.path);
  const r = spawnSync(cli, [...args, '--install-extension', vsix, '--extensions-dir', extensionsDir], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cli} --install-extension failed (${r.status ?? r.signal}): ${r.stdout}${r.stderr}`);
}

async function main(): Promise<number> {
  const extensionTestsPath = join(REPO, 'dist/test/vscode-suite/index.js');
  if (!existsSync(extensionTestsPath)) throw new Error(`${extensionTestsPath} is missing; run "node scripts/build-tests.mjs" first`);
  const fromSource = process.env.EARLY_EXIT_TEST_FROM === 'source';
  // the folder's name is in the window title, so it is the same in every run (screenshots compare)
  const scratch = mkdtempSync(join(tmpdir(), 'early-exit-workspace-'));
  const workspace = join(scratch, 'workspace');
  const extensionsDir = mkdtempSync(join(tmpdir(), 'early-exit-extensions-'));
  cpSync(join(REPO, 'test/fixtures/workspace'), workspace, { recursive: true });
  const started = Date.now();
  try {
    const exe = await vscodeExecutable();
    console.log(`VS Code integration suite in ${exe.kind === 'desktop' ? `desktop VS Code (${exe.path})` : 'code-server 4.100.3 (VS Code 1.100.3) + headless Chromium'}`);
    let vsix: string | undefined;
    if (!fromSource) {
      vsix = packagedVsix();
      install(vsix, extensionsDir, exe);
      console.log(`testing the installed ${vsix.slice(REPO.length + 1)}`);
    }
    return await runTests({
      vscodeExecutablePath: exe.path,
      extensionDevelopmentPath: fromSource ? REPO : SUITE_HOST_EXTENSION,
      extensionTestsPath,
      launchArgs: [workspace, `--extensions-dir=${extensionsDir}`],
      extensionTestsEnv: {
        EARLY_EXIT_TEST_RESULTS: join(REPO, 'test-results'),
        ...(vsix ? { EARLY_EXIT_TEST_VSIX: vsix, EARLY_EXIT_TEST_EXTENSIONS_DIR: extensionsDir } : {}),
        ...(process.env.EARLY_EXIT_SCREENSHOTS ? { EARLY_EXIT_SCREENSHOTS: resolve(process.env.EARLY_EXIT_SCREENSHOTS) } : {}),
        ...(process.stdout.isTTY ? { EARLY_EXIT_TEST_COLOR: '1' } : {}),
      },
    });
  } catch (e) {
    console.error(String((e as Error).message ?? e));
    return 1;
  } finally {
    console.log(`VS Code suite took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    rmSync(scratch, { recursive: true, force: true });
    rmSync(extensionsDir, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code));
