//! `Flatten`: merges every axis after the batch axis into one.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Mul;

use typenum::Prod;

use autograd::{Dim, Float, Rank2, Rank3, Rank4, Shape, Storage, Tensor};

use super::Forward;

/// Merges every axis after the first (the batch axis) into one, as
/// PyTorch's `nn.Flatten()` (`start_dim=1, end_dim=-1`).
///
/// The merged size is a typenum product, so `[B, C, H, W]` becomes
/// `[B, C·H·W]` in the type. The batch axis may be `Dyn`; the others must be
/// typenum constants. Elements keep their row-major order.
pub struct Flatten<E = f32>(PhantomData<fn() -> E>);

impl<E> Flatten<E> {
    pub const fn new() -> Self {
        Flatten(PhantomData)
    }
}

impl<E> Default for Flatten<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Clone for Flatten<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Flatten<E> {}

impl<E> fmt::Debug for Flatten<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Flatten")
    }
}

impl<E> fmt::Display for Flatten<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Flatten(start_dim=1, end_dim=-1)")
    }
}

impl_parameterless_module!(Flatten);

/// Copies `x`'s elements into a tensor of shape `to`, which has as many.
fn relayout<S: Shape, T: Shape, E: Float, D: Storage<S, E> + Storage<T, E>>(
    x: &Tensor<S, E, D>,
    to: T,
) -> Tensor<T, E, D> {
    let data = x.as_slice();
    Tensor::from_fn_with_shape(to, |i| data[i])
}

/// Implements `Forward` for one input rank: `$from` is the input shape,
/// `$merged` the merged axis type, and `bounds` what the product needs.
macro_rules! impl_flatten {
    ([$($A:ident),*], $from:ty, $merged:ty, where [$($bounds:tt)*]) => {
        impl<B: Dim, $($A,)* E: Float, D> Forward<Tensor<$from, E, D>> for Flatten<E>
        where
            $from: Shape,
            $merged: Dim + Default,
            D: Storage<$from, E> + Storage<Rank2<B, $merged>, E>,
            $($bounds)*
        {
            type Output = Tensor<Rank2<B, $merged>, E, D>;

            /// # Shapes
            /// `[B, F] -> [B, F]`, `[B, H, W] -> [B, H·W]`,
            /// `[B, C, H, W] -> [B, C·H·W]`.
            fn forward(&self, x: &Tensor<$from, E, D>) -> Self::Output {
                let batch = x.shape().0;
                relayout(x, Rank2(batch, <$merged>::default()))
            }

            #[allow(clippy::type_complexity)]
            fn forward_vjp(
                &self,
                x: &Tensor<$from, E, D>,
            ) -> (
                Self::Output,
                (
                    impl FnOnce(Self::Output) + Clone + use<B, $($A,)* E, D>,
                    impl FnOnce(Self::Output) -> Tensor<$from, E, D> + Clone + use<B, $($A,)* E, D>,
                ),
            ) {
                let shape = x.shape();
                let pullback = move |grad: Self::Output| relayout(&grad, shape);
                (self.forward(x), (|_: Self::Output| (), pullback))
            }
        }
    };
}

impl_flatten!([F], Rank2<B, F>, F, where []);
impl_flatten!([H, W], Rank3<B, H, W>, Prod<H, W>, where [H: Dim + Mul<W>, W: Dim,]);
impl_flatten!(
    [C, H, W],
    Rank4<B, C, H, W>,
    Prod<Prod<C, H>, W>,
    where [C: Dim + Mul<H>, H: Dim, W: Dim, Prod<C, H>: Mul<W>,]
);
