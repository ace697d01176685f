use autograd::typenum::U3;
use autograd::{differentiable, Rank1, Tensor};

#[differentiable]
fn repeat(x: &Tensor<Rank1<U3>>, n: usize) -> Tensor<Rank1<U3>> {
    let mut h = x.clone();
    let mut i = 0;
    while i < n {
        h = h.exp();
        i += 1;
    }
    h
}

fn main() {}
