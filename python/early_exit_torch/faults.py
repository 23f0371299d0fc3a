"""The reliability tests' fault injection (src/engine/faults.ts), on the Python side:
EARLY_EXIT_FAULT=oom-in-epoch:<epoch> makes the first step of that epoch fail the way a real
out-of-memory does — an allocation the allocator refuses (on the CPU under an address-space limit
just above what the process uses, so the machine is never actually exhausted)."""
import os
import re

_plan = re.match(r'^([a-z-]+):(\d+)$', os.environ.get('EARLY_EXIT_FAULT', ''))


def step(epoch, device):
    if not _plan or _plan.group(1) != 'oom-in-epoch' or int(_plan.group(2)) != epoch:
        return
    import torch
    if device.type == 'cuda':
        free, total = torch.cuda.mem_get_info(device)
        torch.empty(total * 2, dtype=torch.uint8, device=device)
        return
    import resource
    with open('/proc/self/statm') as f:
        vm = int(f.read().split()[0]) * os.sysconf('SC_PAGE_SIZE')
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm + (256 << 20), hard))
    try:
        torch.empty(1 << 30, dtype=torch.float32).fill_(0)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
