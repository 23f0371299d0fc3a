/** Chart colours from the `--vscode-*` variables, with fallbacks for a page outside VS Code. */

export interface Palette {
  dark: boolean;
  background: string;
  foreground: string;
  muted: string;
  grid: string;
  /** One colour per series (exits, runs). */
  series: string[];
  current: string;
  threshold: string;
  pareto: string;
}

export function isDarkTheme(): boolean {
  const c = document.body.classList;
  return c.contains('vscode-dark') || c.contains('vscode-high-contrast');
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  return style.getPropertyValue(name).trim() || fallback;
}

export function readPalette(): Palette {
  const s = getComputedStyle(document.body);
  const dark = isDarkTheme();
  const v = (name: string, light: string, darkFallback: string) => cssVar(s, name, dark ? darkFallback : light);
  return {
    dark,
    background: v('--vscode-editor-background', '#ffffff', '#1e1e1e'),
    foreground: v('--vscode-editor-foreground', '#3b3b3b', '#cccccc'),
    muted: v('--vscode-descriptionForeground', '#717171', '#9d9d9d'),
    grid: v('--vscode-editorWidget-border', '#d4d4d4', '#454545'),
    series: [
      v('--vscode-charts-blue', '#1a85ff', '#3794ff'),
      v('--vscode-charts-orange', '#d18616', '#d18616'),
      v('--vscode-charts-green', '#388a34', '#89d185'),
      v('--vscode-charts-purple', '#652d90', '#b180d7'),
      v('--vscode-charts-red', '#e51400', '#f14c4c'),
      v('--vscode-charts-yellow', '#bf8803', '#cca700'),
    ],
    current: v('--vscode-charts-red', '#e51400', '#f14c4c'),
    threshold: v('--vscode-charts-red', '#e51400', '#f14c4c'),
    pareto: v('--vscode-charts-foreground', '#616161', '#cccccc'),
  };
}

/** Calls `onChange` when VS Code (or the report's toggle) switches the body's theme class. */
export function onThemeChange(onChange: () => void): () => void {
  let last = document.body.className;
  const obs = new MutationObserver(() => {
    if (document.body.className === last) return;
    last = document.body.className;
    onChange();
  });
  obs.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  return () => obs.disconnect();
}

/** `#rrggbb` or any CSS colour with an alpha; non-hex colours are returned as they are. */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  return color + Math.round(alpha * 255).toString(16).padStart(2, '0');
}
