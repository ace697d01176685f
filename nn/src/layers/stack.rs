//! `Forward` and `ForwardTrain` for arrays and `Vec`s of layers that keep
//! their input's type, such as a run of identical hidden blocks: the items
//! run in order, as PyTorch's `nn.Sequential(*blocks)` runs a `ModuleList`.
//! An `Option` of such a layer runs it when present and passes the input
//! through when absent.
//!
//! Unlike a tuple, whose items may change the type from one to the next,
//! every item of an array or `Vec` has the same type, so an item maps `X`
//! to `X` (`L: Forward<X, Output = X>`). The gradient is `[L::Grads; N]` or
//! `Vec<L::Grads>`, the model's `Module::Grads`, one entry per item.

use autograd::{Differentiable, NoGrad, Rng};

use super::{Forward, ForwardTrain};

/// Runs `run` on each layer in order, each on the previous layer's output,
/// and returns the last output, or a clone of `x` when there is no layer.
fn run_in_order<'a, X: Clone, L: 'a>(
    layers: impl IntoIterator<Item = &'a L>,
    x: &X,
    mut run: impl FnMut(&L, &X) -> X,
) -> X {
    let mut h: Option<X> = None;
    for layer in layers {
        h = Some(run(layer, h.as_ref().unwrap_or(x)));
    }
    h.unwrap_or_else(|| x.clone())
}

/// Runs `run_vjp` on each layer in order, each on the previous layer's
/// output, and returns the last output with every layer's pullbacks in
/// layer order. Allocates nothing.
fn run_array_vjp<X: Clone, L, P, const N: usize>(
    layers: &[L; N],
    x: &X,
    mut run_vjp: impl FnMut(&L, &X) -> (X, P),
) -> (X, [P; N]) {
    let mut h: Option<X> = None;
    // `from_fn` calls the closure for index 0 first, then 1, and so on.
    let pullbacks = core::array::from_fn(|i| {
        let (y, pullbacks) = run_vjp(&layers[i], h.as_ref().unwrap_or(x));
        h = Some(y);
        pullbacks
    });
    (h.unwrap_or_else(|| x.clone()), pullbacks)
}

/// Runs the pullbacks of an array or `Vec` of layers from its last item to
/// its first and yields each item's parameter gradient in that order.
///
/// An item's parameters need the cotangent of its output, which the input
/// pullbacks of the items after it compute. The first item's input pullback
/// is not called, because it returns the cotangent of the input, which no
/// parameter gradient needs.
fn param_grads_last_to_first<X, G, P, Q>(
    pullbacks: impl DoubleEndedIterator<Item = (P, Q)>,
    cotangent: X,
) -> impl Iterator<Item = G>
where
    X: Clone,
    P: FnOnce(X) -> G,
    Q: FnOnce(X) -> X,
{
    let mut pullbacks = pullbacks.rev().peekable();
    let mut cotangent = Some(cotangent);
    core::iter::from_fn(move || {
        let (pullback_params, pullback_input) = pullbacks.next()?;
        let d = cotangent.take()?;
        if pullbacks.peek().is_none() {
            return Some(pullback_params(d));
        }
        let grads = pullback_params(d.clone());
        cotangent = Some(pullback_input(d));
        Some(grads)
    })
}

/// Builds the pullbacks `(pullback_params, pullback_input)` of an array of
/// layers from the pullbacks of its items in layer order. Allocates nothing.
#[allow(clippy::type_complexity)]
fn array_pullbacks<X, G, P, Q, const N: usize>(
    pullbacks: [(P, Q); N],
) -> (
    impl FnOnce(X) -> [G; N] + Clone,
    impl FnOnce(X) -> X + Clone,
)
where
    X: Clone,
    P: FnOnce(X) -> G + Clone,
    Q: FnOnce(X) -> X + Clone,
{
    let input_pullbacks = pullbacks
        .each_ref()
        .map(|(_, pullback_input)| pullback_input.clone());
    let pullback_input = move |cotangent: X| {
        input_pullbacks
            .into_iter()
            .rev()
            .fold(cotangent, |d, pullback_input| pullback_input(d))
    };

    let pullback_params = move |cotangent: X| {
        let mut grads = param_grads_last_to_first(pullbacks.into_iter(), cotangent);
        let mut grads_in_order: [G; N] = core::array::from_fn(|_| {
            grads
                .next()
                .expect("the pullbacks of N items yield N gradients")
        });
        grads_in_order.reverse();
        grads_in_order
    };
    (pullback_params, pullback_input)
}

/// An array of layers run in order, each on the previous one's output.
///
/// PyTorch: `nn.Sequential(*blocks)` where `blocks` is an
/// `nn.ModuleList([Block() for _ in range(N)])`. An empty array passes its
/// input through, as an empty `nn.Sequential()` does.
///
/// The forward pass and both pullbacks allocate nothing, so the array runs
/// on the `Inline` device without an allocator.
///
/// # Shapes
///
/// Input and output have the same type `X`, which every item takes and
/// returns: for `[Linear<U16, U16>; 4]`, `[batch, 16]` to `[batch, 16]`.
///
/// Four hidden blocks, each `Linear(16, 16)` and ReLU, and their gradients:
///
/// ```
/// use autograd::typenum::{U16, U2};
/// use autograd::{Rank2, Rng, Tensor};
/// use nn::layers::{Forward, Linear, Relu};
///
/// let mut rng = Rng::seed_from_u64(0);
/// let blocks: [(Linear<U16, U16>, Relu); 4] =
///     core::array::from_fn(|_| (Linear::new(&mut rng), Relu::new()));
/// let x: Tensor<Rank2<U2, U16>> = Tensor::randn(&mut rng);
///
/// let (y, (pullback_blocks, _)) = blocks.forward_vjp(&x);
/// let grads = pullback_blocks(Tensor::ones());
/// assert_eq!(grads.len(), 4);
/// assert_eq!(grads[3].0.bias.as_slice().len(), 16);
/// # assert_eq!(y, blocks.forward(&x));
/// ```
impl<X, L, const N: usize> Forward<X> for [L; N]
where
    X: Differentiable<Grad = X> + Clone,
    L: Forward<X, Output = X>,
{
    type Output = X;

    fn forward(&self, x: &X) -> X {
        run_in_order(self, x, |layer, h| layer.forward(h))
    }

    #[allow(clippy::type_complexity)]
    fn forward_vjp(
        &self,
        x: &X,
    ) -> (
        X,
        (
            impl FnOnce(X) -> [L::Grads; N] + Clone + use<X, L, N>,
            impl FnOnce(X) -> X + Clone + use<X, L, N>,
        ),
    ) {
        let (y, pullbacks) = run_array_vjp(self, x, |layer, h| layer.forward_vjp(h));
        (y, array_pullbacks(pullbacks))
    }
}

/// An array of layers run in order in training mode, passing `rng` to each
/// item in order. Allocates nothing.
///
/// # Shapes
///
/// As [`Forward`] for `[L; N]`: input and output have the same type.
impl<X, L, const N: usize> ForwardTrain<X> for [L; N]
where
    X: Differentiable<Grad = X> + Clone,
    L: ForwardTrain<X, Output = X>,
{
    fn forward_train(&self, x: &X, rng: &mut Rng) -> X {
        run_in_order(self, x, |layer, h| layer.forward_train(h, rng))
    }

    #[allow(clippy::type_complexity)]
    fn forward_train_vjp(
        &self,
        x: &X,
        rng: &mut Rng,
    ) -> (
        X,
        (
            impl FnOnce(X) -> [L::Grads; N] + Clone + use<X, L, N>,
            impl FnOnce(X) -> X + Clone + use<X, L, N>,
            NoGrad,
        ),
    ) {
        let (y, pullbacks) = run_array_vjp(self, x, |layer, h| {
            let (y, (pullback_params, pullback_input, NoGrad)) = layer.forward_train_vjp(h, rng);
            (y, (pullback_params, pullback_input))
        });
        let (pullback_params, pullback_input) = array_pullbacks(pullbacks);
        (y, (pullback_params, pullback_input, NoGrad))
    }
}

#[cfg(feature = "alloc")]
mod vec_impls {
    use alloc::vec::Vec;

    use autograd::{Differentiable, NoGrad, Rng};

    use super::{param_grads_last_to_first, run_in_order};
    use crate::layers::{Forward, ForwardTrain};

    /// Runs `run_vjp` on each layer in order, each on the previous layer's
    /// output, and returns the last output with every layer's pullbacks in
    /// layer order.
    fn run_vec_vjp<X: Clone, L, P>(
        layers: &[L],
        x: &X,
        mut run_vjp: impl FnMut(&L, &X) -> (X, P),
    ) -> (X, Vec<P>) {
        let mut h: Option<X> = None;
        let pullbacks = layers
            .iter()
            .map(|layer| {
                let (y, pullbacks) = run_vjp(layer, h.as_ref().unwrap_or(x));
                h = Some(y);
                pullbacks
            })
            .collect();
        (h.unwrap_or_else(|| x.clone()), pullbacks)
    }

    /// Builds the pullbacks `(pullback_params, pullback_input)` of a `Vec` of
    /// layers from the pullbacks of its items in layer order.
    ///
    /// Each of the two pullbacks owns what it runs, as a tuple's do. So the
    /// input pullback gets a second `Vec` with clones of the items' input
    /// pullbacks, and calling `pullback_params` allocates the gradient `Vec`.
    #[allow(clippy::type_complexity)]
    fn vec_pullbacks<X, G, P, Q>(
        pullbacks: Vec<(P, Q)>,
    ) -> (
        impl FnOnce(X) -> Vec<G> + Clone,
        impl FnOnce(X) -> X + Clone,
    )
    where
        X: Clone,
        P: FnOnce(X) -> G + Clone,
        Q: FnOnce(X) -> X + Clone,
    {
        let input_pullbacks: Vec<Q> = pullbacks
            .iter()
            .map(|(_, pullback_input)| pullback_input.clone())
            .collect();
        let pullback_input = move |cotangent: X| {
            input_pullbacks
                .into_iter()
                .rev()
                .fold(cotangent, |d, pullback_input| pullback_input(d))
        };

        let pullback_params = move |cotangent: X| {
            let mut grads: Vec<G> =
                param_grads_last_to_first(pullbacks.into_iter(), cotangent).collect();
            grads.reverse();
            grads
        };
        (pullback_params, pullback_input)
    }

    /// A `Vec` of layers run in order, each on the previous one's output.
    ///
    /// PyTorch: `nn.Sequential(*blocks)` where `blocks` is an
    /// `nn.ModuleList`. An empty `Vec` passes its input through (its input
    /// pullback returns the cotangent, its gradient is an empty `Vec`), as an
    /// empty `nn.Sequential()` does.
    ///
    /// `forward_vjp` allocates two `Vec`s of pullbacks (the items' pullbacks
    /// and a clone of their input pullbacks), and `pullback_params` one
    /// `Vec` of gradients. Without an allocator, use an array.
    ///
    /// # Shapes
    ///
    /// Input and output have the same type `X`, which every item takes and
    /// returns: for `Vec<Linear<U16, U16>>`, `[batch, 16]` to `[batch, 16]`.
    impl<X, L> Forward<X> for Vec<L>
    where
        X: Differentiable<Grad = X> + Clone,
        L: Forward<X, Output = X>,
    {
        type Output = X;

        fn forward(&self, x: &X) -> X {
            run_in_order(self, x, |layer, h| layer.forward(h))
        }

        #[allow(clippy::type_complexity)]
        fn forward_vjp(
            &self,
            x: &X,
        ) -> (
            X,
            (
                impl FnOnce(X) -> Vec<L::Grads> + Clone + use<X, L>,
                impl FnOnce(X) -> X + Clone + use<X, L>,
            ),
        ) {
            let (y, pullbacks) = run_vec_vjp(self, x, |layer, h| layer.forward_vjp(h));
            (y, vec_pullbacks(pullbacks))
        }
    }

    /// A `Vec` of layers run in order in training mode, passing `rng` to
    /// each item in order.
    ///
    /// # Shapes
    ///
    /// As [`Forward`] for `Vec<L>`: input and output have the same type.
    impl<X, L> ForwardTrain<X> for Vec<L>
    where
        X: Differentiable<Grad = X> + Clone,
        L: ForwardTrain<X, Output = X>,
    {
        fn forward_train(&self, x: &X, rng: &mut Rng) -> X {
            run_in_order(self, x, |layer, h| layer.forward_train(h, rng))
        }

        #[allow(clippy::type_complexity)]
        fn forward_train_vjp(
            &self,
            x: &X,
            rng: &mut Rng,
        ) -> (
            X,
            (
                impl FnOnce(X) -> Vec<L::Grads> + Clone + use<X, L>,
                impl FnOnce(X) -> X + Clone + use<X, L>,
                NoGrad,
            ),
        ) {
            let (y, pullbacks) = run_vec_vjp(self, x, |layer, h| {
                let (y, (pullback_params, pullback_input, NoGrad)) =
                    layer.forward_train_vjp(h, rng);
                (y, (pullback_params, pullback_input))
            });
            let (pullback_params, pullback_input) = vec_pullbacks(pullbacks);
            (y, (pullback_params, pullback_input, NoGrad))
        }
    }
}

/// Builds the pullbacks of a layer that may be absent: the gradient is `None` and
/// the input's cotangent passes through when it is.
#[allow(clippy::type_complexity)]
fn optional_pullbacks<X, G, P, Q>(
    pullbacks: Option<(P, Q)>,
) -> (impl FnOnce(X) -> Option<G> + Clone, impl FnOnce(X) -> X + Clone)
where
    P: FnOnce(X) -> G + Clone,
    Q: FnOnce(X) -> X + Clone,
{
    let (pullback_params, pullback_input) = pullbacks.unzip();
    (
        move |cotangent: X| pullback_params.map(|pullback| pullback(cotangent)),
        move |cotangent: X| match pullback_input {
            Some(pullback) => pullback(cotangent),
            None => cotangent,
        },
    )
}

/// An optional layer: `Some(layer)` runs it, `None` passes the input
/// through, as PyTorch code writes `if self.extra is not None: x =
/// self.extra(x)`. The gradient is `None` for an absent layer.
///
/// # Shapes
/// The layer maps `X` to `X`; the output has the input's shape.
impl<X, L> Forward<X> for Option<L>
where
    X: Differentiable<Grad = X> + Clone,
    L: Forward<X, Output = X>,
{
    type Output = X;

    fn forward(&self, x: &X) -> X {
        match self {
            Some(layer) => layer.forward(x),
            None => x.clone(),
        }
    }

    #[allow(clippy::type_complexity)]
    fn forward_vjp(
        &self,
        x: &X,
    ) -> (
        X,
        (
            impl FnOnce(X) -> Option<L::Grads> + Clone + use<X, L>,
            impl FnOnce(X) -> X + Clone + use<X, L>,
        ),
    ) {
        let (y, pullbacks) = match self.as_ref().map(|layer| layer.forward_vjp(x)) {
            Some((y, pullbacks)) => (y, Some(pullbacks)),
            None => (x.clone(), None),
        };
        (y, optional_pullbacks(pullbacks))
    }
}

impl<X, L> ForwardTrain<X> for Option<L>
where
    X: Differentiable<Grad = X> + Clone,
    L: ForwardTrain<X, Output = X>,
{
    fn forward_train(&self, x: &X, rng: &mut Rng) -> X {
        match self {
            Some(layer) => layer.forward_train(x, rng),
            None => x.clone(),
        }
    }

    #[allow(clippy::type_complexity)]
    fn forward_train_vjp(
        &self,
        x: &X,
        rng: &mut Rng,
    ) -> (
        X,
        (
            impl FnOnce(X) -> Option<L::Grads> + Clone + use<X, L>,
            impl FnOnce(X) -> X + Clone + use<X, L>,
            NoGrad,
        ),
    ) {
        let (y, pullbacks) = match self.as_ref().map(|layer| layer.forward_train_vjp(x, rng)) {
            Some((y, (pullback_params, pullback_input, NoGrad))) => (y, Some((pullback_params, pullback_input))),
            None => (x.clone(), None),
        };
        let (pullback_params, pullback_input) = optional_pullbacks(pullbacks);
        (y, (pullback_params, pullback_input, NoGrad))
    }
}
