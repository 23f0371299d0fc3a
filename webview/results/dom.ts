/** A tiny element builder (no framework) and number formatting shared by the views. */

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, string | number | boolean | undefined>, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Record<string, string | number | boolean | undefined>, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export const pct = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(digits)} %`);
export const pctOf = (v: number, digits = 1): string => `${v.toFixed(digits)} %`;

/** 41 300 000 → "41.3 M" */
export function macs(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(0);
}

/** A small chart card: title bar with export buttons, a fixed-height box for the canvas. */
export function chartCard(title: string, cls: string, onPng: () => void): { card: HTMLElement; canvas: HTMLCanvasElement } {
  const canvas = h('canvas', { role: 'img', 'aria-label': title });
  const btn = h('vscode-button', { secondary: true, class: 'ee-export', title: `Save "${title}" as PNG` }, 'PNG');
  btn.addEventListener('click', onPng);
  const card = h('div', { class: `ee-card ${cls}` }, h('div', { class: 'ee-card-bar' }, h('span', { class: 'ee-card-title' }, title), btn), h('div', { class: 'ee-chart-box' }, canvas));
  return { card, canvas };
}

export function button(label: string, onClick: () => void, opts: { secondary?: boolean; title?: string; cls?: string } = {}): HTMLElement {
  const b = h('vscode-button', { secondary: opts.secondary, title: opts.title, class: opts.cls }, label);
  b.addEventListener('click', onClick);
  return b;
}
