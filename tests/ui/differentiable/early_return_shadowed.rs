use autograd::typenum::U3;
use autograd::{differentiable, Rank1, Tensor};

// The arm's `let h` would shadow the outer `h` in the code after the `if`
// once the early return is rewritten into branches, so it is rejected.
#[differentiable]
fn squash_or_scale(x: &Tensor<Rank1<U3>>, squash: bool, stop: bool) -> Tensor<Rank1<U3>> {
    let h = x.exp();
    if squash {
        let h = h.tanh();
        if stop {
            return h;
        }
    }
    h * x
}

fn main() {}
