//! Reductions.

use crate::device::Storage;
use crate::shape::{Rank0, Shape};
use crate::tensor::Tensor;
use crate::Float;

impl<S: Shape, E: Float, D: Storage<S, E> + Storage<Rank0, E>> Tensor<S, E, D> {
    /// The sum of all elements, as a scalar tensor.
    pub fn sum(&self) -> Tensor<Rank0, E, D> {
        Tensor::scalar(self.as_slice().iter().copied().sum())
    }

    /// VJP of [`sum`](Self::sum): every element's gradient is `dy`.
    #[allow(clippy::type_complexity)]
    pub fn sum_vjp(&self) -> (Tensor<Rank0, E, D>, (impl FnOnce(Tensor<Rank0, E, D>) -> Self,)) {
        let shape = self.shape();
        (self.sum(), (move |grad: Tensor<Rank0, E, D>| Self::full_with_shape(shape, grad.item()),))
    }
}
