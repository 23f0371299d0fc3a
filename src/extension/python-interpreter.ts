/**
 * The interpreter the VS Code Python extension (ms-python.python) has selected for a resource,
 * through its public API, for the torch engine: `environments.getActiveEnvironmentPath` and
 * `resolveEnvironment` (the API of @vscode/python-extension), else the older
 * `settings.getExecutionDetails`. No `vscode` import: the caller hands in the extension object, so
 * the API's shapes are tested without VS Code. Anything unexpected means "no interpreter from
 * there" (the worker then tries python3), never an error.
 */

/** What vscode.extensions.getExtension returns, as far as this needs it. */
export interface ExtensionLike {
  isActive: boolean;
  exports: unknown;
  activate(): Thenable<unknown>;
}

interface PythonApi {
  environments?: {
    getActiveEnvironmentPath?(resource?: unknown): { path?: string } | undefined;
    resolveEnvironment?(env: unknown): Promise<{ executable?: { uri?: { fsPath?: string } } } | undefined>;
  };
  settings?: { getExecutionDetails?(resource?: unknown): { execCommand?: string[] } | undefined };
}

export const PYTHON_EXTENSION_ID = 'ms-python.python';

/** The executable the Python extension would run for `resource`, or undefined (not installed, nothing selected, an error, over `timeoutMs`). */
export async function interpreterFromPythonExtension(ext: ExtensionLike | undefined, resource?: unknown, timeoutMs = 5_000): Promise<string | undefined> {
  if (!ext) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const lookup = async (): Promise<string | undefined> => {
    const api = (ext.isActive ? ext.exports : await ext.activate()) as PythonApi | undefined;
    const envs = api?.environments;
    if (envs?.getActiveEnvironmentPath) {
      const active = envs.getActiveEnvironmentPath(resource);
      const resolved = envs.resolveEnvironment && active ? await envs.resolveEnvironment(active) : undefined;
      const exe = resolved?.executable?.uri?.fsPath ?? active?.path;
      return exe || undefined;
    }
    const cmd = api?.settings?.getExecutionDetails?.(resource)?.execCommand;
    // a single executable; a launcher with arguments (conda run …) is not an interpreter path
    return Array.isArray(cmd) && cmd.length === 1 && cmd[0] ? cmd[0] : undefined;
  };
  try {
    return await Promise.race([lookup(), new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), timeoutMs); })]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
