"""A run's images as TypeScript hands them over (src/engine/torch/data-files.ts): raw uint8 files,
HWC, one image after another, plus uint8 labels, memory-mapped here. Batches become floats on the
device: (x/255 − mean)/std, then the augmentation of data/preprocess.ts toFloatBatch (random crop
with 4-pixel zero padding in the normalised space + horizontal flip), as tensor ops.
"""
import math

import torch
import torch.nn.functional as F

from . import rng


def map_file(path, count, dtype=torch.uint8):
    """The file's `count` elements as a tensor backed by the file (a private mapping: the file may
    be deleted once mapped)."""
    if count == 0:
        return torch.empty(0, dtype=dtype)
    return torch.from_file(path, shared=False, size=count, dtype=dtype)


class Split:
    def __init__(self, spec, shape, device):
        h, w, c = shape
        self.count = spec['count']
        self.images = map_file(spec['images'], self.count * h * w * c).view(self.count, h, w, c)
        self.labels = map_file(spec['labels'], self.count).to(torch.int64)
        if device.type != 'cpu':
            # the whole split lives on the device: a step gathers its batch there
            self.images = self.images.to(device)
            self.labels = self.labels.to(device)


class Data:
    def __init__(self, spec, device, channels_last):
        self.shape = spec['shape']
        self.device = device
        self.channels_last = channels_last
        self.augment = bool(spec['augment'])
        self.splits = {k: Split(v, self.shape, device) for k, v in spec['splits'].items()}
        std = torch.tensor(spec['std'], dtype=torch.float64)
        mean = torch.tensor(spec['mean'], dtype=torch.float64)
        # preprocess.ts: scale = 1/(255·std), shift = mean/std, as float32
        self.scale = (1 / (255 * std)).to(torch.float32).to(device)
        self.shift = (mean / std).to(torch.float32).to(device)

    def _to_input(self, x):
        """[n, H, W, C] normalised → [n, C, H, W]: channels-last memory as it is, else contiguous."""
        x = x.permute(0, 3, 1, 2)
        return x if self.channels_last else x.contiguous()

    def normalised(self, images):
        return images.to(torch.float32) * self.scale - self.shift

    def batch(self, split, idx):
        """Normalised images idx (a device tensor) of a split, [n, C, H, W], and their labels."""
        s = self.splits[split]
        return self._to_input(self.normalised(s.images[idx])), s.labels[idx]

    def augmented(self, x_hwc, ox, oy, flip):
        """toFloatBatch's augmentation: out(y, x) = in(y + oy, (flip ? W−1−x : x) + ox), zero outside."""
        n, h, w, _ = x_hwc.shape
        p = F.pad(x_hwc, (0, 0, 4, 4, 4, 4))
        ys = torch.arange(h, device=x_hwc.device)
        xs = torch.arange(w, device=x_hwc.device)
        rows = ys[None, :] + oy[:, None] + 4
        cols = torch.where(flip[:, None] > 0, (w - 1) - xs[None, :], xs[None, :]) + ox[:, None] + 4
        return p[torch.arange(n, device=x_hwc.device)[:, None, None], rows[:, :, None], cols[:, None, :]]

    def epoch_plan(self, seed, epoch):
        """The epoch's sample order (mulberry32(seed·7919 + epoch) Fisher–Yates, as train.ts) and,
        when augmenting, every image's crop offsets and flip in that order, on the device."""
        n = self.splits['train'].count
        s = rng.epoch_seed(seed, epoch)
        order = rng.shuffled(n, s)
        aug = rng.augmentation(s, max(n - 1, 0), n) if self.augment else None
        order = order.to(self.device)
        if aug is not None:
            aug = tuple(t.to(self.device) for t in aug)
        return order, aug

    def train_batch(self, order, aug, lo, hi):
        """The training batch of epoch positions [lo, hi): augmented, normalised, [n, C, H, W]."""
        s = self.splits['train']
        idx = order[lo:hi]
        x = self.normalised(s.images[idx])
        if aug is not None:
            x = self.augmented(x, aug[0][lo:hi], aug[1][lo:hi], aug[2][lo:hi])
        return self._to_input(x), s.labels[idx]

    def steps(self, batch_size):
        return math.ceil(self.splits['train'].count / batch_size)
