// Misuse row 17: a call inside a differentiated function that has no
// derivative rule. PyTorch: run-time error, or a silently detached value.
// Here every call in a `#[differentiable]` body resolves to a VJP form by
// name or by trait; a function without one is an error at the call.
use autograd::typenum::U3;
use autograd::{differentiable, Rank0, Rank1, Tensor};

fn soft_clip(x: &Tensor<Rank1<U3>>) -> Tensor<Rank1<U3>> {
    x.map(|v| v / (1.0 + v.abs()))
}

#[differentiable]
fn clipped_loss(x: &Tensor<Rank1<U3>>) -> Tensor<Rank0> {
    soft_clip(x).sum()
}

fn main() {}
