"""The engine process: JSON lines on stdin (requests) and stdout (replies, progress), one request at
a time; a reader thread takes `stop` out of band so training stops after the current step. The
process ends when its parent does: stdin reaches EOF (and on Linux the kernel kills it when the
parent dies, PR_SET_PDEATHSIG). Errors are replies, never a bare traceback: one line for the user,
the traceback for worker.log.
"""
import json
import os
import platform
import queue
import re
import sys
import threading
import traceback

from . import PROTOCOL_VERSION


class Runtime:
    """What the trainer needs of the process: the channel to TypeScript and the ranks."""

    def __init__(self, out):
        self._out = out
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.world = int(os.environ.get('WORLD_SIZE', '1'))
        self.rank = int(os.environ.get('RANK', '0'))
        self.local_rank = int(os.environ.get('LOCAL_RANK', str(self.rank)))
        self.backend = None
        self.bn_group = None

    def send(self, msg):
        line = (json.dumps(msg, allow_nan=False) + '\n').encode()
        with self._lock:
            self._out.write(line)
            self._out.flush()

    def stop_requested(self):
        return self._stop.is_set()

    def request_stop(self):
        self._stop.set()

    def join(self, dist):
        """Rank 0 learns the rendezvous from `open`; the other ranks were started with it in their
        environment, as torchrun starts them."""
        if dist and 'RANK' not in os.environ:
            os.environ.update(MASTER_ADDR=dist['masterAddr'], MASTER_PORT=str(dist['masterPort']), RANK='0', LOCAL_RANK='0',
                              WORLD_SIZE=str(dist['world']))
        self.world = int(os.environ.get('WORLD_SIZE', '1'))
        self.rank = int(os.environ.get('RANK', '0'))
        self.local_rank = int(os.environ.get('LOCAL_RANK', str(self.rank)))

    def init_distributed(self, device_type):
        """torch.distributed as torchrun sets it up (env://: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE):
        NCCL between GPUs, gloo on the CPU; batch-norm statistics on a group of their own."""
        if self.world <= 1 or self.backend:
            return
        import torch.distributed as dist
        self.backend = 'nccl' if device_type == 'cuda' else 'gloo'
        if device_type == 'cuda':
            import torch
            torch.cuda.set_device(self.local_rank % max(1, torch.cuda.device_count()))
        dist.init_process_group(self.backend, init_method='env://')
        self.bn_group = dist.new_group()

    def all_reduce(self, t):
        import torch.distributed as dist
        dist.all_reduce(t)


def _die_with_parent():
    if sys.platform.startswith('linux'):
        try:
            import ctypes
            import signal
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _protocol_stdout():
    """The protocol's own copy of stdout; fd 1 then points at stderr, so a stray print from any
    library cannot corrupt the JSON lines."""
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, 'wb', buffering=0)


def _hello(torch):
    h = {'type': 'hello', 'protocol': PROTOCOL_VERSION, 'python': platform.python_version(), 'executable': sys.executable,
         'pid': os.getpid()}
    if torch is None:
        return h
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, 'mps', None) is not None and torch.backends.mps.is_available()
    h['torch'] = torch.__version__
    h['cuda'] = {'available': cuda, 'version': torch.version.cuda, 'count': torch.cuda.device_count() if cuda else 0,
                 'names': [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []}
    h['mps'] = bool(mps)
    return h


def _oom(e):
    import torch
    if isinstance(e, MemoryError) or (hasattr(torch.cuda, 'OutOfMemoryError') and isinstance(e, torch.cuda.OutOfMemoryError)):
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and ('out of memory' in text or "can't allocate memory" in text or 'Cannot allocate memory' in text)


def _first_line(e):
    text = str(e).strip()
    line = next((l for l in text.splitlines() if l.strip()), '')
    # PyTorch's allocator messages start with a C++ location and the failed check: keep what it says
    line = re.sub(r'^\[enforce fail at [^\]]*\] (\S+ [=!<>]+ \S+\. )?', '', line)
    return line[:400]


def main():
    _die_with_parent()
    out = _protocol_stdout()
    try:
        import torch
    except ImportError as e:
        h = _hello(None)
        h['error'] = f'{type(e).__name__}: {e}'
        out.write((json.dumps(h) + '\n').encode())
        return 0
    rt = Runtime(out)
    rt.send(_hello(torch))

    requests = queue.Queue()
    closing = threading.Event()

    def reader():
        for raw in sys.stdin.buffer:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if msg.get('type') == 'stop':
                rt.request_stop()
            else:
                if msg.get('type') == 'close':
                    closing.set()
                requests.put(msg)
        if not closing.is_set():
            # the worker is gone (killed, crashed): nobody is left to report to
            os._exit(3)
        requests.put(None)

    threading.Thread(target=reader, daemon=True).start()

    from .engine import Cancelled, NonFinite, Trainer
    trainer = None
    while True:
        req = requests.get()
        if req is None:
            return 0
        rid, kind = req.get('id'), req.get('type')
        where = {}
        try:
            if kind == 'close':
                rt.send({'id': rid, 'type': 'closed'})
                # no interpreter shutdown: the reader thread may sit in a read of stdin
                os._exit(0)
            if kind == 'open':
                rt.join(req.get('dist'))
                rt.init_distributed(_device_type(req.get('device', 'auto'), torch))
                trainer = Trainer(req, rt)
                rt.send({'id': rid, 'type': 'opened', **trainer.info()})
                continue
            if trainer is None:
                raise RuntimeError(f'"{kind}" before "open"')
            if kind == 'trainEpoch':
                where = trainer.where
                r = trainer.train_epoch(req['epoch'], req['lr'])
                rt.send({'id': rid, 'type': 'epochDone', **r})
            elif kind == 'records':
                rt.send({'id': rid, 'type': 'records', **(trainer.records(req['split'], req['folder']) if rt.rank == 0 else {})})
            elif kind == 'save':
                specs = trainer.save(req['folder'], req.get('optimizer', False), req.get('epoch', 0)) if rt.rank == 0 else []
                rt.send({'id': rid, 'type': 'saved', 'weights': specs})
            elif kind == 'timing':
                r = trainer.timing(req['rule'], req['thresholds'], req['images']) if rt.rank == 0 else {}
                rt.send({'id': rid, 'type': 'timing', **r})
            elif kind == 'outputs':
                logits, gates, final, parts, n = trainer.outputs(req['split'], req['indices'], req.get('training', False))
                rt.send({'id': rid, 'type': 'outputs', 'exitProbs': [torch.softmax(l, 1).tolist() for l in logits],
                         'gates': [g.squeeze(1).tolist() for g in gates], 'finalProbs': torch.softmax(final, 1).tolist(),
                         'loss': float(parts[0]) / n, 'ce': float(parts[1]) / n, 'cost': float(parts[2]) / n})
            else:
                raise RuntimeError(f'unknown request "{kind}"')
        except Cancelled as e:
            rt.send({'id': rid, 'type': 'error', 'kind': 'cancelled', 'message': str(e), 'epoch': e.epoch, 'step': e.step})
        except NonFinite as e:
            rt.send({'id': rid, 'type': 'error', 'kind': 'nonFinite', 'message': str(e), 'epoch': e.epoch, 'step': e.step, 'value': _number_text(e.value)})
        except Exception as e:  # noqa: BLE001 - every failure becomes a reply
            oom = _oom(e)
            if oom and torch.cuda.is_available():
                torch.cuda.empty_cache()
            rt.send({'id': rid, 'type': 'error', 'kind': 'outOfMemory' if oom else 'error',
                     'message': _first_line(e) if oom else f'{type(e).__name__}: {_first_line(e)}',
                     'traceback': traceback.format_exc(), **where})


def _number_text(v):
    """A float as JavaScript's Number() reads it (JSON has no NaN or Infinity)."""
    if v != v:
        return 'NaN'
    if v in (float('inf'), float('-inf')):
        return 'Infinity' if v > 0 else '-Infinity'
    return repr(v)


def _device_type(pref, torch):
    if pref == 'cuda' or (pref == 'auto' and torch.cuda.is_available()):
        return 'cuda'
    return 'cpu'
