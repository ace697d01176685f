//! Matrix product kernels over strided slices.
//!
//! `c = alpha * a · b + beta * c`, where `a` is `m × k`, `b` is `k × n` and
//! `c` is `m × n` with rows `c_row_stride` apart and unit column stride.
//! `a_strides` and `b_strides` are `[row_stride, column_stride]` in elements,
//! so a transposed operand is the same slice with its strides swapped.
//!
//! Each product goes to one of three kernels, by size and layout (see
//! [`route`]). A plain loop takes the tiniest and the unpacked kernel of
//! `gemm/small.rs` those up to 128×128×128 multiply-adds. `matrixmultiply`
//! (the kernel behind nalgebra's dynamic-size product, with the `alloc`
//! feature) takes the larger ones. `BENCHMARKS.md` records the measurements behind the
//! thresholds and behind keeping `matrixmultiply` rather than the `gemm`
//! crate.

mod small;

use core::mem::MaybeUninit;

use crate::Float;

/// Products with at least this many multiply-adds (`m * k * n`) use the
/// blocked kernel when the unpacked kernel does not take them.
///
/// Measured with `cargo bench --bench gemm` on a 2-core AMD EPYC (Zen, AVX2
/// and FMA), f32, one thread. The plain loop is faster up to 6×6×6 (216),
/// and up to 7×7×7 with the right operand transposed. 512 (8×8×8) is the
/// first cube where the blocked kernel wins in both layouts.
pub const BLOCKED_MIN_FLOPS: usize = 512;

/// Products with at least this many multiply-adds use the unpacked kernel
/// when an operand is contiguous along the output's rows or columns (`a · b`,
/// `aᵀ · b`): it is 1.7 times faster than the plain loop at 4×4×4 (64).
pub const SMALL_MIN_FLOPS: usize = 64;

/// Products with at most this many multiply-adds (128×128×128) may use the
/// unpacked kernel. At 128×128×128 it was as fast as `matrixmultiply`
/// (from 7% slower to 11% faster across four runs) on an AVX2 CPU. It
/// streams all of `b` once per four rows of `c`, so larger products stay on
/// the blocked kernel.
pub const SMALL_MAX_FLOPS: usize = 128 * 128 * 128;

/// The upper bound that replaces [`SMALL_MAX_FLOPS`] on a CPU with
/// AVX-512, where `matrixmultiply` runs 512-bit kernels and the unpacked
/// kernel stays at 256 bits. Measured on a Xeon with AVX-512: the unpacked
/// kernel was faster up to 24×24×24 in every layout, about as fast at
/// 32×32×32, and 1.3 to 1.7 times slower from 48×48×48 (110,592).
pub const SMALL_MAX_FLOPS_AVX512: usize = 48 * 48 * 48 - 1;

/// Returns the largest product, in multiply-adds, that the unpacked kernel
/// takes on this CPU.
fn small_max_flops() -> usize {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx512f") {
        return SMALL_MAX_FLOPS_AVX512;
    }
    SMALL_MAX_FLOPS
}

/// The unpacked kernel's dot products (`x · Wᵀ` with an output width that
/// is not a multiple of 4) run eight lanes at a time. They need an inner
/// dimension that is a multiple of 8 or at least this long, because at
/// 14×14×14 they reached 3.5 GFLOP/s against `matrixmultiply`'s 6.6.
pub const SMALL_DOT_MIN_DEPTH: usize = 32;

/// The kernel a product goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// [`gemm_loop`].
    Loop,
    /// The unpacked kernel of `gemm/small.rs`.
    Small,
    /// `matrixmultiply`'s blocked kernel (with the `alloc` feature).
    Blocked,
}

/// Chooses the kernel for a product of this size and layout.
pub fn route(m: usize, k: usize, n: usize, a_strides: [usize; 2], b_strides: [usize; 2]) -> Route {
    let flops = m * k * n;
    let blocked = if cfg!(feature = "alloc") && flops >= BLOCKED_MIN_FLOPS {
        Route::Blocked
    } else {
        Route::Loop
    };
    if flops < SMALL_MIN_FLOPS || !small::supports(k, n, a_strides, b_strides) {
        return blocked;
    }
    if !cfg!(feature = "alloc") {
        // Without the blocked kernel, the unpacked one takes every size.
        return match small::plan(m, k, n, a_strides, b_strides) {
            small::Plan::Rows | small::Plan::Transposed => Route::Small,
            small::Plan::Dot | small::Plan::Copy if flops >= BLOCKED_MIN_FLOPS => Route::Small,
            _ => Route::Loop,
        };
    }
    let small_max = small_max_flops();
    match small::plan(m, k, n, a_strides, b_strides) {
        small::Plan::Rows | small::Plan::Transposed if flops <= small_max => Route::Small,
        // The copy of `b` or the dot products pay off only from 8×8×8.
        small::Plan::Copy if (BLOCKED_MIN_FLOPS..=small_max).contains(&flops) => Route::Small,
        small::Plan::Dot
            if (BLOCKED_MIN_FLOPS..=small_max).contains(&flops)
                && (k.is_multiple_of(8) || k >= SMALL_DOT_MIN_DEPTH) =>
        {
            Route::Small
        }
        _ => blocked,
    }
}

#[allow(clippy::too_many_arguments)]
fn check_bounds<E, C>(
    m: usize,
    k: usize,
    n: usize,
    a: &[E],
    a_strides: [usize; 2],
    b: &[E],
    b_strides: [usize; 2],
    c: &[C],
    c_row_stride: usize,
) {
    // The length an operand needs, or `None` when it overflows `usize`
    // (which no slice can have, so the check below fails).
    let last = |rows: usize, cols: usize, s: [usize; 2]| -> Option<usize> {
        if rows == 0 || cols == 0 {
            return Some(0);
        }
        let row_end = (rows - 1).checked_mul(s[0])?;
        let col_end = (cols - 1).checked_mul(s[1])?;
        row_end.checked_add(col_end)?.checked_add(1)
    };
    assert!(
        last(m, k, a_strides).is_some_and(|needed| a.len() >= needed),
        "gemm: lhs slice too short"
    );
    assert!(
        last(k, n, b_strides).is_some_and(|needed| b.len() >= needed),
        "gemm: rhs slice too short"
    );
    assert!(
        last(m, n, [c_row_stride, 1]).is_some_and(|needed| c.len() >= needed),
        "gemm: output slice too short"
    );
}

/// Computes the product with plain loops, whatever its size.
///
/// When a row of `a` and a column of `b` are both contiguous, as in
/// `x · Wᵀ` with a Linear weight stored `[out, in]`, every element of `c` is
/// a dot product of two slices. Otherwise each row of `c` accumulates
/// multiples of the rows of `b`, which is contiguous when `b` is row-major.
///
/// Public so that `benches/gemm.rs` can time it against the blocked kernels.
/// Callers get the routed [`gemm_f32`] and [`gemm_f64`] through `Float::gemm`.
///
/// # Panics
///
/// Panics if a slice is too short for its dimensions and strides.
#[allow(clippy::too_many_arguments)]
pub fn gemm_loop<E: Float>(
    m: usize,
    k: usize,
    n: usize,
    alpha: E,
    a: &[E],
    a_strides: [usize; 2],
    b: &[E],
    b_strides: [usize; 2],
    beta: E,
    c: &mut [E],
    rsc: usize,
) {
    if a_strides[1] == 1 && b_strides[0] == 1 && k > 1 {
        gemm_loop_dot(
            m,
            k,
            n,
            alpha,
            a,
            a_strides[0],
            b,
            b_strides[1],
            beta,
            c,
            rsc,
        );
    } else {
        gemm_loop_rows(m, k, n, alpha, a, a_strides, b, b_strides, beta, c, rsc);
    }
}

/// `c[i, j] = alpha * a[i, :] · b[:, j] + beta * c[i, j]` with unit column
/// stride in `a` and unit row stride in `b`.
#[allow(clippy::too_many_arguments)]
fn gemm_loop_dot<E: Float>(
    m: usize,
    k: usize,
    n: usize,
    alpha: E,
    a: &[E],
    rsa: usize,
    b: &[E],
    csb: usize,
    beta: E,
    c: &mut [E],
    rsc: usize,
) {
    for i in 0..m {
        let a_row = &a[i * rsa..i * rsa + k];
        let c_row = &mut c[i * rsc..i * rsc + n];
        for (j, cv) in c_row.iter_mut().enumerate() {
            let product = alpha * dot(a_row, &b[j * csb..j * csb + k]);
            // `c` is not read when `beta` is zero, so NaN in it does not leak.
            *cv = if beta == E::ZERO {
                product
            } else {
                product + beta * *cv
            };
        }
    }
}

/// The dot product of two slices of equal length. Eight partial sums break
/// the dependency chain of one running sum, so the loop runs in SIMD lanes.
fn dot<E: Float>(x: &[E], y: &[E]) -> E {
    const LANES: usize = 8;
    let (x_chunks, y_chunks) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let tail: E = x_chunks
        .remainder()
        .iter()
        .zip(y_chunks.remainder())
        .map(|(&u, &v)| u * v)
        .sum();

    let mut partial = [E::ZERO; LANES];
    for (xs, ys) in x_chunks.zip(y_chunks) {
        let xs: &[E; LANES] = xs.try_into().expect("chunks_exact yields LANES elements");
        let ys: &[E; LANES] = ys.try_into().expect("chunks_exact yields LANES elements");
        for lane in 0..LANES {
            partial[lane] += xs[lane] * ys[lane];
        }
    }
    partial.iter().copied().sum::<E>() + tail
}

/// `c[i, :] = alpha * Σ_p a[i, p] * b[p, :] + beta * c[i, :]`, for any strides.
#[allow(clippy::too_many_arguments)]
fn gemm_loop_rows<E: Float>(
    m: usize,
    k: usize,
    n: usize,
    alpha: E,
    a: &[E],
    [rsa, csa]: [usize; 2],
    b: &[E],
    [rsb, csb]: [usize; 2],
    beta: E,
    c: &mut [E],
    rsc: usize,
) {
    for i in 0..m {
        let row = &mut c[i * rsc..i * rsc + n];
        if beta == E::ZERO {
            row.fill(E::ZERO);
        } else if beta != E::ONE {
            row.iter_mut().for_each(|v| *v *= beta);
        }
        for p in 0..k {
            let aip = alpha * a[i * rsa + p * csa];
            if csb == 1 {
                let brow = &b[p * rsb..p * rsb + n];
                for (cv, &bv) in row.iter_mut().zip(brow) {
                    *cv += aip * bv;
                }
            } else {
                for (j, cv) in row.iter_mut().enumerate() {
                    *cv += aip * b[p * rsb + j * csb];
                }
            }
        }
    }
}

/// The element types with a blocked kernel in `matrixmultiply`.
pub(crate) trait Kernels: small::Element {
    /// `matrixmultiply::sgemm` or `dgemm` with unit column stride in `c`.
    ///
    /// # Safety
    ///
    /// As `matrixmultiply`'s: every index lies inside its operand, and `c`
    /// does not overlap `a` or `b`.
    #[cfg(feature = "alloc")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn blocked(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        a_strides: [usize; 2],
        b: *const Self,
        b_strides: [usize; 2],
        c: *mut Self,
        c_row_stride: usize,
    );
}

macro_rules! impl_kernels {
    ($t:ty, $blocked:ident) => {
        impl Kernels for $t {
            #[cfg(feature = "alloc")]
            unsafe fn blocked(
                m: usize,
                k: usize,
                n: usize,
                a: *const Self,
                a_strides: [usize; 2],
                b: *const Self,
                b_strides: [usize; 2],
                c: *mut Self,
                c_row_stride: usize,
            ) {
                let [rsa, csa] = a_strides.map(|s| s as isize);
                let [rsb, csb] = b_strides.map(|s| s as isize);
                // SAFETY: forwarded from the caller.
                unsafe {
                    matrixmultiply::$blocked(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, 0.0, c, c_row_stride as isize, 1)
                }
            }
        }
    };
}

impl_kernels!(f32, sgemm);
impl_kernels!(f64, dgemm);

/// Computes `c = a · b` into an `m × n` row-major output that may be
/// uninitialised, with the kernel that [`route`] chooses. The unpacked and
/// blocked kernels write every element without reading it (`beta = 0`);
/// for the plain loop `c` is zero-filled first.
///
/// # Panics
///
/// Panics if `c` does not have `m · n` elements or an operand is too short
/// for its dimensions and strides.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_uninit<E: Kernels>(
    m: usize,
    k: usize,
    n: usize,
    a: &[E],
    a_strides: [usize; 2],
    b: &[E],
    b_strides: [usize; 2],
    c: &mut [MaybeUninit<E>],
) {
    assert_eq!(Some(c.len()), m.checked_mul(n), "gemm: output has {} elements for a {m}×{n} product", c.len());
    check_bounds(m, k, n, a, a_strides, b, b_strides, c, n);
    match route(m, k, n, a_strides, b_strides) {
        Route::Small => {
            // SAFETY: `check_bounds` proved the operands' bounds, `c` has
            // the `m × n` elements the kernel writes (it reads none with
            // `beta = 0`), and `route` chose it only where `supports` holds.
            unsafe { small::gemm_small(m, k, n, E::ONE, a, a_strides, b, b_strides, E::ZERO, c.as_mut_ptr().cast::<E>(), n) };
        }
        #[cfg(feature = "alloc")]
        Route::Blocked => {
            // SAFETY: as above; `matrixmultiply` does not read `c` when
            // `beta` is zero.
            unsafe { E::blocked(m, k, n, a.as_ptr(), a_strides, b.as_ptr(), b_strides, c.as_mut_ptr().cast::<E>(), n) };
        }
        _ => {
            for slot in c.iter_mut() {
                slot.write(E::ZERO);
            }
            // SAFETY: every element was just initialised, and
            // `MaybeUninit<E>` has the layout of `E`.
            let c = unsafe { &mut *(c as *mut [MaybeUninit<E>] as *mut [E]) };
            gemm_loop(m, k, n, E::ONE, a, a_strides, b, b_strides, E::ZERO, c, n);
        }
    }
}

macro_rules! gemm_small_entry {
    ($name:ident, $t:ty) => {
        /// Computes `c = alpha * a · b + beta * c` with the kernel for small
        /// products (see `gemm/small.rs`), whatever the size. A layout whose
        /// copy of `b` would not fit the kernel's stack buffer (without
        /// `alloc`) goes to [`gemm_loop`] instead.
        ///
        /// Public so that `benches/gemm.rs` can time it against the other
        /// kernels.
        ///
        /// # Panics
        ///
        /// Panics if a slice is too short for its dimensions and strides.
        #[allow(clippy::too_many_arguments)]
        pub fn $name(
            m: usize,
            k: usize,
            n: usize,
            alpha: $t,
            a: &[$t],
            a_strides: [usize; 2],
            b: &[$t],
            b_strides: [usize; 2],
            beta: $t,
            c: &mut [$t],
            c_row_stride: usize,
        ) {
            check_bounds(m, k, n, a, a_strides, b, b_strides, c, c_row_stride);
            if small::supports(k, n, a_strides, b_strides) {
                // SAFETY: `check_bounds` proved that every index the kernel
                // reads or writes lies inside its slice, and `supports` holds.
                unsafe {
                    small::gemm_small(m, k, n, alpha, a, a_strides, b, b_strides, beta, c.as_mut_ptr(), c_row_stride)
                };
            } else {
                gemm_loop(m, k, n, alpha, a, a_strides, b, b_strides, beta, c, c_row_stride);
            }
        }
    };
}

gemm_small_entry!(gemm_small_f32, f32);
gemm_small_entry!(gemm_small_f64, f64);

macro_rules! gemm_entry {
    ($name:ident, $t:ty, $blocked:ident) => {
        /// Computes `c = alpha * a · b + beta * c` with the kernel that
        /// [`route`] chooses.
        ///
        /// # Panics
        ///
        /// Panics if a slice is too short for its dimensions and strides.
        #[allow(clippy::too_many_arguments)]
        pub fn $name(
            m: usize,
            k: usize,
            n: usize,
            alpha: $t,
            a: &[$t],
            a_strides: [usize; 2],
            b: &[$t],
            b_strides: [usize; 2],
            beta: $t,
            c: &mut [$t],
            c_row_stride: usize,
        ) {
            check_bounds(m, k, n, a, a_strides, b, b_strides, c, c_row_stride);
            match route(m, k, n, a_strides, b_strides) {
                Route::Small => {
                    // SAFETY: `check_bounds` proved that every index the
                    // kernel reads or writes lies inside its slice, and
                    // `route` chose it only where `supports` holds.
                    unsafe {
                        small::gemm_small(m, k, n, alpha, a, a_strides, b, b_strides, beta, c.as_mut_ptr(), c_row_stride)
                    };
                    return;
                }
                #[cfg(feature = "alloc")]
                Route::Blocked => {
                    // SAFETY: `check_bounds` proved that every index the kernel
                    // reads or writes, `(rows-1)*row_stride + (cols-1)*col_stride`,
                    // lies inside its slice, and `c` is a unique borrow that does
                    // not alias `a` or `b`.
                    unsafe {
                        matrixmultiply::$blocked(
                            m,
                            k,
                            n,
                            alpha,
                            a.as_ptr(),
                            a_strides[0] as isize,
                            a_strides[1] as isize,
                            b.as_ptr(),
                            b_strides[0] as isize,
                            b_strides[1] as isize,
                            beta,
                            c.as_mut_ptr(),
                            c_row_stride as isize,
                            1,
                        );
                    }
                    return;
                }
                _ => {}
            }
            gemm_loop(
                m,
                k,
                n,
                alpha,
                a,
                a_strides,
                b,
                b_strides,
                beta,
                c,
                c_row_stride,
            );
        }
    };
}

gemm_entry!(gemm_f32, f32, sgemm);
gemm_entry!(gemm_f64, f64, dgemm);

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(m: usize, k: usize, n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        c
    }

    #[test]
    fn loop_and_blocked_kernels_agree_with_definition() {
        for &(m, k, n) in &[(2, 3, 4), (33, 17, 40), (1, 64, 1)] {
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let mut c = vec![0.0; m * n];
            gemm_f64(m, k, n, 1.0, &a, [k, 1], &b, [n, 1], 0.0, &mut c, n);
            let expected = reference(m, k, n, &a, &b);
            for (x, y) in c.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-12, "{m}x{k}x{n}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn transposed_strides_read_the_transpose() {
        // a is stored as its transpose (k × m), read with swapped strides.
        let (m, k, n) = (3, 2, 2);
        let a_t = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // rows of aᵀ: [1 2 3], [4 5 6]
        let b = [1.0, 0.0, 0.0, 1.0];
        let mut c = [0.0; 6];
        gemm_f64(m, k, n, 1.0, &a_t, [1, m], &b, [n, 1], 0.0, &mut c, n);
        assert_eq!(c, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    /// `op(x)[r, c]` for a row-major `rows × cols` buffer read with `strides`.
    fn read(x: &[f64], strides: [usize; 2], r: usize, c: usize) -> f64 {
        x[r * strides[0] + c * strides[1]]
    }

    #[test]
    fn loop_agrees_with_definition_in_every_layout() {
        let (alpha, beta) = (1.5, -0.5);
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 7, 2),
            (4, 8, 5),
            (5, 9, 3),
            (2, 17, 6),
            (6, 1, 4),
        ] {
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let c0: Vec<f64> = (0..m * n).map(|i| i as f64 - 2.0).collect();
            for a_strides in [[k, 1], [1, m]] {
                for b_strides in [[n, 1], [1, k]] {
                    let mut c = c0.clone();
                    gemm_loop(
                        m, k, n, alpha, &a, a_strides, &b, b_strides, beta, &mut c, n,
                    );
                    for i in 0..m {
                        for j in 0..n {
                            let dot: f64 = (0..k)
                                .map(|p| read(&a, a_strides, i, p) * read(&b, b_strides, p, j))
                                .sum();
                            let expected = alpha * dot + beta * c0[i * n + j];
                            let got = c[i * n + j];
                            assert!(
                                (got - expected).abs() < 1e-12,
                                "{m}x{k}x{n} a {a_strides:?} b {b_strides:?} at ({i}, {j}): {got} vs {expected}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn zero_beta_ignores_nan_in_output() {
        // Both loop forms (rows of b, and dot products with b transposed) and
        // the blocked kernel must overwrite c without reading it.
        for &(m, k, n) in &[(2, 3, 2), (9, 9, 9)] {
            let a = vec![1.0; m * k];
            let b = vec![2.0; k * n];
            for b_strides in [[n, 1], [1, k]] {
                let mut c = vec![f64::NAN; m * n];
                gemm_f64(m, k, n, 1.0, &a, [k, 1], &b, b_strides, 0.0, &mut c, n);
                for &v in &c {
                    assert_eq!(v, 2.0 * k as f64, "{m}x{k}x{n} b {b_strides:?}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "gemm: lhs slice too short")]
    fn overflowing_dims_fail_bounds_check() {
        // (m - 1) * 2 + 1 wraps to 1 in a release build, and the kernel
        // would read far past `a`.
        let m = (1usize << 63) + 1;
        let mut c = [0.0f32; 4];
        gemm_f32(m, 2, 2, 1.0, &[1.0, 2.0], [2, 1], &[1.0; 4], [2, 1], 0.0, &mut c, 2);
    }

    #[test]
    fn route_by_size_and_layout() {
        let blocked = if cfg!(feature = "alloc") { Route::Blocked } else { Route::Small };
        // 27 multiply-adds: the loop.
        assert_eq!(route(3, 3, 3, [3, 1], [3, 1]), Route::Loop);
        // From 64 on, row-major b goes to the unpacked kernel.
        assert_eq!(route(4, 4, 4, [4, 1], [4, 1]), Route::Small);
        // A transposed b needs a copy, which pays off from 512 on.
        assert_eq!(route(7, 7, 7, [7, 1], [1, 7]), Route::Loop);
        assert_eq!(route(150, 4, 16, [4, 1], [1, 4]), Route::Small);
        // Dot products (3 or 10 columns) over a depth of 16 or 128, but
        // not over 14.
        assert_eq!(route(150, 16, 3, [16, 1], [1, 16]), Route::Small);
        assert_eq!(route(64, 128, 10, [128, 1], [1, 128]), Route::Small);
        assert_eq!(route(14, 14, 14, [14, 1], [1, 14]), blocked);
        // The weight gradient dzᵀ · x of the Iris layer 1.
        assert_eq!(route(16, 150, 4, [1, 16], [4, 1]), Route::Small);
        // Up to 128×128×128 for the unpacked kernel (below 48×48×48 with
        // AVX-512), the MNIST layer beyond.
        let mid = if small_max_flops() == SMALL_MAX_FLOPS { Route::Small } else { blocked };
        assert_eq!(route(40, 40, 40, [40, 1], [40, 1]), Route::Small);
        assert_eq!(route(48, 48, 48, [48, 1], [48, 1]), mid);
        assert_eq!(route(128, 128, 128, [128, 1], [128, 1]), mid);
        assert_eq!(route(64, 784, 128, [784, 1], [1, 784]), blocked);
    }

    #[test]
    fn every_route_gives_the_product_of_the_definition() {
        for &(m, k, n) in &[(3, 3, 3), (4, 4, 4), (7, 7, 7), (150, 4, 16), (150, 16, 3), (16, 150, 4), (64, 128, 10), (40, 200, 130)] {
            for (a_strides, b_strides) in [([k, 1], [n, 1]), ([k, 1], [1, k]), ([1, m], [n, 1]), ([1, m], [1, k])] {
                let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
                let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
                let mut c = vec![f64::NAN; m * n];
                gemm_f64(m, k, n, 1.0, &a, a_strides, &b, b_strides, 0.0, &mut c, n);
                for i in 0..m {
                    for j in 0..n {
                        let dot: f64 = (0..k)
                            .map(|p| read(&a, a_strides, i, p) * read(&b, b_strides, p, j))
                            .sum();
                        let got = c[i * n + j];
                        assert!((got - dot).abs() < 1e-11, "{m}x{k}x{n} a {a_strides:?} b {b_strides:?}: {got} vs {dot}");
                    }
                }
            }
        }
    }

    #[test]
    fn uninit_output_is_written_on_every_route() {
        for &(m, k, n) in &[(3, 3, 3), (150, 4, 16), (150, 16, 3), (64, 128, 10), (5, 0, 4)] {
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let mut c = vec![MaybeUninit::new(f64::NAN); m * n];
            gemm_uninit(m, k, n, &a, [k, 1], &b, [1, k.max(1)], &mut c);
            for i in 0..m {
                for j in 0..n {
                    let dot: f64 = (0..k).map(|p| a[i * k + p] * b[j * k + p]).sum();
                    // SAFETY: `gemm_uninit` initialised every element.
                    let got = unsafe { c[i * n + j].assume_init() };
                    assert!((got - dot).abs() < 1e-11, "{m}x{k}x{n} at ({i}, {j}): {got} vs {dot}");
                }
            }
        }
    }

    #[test]
    fn routing_threshold_gives_same_product_on_both_sides() {
        // 8×8×8 reaches the blocked kernel (with `alloc`), 7×8×8 stays on the loop.
        assert_eq!(8 * 8 * 8, BLOCKED_MIN_FLOPS);
        for m in [7, 8] {
            let (k, n) = (8, 8);
            let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let mut c = vec![0.0; m * n];
            gemm_f64(m, k, n, 1.0, &a, [k, 1], &b, [n, 1], 0.0, &mut c, n);
            let expected = reference(m, k, n, &a, &b);
            for (x, y) in c.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-12, "{m}x{k}x{n}: {x} vs {y}");
            }
        }
    }
}
