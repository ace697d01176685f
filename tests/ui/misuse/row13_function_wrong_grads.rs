// Misuse row 13: a custom Function whose backward returns the wrong number
// of gradients. PyTorch: run-time error when backward runs.
use autograd::typenum::U3;
use autograd::{Function, Rank1, Tensor};

type V = Tensor<Rank1<U3>, f64>;

struct Product;

impl Function for Product {
    type Input = (V, V);
    type Output = V;
    type Saved = (V, V);

    fn forward((a, b): &(V, V)) -> (V, (V, V)) {
        (a * b, (a.clone(), b.clone()))
    }

    // Two inputs, but only one gradient returned.
    fn backward((_a, b): (V, V), grad_output: V) -> V {
        grad_output * b
    }
}

fn main() {}
