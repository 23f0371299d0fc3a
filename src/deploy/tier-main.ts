/**
 * One tier of a split execution, as its own process (`child_process.fork(dist/tier.js)` by
 * `early-exit deploy run`). It loads the run's `model/`, keeps only its blocks and their exits
 * (TierRunner), and
 *  - as tier 0 (the device) reads the run's test images and drives them one at a time: its blocks,
 *    then, unless an exit fired, the feature map to the next tier as an HTTP/2 request;
 *  - as a later tier serves HTTP/2 on 127.0.0.1: a request's body is the map at the cut; it runs
 *    its blocks and answers, or forwards its own map to the next tier and relays the answer.
 * Messages with the orchestrator are in src/protocol/deploy.ts.
 */
import * as http2 from 'node:http2';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsEngine } from '../engine/tfjs';
import { loadNetwork } from '../engine/tfjs/checkpoint';
import type { MultiExitNetwork } from '../engine/tfjs/network';
import { measureSpeed, TierRunner, type TierOutcome } from '../engine/tfjs/split';
import type { DeviceRecord, FromTier, TierConfig, TierLogEntry, ToTier } from '../protocol/deploy';
import { readExperimentOf, RUN_FILES } from '../runs/store';
import { layersCost, type Shape3 } from '../spec/backbones';
import { toFloatBatch } from '../data/preprocess';
import type { Split } from '../data/types';
import { loadRunData } from '../worker/data';
import { decodeMap, encodeImage, encodeMap, HEADER, type EncodedMap } from './codec';

/** Flow-control windows large enough that a map never waits for a WINDOW_UPDATE round trip. */
export const H2_WINDOW = 1 << 24;

const send = (m: FromTier) => process.send?.(m);

interface Tier {
  config: TierConfig;
  net: MultiExitNetwork;
  runner: TierRunner;
  norm: { mean: number[]; std: number[] };
  next: http2.ClientHttp2Session | null;
  log: TierLogEntry[];
  /** the shape of the map this tier sends on */
  outShape: Shape3;
}

let tier: Tier | null = null;
let server: http2.Http2Server | null = null;
let goAhead: (() => void) | null = null;
let device: { split: Split; shape: Shape3 } | null = null;

async function start(config: TierConfig): Promise<void> {
  const engine = new TfjsEngine();
  const device0 = await engine.prepare(config.backend);
  const { net } = await loadNetwork(path.join(config.runDir, RUN_FILES.model));
  const runner = new TierRunner(net, config.from, config.to, config.last, config.rule, config.thresholds);
  tier = { config, net, runner, norm: { mean: [], std: [] }, next: null, log: [], outShape: blockInput(net, config.to) };
  // warm the kernels this tier runs (first passes compile and allocate)
  const x0 = tf.zeros([1, ...blockInput(net, config.from)]) as tf.Tensor4D;
  for (let i = 0; i < 5; i++) disposeOutcome(await runner.run(x0));
  x0.dispose();
  if (config.tier === 0) {
    const { data } = await loadRunData(readExperimentOf(config.runDir));
    device = { split: data.test, shape: data.shape };
    send({ type: 'ready', backend: device0.kind, mean: data.mean, std: data.std, count: data.test.count });
    return;
  }
  server = http2.createServer({ settings: { initialWindowSize: H2_WINDOW } });
  server.on('session', (s) => s.setLocalWindowSize(H2_WINDOW));
  server.on('connection', (sock: Socket) => sock.setNoDelay(true));
  server.on('stream', (stream, headers) => handle(stream, headers));
  server.listen(0, '127.0.0.1', () => send({ type: 'listening', port: (server!.address() as AddressInfo).port, backend: device0.kind }));
}

/** The speed of every part of the network on this backend, in a process set up as the tiers are. */
async function measure(runDir: string, backend: string, images: number, rounds: number): Promise<void> {
  const device0 = await new TfjsEngine().prepare(backend);
  const { net } = await loadNetwork(path.join(runDir, RUN_FILES.model));
  const { data } = await loadRunData(readExperimentOf(runDir));
  const n = Math.min(images, data.test.count);
  const inputs = Array.from({ length: n }, (_, i) => tf.tensor4d(toFloatBatch(data.test, data.shape, [i], { mean: data.mean, std: data.std }), [1, ...data.shape]));
  const speed = await measureSpeed(net, inputs, rounds, device0.kind);
  tf.dispose(inputs);
  net.dispose();
  send({ type: 'measured', speed });
}

/** The shape of block `block`'s input (the catalogue's shape inference, no tensors). */
function blockInput(net: MultiExitNetwork, block: number): Shape3 {
  let shape = net.config.backbone.input;
  for (let i = 0; i < block; i++) shape = layersCost(net.ir.blocks[i].layers, shape).shape;
  return shape;
}

function disposeOutcome(o: TierOutcome): void {
  if (o.kind === 'forward') o.map.dispose();
}

/** Runs this tier's share on `values` (the input of its first block); answers or forwards. */
async function process1(values: Float32Array, shape: Shape3, sample: number): Promise<{ exit: number; pred: number; computeMs: number; codecMs: number; bytesOut: number }> {
  const t = tier!;
  const x = tf.tensor4d(values, [1, ...shape]);
  const t0 = performance.now();
  const out = await t.runner.run(x);
  const computeMs = performance.now() - t0;
  x.dispose();
  if (out.kind === 'answer') return { exit: out.exit, pred: out.pred, computeMs, codecMs: 0, bytesOut: 0 };
  const t1 = performance.now();
  const map = await out.map.data() as Float32Array;
  out.map.dispose();
  const enc = encodeMap(map, t.outShape, t.config.quantization);
  const codecMs = performance.now() - t1;
  const answer = await forward(enc, sample);
  return { ...answer, computeMs, codecMs, bytesOut: enc.body.byteLength };
}

/** Sends a map to the next tier; resolves with its answer. */
function forward(enc: EncodedMap, sample: number): Promise<{ exit: number; pred: number }> {
  const next = tier!.next;
  if (!next) return Promise.reject(new Error(`tier ${tier!.config.name} has nothing to forward to`));
  return new Promise((resolve, reject) => {
    const req = next.request({ ':method': 'POST', ':path': '/infer', 'content-type': 'application/octet-stream', [HEADER.sample]: String(sample), ...enc.headers });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const a = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { exit?: number; pred?: number; error?: string };
        if (a.error !== undefined || a.exit === undefined || a.pred === undefined) reject(new Error(a.error ?? 'malformed answer'));
        else resolve({ exit: a.exit, pred: a.pred });
      } catch (e) { reject(e); }
    });
    req.on('error', reject);
    req.end(Buffer.from(enc.body.buffer, enc.body.byteOffset, enc.body.byteLength));
  });
}

function reply(stream: http2.ServerHttp2Stream, status: number, body: object): void {
  if (stream.destroyed) return;
  stream.respond({ ':status': status, 'content-type': 'application/json' });
  stream.end(JSON.stringify(body));
}

function handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    const body = Buffer.concat(chunks);
    const sample = Number(headers[HEADER.sample] ?? -1);
    const t = tier!;
    if (t.config.from === t.config.to && !t.config.last) {
      // a tier with no blocks relays what it received, as it is
      const pass: Record<string, string> = {};
      for (const k of [HEADER.kind, HEADER.shape, HEADER.min, HEADER.scale]) if (typeof headers[k] === 'string') pass[k] = headers[k] as string;
      forward({ body, headers: pass }, sample).then((a) => {
        if (sample >= 0) t.log.push({ sample, computeMs: 0, codecMs: 0, bytesIn: body.byteLength });
        reply(stream, 200, a);
      }, (e: Error) => reply(stream, 502, { error: `${t.config.name}: ${e.message}` }));
      return;
    }
    const t0 = performance.now();
    let decoded: { values: Float32Array; shape: Shape3 };
    try {
      decoded = decodeMap(body, headers, t.norm);
    } catch (e) {
      reply(stream, 400, { error: (e as Error).message });
      return;
    }
    const decodeMs = performance.now() - t0;
    process1(decoded.values, decoded.shape, sample).then((r) => {
      // warm-up inputs carry negative ids and are not logged
      if (sample >= 0) t.log.push({ sample, computeMs: r.computeMs, codecMs: decodeMs + r.codecMs, bytesIn: body.byteLength });
      reply(stream, 200, { exit: r.exit, pred: r.pred });
    }, (e: Error) => reply(stream, 502, { error: `${t.config.name}: ${e.message}` }));
  });
}

/** Tier 0: the first `warmup` inputs untimed, then `count` timed ones, one at a time. */
async function drive(count: number, warmup: number): Promise<DeviceRecord[]> {
  const d = device!, t = tier!;
  const size = d.shape[0] * d.shape[1] * d.shape[2];
  const records: DeviceRecord[] = [];
  const total = Math.min(count, d.split.count);
  /** input `i`, sent as sample `id` (negative for warm-up) */
  const one = async (i: number, id = i) => {
    const t0 = performance.now();
    let r: { exit: number; pred: number; computeMs: number; codecMs: number; bytesOut: number };
    if (t.config.to === 0) {
      // cut at "input": the captured image goes out as it is
      const enc = encodeImage(d.split.images.subarray(i * size, (i + 1) * size), d.shape);
      const a = await forward(enc, id);
      r = { ...a, computeMs: 0, codecMs: 0, bytesOut: enc.body.byteLength };
    } else {
      r = await process1(toFloatBatch(d.split, d.shape, [i], t.norm), d.shape, id);
    }
    return { sample: i, label: d.split.labels[i], exit: r.exit, pred: r.pred, latencyMs: performance.now() - t0, computeMs: r.computeMs, codecMs: r.codecMs, bytesOut: r.bytesOut };
  };
  for (let i = 0; i < Math.min(warmup, d.split.count); i++) await one(i, -1 - i);
  // the orchestrator zeroes the links' byte counters before the timed inputs
  await new Promise<void>((resolve) => { goAhead = resolve; send({ type: 'warmed' }); });
  for (let i = 0; i < total; i++) {
    records.push(await one(i));
    if (i % 10 === 9 || i === total - 1) send({ type: 'progress', done: i + 1, total });
  }
  return records;
}

function connect(nextPort: number | null, mean: number[], std: number[]): Promise<void> {
  const t = tier!;
  t.norm = { mean, std };
  if (nextPort === null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${nextPort}`, {
      settings: { initialWindowSize: H2_WINDOW },
      createConnection: () => netConnect({ host: '127.0.0.1', port: nextPort, noDelay: true }),
    });
    s.once('connect', () => { s.setLocalWindowSize(H2_WINDOW); t.next = s; resolve(); });
    s.once('error', reject);
  });
}

process.on('message', (raw: unknown) => {
  const m = raw as ToTier;
  // the message reaches the user through the orchestrator; a programming error keeps its stack
  const fail = (e: unknown) => send({ type: 'error', message: e instanceof Error && !(e instanceof TypeError || e instanceof ReferenceError) ? e.message : String((e as Error)?.stack ?? e) });
  switch (m?.type) {
    case 'start':
      start(m.config).catch(fail);
      break;
    case 'measure':
      measure(m.runDir, m.backend, m.images, m.rounds).catch(fail);
      break;
    case 'connect':
      connect(m.nextPort, m.mean, m.std).then(() => send({ type: 'connected' }), fail);
      break;
    case 'go':
      goAhead?.();
      goAhead = null;
      break;
    case 'run':
      drive(m.count, m.warmup).then((records) => send({ type: 'done', records }), fail);
      break;
    case 'report':
      send({ type: 'log', entries: tier?.log.splice(0) ?? [] });
      break;
    case 'stop':
      tier?.next?.close();
      server?.close();
      setTimeout(() => process.exit(0), 20);
      break;
    default:
      send({ type: 'error', message: `tier: unknown message ${JSON.stringify(raw)?.slice(0, 200)}` });
  }
});
process.on('disconnect', () => process.exit(0));
