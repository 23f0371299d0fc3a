/** Paths every test tier shares, independent of how deep a test file sits in the tree. */
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
/** The real datasets beside the checkout (../shared/datasets); never committed. */
export const SHARED_DATASETS = path.resolve(ROOT, '..', 'shared', 'datasets');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
/** Stored screenshots that the report and VS Code suites compare theirs with (test/screenshots.ts). */
export const BASELINES = path.join(ROOT, 'test', 'baselines');
