use autograd::typenum::U3;
use autograd::{differentiable, Rank1, Tensor};

#[differentiable]
fn unsupported(x: &Tensor<Rank1<U3>>) -> Tensor<Rank1<U3>> {
    let double = |t: &Tensor<Rank1<U3>>| t * 2.0;
    let mut h = double(x);
    loop {
        h = h.exp();
    }
}

fn main() {}
