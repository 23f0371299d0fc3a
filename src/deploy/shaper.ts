/**
 * A link shaper between two tiers on 127.0.0.1: a TCP relay that delivers the bytes of each
 * direction at a given rate and one-way delay (RTT / 2), like a netem-shaped link but in user
 * space (no root, nothing else on the machine is touched). The tiers' HTTP/2 connection runs
 * through it unchanged; it only delays bytes and counts them.
 *
 * Each direction is a FIFO: a chunk starts serialising when the previous one has left
 * (rate = bits per second) and arrives RTT/2 after its last bit left. Node's timers fire at
 * ~1 ms resolution, so shorter delays come out up to ~1 ms late.
 */
import * as net from 'node:net';

export interface ShaperOptions {
  /** where the relay forwards to */
  targetPort: number;
  bitsPerSecond: number;
  rttMs: number;
}

export interface Shaper {
  port: number;
  /** bytes relayed client → server (up) and back (down) since start or the last reset */
  stats(): { up: number; down: number };
  resetStats(): void;
  close(): Promise<void>;
}

/** One direction of the link: chunks leave in order at `bitsPerSecond` and land `delayMs` later. */
class Lane {
  private busyUntil = 0;
  private readonly queue: { chunk: Buffer; at: number }[] = [];
  private timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | null = null;
  private ending = false;
  bytes = 0;
  constructor(private readonly to: net.Socket, private readonly bitsPerSecond: number, private readonly delayMs: number) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    const now = performance.now();
    const start = Math.max(now, this.busyUntil);
    this.busyUntil = start + (8 * 1000 * chunk.length) / this.bitsPerSecond;
    this.queue.push({ chunk, at: this.busyUntil + this.delayMs });
    this.schedule();
  }

  /** The sender finished: end the other side once every queued byte has landed. */
  finish(): void {
    this.ending = true;
    this.schedule();
  }

  /**
   * One timer for the head of the queue: bytes must never overtake each other. Node's timers
   * have millisecond steps and fire a millisecond or so late, so the last two are waited out on the
   * event loop's check phase (setImmediate) instead.
   */
  private schedule(): void {
    if (this.timer) return;
    if (!this.queue.length) {
      if (this.ending && !this.to.destroyed) this.to.end();
      return;
    }
    const deliver = () => {
      this.timer = null;
      const now = performance.now();
      while (this.queue.length && this.queue[0].at <= now) {
        const { chunk } = this.queue.shift()!;
        if (!this.to.destroyed) this.to.write(chunk);
      }
      this.schedule();
    };
    const wait = this.queue[0].at - performance.now();
    this.timer = wait > 2.5 ? setTimeout(deliver, wait - 2) : setImmediate(deliver);
  }
}

export function startShaper(o: ShaperOptions): Promise<Shaper> {
  const sockets = new Set<net.Socket>();
  const lanes: { up: Lane; down: Lane }[] = [];
  // half-open both ways: an end travels like the bytes before it, after them
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: o.targetPort, allowHalfOpen: true, noDelay: true });
    sockets.add(client); sockets.add(upstream);
    const lane = { up: new Lane(upstream, o.bitsPerSecond, o.rttMs / 2), down: new Lane(client, o.bitsPerSecond, o.rttMs / 2) };
    lanes.push(lane);
    client.on('data', (c: Buffer) => lane.up.push(c));
    upstream.on('data', (c: Buffer) => lane.down.push(c));
    client.on('end', () => lane.up.finish());
    upstream.on('end', () => lane.down.finish());
    const kill = () => { client.destroy(); upstream.destroy(); };
    client.on('error', kill); upstream.on('error', kill);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        stats: () => lanes.reduce((s, l) => ({ up: s.up + l.up.bytes, down: s.down + l.down.bytes }), { up: 0, down: 0 }),
        resetStats: () => { for (const l of lanes) { l.up.bytes = 0; l.down.bytes = 0; } },
        close: () => new Promise<void>((done) => {
          for (const s of sockets) s.destroy();
          server.close(() => done());
        }),
      });
    });
  });
}
