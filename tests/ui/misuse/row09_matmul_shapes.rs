// Misuse row 9: a matrix product of incompatible shapes.
// PyTorch: run-time error `mat1 and mat2 shapes cannot be multiplied`.
use autograd::typenum::{U3, U4, U5};
use autograd::{MatMul, Rank2, Tensor};

fn main() {
    let a: Tensor<Rank2<U3, U4>> = Tensor::zeros();
    let b: Tensor<Rank2<U5, U3>> = Tensor::zeros();
    let _ = a.matmul(&b);
}
