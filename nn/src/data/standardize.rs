//! Standardization of feature columns to zero mean and unit variance.

use autograd::typenum::Unsigned;
use autograd::{Dim, Dyn, Float, Rank1, Rank2, Tensor};

/// The per-column mean and standard deviation of a training split, applied
/// as `(x - mean) / std` to any split, like scikit-learn's `StandardScaler`.
///
/// The standard deviation is the biased one (dividing by `n`, not `n - 1`),
/// as `StandardScaler` computes it. A column whose values are all equal has
/// a standard deviation of 0 and is given a scale of 1 instead, as
/// `StandardScaler` does, so it becomes a column of zeros rather than NaN.
///
/// Fit it on the training split only and apply it to both splits, so that no
/// statistic of the test rows leaks into training.
#[derive(Clone, Debug, PartialEq)]
pub struct StandardScaler<F: Dim, E: Float = f32> {
    mean: Tensor<Rank1<F>, E>,
    std: Tensor<Rank1<F>, E>,
}

impl<F: Dim + Unsigned + Default, E: Float> StandardScaler<F, E> {
    /// Computes the mean and biased standard deviation of every column.
    ///
    /// The sums run in `f64` whatever `E` is, with the mean subtracted
    /// before squaring, so `f32` data does not lose the variance to
    /// cancellation.
    ///
    /// # Panics
    /// If `features` has no rows, since the mean of nothing is undefined.
    pub fn fit(features: &Tensor<Rank2<Dyn, F>, E>) -> Self {
        let [rows, width] = features.dims();
        assert!(
            rows > 0,
            "StandardScaler::fit: the feature matrix has no rows, so there is no mean to compute"
        );
        let data = features.as_slice();
        let column = |j: usize| (0..rows).map(move |i| data[i * width + j].to_f64());

        let means: Vec<f64> = (0..width)
            .map(|j| column(j).sum::<f64>() / rows as f64)
            .collect();
        let stds: Vec<f64> = (0..width)
            .map(|j| {
                let sum_sq: f64 = column(j).map(|x| (x - means[j]) * (x - means[j])).sum();
                let std = (sum_sq / rows as f64).sqrt();
                if std == 0.0 {
                    1.0
                } else {
                    std
                }
            })
            .collect();

        StandardScaler {
            mean: Tensor::from_fn(|j| E::from_f64(means[j])),
            std: Tensor::from_fn(|j| E::from_f64(stds[j])),
        }
    }

    /// The mean of each column of the fitted data.
    pub fn mean(&self) -> &Tensor<Rank1<F>, E> {
        &self.mean
    }

    /// The scale of each column: its biased standard deviation, or 1 where
    /// that is 0.
    pub fn std(&self) -> &Tensor<Rank1<F>, E> {
        &self.std
    }

    /// Maps every row `x` to `(x - mean) / std`.
    ///
    /// # Shapes
    /// `[N, F]` to `[N, F]`.
    pub fn transform(&self, features: &Tensor<Rank2<Dyn, F>, E>) -> Tensor<Rank2<Dyn, F>, E> {
        let (mean, std) = (self.mean.as_slice(), self.std.as_slice());
        let width = F::USIZE;
        features.map_indexed(|i, x| (x - mean[i % width]) / std[i % width])
    }

    /// Maps standardized rows back to the original units, `z * std + mean`.
    ///
    /// # Shapes
    /// `[N, F]` to `[N, F]`.
    pub fn inverse_transform(
        &self,
        features: &Tensor<Rank2<Dyn, F>, E>,
    ) -> Tensor<Rank2<Dyn, F>, E> {
        let (mean, std) = (self.mean.as_slice(), self.std.as_slice());
        let width = F::USIZE;
        features.map_indexed(|i, z| z * std[i % width] + mean[i % width])
    }
}

/// Element-wise map that also passes the row-major position.
trait MapIndexed<E> {
    fn map_indexed(&self, f: impl FnMut(usize, E) -> E) -> Self;
}

impl<F: Dim, E: Float> MapIndexed<E> for Tensor<Rank2<Dyn, F>, E> {
    fn map_indexed(&self, mut f: impl FnMut(usize, E) -> E) -> Self {
        let data = self.as_slice();
        Tensor::from_fn_with_shape(self.shape(), |i| f(i, data[i]))
    }
}
