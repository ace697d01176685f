//! The tensor type, its constructors and element access.

use core::fmt;

use typenum::{Const, ToUInt};

use crate::device::Storage;
#[cfg(feature = "alloc")]
use crate::device::Cpu;
use crate::rng::Rng;
use crate::shape::{check_same_size, ConstShape, Rank0, Rank1, Rank2, Rank3, Shape};
use crate::Float;

/// An n-dimensional array whose shape `S` is a type.
///
/// `E` is the element type (`f32` or `f64`) and `D` the device that stores
/// the elements ([`Cpu`] by default, or [`Inline`](crate::Inline)). The data
/// is row-major and contiguous.
///
/// ```
/// use autograd::{Tensor, Rank2, typenum::{U2, U3}};
///
/// let x: Tensor<Rank2<U2, U3>> = Tensor::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
/// assert_eq!(x.dims(), [2, 3]);
/// assert_eq!(x.get([1, 2]), 6.0);
/// ```
#[cfg(feature = "alloc")]
pub struct Tensor<S: Shape, E: Float = f32, D: Storage<S, E> = Cpu> {
    shape: S,
    buf: D::Buf,
}

/// An n-dimensional array whose shape `S` is a type.
///
/// Without the `alloc` feature only the [`Inline`](crate::Inline) device
/// exists, so `D` has no default.
#[cfg(not(feature = "alloc"))]
pub struct Tensor<S: Shape, E: Float, D: Storage<S, E>> {
    shape: S,
    buf: D::Buf,
}

/// The error of building a tensor from data of the wrong length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError {
    /// The sizes the tensor's shape expects.
    pub expected: usize,
    /// The number of elements supplied.
    pub found: usize,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected {} elements for this shape, found {}",
            self.expected, self.found
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ShapeError {}

impl<S: Shape, E: Float, D: Storage<S, E>> Clone for Tensor<S, E, D> {
    #[inline]
    fn clone(&self) -> Self {
        Tensor {
            shape: self.shape,
            buf: D::clone_buf(&self.buf),
        }
    }
}

impl<S: Shape, E: Float, D: Storage<S, E>> PartialEq for Tensor<S, E, D> {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape && self.as_slice() == other.as_slice()
    }
}

impl<S: Shape, E: Float, D: Storage<S, E>> Tensor<S, E, D> {
    /// Builds a tensor of the given shape whose element `i` (row-major) is
    /// `f(i)`.
    pub fn from_fn_with_shape(shape: S, f: impl FnMut(usize) -> E) -> Self {
        Tensor {
            shape,
            buf: D::from_fn(&shape, f),
        }
    }

    /// Computes the matrix product `a · b` into a new tensor of shape
    /// `shape`, whose `m × n` elements are the product's rows in order. `a` is
    /// `m × k` and `b` is `k × n`, read with `[row, column]` strides as in
    /// [`crate::gemm`]. The kernel writes the output buffer directly, with
    /// no zero fill first on `Cpu`.
    ///
    /// # Panics
    ///
    /// Panics if `m · n` is not the shape's element count or a slice is too
    /// short for its dimensions and strides.
    #[allow(clippy::too_many_arguments)]
    #[track_caller]
    pub fn from_product_with_shape(
        shape: S,
        m: usize,
        k: usize,
        n: usize,
        a: &[E],
        a_strides: [usize; 2],
        b: &[E],
        b_strides: [usize; 2],
    ) -> Self {
        assert_eq!(m * n, shape.numel(), "from_product_with_shape: {m}×{n} product for a shape of {} elements", shape.numel());
        let init = |c: &mut [core::mem::MaybeUninit<E>]| E::gemm_uninit(m, k, n, a, a_strides, b, b_strides, c);
        // SAFETY: `gemm_uninit` writes all `m · n` elements of `c`, which is
        // the whole buffer.
        let buf = unsafe { D::from_uninit(&shape, init) };
        Tensor { shape, buf }
    }

    /// Builds a tensor of the given shape whose element `i` (row-major) is
    /// `tile[i % tile.len()]`, such as a bias repeated on every row.
    ///
    /// The copies double in length, so a short tile fills a large tensor in
    /// a few `memcpy` calls rather than one element at a time.
    ///
    /// # Panics
    ///
    /// Panics if `tile` is empty and the shape is not.
    #[track_caller]
    pub fn tiled_with_shape(shape: S, tile: &[E]) -> Self {
        let numel = shape.numel();
        assert!(numel == 0 || !tile.is_empty(), "tiled_with_shape: empty tile for {numel} elements");
        let init = |out: &mut [core::mem::MaybeUninit<E>]| {
            let first = tile.len().min(out.len());
            for (o, &v) in out[..first].iter_mut().zip(tile) {
                o.write(v);
            }
            let mut filled = first;
            while filled < out.len() {
                let len = filled.min(out.len() - filled);
                out.copy_within(..len, filled);
                filled += len;
            }
        };
        // SAFETY: the first loop writes `first` elements, and every copy
        // then extends the written prefix up to the whole buffer (`first` is
        // not 0 unless the buffer is empty).
        let buf = unsafe { D::from_uninit(&shape, init) };
        Tensor { shape, buf }
    }

    /// A tensor of the given shape with every element `value`.
    pub fn full_with_shape(shape: S, value: E) -> Self {
        Self::from_fn_with_shape(shape, |_| value)
    }

    /// A tensor of zeros with the given shape (needed when an axis is `Dyn`).
    pub fn zeros_with_shape(shape: S) -> Self {
        Self::full_with_shape(shape, E::ZERO)
    }

    /// Copies `data` into a tensor of the given shape.
    ///
    /// # Errors
    /// [`ShapeError`] when `data.len()` is not the shape's element count.
    pub fn from_slice_with_shape(shape: S, data: &[E]) -> Result<Self, ShapeError> {
        if data.len() != shape.numel() {
            return Err(ShapeError {
                expected: shape.numel(),
                found: data.len(),
            });
        }
        Ok(Self::from_fn_with_shape(shape, |i| data[i]))
    }

    /// A tensor of zeros shaped like `self`.
    pub fn zeros_like(&self) -> Self {
        Self::zeros_with_shape(self.shape)
    }

    pub fn shape(&self) -> S {
        self.shape
    }

    /// The size of each axis.
    pub fn dims(&self) -> S::Dims {
        self.shape.dims()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.shape.numel()
    }

    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[E] {
        D::as_slice(&self.buf)
    }

    /// The elements in row-major order, for writing.
    ///
    /// On [`Cpu`] a buffer shared with clones of this tensor is copied first,
    /// so writing never changes another tensor (which is why a value saved
    /// for a pullback cannot be modified in place behind its back).
    pub fn as_mut_slice(&mut self) -> &mut [E] {
        D::as_mut_slice(&mut self.buf)
    }

    /// The element at a multi-index. Panics if an index is out of range.
    #[track_caller]
    pub fn get(&self, index: S::Dims) -> E {
        self.as_slice()[self.flat_index(index)]
    }

    /// Sets the element at a multi-index. Panics if an index is out of range.
    #[track_caller]
    pub fn set(&mut self, index: S::Dims, value: E) {
        let i = self.flat_index(index);
        self.as_mut_slice()[i] = value;
    }

    #[track_caller]
    fn flat_index(&self, index: S::Dims) -> usize {
        let dims = self.dims();
        let mut flat = 0;
        for (axis, (&i, &n)) in index.as_ref().iter().zip(dims.as_ref()).enumerate() {
            assert!(i < n, "index {i} is out of range for axis {axis} of size {n}");
            flat = flat * n + i;
        }
        flat
    }

    /// Applies `f` to every element.
    pub fn map(&self, mut f: impl FnMut(E) -> E) -> Self {
        let x = self.as_slice();
        let init = |out: &mut [core::mem::MaybeUninit<E>]| {
            for (o, &v) in out.iter_mut().zip(x) {
                o.write(f(v));
            }
        };
        // SAFETY: `out` and `x` both have the shape's element count, so the
        // loop writes every element.
        let buf = unsafe { D::from_uninit(&self.shape, init) };
        Tensor { shape: self.shape, buf }
    }

    /// Applies `f` to every element in place.
    pub fn map_inplace(&mut self, mut f: impl FnMut(E) -> E) {
        self.as_mut_slice().iter_mut().for_each(|v| *v = f(*v));
    }

    /// Combines two tensors of the same shape element by element.
    ///
    /// Panics if a `Dyn` axis differs between the two.
    #[track_caller]
    pub fn zip_map(&self, other: &Self, mut f: impl FnMut(E, E) -> E) -> Self {
        self.check_same_shape("zip_map", other);
        let (x, y) = (self.as_slice(), other.as_slice());
        let init = |out: &mut [core::mem::MaybeUninit<E>]| {
            for ((o, &u), &v) in out.iter_mut().zip(x).zip(y) {
                o.write(f(u, v));
            }
        };
        // SAFETY: the shapes are equal (checked above), so `out`, `x` and
        // `y` have the same length and the loop writes every element.
        let buf = unsafe { D::from_uninit(&self.shape, init) };
        Tensor { shape: self.shape, buf }
    }

    /// Panics with both shapes when a `Dyn` axis makes them differ.
    #[track_caller]
    pub(crate) fn check_same_shape(&self, op: &str, other: &Self) {
        if self.shape != other.shape {
            panic!(
                "{op}: shapes do not match: {:?} versus {:?}",
                self.dims().as_ref(),
                other.dims().as_ref()
            );
        }
    }

    /// Moves the elements to another device with the same shape.
    pub fn to_device<D2: Storage<S, E>>(&self) -> Tensor<S, E, D2> {
        let x = self.as_slice();
        Tensor::from_fn_with_shape(self.shape, |i| x[i])
    }

    /// Converts every element to another float type.
    pub fn cast<E2: Float>(&self) -> Tensor<S, E2, D>
    where
        D: Storage<S, E2>,
    {
        let x = self.as_slice();
        Tensor::from_fn_with_shape(self.shape, |i| E2::from_f64(x[i].to_f64()))
    }

    /// Elements drawn from the standard normal distribution.
    pub fn randn_with_shape(shape: S, rng: &mut Rng) -> Self {
        Self::from_fn_with_shape(shape, |_| E::from_f64(rng.normal()))
    }

    /// Elements drawn uniformly from `[low, high)`.
    pub fn uniform_with_shape(shape: S, low: E, high: E, rng: &mut Rng) -> Self {
        let (low, high) = (low.to_f64(), high.to_f64());
        Self::from_fn_with_shape(shape, |_| E::from_f64(rng.uniform(low, high)))
    }

    /// `true` when every element is finite (no NaN, no infinity).
    pub fn all_finite(&self) -> bool {
        self.as_slice().iter().all(|v| v.is_finite())
    }
}

/// Constructors for shapes fixed by the type.
///
/// The `S: ConstShape` bound sits on each method instead of on the impl
/// block, so that a shape with a `Dyn` axis gets `ConstShape`'s message
/// (use a `*_with_shape` constructor) instead of "the function exists but
/// its trait bounds were not satisfied".
impl<S: Shape, E: Float, D: Storage<S, E>> Tensor<S, E, D> {
    pub fn zeros() -> Self
    where
        S: ConstShape,
    {
        Self::zeros_with_shape(S::default())
    }

    pub fn ones() -> Self
    where
        S: ConstShape,
    {
        Self::full_with_shape(S::default(), E::ONE)
    }

    pub fn full(value: E) -> Self
    where
        S: ConstShape,
    {
        Self::full_with_shape(S::default(), value)
    }

    /// Builds a tensor whose element `i` (row-major) is `f(i)`.
    pub fn from_fn(f: impl FnMut(usize) -> E) -> Self
    where
        S: ConstShape,
    {
        Self::from_fn_with_shape(S::default(), f)
    }

    /// Copies a slice whose length is checked at run time.
    ///
    /// # Errors
    /// [`ShapeError`] when `data.len()` is not `S::NUMEL`.
    pub fn from_slice(data: &[E]) -> Result<Self, ShapeError>
    where
        S: ConstShape,
    {
        Self::from_slice_with_shape(S::default(), data)
    }

    /// Elements drawn from the standard normal distribution.
    pub fn randn(rng: &mut Rng) -> Self
    where
        S: ConstShape,
    {
        Self::randn_with_shape(S::default(), rng)
    }

    /// Elements drawn uniformly from `[low, high)`.
    pub fn uniform(low: E, high: E, rng: &mut Rng) -> Self
    where
        S: ConstShape,
    {
        Self::uniform_with_shape(S::default(), low, high, rng)
    }
}

impl<E: Float, D: Storage<Rank0, E>> Tensor<Rank0, E, D> {
    /// A scalar tensor.
    pub fn scalar(value: E) -> Self {
        Self::full(value)
    }

    /// The value of a scalar tensor, as PyTorch's `item()`.
    pub fn item(&self) -> E {
        self.as_slice()[0]
    }
}

/// Nested arrays whose lengths are checked against a shape at compile time:
/// `[E; N]` fits `Rank1<A>` only when `N` is `A`, `[[E; C]; R]` fits
/// `Rank2<A, B>` only when `R` is `A` and `C` is `B`, and so on.
#[diagnostic::on_unimplemented(
    message = "this array does not have the shape `{S}`",
    label = "the array's lengths differ from the tensor's dims",
    note = "give one array level per axis, with exactly as many elements as the axis \
            (`Tensor::<Rank2<U2, U3>>::from_array([[1., 2., 3.], [4., 5., 6.]])`)"
)]
pub trait ArrayData<S: Shape, E> {
    /// The element at row-major position `i`.
    fn element(&self, i: usize) -> E;
}

#[diagnostic::do_not_recommend]
impl<A, E: Copy, const N: usize> ArrayData<Rank1<A>, E> for [E; N]
where
    A: crate::shape::Dim,
    Const<N>: ToUInt<Output = A>,
{
    fn element(&self, i: usize) -> E {
        self[i]
    }
}

#[diagnostic::do_not_recommend]
impl<A, B, E: Copy, const R: usize, const C: usize> ArrayData<Rank2<A, B>, E> for [[E; C]; R]
where
    A: crate::shape::Dim,
    B: crate::shape::Dim,
    Const<R>: ToUInt<Output = A>,
    Const<C>: ToUInt<Output = B>,
{
    fn element(&self, i: usize) -> E {
        self[i / C][i % C]
    }
}

#[diagnostic::do_not_recommend]
impl<A, B, C, E: Copy, const N0: usize, const N1: usize, const N2: usize>
    ArrayData<Rank3<A, B, C>, E> for [[[E; N2]; N1]; N0]
where
    A: crate::shape::Dim,
    B: crate::shape::Dim,
    C: crate::shape::Dim,
    Const<N0>: ToUInt<Output = A>,
    Const<N1>: ToUInt<Output = B>,
    Const<N2>: ToUInt<Output = C>,
{
    fn element(&self, i: usize) -> E {
        self[i / (N1 * N2)][(i / N2) % N1][i % N2]
    }
}

impl<S: Shape, E: Float, D: Storage<S, E>> Tensor<S, E, D> {
    /// Builds a tensor from nested arrays whose lengths match the shape, a
    /// check made at compile time.
    pub fn from_array(data: impl ArrayData<S, E>) -> Self
    where
        S: ConstShape,
    {
        Self::from_fn(|i| data.element(i))
    }
}

/// Checks that two run-time sizes of a `Dyn` axis agree.
#[track_caller]
pub(crate) fn check_axis(op: &str, left: usize, right: usize) {
    check_same_size(op, left, right)
}

impl<S: Shape, E: Float, D: Storage<S, E>> fmt::Debug for Tensor<S, E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)?;
        write!(f, " ({:?}, {}, {})", self.dims().as_ref(), E::DTYPE, D::NAME)
    }
}

/// Prints like PyTorch: `tensor([[1., 2.], [3., 4.]])`, with four decimals
/// when some element is not an integer and scientific notation when the
/// magnitudes span more than four orders.
impl<S: Shape, E: Float, D: Storage<S, E>> fmt::Display for Tensor<S, E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.as_slice();
        let style = ElementStyle::choose(data);
        f.write_str("tensor(")?;
        write_nested(f, data, self.dims().as_ref(), &style, 8)?;
        f.write_str(")")
    }
}

enum ElementStyle {
    Integral,
    Fixed,
    Scientific,
}

impl ElementStyle {
    fn choose<E: Float>(data: &[E]) -> Self {
        let finite = data.iter().filter(|v| v.is_finite());
        let integral = finite.clone().all(|v| v.floor() == *v);
        let magnitudes = finite.map(|v| v.abs()).filter(|v| *v > E::ZERO);
        let (mut lo, mut hi) = (E::INFINITY, E::ZERO);
        for m in magnitudes {
            lo = lo.min(m);
            hi = hi.max(m);
        }
        if integral && hi < E::from_f64(1e8) {
            ElementStyle::Integral
        } else if hi >= E::from_f64(1e8)
            || (lo.is_finite() && (hi / lo > E::from_f64(1e3) || lo < E::from_f64(1e-4)))
        {
            ElementStyle::Scientific
        } else {
            ElementStyle::Fixed
        }
    }

    fn write<E: Float>(&self, f: &mut fmt::Formatter<'_>, v: E) -> fmt::Result {
        if v.is_nan() {
            return f.write_str("nan");
        }
        if !v.is_finite() {
            return f.write_str(if v > E::ZERO { "inf" } else { "-inf" });
        }
        match self {
            ElementStyle::Integral => write!(f, "{}.", v),
            ElementStyle::Fixed => write!(f, "{:.4}", v),
            ElementStyle::Scientific => write!(f, "{:.4e}", v),
        }
    }
}

fn write_nested<E: Float>(
    f: &mut fmt::Formatter<'_>,
    data: &[E],
    dims: &[usize],
    style: &ElementStyle,
    indent: usize,
) -> fmt::Result {
    let Some((&n, rest)) = dims.split_first() else {
        return style.write(f, data[0]);
    };
    let inner: usize = rest.iter().product();
    f.write_str("[")?;
    for i in 0..n {
        if i > 0 {
            if rest.is_empty() {
                f.write_str(", ")?;
            } else {
                f.write_str(",")?;
                for _ in 1..rest.len() {
                    f.write_str("\n")?;
                }
                write!(f, "\n{:indent$}", "", indent = indent)?;
            }
        }
        write_nested(f, &data[i * inner..(i + 1) * inner], rest, style, indent + 1)?;
    }
    f.write_str("]")
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use crate::shape::Dyn;
    use typenum::{U2, U3};

    #[test]
    fn display_matches_pytorch_for_integral_values() {
        let x: Tensor<Rank2<U2, U2>> = Tensor::from_array([[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(format!("{x}"), "tensor([[1., 2.],\n        [3., 4.]])");
    }

    #[test]
    fn display_uses_four_decimals_for_fractions() {
        let x: Tensor<Rank1<U3>> = Tensor::from_array([0.5, 1.25, -2.0]);
        assert_eq!(format!("{x}"), "tensor([0.5000, 1.2500, -2.0000])");
    }

    #[test]
    fn tiled_repeats_tile_on_every_length() {
        let tile = [1.0f32, 2.0, 3.0];
        for len in [0, 1, 2, 3, 7, 12, 50] {
            let t: Tensor<Rank1<Dyn>> = Tensor::tiled_with_shape(Rank1(Dyn(len)), &tile);
            let expected: Vec<f32> = (0..len).map(|i| tile[i % 3]).collect();
            assert_eq!(t.as_slice(), &expected[..], "length {len}");
        }
    }

    #[test]
    fn tiled_on_inline_device() {
        let t: Tensor<Rank2<U3, U2>, f64, crate::Inline> = Tensor::tiled_with_shape(Rank2(U3::new(), U2::new()), &[0.5, -1.0]);
        assert_eq!(t.as_slice(), &[0.5, -1.0, 0.5, -1.0, 0.5, -1.0]);
    }

    #[test]
    #[should_panic(expected = "empty tile for 2 elements")]
    fn tiled_rejects_empty_tile() {
        let _: Tensor<Rank1<U2>> = Tensor::tiled_with_shape(Rank1(U2::new()), &[]);
    }

    #[test]
    fn display_scalar() {
        let x: Tensor<Rank0> = Tensor::scalar(3.0);
        assert_eq!(format!("{x}"), "tensor(3.)");
    }

    #[test]
    fn from_slice_reports_both_lengths() {
        let err = Tensor::<Rank1<U3>>::from_slice(&[1.0, 2.0]).unwrap_err();
        assert_eq!(err, ShapeError { expected: 3, found: 2 });
    }

    #[test]
    fn writing_a_clone_leaves_the_original() {
        let a: Tensor<Rank1<U2>> = Tensor::from_array([1.0, 2.0]);
        let mut b = a.clone();
        b.set([0], 9.0);
        assert_eq!(a.get([0]), 1.0);
        assert_eq!(b.get([0]), 9.0);
    }

    #[test]
    #[should_panic(expected = "shapes do not match: [2] versus [3]")]
    fn zip_map_panics_on_mismatched_dyn_axes() {
        let a: Tensor<Rank1<Dyn>> = Tensor::zeros_with_shape(Rank1(Dyn(2)));
        let b: Tensor<Rank1<Dyn>> = Tensor::zeros_with_shape(Rank1(Dyn(3)));
        let _ = a.zip_map(&b, |x, y| x + y);
    }
}
