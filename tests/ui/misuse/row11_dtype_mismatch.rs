// Misuse row 11: float32 weights fed float64 data.
// PyTorch: run-time error `expected scalar type Float but found Double`.
use autograd::typenum::{U2, U3};
use autograd::{MatMul, Rank1, Rank2, Tensor};

fn main() {
    let weight: Tensor<Rank2<U2, U3>, f32> = Tensor::zeros();
    let input: Tensor<Rank1<U3>, f64> = Tensor::zeros();
    let _ = weight.matmul(&input);
}
