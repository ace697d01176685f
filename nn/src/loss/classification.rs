//! Multi-class losses: cross entropy from logits and negative log likelihood.

use core::fmt;

use typenum::{Const, ToUInt};

use autograd::{Dim, Float, NoGrad, Rank0, Rank1, Rank2, Shape, Storage, Tensor};

use super::{Mean, Reduction};

/// The class index of every sample of a batch of `N` samples over `C`
/// classes, checked to lie in `0..C` when built.
///
/// This is the target type for class indices; a tensor of class
/// probabilities is the other [`CrossEntropyTarget`]. The indices are
/// borrowed, so building this value never allocates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassIndices<'a, N: Dim, C: Dim> {
    indices: &'a [usize],
    samples: N,
    classes: C,
}

/// The reason a slice of class indices does not fit a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassIndexError {
    /// The slice has another length than the batch axis of the type.
    Length { expected: usize, found: usize },
    /// A class index is not below the number of classes.
    OutOfRange {
        sample: usize,
        index: usize,
        num_classes: usize,
    },
}

impl fmt::Display for ClassIndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassIndexError::Length { expected, found } => write!(
                f,
                "expected {expected} class indices, one per sample, found {found}"
            ),
            ClassIndexError::OutOfRange {
                sample,
                index,
                num_classes,
            } => write!(
                f,
                "the class index of sample {sample} is {index}, out of range for \
                 {num_classes} classes"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ClassIndexError {}

impl<'a, N: Dim, C: Dim> ClassIndices<'a, N, C> {
    /// Checks that there is one index per sample and that each is below
    /// `num_classes`.
    ///
    /// ```
    /// use autograd::typenum::{U2, U3};
    /// use nn::loss::ClassIndices;
    ///
    /// let labels = [2, 0];
    /// let targets = ClassIndices::<U2, U3>::new(&labels, U3::new()).unwrap();
    /// assert_eq!(targets.as_slice(), &[2, 0]);
    /// assert!(ClassIndices::<U2, U3>::new(&[3, 0], U3::new()).is_err());
    /// ```
    ///
    /// # Errors
    /// [`ClassIndexError::Length`] when the slice's length differs from a
    /// typenum `N`, [`ClassIndexError::OutOfRange`] for the first index that
    /// is not below `num_classes`.
    pub fn new(indices: &'a [usize], num_classes: C) -> Result<Self, ClassIndexError> {
        let samples = N::from_size(indices.len()).ok_or(ClassIndexError::Length {
            expected: N::STATIC.unwrap_or(indices.len()),
            found: indices.len(),
        })?;
        let classes = num_classes.size();
        if let Some(sample) = indices.iter().position(|&index| index >= classes) {
            return Err(ClassIndexError::OutOfRange {
                sample,
                index: indices[sample],
                num_classes: classes,
            });
        }
        Ok(ClassIndices {
            indices,
            samples,
            classes: num_classes,
        })
    }

    /// The indices, one per sample.
    pub fn as_slice(&self) -> &'a [usize] {
        self.indices
    }

    /// The batch axis.
    pub fn samples(&self) -> N {
        self.samples
    }

    /// The class axis.
    pub fn classes(&self) -> C {
        self.classes
    }
}

impl<'a, N: Dim, C: Dim + Default> ClassIndices<'a, N, C> {
    /// Like [`new`](Self::new) for an array whose length is checked against
    /// `N` at compile time; the indices are still checked against `C`.
    ///
    /// # Errors
    /// [`ClassIndexError::OutOfRange`] for the first index not below `C`.
    pub fn from_array<const K: usize>(indices: &'a [usize; K]) -> Result<Self, ClassIndexError>
    where
        Const<K>: ToUInt<Output = N>,
    {
        Self::new(indices, C::default())
    }
}

/// A target of [`cross_entropy`]: [`ClassIndices`], or a tensor of class
/// probabilities with the logits' shape.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a cross-entropy target for logits of shape `Rank2<{N}, {C}>`",
    label = "expected `ClassIndices<N, C>` or a `Tensor<Rank2<N, C>>` of probabilities",
    note = "the target has the logits' batch axis `N`; class indices also carry the number \
            of classes `C`"
)]
pub trait CrossEntropyTarget<N: Dim, C: Dim, E: Float, D: Storage<Rank2<N, C>, E>> {
    /// The target's gradient: `NoGrad` for class indices.
    type Grad;

    /// Panics when a `Dyn` axis of the target differs from the logits'.
    fn check_shape(&self, logits: Rank2<N, C>);

    /// Returns the target probability of class `c` for sample `i` (before
    /// label smoothing), with `classes` classes per sample.
    fn probability(&self, i: usize, c: usize, classes: usize) -> E;

    /// Returns the class of sample `i` when the target puts all of its
    /// probability on one class, as class indices do, so that the loss can
    /// skip reading the other classes.
    fn one_hot_class(&self, _i: usize) -> Option<usize> {
        None
    }

    /// Returns the class of every sample when the target is class indices,
    /// so that the loss can run its one-hot passes over the whole batch.
    fn class_indices(&self) -> Option<&[usize]> {
        None
    }

    /// Computes the target's gradient from the logits (through their
    /// log-probabilities), the cotangent of each sample's loss and the label
    /// smoothing.
    fn grad(logits: &Tensor<Rank2<N, C>, E, D>, cotangents: &[E], label_smoothing: E) -> Self::Grad;
}

impl<N, C, E, D> CrossEntropyTarget<N, C, E, D> for ClassIndices<'_, N, C>
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E>,
{
    type Grad = NoGrad;

    #[track_caller]
    fn check_shape(&self, logits: Rank2<N, C>) {
        let dims = logits.dims();
        assert!(
            dims == [self.samples.size(), self.classes.size()],
            "cross_entropy: the logits have shape {:?} but the class indices are for {} \
             samples over {} classes",
            dims,
            self.samples.size(),
            self.classes.size()
        );
    }

    #[inline]
    fn probability(&self, i: usize, c: usize, _classes: usize) -> E {
        if self.indices[i] == c {
            E::ONE
        } else {
            E::ZERO
        }
    }

    #[inline]
    fn one_hot_class(&self, i: usize) -> Option<usize> {
        Some(self.indices[i])
    }

    fn class_indices(&self) -> Option<&[usize]> {
        Some(self.indices)
    }

    fn grad(_: &Tensor<Rank2<N, C>, E, D>, _: &[E], _: E) -> NoGrad {
        NoGrad
    }
}

impl<N, C, E, D> CrossEntropyTarget<N, C, E, D> for Tensor<Rank2<N, C>, E, D>
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E>,
{
    type Grad = Self;

    #[track_caller]
    fn check_shape(&self, logits: Rank2<N, C>) {
        assert!(
            self.shape() == logits,
            "cross_entropy: the logits have shape {:?} but the target probabilities have \
             shape {:?}",
            logits.dims(),
            self.dims()
        );
    }

    #[inline]
    fn probability(&self, i: usize, c: usize, classes: usize) -> E {
        self.as_slice()[i * classes + c]
    }

    // loss_i = -Σ_c ((1 - ε) t_ic + ε / C) lsm_ic, so ∂loss_i/∂t_ic = -(1 - ε) lsm_ic.
    fn grad(logits: &Tensor<Rank2<N, C>, E, D>, cotangents: &[E], label_smoothing: E) -> Self {
        let mut log_probs = log_softmax_rows(logits);
        let classes = log_probs.dims()[1];
        let keep = E::ONE - label_smoothing;
        for (row, &cotangent) in log_probs.as_mut_slice().chunks_mut(classes.max(1)).zip(cotangents) {
            row.iter_mut().for_each(|v| *v = -keep * cotangent * *v);
        }
        log_probs
    }
}

/// The number of classes per row. Small classification heads get it as a
/// constant ([`Fixed`]) so that the loops over one row unroll, because a
/// loop over 3 classes otherwise pays its overhead in every row.
trait RowWidth: Copy {
    fn get(self) -> usize;
}

/// A width known at compile time.
#[derive(Clone, Copy)]
struct Fixed<const W: usize>;

impl<const W: usize> RowWidth for Fixed<W> {
    #[inline(always)]
    fn get(self) -> usize {
        W
    }
}

impl RowWidth for usize {
    #[inline(always)]
    fn get(self) -> usize {
        self
    }
}

/// Calls `$f(width, args...)` with the width as a [`Fixed`] for 2, 3 and 4
/// classes, and as a `usize` otherwise.
macro_rules! with_width {
    ($width:expr, $f:ident($($arg:expr),*)) => {
        match $width {
            2 => $f(Fixed::<2>, $($arg),*),
            3 => $f(Fixed::<3>, $($arg),*),
            4 => $f(Fixed::<4>, $($arg),*),
            w => $f(w, $($arg),*),
        }
    };
}

/// Subtracts from each row of `data` its maximum.
fn shift_rows<W: RowWidth, E: Float>(width: W, data: &mut [E]) {
    for row in data.chunks_exact_mut(width.get()) {
        let max = row.iter().fold(E::NEG_INFINITY, |m, &v| m.max(v));
        row.iter_mut().for_each(|v| *v -= max);
    }
}

/// Returns the logits minus the maximum of their row, in a new tensor.
fn shifted_rows<N, C, E, D>(logits: &Tensor<Rank2<N, C>, E, D>) -> Tensor<Rank2<N, C>, E, D>
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E>,
{
    let mut shifted = logits.clone();
    let width = logits.dims()[1];
    if width == 0 {
        return shifted;
    }
    // `as_mut_slice` copies the logits, which the clone shares.
    let data = shifted.as_mut_slice();
    with_width!(width, shift_rows(data));
    shifted
}

/// Computes `log_softmax` of every row of the logits:
/// `(x - max) - ln Σ exp(x - max)`.
fn log_softmax_rows<N, C, E, D>(logits: &Tensor<Rank2<N, C>, E, D>) -> Tensor<Rank2<N, C>, E, D>
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E>,
{
    let mut log_probs = shifted_rows(logits);
    let width = log_probs.dims()[1];
    if width == 0 {
        return log_probs;
    }
    let mut exps = log_probs.clone();
    E::exp_in_place(exps.as_mut_slice());
    let mut ln_sums = [E::ZERO; ONE_HOT_BLOCK];
    let blocks = log_probs
        .as_mut_slice()
        .chunks_mut(ONE_HOT_BLOCK * width)
        .zip(exps.as_slice().chunks(ONE_HOT_BLOCK * width));
    for (block, exps) in blocks {
        let rows = exps.len() / width;
        for (ln_sum, row) in ln_sums.iter_mut().zip(exps.chunks_exact(width)) {
            *ln_sum = row.iter().copied().sum();
        }
        E::ln_in_place(&mut ln_sums[..rows]);
        for (row, &ln_sum) in block.chunks_exact_mut(width).zip(&ln_sums) {
            row.iter_mut().for_each(|l| *l -= ln_sum);
        }
    }
    log_probs
}

/// The per-sample losses and their gradient with respect to the logits.
type Parts<N, C, E, D> = (Tensor<Rank1<N>, E, D>, Tensor<Rank2<N, C>, E, D>);

/// Rows per block of the stack buffers that hold per-row sums.
const ONE_HOT_BLOCK: usize = 64;

/// [`cross_entropy_parts`] for class indices without label smoothing:
/// `loss = ln Σ exp(x - max) - (x_class - max)` and
/// `∂loss/∂x = softmax(x) - one_hot(class)`.
///
/// It needs no log-probabilities, so it makes two buffers, where the
/// general path makes three, and the row sums, their reciprocals and their
/// logarithms stay in stack buffers of [`ONE_HOT_BLOCK`] rows.
fn one_hot_parts<N, C, E, D>(logits: &Tensor<Rank2<N, C>, E, D>, indices: &[usize]) -> Parts<N, C, E, D>
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E>,
{
    let Rank2(samples, classes) = logits.shape();
    let width = classes.size();
    let mut grad = shifted_rows(logits);
    let shifted = grad.as_slice();
    // The shifted logit of each sample's class, until the loss replaces it.
    let mut losses = Tensor::from_fn_with_shape(Rank1(samples), |i| shifted[i * width + indices[i]]);
    let exps = grad.as_mut_slice();
    E::exp_in_place(exps);
    with_width!(width, one_hot_rows(exps, losses.as_mut_slice(), indices));
    (losses, grad)
}

/// Turns the exponentials of the shifted logits into `softmax - one_hot`,
/// and each sample's shifted target logit into its loss.
fn one_hot_rows<W: RowWidth, E: Float>(width: W, exps: &mut [E], losses: &mut [E], indices: &[usize]) {
    let w = width.get();
    let mut ln_sums = [E::ZERO; ONE_HOT_BLOCK];
    let mut inv_sums = [E::ZERO; ONE_HOT_BLOCK];
    let blocks = exps
        .chunks_mut(ONE_HOT_BLOCK * w)
        .zip(losses.chunks_mut(ONE_HOT_BLOCK))
        .zip(indices.chunks(ONE_HOT_BLOCK));
    for ((g, block_losses), block_indices) in blocks {
        let rows = block_losses.len();
        for (sum, row) in ln_sums.iter_mut().zip(g.chunks_exact(w)) {
            *sum = row.iter().copied().sum();
        }
        for (inv, &sum) in inv_sums[..rows].iter_mut().zip(&ln_sums[..rows]) {
            *inv = E::ONE / sum;
        }
        E::ln_in_place(&mut ln_sums[..rows]);
        let rows = g.chunks_exact_mut(w).zip(block_losses).zip(block_indices).zip(ln_sums.iter().zip(&inv_sums));
        for (((row, loss), &class), (&ln_sum, &inv_sum)) in rows {
            row.iter_mut().for_each(|e| *e *= inv_sum);
            row[class] -= E::ONE;
            *loss = ln_sum - *loss;
        }
    }
}

/// Computes the per-sample losses and their gradient with respect to the
/// logits (for a unit cotangent).
#[track_caller]
fn cross_entropy_parts<N, C, E, D, T>(
    logits: &Tensor<Rank2<N, C>, E, D>,
    target: &T,
    label_smoothing: E,
) -> Parts<N, C, E, D>
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E>,
    T: CrossEntropyTarget<N, C, E, D>,
{
    assert!(
        label_smoothing >= E::ZERO && label_smoothing <= E::ONE,
        "cross_entropy: label_smoothing must lie in [0, 1], found {label_smoothing}"
    );
    let shape = logits.shape();
    target.check_shape(shape);
    let Rank2(samples, classes) = shape;
    let c = classes.size();
    if label_smoothing == E::ZERO && c > 0 {
        if let Some(indices) = target.class_indices() {
            return one_hot_parts(logits, indices);
        }
    }
    let uniform = label_smoothing / E::from_usize(c);

    let mut log_probs = shifted_rows(logits);
    let mut losses = Tensor::zeros_with_shape(Rank1(samples));
    let width = c.max(1);

    // Passes over the whole batch, so that the exponentials and logarithms
    // run over one slice each (vectorised for f32) instead of one short row
    // at a time: log_probs = x - row max, grad = exp(log_probs), losses =
    // ln Σ grad per row, then per row log-softmax = (x - max) - ln Σ and
    // softmax = grad / Σ.
    let mut grad = log_probs.clone();
    E::exp_in_place(grad.as_mut_slice());

    // With the smoothed target t' = (1 - ε) t + ε / C,
    // loss = -Σ t' log_softmax(x) and ∂loss/∂x = (Σ t') softmax(x) - t'.
    let keep = E::ONE - label_smoothing;
    if c == 0 {
        // No classes: every loss is an empty sum.
        return (losses, grad);
    }
    let ln_sums = losses.as_mut_slice();
    for (ln_sum, g) in ln_sums.iter_mut().zip(grad.as_slice().chunks_exact(width)) {
        *ln_sum = g.iter().copied().sum();
    }
    E::ln_in_place(ln_sums);
    let rows = log_probs
        .as_mut_slice()
        .chunks_exact_mut(width)
        .zip(grad.as_mut_slice().chunks_exact_mut(width));
    for (i, ((lsm, g), loss)) in rows.zip(losses.as_mut_slice()).enumerate() {
        // `loss` contains ln Σ exp(x - max) until the loss overwrites it.
        let ln_sum = *loss;
        let inv_sum = E::ONE / g.iter().copied().sum::<E>();
        if let Some(class) = target.one_hot_class(i) {
            // t' is ε / C everywhere but at `class`, where it adds 1 - ε.
            let mut sum_log_probs = E::ZERO;
            for l in lsm.iter_mut() {
                *l -= ln_sum;
                sum_log_probs += *l;
            }
            let total = keep + E::from_usize(c) * uniform;
            for e in g.iter_mut() {
                *e = total * (*e * inv_sum) - uniform;
            }
            g[class] -= keep;
            *loss = -(keep * lsm[class] + uniform * sum_log_probs);
            continue;
        }
        let mut total = E::ZERO;
        let mut weighted = E::ZERO;
        for (k, l) in lsm.iter_mut().enumerate() {
            let t = keep * target.probability(i, k, c) + uniform;
            *l -= ln_sum;
            total += t;
            weighted += t * *l;
        }
        for (k, e) in g.iter_mut().enumerate() {
            let t = keep * target.probability(i, k, c) + uniform;
            *e = total * (*e * inv_sum) - t;
        }
        *loss = -weighted;
    }
    (losses, grad)
}

/// Multiplies row `i` of `grad` by `cotangents[i]`.
fn scale_rows<S: Shape, E: Float, D: Storage<S, E>>(
    mut grad: Tensor<S, E, D>,
    classes: usize,
    cotangents: &[E],
) -> Tensor<S, E, D> {
    for (row, &cotangent) in grad.as_mut_slice().chunks_mut(classes.max(1)).zip(cotangents) {
        row.iter_mut().for_each(|v| *v *= cotangent);
    }
    grad
}

/// Cross entropy between logits and a target, as PyTorch's
/// `F.cross_entropy`: the mean over samples of `-Σ_c t_c log_softmax(x)_c`.
///
/// The target is either [`ClassIndices`] (a one-hot `t`) or a tensor of class
/// probabilities with the logits' shape. The log-softmax goes through
/// log-sum-exp, so large logits do not overflow.
///
/// # Shapes
/// `logits`: `[N, C]`; `target`: `ClassIndices<N, C>` or `[N, C]`; output: a
/// scalar.
///
/// ```
/// use autograd::{Tensor, Rank2, typenum::{U1, U2}};
/// use nn::loss::{cross_entropy, ClassIndices};
///
/// let logits: Tensor<Rank2<U1, U2>, f64> = Tensor::from_array([[0.0, 0.0]]);
/// let labels = ClassIndices::<U1, U2>::from_array(&[1]).unwrap();
/// assert!((cross_entropy(&logits, &labels).item() - 2f64.ln()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn cross_entropy<N, C, E, D, T>(logits: &Tensor<Rank2<N, C>, E, D>, target: &T) -> Tensor<Rank0, E, D>
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E> + Storage<Rank0, E>,
    T: CrossEntropyTarget<N, C, E, D>,
{
    cross_entropy_with(logits, target, E::ZERO, Mean)
}

/// The VJP form of [`cross_entropy`]: slot 0 is the logits' pullback, slot 1
/// the target's (`NoGrad` for class indices).
#[allow(clippy::type_complexity)]
#[track_caller]
pub fn cross_entropy_vjp<N, C, E, D, T>(
    logits: &Tensor<Rank2<N, C>, E, D>,
    target: &T,
) -> (
    Tensor<Rank0, E, D>,
    (
        impl FnOnce(Tensor<Rank0, E, D>) -> Tensor<Rank2<N, C>, E, D>,
        impl FnOnce(Tensor<Rank0, E, D>) -> T::Grad,
    ),
)
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E> + Storage<Rank0, E>,
    T: CrossEntropyTarget<N, C, E, D>,
{
    let (loss, (pullback_logits, pullback_target, _, _)) =
        cross_entropy_with_vjp(logits, target, E::ZERO, Mean);
    (loss, (pullback_logits, pullback_target))
}

/// [`cross_entropy`] with label smoothing and the reduction chosen by type.
///
/// `label_smoothing` (ε, in `[0, 1]`) mixes the target with the uniform
/// distribution, `(1 - ε) t + ε / C`, as PyTorch's `label_smoothing`.
///
/// # Panics
/// If `label_smoothing` lies outside `[0, 1]`, or a `Dyn` axis of the target
/// differs from the logits'.
///
/// # Shapes
/// `logits`: `[N, C]`; `target`: `ClassIndices<N, C>` or `[N, C]`; output: a
/// scalar for `Mean` and `Sum`, `[N]` for `NoReduction`.
#[track_caller]
pub fn cross_entropy_with<N, C, E, D, T, R>(
    logits: &Tensor<Rank2<N, C>, E, D>,
    target: &T,
    label_smoothing: E,
    reduction: R,
) -> R::Output
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E>,
    T: CrossEntropyTarget<N, C, E, D>,
    R: Reduction<Rank1<N>, E, D>,
{
    let (losses, _) = cross_entropy_parts(logits, target, label_smoothing);
    reduction.reduce(losses)
}

/// The VJP form of [`cross_entropy_with`].
#[allow(clippy::type_complexity)]
#[track_caller]
pub fn cross_entropy_with_vjp<N, C, E, D, T, R>(
    logits: &Tensor<Rank2<N, C>, E, D>,
    target: &T,
    label_smoothing: E,
    reduction: R,
) -> (
    R::Output,
    (
        impl FnOnce(R::Output) -> Tensor<Rank2<N, C>, E, D>,
        impl FnOnce(R::Output) -> T::Grad,
        NoGrad,
        NoGrad,
    ),
)
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E>,
    T: CrossEntropyTarget<N, C, E, D>,
    R: Reduction<Rank1<N>, E, D>,
{
    let (losses, grad) = cross_entropy_parts(logits, target, label_smoothing);
    let Rank2(samples, classes) = logits.shape();
    let pullback_logits = move |cotangent: R::Output| match reduction.uniform_cotangent(&cotangent, Rank1(samples)) {
        Some(scale) => {
            let mut grad = grad;
            grad.map_inplace(|v| v * scale);
            grad
        }
        None => {
            let cotangents = reduction.expand(cotangent, Rank1(samples));
            scale_rows(grad, classes.size(), cotangents.as_slice())
        }
    };
    // The target's pullback recomputes the log-probabilities: class indices
    // have no gradient, so only probability targets pay for them.
    let saved_logits = logits.clone();
    let pullback_target = move |cotangent: R::Output| {
        let cotangents = reduction.expand(cotangent, Rank1(samples));
        T::grad(&saved_logits, cotangents.as_slice(), label_smoothing)
    };
    (reduction.reduce(losses), (pullback_logits, pullback_target, NoGrad, NoGrad))
}

/// Negative log likelihood of class indices under log-probabilities, as
/// PyTorch's `F.nll_loss`: the mean over samples of `-log_probs[i, y_i]`.
///
/// `cross_entropy(x, y)` equals `nll_loss(log_softmax(x), y)`.
///
/// # Shapes
/// `log_probs`: `[N, C]`; `target`: `ClassIndices<N, C>`; output: a scalar.
#[track_caller]
pub fn nll_loss<N, C, E, D>(
    log_probs: &Tensor<Rank2<N, C>, E, D>,
    target: &ClassIndices<'_, N, C>,
) -> Tensor<Rank0, E, D>
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E> + Storage<Rank0, E>,
{
    nll_loss_with(log_probs, target, Mean)
}

/// The VJP form of [`nll_loss`].
#[allow(clippy::type_complexity)]
#[track_caller]
pub fn nll_loss_vjp<N, C, E, D>(
    log_probs: &Tensor<Rank2<N, C>, E, D>,
    target: &ClassIndices<'_, N, C>,
) -> (
    Tensor<Rank0, E, D>,
    (impl FnOnce(Tensor<Rank0, E, D>) -> Tensor<Rank2<N, C>, E, D>, NoGrad),
)
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E> + Storage<Rank0, E>,
{
    let (loss, (pullback, _, _)) = nll_loss_with_vjp(log_probs, target, Mean);
    (loss, (pullback, NoGrad))
}

/// [`nll_loss`] with the reduction chosen by type.
///
/// # Shapes
/// `log_probs`: `[N, C]`; `target`: `ClassIndices<N, C>`; output: a scalar
/// for `Mean` and `Sum`, `[N]` for `NoReduction`.
#[track_caller]
pub fn nll_loss_with<N, C, E, D, R>(
    log_probs: &Tensor<Rank2<N, C>, E, D>,
    target: &ClassIndices<'_, N, C>,
    reduction: R,
) -> R::Output
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E>,
    R: Reduction<Rank1<N>, E, D>,
{
    <ClassIndices<'_, N, C> as CrossEntropyTarget<N, C, E, D>>::check_shape(target, log_probs.shape());
    let Rank2(samples, classes) = log_probs.shape();
    let c = classes.size();
    let x = log_probs.as_slice();
    let indices = target.as_slice();
    let losses = Tensor::from_fn_with_shape(Rank1(samples), |i| -x[i * c + indices[i]]);
    reduction.reduce(losses)
}

/// The VJP form of [`nll_loss_with`]: the gradient is `-dy_i` at
/// `[i, y_i]` and 0 elsewhere.
#[allow(clippy::type_complexity)]
#[track_caller]
pub fn nll_loss_with_vjp<N, C, E, D, R>(
    log_probs: &Tensor<Rank2<N, C>, E, D>,
    target: &ClassIndices<'_, N, C>,
    reduction: R,
) -> (
    R::Output,
    (impl FnOnce(R::Output) -> Tensor<Rank2<N, C>, E, D>, NoGrad, NoGrad),
)
where
    N: Dim,
    C: Dim,
    E: Float,
    D: Storage<Rank2<N, C>, E> + Storage<Rank1<N>, E>,
    R: Reduction<Rank1<N>, E, D>,
{
    let loss = nll_loss_with(log_probs, target, reduction);
    let shape = log_probs.shape();
    let Rank2(samples, classes) = shape;
    let c = classes.size();
    // The pullback owns a one-hot tensor of -1 at the targets, so it does not
    // borrow the indices.
    let mut selected = Tensor::zeros_with_shape(shape);
    for (row, &index) in selected.as_mut_slice().chunks_mut(c.max(1)).zip(target.as_slice()) {
        row[index] = -E::ONE;
    }
    let pullback = move |cotangent: R::Output| {
        let cotangents = reduction.expand(cotangent, Rank1(samples));
        scale_rows(selected, c, cotangents.as_slice())
    };
    (loss, (pullback, NoGrad, NoGrad))
}
