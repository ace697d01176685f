use autograd::typenum::U3;
use autograd::{differentiable, Rank1, Tensor};

#[differentiable]
fn exp_until(x: &Tensor<Rank1<U3>>, steps: usize, stop: usize) -> Tensor<Rank1<U3>> {
    let mut h = x.clone();
    for i in 0..steps {
        if i == stop {
            return h;
        }
        h = h.exp();
    }
    h
}

fn main() {}
