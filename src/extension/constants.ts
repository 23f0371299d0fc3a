/** Ids contributed in package.json, mirrored so code never spells them twice. */

export const EXTENSION_ID = 'early-exit-studio.early-exit-studio';

export const Commands = {
  newExperiment: 'earlyExit.newExperiment',
  selectBackbone: 'earlyExit.selectBackbone',
  train: 'earlyExit.train',
  stopTraining: 'earlyExit.stopTraining',
  openResults: 'earlyExit.openResults',
  compareRuns: 'earlyExit.compareRuns',
  exportResults: 'earlyExit.exportResults',
  refreshRuns: 'earlyExit.refreshRuns',
  stopRun: 'earlyExit.stopRun',
  resumeRun: 'earlyExit.resumeRun',
  revealRun: 'earlyExit.revealRun',
  deleteRun: 'earlyExit.deleteRun',
  editExitHead: 'earlyExit.editExitHead',
  editExitGate: 'earlyExit.editExitGate',
  editRecipe: 'earlyExit.editRecipe',
  chooseTierPreset: 'earlyExit.chooseTierPreset',
  moveCutUp: 'earlyExit.moveCutUp',
  moveCutDown: 'earlyExit.moveCutDown',
  moveCutHere: 'earlyExit.moveCutHere',
  removeTierPlan: 'earlyExit.removeTierPlan',
} as const;
export type CommandId = (typeof Commands)[keyof typeof Commands];

export const ViewContainer = 'earlyExit';
export const Views = {
  branches: 'earlyExit.branches',
  runs: 'earlyExit.runs',
} as const;

/** Settings under the `earlyExit.` section. */
export const Settings = {
  section: 'earlyExit',
  runsDirectory: 'runsDirectory',
  backend: 'backend',
  workerNodePath: 'workerNodePath',
  pythonPath: 'pythonPath',
  maxParallelRuns: 'maxParallelRuns',
} as const;

/** Glob of experiment files. */
export const EXPERIMENT_GLOB = '**/*.exits.json';
export const EXPERIMENT_SUFFIX = '.exits.json';

/** `contextValue`s of tree items, used by `view/item/context` menus. */
export const ViewItems = {
  backbone: 'backbone',
  point: 'exitPoint',
  placedExit: 'placedExit',
  /** Children of a placed exit: its head f_b, its gate g_b and its cost γ_b. */
  exitHead: 'exitHead',
  exitGate: 'exitGate',
  exitCost: 'exitCost',
  /** The method's node and, under it, one training recipe each. */
  method: 'method',
  recipe: 'recipe',
  experiment: 'experiment',
  sweep: 'sweep',
  /** Followed by `.<state>`: `run.running`, `run.finished`, … */
  run: 'run',
  problem: 'problem',
  /** The plan over tiers, and a cut between two tiers (followed by `.up` / `.down` where it can move). */
  tiers: 'tiers',
  tierCut: 'tierCut',
} as const;
