// Misuse row 12: backward called on a loss that is not a scalar. PyTorch:
// run-time error "grad can be implicitly created only for scalar outputs".
// Here `_grad` requires a `Tensor<Rank0, ..>` output; for a vector output,
// call `_vjp` with a cotangent of the output's shape, or reduce the output.
use autograd::typenum::U3;
use autograd::{differentiable, Rank1, Tensor};

#[differentiable]
fn squared_error(prediction: &Tensor<Rank1<U3>>, target: &Tensor<Rank1<U3>>) -> Tensor<Rank1<U3>> {
    let error = prediction - target;
    &error * &error
}

fn main() {
    let prediction = Tensor::ones();
    let target = Tensor::zeros();
    let _ = squared_error_grad(&prediction, &target);
}
