"""The training objective of the three methods, as src/engine/tfjs/loss.ts and paper.ts compute it,
returned as sums over the batch (so that several processes can add theirs up):
 - proposed:   CE(y, f̃_1) + λ·C (Eq. 1, Eq. 2), optionally + α·Σ per-classifier CE;
 - branchynet: Σ_b w_b·CE(y, f_b) + w_{B+1}·CE(y, f);
 - baseline:   CE(y, f).
Weight decay, (wd/2)·Σ‖W‖² on conv and dense kernels, is the optimiser's (its gradient wd·W is
the same) and is added to the reported loss by the trainer.
"""
import torch
import torch.nn.functional as F

# paper.ts crossEntropyOfProbs: −log(p[y] + eps)
PROB_EPS = 1e-7


def soft_conditional_output(exit_probs, gates, final_probs):
    """Eq. 1 unrolled from the last exit: f̃_{B+1} = f, f̃_b = g_b·f_b + (1 − g_b)·f̃_{b+1}. → [N, K]"""
    f = final_probs
    for b in range(len(exit_probs) - 1, -1, -1):
        g = gates[b]
        f = g * exit_probs[b] + (1 - g) * f
    return f


def expected_cost(gates, gamma, gamma_last, n, device):
    """Eq. 2 per input: γ̃_{B+1} = γ_{B+1}, γ̃_b = g_b·γ_b + (1 − g_b)·γ̃_{b+1}. → [N]"""
    if not gates:
        return torch.full((n,), float(gamma_last), device=device)
    c = torch.full_like(gates[-1], float(gamma_last))
    for b in range(len(gates) - 1, -1, -1):
        g = gates[b]
        c = g * gamma[b] + (1 - g) * c
    return c.squeeze(1)


def objective(outputs, y, method, costs):
    """Sums over the batch of (loss, CE part, expected cost C). outputs = (exit logits, gates, final logits)."""
    logits, gates, final = outputs
    logits = [l.float() for l in logits]
    gates = [g.float() for g in gates]
    final = final.float()
    name = method['name']
    zero = final.new_zeros(())
    if name == 'proposed':
        probs = [F.softmax(l, 1) for l in logits]
        f_t = soft_conditional_output(probs, gates, F.softmax(final, 1))
        ce = -torch.log(f_t.gather(1, y[:, None]).squeeze(1) + PROB_EPS).sum()
        full = costs['full']
        c = expected_cost(gates, [g / full for g in costs['exits']], costs['final'] / full, y.shape[0], y.device).sum()
        loss = ce + method['lambda'] * c
        alpha = method.get('exitLossWeight', 0)
        if alpha > 0:
            loss = loss + alpha * sum(F.cross_entropy(l, y, reduction='sum') for l in logits + [final])
        return loss, ce, c
    if name == 'branchynet':
        w = method.get('exitWeights') or [1.0] * (len(logits) + 1)
        ce = sum(w[b] * F.cross_entropy(l, y, reduction='sum') for b, l in enumerate(logits + [final]))
        return ce, ce, zero
    if name == 'baseline':
        ce = F.cross_entropy(final, y, reduction='sum')
        return ce, ce, zero
    raise ValueError(f'unknown method "{name}"')
