"""Time the training steps of benches/train_step.rs in PyTorch eager mode.

One step is a forward pass, the loss, the backward pass and an optimizer
step (with zero_grad), on one thread. The timing scheme is the Rust
benchmark's: warm up for at least WARMUP seconds (and 10 steps), then time
SAMPLES samples of k consecutive steps, with k chosen so that a sample lasts
about SAMPLE_TIME seconds, and report the median, 10th and 90th percentile of
the time per step in microseconds.

    python benches/train_step_torch.py              # every case
    python benches/train_step_torch.py mlp_784      # cases whose name contains "mlp_784"
"""

import sys
import time

import torch
import torch.nn.functional as F

WARMUP = 0.3
SAMPLE_TIME = 0.002
SAMPLES = 200


def measure(step):
    """Return (median, p10, p90, k) of the time per step in microseconds."""
    start = time.perf_counter()
    warmup_steps = 0
    while warmup_steps < 10 or time.perf_counter() - start < WARMUP:
        step()
        warmup_steps += 1
    estimate = (time.perf_counter() - start) / warmup_steps
    k = max(1, round(SAMPLE_TIME / estimate))

    per_step = []
    for _ in range(SAMPLES):
        t = time.perf_counter_ns()
        for _ in range(k):
            step()
        per_step.append((time.perf_counter_ns() - t) / 1e3 / k)
    per_step.sort()

    def quantile(q):
        return per_step[round((len(per_step) - 1) * q)]

    return quantile(0.5), quantile(0.1), quantile(0.9), k


def neuron_case():
    """The tutorial neuron: sigmoid(w·x + b), MSE against a label, SGD lr 0.1."""
    w = torch.tensor([0.5, -0.3, 0.8, 0.1, -0.6], requires_grad=True)
    b = torch.tensor(0.2, requires_grad=True)
    x = torch.tensor([1.0, 2.0, -1.0, 0.5, 3.0])
    y = torch.tensor(1.0)
    optimizer = torch.optim.SGD([w, b], lr=0.1)

    def step():
        optimizer.zero_grad()
        prediction = torch.sigmoid(torch.dot(w, x) + b)
        loss = F.mse_loss(prediction, y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def mlp_case(batch, inputs, hidden, outputs, optimizer_name, seed):
    """Linear, ReLU, Linear, cross entropy against class indices."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(inputs, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, outputs),
    )
    x = torch.randn(batch, inputs)
    labels = torch.randint(0, outputs, (batch,))
    if optimizer_name == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss

    return step


CASES = [
    ("neuron_sgd", neuron_case),
    ("mlp_4_16_3_b150_sgd", lambda: mlp_case(150, 4, 16, 3, "sgd", 1)),
    ("mlp_64_32_10_b64_sgd", lambda: mlp_case(64, 64, 32, 10, "sgd", 2)),
    ("mlp_784_128_10_b64_sgd", lambda: mlp_case(64, 784, 128, 10, "sgd", 3)),
    ("mlp_784_128_10_b64_adam", lambda: mlp_case(64, 784, 128, 10, "adam", 3)),
]


def main():
    torch.set_num_threads(1)
    filters = [a for a in sys.argv[1:] if not a.startswith("--")]
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} thread")
    print(f"{'case':<28} {'median_us':>10} {'p10_us':>10} {'p90_us':>10} {'k':>8}")
    for name, make in CASES:
        if filters and not any(f in name for f in filters):
            continue
        median, p10, p90, k = measure(make())
        print(f"{name:<28} {median:>10.3f} {p10:>10.3f} {p90:>10.3f} {k:>8}")


if __name__ == "__main__":
    main()
