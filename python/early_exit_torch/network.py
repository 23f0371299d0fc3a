"""The multi-exit network built from the layer lists TypeScript resolves (src/spec/network.ts
`describeNetwork`): the same layers, shapes, variable names and initial distributions as the
tfjs engine (src/engine/tfjs/network.ts), so parameter counts, MACs and exported weights agree.

Tensors are NCHW (PyTorch's logical layout; channels-last memory on CUDA); 'same' padding is
TensorFlow's (asymmetric where TF pads asymmetrically); flatten is in NHWC order as tfjs flattens,
so a dense kernel [in, out] transposes to PyTorch's [out, in] and nothing else changes.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-5
# tfjs: moving = 0.9 * moving + 0.1 * batch, with the biased batch variance
BN_MOMENTUM = 0.1


def hash_seed(seed, name):
    """hashSeed of network.ts: the per-variable seed of its initialiser."""
    h = ((seed & 0xFFFFFFFF) ^ 0x9E3779B9) & 0xFFFFFFFF
    for ch in name:
        h = ((h ^ ord(ch)) * 0x01000193) & 0xFFFFFFFF
    return h % 2147483647


def same_pad(size, k, s):
    """TF 'same' padding of one axis: (before, after) (backbones.ts samePadding)."""
    total = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class BatchNorm(nn.Module):
    """Batch norm with tfjs's moving statistics. In training it normalises with the batch's
    statistics; the moving variance follows the *biased* batch variance, as tfjs's does (PyTorch's
    own update uses the unbiased one: MultiExit.bn_finish corrects it after each step). With
    `sync` (several processes) the statistics are those of the global batch."""

    def __init__(self, name, channels, hw):
        super().__init__()
        self.name = name
        self.hw = hw  # cells per channel of its input: n = batch · hw values per channel
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer('running_mean', torch.zeros(channels))
        self.register_buffer('running_var', torch.ones(channels))
        self.sync = None  # a process group when training across processes

    def forward(self, x):
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, BN_EPS)
        if self.sync is not None:
            return self._global(x)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, True, BN_MOMENTUM, BN_EPS)

    def _global(self, x):
        from torch.distributed.nn.functional import all_reduce
        xf = x.float()
        c = x.shape[1]
        local = torch.cat([xf.sum((0, 2, 3)), (xf * xf).sum((0, 2, 3)), xf.new_full((1,), x.numel() // c)])
        total = all_reduce(local, group=self.sync)
        n = total[-1]
        mean = total[:c] / n
        var = (total[c:2 * c] / n - mean * mean).clamp_min(0)
        with torch.no_grad():
            self.running_mean.mul_(1 - BN_MOMENTUM).add_(mean.detach(), alpha=BN_MOMENTUM)
            self.running_var.mul_(1 - BN_MOMENTUM).add_(var.detach(), alpha=BN_MOMENTUM)
        shape = (1, c, 1, 1)
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + BN_EPS) * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)

    def variables(self):
        return [(f'{self.name}/gamma', self, 'weight', 'vector'), (f'{self.name}/beta', self, 'bias', 'vector'),
                (f'{self.name}/moving_mean', self, 'running_mean', 'vector'), (f'{self.name}/moving_variance', self, 'running_var', 'vector')]


class Conv(nn.Module):
    """conv (TF 'same' padding) → batch norm or bias → (+ residual) → ReLU?"""

    def __init__(self, name, cin, cout, k, stride, bn, relu, in_hw):
        super().__init__()
        self.name, self.k, self.stride, self.relu = name, k, stride, relu
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k))
        self.bias = None if bn else nn.Parameter(torch.zeros(cout))
        out_hw = math.ceil(in_hw[0] / stride) * math.ceil(in_hw[1] / stride)
        self.bn = BatchNorm(f'{name}/bn', cout, out_hw) if bn else None
        ph, pw = same_pad(in_hw[0], k, stride), same_pad(in_hw[1], k, stride)
        self.symmetric = ph[0] == ph[1] and pw[0] == pw[1]
        self.padding = (ph[0], pw[0]) if self.symmetric else (0, 0)
        self.pad = (pw[0], pw[1], ph[0], ph[1])
        self.macs = math.ceil(in_hw[0] / stride) * math.ceil(in_hw[1] / stride) * k * k * cin * cout

    def forward(self, x, residual=None):
        if not self.symmetric:
            x = F.pad(x, self.pad)
        y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
        if self.bn is not None:
            y = self.bn(y)
        if residual is not None:
            y = y + residual
        return F.relu(y) if self.relu else y

    def variables(self):
        v = [(f'{self.name}/kernel', self, 'weight', 'conv')]
        return v + (self.bn.variables() if self.bn is not None else [(f'{self.name}/bias', self, 'bias', 'vector')])


class Residual(nn.Module):
    """ResNet basic block: relu(bn(conv2(relu(bn(conv1(x))))) + shortcut(x))."""

    def __init__(self, name, cin, f, stride, in_hw):
        super().__init__()
        mid = (math.ceil(in_hw[0] / stride), math.ceil(in_hw[1] / stride))
        self.conv1 = Conv(f'{name}/conv1', cin, f, 3, stride, True, True, in_hw)
        self.conv2 = Conv(f'{name}/conv2', f, f, 3, 1, True, True, mid)
        self.shortcut = Conv(f'{name}/shortcut', cin, f, 1, stride, True, False, in_hw) if (stride != 1 or cin != f) else None

    def forward(self, x):
        s = self.shortcut(x) if self.shortcut is not None else x
        return self.conv2(self.conv1(x), residual=s)

    def variables(self):
        v = self.conv1.variables() + self.conv2.variables()
        return v + (self.shortcut.variables() if self.shortcut is not None else [])


class Dense(nn.Module):
    def __init__(self, name, n_in, units, relu):
        super().__init__()
        self.name, self.relu = name, relu
        self.weight = nn.Parameter(torch.empty(units, n_in))
        self.bias = nn.Parameter(torch.zeros(units))
        self.macs = n_in * units

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        return F.relu(y) if self.relu else y

    def variables(self):
        return [(f'{self.name}/kernel', self, 'weight', 'dense'), (f'{self.name}/bias', self, 'bias', 'vector')]


class MaxPool(nn.Module):
    """Max pooling with TF 'same' padding (padded cells never win)."""

    def __init__(self, size, stride, in_hw):
        super().__init__()
        self.size, self.stride = size, stride
        ph, pw = same_pad(in_hw[0], size, stride), same_pad(in_hw[1], size, stride)
        self.pad = (pw[0], pw[1], ph[0], ph[1]) if any(ph + pw) else None

    def forward(self, x):
        if self.pad is not None:
            x = F.pad(x, self.pad, value=float('-inf'))
        return F.max_pool2d(x, self.size, self.stride)


class AvgPool(nn.Module):
    """Average pool to at most grid×grid cells, window = stride = k, TF 'same' padding: padded
    cells are left out of each window's mean, as tfjs avgPool does."""

    def __init__(self, k, in_hw):
        super().__init__()
        self.k = k
        ph, pw = same_pad(in_hw[0], k, k), same_pad(in_hw[1], k, k)
        self.pad = (pw[0], pw[1], ph[0], ph[1]) if any(ph + pw) else None
        if self.pad is not None:
            ones = F.pad(torch.ones(1, 1, in_hw[0], in_hw[1]), self.pad)
            self.register_buffer('count', F.avg_pool2d(ones, k, k) * (k * k), persistent=False)

    def forward(self, x):
        if self.k == 1:
            return x
        if self.pad is None:
            return F.avg_pool2d(x, self.k, self.k)
        return F.avg_pool2d(F.pad(x, self.pad), self.k, self.k) * (self.k * self.k) / self.count.to(x.dtype)


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class Flatten(nn.Module):
    """NHWC order, as tfjs flattens (so dense kernels need no reordering)."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1) if x.dim() == 4 else x


class Dropout(nn.Module):
    def __init__(self, rate):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        return F.dropout(x, self.rate, self.training) if self.rate > 0 else x


def build_layers(layers, shape):
    """A LayerSpec list (src/spec/backbones.ts) on inputs of `shape` [h, w, c] → (modules, output shape)."""
    mods = []
    h, w, c = shape
    for l in layers:
        k = l['kind']
        if k == 'conv':
            mods.append(Conv(l['name'], c, l['filters'], l['kernel'], l['stride'], l['bn'], l['relu'], (h, w)))
            h, w, c = math.ceil(h / l['stride']), math.ceil(w / l['stride']), l['filters']
        elif k == 'maxpool':
            mods.append(MaxPool(l['size'], l['stride'], (h, w)))
            h, w = math.ceil(h / l['stride']), math.ceil(w / l['stride'])
        elif k == 'residual':
            mods.append(Residual(l['name'], c, l['filters'], l['stride'], (h, w)))
            h, w, c = math.ceil(h / l['stride']), math.ceil(w / l['stride']), l['filters']
        elif k == 'gap':
            mods.append(GlobalAvgPool())
            h, w = 1, 1
        elif k == 'avgpool':
            win = max(1, math.ceil(max(h, w) / l['grid']))
            mods.append(AvgPool(win, (h, w)))
            h, w = math.ceil(h / win), math.ceil(w / win)
        elif k == 'flatten':
            mods.append(Flatten())
            h, w, c = 1, 1, h * w * c
        elif k == 'dropout':
            mods.append(Dropout(l['rate']))
        elif k == 'dense':
            mods.append(Dense(l['name'], h * w * c, l['units'], l['relu']))
            h, w, c = 1, 1, l['units']
        else:
            raise ValueError(f'unknown layer kind "{k}"')
    return nn.Sequential(*mods), [h, w, c]


def layer_variables(seq):
    out = []
    for m in seq:
        if hasattr(m, 'variables'):
            out += m.variables()
    return out


class MultiExit(nn.Module):
    """Backbone blocks, exit heads f_b (features → classifier) and gates g_b, final classifier f."""

    def __init__(self, desc):
        super().__init__()
        cfg = desc['config']
        self.gated = bool(cfg['gated'])
        self.classes = cfg['backbone']['classes']
        self.costs = desc['costs']
        shape = list(cfg['backbone']['input'])
        self.blocks = nn.ModuleList()
        self.features = nn.ModuleList()
        self.exit_classifiers = nn.ModuleList()
        self.gates = nn.ModuleList()
        self.exit_at = {}
        self.block_macs, self.head_macs, self.gate_macs = [], [], []
        # (tf name, module, attribute, layout), in the order the tfjs engine creates its variables
        self.tf_variables = []
        for i, b in enumerate(desc['blocks']):
            seq, shape = build_layers(b['layers'], shape)
            self.blocks.append(seq)
            self.tf_variables += layer_variables(seq)
            self.block_macs.append(_macs(seq))
            for e, ex in enumerate(desc['exits']):
                if ex['block'] != i:
                    continue
                feat, fshape = build_layers(ex['head'][:-1], shape)
                fc, _ = build_layers(ex['head'][-1:], fshape)
                self.features.append(feat)
                self.exit_classifiers.append(fc)
                self.tf_variables += layer_variables(feat) + layer_variables(fc)
                self.exit_at[i] = len(self.features) - 1
                self.head_macs.append(_macs(feat) + _macs(fc))
                if self.gated:
                    g, _ = build_layers(ex['gate'], fshape)
                    self.gates.append(g)
                    self.tf_variables += layer_variables(g)
                    self.gate_macs.append(_macs(g))
                else:
                    self.gate_macs.append(0)
        self.classifier, _ = build_layers(desc['classifier'], shape)
        self.tf_variables += layer_variables(self.classifier)
        self.classifier_macs = _macs(self.classifier)
        self.bns = [m for m in self.modules() if isinstance(m, BatchNorm)]
        self._rv_before = None

    # ---- initialisation and counts ---------------------------------------------------------

    def initialise(self, seed):
        """network.ts's initialisers, each variable seeded by its name: He normal for conv kernels,
        U(−1/√n, 1/√n) for dense kernels, zeros for biases, BN γ = 1, β = 0, moving stats 0 / 1."""
        with torch.no_grad():
            for name, mod, attr, layout in self.tf_variables:
                t = getattr(mod, attr)
                if layout == 'conv':
                    g = torch.Generator().manual_seed(hash_seed(seed, name))
                    fan_in = t.shape[1] * t.shape[2] * t.shape[3]
                    t.copy_(torch.randn(t.shape, generator=g) * math.sqrt(2 / fan_in))
                elif layout == 'dense':
                    g = torch.Generator().manual_seed(hash_seed(seed, name.rsplit('/', 1)[0]))
                    b = 1 / math.sqrt(t.shape[1])
                    t.copy_(torch.rand(t.shape, generator=g) * (2 * b) - b)

    def parameter_count(self):
        """Every variable, batch-norm moving statistics included (as the tfjs engine counts)."""
        return sum(getattr(m, a).numel() for _, m, a, _ in self.tf_variables)

    def macs(self):
        """γ_b of every exit, the cost of reaching the final classifier, and the plain backbone
        (exit-costs.ts costModel), counted from the modules built here."""
        exits, extra = [], 0
        for i in range(len(self.blocks)):
            if i in self.exit_at:
                e = self.exit_at[i]
                extra += self.head_macs[e] + self.gate_macs[e]
                exits.append(sum(self.block_macs[: i + 1]) + extra)
        full = sum(self.block_macs) + self.classifier_macs
        return {'exits': exits, 'final': full + extra, 'full': full}

    def kernels(self):
        """Convolution and dense kernels: what weight decay applies to."""
        return [getattr(m, a) for n, m, a, _ in self.tf_variables if n.endswith('/kernel')]

    # ---- forward ---------------------------------------------------------------------------

    def forward(self, x):
        """x [N, C, H, W] → (B exit logits [N, K], B gates [N, 1] (empty without gates), final logits [N, K])."""
        logits, gates = [], []
        h = x
        for i, blk in enumerate(self.blocks):
            h = blk(h)
            if i in self.exit_at:
                e = self.exit_at[i]
                f = self.features[e](h)
                logits.append(self.exit_classifiers[e](f))
                if self.gated:
                    gates.append(torch.sigmoid(self.gates[e](f)))
        return logits, gates, self.classifier(h)

    def backbone_only(self, x):
        h = x
        for blk in self.blocks:
            h = blk(h)
        return self.classifier(h)

    def bn_begin(self):
        """Before a training forward: keeps the moving variances PyTorch is about to update."""
        rvs = [m.running_var for m in self.bns if m.sync is None]
        self._rv_before = torch._foreach_mul(rvs, 1.0) if rvs else None

    def bn_finish(self, batch):
        """After it: replaces PyTorch's update with the unbiased variance v_u by tfjs's with the biased
        one, v_b = v_u·(n−1)/n. With m = momentum, r' = (1−m)·r + m·v_u, so the wanted
        (1−m)·r + m·v_b = r' − (r' − (1−m)·r)/n."""
        if self._rv_before is None:
            return
        bns = [m for m in self.bns if m.sync is None]
        with torch.no_grad():
            rvs = [m.running_var for m in bns]
            n = [batch * m.hw for m in bns]
            torch._foreach_mul_(rvs, [1 - 1 / k for k in n])
            torch._foreach_mul_(self._rv_before, [(1 - BN_MOMENTUM) / k for k in n])
            torch._foreach_add_(rvs, self._rv_before)
        self._rv_before = None


def _macs(seq):
    total = 0
    for m in seq.modules():
        if isinstance(m, (Conv, Dense)):
            total += m.macs
    return total
