use autograd::typenum::U3;
use autograd::{differentiable, Rank1, Tensor};

#[differentiable]
fn in_place(x: &Tensor<Rank1<U3>>, out: &mut Tensor<Rank1<U3>>) -> Tensor<Rank1<U3>> {
    let mut y = x.exp();
    let view = &mut y;
    *view = x.clone();
    y
}

fn main() {}
