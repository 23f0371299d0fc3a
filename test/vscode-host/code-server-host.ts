/**
 * A stand-in for the VS Code executable that `@vscode/test-electron`'s `runTests` launches: it
 * takes the same arguments, runs the extension-host test suite in code-server (VS Code 1.100.3's
 * server) driven by headless Chromium, prints the suite's log and exits with the suite's code.
 * Used where desktop VS Code cannot be downloaded (see ../shared/notes/vscode-host-testing.md).
 *
 *   code-server-host [FOLDER] --extensionDevelopmentPath=DIR --extensionTestsPath=FILE
 *                    [--user-data-dir=DIR] [--extensions-dir=DIR] [anything else: ignored]
 *
 * Every process it starts (code-server with its extension host, Chromium) is killed before it
 * exits, also on timeout (EARLY_EXIT_VSCODE_TIMEOUT_MS, default 300 s) and on SIGINT/SIGTERM.
 * While the suite runs, a small automation endpoint lets tests take screenshots and read the
 * rendered workbench (EARLY_EXIT_AUTOMATION_URL, see test/vscode-suite/automation.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { format } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const REPO = resolve(__dirname, '../..');
const CODE_SERVER = process.env.EARLY_EXIT_CODE_SERVER ?? join(REPO, '.vscode-test/code-server/node_modules/code-server');
const CHROMIUM = process.env.EARLY_EXIT_CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT_MS = Number(process.env.EARLY_EXIT_VSCODE_TIMEOUT_MS ?? 300_000);
const RESULTS = resolve(process.env.EARLY_EXIT_TEST_RESULTS ?? join(REPO, 'test-results'));
const VERBOSE = !!process.env.EARLY_EXIT_VSCODE_VERBOSE;
const TRUST = process.env.EARLY_EXIT_WORKSPACE_TRUST !== 'off';

const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  // screenshots are compared with baselines: no blinking cursor
  'editor.cursorBlinking': 'solid',
  // the tests click tree rows: a sticky header scrolled over a row would take the click
  'workbench.tree.enableStickyScroll': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  // Workspace trust is on and nothing is trusted yet: the suite starts in Restricted Mode, checks
  // what the extension does there, then trusts the folder through the Workspace Trust editor
  // (test/vscode-suite/automation.ts trustWorkspace). EARLY_EXIT_WORKSPACE_TRUST=off turns it off.
  'security.workspace.trust.enabled': TRUST,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.untrustedFiles': 'open',
};

export interface HostArgs {
  extensionDevelopmentPath: string[];
  extensionTestsPath?: string;
  folder?: string;
  extensionsDir?: string;
}

/** Reads test-electron's command line; unknown flags are ignored, as the brief of this host says. */
export function parseArgs(argv: string[]): HostArgs {
  const out: HostArgs = { extensionDevelopmentPath: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (flag: string) => (a.startsWith(flag + '=') ? a.slice(flag.length + 1) : a === flag ? argv[++i] : undefined);
    let v: string | undefined;
    if ((v = value('--extensionDevelopmentPath')) !== undefined) out.extensionDevelopmentPath.push(resolve(v));
    else if ((v = value('--extensionTestsPath')) !== undefined) out.extensionTestsPath = resolve(v);
    else if ((v = value('--extensions-dir')) !== undefined) out.extensionsDir = resolve(v);
    else if ((v = value('--user-data-dir')) !== undefined) void v; // a fresh one per run instead, see main()
    else if (!a.startsWith('-')) out.folder = resolve(a);
  }
  return out;
}

/** The workbench URL that makes code-server run the suite, as the desktop window would. */
export function payloadUrl(port: number, args: HostArgs): string {
  const authority = `127.0.0.1:${port}`;
  const remote = (p: string) => `vscode-remote://${authority}${encodeURI(p)}`;
  const payload: [string, string][] = args.extensionDevelopmentPath.map((p) => ['extensionDevelopmentPath', remote(p)]);
  if (args.extensionTestsPath) payload.push(['extensionTestsPath', remote(args.extensionTestsPath)]);
  const query = new URLSearchParams();
  if (args.folder) query.set('folder', args.folder);
  query.set('payload', JSON.stringify(payload));
  return `http://${authority}/?${query}`;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (m: string) => process.stderr.write(`[code-server-host] ${m}\n`);

async function waitHealthy(port: number, server: ChildProcess, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (server.exitCode !== null) throw new Error(`code-server exited with ${server.exitCode} before it was ready`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`code-server did not answer /healthz within ${ms / 1000} s`);
}

/** Kills a detached child's whole process group: SIGTERM, then SIGKILL after `graceMs`. */
async function killGroup(child: ChildProcess | undefined, graceMs = 3000): Promise<void> {
  if (!child?.pid) return;
  const alive = () => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-child.pid, 'SIGTERM');
  for (const until = Date.now() + graceMs; Date.now() < until && alive(); ) await sleep(50);
  if (alive()) process.kill(-child.pid, 'SIGKILL');
}

function body(req: IncomingMessage): Promise<any> {
  return new Promise((ok, fail) => {
    let s = '';
    req.on('data', (d) => (s += d));
    req.on('end', () => {
      try {
        ok(s ? JSON.parse(s) : {});
      } catch (e) {
        fail(e);
      }
    });
  });
}

/** Screenshot and DOM-reading endpoint for the tests running inside the extension host. */
function automationServer(page: () => Page | undefined): Server {
  return createServer(async (req, res) => {
    const reply = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    try {
      const p = page();
      if (!p) return reply(503, { error: 'no page yet' });
      const b = await body(req);
      if (req.url === '/screenshot') {
        const name = String(b.name ?? 'workbench').replace(/[^\w.-]+/g, '_');
        // `dir`: an absolute folder of the caller's (the README screenshots), else test-results/
        const into = typeof b.dir === 'string' && b.dir.startsWith('/') ? b.dir : RESULTS;
        mkdirSync(into, { recursive: true });
        const path = join(into, name.endsWith('.png') ? name : `${name}.png`);
        // `still`: the pointer rests on the activity bar's empty stretch, so nothing shows a hover state
        if (b.still) await p.mouse.move(24, 520);
        // `mask`: elements that differ from run to run (a run id, a measured time), painted over;
        // `inWebview` ones are inside the visible webview's content frame
        const webview = p.locator('iframe.webview.ready:visible').first().contentFrame().locator('#active-frame').contentFrame();
        const mask = ((b.mask ?? []) as { selector: string; hasText?: string; inWebview?: boolean }[]).map((m) => {
          const loc = (m.inWebview ? webview : p).locator(m.selector);
          return m.hasText ? loc.filter({ hasText: m.hasText }) : loc;
        });
        // `hide`: elements that come and go on VS Code's own schedule (an activity badge, a scrollbar
        // fading in), made invisible for the shot. Painting them over like `mask` would not do: a
        // badge is an overlay the size of its whole activity item, so a mask paints a square that is
        // there in one run and not in the next.
        const hide = ((b.hide ?? []) as string[]).map((sel) => `${sel} { visibility: hidden !important; }`).join('\n');
        // `belowTitleBar`: leave out the window's title bar (it names the test host, not the product)
        const bar = b.belowTitleBar ? await p.locator('.part.titlebar').boundingBox().catch(() => null) : null;
        const size = p.viewportSize() ?? { width: 1280, height: 800 };
        const clip = bar ? { x: 0, y: bar.y + bar.height, width: size.width, height: size.height - bar.y - bar.height } : undefined;
        // animations disabled: a fade or blink caught half-way (a toast leaving, the cursor) is not compared
        await p.screenshot({ path, fullPage: false, mask, animations: 'disabled', ...(hide ? { style: hide } : {}), ...(clip ? { clip } : {}) });
        return reply(200, { path });
      }
      if (req.url === '/evaluate') {
        // Evaluates `script` (a function's source) on every element matching `selector` in the
        // workbench page: geometry and attributes that innerText does not tell (truncation, labels).
        const fn = new Function(`return (${String(b.script)})`)() as (els: unknown[]) => unknown;
        const loc = p.locator(String(b.selector));
        if (b.timeout) await loc.first().waitFor({ timeout: Number(b.timeout) }).catch(() => undefined);
        return reply(200, { value: await loc.evaluateAll(fn) });
      }
      if (req.url === '/text') {
        // innerText of every element matching a CSS selector, waiting up to `timeout` ms for one.
        const loc = p.locator(String(b.selector));
        if (b.timeout) await loc.first().waitFor({ timeout: Number(b.timeout) }).catch(() => undefined);
        return reply(200, { texts: await loc.allInnerTexts() });
      }
      if (req.url === '/click') {
        // Clicks `child` inside the first `selector` element whose text contains `hasText` (or is
        // exactly `exactText`); `hover` first hovers that element (tree rows show their inline
        // actions on hover), `button: 'right'` opens a context menu.
        let row = p.locator(String(b.selector));
        if (b.hasText) row = row.filter({ hasText: String(b.hasText) });
        if (b.exactText) row = row.filter({ hasText: new RegExp(`^\\s*${String(b.exactText).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) });
        const timeout = Number(b.timeout ?? 5000);
        if (b.hover) await row.first().hover({ timeout });
        const loc = b.child ? row.first().locator(String(b.child)) : row;
        await loc.first().click({ timeout, button: b.button === 'right' ? 'right' : 'left' });
        return reply(200, {});
      }
      if (req.url === '/keys') {
        // Types `type` into the focused element, then presses each of `press` (e.g. "Enter").
        if (b.type) await p.keyboard.type(String(b.type));
        for (const k of (b.press ?? []) as string[]) await p.keyboard.press(k);
        return reply(200, {});
      }
      if (req.url === '/webview') {
        // Evaluates `script` (the text of a function taking the document's body) in the content
        // frame of the visible webview whose iframe title or panel contains `title`.
        // A function made here: Playwright sends its source, and evaluates it without the page's CSP.
        const fn = new Function(`return (${String(b.script)})`)() as (body: unknown) => unknown;
        const frames = p.locator('iframe.webview.ready');
        const deadline = Date.now() + Number(b.timeout ?? 10_000);
        for (;;) {
          for (const frame of await frames.all()) {
            if (!(await frame.isVisible())) continue;
            const body = frame.contentFrame().locator('#active-frame').contentFrame().locator('body');
            try {
              if (b.title && !(await body.evaluate((el, t) => el.ownerDocument.title.includes(t), String(b.title), { timeout: 1000 }))) continue;
              return reply(200, { value: await body.evaluate(fn, undefined, { timeout: 5000 }) });
            } catch {
              // not loaded yet
            }
          }
          if (Date.now() > deadline) return reply(404, { error: `no visible webview${b.title ? ` titled "${b.title}"` : ''}` });
          await sleep(250);
        }
      }
      reply(404, { error: `unknown endpoint ${req.url}` });
    } catch (e) {
      reply(500, { error: (e as Error).message });
    }
  });
}

/** A HOME and XDG folders under `tmp`, so that nothing is written under the real home. */
function isolatedEnv(tmp: string): NodeJS.ProcessEnv {
  const dir = (name: string) => {
    const d = join(tmp, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir('home'),
    XDG_CONFIG_HOME: dir('home/.config'),
    XDG_DATA_HOME: dir('home/.local/share'),
    XDG_CACHE_HOME: dir('home/.cache'),
    XDG_STATE_HOME: dir('home/.local/state'),
    XDG_RUNTIME_DIR: dir('runtime'),
  };
  delete env.VSCODE_IPC_HOOK_CLI;
  // No extension gallery: the machine is offline and nothing is fetched.
  env.EXTENSIONS_GALLERY = JSON.stringify({ serviceUrl: '' });
  return env;
}

/**
 * Installs a VSIX into `extensionsDir` as a user does (`code-server --install-extension`), offline.
 * Returns what code-server printed; throws with it when the install fails.
 */
export function installExtension(vsix: string, extensionsDir: string): string {
  const entry = join(CODE_SERVER, 'out/node/entry.js');
  if (!existsSync(entry)) throw new Error(`code-server is not installed at ${CODE_SERVER}; run "npm run test:install" (scripts/install-code-server.sh)`);
  const tmp = mkdtempSync(join(tmpdir(), 'early-exit-install-'));
  try {
    const r = spawnSync(process.execPath, [entry, '--install-extension', vsix, '--extensions-dir', extensionsDir, '--user-data-dir', join(tmp, 'user-data')], {
      env: isolatedEnv(tmp), encoding: 'utf8', timeout: 120_000,
    });
    const said = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.status !== 0 || !/successfully installed/i.test(said)) throw new Error(`code-server --install-extension ${vsix} failed (${r.status ?? r.signal}): ${said}`);
    return said;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!args.extensionTestsPath) {
    log('--extensionTestsPath=… is required: this host only runs extension test suites');
    return 2;
  }
  const entry = join(CODE_SERVER, 'out/node/entry.js');
  if (!existsSync(entry)) {
    log(`code-server is not installed at ${CODE_SERVER}; run "npm run test:install" (scripts/install-code-server.sh)`);
    return 2;
  }
  const started = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'early-exit-code-server-'));
  const dir = (name: string) => {
    const d = join(tmp, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  // Nothing is written under the real home: code-server, the extension host and Chromium all
  // see a temporary HOME and XDG folders.
  const env = isolatedEnv(tmp);

  let server: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let automation: Server | undefined;
  let finish!: (code: number) => void;
  const done = new Promise<number>((r) => (finish = r));
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      automation?.close();
      await Promise.race([context?.close().catch(() => undefined), sleep(5000)]);
      await killGroup(server);
      rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    })());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping code-server and Chromium`);
      finish(130);
    });
  }
  const timer = setTimeout(async () => {
    log(`timed out after ${TIMEOUT_MS / 1000} s; screenshot in ${join(RESULTS, 'timeout.png')}`);
    mkdirSync(RESULTS, { recursive: true });
    await Promise.race([page?.screenshot({ path: join(RESULTS, 'timeout.png') }).catch(() => undefined), sleep(5000)]);
    finish(124);
  }, TIMEOUT_MS);

  const run = async () => {
    automation = automationServer(() => page);
    const automationPort = await freePort();
    await new Promise<void>((r) => automation!.listen(automationPort, '127.0.0.1', r));
    env.EARLY_EXIT_AUTOMATION_URL = `http://127.0.0.1:${automationPort}`;
    env.EARLY_EXIT_VSCODE_HOST = 'code-server';

    // A quiet, offline profile: no welcome page, no Marketplace queries, no tips.
    const userData = dir('user-data');
    mkdirSync(join(userData, 'User'), { recursive: true });
    writeFileSync(join(userData, 'User/settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
    const port = await freePort();
    const serverLog = join(tmp, 'code-server.log');
    const logStream = createWriteStream(serverLog);
    server = spawn(
      process.execPath,
      [
        entry,
        '--bind-addr', `127.0.0.1:${port}`,
        '--auth', 'none',
        '--disable-telemetry',
        '--disable-update-check',
        ...(TRUST ? [] : ['--disable-workspace-trust']),
        '--disable-getting-started-override',
        '--user-data-dir', userData,
        '--extensions-dir', args.extensionsDir ?? dir('extensions'),
      ],
      { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Last resort for any exit path that skips cleanup(): the group dies with this process.
    process.once('exit', () => {
      try {
        process.kill(-server!.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    server.stdout!.pipe(logStream);
    server.stderr!.pipe(logStream);
    if (VERBOSE) server.stderr!.pipe(process.stderr);
    server.once('exit', (code, signal) => {
      if (!cleaning) {
        log(`code-server exited early (${code ?? signal}); its log:\n${readFileSync(serverLog, 'utf8').slice(-4000)}`);
        finish(1);
      }
    });
    await waitHealthy(port, server, 30_000);
    if (VERBOSE) log(`code-server ready on ${port} after ${Date.now() - started} ms`);

    context = await chromium.launchPersistentContext(dir('chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      // Our own handlers stop code-server too; Playwright's would exit before that.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      viewport: { width: 1280, height: 800 },
      env,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.exposeFunction('codeAutomationExit', (code: number) => {
      if (VERBOSE) log(`suite finished with ${code} after ${Date.now() - started} ms`);
      finish(Number(code) || 0);
    });
    await page.exposeFunction('codeAutomationLog', (type: string, messages: unknown[]) => {
      // The workbench forwards the extension host's console calls: a format string and its arguments.
      const text = format(...(Array.isArray(messages) ? messages : [messages]));
      (type === 'error' ? process.stderr : process.stdout).write(text.endsWith('\n') ? text : text + '\n');
    });
    if (VERBOSE) page.on('console', (m) => log(`page ${m.type()}: ${m.text()}`));
    page.on('crash', () => {
      log('the workbench page crashed');
      finish(1);
    });
    await page.goto(payloadUrl(port, args));
  };
  run().catch((e) => {
    log(`failed to start: ${(e as Error).stack ?? e}`);
    finish(1);
  });

  const code = await done;
  clearTimeout(timer);
  await cleanup();
  if (VERBOSE) log(`done in ${Date.now() - started} ms`);
  return code;
}

if (process.argv[1] && resolve(process.argv[1]) === __filename) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      log(String(e?.stack ?? e));
      process.exit(1);
    },
  );
}
