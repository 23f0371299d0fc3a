// Mutation testing of the core (`npm run test:mutation`; README "Tests"): Stryker changes one
// operator, constant or condition at a time in the files below and reruns the unit tests that
// cover it; a mutant no test notices ("survived") is behaviour the suite does not pin down.
// One file while iterating: `npm run test:mutation -- --mutate src/engine/tfjs/paper.ts`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'src/engine/tfjs/paper.ts',
    'src/engine/tfjs/loss.ts',
    'src/engine/tfjs/exit-evaluator.ts',
    'src/spec/analysis.ts',
    'src/spec/experiment.ts',
    'src/spec/exit-costs.ts',
    'src/spec/backbones.ts',
  ],
  // the sandbox copies the checkout; the VS Code download and the datasets stay out of it
  ignorePatterns: ['.vscode-test', 'dist', 'bench/out', 'reports'],
  testRunner: 'tap',
  tap: {
    // each file runs as `node -r <stryker hook> --import tsx <file>` and reports TAP; per-test
    // coverage then means per file: a mutant reruns only the files that execute its line
    // (real-data.test.ts is left out: one epoch of MNIST per mutant, and the datasets sit
    // beside the checkout, not in Stryker's sandbox)
    testFiles: [
      'test/unit/engine/!(real-data).test.ts',
      'test/unit/spec/*.test.ts',
      'test/unit/accel/host-layers.test.ts',
    ],
    nodeArgs: ['--import', 'tsx'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  // the machine is shared: one test process at a time
  concurrency: 1,
  // tfjs on the cpu backend: a mutant that makes a loop endless is stopped and counted killed
  timeoutMS: 60000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 85, low: 70, break: null },
};
