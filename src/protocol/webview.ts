/**
 * The message protocol between the extension host and the results / comparison webviews, and the
 * data the standalone report embeds. Type-only: the host, the webview bundle and the report all
 * import it. Webview → host messages are imperatives; host → webview messages are `did*`
 * notifications. The webview posts `ready` once its listeners are in place; the host queues every
 * notification until then.
 */
import type { RunResults, SampleRecords } from '../spec/results';
import type { EpochMetrics, RunStatus } from '../spec/run-types';
import type { SplitMeasurement } from '../spec/split-results';
import type { TierSpeeds } from '../spec/tier-estimate';
import type { DeploymentSpec } from '../spec/tiers';

/** Another run drawn as a single point on a run's trade-off chart. */
export interface RelatedPoint {
  id: string;
  /** "baseline" (no exits: full cost), or "sweep" (another λ of the same sweep group). */
  role: 'baseline' | 'sweep';
  label: string;
  lambda: number | null;
  accuracy: number;
  averageMacs: number;
  averageMacsPct: number;
}

/** Everything one results view needs, read from one run folder. */
export interface RunData {
  /** Folder name (the run id). */
  id: string;
  /** Absolute path of the run folder on the host (used by `openRun`). */
  runDir: string;
  /** null while the run has not been evaluated yet (training, failed, cancelled). */
  results: RunResults | null;
  samples: SampleRecords | null;
  validation: SampleRecords | null;
  metrics: EpochMetrics[];
  status: RunStatus | null;
  /** Problems met while reading the folder (corrupt metrics lines, missing files). */
  problems: string[];
  /** Baseline and λ-sweep runs of the same group, for the trade-off chart. */
  related: RelatedPoint[];
  /**
   * The exits' points in network order, from experiment.json, so that the curves of a run that is
   * still training name its exits as the finished run's views do (null when unreadable).
   */
  points: string[] | null;
  /** The run split over tiers: its plan, the speeds measured here, the split executions (absent in older data). */
  deploy?: DeployData;
}

/** Where a run's deployment plan comes from. */
export interface DeploymentState {
  /** null: no plan anywhere yet (the view starts from the first preset, unsaved) */
  deployment: DeploymentSpec | null;
  /** "workspace": the experiment file the host found for the run (edits are saved there); "run": the run's experiment.json */
  source: 'workspace' | 'run' | 'none';
  /** the experiment file, relative to the workspace, when source is "workspace" (or when one was found without a plan) */
  file?: string;
  /** why the plan could not be read, if it could not */
  problem?: string;
}

export interface DeployData extends DeploymentState {
  speeds: TierSpeeds | null;
  measured: SplitMeasurement[];
}

/** Which view a webview shows; also what `setState` keeps for restore after reload. */
export type ViewKind = 'results' | 'comparison';

/** Threshold state of one results view: one τ for every exit, or one per exit. */
export interface ThresholdState {
  mode: 'shared' | 'perExit';
  thresholds: number[];
}

/** Persisted with `vscode.setState` and handed to the panel serializer after a reload. */
export interface WebviewState {
  view: ViewKind;
  runDirs: string[];
  /** Per run id. */
  thresholds: Record<string, ThresholdState>;
}

export type ExportKind = 'png' | 'csv' | 'json';

/** Webview → host. */
export type WebviewMessage =
  /** The webview's listeners are in place: the host may flush its queue. */
  | { type: 'ready' }
  /** The user moved the threshold control of run `runId` (kept for restore; informational). */
  | { type: 'setThreshold'; runId: string; state: ThresholdState }
  /**
   * Save a file the webview produced. `data` is base64 for `png` (no `data:` prefix) and UTF-8
   * text otherwise. The host asks where to save it.
   */
  | { type: 'exportFile'; kind: ExportKind; suggestedName: string; data: string }
  /** Open the results view of one run (from the comparison view). */
  | { type: 'openRun'; runDir: string }
  /** The user changed the tier plan in the panel (preset, cuts, quantisation): the host saves it to the run's experiment file. */
  | { type: 'setDeployment'; runId: string; deployment: DeploymentSpec }
  /** Forward a webview-side problem to the output channel. */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

/** Host → webview. */
export type HostMessage =
  | { type: 'didLoadRun'; run: RunData; thresholds?: ThresholdState }
  | { type: 'didAppendMetrics'; runId: string; metrics: EpochMetrics[] }
  | { type: 'didUpdateStatus'; runId: string; status: RunStatus }
  | { type: 'didLoadComparison'; runs: RunData[] }
  /** An `exportFile` ended: saved at `path`, or not saved (`path` null: cancelled, or `error`). */
  | { type: 'didExport'; kind: ExportKind; path: string | null; error?: string }
  /** The run's tier plan changed (the experiment file was edited, e.g. a cut moved in the Branches view). */
  | { type: 'didUpdateDeployment'; runId: string; state: DeploymentState };

/** What the standalone report embeds as JSON (instead of receiving messages). */
export interface ReportData {
  view: ViewKind;
  runs: RunData[];
  generatedAt: string;
}
