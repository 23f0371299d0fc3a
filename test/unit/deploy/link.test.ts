// What crosses a link in the split execution: feature maps encoded for an HTTP/2 body (float32
// exact, 8-bit within half a step, raw images normalised as training does), and the user-space
// shaper that gives a loopback TCP connection a rate and an RTT without reordering a byte.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { test } from 'node:test';
import { toFloatBatch } from '../../../src/data/preprocess';
import { decodeMap, encodeImage, encodeMap } from '../../../src/deploy/codec';
import { startShaper } from '../../../src/deploy/shaper';
import { featureBytes } from '../../../src/spec/tiers';

const norm = { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };

test('feature maps: float32 bit for bit, int8 within half a step, the byte counts the estimate uses', () => {
  const values = Float32Array.from({ length: 4 * 4 * 8 }, (_, i) => Math.max(0, Math.sin(i) * 3.7));
  const f = encodeMap(values, [4, 4, 8], 'float32');
  assert.equal(f.body.byteLength, featureBytes([4, 4, 8], 'float32'));
  assert.deepEqual(decodeMap(f.body, f.headers, norm).values, values);
  const q = encodeMap(values, [4, 4, 8], 'int8');
  assert.equal(q.body.byteLength, featureBytes([4, 4, 8], 'int8'));
  const back = decodeMap(q.body, q.headers, norm).values;
  const step = Number(q.headers['x-ee-scale']);
  assert.ok(step > 0 && Math.abs(step - 3.7 / 255) < 0.01);
  for (let i = 0; i < values.length; i++) assert.ok(Math.abs(back[i] - values[i]) <= step / 2 + 1e-6, `value ${i}: ${back[i]} vs ${values[i]}`);
  // a constant map (all zeros after a ReLU) survives
  const zeros = encodeMap(new Float32Array(16), [2, 2, 4], 'int8');
  assert.deepEqual(Array.from(decodeMap(zeros.body, zeros.headers, norm).values), new Array(16).fill(0));
  assert.throws(() => decodeMap(q.body.subarray(1), q.headers, norm), /int8 map of \[4,4,8\] needs 128 bytes, got 127/);
  assert.throws(() => decodeMap(q.body, { ...q.headers, 'x-ee-shape': '4,x,8' }, norm), /bad x-ee-shape header/);
});

test('a raw image crosses as its 8-bit pixels and is normalised exactly as training and the records were', () => {
  const pixels = Uint8Array.from(randomBytes(2 * 2 * 3));
  const enc = encodeImage(pixels, [2, 2, 3]);
  assert.equal(enc.body.byteLength, 12);
  const expected = toFloatBatch({ images: pixels, labels: new Uint8Array(1), count: 1 }, [2, 2, 3], [0], norm);
  assert.deepEqual(decodeMap(enc.body, enc.headers, norm).values, expected);
});

/** Sends `payload` through a shaper to an echo-less sink; resolves with what arrived and when the last byte did (ms after the first was written). */
async function through(shaper: { port: number }, sink: { received: Buffer[]; done: Promise<number> }, payload: Buffer): Promise<{ data: Buffer; ms: number }> {
  const c = net.connect({ host: '127.0.0.1', port: shaper.port, noDelay: true });
  await new Promise<void>((r) => c.once('connect', () => r()));
  const t0 = performance.now();
  c.end(payload);
  const end = await sink.done;
  return { data: Buffer.concat(sink.received), ms: end - t0 };
}

test('the shaper delivers every byte in order, no sooner than rate and one-way delay allow', async () => {
  const size = 40_000;
  let expectBytes = size;
  const received: Buffer[] = [];
  let resolveDone!: (t: number) => void;
  const done = new Promise<number>((r) => { resolveDone = r; });
  const server = net.createServer((s) => s.on('data', (b: Buffer) => {
    received.push(b);
    expectBytes -= b.length;
    if (expectBytes <= 0) resolveDone(performance.now());
  }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  // 1.6 Mbit/s: 40 000 bytes take 200 ms; RTT 60 ms: 30 ms one way
  const shaper = await startShaper({ targetPort: (server.address() as net.AddressInfo).port, bitsPerSecond: 1.6e6, rttMs: 60 });
  try {
    const payload = randomBytes(size);
    const got = await through(shaper, { received, done }, payload);
    assert.ok(got.data.equals(payload), 'bytes intact and in order');
    assert.ok(got.ms >= 230 - 1, `the last byte arrived after ${got.ms.toFixed(1)} ms; the link allows no sooner than 230 ms`);
    // an upper bound only against a broken shaper (a busy machine delays timers, never advances them)
    assert.ok(got.ms < 230 * 3, `the last byte took ${got.ms.toFixed(1)} ms`);
    assert.deepEqual(shaper.stats(), { up: size, down: 0 });
    shaper.resetStats();
    assert.deepEqual(shaper.stats(), { up: 0, down: 0 });
  } finally {
    await shaper.close();
    server.close();
  }
});
