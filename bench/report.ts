/**
 * BENCHMARKS.md from the raw figures (BENCHMARKS.json, bench/gpu/result.json).
 *   node --import tsx bench/report.ts [results.json] [out.md]   re-renders without re-measuring
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

type J = Record<string, any>;

const f = (v: unknown, d = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '—');
const pct = (v: unknown, d = 1) => (typeof v === 'number' ? `${(100 * v).toFixed(d)} %` : '—');
const pp = (v: unknown) => (typeof v === 'number' ? `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(1)} pt` : '—');
const LABEL: Record<string, string> = { resnet18: 'ResNet-18', vgg13: 'VGG-13', alexnet: 'AlexNet' };
const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const loadNote = (s: J) => `1-min load average ${f(s.loadStart, 2)} at the start, ${f(s.loadEnd, 2)} at the end; ${s.seconds ?? '?'} s.`;

function shares(rows: J[] | undefined): string {
  if (!rows) return '—';
  return rows.filter((r) => r.share > 0).map((r) => `${r.point === 'final' ? 'final' : `#${r.position}`} ${(100 * r.share).toFixed(1)} %`).join(', ');
}

/** "1.6 of 4" or "**collapsed** (1.0 of 4)": effective exits (e^H of the split), and whether one exit takes ≥ 95 % (spec/routing.ts). */
function routing(rows: J[] | undefined): string {
  if (!rows?.length) return '—';
  const s = rows.map((r) => r.share as number);
  const h = -s.reduce((a, v) => a + (v > 0 ? v * Math.log(v) : 0), 0);
  const eff = `${Math.exp(h).toFixed(1)} of ${s.length}`;
  return Math.max(...s) >= 0.95 ? `**collapsed** (${eff})` : eff;
}

/** "60 % (57 … 61)": time saved, with the range over repeated measurements when there were several. */
function saved(t: J): string {
  if (!t) return '—';
  const range = t.timeSavedRange as number[] | undefined;
  const n = (v: number) => f(v, 0).replace(/^-0$/, '0').replace(/^-/, '−');
  return `${n(t.timeSavedPct)} %${range && t.measurements > 1 ? ` (${n(range[0])} … ${n(range[1])})` : ''}`;
}

/** "latency (13:34, 13:47 UTC); extension (14:02 UTC)": partial runs grouped by their sections. */
function remeasured(partial: J[]): string {
  const times = new Map<string, string[]>();
  for (const i of partial) {
    const key = (i.sections as string[]).join(', ');
    times.set(key, [...(times.get(key) ?? []), `${String(i.at).slice(0, 10)} ${String(i.at).slice(11, 16)}`]);
  }
  // one date per group of times on the same day: "2026-11-30 14:14, 15:27 UTC"
  const days = (t: string[]) => t.map((x, j) => (j > 0 && t[j - 1].slice(0, 10) === x.slice(0, 10) ? x.slice(11) : x)).join(', ');
  return [...times].map(([k, t]) => `${k} (${days(t)} UTC)`).join('; ');
}


/** A hand-written part of the report (`rel` under the repository), as lines to push; none when the file is absent. */
function handWritten(root: string, rel: string): string[] {
  const file = path.join(root, rel);
  return fs.existsSync(file) ? [fs.readFileSync(file, 'utf8').trim(), ''] : [];
}

/** The issue-17 comparison: the budget table per dataset (best recipe vs the softmax rules), then every run. */
function gatesReport(g: J, root: string): string[] {
  const L: string[] = ['## Learned gates vs softmax rules at fixed budgets', ''];
  // The closing reading of these rows is written by hand (bench/gates.md); the tables below are rendered.
  L.push(...handWritten(root, 'bench/gates.md'));
  L.push(`How the rows were measured: every run trained by \`early-exit train\` (wasm, seed 1; the gate recipes start from the BranchyNet run's exits with \`training.initFrom\`, where other seeds of the gates' training were run their spread is listed below each dataset); then \`early-exit eval <run> --rule all --budget 50%,70%,90% --per-exit --measure\`: for each exit rule, τ per exit picked on the validation split (coordinate ascent from the best shared τ) as the most accurate within the budget, the test accuracy and split at that τ, and batch-1 time saved (median-free: one \`measureTiming\` per cell, 100 test images, fastest of five interleaved rounds per image). The learned-gate run shown first at each budget is the best on **validation** at that budget, among every gated run of the dataset. "same net" = the softmax rule on the exits of that same network; "BranchyNet" = the softmax rule on the BranchyNet-trained network (per-exit CE, no gates).`, '');
  for (const d of g.datasets as J[]) {
    const runs = d.runs as J[];
    if (!runs.length) continue;
    L.push(`### ${d.label}`, '');
    const bn = runs.find((r) => r.method === 'branchynet');
    const cell = (r: J | undefined, rule: string, share: number) => (r?.cells as J[] | undefined)?.find((c) => c.rule === rule && Math.abs(c.share - share) < 1e-9);
    const rows: (string | number)[][] = [];
    for (const share of d.budgets as number[]) {
      // the learned gates picked on validation at this budget (older sections: over all budgets)
      const best = runs.find((r) => r.name === (d.bestAt?.[String(share)] ?? d.best));
      const ent = cell(bn, 'entropy', share);
      const line = (label: string, c: J | undefined, vsEntropy = false) => [
        `${Math.round(100 * share)} %`, label, c ? pct(c.accuracy) : '—',
        vsEntropy && c && ent ? pp(c.accuracy - ent.accuracy) : '', c ? `${f(c.averageMacsPct, 1)} %` : '—', c ? shares(c.shares) : '—', c ? routing(c.shares) : '—',
        c?.timeSavedPct != null ? `${f(c.timeSavedPct, 0)} %` : '—', c?.sharedAccuracy != null ? pct(c.sharedAccuracy) : '—',
      ];
      if (best) {
        rows.push(line(`**learned gates**, ${best.name}${best.recipes ? ` (${best.recipes})` : ''}`, cell(best, 'gate', share), true));
        rows.push(line('entropy, same net', cell(best, 'entropy', share), true));
        rows.push(line('max softmax, same net', cell(best, 'confidence', share), true));
      }
      if (bn) {
        rows.push(line('entropy, BranchyNet', ent));
        rows.push(line('max softmax, BranchyNet', cell(bn, 'confidence', share), true));
      }
    }
    L.push(table(['budget', 'rule, network', 'test acc.', 'Δ vs entropy (BranchyNet)', 'avg MACs', 'split', 'routing', 'time saved', 'test acc., one shared τ'], rows), '');
    if (d.chart) L.push(`![every rule on the best recipe's network: learned gates, entropy and max softmax, τ swept (the results panel's chart)](${d.chart})`, '');
    L.push(`Every run of this dataset, test accuracy per rule at each budget (τ per exit on validation); "area vs entropy" = mean accuracy difference between the learned gates' and the entropy rule's accuracy / MACs curves on the same network (one τ for all exits, swept; eval --compare-rules):`, '');
    L.push(table(['run', 'recipes', 'final alone', ...(d.budgets as number[]).flatMap((b) => [`gates @${Math.round(100 * b)} %`, `entropy @${Math.round(100 * b)} %`, `max sm. @${Math.round(100 * b)} %`]), 'gates vs entropy curve', 'routing of gates @70 %'],
      runs.map((r) => {
        const gap = (r.comparison?.gaps as J[] | undefined)?.find((x) => x.rule === 'gate' && x.against === 'entropy');
        return [r.name, r.recipes ?? (r.method === 'branchynet' ? 'per-exit CE, no gates' : 'the paper\'s loss'), pct(r.finalAccuracy),
          ...(d.budgets as number[]).flatMap((b) => ['gate', 'entropy', 'confidence'].map((rule) => { const c = cell(r, rule, b); return c ? pct(c.accuracy) : '—'; })),
          gap ? `${gap.meanGap >= 0 ? '+' : '−'}${Math.abs(gap.meanGap).toFixed(2)} pt over ${f(gap.from, 0)}–${f(gap.to, 0)} %` : '—',
          (() => { const c = cell(r, 'gate', 0.7); return c ? routing(c.shares) : '—'; })()];
      })), '');
    const seeds = (d.seedRuns ?? []) as J[];
    if (seeds.length) {
      const bases = [...new Set(seeds.map((x) => x.seedOf as string))];
      L.push('Seeds of the gates\' training (the exits are the same BranchyNet run): learned-gate test accuracy at each budget, seed 1 / 2 / 3, and the spread (max − min):', '');
      L.push(table(['recipe', ...(d.budgets as number[]).map((b) => `@${Math.round(100 * b)} %`)], bases.map((b) => {
        const all = [runs.find((r) => r.name === b), ...seeds.filter((x) => x.seedOf === b).sort((p, q) => p.seed - q.seed)].filter(Boolean) as J[];
        return [b, ...(d.budgets as number[]).map((share) => {
          const v = all.map((r) => cell(r, 'gate', share)?.accuracy as number | undefined).filter((x): x is number => x !== undefined);
          return v.length ? `${v.map((x) => (100 * x).toFixed(1)).join(' / ')} (${(100 * (Math.max(...v) - Math.min(...v))).toFixed(1)} pt)` : '—';
        })];
      })), '');
    }
    const timedRuns = runs.filter((r) => r.loadAtTiming != null);
    L.push(`Test split: ${runs[0].test} images (one image = ${(100 / runs[0].test).toFixed(2)} pt; the binomial standard error of an accuracy near 60 % is ≈ ${(100 * Math.sqrt(0.6 * 0.4 / runs[0].test)).toFixed(1)} pt); validation: ${runs[0].validation} images. 1-min load when the shown rows were timed: ${timedRuns.map((r) => `${r.name} ${f(r.loadAtTiming, 1)}`).join(', ') || '—'}.`, '');
  }
  L.push(loadNote(g), '');
  return L;
}

/** Which part of the step moves wasm's ratio to PyTorch from width a to width b, from the profiles. */
function whyRatio(a: J, b: J): string {
  const wa = a.profile.wasm, wb = b.profile.wasm, ta = a.profile.torch, tb = b.profile.torch;
  const extraW = wb.stepMs - wa.stepMs, extraT = tb.stepMs - ta.stepMs;
  const convShareW = extraW > 0 ? (wb.convMs - wa.convMs) / extraW : 0, convShareT = extraT > 0 ? (tb.convMs - ta.convMs) / extraT : 0;
  const lower = b.ratioWasmRef.median < a.ratioWasmRef.median;
  const part = (wb.convMs / wa.convMs) > (tb.convMs / ta.convMs) ? 'convolutions' : 'rest';
  const said = `Of the time a step gains, ${f(100 * convShareW, 0)} % is convolution time in wasm and ${f(100 * convShareT, 0)} % in PyTorch, so wasm's ratio ${lower ? 'falls' : 'rises'} from ${f(a.ratioWasmRef.median, 2)} to ${f(b.ratioWasmRef.median, 2)}`;
  if (part === 'convolutions') {
    const macs = b.macs.backbone / a.macs.backbone, gw = wb.convMs / wa.convMs, gt = tb.convMs / ta.convMs;
    const scaling = (g: number) => (g >= 0.8 * macs ? 'about as the arithmetic does' : 'much less than the arithmetic');
    return `${said} mostly through the convolutions. With twice the channels (×${f(macs, 2)} the MACs), XNNPACK's convolutions and input gradients plus our SIMD filter-gradient kernel take ×${f(gw, 2)} the time — ${scaling(gw)} — while oneDNN's forward and backward convolutions in PyTorch take ×${f(gt, 2)}, ${scaling(gt)}: at these small channel counts (${a.width === 0.125 ? '8–64' : 'few'} channels at ×${a.width}) oneDNN's kernels are far from their peak and gain efficiency as the channels grow, XNNPACK's do not, so the convolutions, ${f((100 * wa.convMs) / wa.stepMs, 0)} % of wasm's step at ×${a.width} and ${f((100 * wb.convMs) / wb.stepMs, 0)} % at ×${b.width}, move the ratio. (Each profile is one step in one process at the load stated below: the shares are indicative, the ratios above are the measurement.)`;
  }
  return `${said} mostly outside the convolutions (per-kernel costs and element-wise work scale differently in the two), not through the convolutions themselves.`;
}

const ms = (v: unknown) => (typeof v !== 'number' ? '—' : v >= 1000 ? `${f(v / 1000, 2)} s` : v >= 10 ? `${f(v, 1)} ms` : `${f(v, 2)} ms`);
const bytes = (v: unknown) => (typeof v !== 'number' ? '—' : v >= 1000 ? `${f(v / 1000, 1)} KB` : `${f(v, 0)} B`);

/** Exits across tiers: estimated (preset; here) vs measured per placement, then the best placement per budget. */
function renderTiers(ti: J): string[] {
  const L: string[] = ['## Exits across tiers (ResNet-18 with exits, CIFAR-10 5k)', ''];
  L.push(`The run \`${path.basename(ti.runDir)}\` split over the tiers of two presets (\`early-exit deploy presets\`) at three cut placements each. **Preset estimate**: \`deploy plan\`, the preset's compute and link figures. **Split execution**: \`deploy run\`, one process per tier on this machine, HTTP/2 on 127.0.0.1 through the link shaper at the preset's rate and RTT, the first N test images one at a time after 20 warm-up inputs; beside it the **estimate here** for the same inputs and links with every tier computing at the speed \`deploy measure\` timed here (wasm, one thread), which is what the measurement can be held to (the preset's compute figures describe other hardware). Tolerance: ±15 % + 3 ms per link crossed (\`SPLIT_TOLERANCE\`). Payload bytes are the maps at the cuts; the wire adds HTTP/2 headers and framing.`, '');
  for (const p of ti.presets as J[]) {
    L.push(`**${p.id}** (${p.quantization} maps)`, '');
    const row = (r: J) => {
      const c = Object.fromEntries((r.measured.comparison as J[]).map((x) => [x.what.trim(), x]));
      const ok = (x: J) => (x?.agrees === false ? ' ✗' : x?.agrees ? ' ✓' : '');
      return [
        `${r.cut.replace(',', ' \\| ')} — ${r.placement}`, `${pct(r.preset.deviceShare)} / ${ms(r.preset.latency.mean)} / ${ms(r.preset.latency.p95)} / ${bytes(r.preset.bytesPerInput[p.quantization === 'int8' ? 'int8' : 'float32'])}`,
        String(r.here.images), `${ms(c['mean latency']?.estimated)} / ${ms(c['mean latency']?.measured)}${ok(c['mean latency'])}`,
        `${ms(c['p95 latency']?.estimated)} / ${ms(c['p95 latency']?.measured)}${ok(c['p95 latency'])}`,
        `${bytes(c['payload bytes per input']?.estimated)} / ${bytes(c['payload bytes per input']?.measured)}${ok(c['payload bytes per input'])}`,
        bytes(c['wire bytes per input (both ways)']?.measured),
        `${ms(c['of which compute (all tiers, mean)']?.estimated)} / ${ms(c['of which compute (all tiers, mean)']?.measured)}`,
        `${f(c['inputs leaving at the exit the records say']?.measured, 1)} %`,
        `${f(r.measured.loadAverage[0], 1)} → ${f(r.measured.loadAverage[1], 1)}`,
      ];
    };
    L.push(table(['cuts after', 'preset estimate: on device / mean / p95 / bytes per input', 'inputs', 'mean latency: estimate here / measured', 'p95: estimate here / measured', 'payload per input: est. / meas.', 'wire per input', 'compute: est. / meas.', 'exits as recorded', 'load'], (p.rows as J[]).map(row)), '');
    const front = (rows: J[]) => rows.map((b) => [`${ms(b.meanMs)} / ${ms(b.p95Ms)} / ${bytes(b.bytesPerInput)}`, `${(b.cuts as string[]).join(' \\| ')}`, f(b.threshold, 2), pct(b.accuracy), pct(b.deviceShare)]);
    L.push(`Best placement per budget (preset estimate over ${p.frontPoints} placement × τ points): each row is the best from its own cost up to the next row's — for a mean-latency budget, then for a bytes-per-input budget.`, '');
    L.push(table(['mean / p95 / bytes per input', 'cuts after', 'τ', 'accuracy', 'on device'], [...front(p.latencyFront ?? []), ['**bytes front**', '', '', '', ''], ...front(p.bytesFront ?? [])]), '');
    const all = [...(p.latencyFront ?? []), ...(p.bytesFront ?? [])] as J[];
    if (all.length && all.every((b) => b.deviceShare === 1)) {
      L.push(`Every point of both fronts keeps every input on the device: this network runs there (${ms(Math.max(...all.map((b) => b.meanMs)))} for the slowest front point) faster than one map or image crosses the first link, so splitting it buys nothing with this preset; what is left to trade is accuracy for latency with the exits, on the device.`, '');
    }
  }
  // where measurement and estimate part, and the load each of those rows ran at
  const parted = (ti.presets as J[]).flatMap((p) => (p.rows as J[]).filter((r) => (r.measured.comparison as J[]).some((x) => x.agrees === false && /latency/.test(x.what)))
    .map((r) => `${p.id} ${r.cut.replace(',', ' | ')} at a load of ${f(r.measured.loadAverage[0], 1)}`));
  L.push(parted.length
    ? `Where they part (✗): ${parted.join('; ')}. Payload bytes and exits agree in every row; the latency that does not is the one where the links are short (milliseconds) and the machine was loaded: every hop (device → shaper → next tier → back) is a process that has to be woken, and with many runnable processes per core each wake-up waits for one. The split's own compute shows it: the blocks that \`deploy measure\` timed at ≈ 1 ms per input took several times that inside the tiers during the run. Where the links take seconds (LoRa) the same waits are lost in the link time and the rows agree. The tolerance is stated for a machine that is not overloaded (the CI test judges the latency only below 1.5 runnable processes per core and reports it above).`
    : 'Every row agrees within the tolerance.', '');
  L.push(loadNote(ti), '');
  return L;
}

export function renderReport(out: J, root: string): string {
  const s = out.sections ?? {};
  const m = out.machine ?? {};
  const L: string[] = [];
  L.push('# Benchmarks', '');
  // partial runs after the last full one (the full run itself is in the history too)
  const partial = ((out.invocations ?? []) as J[]).filter((i) => i.sections.length < 7);
  // out.date moves with every --only run; the headline date is the last full run's
  const full = ((out.invocations ?? []) as J[]).filter((i) => i.sections.length >= 7).pop();
  L.push(`Measured ${String(full?.at ?? out.date ?? '').slice(0, 10)} with \`npm run bench${out.quick ? ' -- --quick' : ''}\`${out.fullRunSeconds ? ` (all sections: ${Math.round(out.fullRunSeconds / 60)} min)` : ''}${partial.length ? `; sections re-measured since: ${remeasured(partial)}` : ''}. Raw figures: \`${out.quick ? 'bench/results-quick.json' : 'BENCHMARKS.json'}\`.`, '');
  L.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}, TF.js ${m.tfjs} (wasm backend ${m.tfjsWasm}); PyTorch ${m.torch} (Debian \`python3-torch\`, ${m.python}).`, '');
  L.push('Other engineers ran tests on the same 2 cores during these measurements, so absolute times vary; each section states the load, and ours/PyTorch ratios are measured back to back in the same section.', '');
  L.push(...handWritten(root, 'bench/NOTES.md'));

  const t = s.throughput;
  if (t?.rows) {
    L.push('## Training throughput: ours vs PyTorch', '');
    L.push(`Multi-exit networks at width ×${t.rows[0].width} with three exits (pool heads, gates), batch ${t.rows[0].batch}, Adam (lr 1e-3, L2 5e-4 on kernels), loss CE(f̃₁) + 0.1·C (Eq. 1 + λ·Eq. 2); img/s after 2 warm-up steps. Ours: the product's own loop (\`trainNetwork\`, uint8 → float batches). PyTorch: \`bench/torch_ref.py\`, the same layers built from our IR (\`bench/write-spec.ts\`), same loss, batch and optimiser.`, '');
    L.push('Backends here: ' + Object.entries(t.backends as J).map(([k, v]) => `**${k}** ${v ? `does not load (${String(v).split('\n')[0].slice(0, 160)})` : 'loads'}`).join('; ') + '.', '');
    const threads = String(t.rows[0].wasm?.backend ?? '').match(/(\d+) threads/)?.[1] ?? '?';
    const range = (q: J) => (q && q.max > q.min ? ` (${f(q.min, 2)}–${f(q.max, 2)})` : '');
    const nRounds = (t.rows[0].rounds ?? []).length || 1;
    L.push(table(['backbone', 'params ours / PyTorch', 'MACs (full) ours / PyTorch', `wasm img/s (${threads} threads)`, 'PyTorch 2 threads', 'ratio', 'wasm 1 thread', 'PyTorch 1 thread', 'ratio (1 vs 1)', 'cpu img/s', 'wasm before → after'],
      t.rows.map((r: J) => [LABEL[r.backbone], `${r.parameters.ours.toLocaleString('en-US')} / ${r.parameters.torch.toLocaleString('en-US')}${r.countsEqual ? ' ✓' : ' ✗'}`,
        `${(r.macs.ours.backbone / 1e6).toFixed(2)} M / ${(r.macs.torch.backbone / 1e6).toFixed(2)} M`,
        f(r.wasm?.imgPerSec), f(r.torch2?.imgPerSec), `**${f(r.ratioWasmTorch2, 2)}×**${range(r.ratioWasmTorch2Range)}`, f(r.wasm1?.imgPerSec), f(r.torch1?.imgPerSec), r.ratioWasm1Torch1 != null ? `${f(r.ratioWasm1Torch1, 2)}×${range(r.ratioWasm1Torch1Range)}` : '—', f(r.cpu?.imgPerSec, 2),
        r.wasmBefore ? `${f(r.wasmBefore.imgPerSec)} → ${f(r.wasm?.imgPerSec)} (×${f(r.speedupVsBefore, 2)})` : '—'])));
    L.push('', `Parameter counts include batch-norm moving statistics (our variables hold them); MACs of every exit path (γ_b) and of the full network are equal in both (✓ = checked per exit). ${nRounds > 1 ? `Each figure is the median of ${nRounds} back-to-back rounds (PyTorch 2 threads, ours, PyTorch 1 thread, ours on 1 thread); a ratio is taken within a round, its median and range (in brackets) over the rounds. ` : ''}The wasm backend runs tfjs's threaded XNNPACK binary with one thread per core (\`src/accel/wasm-threads.ts\`: tfjs itself never enables it in Node); the XNNPACK kernels (convolutions, matrix products) and our own SIMD kernels (batch norm + residual + ReLU, the filter gradient, the max-pool gradient: \`src/accel/kernels/simd.wat\`, split with a helper worker) use the second thread, the remaining tfjs kernels run on one. PyTorch's "2 threads" uses both cores. "wasm 1 thread" is the same build with \`EARLY_EXIT_WASM_THREADS=1\`, the like-for-like peer of PyTorch on one thread. "before" is one thread with tfjs's own batch-norm, AvgPool and MaxPool gradients, the filter gradient as pad + transposes + an XNNPACK convolution and wasm's copying Identity (\`--stock ${t.rows.find((r: J) => r.wasmBefore)?.wasmBefore.stock ?? '…'}\`). ${loadNote(t)}`, '');
  }
  const en = s.engines;
  if (en?.rows?.length) {
    L.push('## The two engines on this CPU: torch engine, tfjs (wasm), plain PyTorch', '');
    L.push(`ResNet-18 with three exits (block2/4/6, pool heads, gates), batch ${en.rows[0].batch}, random images without augmentation, Eq. 1 + 0.1·Eq. 2, Adam with L2 5e-4 — the same work in all three; the steps after 2 warm-up steps, each figure the median of ${en.rows[0].rounds.length} back-to-back rounds. Two measures: img/s on the wall clock, and images per CPU-second of the process(es) doing the work, all their threads counted (for the torch engine its Python process and the TypeScript driver) — other jobs loading the machine move the first a lot and the second little, so **the ratios are taken on images per CPU-second**, within a round (range over the rounds in brackets); wasm's XNNPACK threads spin briefly between operations, and that CPU time counts against it. **torch engine**: the product's PyTorch engine (\`src/engine/torch\`: the worker's TypeScript side driving \`python/early_exit_torch\` over its protocol, per-step loss read back and progress reported), ${en.rows[0].threads} threads. **wasm**: the tfjs engine's own loop (\`bench/train-step.ts\`). **PyTorch loop**: \`bench/torch_ref.py\`, the naive reference loop of the same layers, ${en.rows[0].threads} threads. Both PyTorch processes run with \`OMP_WAIT_POLICY=PASSIVE\` (the torch engine sets it for its process: OpenMP threads that spin while they wait made PyTorch 10–40× slower on this busy machine). PyTorch ${en.torch}.`, '');
    const range = (q: J) => (q && q.max > q.min ? ` (${f(q.min, 2)}–${f(q.max, 2)})` : '');
    const both = (x: J) => `${f(x.imgPerSec)} / ${f(x.imgPerCpuSec)}`;
    L.push(table(['width', 'MACs / image', 'torch engine img/s / per CPU-s', 'wasm', 'PyTorch loop', 'torch engine ÷ loop', 'wasm ÷ loop', 'on the wall clock: engine ÷ loop, wasm ÷ loop'],
      en.rows.map((r: J) => [`×${r.width}`, `${f(r.macs.backbone / 1e6, 2)} M`, both(r.engine), both(r.wasm), both(r.ref), `${f(r.ratioEngineRef.median, 2)}×${range(r.ratioEngineRef)}`, `**${f(r.ratioWasmRef.median, 2)}×**${range(r.ratioWasmRef)}`,
        r.wallRatioEngineRef ? `${f(r.wallRatioEngineRef.median, 2)}×${range(r.wallRatioEngineRef)}, ${f(r.wallRatioWasmRef.median, 2)}×${range(r.wallRatioWasmRef)}` : '—'])), '');
    L.push(table(['width', 'engine', 'profiled step ms', 'convolutions (fwd + both grads) ms', 'share', 'batch norm ms', 'other kernels / ops ms', 'outside kernels ms'],
      en.rows.flatMap((r: J) => (['wasm', 'torch'] as const).map((k) => {
        const q = r.profile[k];
        return [`×${r.width}`, k === 'wasm' ? 'wasm' : 'PyTorch loop', f(q.stepMs), f(q.convMs), `${f((100 * q.convMs) / q.stepMs, 0)} %`, f(q.bnMs), f(q.otherMs), f(q.outsideMs)];
      }))), '');
    const [a, b] = en.rows;
    if (a && b) {
      const g = (x: number, y: number) => f(y / x, 2);
      const pa = a.profile, pb = b.profile;
      L.push(`**Why wasm's ratio differs between ×${a.width} and ×${b.width}.** The MACs per image grow ×${g(a.macs.backbone, b.macs.backbone)}. In the profiles wasm's step grows ×${g(pa.wasm.stepMs, pb.wasm.stepMs)} and PyTorch's ×${g(pa.torch.stepMs, pb.torch.stepMs)}; wasm's convolution time grows ×${g(pa.wasm.convMs, pb.wasm.convMs)} (${f((100 * pa.wasm.convMs) / pa.wasm.stepMs, 0)} % → ${f((100 * pb.wasm.convMs) / pb.wasm.stepMs, 0)} % of its step), PyTorch's ×${g(pa.torch.convMs, pb.torch.convMs)} (${f((100 * pa.torch.convMs) / pa.torch.stepMs, 0)} % → ${f((100 * pb.torch.convMs) / pb.torch.stepMs, 0)} %), while the time outside the convolutions (batch norm, element-wise kernels, the optimiser, dispatch) grows ×${g(pa.wasm.stepMs - pa.wasm.convMs, pb.wasm.stepMs - pb.wasm.convMs)} in wasm and ×${g(pa.torch.stepMs - pa.torch.convMs, pb.torch.stepMs - pb.torch.convMs)} in PyTorch. ${whyRatio(a, b)}`, '');
    }
    L.push(loadNote(en), '');
  }
  const p = s.profile;
  if (p && !p.error) {
    L.push('## Where a training step goes (wasm, per-kernel profile)', '');
    for (const [bb, v] of Object.entries(p as J)) {
      if (typeof v !== 'object' || !v.after) continue;
      const a = v.after, b = v.before;
      L.push(`**${LABEL[bb]}** ×0.125, batch 64: step ${f(a.stepMs, 0)} ms${b ? ` (before: ${f(b.stepMs, 0)} ms, ×${f(b.stepMs / a.stepMs, 2)})` : ''}; in the profiled step ${f(a.kernelMs, 0)} ms in ${a.kernelCalls} kernel calls, input pipeline (uint8 → normalised, augmented floats) ${f(a.dataMs, 1)} ms.`, '');
      L.push(table(['kernel (after)', 'ms', 'share', 'calls', '', 'kernel (before)', 'ms', 'share', 'calls'],
        Array.from({ length: 10 }, (_, i) => [a.kernels[i]?.name ?? '', f(a.kernels[i]?.ms), a.kernels[i] ? `${f(a.kernels[i].pct)} %` : '', a.kernels[i]?.calls ?? '', '',
          b?.kernels[i]?.name ?? '', f(b?.kernels[i]?.ms), b?.kernels[i] ? `${f(b.kernels[i].pct)} %` : '', b?.kernels[i]?.calls ?? ''])), '');
    }
    L.push(`\`EarlyExit…\` kernels are ours (\`src/accel/kernels/simd.wat\`): training batch norm + residual + ReLU forward and backward, the Conv2D filter gradient, the interleaving of a strided input gradient's phases, the max-pool gradient, the Adam update; their time includes the helper thread's share. \`forward\` (in older "after" columns) was the custom-gradient batch norm. Step times here are the mean of 3 steps in one process and move by ±20 % with the machine's load: the throughput table (12 steps, back to back) is the speed figure; this table says where the time goes. ${loadNote(p)}`, '');
  }
  const e = s.earlyexit;
  if (e?.rows) {
    L.push('## Early-exit inference (Table 2 analogue)', '');
    const repeats = e.rows.find((r: J) => r.tau05?.timing?.measurements)?.tau05.timing.measurements;
    L.push(`Proposed method with the per-exit CE term (α = ${e.alpha ?? 0} = \`method.exitLossWeight\`) and two cost weights λ per backbone, at width ×${e.width}, ${e.epochs} epochs on ${e.dataset}, trained by \`early-exit train\` on wasm; batch-1 latency of the plain backbone vs hard exits (later blocks not computed) over the first 100 test images, measured by \`early-exit eval --measure\` (\`measureTiming\`: batch norm folded into fused conv kernels in both paths, both paths warmed on every image, then per image the fastest of five interleaved rounds)${repeats > 1 ? `, ${repeats} times in fresh processes: the call with the median time saved is shown, the range over the calls in brackets` : ''}; accuracy and exit shares on all 1000 test images. Calibrated τ: the cheapest τ whose validation accuracy is within 1 point of the soft output's (\`early-exit eval --target-accuracy\`). Time saved = 1 − hard/full (the paper's "speed-up"). **target** = time saved at τ = 0.5 ≥ the paper's with at most 1 point (10 of the 1000 test images) lost against the soft output.`, '');
    L.push(table(['backbone', 'λ', 'soft acc.', 'final alone', 'full ms', 'τ = 0.5: ms', 'saved', 'acc. Δ vs soft', 'avg MACs', 'exit shares', 'routing', 'target', 'calibrated τ', 'ms', 'saved', 'acc. Δ vs soft', 'exit shares', 'routing', 'paper saved'],
      e.rows.map((r: J) => [LABEL[r.backbone], r.lambda ?? '—', pct(r.softAccuracy), pct(r.finalAccuracy), f(r.tau05?.timing?.fullMs, 2), f(r.tau05?.timing?.hardMs, 2), saved(r.tau05?.timing), pp(r.tau05?.accuracyChange), `${f(r.tau05?.averageMacsPct, 0)} %`, shares(r.tau05?.shares), routing(r.tau05?.shares),
        r.tau05?.timing && r.tau05.timing.timeSavedPct >= r.paperTimeSavedPct && r.tau05.accuracyChange >= -0.01 - 1e-9 ? 'met' : 'not met',
        r.calibrated ? (r.calibrated.thresholds as number[]).map((x) => f(x, 2)).join('/') : '—', f(r.calibrated?.timing?.fullMs != null ? r.calibrated.timing.hardMs : null, 2), r.calibrated?.timing ? saved(r.calibrated.timing) : '—', pp(r.calibrated?.accuracyChange), shares(r.calibrated?.shares), routing(r.calibrated?.shares), `${r.paperTimeSavedPct} %`])));
    const collapsed = e.rows.filter((r: J) => routing(r.tau05?.shares).startsWith('**collapsed**')).length;
    L.push('', `**routing** = effective exits (e^H of the split: 1 = every input leaves at one exit, 4 = an even split over the three exits and the final classifier); **collapsed** = one exit takes ≥ 95 % of the inputs, so that row measures a truncated network, not early exiting. ${collapsed} of the ${e.rows.length} rows at τ = 0.5 are collapsed. The section "Learned gates vs softmax rules at fixed budgets" below compares, on the same data, runs trained to route.`, '');
    L.push(loadNote(e), '');
  }
  const tr = s.tradeoff;
  if (tr?.rows) {
    L.push(`## Accuracy vs MACs (${LABEL[tr.backbone]} ×${tr.width}, CIFAR-10 5k, ${tr.epochs} epochs)`, '');
    L.push(table(['method', 'λ', 'soft acc.', 'final classifier', 'hard acc.', 'rule, τ', 'avg MACs', '% of full', 'exit shares'],
      tr.rows.map((r: J) => [r.method, r.lambda ?? '—', pct(r.softAccuracy), pct(r.finalAccuracy), pct(r.hardAccuracy), `${r.rule} ${(r.thresholds as number[]).map((x) => f(x, 2)).join('/') || '—'}`,
        `${f(r.averageMacs / 1e6, 2)} M`, `${f(r.averageMacsPct, 0)} %`, shares(r.shares)])));
    L.push('');
    if (tr.chart) L.push(`![accuracy vs average MACs, every run of this table (the report's comparison chart)](${tr.chart})`, '');
    else if (tr.chartError) L.push(`(chart image failed: ${tr.chartError})`, '');
    L.push(loadNote(tr), '');
  }
  if (s.gates?.datasets) L.push(...gatesReport(s.gates, root));
  const sc = s.scaling;
  if (sc?.bySize) {
    L.push(`## Scaling (${LABEL[sc.backbone]}, wasm, one epoch on real CIFAR-10 images, augmented)`, '', 'Dataset size at width ×0.0625; width at a fixed number of images. Epoch time excludes the validation pass.', '');
    const base = sc.bySize[0];
    L.push(table(['images', 's / epoch', 's per 1k images', 'img/s', 'vs linear from the first row', 'marginal s per 1k images (from the previous row)'],
      sc.bySize.map((r: J, i: number) => [r.images, f(r.seconds), f(r.secondsPer1k, 2), f(r.imgPerSec), `×${f(r.seconds / (base.seconds * r.images / base.images), 2)}`,
        i ? f((1000 * (r.seconds - sc.bySize[i - 1].seconds)) / (r.images - sc.bySize[i - 1].images), 2) : '—'])), '');
    const w0 = sc.byWidth[0];
    L.push(table([`width (${sc.widthImages} images)`, 'MACs / image', 's / epoch', 'img/s', 'time ratio', 'MACs ratio'], sc.byWidth.map((r: J) => [`×${r.width}`, `${f(r.macs / 1e6, 2)} M`, f(r.seconds), f(r.imgPerSec), `×${f(r.seconds / w0.seconds, 2)}`, `×${f(r.macs / w0.macs, 2)}`])), '');
    L.push(loadNote(sc), '');
  }
  const me = s.memory;
  if (me?.training) {
    const r = me.training;
    L.push('## Memory', '');
    L.push(table(['what', 'peak resident', 'detail'], [
      [`training on the full CIFAR-10 JPEG set (${r.images.train} + ${r.images.validation} + ${r.images.test} images), ResNet-18 ×${r.width}, wasm`, `**${f(r.peakMiB, 0)} MiB** (target ≤ 1536)`,
        `images as bytes ${f(r.imageBytesMiB, 0)} MiB; RSS ${f(r.afterLoad.rssMiB, 0)} MiB after decoding (${f(r.loadSeconds, 0)} s), ${f(r.afterSplit.rssMiB, 0)} MiB after the validation split, ${f(r.end.rssMiB, 0)} MiB after ${r.steps} steps + a validation pass over ${r.validationImages} images (${f(r.stepSeconds, 2)} s/step)`],
      ...(s.extension?.host ? [[`extension (our code) with 20 runs listed`, `${f(s.extension.host.rssMiB, 0)} MiB`, `bare Node host + stub vscode: JS heap +${f(s.extension.host.heapDeltaMiB, 2)} MiB for the bundle, activation and the listed runs (VS Code's own extension host adds its Electron baseline)`]] : []),
      ...(s.extension?.panels?.samples10k ? [[`results panel, a 10k-sample run`, `${f(s.extension.panels.samples10k.jsHeapMiB, 1)} MiB JS heap`, `after the first render (${f(s.extension.panels.samples10k.htmlMiB, 2)} MiB of inlined data)`]] : []),
    ]), '');
    L.push(loadNote(me), '');
  }
  const x = s.extension;
  if (x?.host) {
    L.push('## Extension', '');
    L.push(table(['what', 'time'], [
      ...(x.activation && !x.activation.error ? [[`activation (\`bench/activation.mjs\`, median of ${x.activation.runs} fresh processes): load the ${x.activation.bundleKiB} KiB bundle + \`activate()\``, `**${f(x.activation.totalMs, 1)} ms** (${f(x.activation.loadMs, 1)} + ${f(x.activation.activateMs, 1)}; target < ${x.activation.targetMs} ms)`]] : []),
      ['load the bundle + `activate()` with a workspace of 20 runs (`bench/extension-host.ts`)', `${f(x.host.requireMs, 1)} + ${f(x.host.activateMs, 2)} ms`],
      [`Runs view: list 20 runs (${x.host.treeItems} tree items)`, `${f(x.host.listRunsMs, 1)} ms`],
      ['results panel first render, a run with 10 exits', `${f(x.panels.tenExits.firstRenderMs, 0)} ms`],
      ...(x.panels.tenExits.tauStep ? [[`one step of the τ slider, the same run (median / slowest of 20): tiers section closed${x.panels.tenExits.tauStep.open ? ' · open' : ''}`,
        `${f(x.panels.tenExits.tauStep.closed.medianMs, 0)} / ${f(x.panels.tenExits.tauStep.closed.maxMs, 0)} ms${x.panels.tenExits.tauStep.open ? ` · ${f(x.panels.tenExits.tauStep.open.medianMs, 0)} / ${f(x.panels.tenExits.tauStep.open.maxMs, 0)} ms` : ''}`]] : []),
      ...(x.panels.compare20Panel ? [['comparison panel first render, 20 runs (the panel\'s path: page loaded, then the host\'s `didLoadComparison` message)', `${f(x.panels.compare20Panel.firstRenderMs, 0)} ms`]] : []),
      [`${x.panels.compare20Panel ? 'standalone report' : 'comparison panel'} first render, 20 runs${x.panels.compare20Panel ? ' (the comparison, and each run\'s own results view, drawn when scrolled near)' : ''}`, `${f(x.panels.compare20.firstRenderMs, 0)} ms`],
      ['results panel first render, 10k test samples', `${f(x.panels.samples10k.firstRenderMs, 0)} ms`],
    ]), '');
    L.push(`Method: ${x.method}. ${loadNote(x)}`, '');
  }
  const ti = s.tiers;
  if (ti?.presets) L.push(...renderTiers(ti));
  // Written by hand from bench/webgpu.ts's raw lines (its figures come from one adapter, not a section run).
  L.push(...handWritten(root, 'bench/webgpu.md'));
  const gpuFile = path.join(root, 'bench/gpu/result.json');
  if (fs.existsSync(gpuFile)) {
    const g = JSON.parse(fs.readFileSync(gpuFile, 'utf8'));
    L.push('## GPU machine', '');
    const notes = handWritten(root, 'bench/gpu/NOTES.md');
    L.push(...(notes.length ? notes : ['', '']));
    L.push('```json', JSON.stringify(g, null, 1).slice(0, 6000), '```', '');
  }
  return L.join('\n') + '\n';
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..');
  const src = process.argv[2] ?? path.join(root, 'BENCHMARKS.json');
  const dst = process.argv[3] ?? path.join(root, 'BENCHMARKS.md');
  fs.writeFileSync(dst, renderReport(JSON.parse(fs.readFileSync(src, 'utf8')), root));
}
