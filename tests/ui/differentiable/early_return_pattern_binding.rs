use autograd::typenum::U3;
use autograd::{differentiable, Rank0, Rank1, Tensor};

// Moving the code after the `match` into the arm `n => {}` would make its
// `n` stand for the matched `k` instead of the argument `n`, so the early
// return is rejected.
#[differentiable]
fn scaled_sum(x: &Tensor<Rank1<U3>>, k: usize, n: usize) -> Tensor<Rank0> {
    match k {
        0 => return x.sum(),
        n => {}
    }
    x.sum() * (n as f32)
}

fn main() {}
