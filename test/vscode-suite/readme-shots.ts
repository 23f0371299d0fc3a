/**
 * The README's "Use it in VS Code" screenshots: the one place that names them and says where they
 * go. The walkthrough test (walkthrough.test.ts) takes each scene in each theme inside the
 * integration suite, so they show the extension as it is; `npm run screenshots` writes them into
 * docs/screenshots (EARLY_EXIT_SCREENSHOTS), a plain suite run into test-results/readme.
 * test/unit/docs/readme.test.ts checks that the README shows exactly these files and that they exist.
 * (Whoever compares screenshots with baselines: this list and `readmeShotPath` are the hook.)
 */
import { join } from 'node:path';

/** Scenes in the order the README shows them. */
export const README_SCENES = ['experiment', 'training', 'results', 'compare'] as const;
export const README_THEMES = ['light', 'dark'] as const;
export type ReadmeScene = (typeof README_SCENES)[number];
export type ReadmeTheme = (typeof README_THEMES)[number];

/** The colour theme each README theme is taken in (VS Code's defaults). */
export const THEME_IDS: Record<ReadmeTheme, string> = { light: 'Default Light Modern', dark: 'Default Dark Modern' };

/** Where the README links them, relative to the repository root. */
export const README_SHOTS_DIR = 'docs/screenshots';

export const readmeShotName = (scene: ReadmeScene, theme: ReadmeTheme) => `${scene}-${theme}.png`;

/** Every README screenshot file name. */
export const README_SHOTS: readonly string[] = README_SCENES.flatMap((s) => README_THEMES.map((t) => readmeShotName(s, t)));

/** Folder the walkthrough writes them into: EARLY_EXIT_SCREENSHOTS, else `<results>/readme`. */
export function readmeShotDir(env: NodeJS.ProcessEnv, results: string): string {
  return env.EARLY_EXIT_SCREENSHOTS || join(results, 'readme');
}
