"""Generate the PyTorch reference values for the primitive ops: ops.json.

Run it from the repository root with a Python that has torch installed, for
example a virtualenv outside the repository:

    python3 -m venv /work/venv-torch
    /work/venv-torch/bin/pip install torch numpy safetensors
    /work/venv-torch/bin/python tests/reference/generate.py

The output is committed, so CI and `cargo test` never need torch. Rerun the
script only to add or change a case, and commit the new ops.json with it.

Every case computes in float64 and stores:

- `inputs`: the float tensors that get a gradient, in argument order;
- `params`: everything else the op takes (a dim, an exponent, an index tensor);
- `output`: the forward result;
- `cotangent`: the output cotangent fed to backward, seeded per case;
- `grads`: the gradient of each input for that cotangent, in input order.

A tensor is `{"shape": [..], "data": [..]}` with `data` flat in row-major
order; a scalar has shape `[]` and one element. Floats are written with
Python's shortest round-trip repr, so parsing them gives back the exact f64.
Each case draws its inputs and cotangent from its own generator, seeded with
the CRC-32 of its name, so adding a case never changes the others.
"""

import json
import math
import pathlib
import sys
import zlib

import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
DTYPE = torch.float64


def generator(name):
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def tensor_json(t):
    t = t.detach().to(DTYPE)
    data = [float(v) for v in t.reshape(-1).tolist()]
    for v in data:
        if not math.isfinite(v):
            raise ValueError(f"non-finite value {v} in a reference tensor")
    return {"shape": list(t.shape), "data": data}


def dump(document):
    """Serialize with one case per line, so a changed case shows as one line in a diff."""
    head = {k: v for k, v in document.items() if k != "cases"}
    lines = [json.dumps(head, allow_nan=False)[:-1] + ', "cases": [']
    body = [json.dumps(case, allow_nan=False, separators=(",", ":")) for case in document["cases"]]
    lines.append(",\n".join(body))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def tensor(values):
    return torch.tensor(values, dtype=DTYPE)


class Cases:
    """Collects the cases and checks that every name is unique."""

    def __init__(self):
        self.cases = []
        self.names = set()

    def add(self, name, op, fn, inputs, params=None, cotangent=None, note=None):
        """Run `fn(*inputs)` forward and backward and record the case.

        `inputs` are the differentiable arguments. `cotangent` defaults to a
        standard normal tensor of the output's shape drawn from the case's
        generator.
        """
        if name in self.names:
            raise ValueError(f"duplicate case name {name}")
        self.names.add(name)

        leaves = [x.detach().clone().to(DTYPE).requires_grad_(True) for x in inputs]
        output = fn(*leaves)
        if cotangent is None:
            cotangent = torch.randn(output.shape, generator=generator(name + "/cotangent"), dtype=DTYPE)
        grads = torch.autograd.grad(output, leaves, cotangent, allow_unused=True)
        grads = [torch.zeros_like(x) if g is None else g for x, g in zip(leaves, grads)]

        case = {
            "name": name,
            "op": op,
            "params": params or {},
            "inputs": [tensor_json(x) for x in leaves],
            "output": tensor_json(output),
            "cotangent": tensor_json(cotangent),
            "grads": [tensor_json(g) for g in grads],
        }
        if note:
            case["note"] = note
        self.cases.append(case)


def randn(name, *shape, scale=1.0):
    return torch.randn(shape, generator=generator(name), dtype=DTYPE) * scale


def uniform(name, low, high, *shape):
    return torch.rand(shape, generator=generator(name), dtype=DTYPE) * (high - low) + low


def add_arithmetic(cases):
    for name, fn in [
        ("add", torch.add),
        ("sub", torch.sub),
        ("mul", torch.mul),
        ("div", torch.div),
    ]:
        a = randn(name + "/a", 3, 4)
        b = randn(name + "/b", 3, 4)
        if name == "div":
            # Keep the divisor away from 0 so the gradient stays moderate.
            b = b.sign() * (b.abs() + 0.5)
        cases.add(name, name, fn, [a, b])

        # Tensor-scalar and scalar-tensor: the scalar is a rank-0 input with
        # its own gradient (the sum over the tensor it touched).
        x = randn(name + "_tensor_scalar/x", 3, 4)
        s = tensor(-1.75 if name != "div" else 1.6)
        cases.add(name + "_tensor_scalar", name, fn, [x, s])

        x = randn(name + "_scalar_tensor/x", 3, 4)
        if name == "div":
            x = x.sign() * (x.abs() + 0.5)
        s = tensor(0.8)
        cases.add(name + "_scalar_tensor", name, fn, [s, x])

    cases.add("neg", "neg", torch.neg, [randn("neg", 3, 4)])


def add_unary(cases):
    edge = tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])

    cases.add("exp", "exp", torch.exp, [randn("exp", 3, 4)])
    cases.add("ln", "ln", torch.log, [uniform("ln", 0.1, 3.0, 3, 4)])
    cases.add("log1p", "log1p", torch.log1p, [uniform("log1p", -0.9, 3.0, 3, 4)])
    cases.add("log1p_small", "log1p", torch.log1p, [tensor([-1e-10, 1e-12, 1e-8, 3e-5])],
              note="tiny inputs where ln(1 + x) would lose every digit")
    cases.add("sqrt", "sqrt", torch.sqrt, [uniform("sqrt", 0.05, 4.0, 3, 4)])
    cases.add("square", "square", torch.square, [randn("square", 3, 4)])
    cases.add("abs", "abs", torch.abs, [randn("abs", 3, 4)])
    cases.add("abs_at_zero", "abs", torch.abs, [tensor([-2.0, 0.0, 3.0, -0.0])],
              note="the gradient of abs at 0 (and at -0) is 0")
    cases.add("sin", "sin", torch.sin, [randn("sin", 3, 4, scale=2.0)])
    cases.add("cos", "cos", torch.cos, [randn("cos", 3, 4, scale=2.0)])
    cases.add("tanh", "tanh", torch.tanh, [randn("tanh", 3, 4, scale=2.0)])
    cases.add("tanh_saturated", "tanh", torch.tanh, [tensor([-30.0, -10.0, 10.0, 30.0])])
    cases.add("sigmoid", "sigmoid", torch.sigmoid, [randn("sigmoid", 3, 4, scale=3.0)])
    cases.add("sigmoid_saturated", "sigmoid", torch.sigmoid, [tensor([-40.0, -20.0, 0.0, 20.0, 40.0])],
              note="torch returns a gradient of exactly 0 at +40 because sigmoid(40) rounds to 1; "
                   "compare with an absolute tolerance")

    # powf: real exponent on a positive base; powi: integer exponent on any
    # sign of base.
    for p in [2.5, -0.5, 0.5]:
        name = f"powf_{p}".replace(".", "_").replace("-", "neg")
        cases.add(name, "powf", lambda x, p=p: torch.pow(x, p), [uniform(name, 0.2, 3.0, 3, 4)],
                  params={"exponent": p})
    cases.add("powf_at_zero", "powf", lambda x: torch.pow(x, 2.5), [tensor([0.0, 1.0, 2.0])],
              params={"exponent": 2.5}, note="x^2.5 has gradient 0 at x = 0")
    for n in [3, 2, -2, 0, 1]:
        name = f"powi_{n}".replace("-", "neg")
        x = randn(name, 3, 4)
        if n < 0:
            x = x.sign() * (x.abs() + 0.5)
        cases.add(name, "powi", lambda x, n=n: torch.pow(x, n), [x], params={"exponent": n})

    # Activations on random inputs with exact edges mixed in.
    activations = [
        ("relu", torch.relu, {}),
        ("leaky_relu", lambda x: F.leaky_relu(x, 0.01), {"negative_slope": 0.01}),
        ("leaky_relu_0_2", lambda x: F.leaky_relu(x, 0.2), {"negative_slope": 0.2}),
        ("elu", lambda x: F.elu(x, 1.0), {"alpha": 1.0}),
        ("elu_alpha_0_5", lambda x: F.elu(x, 0.5), {"alpha": 0.5}),
        ("silu", F.silu, {}),
        ("softplus", lambda x: F.softplus(x), {"beta": 1.0, "threshold": 20.0}),
        ("gelu", lambda x: F.gelu(x), {"approximate": "none"}),
        ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), {"approximate": "tanh"}),
    ]
    for name, fn, params in activations:
        op = name.split("_0_")[0].split("_alpha")[0]
        x = torch.cat([randn(name, 9, scale=2.0), edge]).reshape(4, 4)
        cases.add(name, op, fn, [x], params=params)

    cases.add("relu_at_zero", "relu", torch.relu, [tensor([-1.0, 0.0, 1.0, -0.0])],
              note="the gradient of relu at 0 is 0")
    cases.add("leaky_relu_at_zero", "leaky_relu", lambda x: F.leaky_relu(x, 0.01),
              [tensor([-1.0, 0.0, 1.0])], params={"negative_slope": 0.01},
              note="torch takes the slope-1 branch only for x > 0, so the gradient at 0 is the negative slope")
    cases.add("softplus_beyond_threshold", "softplus", lambda x: F.softplus(x),
              [tensor([-25.0, -5.0, 5.0, 19.5, 25.0])], params={"beta": 1.0, "threshold": 20.0},
              note="torch returns x itself above the threshold; the exact value differs by less than 1e-10")
    cases.add("softplus_beta_2", "softplus", lambda x: F.softplus(x, beta=2.0),
              [randn("softplus_beta_2", 3, 4, scale=2.0)], params={"beta": 2.0, "threshold": 20.0})


def add_binary_elementwise(cases):
    for name, fn in [("maximum", torch.maximum), ("minimum", torch.minimum)]:
        a = randn(name + "/a", 3, 4)
        b = randn(name + "/b", 3, 4)
        cases.add(name, name, fn, [a, b])

        b = b.clone()
        b[0, 0] = a[0, 0]
        b[1, 2] = a[1, 2]
        b[2, 3] = a[2, 3]
        cases.add(name + "_ties", name, fn, [a, b],
                  note="where a == b torch gives each side half of the cotangent")

    x = randn("clamp", 3, 4)
    cases.add("clamp", "clamp", lambda x: torch.clamp(x, -0.5, 0.5), [x],
              params={"min": -0.5, "max": 0.5})
    cases.add("clamp_at_bounds", "clamp", lambda x: torch.clamp(x, -0.5, 0.5),
              [tensor([-0.5, 0.5, -0.7, 0.2, 0.9])], params={"min": -0.5, "max": 0.5},
              note="with scalar bounds torch passes the cotangent only where min < x < max, "
                   "so an input exactly on a bound gets 0")


def add_reductions(cases):
    x = randn("reduce", 3, 4)
    cases.add("sum", "sum", torch.sum, [x])
    cases.add("mean", "mean", torch.mean, [x])
    cases.add("var_biased", "var", lambda x: torch.var(x, correction=0), [x], params={"correction": 0})
    cases.add("var_unbiased", "var", lambda x: torch.var(x, correction=1), [x], params={"correction": 1})
    cases.add("max", "max", torch.max, [x])
    cases.add("min", "min", torch.min, [x])

    ties = tensor([[1.0, 3.0, -2.0, 3.0], [0.5, -2.0, 3.0, -2.0]])
    cases.add("max_ties", "max", torch.max, [ties],
              note="three elements share the maximum, so each gets a third of the cotangent")
    cases.add("min_ties", "min", torch.min, [ties],
              note="three elements share the minimum, so each gets a third of the cotangent")

    cases.add("logsumexp", "logsumexp", lambda x: torch.logsumexp(x, dim=(0, 1)), [x])
    cases.add("logsumexp_dim1", "logsumexp", lambda x: torch.logsumexp(x, dim=1), [x], params={"dim": 1})
    large = tensor([[1000.0, 999.0, -1000.0], [-1000.0, -999.5, 1000.5]])
    cases.add("logsumexp_large", "logsumexp", lambda x: torch.logsumexp(x, dim=(0, 1)), [large])
    cases.add("logsumexp_dim1_large", "logsumexp", lambda x: torch.logsumexp(x, dim=1), [large],
              params={"dim": 1})

    cases.add("norm", "norm", torch.linalg.vector_norm, [x])
    cases.add("norm_zero", "norm", torch.linalg.vector_norm, [torch.zeros(4, dtype=DTYPE)],
              note="the gradient of the norm of a zero vector is 0 (torch masks the 0/0)")

    for dim in [0, 1]:
        cases.add(f"sum_dim{dim}", "sum_dim", lambda x, d=dim: torch.sum(x, dim=d), [x], params={"dim": dim})
        cases.add(f"mean_dim{dim}", "mean_dim", lambda x, d=dim: torch.mean(x, dim=d), [x], params={"dim": dim})


def add_softmax(cases):
    for op, fn in [("softmax", torch.softmax), ("log_softmax", torch.log_softmax)]:
        v = randn(op + "/vector", 6, scale=2.0)
        cases.add(op + "_vector", op, lambda x: fn(x, 0), [v], params={"dim": 0})

        m = randn(op + "/matrix", 3, 4, scale=2.0)
        cases.add(op, op, lambda x: fn(x.reshape(-1), 0).reshape(x.shape), [m],
                  note="over all elements of the matrix")
        cases.add(op + "_dim1", op, lambda x: fn(x, 1), [m], params={"dim": 1})

        large = tensor([[1000.0, 999.0, -1000.0], [-1000.0, -999.5, 1000.5]])
        cases.add(op + "_large", op, lambda x: fn(x.reshape(-1), 0).reshape(x.shape), [large],
                  note="over all elements; exp(x) overflows without subtracting the maximum")
        cases.add(op + "_dim1_large", op, lambda x: fn(x, 1), [large], params={"dim": 1})


def add_linear_algebra(cases):
    a = randn("matmul/a", 3, 4)
    b = randn("matmul/b", 4, 2)
    v = randn("matmul/v", 4)
    w = randn("matmul/w", 3)
    cases.add("matmul", "matmul", torch.matmul, [a, b])
    cases.add("matmul_mat_vec", "matmul", torch.matmul, [a, v])
    cases.add("matmul_vec_mat", "matmul", torch.matmul, [v, b])
    cases.add("dot", "dot", torch.dot, [v, randn("dot/u", 4)])
    cases.add("outer", "outer", torch.outer, [w, v])
    cases.add("transpose", "transpose", lambda x: x.t(), [a])

    logits = randn("gather/logits", 3, 5)
    index = [[4], [0], [2]]
    cases.add("gather", "gather", lambda x: x.gather(1, torch.tensor(index)), [logits],
              params={"dim": 1, "index": index},
              note="logits.gather(1, index) with an index of shape [3, 1], as cross entropy picks targets")
    index2 = [[1, 1, 3], [0, 4, 0], [2, 3, 2]]
    cases.add("gather_repeated", "gather", lambda x: x.gather(1, torch.tensor(index2)), [logits],
              params={"dim": 1, "index": index2},
              note="an index that repeats a column accumulates its cotangents")


def main():
    torch.use_deterministic_algorithms(True)
    cases = Cases()
    add_arithmetic(cases)
    add_unary(cases)
    add_binary_elementwise(cases)
    add_reductions(cases)
    add_softmax(cases)
    add_linear_algebra(cases)

    document = {
        "generator": "tests/reference/generate.py",
        "torch_version": torch.__version__,
        "dtype": "float64",
        "cases": cases.cases,
    }
    path = HERE / "ops.json"
    path.write_text(dump(document))
    print(f"wrote {len(cases.cases)} cases to {path} with torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
