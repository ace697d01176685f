use autograd::typenum::U3;
use autograd::{differentiable, Rank1, Tensor};

#[differentiable]
fn relu_by_hand(x: &Tensor<Rank1<U3>>) -> Tensor<Rank1<U3>> {
    if x.get([0]) > 0.0 {
        x.clone()
    } else {
        x * 0.0
    }
}

fn main() {}
