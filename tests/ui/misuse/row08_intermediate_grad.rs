// Misuse row 8: reading the gradient of an intermediate (non-leaf) value.
// PyTorch: `None` with a warning. Here a tensor has no `.grad` field at all:
// gradients are returned by pullbacks, for the arguments that were passed in.
use autograd::typenum::U3;
use autograd::{Rank1, Tensor};

fn main() {
    let x: Tensor<Rank1<U3>> = Tensor::ones();
    let hidden = x.exp();
    let _ = hidden.grad;
}
