// A static slice that runs past the end of its axis: 3..6 of 4 elements.
// PyTorch: an error at run time, when the line executes.
use autograd::typenum::{U3, U4};
use autograd::{Rank1, Tensor};

fn main() {
    let x: Tensor<Rank1<U4>> = Tensor::zeros();
    let _y = x.narrow::<0, U3, U3>();
}
