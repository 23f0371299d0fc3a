// Mutation testing of the core (`npm run test:mutation`, scripts/mutation.mjs; README "Tests"): Stryker
// changes one operator, constant or condition at a time in a file below and reruns the unit tests
// that cover the changed line; a mutant no test notices ("survived") is behaviour the suite does not
// pin down. Each file is mutated in its own Stryker run against the test files that are about it
// (EARLY_EXIT_MUTATE=<file>, set by the driver): a mutant of the parser then never waits for a
// training test. Without EARLY_EXIT_MUTATE (`npx stryker run`) every file runs against every listed test.

/** The files under test and the unit tests that are about each. */
export const TARGETS = {
  'src/engine/tfjs/paper.ts': ['test/unit/engine/paper.test.ts', 'test/unit/engine/loss.test.ts'],
  'src/engine/tfjs/loss.ts': ['test/unit/engine/loss.test.ts', 'test/unit/engine/paper.test.ts'],
  'src/engine/tfjs/exit-evaluator.ts': ['test/unit/engine/hard-exits.test.ts', 'test/unit/engine/exit-evaluator.test.ts', 'test/unit/engine/engine.test.ts', 'test/unit/engine/fold-bn.test.ts', 'test/unit/accel/host-layers.test.ts'],
  'src/spec/analysis.ts': ['test/unit/spec/analysis.test.ts'],
  'src/spec/experiment.ts': ['test/unit/spec/experiment.test.ts', 'test/unit/spec/experiment-reliability.test.ts', 'test/unit/extension/experiment-file.test.ts', 'test/unit/spec/recipes.test.ts', 'test/unit/spec/tiers.test.ts'],
  'src/spec/exit-costs.ts': ['test/unit/spec/costs.test.ts', 'test/unit/engine/engine.test.ts', 'test/unit/engine/loss.test.ts', 'test/unit/extension/views.test.ts'],
  'src/spec/backbones.ts': ['test/unit/spec/costs.test.ts', 'test/unit/engine/engine.test.ts', 'test/unit/engine/loss.test.ts', 'test/unit/extension/views.test.ts', 'test/unit/spec/experiment.test.ts'],
};

const one = process.env.EARLY_EXIT_MUTATE;
if (one && !TARGETS[one]) throw new Error(`EARLY_EXIT_MUTATE: ${one} is not one of ${Object.keys(TARGETS).join(', ')}`);
const name = one ? one.split('/').pop().replace(/\.ts$/, '') : 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: one ? [one] : Object.keys(TARGETS),
  // the sandbox copies the checkout; the VS Code download and build outputs stay out of it
  ignorePatterns: ['.vscode-test', 'dist', 'bench/out', 'reports', 'test-results'],
  testRunner: 'tap',
  tap: {
    // each file runs as `node -r <stryker hook> --import tsx <file>` and reports TAP; per-test
    // coverage then means per file: a mutant reruns only the listed files that execute its line
    testFiles: one ? TARGETS[one] : [...new Set(Object.values(TARGETS).flat())],
    nodeArgs: ['--import', 'tsx'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  // the machine is shared: one test process at a time
  concurrency: 1,
  // tfjs on the cpu backend under load: a mutant that makes a loop endless is stopped and counted killed
  timeoutMS: 60000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  // later runs retest only the mutants whose code or covering tests changed (`-- --force`: all of them)
  incremental: true,
  incrementalFile: `reports/mutation/incremental-${name}.json`,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 85, low: 70, break: null },
};
