//! Layers: [`Linear`], activations, [`Flatten`], [`Dropout`], and the
//! [`Forward`] trait that runs them alone or chained in tuples, arrays and
//! `Vec`s.
//!
//! | this crate | PyTorch |
//! |---|---|
//! | [`Linear`], [`LinearNoBias`] | `nn.Linear(bias=True)`, `nn.Linear(bias=False)` |
//! | [`Relu`], [`LeakyRelu`] | `nn.ReLU`, `nn.LeakyReLU` |
//! | [`Sigmoid`], [`Tanh`] | `nn.Sigmoid`, `nn.Tanh` |
//! | [`Gelu`], [`Silu`] | `nn.GELU`, `nn.SiLU` |
//! | [`Softmax`], [`LogSoftmax`] | `nn.Softmax(dim=-1)`, `nn.LogSoftmax(dim=-1)` |
//! | [`Flatten`] | `nn.Flatten()` |
//! | [`Dropout`] | `nn.Dropout` |
//! | a tuple `(A, B, C)` | `nn.Sequential(A, B, C)` |
//! | an array `[Block; N]` or a `Vec<Block>` | `nn.Sequential(*blocks)` over a `ModuleList` of blocks |
//!
//! Layers without parameters have the gradient type `()`. They are generic
//! over the element type `E` only because [`Module`] names
//! an element type, which must match the other layers of a tuple. `E`
//! defaults to `f32`, so `Relu` is `Relu<f32>`.

/// Implements `Differentiable`, `Module` (with `Grads = ()`), `Leaves` and
/// `StaticModule` for a layer without parameters, generic over its element
/// type `E`. Its repr is its `Display`.
macro_rules! impl_parameterless_module {
    ($Layer:ident) => {
        impl<E: autograd::Float> autograd::Differentiable for $Layer<E> {
            type Grad = ();

            fn zero_grad(&self) {}
        }

        impl<E: autograd::Float> autograd::GradParts for $Layer<E> {
            type Parts = ();

            fn grad_parts(&self) {}

            fn assemble(_: ()) {}
        }

        impl<E: autograd::Float> autograd::Module for $Layer<E> {
            const CAN_HOLD_PARAMS: bool = false;
            type Elem = E;
            type Grads = ();

            fn num_params(&self) -> usize {
                0
            }

            fn visit_params(
                &self,
                _: Option<&autograd::ParamName<'_>>,
                _: &mut dyn FnMut(&autograd::ParamName<'_>, &[usize], &[E]),
            ) {
            }

            fn visit_params_mut(
                &mut self,
                _: Option<&autograd::ParamName<'_>>,
                _: &mut dyn FnMut(&autograd::ParamName<'_>, &[usize], &mut [E]),
            ) {
            }

            fn lockstep<const K: usize>(
                &mut self,
                _: &(),
                _: [&mut (); K],
                _: &mut impl FnMut(&mut [E], &[E], [&mut [E]; K]),
            ) {
            }

            fn fmt_repr(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Display::fmt(self, f)
            }
        }

        /// No leaves: the layer has no parameters.
        impl<E: autograd::Float> autograd::Leaves<E> for $Layer<E> {
            fn visit_leaves(&self, _: &mut dyn FnMut(&[E])) {}

            fn visit_leaves_mut(&mut self, _: &mut dyn FnMut(&mut [E])) {}
        }

        impl<E: autograd::Float> autograd::StaticModule for $Layer<E> {
            const NUM_PARAMS: usize = 0;
            const NUM_TENSORS: usize = 0;
        }
    };
}

mod activation;
mod dropout;
mod flatten;
mod linear;
mod sequential;
mod stack;

pub use activation::{Gelu, LeakyRelu, LogSoftmax, Relu, Sigmoid, Silu, Softmax, Tanh};
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use linear::{
    Linear, LinearGradParts, LinearGrads, LinearNoBias, LinearNoBiasGradParts, LinearNoBiasGrads,
};

use autograd::{Differentiable, Module, NoGrad, Rng};

/// A layer's forward pass on an input of type `X`, with its VJP form.
///
/// `forward_vjp` follows the VJP convention of `autograd::ops`: it returns
/// the output with two pullbacks, slot 0 for the layer's own parameters (its
/// gradient struct) and slot 1 for the input. Each pullback does its work
/// only when called, so the first layer of a network never computes the
/// gradient of the data.
///
/// Tuples of up to six layers implement `Forward` by chaining their items,
/// as PyTorch's `nn.Sequential` does. Arrays and `Vec`s of layers chain
/// their items too when every item returns the type it takes, such as
/// repeated hidden blocks. `#[differentiable]` code calls `forward_vjp` for
/// `self.layer.forward(x)`, so `self.blocks.forward(&h)` runs a whole
/// array or `Vec` there, where `self.blocks[i]` does not compile.
///
/// Pullbacks are `Clone` so that a tuple can hand the input pullback of a
/// later layer to both of its own pullbacks. For training with [`Dropout`],
/// use [`ForwardTrain`], which also takes the random number generator.
///
/// NOTE: when both pullbacks of a tuple, array or `Vec` are called, the
/// input pullbacks of its later layers run twice, once for each.
///
/// One training step of a two-layer network:
///
/// ```
/// use autograd::{Rng, Tensor, Rank2, typenum::{U4, U8, U1}};
/// use nn::layers::{Forward, Linear, Relu};
/// use nn::loss::mse_loss_vjp;
/// use nn::optim::{Optimizer, Sgd, SgdConfig};
///
/// let mut rng = Rng::seed_from_u64(0);
/// let mut model: (Linear<U4, U8>, Relu, Linear<U8, U1>) =
///     (Linear::new(&mut rng), Relu::new(), Linear::new(&mut rng));
/// let mut sgd = Sgd::new(&model, SgdConfig { lr: 0.1, ..SgdConfig::default() });
///
/// let x: Tensor<Rank2<U4, U4>> = Tensor::randn(&mut rng);
/// let target: Tensor<Rank2<U4, U1>> = Tensor::zeros();
/// let (y, (pullback_model, _)) = model.forward_vjp(&x);
/// let (loss, (pullback_y, _)) = mse_loss_vjp(&y, &target);
/// let grads = pullback_model(pullback_y(Tensor::scalar(1.0)));
/// sgd.step(&mut model, grads);
/// # assert!(loss.item() >= 0.0);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no forward pass for an input of type `{X}`",
    label = "this layer cannot take that input",
    note = "check that the input's last axis is the layer's input size and that element \
            types and devices match; in a tuple, each layer takes the previous layer's output"
)]
pub trait Forward<X: Differentiable>: Module {
    /// The output; its cotangent has the same type.
    type Output: Differentiable<Grad = Self::Output> + Clone;

    /// Runs the layer.
    fn forward(&self, x: &X) -> Self::Output;

    /// Runs the layer and returns the output with its pullbacks
    /// `(pullback_params, pullback_input)`.
    #[allow(clippy::type_complexity)]
    fn forward_vjp(
        &self,
        x: &X,
    ) -> (
        Self::Output,
        (
            impl FnOnce(Self::Output) -> Self::Grads + Clone + use<Self, X>,
            impl FnOnce(Self::Output) -> X::Grad + Clone + use<Self, X>,
        ),
    );
}

/// A layer's forward pass in training mode, which may draw random numbers.
///
/// Only [`Dropout`] behaves differently in training: it draws its mask from
/// `rng`. Every other layer runs its [`Forward`] pass, which is what the
/// default methods do, and a tuple, array or `Vec` passes `rng` to each of
/// its items in order. Inference goes through [`Forward`], which takes no generator, so
/// it cannot drop elements by accident.
///
/// `forward_train_vjp` follows the VJP convention with one slot per
/// argument: the layer's gradient, the input's, and `NoGrad` for `rng`.
pub trait ForwardTrain<X: Differentiable>: Forward<X> {
    /// Runs the layer in training mode.
    fn forward_train(&self, x: &X, rng: &mut Rng) -> Self::Output {
        let _ = rng;
        self.forward(x)
    }

    /// Runs the layer in training mode and returns the output with its
    /// pullbacks `(pullback_params, pullback_input, NoGrad)`.
    #[allow(clippy::type_complexity)]
    fn forward_train_vjp(
        &self,
        x: &X,
        rng: &mut Rng,
    ) -> (
        Self::Output,
        (
            impl FnOnce(Self::Output) -> Self::Grads + Clone + use<Self, X>,
            impl FnOnce(Self::Output) -> X::Grad + Clone + use<Self, X>,
            NoGrad,
        ),
    ) {
        let _ = rng;
        let (y, (pullback_params, pullback_input)) = self.forward_vjp(x);
        (y, (pullback_params, pullback_input, NoGrad))
    }
}

/// Layers that run the same pass in training and in inference.
macro_rules! impl_forward_train_as_forward {
    ($($Layer:ident<$($param:ident),*>),* $(,)?) => {$(
        impl<X: Differentiable, $($param),*> ForwardTrain<X> for $Layer<$($param),*>
        where
            Self: Forward<X>,
        {
        }
    )*};
}

impl<X, I, O, E, D> ForwardTrain<X> for Linear<I, O, E, D>
where
    X: Differentiable,
    I: autograd::Dim,
    O: autograd::Dim,
    E: autograd::Float,
    D: autograd::Storage<autograd::Rank2<O, I>, E> + autograd::Storage<autograd::Rank1<O>, E>,
    Self: Forward<X>,
{
}

impl<X, I, O, E, D> ForwardTrain<X> for LinearNoBias<I, O, E, D>
where
    X: Differentiable,
    I: autograd::Dim,
    O: autograd::Dim,
    E: autograd::Float,
    D: autograd::Storage<autograd::Rank2<O, I>, E>,
    Self: Forward<X>,
{
}

impl_forward_train_as_forward!(
    Relu<E>,
    LeakyRelu<E>,
    Sigmoid<E>,
    Tanh<E>,
    Gelu<E>,
    Silu<E>,
    Softmax<E>,
    LogSoftmax<E>,
    Flatten<E>,
);
