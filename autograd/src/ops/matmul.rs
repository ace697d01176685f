//! Matrix products: matrix · matrix, matrix · vector, vector · matrix,
//! vector · vector ([`dot`](Tensor::dot)), the outer product
//! ([`outer`](Tensor::outer)) and the product with a transposed right operand
//! ([`MatMulT`]).
//!
//! The inner dimension is one type parameter shared by both operands, so
//! multiplying `[M, K]` by `[J, N]` with `J ≠ K` does not compile. A `Dyn`
//! inner dimension is checked at run time.

use crate::device::Storage;
use crate::shape::{Dim, Rank0, Rank1, Rank2, Shape};
use crate::tensor::{check_axis, Tensor};
use crate::Float;

/// The matrix product `self · rhs`, with its VJP form.
#[diagnostic::on_unimplemented(
    message = "cannot matrix-multiply these tensors: their inner dimensions, element types or devices differ",
    label = "this operand does not fit the left one",
    note = "`matmul` multiplies [M, K] by [K, N], [M, K] by [K] or [K] by [K, N]: \
            the last axis of the left operand must be the first axis of the right one; \
            transpose an operand with `.t()` if it is stored the other way round, and \
            convert element types with `.cast::<f32>()` (there is no implicit promotion)"
)]
pub trait MatMul<Rhs> {
    type Output;

    fn matmul(&self, rhs: &Rhs) -> Self::Output;

    /// The product and its pullbacks: `d self = dy · rhsᵀ`,
    /// `d rhs = selfᵀ · dy`.
    #[allow(clippy::type_complexity)]
    fn matmul_vjp(
        &self,
        rhs: &Rhs,
    ) -> (
        Self::Output,
        (
            impl FnOnce(Self::Output) -> Self + use<Self, Rhs>,
            impl FnOnce(Self::Output) -> Rhs + use<Self, Rhs>,
        ),
    );
}

/// `a · b` into a new tensor of shape `out` (`m × n` elements).
#[allow(clippy::too_many_arguments)]
fn product<S: Shape, E: Float, D: Storage<S, E>>(
    out: S,
    m: usize,
    k: usize,
    n: usize,
    a: &[E],
    a_strides: [usize; 2],
    b: &[E],
    b_strides: [usize; 2],
) -> Tensor<S, E, D> {
    Tensor::from_product_with_shape(out, m, k, n, a, a_strides, b, b_strides)
}

/// `[M, K] · [K, N] -> [M, N]`
impl<M, K, N, E, D> MatMul<Tensor<Rank2<K, N>, E, D>> for Tensor<Rank2<M, K>, E, D>
where
    M: Dim,
    K: Dim,
    N: Dim,
    E: Float,
    D: Storage<Rank2<M, K>, E> + Storage<Rank2<K, N>, E> + Storage<Rank2<M, N>, E>,
{
    type Output = Tensor<Rank2<M, N>, E, D>;

    #[track_caller]
    fn matmul(&self, rhs: &Tensor<Rank2<K, N>, E, D>) -> Self::Output {
        let Rank2(m, k) = self.shape();
        let Rank2(k2, n) = rhs.shape();
        check_axis("matmul inner dimension", k.size(), k2.size());
        let (m_, k_, n_) = (m.size(), k.size(), n.size());
        product(Rank2(m, n), m_, k_, n_, self.as_slice(), [k_, 1], rhs.as_slice(), [n_, 1])
    }

    fn matmul_vjp(
        &self,
        rhs: &Tensor<Rank2<K, N>, E, D>,
    ) -> (
        Self::Output,
        (
            impl FnOnce(Self::Output) -> Self + use<M, K, N, E, D>,
            impl FnOnce(Self::Output) -> Tensor<Rank2<K, N>, E, D> + use<M, K, N, E, D>,
        ),
    ) {
        let y = self.matmul(rhs);
        let (a, b) = (self.clone(), rhs.clone());
        let (a_shape, b_shape) = (self.shape(), rhs.shape());
        let pullback_lhs = move |grad: Self::Output| {
            // dy · bᵀ, [M, N] · [N, K]: bᵀ is b read with swapped strides.
            let [m, k] = a_shape.dims();
            let n = grad.dims()[1];
            product(a_shape, m, n, k, grad.as_slice(), [n, 1], b.as_slice(), [1, n])
        };
        let pullback_rhs = move |grad: Self::Output| {
            // aᵀ · dy, [K, M] · [M, N]
            let [k, n] = b_shape.dims();
            let m = grad.dims()[0];
            product(b_shape, k, m, n, a.as_slice(), [1, k], grad.as_slice(), [n, 1])
        };
        (y, (pullback_lhs, pullback_rhs))
    }
}

/// `[M, K] · [K] -> [M]`
impl<M, K, E, D> MatMul<Tensor<Rank1<K>, E, D>> for Tensor<Rank2<M, K>, E, D>
where
    M: Dim,
    K: Dim,
    E: Float,
    D: Storage<Rank2<M, K>, E> + Storage<Rank1<K>, E> + Storage<Rank1<M>, E>,
{
    type Output = Tensor<Rank1<M>, E, D>;

    #[track_caller]
    fn matmul(&self, rhs: &Tensor<Rank1<K>, E, D>) -> Self::Output {
        let Rank2(m, k) = self.shape();
        check_axis("matmul inner dimension", k.size(), rhs.dims()[0]);
        let (m_, k_) = (m.size(), k.size());
        product(Rank1(m), m_, k_, 1, self.as_slice(), [k_, 1], rhs.as_slice(), [1, 1])
    }

    fn matmul_vjp(
        &self,
        rhs: &Tensor<Rank1<K>, E, D>,
    ) -> (
        Self::Output,
        (
            impl FnOnce(Self::Output) -> Self + use<M, K, E, D>,
            impl FnOnce(Self::Output) -> Tensor<Rank1<K>, E, D> + use<M, K, E, D>,
        ),
    ) {
        let y = self.matmul(rhs);
        let (a, x) = (self.clone(), rhs.clone());
        let (a_shape, x_shape) = (self.shape(), rhs.shape());
        let pullback_lhs = move |grad: Self::Output| {
            // outer product dy ⊗ x, [M, 1] · [1, K]
            let [m, k] = a_shape.dims();
            product(a_shape, m, 1, k, grad.as_slice(), [1, 1], x.as_slice(), [k, 1])
        };
        let pullback_rhs = move |grad: Self::Output| {
            // Aᵀ · dy, [K, M] · [M, 1]
            let [m, k] = a_shape.dims();
            product(x_shape, k, m, 1, a.as_slice(), [1, k], grad.as_slice(), [1, 1])
        };
        (y, (pullback_lhs, pullback_rhs))
    }
}

/// `[K] · [K, N] -> [N]`
impl<K, N, E, D> MatMul<Tensor<Rank2<K, N>, E, D>> for Tensor<Rank1<K>, E, D>
where
    K: Dim,
    N: Dim,
    E: Float,
    D: Storage<Rank1<K>, E> + Storage<Rank2<K, N>, E> + Storage<Rank1<N>, E>,
{
    type Output = Tensor<Rank1<N>, E, D>;

    #[track_caller]
    fn matmul(&self, rhs: &Tensor<Rank2<K, N>, E, D>) -> Self::Output {
        let Rank2(k, n) = rhs.shape();
        check_axis("matmul inner dimension", self.dims()[0], k.size());
        let (k_, n_) = (k.size(), n.size());
        product(Rank1(n), 1, k_, n_, self.as_slice(), [k_, 1], rhs.as_slice(), [n_, 1])
    }

    fn matmul_vjp(
        &self,
        rhs: &Tensor<Rank2<K, N>, E, D>,
    ) -> (
        Self::Output,
        (
            impl FnOnce(Self::Output) -> Self + use<K, N, E, D>,
            impl FnOnce(Self::Output) -> Tensor<Rank2<K, N>, E, D> + use<K, N, E, D>,
        ),
    ) {
        let y = self.matmul(rhs);
        let (x, b) = (self.clone(), rhs.clone());
        let (x_shape, b_shape) = (self.shape(), rhs.shape());
        let pullback_lhs = move |grad: Self::Output| {
            // dy · Bᵀ, [1, N] · [N, K]
            let [k, n] = b_shape.dims();
            product(x_shape, 1, n, k, grad.as_slice(), [n, 1], b.as_slice(), [1, n])
        };
        let pullback_rhs = move |grad: Self::Output| {
            // x ⊗ dy, [K, 1] · [1, N]
            let [k, n] = b_shape.dims();
            product(b_shape, k, 1, n, x.as_slice(), [1, 1], grad.as_slice(), [n, 1])
        };
        (y, (pullback_lhs, pullback_rhs))
    }
}

/// `[K] · [K] -> []`, the dot product, as `torch.matmul` on two vectors.
impl<K, E, D> MatMul<Tensor<Rank1<K>, E, D>> for Tensor<Rank1<K>, E, D>
where
    K: Dim,
    E: Float,
    D: Storage<Rank1<K>, E> + Storage<Rank0, E>,
{
    type Output = Tensor<Rank0, E, D>;

    #[track_caller]
    fn matmul(&self, rhs: &Tensor<Rank1<K>, E, D>) -> Self::Output {
        self.dot(rhs)
    }

    fn matmul_vjp(
        &self,
        rhs: &Tensor<Rank1<K>, E, D>,
    ) -> (
        Self::Output,
        (
            impl FnOnce(Self::Output) -> Self + use<K, E, D>,
            impl FnOnce(Self::Output) -> Tensor<Rank1<K>, E, D> + use<K, E, D>,
        ),
    ) {
        self.dot_vjp(rhs)
    }
}

impl<K: Dim, E: Float, D: Storage<Rank1<K>, E> + Storage<Rank0, E>> Tensor<Rank1<K>, E, D> {
    /// The dot product `Σ a_k b_k` (PyTorch `torch.dot`).
    ///
    /// # Shapes
    /// `[K] · [K] -> []`
    #[track_caller]
    pub fn dot(&self, rhs: &Self) -> Tensor<Rank0, E, D> {
        check_axis("dot", self.dims()[0], rhs.dims()[0]);
        let sum = self.as_slice().iter().zip(rhs.as_slice()).map(|(&a, &b)| a * b).sum();
        Tensor::scalar(sum)
    }

    /// VJP of [`dot`](Self::dot): `da = dy · b`, `db = dy · a`.
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn dot_vjp(
        &self,
        rhs: &Self,
    ) -> (Tensor<Rank0, E, D>, (impl FnOnce(Tensor<Rank0, E, D>) -> Self + use<K, E, D>, impl FnOnce(Tensor<Rank0, E, D>) -> Self + use<K, E, D>)) {
        let y = self.dot(rhs);
        let (a, b) = (self.clone(), rhs.clone());
        let pullback_lhs = move |grad: Tensor<Rank0, E, D>| b.map(|v| grad.item() * v);
        let pullback_rhs = move |grad: Tensor<Rank0, E, D>| a.map(|v| grad.item() * v);
        (y, (pullback_lhs, pullback_rhs))
    }
}

impl<M: Dim, E: Float, D: Storage<Rank1<M>, E>> Tensor<Rank1<M>, E, D> {
    /// The outer product `y_ij = a_i b_j` (PyTorch `torch.outer`).
    ///
    /// # Shapes
    /// `[M] ⊗ [N] -> [M, N]`
    pub fn outer<N: Dim>(&self, rhs: &Tensor<Rank1<N>, E, D>) -> Tensor<Rank2<M, N>, E, D>
    where
        D: Storage<Rank1<N>, E> + Storage<Rank2<M, N>, E>,
    {
        let (a, b) = (self.as_slice(), rhs.as_slice());
        let n = b.len();
        Tensor::from_fn_with_shape(Rank2(self.shape().0, rhs.shape().0), |i| a[i / n] * b[i % n])
    }

    /// VJP of [`outer`](Self::outer): `da = dy · b`, `db = dyᵀ · a`.
    #[allow(clippy::type_complexity)]
    pub fn outer_vjp<N: Dim>(
        &self,
        rhs: &Tensor<Rank1<N>, E, D>,
    ) -> (
        Tensor<Rank2<M, N>, E, D>,
        (
            impl FnOnce(Tensor<Rank2<M, N>, E, D>) -> Self + use<M, N, E, D>,
            impl FnOnce(Tensor<Rank2<M, N>, E, D>) -> Tensor<Rank1<N>, E, D> + use<M, N, E, D>,
        ),
    )
    where
        D: Storage<Rank1<N>, E> + Storage<Rank2<M, N>, E>,
    {
        let y = self.outer(rhs);
        let (a, b) = (self.clone(), rhs.clone());
        let (a_shape, b_shape) = (self.shape(), rhs.shape());
        let pullback_lhs = move |grad: Tensor<Rank2<M, N>, E, D>| {
            // [M, N] · [N, 1]
            let [m, n] = grad.dims();
            product(a_shape, m, n, 1, grad.as_slice(), [n, 1], b.as_slice(), [1, 1])
        };
        let pullback_rhs = move |grad: Tensor<Rank2<M, N>, E, D>| {
            // dyᵀ · a, [N, M] · [M, 1]
            let [m, n] = grad.dims();
            product(b_shape, n, m, 1, grad.as_slice(), [1, n], a.as_slice(), [1, 1])
        };
        (y, (pullback_lhs, pullback_rhs))
    }
}

/// The product `self · rhsᵀ` with the right operand stored untransposed,
/// with its VJP form.
///
/// This is what a `Linear` layer with a PyTorch-layout weight `[out, in]`
/// computes (`x @ W.T`, PyTorch `torch.nn.functional.linear` without bias).
/// The transpose is never copied: the kernel reads `rhs` with swapped
/// strides.
#[diagnostic::on_unimplemented(
    message = "cannot multiply these tensors by `matmul_t`: their last axes, element types or devices differ",
    label = "this operand does not fit the left one",
    note = "`matmul_t` multiplies [M, K] by [N, K]ᵀ or [K] by [N, K]ᵀ: \
            both operands must end in the same axis K"
)]
pub trait MatMulT<Rhs> {
    type Output;

    fn matmul_t(&self, rhs: &Rhs) -> Self::Output;

    /// The product and its pullbacks: `d self = dy · rhs`,
    /// `d rhs = dyᵀ · self`.
    #[allow(clippy::type_complexity)]
    fn matmul_t_vjp(
        &self,
        rhs: &Rhs,
    ) -> (
        Self::Output,
        (
            impl FnOnce(Self::Output) -> Self + use<Self, Rhs>,
            impl FnOnce(Self::Output) -> Rhs + use<Self, Rhs>,
        ),
    );
}

/// `[M, K] · [N, K]ᵀ -> [M, N]`
impl<M, K, N, E, D> MatMulT<Tensor<Rank2<N, K>, E, D>> for Tensor<Rank2<M, K>, E, D>
where
    M: Dim,
    K: Dim,
    N: Dim,
    E: Float,
    D: Storage<Rank2<M, K>, E> + Storage<Rank2<N, K>, E> + Storage<Rank2<M, N>, E>,
{
    type Output = Tensor<Rank2<M, N>, E, D>;

    #[track_caller]
    fn matmul_t(&self, rhs: &Tensor<Rank2<N, K>, E, D>) -> Self::Output {
        let Rank2(m, k) = self.shape();
        let Rank2(n, k2) = rhs.shape();
        check_axis("matmul_t shared last dimension", k.size(), k2.size());
        let (m_, k_, n_) = (m.size(), k.size(), n.size());
        // bᵀ is [K, N]: element (p, j) is b[j * k + p].
        product(Rank2(m, n), m_, k_, n_, self.as_slice(), [k_, 1], rhs.as_slice(), [1, k_])
    }

    fn matmul_t_vjp(
        &self,
        rhs: &Tensor<Rank2<N, K>, E, D>,
    ) -> (
        Self::Output,
        (
            impl FnOnce(Self::Output) -> Self + use<M, K, N, E, D>,
            impl FnOnce(Self::Output) -> Tensor<Rank2<N, K>, E, D> + use<M, K, N, E, D>,
        ),
    ) {
        let y = self.matmul_t(rhs);
        let (a, b) = (self.clone(), rhs.clone());
        let (a_shape, b_shape) = (self.shape(), rhs.shape());
        let pullback_lhs = move |grad: Self::Output| {
            // dy · b, [M, N] · [N, K]
            let [m, k] = a_shape.dims();
            let n = grad.dims()[1];
            product(a_shape, m, n, k, grad.as_slice(), [n, 1], b.as_slice(), [k, 1])
        };
        let pullback_rhs = move |grad: Self::Output| {
            // dyᵀ · a, [N, M] · [M, K]: dyᵀ is dy read with swapped strides.
            let [n, k] = b_shape.dims();
            let m = grad.dims()[0];
            product(b_shape, n, m, k, grad.as_slice(), [1, n], a.as_slice(), [k, 1])
        };
        (y, (pullback_lhs, pullback_rhs))
    }
}

/// `[K] · [N, K]ᵀ -> [N]`
impl<K, N, E, D> MatMulT<Tensor<Rank2<N, K>, E, D>> for Tensor<Rank1<K>, E, D>
where
    K: Dim,
    N: Dim,
    E: Float,
    D: Storage<Rank1<K>, E> + Storage<Rank2<N, K>, E> + Storage<Rank1<N>, E>,
{
    type Output = Tensor<Rank1<N>, E, D>;

    #[track_caller]
    fn matmul_t(&self, rhs: &Tensor<Rank2<N, K>, E, D>) -> Self::Output {
        let Rank2(n, k) = rhs.shape();
        check_axis("matmul_t shared last dimension", self.dims()[0], k.size());
        let (k_, n_) = (k.size(), n.size());
        product(Rank1(n), 1, k_, n_, self.as_slice(), [k_, 1], rhs.as_slice(), [1, k_])
    }

    fn matmul_t_vjp(
        &self,
        rhs: &Tensor<Rank2<N, K>, E, D>,
    ) -> (
        Self::Output,
        (
            impl FnOnce(Self::Output) -> Self + use<K, N, E, D>,
            impl FnOnce(Self::Output) -> Tensor<Rank2<N, K>, E, D> + use<K, N, E, D>,
        ),
    ) {
        let y = self.matmul_t(rhs);
        let (x, b) = (self.clone(), rhs.clone());
        let (x_shape, b_shape) = (self.shape(), rhs.shape());
        let pullback_lhs = move |grad: Self::Output| {
            // dy · b, [1, N] · [N, K]
            let [n, k] = b_shape.dims();
            product(x_shape, 1, n, k, grad.as_slice(), [n, 1], b.as_slice(), [k, 1])
        };
        let pullback_rhs = move |grad: Self::Output| {
            // dy ⊗ x, [N, 1] · [1, K]
            let [n, k] = b_shape.dims();
            product(b_shape, n, 1, k, grad.as_slice(), [1, 1], x.as_slice(), [k, 1])
        };
        (y, (pullback_lhs, pullback_rhs))
    }
}
