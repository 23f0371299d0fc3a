/**
 * `early-exit deploy …`: the network of a finished run split over tiers (device, edge, cloud).
 * `plan` estimates from the run's own records, `measure` times every part here (for "measure
 * here" tiers), `run` executes the split for real over HTTP/2 on loopback and sets it beside the
 * estimate, `presets` lists the tier presets and their sources.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addSplitMeasurement, readRunDeployment, readSplitMeasurements, readTierSpeeds, writeTierSpeed } from '../../runs/deploy-files';
import { readResults, readSamples, RUN_FILES } from '../../runs/store';
import { ValidationError } from '../../spec/errors';
import { parseDeployment, parseJsonText } from '../../spec/experiment';
import type { ExitRule, RunResults, SampleRecords } from '../../spec/results';
import { compareSplit } from '../../spec/split-results';
import {
  backboneConfigOf, bestPlacement, bytesFront, defaultDeploymentFor, deploymentSweep, estimateDeployment, latencyFront, networkCostsOf, placementLabel, resolvePlan,
  type DeploymentPoint, type MeasuredSpeed, type ResolvedPlan,
} from '../../spec/tier-estimate';
import {
  computeText, formatBytes, formatMs, formatRate, MEASURE_BACKENDS, presetById, retier, TIER_PRESETS, cutNames, type DeploymentSpec,
} from '../../spec/tiers';
import { pct, renderTable } from '../format';
import { flagNumber, flagString, UsageError, type CliCommand, type ParsedArgs } from '../registry';
import { renderComparison, renderEstimate, renderFront, renderTiers } from '../deploy-format';
import { ruleFlag, thresholdFlag } from '../rule-flags';
import { signalExitCode } from '../errors';
import { onStopSignal, type StopSignal } from '../signals';


function runDirOf(args: ParsedArgs, needsModel = false): string {
  const dir = args.positional[0];
  if (!dir) throw new UsageError('missing the run folder');
  if (!fs.existsSync(path.join(dir, RUN_FILES.results))) throw new ValidationError(`${dir}: no ${RUN_FILES.results} (the run has not finished)`, dir);
  if (needsModel && !fs.existsSync(path.join(dir, RUN_FILES.model, 'model.json'))) {
    throw new ValidationError(`${dir}: no ${RUN_FILES.model}/model.json; running the network needs the trained model (deploy plan estimates without it)`, dir);
  }
  return path.resolve(dir);
}

/**
 * The deployment the flags describe, on top of the run's own (its experiment.json) or, without
 * one, the first preset placed as the paper's Figure 2: --preset or --tiers FILE replace the
 * tiers, --cut the cuts, --int8 / --quantization the quantisation.
 */
function deploymentFrom(args: ParsedArgs, dir: string, results: RunResults): DeploymentSpec {
  const backbone = backboneConfigOf(results);
  let d: DeploymentSpec = readRunDeployment(dir) ?? defaultDeploymentFor(results);
  const preset = flagString(args, 'preset');
  const tiersFile = flagString(args, 'tiers');
  if (preset && tiersFile) throw new UsageError('give --preset or --tiers, not both');
  const net = networkCostsOf(results);
  const onTiers = (next: Pick<DeploymentSpec, 'preset' | 'tiers'>) => retier(d, next, net.blocks.map((b) => b.id), net.exits.map((e) => e.block));
  if (preset) {
    const p = presetById(preset);
    if (!p) throw new ValidationError(`--preset: unknown preset "${preset}"; allowed: ${TIER_PRESETS.map((x) => x.id).join(', ')}`, 'preset');
    d = onTiers({ preset });
  }
  if (tiersFile) {
    let raw: unknown;
    try { raw = parseJsonText(fs.readFileSync(tiersFile, 'utf8'), tiersFile); } catch (e) {
      if (e instanceof ValidationError) throw e;
      throw new ValidationError(`--tiers: cannot read ${tiersFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'tiers');
    }
    const obj = raw as Record<string, unknown>;
    const tiers = Array.isArray(raw) ? raw : Array.isArray(obj?.tiers) ? obj.tiers : (obj?.deployment as Record<string, unknown> | undefined)?.tiers;
    if (!Array.isArray(tiers)) throw new ValidationError(`--tiers: ${tiersFile} must hold a list of tiers, { "tiers": [...] } or an experiment with deployment.tiers`, 'tiers');
    d = onTiers({ tiers: tiers as DeploymentSpec['tiers'] });
  }
  const cut = flagString(args, 'cut');
  if (cut) d = { ...d, cuts: cut.split(',').map((c) => c.trim()) };
  const q = args.flags.int8 ? 'int8' : flagString(args, 'quantization');
  if (q) d = { ...d, quantization: q as DeploymentSpec['quantization'] };
  try {
    return parseDeployment(d, backbone);
  } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError(`${e.message}${cut ? ' (--cut)' : ''}`, e.field);
    throw e;
  }
}

/** The rule and τ the plan routes with: --rule / --threshold, else the run's. */
function thresholdsFrom(args: ParsedArgs, results: RunResults, records: SampleRecords): { rule: ExitRule; thresholds: number[] } {
  const [rule] = ruleFlag(args, results, records);
  return { rule, thresholds: thresholdFlag(args, results.points.length) ?? results.thresholds };
}

/** Parses "50", "50ms", "1.5s" → ms. */
function parseMs(s: string, flag: string): number {
  const m = /^\s*([\d.]+)\s*(ms|s)?\s*$/i.exec(s);
  const v = m ? Number(m[1]) * (m[2]?.toLowerCase() === 's' ? 1000 : 1) : NaN;
  if (!(v > 0)) throw new ValidationError(`--${flag}: a positive time such as 50ms or 1.5s, got "${s}"`, flag);
  return v;
}

/** Parses "4096", "4KB", "1.5MB" (1 KB = 1000 bytes) → bytes. */
function parseBytes(s: string, flag: string): number {
  const m = /^\s*([\d.]+)\s*(b|kb|mb|gb)?\s*$/i.exec(s);
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9 };
  const v = m ? Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()] : NaN;
  if (!(v >= 0) || !Number.isFinite(v)) throw new ValidationError(`--${flag}: a size such as 4096, 4KB or 1.5MB, got "${s}"`, flag);
  return v;
}

function plan(dir: string, results: RunResults, d: DeploymentSpec): ResolvedPlan {
  return resolvePlan(results, d, readTierSpeeds(dir));
}

const PLAN_HELP = [
  'Estimates, from the run\'s own per-sample records, what splitting its network over tiers costs: per input where it',
  'leaves, the compute on each tier, the bytes across each link (float32 and int8) and the end-to-end latency.',
  '',
  '--preset P            tier preset (`early-exit deploy presets`); default: the run\'s experiment.json deployment, else phone-wifi-cloud',
  '--tiers FILE          tiers from a JSON file: a list of tiers, { "tiers": [...] }, or an experiment file with deployment.tiers',
  '--cut A,B             the last block each tier runs before each link ("input" = none), e.g. --cut block2,block6',
  '--int8                send feature maps quantised to 8 bits (default float32; --quantization float32|int8)',
  '--threshold T         one τ, or one per exit (default: the run\'s); --rule gate|confidence|entropy',
  '--sweep               every placement × τ (0, 0.05, …, 1): latency-vs-accuracy and bytes-vs-accuracy fronts',
  '--latency-budget MS   best placement within this latency (e.g. 40ms; --stat mean|p95, default mean)',
  '--bytes-budget B      best placement within this many bytes per input (e.g. 8KB)',
  '--json                everything as JSON',
].join('\n');

export const deployPlanCommand: CliCommand = {
  name: 'deploy plan',
  usage: 'deploy plan <rundir> [--preset P] [--cut A,B] [--sweep] [--json]',
  summary: 'Estimate a run\'s network split over tiers (device, edge, cloud): latency, bytes and accuracy from its records.',
  help: PLAN_HELP,
  async run(args) {
    const dir = runDirOf(args);
    const results = readResults(dir);
    const records = readSamples(dir, 'test');
    const d = deploymentFrom(args, dir, results);
    const p = plan(dir, results, d);
    const { rule, thresholds } = thresholdsFrom(args, results, records);
    const estimate = estimateDeployment(records, rule, thresholds, p.net, p.tiers, p.times, p.cuts, p.quantization);
    const stat = (flagString(args, 'stat') ?? 'mean') as 'mean' | 'p95';
    if (stat !== 'mean' && stat !== 'p95') throw new ValidationError(`--stat: "${stat}" is not allowed; allowed: mean, p95`, 'stat');
    const lb = flagString(args, 'latency-budget'), bb = flagString(args, 'bytes-budget');
    const budget = { latencyMs: lb !== undefined ? parseMs(lb, 'latency-budget') : undefined, bytesPerInput: bb !== undefined ? parseBytes(bb, 'bytes-budget') : undefined, stat };
    const wantSweep = !!args.flags.sweep || lb !== undefined || bb !== undefined;
    const sweep = wantSweep ? deploymentSweep(records, rule, p.net, p.tiers, p.times, p.quantization) : null;
    const best = sweep && (lb !== undefined || bb !== undefined) ? bestPlacement(sweep, budget) : null;
    const label = (x: DeploymentPoint | null) => (x ? { ...x, cuts: cutNames(x.cuts, p.net.blocks.map((b) => b.id)) } : null);
    if (args.flags.json) {
      console.log(JSON.stringify({
        deployment: d, profile: p.profile, tiers: p.tiers, cuts: p.cuts, estimate,
        sweep: sweep ? { points: sweep.length, latencyFront: latencyFront(sweep, stat).map(label), bytesFront: bytesFront(sweep).map(label), budget: lb !== undefined || bb !== undefined ? budget : null, best: label(best) } : null,
      }, null, 2));
      return 0;
    }
    console.log(`${results.backbone.label} ×${results.backbone.width} · ${results.method}${results.lambda !== null ? ` λ=${results.lambda}` : ''} · ${path.basename(dir)}\n`);
    console.log(renderTiers(p));
    console.log('');
    console.log(renderEstimate(estimate, p.net));
    if (sweep) {
      const placements = new Set(sweep.map((x) => x.cuts.join(','))).size;
      console.log(`\nbest placement per latency budget (${stat} latency; front of ${placements} placements × ${sweep.length / placements} τ, ${p.quantization}):`);
      console.log(renderFront(latencyFront(sweep, stat), p.net, stat));
      console.log(`\nbest placement per bytes budget (mean bytes per input over all links):`);
      console.log(renderFront(bytesFront(sweep), p.net, 'bytes'));
      if (lb !== undefined || bb !== undefined) {
        const what = [lb !== undefined ? `${stat} latency ≤ ${formatMs(budget.latencyMs!)}` : '', bb !== undefined ? `≤ ${formatBytes(budget.bytesPerInput!)} per input` : ''].filter(Boolean).join(' and ');
        console.log(best
          ? `\nwithin ${what}: cuts after ${placementLabel(best.cuts, p.net)} at τ = ${best.threshold.toFixed(2)} → accuracy ${pct(best.accuracy)}, mean ${formatMs(best.meanMs)}, p95 ${formatMs(best.p95Ms)}, ${formatBytes(best.bytesPerInput)} per input`
          : `\nwithin ${what}: no placement fits (the cheapest is ${formatMs(Math.min(...sweep.map((x) => (stat === 'mean' ? x.meanMs : x.p95Ms))))} / ${formatBytes(Math.min(...sweep.map((x) => x.bytesPerInput)))} per input)`);
      }
    }
    return 0;
  },
};

export const deployPresetsCommand: CliCommand = {
  name: 'deploy presets',
  usage: 'deploy presets [--json]',
  summary: 'List the tier presets (device, edge, cloud profiles) with the source of every figure.',
  help: 'A preset is a starting point with its sources, not a measurement of your hardware. --json prints the presets as the experiment file\'s "deployment.tiers" would hold them.',
  async run(args) {
    if (args.flags.json) {
      console.log(JSON.stringify(TIER_PRESETS, null, 2));
      return 0;
    }
    for (const p of TIER_PRESETS) {
      console.log(`${p.id} — ${p.label}\n  ${p.description}`);
      for (const t of p.tiers) {
        console.log(`  ${t.name}${t.label ? ` (${t.label})` : ''}: ${computeText(t.compute)}${t.source ? `\n      source: ${t.source}` : ''}`);
        if (t.link) console.log(`    → ${t.link.name}: ${formatRate(t.link.bitsPerSecond)}, RTT ${formatMs(t.link.rttMs)}${t.link.joulesPerByte ? `, ${(t.link.joulesPerByte * 1e6).toFixed(2)} µJ/byte` : ''}${t.link.source ? `\n      source: ${t.link.source}` : ''}`);
      }
      console.log('');
    }
    console.log('Presets are starting points with their sources, not measurements of your hardware. Write your own tiers in the experiment file\'s "deployment" section, or time this machine with `early-exit deploy measure`.');
    return 0;
  },
};

async function measureHere(dir: string, backend: string, images: number): Promise<MeasuredSpeed> {
  readTierSpeeds(dir); // a damaged tier-speed.json is named before the timing, not after it
  const { measureSpeedHere } = await import('../../deploy/split');
  const speed = await measureSpeedHere(dir, backend, { images });
  writeTierSpeed(dir, speed);
  return speed;
}

function backendFrom(args: ParsedArgs): string {
  const b = flagString(args, 'backend') ?? 'wasm';
  if (!(MEASURE_BACKENDS as readonly string[]).includes(b)) throw new ValidationError(`--backend: "${b}" is not allowed; allowed: ${MEASURE_BACKENDS.join(', ')}`, 'backend');
  return b;
}

export const deployMeasureCommand: CliCommand = {
  name: 'deploy measure',
  usage: 'deploy measure <rundir> [--backend B] [--images N]',
  summary: 'Time every block, exit and the final classifier of a run\'s model here at batch 1 (for "measure here" tiers).',
  help: 'Runs in a process set up as the split execution\'s tiers are (one wasm thread), on the first --images test inputs (default 50), five rounds after a warm-up; each part\'s median. Written to the run folder\'s tier-speed.json, which tiers with { "compute": { "measure": "<backend>" } } read. --backend wasm (default), cpu, native-cpu or gpu; --json.',
  async run(args) {
    const backend = backendFrom(args);
    const dir = runDirOf(args, true);
    const results = readResults(dir);
    const images = flagNumber(args, 'images') ?? 50;
    if (!(Number.isInteger(images) && images >= 1)) throw new ValidationError(`--images: a whole number ≥ 1, got ${images}`, 'images');
    const speed = await measureHere(dir, backend, images);
    if (args.flags.json) { console.log(JSON.stringify(speed, null, 2)); return 0; }
    const net = networkCostsOf(results);
    const rows = [
      ...net.blocks.map((b, i) => [b.id, (b.macs / 1e6).toFixed(2), speed.blockMs[i].toFixed(3), (b.macs / speed.blockMs[i] / 1e6).toFixed(2)]),
      ...net.exits.map((e, i) => [`exit ${e.point}`, (e.macs / 1e6).toFixed(3), speed.exitMs[i].toFixed(3), (e.macs / speed.exitMs[i] / 1e6).toFixed(2)]),
      ['final classifier', (net.classifierMacs / 1e6).toFixed(3), speed.classifierMs.toFixed(3), (net.classifierMacs / speed.classifierMs / 1e6).toFixed(2)],
    ];
    console.log(`${results.backbone.label} ×${results.backbone.width} on ${speed.backend} here, batch 1, median of ${speed.images} inputs × 5 rounds:`);
    console.log(renderTable(['part', 'M MACs', 'ms', 'G MAC/s'], rows));
    console.log(`\nwritten to ${path.join(dir, RUN_FILES.tierSpeed)}`);
    return 0;
  },
};

export const deployRunCommand: CliCommand = {
  name: 'deploy run',
  usage: 'deploy run <rundir> [--preset P] [--cut A,B] [--images N]',
  summary: 'Execute the split for real: one process per tier on 127.0.0.1 over HTTP/2, links shaped to the profile, measured beside the estimate.',
  help: [
    'Each tier is its own process that loads the run\'s model/ and runs only its blocks and exits; the device drives the',
    'first --images test images one at a time and sends the real feature map at the cut; each link goes through a',
    'shaper with the profile\'s rate and RTT (--no-shape: raw loopback). Every tier computes here, so the estimate it is',
    'set beside uses the profile\'s links and the speeds measured here (`deploy measure`, run first when missing;',
    '--remeasure to time again). Written to the run folder\'s split-measured.json. Ctrl-C stops every tier process.',
    '',
    '--preset P / --tiers FILE / --cut A,B / --int8 (--quantization Q) / --threshold T (--rule R)   the plan, as for `deploy plan`',
    '--images N   timed inputs, the first N test images (default 300)',
    '--warmup N   untimed inputs first (default 20)',
    '--no-shape   raw loopback instead of the profile\'s links',
    '--backend B  wasm (default), cpu, native-cpu or gpu for every tier',
    '--remeasure  time every part again before running (`deploy measure`)',
    '--json       the measurement and the comparison as JSON',
  ].join('\n'),
  async run(args) {
    const dir = runDirOf(args, true);
    const results = readResults(dir);
    const d = deploymentFrom(args, dir, results);
    const records = readSamples(dir, 'test');
    const { rule, thresholds } = thresholdsFrom(args, results, records);
    const backend = backendFrom(args);
    const images = flagNumber(args, 'images') ?? 300;
    const warmup = flagNumber(args, 'warmup') ?? 20;
    if (!(Number.isInteger(images) && images >= 1)) throw new ValidationError(`--images: a whole number ≥ 1, got ${images}`, 'images');
    if (!(Number.isInteger(warmup) && warmup >= 0)) throw new ValidationError(`--warmup: a whole number ≥ 0, got ${warmup}`, 'warmup');
    // a damaged split-measured.json is named now, not after the measurement it could not be added to
    readSplitMeasurements(dir);
    let speed = readTierSpeeds(dir)?.[backend];
    if (!speed || args.flags.remeasure) {
      process.stderr.write(`timing every part of the model on ${backend} here (deploy measure)…\n`);
      speed = await measureHere(dir, backend, 50);
    }
    const p = plan(dir, results, d);
    const { runSplit } = await import('../../deploy/split');
    const ac = new AbortController();
    // through the CLI's own signal routing: a listener of our own would run after the CLI's, which exits
    let stoppedBy: StopSignal | null = null;
    const release = onStopSignal((sig) => {
      if (stoppedBy) return;
      stoppedBy = sig;
      process.stderr.write('\nstopping the tier processes…\n');
      ac.abort();
    });
    let m;
    try {
      m = await runSplit({
        runDir: dir, tiers: p.tiers, profile: p.profile, cuts: p.cuts, quantization: p.quantization, rule, thresholds, backend, speed, images, warmup,
        shape: !args.flags['no-shape'], signal: ac.signal,
        onProgress: (done, total) => { if (process.stderr.isTTY) process.stderr.write(`\r${done}/${total} inputs`); },
      });
    } catch (e) {
      if (ac.signal.aborted) { console.error('stopped: nothing written'); return signalExitCode(stoppedBy ?? 'SIGINT'); }
      throw e;
    } finally {
      release();
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
    }
    addSplitMeasurement(dir, m);
    const rows = compareSplit(m, records);
    if (args.flags.json) { console.log(JSON.stringify({ measurement: m, comparison: rows }, null, 2)); return 0; }
    console.log(`${results.backbone.label} ×${results.backbone.width} split at ${m.cutNames.join(' | ')} (${p.quantization}), profile ${p.profile}\n`);
    console.log(renderTiers({ ...p, tiers: m.tiers }));
    console.log('');
    console.log(renderComparison(m, rows));
    console.log(`\nwritten to ${path.join(dir, RUN_FILES.splitMeasured)}`);
    return 0;
  },
};
