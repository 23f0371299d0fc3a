"""The seeded randomness of src/spec/rng.ts, ported exactly, so that a torch run visits the same
batches in the same order with the same augmentation as a tfjs run of the same experiment.

mulberry32 adds a constant to its state before every draw, so draw k (1-based) is a pure function
of seed + k * 0x6d2b79f5: a whole epoch's draws are computed at once on int64 tensors.
"""
import torch

_U32 = 0xFFFFFFFF
_STEP = 0x6D2B79F5


def _imul(a, b):
    """Math.imul on uint32 values held in int64 tensors: the low 32 bits of a * b."""
    lo = a * (b & 0xFFFF)
    hi = ((a * (b >> 16)) & 0xFFFF) << 16
    return (lo + hi) & _U32


def mulberry32_draws(seed, start, count):
    """Draws start+1 … start+count of mulberry32(seed), as float64 uniforms in [0, 1)."""
    k = torch.arange(start + 1, start + count + 1, dtype=torch.int64)
    a = ((seed & _U32) + k * _STEP) & _U32
    t = _imul(a ^ (a >> 15), a | 1)
    t = t ^ ((t + _imul(t ^ (t >> 7), t | 61)) & _U32)
    t = (t ^ (t >> 14)) & _U32
    return t.to(torch.float64) / 4294967296.0


def epoch_seed(seed, epoch):
    """The per-epoch PRNG seed of src/engine/tfjs/train.ts: seed * 7919 + epoch (as uint32)."""
    return (seed * 7919 + epoch) & _U32


def shuffled(n, seed):
    """shuffleInPlace(0…n-1) with mulberry32(seed): the Fisher–Yates of rng.ts. Uses n - 1 draws."""
    order = list(range(n))
    if n > 1:
        u = mulberry32_draws(seed, 0, n - 1)
        i = torch.arange(n - 1, 0, -1, dtype=torch.float64)
        js = torch.floor(u * (i + 1)).to(torch.int64).tolist()
        for i, j in zip(range(n - 1, 0, -1), js):
            order[i], order[j] = order[j], order[i]
    return torch.tensor(order, dtype=torch.int64)


def augmentation(seed, first_draw, n):
    """Crop offsets and flips of n images in epoch order, drawn as data/preprocess.ts toFloatBatch
    draws them (ox, oy, flip per image) after the first `first_draw` draws of the stream.
    Returns (ox, oy, flip) int64 tensors: ox, oy in -4…4, flip in {0, 1}."""
    u = mulberry32_draws(seed, first_draw, 3 * n).view(n, 3)
    ox = torch.floor(u[:, 0] * 9).to(torch.int64) - 4
    oy = torch.floor(u[:, 1] * 9).to(torch.int64) - 4
    flip = (u[:, 2] < 0.5).to(torch.int64)
    return ox, oy, flip
