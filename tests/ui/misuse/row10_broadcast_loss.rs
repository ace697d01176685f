// Misuse row 10: a prediction of shape [N] against a target of shape [N, 1].
// PyTorch: broadcasts to [N, N] and computes a wrong loss with only a warning.
use autograd::typenum::{U1, U8};
use autograd::{Rank1, Rank2, Tensor};

fn main() {
    let prediction: Tensor<Rank1<U8>> = Tensor::zeros();
    let target: Tensor<Rank2<U8, U1>> = Tensor::zeros();
    let _error = prediction - target;
}
