"""The run folder's weights in the TF.js format (src/engine/checkpoint-folder.ts): weights.bin is
the float32 tensors one after another, little-endian, in the order of model.json's manifest, with
tfjs's layouts — conv kernels [kh, kw, in, out] (HWIO), dense kernels [in, out]. TypeScript writes
model.json; this module writes and reads the tensors (raw bytes through a file mapping, so no
numpy is needed).
"""
import json
import os

import torch


def to_tf(t, layout):
    """A module's tensor in tfjs's layout."""
    t = t.detach().float().cpu()
    if layout == 'conv':
        return t.permute(2, 3, 1, 0).contiguous()
    if layout == 'dense':
        return t.t().contiguous()
    return t.contiguous()


def from_tf(t, layout):
    if layout == 'conv':
        return t.permute(3, 2, 0, 1).contiguous()
    if layout == 'dense':
        return t.t().contiguous()
    return t


def write_raw(path, tensors):
    """The tensors' bytes one after another into `path` (CPU tensors, any dtype)."""
    flat = [t.contiguous().view(-1).view(torch.uint8) for t in tensors]
    total = sum(b.numel() for b in flat)
    with open(path, 'wb') as f:
        f.truncate(total)
    if total:
        m = torch.from_file(path, shared=True, size=total, dtype=torch.uint8)
        off = 0
        for b in flat:
            m[off:off + b.numel()].copy_(b)
            off += b.numel()
        del m
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_weights(model, path):
    """weights.bin of every variable of `model`, in the tfjs engine's order; returns the manifest entries."""
    tensors, specs = [], []
    for name, mod, attr, layout in model.tf_variables:
        t = to_tf(getattr(mod, attr), layout)
        tensors.append(t)
        specs.append({'name': name, 'shape': list(t.shape), 'dtype': 'float32'})
    write_raw(path, tensors)
    return specs


def read_weights(folder):
    """{name: float32 tensor in tfjs layout} of a saved network (model.json + its weights file)."""
    with open(os.path.join(folder, 'model.json')) as f:
        manifest = json.load(f)['weightsManifest'][0]
    path = os.path.join(folder, manifest['paths'][0])
    size = os.path.getsize(path)
    raw = torch.from_file(path, shared=False, size=size, dtype=torch.uint8) if size else torch.empty(0, dtype=torch.uint8)
    out, off = {}, 0
    for s in manifest['weights']:
        if s.get('dtype', 'float32') != 'float32':
            raise ValueError(f'{path}: "{s["name"]}" is {s["dtype"]}; only float32 weights are supported')
        n = 1
        for d in s['shape']:
            n *= d
        if off + 4 * n > size:
            raise ValueError(f'{path}: ends before "{s["name"]}" (file truncated?)')
        out[s['name']] = raw[off:off + 4 * n].view(torch.float32).view(s['shape']).clone()
        off += 4 * n
    return out


def load_weights(model, folder):
    """Loads a saved network into `model`; names and shapes must match exactly."""
    w = read_weights(folder)
    with torch.no_grad():
        for name, mod, attr, layout in model.tf_variables:
            if name not in w:
                raise ValueError(f'{folder}: weights: missing "{name}"')
            target = getattr(mod, attr)
            t = from_tf(w[name], layout)
            if tuple(t.shape) != tuple(target.shape):
                raise ValueError(f'{folder}: weights: "{name}" has shape {list(w[name].shape)} but the network needs {list(to_tf(target, layout).shape)}')
            target.copy_(t.to(target.device))
