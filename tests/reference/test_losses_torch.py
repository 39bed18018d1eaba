"""w2s's losses against PyTorch (Debian's python3-torch).

The losses are re-stated here in torch with the semantics of the openai/weak-to-strong reference
(soft-target F.cross_entropy, torch.quantile for the auxconf threshold, `>=` / `<` hardening,
detached targets), except for the auxconf warm-up, which follows the paper (linear 0 → α_max).
Gradients come from autograd on the SUM of per-example losses, as w2s defines dlogits. The
tests/reference/loss_probe program runs w2s on the same inputs. Float64 on the torch side;
tolerance 2e-5 relative (w2s stores float32 results).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

TOL = 2e-5
rng = np.random.default_rng(20231214)


def soft_ce_sum(logits, target):
    """Per-example soft cross-entropy and d(sum)/d(logits) with the target held fixed."""
    z = logits.clone().requires_grad_(True)
    per_example = F.cross_entropy(z, target.detach(), reduction="none")
    per_example.sum().backward()
    return per_example.detach(), z.grad


def torch_loss(case):
    z = torch.tensor(case["logits"], dtype=torch.float32).double().view(case["n"], case["C"])
    y = torch.tensor(case["targets"], dtype=torch.float32).double().view(case["n"], case["C"])
    out = {"alpha": 0.0, "threshold": 0.0}
    if case["kind"] in ("gt", "xent"):
        target = y
    elif case["kind"] == "product":
        p = torch.softmax(z, dim=-1)
        target = p.pow(case["product_beta"]) * y.pow(case["product_alpha"])
        target = target / target.sum(dim=-1, keepdim=True)
    elif case["kind"] == "auxconf":
        s, a_max, warm = case["step_frac"], case["aux_alpha_max"], case["aux_warmup_frac"]
        alpha = min(a_max * s / warm, a_max)
        p = torch.softmax(z, dim=-1)
        threshold = torch.quantile(p[:, 0], y.mean(dim=0)[1])
        hard = torch.stack([p[:, 0] >= threshold, p[:, 0] < threshold], dim=1).double()
        target = (1 - alpha) * y + alpha * hard
        out.update(alpha=alpha, threshold=float(threshold))
    else:
        raise ValueError(case["kind"])
    per_example, grad = soft_ce_sum(z, target)
    out.update(per_example=per_example.numpy(), dlogits=grad.reshape(-1).numpy())
    return out


def random_case(kind, n, C, **extra):
    logits = rng.normal(0.0, 2.0, size=(n, C)).astype(np.float32)
    if kind == "gt":
        targets = np.eye(C, dtype=np.float32)[rng.integers(0, C, size=n)]
    else:
        targets = rng.dirichlet(np.ones(C), size=n).astype(np.float32)
    return dict(kind=kind, n=n, C=C, logits=logits.reshape(-1).tolist(), targets=targets.reshape(-1).tolist(), **extra)


def cases():
    out = [random_case("gt", 16, 2), random_case("gt", 9, 5), random_case("xent", 16, 2), random_case("xent", 8, 4)]
    for alpha, beta in [(1.0, 1.0), (2.0, 0.5), (0.5, 3.0)]:
        out.append(random_case("product", 12, 2, product_alpha=alpha, product_beta=beta))
        out.append(random_case("product", 6, 4, product_alpha=alpha, product_beta=beta))
    for n in (32, 7, 2, 1):
        for s in (0.0, 0.05, 0.1, 0.2, 0.6, 1.0):
            out.append(random_case("auxconf", n, 2, step_frac=s, aux_alpha_max=0.75, aux_warmup_frac=0.2))
    out.append(random_case("auxconf", 20, 2, step_frac=0.3, aux_alpha_max=0.5, aux_warmup_frac=0.4))
    for T in (1.0, 2.0, 0.5):
        c = random_case("xent", 10, 3)
        out.append(dict(kind="soft_labels", n=10, C=3, logits=c["logits"], temperature=T))
    return out


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def main():
    bindir = os.environ.get("W2S_TEST_BIN_DIR")
    if not bindir:
        print("W2S_TEST_BIN_DIR not set (run through ctest)")
        return 77
    probe = os.path.join(bindir, "loss_probe")
    if not os.path.exists(probe):
        print(f"{probe} not built")
        return 77
    torch.set_num_threads(1)
    all_cases = cases()
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "cases.json"), "w") as f:
            json.dump(all_cases, f)
        subprocess.run([probe, os.path.join(tmp, "cases.json"), os.path.join(tmp, "results.json")], check=True)
        with open(os.path.join(tmp, "results.json")) as f:
            results = json.load(f)

    failures = 0
    for case, got in zip(all_cases, results):
        label = f"{case['kind']} n={case['n']} C={case['C']} " + " ".join(
            f"{k}={case[k]}" for k in ("step_frac", "product_alpha", "product_beta", "temperature") if k in case)
        if case["kind"] == "soft_labels":
            z = torch.tensor(case["logits"], dtype=torch.float32).double().view(case["n"], case["C"])
            errs = {"soft_labels": rel_err(got["soft_labels"], torch.softmax(z / case["temperature"], -1).reshape(-1))}
        else:
            want = torch_loss(case)
            errs = {k: rel_err(got[k], want[k]) for k in ("per_example", "dlogits")}
            errs["alpha"] = abs(got["alpha"] - want["alpha"])
            errs["threshold"] = abs(got["threshold"] - want["threshold"])
        bad = {k: v for k, v in errs.items() if not v <= TOL}
        print(("FAIL " if bad else "ok   ") + label + "  " + " ".join(f"{k}={v:.1e}" for k, v in errs.items()))
        failures += bool(bad)
    print(f"{len(all_cases) - failures}/{len(all_cases)} cases agree with torch (tolerance {TOL})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
