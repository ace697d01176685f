// Misuse row 6: running backward twice through the same graph.
// PyTorch: run-time error about the graph being freed. Here a pullback is
// an `FnOnce`: calling it a second time is a use of a moved value.
use autograd::typenum::U3;
use autograd::{Rank1, Tensor};

fn main() {
    let x: Tensor<Rank1<U3>> = Tensor::ones();
    let (_y, (pullback,)) = x.exp_vjp();
    let _first = pullback(Tensor::ones());
    let _second = pullback(Tensor::ones());
}
