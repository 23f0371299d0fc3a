/**
 * What the webview tests in headless Chromium share: the webview bundled exactly as
 * scripts/build.mjs does, and the results panel's own HTML (strict CSP, nonce) as VS Code hosts
 * it, with file: standing in for the webview origin and a stand-in acquireVsCodeApi that records
 * what the webview posts (window.__sent) and keeps its state (window.__state).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { webviewHtml } from '../../../src/extension/panels/messages';
import { ROOT } from '../../paths';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Bundles webview/results/main.ts and copies its CSS into `dir`/assets; returns that folder. */
export async function bundleWebview(dir: string): Promise<string> {
  const assets = path.join(dir, 'assets');
  await build({ entryPoints: [path.join(ROOT, 'webview/results/main.ts')], outfile: path.join(assets, 'results.js'), bundle: true, platform: 'browser', format: 'iife', target: 'es2022', minify: true, logLevel: 'error' });
  fs.copyFileSync(path.join(ROOT, 'media/results.css'), path.join(assets, 'results.css'));
  return assets;
}

/** Writes `dir`/hosted.html: the panel's page in a dark theme, loading `dir`/assets; returns its path. */
export function writeHostedPage(dir: string): string {
  const hosted = path.join(dir, 'hosted.html');
  const stub = `<script nonce="n0nce">window.__sent = []; window.__state = undefined; window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
// VS Code puts its theme variables on <html> through the CSSOM (allowed by the CSP); so do we.
for (const [k, v] of Object.entries({ 'editor-background': '#1e1e1e', 'editor-foreground': '#d4d4d4', foreground: '#cccccc', 'descriptionForeground': '#9d9d9d',
  'editorWidget-background': '#252526', 'editorWidget-border': '#454545', 'widget-border': '#303031', 'button-background': '#0e639c', 'button-foreground': '#ffffff',
  'button-secondaryBackground': '#3a3d41', 'button-secondaryForeground': '#cccccc', 'settings-textInputBackground': '#292929', 'settings-textInputForeground': '#cccccc',
  'settings-dropdownBackground': '#3c3c3c', 'settings-dropdownForeground': '#f0f0f0', 'charts-blue': '#3794ff', 'charts-red': '#f14c4c' })) document.documentElement.style.setProperty('--vscode-' + k, v);
window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__sent.push(m), getState: () => window.__state, setState: (s) => { window.__state = s; } });</script>\n`;
  const html = webviewHtml({ cspSource: 'file:', nonce: 'n0nce', scriptUri: 'assets/results.js', styleUri: 'assets/results.css', title: 'Results' });
  fs.writeFileSync(hosted, html.replace('<body>', '<body class="vscode-dark">').replace('<script nonce', stub + '<script nonce'));
  return hosted;
}
