/**
 * The standalone report: one self-contained HTML file with the results view of each run (and the
 * comparison view for several runs). The webview bundle, its CSS and the run data are inlined; a
 * CSP forbids every network fetch, so the file works opened from disk and shared as it is.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReportData, RunData } from '../protocol/webview';
import { readRunData } from '../runs/view-data';
import { escapeHtml } from './html';

export interface ReportOptions {
  /** Folder holding results.js and results.css (default: dist/webview next to the CLI bundle). */
  assetsDir?: string;
  title?: string;
}

/** dist/webview, whether running from the bundle (dist/cli.js) or from sources (src/report/report.ts). */
export function defaultAssetsDir(): string {
  const candidates = [path.join(__dirname, 'webview'), path.resolve(__dirname, '../../dist/webview'), path.resolve(__dirname, '../dist/webview')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'results.js'))) ?? candidates[0];
}


/** JSON that cannot end the <script> element it sits in. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Builds the HTML of a report for already-read runs. */
export function reportHtml(runs: RunData[], assets: { js: string; css: string }, title = 'Early Exit Studio report'): string {
  // only the report's own script and style element carry the nonce: markup that ever got into the
  // page some other way (a broken escaper, a crafted run name) cannot run or style anything
  const nonce = randomBytes(18).toString('base64');
  const data: ReportData = { view: runs.length > 1 ? 'comparison' : 'results', runs, generatedAt: new Date().toISOString() };
  const js = assets.js.replace(/<\/script/gi, '<\\/script');
  const css = assets.css.replace(/<\/style/gi, '<\\/style');
  const nav = runs.length > 1
    ? [`<a href="#comparison">comparison</a>`, ...runs.map((r) => `<a href="#run-${escapeHtml(r.id)}">${escapeHtml(r.id)}</a>`)].join('')
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data: blob:; font-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">
${css}
</style>
</head>
<body class="ee-standalone">
<div id="ee-toolbar" class="ee-toolbar"><div><h1>${escapeHtml(title)}</h1><span class="ee-generated">${runs.length} run${runs.length === 1 ? '' : 's'} · generated ${escapeHtml(data.generatedAt)}</span></div><nav>${nav}</nav></div>
<div id="app"></div>
<script type="application/json" id="ee-data">${jsonForScript(data)}</script>
<script nonce="${nonce}">
${js}
</script>
</body>
</html>
`;
}

/** Reads the run folders and writes the self-contained report to `outFile`; returns what was read (with each run's problems). */
export async function writeReport(runDirs: string[], outFile: string, opts: ReportOptions = {}): Promise<RunData[]> {
  if (!runDirs.length) throw new Error('report: give at least one run folder');
  const assetsDir = opts.assetsDir ?? defaultAssetsDir();
  const jsFile = path.join(assetsDir, 'results.js');
  const cssFile = path.join(assetsDir, 'results.css');
  if (!fs.existsSync(jsFile)) throw new Error(`report: ${jsFile} is missing; run "npm run build" first`);
  const runs = runDirs.map((d) => readRunData(d));
  const html = reportHtml(runs, {
    js: await fs.promises.readFile(jsFile, 'utf8'),
    css: fs.existsSync(cssFile) ? await fs.promises.readFile(cssFile, 'utf8') : '',
  }, opts.title);
  await fs.promises.mkdir(path.dirname(path.resolve(outFile)), { recursive: true });
  const tmp = `${outFile}.${process.pid}.tmp`;
  try {
    await fs.promises.writeFile(tmp, html);
    await fs.promises.rename(tmp, outFile);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  return runs;
}
