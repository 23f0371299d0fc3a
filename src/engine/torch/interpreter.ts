/**
 * Which Python runs the torch engine, in the order a user expects: the extension's
 * `earlyExit.pythonPath` setting, then `EARLY_EXIT_PYTHON`, then the interpreter the VS Code
 * Python extension has selected for the workspace (the extension host resolves it through that
 * extension's public API and passes it on), else `python3` on PATH (`python` on Windows).
 */
import type { PythonChoice } from './process';

export interface InterpreterHints {
  /** earlyExit.pythonPath */
  setting?: string;
  /** the Python extension's selected interpreter */
  pythonExtension?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

export function chooseInterpreter(h: InterpreterHints = {}): PythonChoice {
  const env = h.env ?? process.env;
  if (h.setting?.trim()) return { command: h.setting.trim(), source: 'earlyExit.pythonPath' };
  if (env.EARLY_EXIT_PYTHON?.trim()) return { command: env.EARLY_EXIT_PYTHON.trim(), source: 'EARLY_EXIT_PYTHON' };
  if (h.pythonExtension?.trim()) return { command: h.pythonExtension.trim(), source: "the Python extension's selected interpreter" };
  const py = (h.platform ?? process.platform) === 'win32' ? 'python' : 'python3';
  return { command: py, source: `${py} on PATH` };
}
