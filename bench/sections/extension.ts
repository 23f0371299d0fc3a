/**
 * Extension figures: activation and the memory held with 20 runs listed (bench/extension-host.ts,
 * the real bundle against a stub `vscode`), and the results panel's first render for a run with
 * 10 exits, a 20-run comparison and a 10k-sample run: the panel's own webview bundle and data, as
 * `early-exit report` inlines them, in headless Chromium (time from navigation to `data-ready`,
 * JS heap after the first render), and one step of its τ slider.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeReport } from '../../src/report/report';
import { readRunData } from '../../src/runs/view-data';
import { makeRun } from '../../test/fixtures/make-run';
import type { BenchOptions } from '../run';
import { makeWideRun } from '../lib/fixture-runs';
import { lastJson, log, mean, ROOT, round, run, tmpDir } from '../lib/util';

/**
 * The report page turned into the panel's page: the same inlined bundle without the embedded data,
 * so it starts as a webview does (posts `ready` to the host) and renders what a message brings.
 */
function panelPage(reportFile: string, outFile: string): string {
  const html = fs.readFileSync(reportFile, 'utf8');
  const stripped = html.replace(/<script[^>]*\bid="ee-data"[^>]*>[\s\S]*?<\/script>/, '');
  if (stripped === html) throw new Error(`${reportFile}: no embedded ee-data script to strip`);
  fs.writeFileSync(outFile, stripped);
  return outFile;
}

/** A stand-in `acquireVsCodeApi` that records what the page posts (for `panelPage` pages). */
const HOST_STUB = `window.__posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => undefined, setState: () => undefined });`;

/**
 * One step of the first τ slider (an `input` event, handled synchronously: the exit table, charts
 * and, when open, the tiers section follow it): the median and slowest of 20 steps, with the tiers
 * section ("Deployment across tiers") closed, then open.
 */
const TAU_STEPS = `(async () => {
  const s = document.querySelector('input.ee-tau');
  const steps = () => {
    const ms = [];
    for (let i = 0; i < 20; i++) {
      s.value = String(0.3 + i * 0.02);
      const t0 = performance.now();
      s.dispatchEvent(new Event('input'));
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    return { medianMs: ms[10], maxMs: ms[19] };
  };
  const closed = steps();
  const tiers = document.querySelector('details.ee-tiers');
  if (!tiers) return { closed, open: null };
  tiers.open = true;
  await new Promise((done) => setTimeout(done, 2000));
  return { closed, open: tiers.querySelector('canvas') ? steps() : null };
})()`;

/**
 * First render of each page: time from navigation to `body[data-ready]` (reports), or, for panel
 * pages (`messages[name]` given), to the comparison drawn after the host's message arrives — the
 * path the Compare Runs panel takes.
 */
async function renders(files: Record<string, string>, repeats: number, messages: Record<string, unknown> = {}, tauSteps: string[] = []): Promise<Record<string, unknown>> {
  const tau: Record<string, unknown> = {};
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const out: Record<string, unknown> = {};
  try {
    for (const [name, file] of Object.entries(files)) {
      const times: number[] = [];
      let heapMiB = 0;
      for (let i = 0; i < repeats; i++) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('Performance.enable');
        const message = messages[name];
        if (message) await page.addInitScript(HOST_STUB);
        await page.goto(`file://${file}`);
        await page.waitForSelector('body[data-ready]', { timeout: 120_000 });
        if (message) {
          // (browser-side code as strings: this file compiles without the DOM lib)
          await page.waitForFunction('window.__posted.some((m) => m.type === "ready")');
          await page.evaluate(`window.postMessage(${JSON.stringify(message)}, '*')`);
          await page.waitForSelector('.ee-comparison canvas', { timeout: 120_000 });
          times.push(await page.evaluate('new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now()))))') as number);
        } else {
          times.push(await page.evaluate(() => performance.now()));
        }
        // the τ slider after the first render, once per page (it changes the page)
        if (tauSteps.includes(name) && i === repeats - 1) tau[name] = await page.evaluate(TAU_STEPS);
        const m = await cdp.send('Performance.getMetrics');
        heapMiB = (m.metrics.find((x) => x.name === 'JSHeapUsedSize')?.value ?? 0) / 2 ** 20;
        await page.close();
      }
      out[name] = { firstRenderMs: round(mean(times), 0), samples: times.map((t) => round(t, 0)), jsHeapMiB: round(heapMiB, 1), htmlMiB: round(fs.statSync(file).size / 2 ** 20, 2), ...(tau[name] ? { tauStep: tau[name] } : {}) };
      log(`panel ${name}: first render ${round(mean(times), 0)} ms, JS heap ${round(heapMiB, 1)} MiB`);
    }
  } finally {
    await browser.close();
  }
  return out;
}

export async function extensionSection(o: BenchOptions): Promise<Record<string, unknown>> {
  const tmp = tmpDir('ext');
  // 20 finished runs (one sweep group of 10, ten single runs) in a workspace
  const runs = path.join(tmp, 'ws', '.early-exit', 'runs');
  const dirs = Array.from({ length: 20 }, (_, i) => {
    const d = path.join(runs, `run-${String(i).padStart(2, '0')}`);
    makeRun(d, { seed: i + 1, group: i < 10 ? 'sweep1' : null, lambda: round(0.05 * (i + 1), 2), skill: (i % 5) * -0.01 });
    return d;
  });
  // activation: the extension helper's bench/activation.mjs (fresh processes, stub vscode, median)
  let activation: Record<string, unknown> | null = null;
  if (fs.existsSync(path.join(ROOT, 'bench/activation.mjs'))) {
    try { activation = lastJson(run(process.execPath, [path.join(ROOT, 'bench/activation.mjs'), '--runs', o.quick ? '5' : '15', '--json']), 'activation.mjs'); } catch (e) { activation = { error: String((e as Error).message).slice(0, 300) }; }
  }
  const hosts = Array.from({ length: o.quick ? 1 : 3 }, () => lastJson(run(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(ROOT, 'bench/extension-host.ts'), path.join(tmp, 'ws')]), 'extension-host'));
  const host = {
    requireMs: round(mean(hosts.map((h) => h.requireMs as number)), 1), activateMs: round(mean(hosts.map((h) => h.activateMs as number)), 2),
    listRunsMs: round(mean(hosts.map((h) => h.listRunsMs as number)), 1), treeItems: hosts[0].treeItems,
    heapDeltaMiB: round(hosts[0].heapDeltaMiB as number, 2), rssMiB: round(hosts[0].rssMiB as number, 1), runs: 20,
  };
  log(`extension host: require ${host.requireMs} ms + activate ${host.activateMs} ms, 20 runs listed in ${host.listRunsMs} ms, heap +${host.heapDeltaMiB} MiB`);
  const ten = path.join(tmp, 'ten-exits');
  makeWideRun(ten, 10, 1000, { seed: 3 });
  const big = path.join(tmp, 'samples-10k');
  makeRun(big, { seed: 4, test: 10_000, validation: 2000 });
  const files: Record<string, string> = { tenExits: path.join(tmp, 'ten.html'), compare20: path.join(tmp, 'compare20.html'), samples10k: path.join(tmp, 'big.html') };
  await writeReport([ten], files.tenExits);
  await writeReport(dirs, files.compare20);
  await writeReport([big], files.samples10k);
  // the Compare Runs panel: the webview starts empty and the host sends the runs as comparisonPanel.ts does
  // (readRunData without related points or samples); the report above also has every run's own view (drawn when scrolled near)
  files.compare20Panel = panelPage(files.compare20, path.join(tmp, 'compare20-panel.html'));
  const message = { type: 'didLoadComparison', runs: dirs.map((d) => readRunData(d, false, false)) };
  const panels = await renders(files, o.quick ? 1 : 3, { compare20Panel: message }, ['tenExits']);
  return { activation, host, panels, method: 'host: bare Node + stub vscode API, real dist/extension.js; panels: the webview bundle in headless Chromium, with inlined data (the early-exit report) or, for the comparison panel, a stub acquireVsCodeApi and the runs posted as the host posts them' };
}
