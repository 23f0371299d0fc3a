#!/usr/bin/env python3
"""PyTorch reference of Early Exit Studio's multi-exit network, built from the JSON that
bench/lib/netspec.ts writes (same layers, widths, heads, gates, batch norm), trained with the
same loss (Eq. 1 soft-conditional output, CE on it + lambda * Eq. 2 expected cost), batch size and
optimiser (Adam, eps 1e-7 as tfjs, L2 on conv/dense kernels as our weightDecay).

  torch_ref.py count      --spec S                       parameter count and MACs per exit path
  torch_ref.py throughput --spec S [--batch 64 --steps N --warmup W --threads 2]
  torch_ref.py profile    --spec S [--batch 64 --threads 2]     where one step's CPU time goes (torch.profiler)
  torch_ref.py train      --spec S --cifar cifar-10-binary.tar.gz [--epochs E --device cuda]

Prints one JSON object on stdout.
"""
import argparse
import io
import json
import math
import os
import sys
import tarfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-5
BN_MOMENTUM = 0.1  # ours: moving = 0.9 * moving + 0.1 * batch


def same_pad(size, k, s):
    """TF 'same' padding of one axis: (before, after)."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class ConvBN(nn.Module):
    """conv (TF 'same' padding) + BN or bias, optional ReLU."""

    def __init__(self, cin, cout, k, stride, bn, relu, in_hw):
        super().__init__()
        ph, pw = same_pad(in_hw[0], k, stride), same_pad(in_hw[1], k, stride)
        self.sym = ph[0] == ph[1] and pw[0] == pw[1]
        self.pad = (pw[0], pw[1], ph[0], ph[1])
        self.conv = nn.Conv2d(cin, cout, k, stride, padding=(ph[0], pw[0]) if self.sym else 0, bias=not bn)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM) if bn else None
        self.relu = relu
        nn.init.kaiming_normal_(self.conv.weight, nonlinearity='relu')
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)

    def forward(self, x):
        if not self.sym:
            x = F.pad(x, self.pad)
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class Residual(nn.Module):
    def __init__(self, cin, f, stride, in_hw):
        super().__init__()
        self.c1 = ConvBN(cin, f, 3, stride, True, True, in_hw)
        mid = (math.ceil(in_hw[0] / stride), math.ceil(in_hw[1] / stride))
        self.c2 = ConvBN(f, f, 3, 1, True, False, mid)
        self.short = ConvBN(cin, f, 1, stride, True, False, in_hw) if (stride != 1 or cin != f) else None

    def forward(self, x):
        a = self.c2(self.c1(x))
        return F.relu(a + (self.short(x) if self.short is not None else x))


class GAP(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class Flatten(nn.Module):
    def forward(self, x):
        # NHWC order, as tfjs flattens
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1) if x.dim() == 4 else x


class AvgGrid(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return F.avg_pool2d(x, self.k, self.k, ceil_mode=True) if self.k > 1 else x


def build_layers(layers, shape):
    """LayerSpec list -> (nn.Sequential, output shape [h, w, c])."""
    mods = []
    h, w, c = shape
    for l in layers:
        k = l['kind']
        if k == 'conv':
            mods.append(ConvBN(c, l['filters'], l['kernel'], l['stride'], l['bn'], l['relu'], (h, w)))
            h, w, c = math.ceil(h / l['stride']), math.ceil(w / l['stride']), l['filters']
        elif k == 'maxpool':
            mods.append(nn.MaxPool2d(l['size'], l['stride'], ceil_mode=True))
            h, w = math.ceil(h / l['stride']), math.ceil(w / l['stride'])
        elif k == 'residual':
            mods.append(Residual(c, l['filters'], l['stride'], (h, w)))
            h, w, c = math.ceil(h / l['stride']), math.ceil(w / l['stride']), l['filters']
        elif k == 'gap':
            mods.append(GAP())
            h, w = 1, 1
        elif k == 'avgpool':
            win = max(1, math.ceil(max(h, w) / l['grid']))
            mods.append(AvgGrid(win))
            h, w = math.ceil(h / win), math.ceil(w / win)
        elif k == 'flatten':
            mods.append(Flatten())
            h, w, c = 1, 1, h * w * c
        elif k == 'dropout':
            mods.append(nn.Dropout(l['rate']))
        elif k == 'dense':
            lin = nn.Linear(h * w * c, l['units'])
            b = 1 / math.sqrt(h * w * c)
            nn.init.uniform_(lin.weight, -b, b)
            nn.init.zeros_(lin.bias)
            mods.append(lin)
            if l['relu']:
                mods.append(nn.ReLU())
            h, w, c = 1, 1, l['units']
        else:
            raise ValueError(f'unknown layer kind {k}')
    return nn.Sequential(*mods), [h, w, c]


class MultiExit(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        bb = spec['backbone']
        shape = list(bb['input'])
        self.blocks = nn.ModuleList()
        self.exit_at = {}
        self.heads = nn.ModuleList()
        self.gates = nn.ModuleList()
        for i, b in enumerate(spec['blocks']):
            m, shape = build_layers(b['layers'], shape)
            self.blocks.append(m)
            for j, e in enumerate(spec['exits']):
                if e['block'] == i:
                    feat, fshape = build_layers(e['head'][:-1], shape)
                    fc, _ = build_layers(e['head'][-1:], fshape)
                    self.heads.append(nn.ModuleList([feat, fc]))
                    self.exit_at[i] = len(self.heads) - 1
                    if spec['gated']:
                        hid = e['gateHidden']
                        gl = ([{'kind': 'dense', 'units': hid, 'relu': True}] if hid > 0 else []) + [{'kind': 'dense', 'units': 1, 'relu': False}]
                        g, _ = build_layers(gl, fshape)
                        self.gates.append(g)
        self.classifier, _ = build_layers(spec['classifier'], shape)

    def forward(self, x):
        logits, gates = [], []
        h = x
        for i, blk in enumerate(self.blocks):
            h = blk(h)
            if i in self.exit_at:
                e = self.exit_at[i]
                feat = self.heads[e][0](h)
                logits.append(self.heads[e][1](feat))
                if self.spec['gated']:
                    gates.append(torch.sigmoid(self.gates[e](feat)))
        return logits, gates, self.classifier(h)

    def kernels(self):
        return [m.weight for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def proposed_loss(model, x, y, lam, wd, alpha=0.0):
    """CE(f~_1) + lam * C (Eq. 1, Eq. 2) + alpha * sum of every classifier's own CE (our method.exitLossWeight)."""
    logits, gates, final = model(x)
    full = model.spec['costs']['full']
    gam = [g / full for g in model.spec['costs']['exits']]
    f_t = F.softmax(final, 1)
    c_t = torch.full((x.shape[0], 1), model.spec['costs']['final'] / full, device=x.device)
    for b in range(len(logits) - 1, -1, -1):
        g = gates[b]
        f_t = g * F.softmax(logits[b], 1) + (1 - g) * f_t
        c_t = g * gam[b] + (1 - g) * c_t
    ce = -torch.log(f_t.gather(1, y[:, None]) + 1e-7).mean()
    loss = ce + lam * c_t.mean()
    if alpha > 0:
        loss = loss + alpha * sum(F.cross_entropy(l, y) for l in logits + [final])
    return loss


def make_optimizer(model, lr, wd):
    kernels = set(id(p) for p in model.kernels())
    decay = [p for p in model.parameters() if id(p) in kernels]
    other = [p for p in model.parameters() if id(p) not in kernels]
    # our weightDecay adds wd/2 * sum(w^2) to the loss: gradient wd * w, as Adam's (coupled) weight_decay
    return torch.optim.Adam([{'params': decay, 'weight_decay': wd}, {'params': other, 'weight_decay': 0}], lr=lr, eps=1e-7)


def count(model, spec):
    """Parameters (+ BN running statistics, as our variables include them) and MACs per exit path."""
    params = sum(p.numel() for p in model.parameters())
    bn_stats = sum(m.running_mean.numel() + m.running_var.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    macs = {}

    def hook(name):
        def f(mod, inp, out):
            if isinstance(mod, nn.Conv2d):
                m = out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
            else:
                m = mod.in_features * mod.out_features * (inp[0].numel() // mod.in_features)
            macs[name] = macs.get(name, 0) + m
        return f

    hooks = []
    for top, mod in [('blocks', model.blocks), ('heads', model.heads), ('gates', model.gates), ('classifier', model.classifier)]:
        for name, sub in mod.named_modules():
            if isinstance(sub, (nn.Conv2d, nn.Linear)):
                key = top + '.' + (name.split('.')[0] if top != 'classifier' else '')
                hooks.append(sub.register_forward_hook(hook(key)))
    model.eval()
    with torch.no_grad():
        h, w, c = spec['backbone']['input']
        model(torch.zeros(1, c, h, w))
    for hk in hooks:
        hk.remove()
    block = [macs.get(f'blocks.{i}', 0) for i in range(len(model.blocks))]
    head = [macs.get(f'heads.{e}', 0) for e in range(len(model.heads))]
    gate = [macs.get(f'gates.{e}', 0) for e in range(len(model.gates))] or [0] * len(head)
    cls = macs.get('classifier.', 0)
    exits, extra = [], 0
    for e, ex in enumerate(spec['exits']):
        extra += head[e] + gate[e]
        exits.append(sum(block[: ex['block'] + 1]) + extra)
    return {'parameters': params + bn_stats, 'trainable': params, 'macs': {'exits': exits, 'final': sum(block) + cls + extra, 'backbone': sum(block) + cls}}


def profile_step(model, opt, spec, a):
    """One training step (after 3 warm-up steps) under torch.profiler: self CPU time by operator."""
    from torch.profiler import ProfilerActivity, profile
    h, w, c = spec['backbone']['input']
    g = torch.Generator().manual_seed(a.seed)
    x = torch.randn(a.batch, c, h, w, generator=g)
    y = torch.randint(0, spec['backbone']['classes'], (a.batch,), generator=g)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = proposed_loss(model, x, y, a.lam, a.wd)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    step()
    plain = (time.perf_counter() - t0) * 1000
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        step()
        profiled = (time.perf_counter() - t0) * 1000
    ops = [{'name': e.key, 'ms': e.self_cpu_time_total / 1000, 'calls': e.count} for e in prof.key_averages()]
    ops.sort(key=lambda o: -o['ms'])
    return {'batch': a.batch, 'stepMs': plain, 'profiledStepMs': profiled, 'opMs': sum(o['ms'] for o in ops), 'ops': ops[:40]}


def read_cifar(path):
    """CIFAR-10 binary tar.gz -> (train_x uint8 NCHW, train_y, test_x, test_y)."""
    tr, te = [], []
    with tarfile.open(path) as t:
        for m in t.getmembers():
            base = os.path.basename(m.name)
            if base.startswith('data_batch_') and base.endswith('.bin'):
                tr.append(t.extractfile(m).read())
            elif base == 'test_batch.bin':
                te.append(t.extractfile(m).read())

    def parse(bufs):
        raw = torch.frombuffer(bytearray(b''.join(bufs)), dtype=torch.uint8).view(-1, 3073)
        return raw[:, 1:].reshape(-1, 3, 32, 32).clone(), raw[:, 0].long().clone()

    return parse(tr) + parse(te)


CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']


def read_jpg_folders(path, limit=None):
    """CIFAR-10 as JPEG folders in a tar.gz (train/<class>/*.jpg, test/<class>/*.jpg) -> the same tuple as read_cifar."""
    import io
    import numpy as np
    from PIL import Image
    parts = {'train': ([], []), 'test': ([], [])}
    with tarfile.open(path) as t:
        for m in t:
            bits = m.name.split('/')
            if not m.isfile() or len(bits) != 3 or bits[0] not in parts or bits[1] not in CIFAR10_CLASSES:
                continue
            xs, ys = parts[bits[0]]
            if limit and len(xs) >= limit:
                continue
            img = Image.open(io.BytesIO(t.extractfile(m).read())).convert('RGB')
            xs.append(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1))
            ys.append(CIFAR10_CLASSES.index(bits[1]))

    def pack(split):
        xs, ys = parts[split]
        return torch.from_numpy(np.stack(xs)), torch.tensor(ys, dtype=torch.long)

    return pack('train') + pack('test')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['count', 'throughput', 'profile', 'train'])
    ap.add_argument('--spec', required=True)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--lam', type=float, default=0.1)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--wd', type=float, default=5e-4)
    ap.add_argument('--epochs', type=int, default=1)
    ap.add_argument('--cifar')
    ap.add_argument('--jpg', help='CIFAR-10 JPEG folders (tar.gz) instead of --cifar')
    ap.add_argument('--limit', type=int, default=0, help='images per split from --jpg (0 = all)')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--alpha', type=float, default=0.0, help='per-exit CE weight (method.exitLossWeight)')
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    if a.device == 'cpu':
        torch.set_num_threads(a.threads)
    spec = json.load(open(a.spec))
    model = MultiExit(spec)
    out = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'device': a.device, 'mode': a.mode,
           'backbone': spec['backbone']['name'], 'width': spec['backbone']['width']}
    out.update(count(model, spec))
    if a.mode == 'count':
        print(json.dumps(out))
        return
    dev = torch.device(a.device)
    model.to(dev)
    opt = make_optimizer(model, a.lr, a.wd)
    h, w, c = spec['backbone']['input']
    if a.mode == 'profile':
        print(json.dumps({**out, **profile_step(model, opt, spec, a)}))
        return
    if a.mode == 'throughput':
        # the same work per step as ours: uint8 images -> normalised floats, one optimiser step
        g = torch.Generator().manual_seed(a.seed)
        n = a.batch * 8
        imgs = torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8, generator=g)
        labels = torch.randint(0, spec['backbone']['classes'], (n,), generator=g)
        mean, std = 0.5, 0.25
        model.train()
        times, cpu = [], 0.0
        for s in range(a.warmup + a.steps):
            t0, c0 = time.perf_counter(), time.process_time()
            idx = torch.randint(0, n, (a.batch,), generator=g)
            x = ((imgs[idx].float() / 255 - mean) / std).to(dev)
            y = labels[idx].to(dev)
            opt.zero_grad(set_to_none=True)
            loss = proposed_loss(model, x, y, a.lam, a.wd)
            loss.backward()
            opt.step()
            if dev.type == 'cuda':
                torch.cuda.synchronize()
            if s >= a.warmup:
                times.append(time.perf_counter() - t0)
                cpu += time.process_time() - c0
        # img per CPU-second (all threads): what a busy machine's load does not move
        out.update({'batch': a.batch, 'steps': a.steps, 'stepMs': 1000 * sum(times) / len(times),
                    'imgPerSec': a.batch * len(times) / sum(times), 'imgPerCpuSec': a.batch * len(times) / cpu, 'loss': float(loss)})
        print(json.dumps(out))
        return
    # train on CIFAR-10 (binary), report img/s and test accuracy (soft, final, hard at tau = 0.5)
    if a.jpg:
        cache = f'/tmp/{os.path.basename(a.jpg)}.{a.limit}.pt'  # decoded once per machine
        if os.path.exists(cache):
            xtr, ytr, xte, yte = torch.load(cache)
        else:
            xtr, ytr, xte, yte = read_jpg_folders(a.jpg, a.limit or None)
            torch.save((xtr, ytr, xte, yte), cache)
    else:
        xtr, ytr, xte, yte = read_cifar(a.cifar)
    mean = xtr.float().div(255).mean(dim=(0, 2, 3)).view(1, 3, 1, 1)
    std = xtr.float().div(255).std(dim=(0, 2, 3)).view(1, 3, 1, 1)
    norm = lambda u8: ((u8.float() / 255 - mean) / std)
    xtr_d, ytr_d = norm(xtr).to(dev), ytr.to(dev)
    xte_d, yte_d = norm(xte).to(dev), yte.to(dev)
    n = xtr.shape[0]
    epoch_stats = []
    total_imgs, total_s = 0, 0.0
    for ep in range(a.epochs):
        model.train()
        for gparam in opt.param_groups:
            gparam['lr'] = a.lr * 0.5 * (1 + math.cos(math.pi * ep / a.epochs))
        perm = torch.randperm(n, device=dev)
        if dev.type == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            x = xtr_d[idx]
            # augmentation as ours: random crop (4-pixel zero pad) + horizontal flip, per batch
            if torch.rand(1).item() < 0.5:
                x = x.flip(3)
            dx, dy = torch.randint(-4, 5, (2,)).tolist()
            x = torch.roll(F.pad(x, (4, 4, 4, 4)), shifts=(dy, dx), dims=(2, 3))[:, :, 4:4 + h, 4:4 + w]
            opt.zero_grad(set_to_none=True)
            loss = proposed_loss(model, x, ytr_d[idx], a.lam, a.wd, a.alpha)
            loss.backward()
            opt.step()
        if dev.type == 'cuda':
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        if ep > 0 or a.epochs == 1:
            total_imgs += n
            total_s += dt
        epoch_stats.append({'epoch': ep + 1, 'seconds': dt, 'loss': float(loss)})
    model.eval()
    with torch.no_grad():
        logits, gates, final = [], [], []
        for s in range(0, xte_d.shape[0], 500):
            l, g, f = model(xte_d[s:s + 500])
            logits.append(l)
            gates.append(g)
            final.append(f)
        B = len(spec['exits'])
        L = [torch.cat([l[b] for l in logits]) for b in range(B)]
        G = [torch.cat([g[b] for g in gates]).squeeze(1) for b in range(B)] if spec['gated'] else []
        Fn = torch.cat(final)
        soft = F.softmax(Fn, 1)
        for b in range(B - 1, -1, -1):
            soft = G[b][:, None] * F.softmax(L[b], 1) + (1 - G[b][:, None]) * soft
        acc = lambda p: float((p.argmax(1) == yte_d).float().mean())
        pred = Fn.argmax(1).clone()
        where = torch.full_like(pred, B)
        for b in range(B - 1, -1, -1):
            fire = G[b] >= 0.5
            pred[fire] = L[b].argmax(1)[fire]
            where[fire] = b
        shares = [float((where == b).float().mean()) for b in range(B + 1)]
        macs_per = [out['macs']['exits'][b] for b in range(B)] + [out['macs']['final']]
        avg_macs = sum(s * m for s, m in zip(shares, macs_per))
    out.update({'lam': a.lam, 'alpha': a.alpha, 'epochs': a.epochs, 'batch': a.batch, 'train': n, 'test': int(xte.shape[0]),
                'imgPerSec': total_imgs / total_s, 'epochStats': epoch_stats,
                'softAccuracy': acc(soft), 'finalAccuracy': acc(Fn), 'exitAccuracy': [acc(l) for l in L],
                'hardAccuracy': float((pred == yte_d).float().mean()), 'hardShares': shares, 'hardAvgMacs': avg_macs,
                'gpu': torch.cuda.get_device_name(0) if dev.type == 'cuda' else None})
    print(json.dumps(out))


if __name__ == '__main__':
    main()
