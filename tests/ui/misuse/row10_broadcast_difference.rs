// Misuse row 10, written with the operator: the difference between a
// prediction of shape [N] and a target of shape [N, 1]. PyTorch: broadcasts
// to [N, N]. Here `-` needs equal shapes; the message is the standard
// library's for `Sub`, because the operator traits are not this library's.
use autograd::typenum::{U1, U8};
use autograd::{Rank1, Rank2, Tensor};

fn main() {
    let prediction: Tensor<Rank1<U8>> = Tensor::zeros();
    let target: Tensor<Rank2<U8, U1>> = Tensor::zeros();
    let _error = prediction - target;
}
