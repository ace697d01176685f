// Misuse row 5: gradients never zeroed between steps. PyTorch: runs, and
// the gradients of both steps silently add up. Here `step` consumes the
// gradients, so each step needs a fresh value and reusing the old one is a
// use of a moved value. rustc suggests `grads.clone()`, which would apply the
// same gradients twice: compute fresh gradients for each step instead.
use autograd::typenum::U3;
use autograd::{Param, Rank1, Tensor};
use nn::optim::{Optimizer, Sgd, SgdConfig};

fn main() {
    let mut model = Param::new(Tensor::<Rank1<U3>>::ones());
    let mut optimizer = Sgd::new(&model, SgdConfig::default());
    let grads: Tensor<Rank1<U3>> = Tensor::ones();
    optimizer.step(&mut model, grads);
    optimizer.step(&mut model, grads);
}
