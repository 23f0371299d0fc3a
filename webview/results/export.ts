/**
 * Saving what the views produce: in VS Code the host asks where to save (`exportFile`); in the
 * standalone report the browser downloads it through a link.
 */
import type { ExportKind } from '../../src/protocol/webview';
import type { HostApi } from '../vscode-api';

export type Exporter = (kind: ExportKind, suggestedName: string, data: string) => void;

const MIME: Record<ExportKind, string> = { png: 'image/png', csv: 'text/csv', json: 'application/json' };

export function hostExporter(api: HostApi): Exporter {
  return (kind, suggestedName, data) => api.postMessage({ type: 'exportFile', kind, suggestedName, data });
}

/** `data` is base64 for PNG and text otherwise (same convention as the protocol). */
export function downloadExporter(): Exporter {
  return (kind, suggestedName, data) => {
    const href = kind === 'png'
      ? `data:${MIME.png};base64,${data}`
      : URL.createObjectURL(new Blob([data], { type: MIME[kind] + ';charset=utf-8' }));
    const a = document.createElement('a');
    a.href = href;
    a.download = suggestedName;
    a.className = 'ee-download';
    document.body.appendChild(a);
    a.click();
    a.remove();
    if (kind !== 'png') setTimeout(() => URL.revokeObjectURL(href), 10_000);
  };
}

export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'export';
}
