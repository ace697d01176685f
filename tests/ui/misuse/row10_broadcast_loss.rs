// Misuse row 10: a loss between a prediction of shape [N] and a target of
// shape [N, 1]. PyTorch: broadcasts to [N, N] and computes a wrong loss with
// only a warning. Here a loss takes a target of the prediction's tensor type.
use autograd::typenum::{U1, U8};
use autograd::{Rank1, Rank2, Tensor};
use nn::loss::mse_loss;

fn main() {
    let prediction: Tensor<Rank1<U8>> = Tensor::zeros();
    let target: Tensor<Rank2<U8, U1>> = Tensor::zeros();
    let _loss = mse_loss(&prediction, &target);
}
