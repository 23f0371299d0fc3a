/**
 * Fault injection for the reliability tests (docs/reliability.md). `EARLY_EXIT_FAULT` makes the
 * worker fail at one chosen point the way the real world does, so a test can check what the user
 * is left with. Unset (normal use), every hook is a no-op.
 *
 *   kill-in-checkpoint:<epoch>       SIGKILL itself while writing epoch <epoch>'s checkpoint,
 *                                    after the new files are written, before the folder swap
 *   kill-in-checkpoint-swap:<epoch>  SIGKILL itself between the swap's two renames
 *   pause-in-checkpoint:<epoch>      before writing epoch <epoch>'s checkpoint, create
 *                                    `<run>/.fault-paused` and wait until it is deleted (a test
 *                                    fills the disk meanwhile)
 *   enospc-in-checkpoint:<epoch>     the checkpoint write of epoch <epoch> fails with ENOSPC
 *                                    (a disk-full stand-in where no small filesystem can be mounted)
 *   oom-in-epoch:<epoch>             grow the JS heap until V8 gives up, during epoch <epoch>
 *   bad-message:<epoch>              after epoch <epoch>, send the parent an epochEnd message
 *                                    without metrics (a parent bug the CLI's error boundary must
 *                                    turn into one line)
 */

import * as fs from 'node:fs';
import * as path from 'node:path';

export type FaultPoint = 'checkpoint-start' | 'checkpoint-written' | 'checkpoint-swap' | 'step';

function parse(spec: string | undefined): { kind: string; epoch: number } | null {
  const m = /^([a-z-]+):(\d+)$/.exec(spec ?? '');
  return m ? { kind: m[1], epoch: Number(m[2]) } : null;
}

const planned = parse(process.env.EARLY_EXIT_FAULT);

/** Called by the worker at `point` during `epoch` (1-based); fails there when the plan says so. `dir`: the folder being written. */
export function faultPoint(point: FaultPoint, epoch: number | undefined, dir = '.'): void {
  if (!planned || epoch !== planned.epoch) return;
  switch (`${planned.kind}@${point}`) {
    case 'kill-in-checkpoint@checkpoint-written':
    case 'kill-in-checkpoint-swap@checkpoint-swap':
      process.kill(process.pid, 'SIGKILL');
      break;
    case 'pause-in-checkpoint@checkpoint-start': {
      const marker = path.join(path.dirname(dir), '.fault-paused');
      fs.writeFileSync(marker, String(process.pid));
      const cell = new Int32Array(new SharedArrayBuffer(4));
      while (fs.existsSync(marker)) Atomics.wait(cell, 0, 0, 20);
      break;
    }
    case 'enospc-in-checkpoint@checkpoint-written':
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    case 'oom-in-epoch@step': {
      const hog: unknown[] = [];
      for (;;) hog.push(new Array(1 << 16).fill({ epoch }));
    }
  }
}

/** True when the plan asks for `kind` at `epoch` (for faults the caller places itself). */
export function faultPlanned(kind: string, epoch: number): boolean {
  return !!planned && planned.kind === kind && planned.epoch === epoch;
}
