// Tier profiles, presets and placement (src/spec/tiers.ts) and the estimate over tiers from the
// per-sample records (src/spec/tier-estimate.ts): numbers checked against hand computations.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { describeBackbone } from '../../../src/spec/backbones';
import { ValidationError } from '../../../src/spec/errors';
import { costModel } from '../../../src/spec/exit-costs';
import { defaultExperiment, experimentSchema, parseDeployment, validateExperiment } from '../../../src/spec/experiment';
import type { SampleRecords } from '../../../src/spec/results';
import {
  bestPlacement, bytesFront, deploymentSweep, distributionOf, estimateDeployment, exitPaths, latencyFront, networkCostsOf, resolvePlan, tierTimes,
  type NetworkCosts,
} from '../../../src/spec/tier-estimate';
import {
  allPlacements, cutCounts, cutNames, defaultCutNames, defaultCuts, featureBytes, moveCut, placeCut, presetDeployment, retier, TIER_PRESETS, tierOfBlock, tierRanges, type TierProfile,
} from '../../../src/spec/tiers';
import { ROOT } from '../../paths';

const throwsField = (f: () => unknown, pattern: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof ValidationError && pattern.test((e as Error).message), `expected ${pattern}`);

test('every preset validates, names its tiers and gives a source for every figure', () => {
  const ids = describeBackbone({ name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 }).points.map((p) => p.id);
  assert.deepEqual(TIER_PRESETS.map((p) => p.id), ['phone-wifi-cloud', 'mcu-lora-cloud']);
  for (const p of TIER_PRESETS) {
    const d = presetDeployment(p.id, ids, [1, 3, 5]);
    assert.deepEqual(d.cuts, ['block2', 'block4'], 'Figure 2: the first exit on the device, the next on the edge');
    assert.equal(parseDeployment(d, { name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 }).preset, p.id);
    for (const t of p.tiers) {
      assert.ok(t.source && t.source.length > 20, `${p.id}/${t.name}: compute without a source`);
      if (t.link) assert.ok(t.link.source && t.link.source.length > 20, `${p.id}/${t.name}: link without a source`);
    }
    assert.equal(p.tiers[p.tiers.length - 1].link, undefined);
  }
  // LoRa's rate is the regional parameters' DR5, the phone's Wi-Fi Neurosurgeon's measured uplink
  assert.equal(TIER_PRESETS[1].tiers[0].link!.bitsPerSecond, 5470);
  assert.equal(TIER_PRESETS[0].tiers[0].link!.bitsPerSecond, 18.88e6);
});

test('the experiment file takes an optional deployment section; mistakes name the field', () => {
  const x = defaultExperiment('resnet18', 't');
  assert.equal(x.deployment, undefined, 'absent stays absent');
  const ok = validateExperiment({ ...x, deployment: { preset: 'phone-wifi-cloud', cuts: ['block2', 'block6'] } });
  assert.deepEqual(ok.deployment, { preset: 'phone-wifi-cloud', cuts: ['block2', 'block6'], quantization: 'float32' });
  const bad = (deployment: unknown, pattern: RegExp) => throwsField(() => validateExperiment({ ...x, deployment }), pattern);
  bad({ preset: 'laptop', cuts: [] }, /deployment\.preset: unknown preset "laptop"; allowed: phone-wifi-cloud, mcu-lora-cloud/);
  bad({ cuts: [] }, /deployment: give either "preset" .* or "tiers", not neither/);
  bad({ preset: 'phone-wifi-cloud', cuts: ['block2'] }, /deployment\.cuts: needs 2 cut\(s\), one per link between the 3 tiers, got 1/);
  bad({ preset: 'phone-wifi-cloud', cuts: ['block2', 'conv4'] }, /deployment\.cuts\[1\]: "conv4" is not a block; allowed: input, block1/);
  bad({ preset: 'phone-wifi-cloud', cuts: ['block6', 'block2'] }, /deployment\.cuts\[1\]: "block2" comes before the previous cut "block6"/);
  bad({ preset: 'phone-wifi-cloud', cuts: ['block2', 'block6'], quantization: 'fp16' }, /deployment\.quantization: "fp16" is not allowed; allowed: float32, int8/);
  const tiers = (over: Partial<TierProfile>[] = []): TierProfile[] => [
    { name: 'device', compute: { macsPerSecond: 1e9 }, link: { name: 'Wi-Fi', bitsPerSecond: 1e7, rttMs: 5 }, ...over[0] },
    { name: 'cloud', compute: { measure: 'wasm' }, ...over[1] },
  ];
  assert.equal(validateExperiment({ ...x, deployment: { tiers: tiers(), cuts: ['input'] } }).deployment!.tiers![1].compute.measure, 'wasm');
  bad({ tiers: tiers([{ compute: {} }]), cuts: ['block1'] }, /deployment\.tiers\[0\]\.compute: give either "macsPerSecond" \(e\.g\. 2e10\) or "measure"/);
  bad({ tiers: tiers([{ link: undefined }]), cuts: ['block1'] }, /deployment\.tiers\[0\]\.link: missing; every tier but the last needs the link/);
  bad({ tiers: tiers([{}, { link: { name: 'x', bitsPerSecond: 1, rttMs: 1 } }]), cuts: ['block1'] }, /deployment\.tiers\[1\]\.link: the last tier has no next tier/);
  bad({ tiers: tiers([{}, { name: 'device' }]), cuts: ['block1'] }, /deployment\.tiers\[1\]\.name: duplicate tier "device"/);
  bad({ tiers: tiers([{ link: { name: 'x', bitsPerSecond: 0, rttMs: 1 } }]), cuts: ['block1'] }, /deployment\.tiers\[0\]\.link\.bitsPerSecond: must be > 0/);
  bad({ tiers: tiers([{ compute: { measure: 'tpu' as never } }]), cuts: ['block1'] }, /deployment\.tiers\[0\]\.compute\.measure: "tpu" is not allowed/);
  // the generated schema is the one in the repository (npm run schema)
  const written = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/experiment.schema.json'), 'utf8'));
  assert.deepEqual(written, JSON.parse(JSON.stringify(experimentSchema)), 'schema/experiment.schema.json is stale: run npm run schema');
  assert.ok(written.properties.deployment.properties.tiers);
});

test('placement: cuts as block counts, tier ranges, every placement, moving a cut, Figure 2 defaults', () => {
  const ids = ['b1', 'b2', 'b3', 'b4'];
  assert.deepEqual(cutCounts(['input', 'b2'], ids), [0, 2]);
  assert.deepEqual(cutNames([0, 2], ids), ['input', 'b2']);
  assert.deepEqual(tierRanges([1, 3], 4), [[0, 1], [1, 3], [3, 4]]);
  assert.deepEqual([0, 1, 2, 3].map((b) => tierOfBlock([1, 3], b)), [0, 1, 1, 2]);
  assert.deepEqual([0, 1, 2, 3].map((b) => tierOfBlock([4, 4], b)), [0, 0, 0, 0], 'everything on the device');
  // 3 tiers over 8 blocks: C(10, 2) = 45 monotone placements
  assert.equal(allPlacements(3, 8).length, 45);
  assert.equal(allPlacements(2, 8).length, 9);
  assert.deepEqual(moveCut([1, 3], 0, +1, 4), [2, 3]);
  assert.equal(moveCut([3, 3], 0, +1, 4), null, 'a cut cannot pass the next one');
  assert.equal(moveCut([0, 3], 0, -1, 4), null);
  assert.deepEqual(moveCut([1, 3], 1, +5, 4), [1, 4], 'clamped to the last block');
  assert.deepEqual(defaultCuts([1, 3, 5], 8, 3), [2, 4]);
  assert.deepEqual(defaultCuts([5], 8, 3), [6, 6], 'one exit: device to it, the rest to the last tier');
  assert.deepEqual(defaultCuts([], 8, 2), [0]);
  assert.equal(featureBytes([8, 8, 32], 'float32'), 8192);
  assert.equal(featureBytes([8, 8, 32], 'int8'), 2048);
});

test('editing a plan: a cut placed past its neighbours moves them along; new tiers keep the cuts when the link count stays', () => {
  const ids = ['b1', 'b2', 'b3', 'b4', 'b5'];
  const plan = { preset: 'phone-wifi-cloud', cuts: ['b1', 'b3'], quantization: 'int8' as const };
  assert.deepEqual(placeCut(plan, ids, 0, 'b2'), { ...plan, cuts: ['b2', 'b3'] });
  assert.deepEqual(placeCut(plan, ids, 0, 'b5').cuts, ['b5', 'b5'], 'the device past the edge: the edge moves along');
  assert.deepEqual(placeCut(plan, ids, 1, 'input').cuts, ['input', 'input'], 'the edge before the device: the device moves along');
  assert.deepEqual(placeCut(plan, ids, 1, 'b4').cuts, ['b1', 'b4']);
  assert.deepEqual(placeCut({ ...plan, cuts: ['conv9', 'b3'] }, ids, 1, 'input').cuts, ['conv9', 'input'], 'a cut of another backbone stays as written (the validation names it)');
  // exits after b2 and b4 (indices 1, 3)
  assert.deepEqual(retier(plan, { preset: 'mcu-lora-cloud' }, ids, [1, 3]), { preset: 'mcu-lora-cloud', cuts: ['b1', 'b3'], quantization: 'int8' }, 'same link count: cuts kept');
  const phone = TIER_PRESETS.find((p) => p.id === 'phone-wifi-cloud')!;
  const two: TierProfile[] = [phone.tiers[0], phone.tiers[2]];
  assert.deepEqual(retier(plan, { tiers: two }, ids, [1, 3]), { tiers: two, cuts: ['b2'], quantization: 'int8' }, 'one link: Figure 2\'s cut after the first exit');
  assert.deepEqual(retier(null, { preset: 'phone-wifi-cloud' }, ids, [1, 3]), { preset: 'phone-wifi-cloud', cuts: ['b2', 'b4'], quantization: 'float32' }, 'no plan yet');
  assert.deepEqual(defaultCutNames(ids, [], 3), ['input', 'input'], 'no exits: everything after the input goes to the last tier');
  assert.throws(() => retier(plan, { preset: 'laptop' }, ids, [1, 3]), /deployment\.preset: unknown preset "laptop"; allowed: /);
});

/** A small network whose every figure is easy to follow by hand. */
const NET: NetworkCosts = {
  input: [2, 2, 1],
  blocks: [{ id: 'b0', macs: 1e6, shape: [2, 2, 2] }, { id: 'b1', macs: 2e6, shape: [1, 1, 4] }, { id: 'b2', macs: 3e6, shape: [1, 1, 4] }],
  exits: [{ point: 'b0', block: 0, macs: 1e5 }, { point: 'b1', block: 1, macs: 2e5 }],
  classifierMacs: 1e4,
};
const TIERS: TierProfile[] = [
  // 1 ms per M MACs; 8 000 bit/s = 1 byte per ms
  { name: 'device', compute: { macsPerSecond: 1e9 }, link: { name: 'radio', bitsPerSecond: 8000, rttMs: 10, joulesPerByte: 1e-6 } },
  { name: 'cloud', compute: { macsPerSecond: 1e10 } },
];
/** 4 inputs leaving at exit 0, exit 1, final, final (gate rule, τ = 0.5). */
const RECORDS: SampleRecords = {
  split: 'test', count: 4, labels: [1, 2, 3, 4],
  exits: [
    { point: 'b0', gate: [0.9, 0.1, 0.2, 0.3], pred: [1, 0, 0, 0], conf: [0, 0, 0, 0], entropy: [0, 0, 0, 0] },
    { point: 'b1', gate: [0.9, 0.8, 0.4, 0.1], pred: [0, 0, 0, 0], conf: [0, 0, 0, 0], entropy: [0, 0, 0, 0] },
  ],
  final: { pred: [0, 0, 3, 9], conf: [0, 0, 0, 0], entropy: [0, 0, 0, 0] }, softPred: null,
};

test('the estimate: per exit path, compute per tier, bytes per link, latency; distributions and totals', () => {
  const times = tierTimes(TIERS, NET, null);
  const e = estimateDeployment(RECORDS, 'gate', [0.5, 0.5], NET, TIERS, times, [1], 'float32');
  assert.deepEqual(e.counts, [1, 1, 2]);
  const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
  // exit 0 on the device: block 0 (1 ms) + its exit (0.1 ms), nothing sent
  near(e.paths[0].latencyMs, 1.1, 'exit 0');
  assert.deepEqual(e.paths[0].bytesFloat32, [0]);
  // exit 1 in the cloud: device 1.1 ms; 32 bytes of b0's map + a 20-byte answer = 52 ms + RTT 10; cloud b1 0.2 + exit 0.02
  near(e.paths[1].linkMs[0], 62, 'link');
  near(e.paths[1].latencyMs, 1.1 + 62 + 0.22, 'exit 1');
  // final: cloud also runs b2 (0.3) and the classifier (0.001)
  near(e.paths[2].latencyMs, 1.1 + 62 + 0.521, 'final');
  assert.deepEqual(e.paths[2].bytesFloat32, [32]);
  assert.deepEqual(e.paths[2].bytesInt8, [8]);
  near(e.latency.mean, (1.1 + 63.32 + 2 * 63.621) / 4, 'mean');
  near(e.latency.p50, 63.32, 'p50 (2nd of 4)');
  near(e.latency.p95, 63.621, 'p95 (4th of 4)');
  assert.deepEqual(e.tierStops, [1, 3]);
  assert.deepEqual(e.crossings, [3]);
  assert.equal(e.deviceShare, 0.25);
  assert.deepEqual(e.bytesPerInput, { float32: 24, int8: 6, chosen: 24 });
  assert.deepEqual(e.bytesPer1000, { perLink: [24000], total: 24000 });
  near(e.energyPerInputJ!, (3 * 32e-6) / 4, 'energy');
  near(e.computeMs[0], 1.1, 'device compute');
  assert.equal(e.accuracy, 0.5, 'inputs 0 (exit 0 says 1) and 2 (final says 3) are right');
  // int8: 8 bytes + answer = 28 ms on the link
  const q = estimateDeployment(RECORDS, 'gate', [0.5, 0.5], NET, TIERS, times, [1], 'int8');
  near(q.paths[1].linkMs[0], 38, 'int8 link');
  assert.equal(q.bytesPerInput.chosen, 6);
  // cut at the input: the raw 4-byte image crosses, everything runs in the cloud
  const raw = estimateDeployment(RECORDS, 'gate', [0.5, 0.5], NET, TIERS, times, [0], 'float32');
  assert.deepEqual(raw.paths.map((p) => p.bytesFloat32[0]), [4, 4, 4]);
  near(raw.paths[0].latencyMs, 10 + 24 + 0.11, 'exit 0 in the cloud');
  assert.equal(raw.deviceShare, 0);
  // everything on the device: nothing crosses
  const local = estimateDeployment(RECORDS, 'gate', [0.5, 0.5], NET, TIERS, times, [3], 'float32');
  assert.equal(local.deviceShare, 1);
  assert.equal(local.bytesPerInput.chosen, 0);
  near(local.paths[2].latencyMs, 1 + 2 + 3 + 0.1 + 0.2 + 0.01, 'final on the device');
  throwsField(() => estimateDeployment(RECORDS, 'gate', [0.5, 0.5], NET, TIERS, times, [2, 3], 'float32'), /needs 1 cut\(s\) for 2 tiers/);
});

test('distributions: nearest-rank percentiles of (value, count) pairs', () => {
  const d = distributionOf([10, 20, 30], [90, 5, 5]);
  assert.equal(d.p50, 10);
  assert.equal(d.p95, 20);
  assert.equal(d.p99, 30);
  assert.equal(d.mean, (900 + 100 + 150) / 100);
  assert.ok(Number.isNaN(distributionOf([]).mean));
});

test('the sweep over placements and τ, its fronts and the best placement for a budget', () => {
  const times = tierTimes(TIERS, NET, null);
  const grid = [0, 0.5, 1];
  const points = deploymentSweep(RECORDS, 'gate', NET, TIERS, times, 'float32', grid);
  assert.equal(points.length, 4 * grid.length, '4 placements of 2 tiers over 3 blocks × 3 τ');
  for (const p of points) {
    const e = estimateDeployment(RECORDS, 'gate', [p.threshold, p.threshold], NET, TIERS, times, p.cuts, 'float32');
    assert.equal(p.meanMs, e.latency.mean);
    assert.equal(p.p95Ms, e.latency.p95);
    assert.equal(p.accuracy, e.accuracy);
    assert.equal(p.bytesPerInput, e.bytesPerInput.chosen);
  }
  const front = latencyFront(points);
  for (let i = 1; i < front.length; i++) {
    assert.ok(front[i].meanMs >= front[i - 1].meanMs && front[i].accuracy > front[i - 1].accuracy, 'a front is sorted by cost, each point more accurate');
  }
  for (const p of points) assert.ok(front.some((f) => f.meanMs <= p.meanMs && f.accuracy >= p.accuracy), 'every point is at best as good as a point of the front');
  assert.ok(bytesFront(points).every((p) => p.bytesPerInput >= 0));
  // within 5 ms only the device-only placements fit
  const best = bestPlacement(points, { latencyMs: 5 })!;
  assert.deepEqual(best.cuts, [3]);
  assert.ok(best.meanMs <= 5);
  assert.equal(best.accuracy, Math.max(...points.filter((p) => p.meanMs <= 5).map((p) => p.accuracy)));
  assert.equal(bestPlacement(points, { latencyMs: 0.5 }), null, 'nothing fits');
  assert.equal(bestPlacement(points, { bytesPerInput: 0 })!.bytesPerInput, 0);
  const p95 = bestPlacement(points, { latencyMs: 7, stat: 'p95' })!;
  assert.ok(p95.p95Ms <= 7);
});

test('a run\'s network from its results: block MACs and shapes from the catalogue, each exit\'s head and gate from γ_b', () => {
  const backbone = { name: 'resnet18' as const, width: 0.25, input: [32, 32, 3] as [number, number, number], classes: 10 };
  const exits = [{ point: 'block2', head: { kind: 'pool' as const }, gate: { hidden: 0 } }, { point: 'block6', head: { kind: 'conv-pool' as const }, gate: { hidden: 8 } }];
  const c = costModel({ backbone, exits, gated: true });
  const net = networkCostsOf({ backbone, costs: { exits: c.exits, final: c.final, full: c.full }, points: ['block2', 'block6'] });
  const desc = describeBackbone(backbone);
  assert.equal(net.blocks.reduce((s, b) => s + b.macs, 0), desc.points[7].macs);
  assert.deepEqual(net.blocks[5].shape, desc.points[5].shape);
  assert.deepEqual(net.exits.map((e) => e.macs), [c.headMacs[0] + c.gateMacs[0], c.headMacs[1] + c.gateMacs[1]]);
  assert.deepEqual(net.exits.map((e) => e.block), [1, 5]);
  assert.equal(net.classifierMacs, desc.total - desc.points[7].macs);
  // a full pass costs what the cost model says it does
  const paths = exitPaths(net, TIERS, tierTimes(TIERS, net, null), [8], 'float32');
  assert.ok(Math.abs(paths[2].macs[0] - c.final) < 1e-6);
});

test('"measure here" tiers need the run\'s measured speeds, and say how to get them', () => {
  const tiers: TierProfile[] = [{ ...TIERS[0], compute: { measure: 'wasm' } }, TIERS[1]];
  throwsField(() => tierTimes(tiers, NET, null), /tier "device" computes at the speed measured here on wasm.*early-exit deploy measure <run> --backend wasm/);
  const speed = { backend: 'wasm', blockMs: [0.5, 0.25, 0.125], exitMs: [0.01, 0.02], classifierMs: 0.001, images: 3, measuredAt: '' };
  const t = tierTimes(tiers, NET, { wasm: speed });
  assert.deepEqual(t[0].blockMs, [0.5, 0.25, 0.125]);
  throwsField(() => tierTimes(tiers, NET, { wasm: { ...speed, blockMs: [1] } }), /has 1 blocks and 2 exits, the network 3 and 2; measure again/);
  // resolvePlan: preset tiers, cuts as counts
  const run = { backbone: { name: 'resnet18', label: 'ResNet-18', width: 0.125, input: [32, 32, 3], classes: 10 }, costs: { exits: [1, 2], final: 3, full: 3 }, points: ['block2', 'block4'] };
  const plan = resolvePlan(run, { preset: 'mcu-lora-cloud', cuts: ['block2', 'block8'], quantization: 'int8' });
  assert.deepEqual(plan.cuts, [2, 8]);
  assert.equal(plan.profile, 'mcu-lora-cloud');
  assert.equal(plan.times[0].blockMs.length, 8);
});
