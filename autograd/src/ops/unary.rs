//! Elementwise unary ops.

use super::unary_vjp;
use crate::device::Storage;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::Float;

impl<S: Shape, E: Float, D: Storage<S, E>> Tensor<S, E, D> {
    /// `e^x`, elementwise.
    pub fn exp(&self) -> Self {
        self.map(E::exp)
    }

    /// VJP of [`exp`](Self::exp): `dx = dy · e^x`, reusing the output.
    #[allow(clippy::type_complexity)]
    pub fn exp_vjp(&self) -> (Self, (impl FnOnce(Self) -> Self,)) {
        unary_vjp(self, E::exp, |_, y| y)
    }
}
