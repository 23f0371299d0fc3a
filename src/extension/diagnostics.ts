/**
 * Problems of experiment files, as the core parser reports them: one diagnostic per open
 * `*.exits.json` document, placed at the JSON path the error names (or the line and column of a
 * syntax error), updated as the document changes.
 */
import * as vscode from 'vscode';
import { isExperimentFile } from './branchesTree';
import { locateField, readExperiment } from './experimentFile';

export const DIAGNOSTIC_SOURCE = 'Early Exit';

/** The diagnostic for an experiment document, or undefined when it parses. */
export function experimentDiagnostic(doc: vscode.TextDocument): vscode.Diagnostic | undefined {
  const text = doc.getText();
  const read = readExperiment(text, vscode.workspace.asRelativePath(doc.uri));
  if (read.ok) return undefined;
  const d = new vscode.Diagnostic(rangeOf(doc, text, read.error, read.field), read.error, vscode.DiagnosticSeverity.Error);
  d.source = DIAGNOSTIC_SOURCE;
  if (read.field) d.code = read.field;
  return d;
}

function rangeOf(doc: vscode.TextDocument, text: string, error: string, field: string | undefined): vscode.Range {
  const at = locateField(text, field);
  if (at) return new vscode.Range(doc.positionAt(at.start), doc.positionAt(at.end));
  const m = /at line (\d+), column (\d+)/.exec(error);
  if (m) {
    const pos = new vscode.Position(Math.max(0, Number(m[1]) - 1), Math.max(0, Number(m[2]) - 1));
    return new vscode.Range(pos, pos.translate(0, 1));
  }
  return doc.lineAt(0).range;
}

/** Keeps a DiagnosticCollection in step with the open experiment documents. */
export function registerExperimentDiagnostics(): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('earlyExit');
  const update = (doc: vscode.TextDocument) => {
    if (!isExperimentFile(doc.uri)) return;
    const d = experimentDiagnostic(doc);
    collection.set(doc.uri, d ? [d] : []);
  };
  for (const doc of vscode.workspace.textDocuments) update(doc);
  return vscode.Disposable.from(
    collection,
    vscode.workspace.onDidOpenTextDocument(update),
    vscode.workspace.onDidChangeTextDocument((e) => update(e.document)),
    vscode.workspace.onDidCloseTextDocument((doc) => collection.delete(doc.uri)),
  );
}
