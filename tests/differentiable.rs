//! Every backward pass that `#[differentiable]` generates, checked against
//! finite differences in f64.

use autograd::typenum::{U2, U3, U5};
use autograd::{differentiable, gradcheck, GradcheckOptions, Rank0, Rank1, Rank2, Rng, Tensor};

type Vector = Tensor<Rank1<U3>, f64>;
type Matrix = Tensor<Rank2<U2, U3>, f64>;
type Scalar = Tensor<Rank0, f64>;

fn random<S: autograd::ConstShape>(seed: u64) -> Tensor<S, f64>
where
    autograd::Cpu: autograd::Storage<S, f64>,
{
    Tensor::randn(&mut Rng::seed_from_u64(seed))
}

#[differentiable]
fn product_plus_input(x: &Vector, w: &Vector) -> Vector {
    x * w + x
}

#[test]
fn straight_line_passes_gradcheck() {
    let input = (random::<Rank1<U3>>(1), random::<Rank1<U3>>(2));
    gradcheck(
        |(x, w): &(Vector, Vector)| product_plus_input(x, w),
        |(x, w)| {
            let (y, pullback) = product_plus_input_vjp(x, w);
            (y, move |g| pullback(g))
        },
        &input,
        GradcheckOptions::default(),
    )
    .unwrap();
}
