"""Generate the PyTorch reference values for the nn crate: nn.json and
linear_5_3.safetensors.

Run it from the repository root with a Python that has torch, numpy and
safetensors installed, for example a virtualenv outside the repository:

    python3 -m venv /work/venv-torch
    /work/venv-torch/bin/pip install torch numpy safetensors
    /work/venv-torch/bin/python tests/reference/generate_nn.py

The outputs are committed, so CI and `cargo test` never need torch.

nn.json has four sections, each a list of entries with a unique `name`:

- `losses`: `input` (and `target`, float or class indices), the
  hyperparameters in `params`, the `reduction`, the forward `output`, the
  `cotangent` fed to backward (1.0 for a scalar loss) and `grad_input`.
- `optimizers`: a 5-element parameter vector `initial`, the 5 gradients fed
  in turn through `p.grad = g` (no model involved), the full hyperparameters
  in `config`, and `params`, the parameter vector after each of the 5 steps.
- `schedules`: the learning rate of epochs 0 to 11 (`lrs[e]` is the rate
  used during epoch e, read before the e-th `scheduler.step()`).
- `models`: the `nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))`
  that torch.manual_seed(0) builds, with its state dict, a fixed input batch
  and its output in float32 (as saved) and in float64 (the same float32
  weights widened). The same weights are in linear_5_3.safetensors.

Tensors are `{"shape": [..], "data": [..]}` with `data` flat in row-major
order, written with Python's shortest round-trip repr. Losses and optimizer
traces are computed in float64.
"""

import json
import math
import pathlib
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).resolve().parent
DTYPE = torch.float64


def generator(name):
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def randn(name, *shape, scale=1.0):
    return torch.randn(shape, generator=generator(name), dtype=DTYPE) * scale


def uniform(name, low, high, *shape):
    return torch.rand(shape, generator=generator(name), dtype=DTYPE) * (high - low) + low


def tensor(values):
    return torch.tensor(values, dtype=DTYPE)


def tensor_json(t):
    t = t.detach()
    if t.dtype in (torch.int64, torch.int32):
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = [float(v) for v in t.to(DTYPE).reshape(-1).tolist()]
        for v in data:
            if not math.isfinite(v):
                raise ValueError(f"non-finite value {v} in a reference tensor")
    return {"shape": list(t.shape), "data": data}


class Entries:
    """A list of entries with unique names."""

    def __init__(self):
        self.entries = []
        self.names = set()

    def append(self, entry):
        if entry["name"] in self.names:
            raise ValueError(f"duplicate entry name {entry['name']}")
        self.names.add(entry["name"])
        self.entries.append(entry)


# --- losses -----------------------------------------------------------------

def loss_entry(name, loss, fn, input, target, reduction, params=None, note=None):
    """Run `fn(input, target, reduction=...)` and record value and input gradient."""
    leaf = input.detach().clone().requires_grad_(True)
    output = fn(leaf, target, reduction=reduction)
    if output.dim() == 0:
        cotangent = torch.ones((), dtype=DTYPE)
    else:
        cotangent = torch.randn(output.shape, generator=generator(name + "/cotangent"), dtype=DTYPE)
    (grad,) = torch.autograd.grad(output, [leaf], cotangent)
    entry = {
        "name": name,
        "loss": loss,
        "reduction": reduction,
        "params": params or {},
        "input": tensor_json(leaf),
        "target": tensor_json(target),
        "output": tensor_json(output),
        "cotangent": tensor_json(cotangent),
        "grad_input": tensor_json(grad),
    }
    if note:
        entry["note"] = note
    return entry


def add_losses(entries):
    reductions = ["mean", "sum", "none"]

    def each_reduction(name, loss, fn, input, target, params=None, note=None):
        for reduction in reductions:
            entries.append(loss_entry(f"{name}_{reduction}", loss, fn, input, target, reduction, params, note))

    # Regression losses: the differences span both sides of beta and delta.
    input = randn("regression/input", 4, 3)
    target = input + randn("regression/offset", 4, 3, scale=1.5)
    each_reduction("mse", "mse", F.mse_loss, input, target)
    each_reduction("l1", "l1", F.l1_loss, input, target)
    each_reduction("smooth_l1", "smooth_l1", lambda i, t, reduction: F.smooth_l1_loss(i, t, reduction=reduction),
                   input, target, params={"beta": 1.0})
    each_reduction("smooth_l1_beta_0_5", "smooth_l1",
                   lambda i, t, reduction: F.smooth_l1_loss(i, t, reduction=reduction, beta=0.5),
                   input, target, params={"beta": 0.5})
    each_reduction("huber_delta_1_5", "huber",
                   lambda i, t, reduction: F.huber_loss(i, t, reduction=reduction, delta=1.5),
                   input, target, params={"delta": 1.5})

    # Binary cross entropy on probabilities, with soft and hard targets.
    probability = uniform("bce/input", 0.05, 0.95, 6)
    target = tensor([0.0, 1.0, 1.0, 0.0, 0.3, 0.8])
    each_reduction("bce", "bce", F.binary_cross_entropy, probability, target)
    each_reduction("bce_clamp", "bce", F.binary_cross_entropy,
                   tensor([0.0, 1.0, 0.0, 1.0, 0.5]), tensor([1.0, 0.0, 0.0, 1.0, 1.0]),
                   note="torch clamps each logarithm at -100, so a probability of exactly 0 or 1 "
                        "costs at most 100. Its gradient (p - y) / max(p (1 - p), eps) reaches "
                        "about 1e12 where p = 0, y = 1 or p = 1, y = 0, with eps the float32 "
                        "rounding of 1e-12 (9.99999996e-13) even in float64")

    logits = randn("bce_with_logits/input", 6, scale=3.0)
    each_reduction("bce_with_logits", "bce_with_logits", F.binary_cross_entropy_with_logits, logits, target)
    each_reduction("bce_with_logits_extreme", "bce_with_logits", F.binary_cross_entropy_with_logits,
                   tensor([100.0, -100.0, 100.0, -100.0]), tensor([0.0, 1.0, 1.0, 0.0]),
                   note="logits of +-100 give losses of 100 or about 3.7e-44, never inf or NaN")

    # Cross entropy on [N, C] logits, with class indices and with class
    # probabilities, with and without label smoothing.
    logits = randn("cross_entropy/input", 4, 5, scale=2.0)
    classes = torch.tensor([3, 0, 4, 1])
    probabilities = torch.softmax(randn("cross_entropy/target", 4, 5, scale=2.0), dim=1)
    for smoothing in [0.0, 0.1]:
        suffix = "" if smoothing == 0.0 else "_label_smoothing_0_1"

        def with_smoothing(i, t, reduction, smoothing=smoothing):
            return F.cross_entropy(i, t, reduction=reduction, label_smoothing=smoothing)

        each_reduction("cross_entropy_indices" + suffix, "cross_entropy", with_smoothing, logits, classes,
                       params={"label_smoothing": smoothing, "target": "indices"})
        each_reduction("cross_entropy_probabilities" + suffix, "cross_entropy", with_smoothing, logits,
                       probabilities, params={"label_smoothing": smoothing, "target": "probabilities"})

    large = tensor([[1000.0, -1000.0, 0.0], [-1000.0, 999.0, 1000.0]])
    each_reduction("cross_entropy_large_logits", "cross_entropy", F.cross_entropy, large,
                   torch.tensor([1, 2]), params={"label_smoothing": 0.0, "target": "indices"},
                   note="logits of +-1000 need log-sum-exp to stay finite")

    log_probabilities = torch.log_softmax(randn("nll/input", 4, 5, scale=2.0), dim=1)
    each_reduction("nll", "nll", F.nll_loss, log_probabilities, classes)


# --- optimizers -------------------------------------------------------------

INITIAL = [0.5, -1.2, 0.03, 2.0, -0.7]
# Gradient scales that rise and fall, so amsgrad's running maximum differs
# from Adam's second moment, and one element that changes sign every step.
SCALES = [1.0, 2.0, 0.5, 0.1, 1.5]


def gradients():
    result = []
    for step, scale in enumerate(SCALES):
        g = randn(f"optimizer/gradient/{step}", len(INITIAL), scale=scale)
        g[4] = (-1.0) ** step * 0.3
        result.append(g)
    return result


def trace(name, optimizer_class, config, note=None):
    """Run 5 steps of the optimizer on INITIAL with the fixed gradients."""
    parameter = nn.Parameter(tensor(INITIAL))
    optimizer = optimizer_class([parameter], **config)
    grads = gradients()
    after_each_step = []
    for g in grads:
        optimizer.zero_grad()
        parameter.grad = g.clone()
        optimizer.step()
        after_each_step.append([float(v) for v in parameter.detach().tolist()])

    # Store every hyperparameter the optimizer used, defaults included, so a
    # reader does not have to know torch's defaults.
    used = {}
    for key, value in optimizer.param_groups[0].items():
        if key == "params" or value is None or key in ("foreach", "fused", "capturable", "differentiable"):
            continue
        used[key] = list(value) if isinstance(value, tuple) else value
    entry = {
        "name": name,
        "optimizer": optimizer_class.__name__,
        "config": used,
        "initial": list(INITIAL),
        "grads": [[float(v) for v in g.tolist()] for g in grads],
        "params": after_each_step,
    }
    if note:
        entry["note"] = note
    return entry


def add_optimizers(entries):
    sgd = torch.optim.SGD
    entries.append(trace("sgd", sgd, {"lr": 0.1}))
    entries.append(trace("sgd_momentum", sgd, {"lr": 0.1, "momentum": 0.9}))
    entries.append(trace("sgd_momentum_dampening", sgd, {"lr": 0.1, "momentum": 0.9, "dampening": 0.1},
                         note="the first step copies the gradient into the buffer without dampening"))
    entries.append(trace("sgd_nesterov", sgd, {"lr": 0.1, "momentum": 0.9, "nesterov": True}))
    entries.append(trace("sgd_weight_decay", sgd, {"lr": 0.1, "weight_decay": 0.01}))
    entries.append(trace("sgd_momentum_weight_decay", sgd, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}))

    adam = torch.optim.Adam
    entries.append(trace("adam", adam, {"lr": 0.01}))
    entries.append(trace("adam_amsgrad", adam, {"lr": 0.01, "amsgrad": True}))
    entries.append(trace("adam_weight_decay", adam, {"lr": 0.01, "weight_decay": 0.01},
                         note="L2 penalty: weight_decay * p is added to the gradient"))
    entries.append(trace("adamw", torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.01},
                         note="decoupled: p is multiplied by 1 - lr * weight_decay before the Adam update"))
    entries.append(trace("adamw_amsgrad", torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.01, "amsgrad": True}))

    rmsprop = torch.optim.RMSprop
    entries.append(trace("rmsprop", rmsprop, {"lr": 0.01}))
    entries.append(trace("rmsprop_momentum", rmsprop, {"lr": 0.01, "momentum": 0.9}))
    entries.append(trace("rmsprop_centered", rmsprop, {"lr": 0.01, "centered": True}))
    entries.append(trace("rmsprop_weight_decay", rmsprop, {"lr": 0.01, "weight_decay": 0.01}))

    adagrad = torch.optim.Adagrad
    entries.append(trace("adagrad", adagrad, {"lr": 0.01}))
    entries.append(trace("adagrad_lr_decay", adagrad, {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01,
                                                       "initial_accumulator_value": 0.1}))


# --- learning-rate schedules --------------------------------------------------

BASE_LR = 0.1
EPOCHS = 12


def schedule(name, scheduler_class, config, note=None):
    parameter = nn.Parameter(tensor([0.0]))
    optimizer = torch.optim.SGD([parameter], lr=BASE_LR)
    scheduler = scheduler_class(optimizer, **config)
    lrs = []
    for _ in range(EPOCHS):
        lrs.append(float(scheduler.get_last_lr()[0]))
        optimizer.step()
        scheduler.step()
    entry = {"name": name, "scheduler": scheduler_class.__name__, "base_lr": BASE_LR,
             "config": config, "lrs": lrs}
    if note:
        entry["note"] = note
    return entry


def add_schedules(entries):
    lr_scheduler = torch.optim.lr_scheduler
    entries.append(schedule("step_lr", lr_scheduler.StepLR, {"step_size": 2, "gamma": 0.5}))
    entries.append(schedule("exponential_lr", lr_scheduler.ExponentialLR, {"gamma": 0.9}))
    entry = schedule("cosine_annealing_lr", lr_scheduler.CosineAnnealingLR, {"T_max": 10, "eta_min": 0.001},
                     note="torch updates the rate recursively; it matches the closed form "
                          "eta_min + (base_lr - eta_min) (1 + cos(pi e / T_max)) / 2 to within 1e-15, "
                          "past T_max too, where the rate rises again")
    closed_form = [0.001 + (BASE_LR - 0.001) * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(EPOCHS)]
    worst = max(abs(a - b) for a, b in zip(entry["lrs"], closed_form))
    if worst > 1e-15:
        raise ValueError(f"cosine schedule departs from the closed form by {worst}")
    entries.append(entry)


# --- a saved model ------------------------------------------------------------

def add_models(entries):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))
    state = {name: t.detach().contiguous() for name, t in model.state_dict().items()}
    save_file(state, str(HERE / "linear_5_3.safetensors"))

    # Rows chosen so that some hidden units are negative before the ReLU.
    input32 = torch.tensor([
        [0.5, -1.0, 2.0, 0.0, 1.5],
        [-2.0, 0.3, -0.7, 1.1, -0.4],
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [3.0, 2.0, -1.0, -2.5, 0.25],
    ], dtype=torch.float32)
    with torch.no_grad():
        output32 = model(input32)
        output64 = model.double()(input32.double())

    entries.append({
        "name": "linear_5_3",
        "file": "linear_5_3.safetensors",
        "architecture": "nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2)) after torch.manual_seed(0)",
        "dtype": "float32",
        "state_dict": {name: tensor_json(t) for name, t in state.items()},
        "input": tensor_json(input32),
        "output_float32": tensor_json(output32),
        "output_float64": tensor_json(output64),
    })


def dump(document):
    """Serialize with one entry per line, so a changed entry shows as one line in a diff."""
    lines = ["{" + f'"generator": {json.dumps(document["generator"])},',
             f'"torch_version": {json.dumps(document["torch_version"])},']
    sections = [key for key in document if isinstance(document[key], list)]
    for index, key in enumerate(sections):
        body = ",\n".join(json.dumps(e, allow_nan=False, separators=(",", ":")) for e in document[key])
        closing = "]," if index + 1 < len(sections) else "]"
        lines.append(f'"{key}": [\n{body}\n{closing}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    torch.use_deterministic_algorithms(True)
    sections = {}
    for key, add in [("losses", add_losses), ("optimizers", add_optimizers),
                     ("schedules", add_schedules), ("models", add_models)]:
        entries = Entries()
        add(entries)
        sections[key] = entries.entries

    document = {"generator": "tests/reference/generate_nn.py", "torch_version": torch.__version__, **sections}
    path = HERE / "nn.json"
    path.write_text(dump(document))
    json.loads(path.read_text())
    counts = ", ".join(f"{len(v)} {k}" for k, v in sections.items())
    print(f"wrote {counts} to {path} with torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
