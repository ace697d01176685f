"""Time torch.mm on the products of benches/gemm.rs, on one thread.

Run: /work/venv-torch/bin/python benches/gemm_torch.py
Prints one Markdown table row per product, in the order of the Rust table,
with GFLOP/s = 2·m·k·n / time. Each number is the median of SAMPLES
samples; a sample times a loop of calls that lasts at least MIN_SAMPLE
seconds, after WARM_UP seconds of untimed calls, as in the Rust benchmark.
"""

import platform
import statistics
import time

import torch

WARM_UP = 0.03
MIN_SAMPLE = 0.002
SAMPLES = 41

# (what, m, k, n, layout, dtype); layout names which operand is stored
# transposed and read through a transposed view, as in benches/gemm.rs.
PRODUCTS = [
    ("outer product", 5, 1, 5, "a·b", torch.float32),
    ("Iris layer 1 forward, x·Wᵀ", 150, 4, 16, "a·bᵀ", torch.float32),
    ("Iris layer 1, plain", 150, 4, 16, "a·b", torch.float32),
    ("Iris layer 2 forward, h·Wᵀ", 150, 16, 3, "a·bᵀ", torch.float32),
    ("Iris layer 2, plain", 150, 16, 3, "a·b", torch.float32),
    ("MLP head forward, h·Wᵀ", 64, 32, 10, "a·bᵀ", torch.float32),
    ("MLP head, plain", 64, 32, 10, "a·b", torch.float32),
    ("MNIST layer 1 forward, x·Wᵀ", 64, 784, 128, "a·bᵀ", torch.float32),
    ("MNIST layer 1, plain", 64, 784, 128, "a·b", torch.float32),
    ("MNIST layer 1 input grad, dy·W", 64, 128, 784, "a·b", torch.float32),
    ("MNIST layer 1 weight grad, dyᵀ·x", 128, 64, 784, "aᵀ·b", torch.float32),
    ("square", 128, 128, 128, "a·b", torch.float32),
    ("MNIST layer 1 forward, x·Wᵀ", 64, 784, 128, "a·bᵀ", torch.float64),
    ("square", 128, 128, 128, "a·b", torch.float64),
]


def median_seconds(call):
    """Return the median time of one call of `call`, in seconds."""
    start = time.perf_counter()
    warm_up_calls = 0
    while time.perf_counter() - start < WARM_UP:
        call()
        warm_up_calls += 1
    per_call = (time.perf_counter() - start) / warm_up_calls
    reps = max(1, int(MIN_SAMPLE / per_call + 0.999))

    samples = []
    for _ in range(SAMPLES):
        t = time.perf_counter()
        for _ in range(reps):
            call()
        samples.append((time.perf_counter() - t) / reps)
    return statistics.median(samples)


def operands(m, k, n, layout, dtype):
    """Return `a` [m, k] and `b` [k, n], the transposed one as a view of its stored form."""
    gen = torch.Generator().manual_seed(0)
    if layout == "aᵀ·b":
        a = torch.rand(k, m, generator=gen, dtype=dtype).t()
    else:
        a = torch.rand(m, k, generator=gen, dtype=dtype)
    if layout == "a·bᵀ":
        b = torch.rand(n, k, generator=gen, dtype=dtype).t()
    else:
        b = torch.rand(k, n, generator=gen, dtype=dtype)
    return a, b


def main():
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {platform.python_implementation()} {platform.python_version()}, "
          f"threads {torch.get_num_threads()}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(f"warm-up {WARM_UP * 1e3:.0f} ms, median of {SAMPLES} samples of at least {MIN_SAMPLE * 1e3:.0f} ms, GFLOP/s\n")
    print("| product | m×k×n | type | torch.mm |")
    print("|---|---|---|---|")
    for what, m, k, n, layout, dtype in PRODUCTS:
        a, b = operands(m, k, n, layout, dtype)
        c = torch.empty(m, n, dtype=dtype)
        torch.mm(a, b, out=c)
        assert torch.allclose(c, a.double().mm(b.double()).to(dtype), rtol=1e-4, atol=1e-4 * k)
        seconds = median_seconds(lambda: torch.mm(a, b, out=c))
        gflops = 2 * m * k * n / seconds / 1e9
        ty = "f32" if dtype == torch.float32 else "f64"
        print(f"| {what} | {m}×{k}×{n} {layout} | {ty} | {gflops:.2f} |")


if __name__ == "__main__":
    main()
