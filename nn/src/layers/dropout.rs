//! `Dropout`, which runs only when given a random number generator.

use core::fmt;
use core::marker::PhantomData;

use autograd::{Float, NoGrad, Rng, Shape, Storage, Tensor};

use super::activation::PythonFloat;
use super::{Forward, ForwardTrain};

/// Zeroes each element with probability `p` during training and scales the
/// others by `1 / (1 - p)`, as PyTorch's `nn.Dropout(p)`.
///
/// Training and inference are different traits, not a mode flag:
/// [`ForwardTrain::forward_train`] and [`ForwardTrain::forward_train_vjp`]
/// take the `&mut Rng` that draws the mask, and [`Forward::forward`] is the
/// identity (PyTorch's `model.eval()`). So inference cannot drop elements by
/// accident, and a training step shows where its randomness comes from. A
/// tuple of layers passes the generator on to its `Dropout` items. A
/// `#[differentiable]` method takes the generator as a `#[no_grad] rng: &mut
/// Rng` argument and calls `self.drop.forward_train(&h, rng)`. Code that
/// cannot pass the generator down draws the mask with
/// [`draw_mask`](Self::draw_mask) and applies it with
/// [`forward_masked`](Self::forward_masked).
pub struct Dropout<E = f32> {
    p: f64,
    marker: PhantomData<fn() -> E>,
}

impl<E> Dropout<E> {
    /// Builds a dropout layer that zeroes elements with probability `p`.
    ///
    /// # Panics
    /// If `p` is outside `[0, 1]`, as PyTorch raises.
    #[track_caller]
    pub fn new(p: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&p),
            "Dropout: the probability p must lie in [0, 1], found {p}"
        );
        Dropout {
            p,
            marker: PhantomData,
        }
    }

    /// The probability of zeroing an element.
    pub fn p(&self) -> f64 {
        self.p
    }
}

impl<E: Float> Dropout<E> {
    /// Draws a mask for an input of shape `shape`: 0 where an element is
    /// dropped, `1 / (1 - p)` elsewhere (all zeros when `p = 1`).
    ///
    /// With [`forward_masked`](Self::forward_masked) this splits training
    /// into drawing and applying, for code that cannot pass a `&mut Rng`
    /// down to the layer and takes the mask as an argument instead.
    pub fn draw_mask<S: Shape, D: Storage<S, E>>(&self, shape: S, rng: &mut Rng) -> Tensor<S, E, D> {
        let scale = if self.p < 1.0 { E::from_f64(1.0 / (1.0 - self.p)) } else { E::ZERO };
        Tensor::from_fn_with_shape(shape, |_| if rng.next_f64() < self.p { E::ZERO } else { scale })
    }

    /// Applies a mask from [`draw_mask`](Self::draw_mask): `x ⊙ mask`.
    ///
    /// # Shapes
    /// `x` and `mask` have the same shape, which the output keeps.
    #[track_caller]
    pub fn forward_masked<S: Shape, D: Storage<S, E>>(
        &self,
        x: &Tensor<S, E, D>,
        mask: &Tensor<S, E, D>,
    ) -> Tensor<S, E, D> {
        x.zip_map(mask, |x, m| x * m)
    }

    /// The VJP form of [`forward_masked`](Self::forward_masked): slot 0 is
    /// the layer's (empty) gradient, slot 1 `dy ⊙ mask` for `x` and slot 2
    /// `dy ⊙ x` for the mask.
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn forward_masked_vjp<S: Shape, D: Storage<S, E>>(
        &self,
        x: &Tensor<S, E, D>,
        mask: &Tensor<S, E, D>,
    ) -> (
        Tensor<S, E, D>,
        (
            impl FnOnce(Tensor<S, E, D>) + Clone + use<S, D, E>,
            impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D> + Clone + use<S, D, E>,
            impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D> + Clone + use<S, D, E>,
        ),
    ) {
        let y = self.forward_masked(x, mask);
        let (saved_x, saved_mask) = (x.clone(), mask.clone());
        let pullback_x = move |grad: Tensor<S, E, D>| grad.zip_map(&saved_mask, |g, m| g * m);
        let pullback_mask = move |grad: Tensor<S, E, D>| grad.zip_map(&saved_x, |g, x| g * x);
        (y, (|_: Tensor<S, E, D>| (), pullback_x, pullback_mask))
    }
}

/// PyTorch's default probability, 0.5.
impl<E> Default for Dropout<E> {
    fn default() -> Self {
        Self::new(0.5)
    }
}

impl<E> Clone for Dropout<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Dropout<E> {}

impl<E> fmt::Debug for Dropout<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dropout").field("p", &self.p).finish()
    }
}

impl<E> fmt::Display for Dropout<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dropout(p={}, inplace=False)", PythonFloat(self.p))
    }
}

impl_parameterless_module!(Dropout);

/// Inference: the identity, with identity pullbacks.
impl<S: Shape, E: Float, D: Storage<S, E>> Forward<Tensor<S, E, D>> for Dropout<E> {
    type Output = Tensor<S, E, D>;

    /// # Shapes
    /// Any shape; the output is the input.
    fn forward(&self, x: &Tensor<S, E, D>) -> Tensor<S, E, D> {
        x.clone()
    }

    #[allow(clippy::type_complexity)]
    fn forward_vjp(
        &self,
        x: &Tensor<S, E, D>,
    ) -> (
        Tensor<S, E, D>,
        (
            impl FnOnce(Tensor<S, E, D>) + Clone + use<S, E, D>,
            impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D> + Clone + use<S, E, D>,
        ),
    ) {
        (x.clone(), (|_: Tensor<S, E, D>| (), |grad: Tensor<S, E, D>| grad))
    }
}

/// Training: each element is zeroed with probability `p`, the others scaled
/// by `1 / (1 - p)`.
impl<S: Shape, E: Float, D: Storage<S, E>> ForwardTrain<Tensor<S, E, D>> for Dropout<E> {
    /// # Shapes
    /// Any shape; the output has the input's shape.
    fn forward_train(&self, x: &Tensor<S, E, D>, rng: &mut Rng) -> Tensor<S, E, D> {
        let mask = self.draw_mask(x.shape(), rng);
        x.zip_map(&mask, |x, m| x * m)
    }

    /// Slot 1 multiplies the cotangent by the same mask.
    #[allow(clippy::type_complexity)]
    fn forward_train_vjp(
        &self,
        x: &Tensor<S, E, D>,
        rng: &mut Rng,
    ) -> (
        Tensor<S, E, D>,
        (
            impl FnOnce(Tensor<S, E, D>) + Clone + use<S, E, D>,
            impl FnOnce(Tensor<S, E, D>) -> Tensor<S, E, D> + Clone + use<S, E, D>,
            NoGrad,
        ),
    ) {
        let mask = self.draw_mask(x.shape(), rng);
        let y = x.zip_map(&mask, |x, m| x * m);
        let pullback = move |grad: Tensor<S, E, D>| grad.zip_map(&mask, |g, m| g * m);
        (y, (|_: Tensor<S, E, D>| (), pullback, NoGrad))
    }
}
