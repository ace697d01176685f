//! Matrix product kernels over strided slices.
//!
//! `c = alpha * a · b + beta * c`, where `a` is `m × k`, `b` is `k × n` and
//! `c` is `m × n` with rows `c_row_stride` apart and unit column stride.
//! `a_strides` and `b_strides` are `[row_stride, column_stride]` in elements,
//! so a transposed operand is the same slice with its strides swapped.
//!
//! Small products run a plain loop; large ones go to `matrixmultiply` (the
//! kernel behind nalgebra's dynamic-size product) when the `alloc` feature is
//! on. `BENCHMARKS.md` records the measurements behind the threshold.

use crate::Float;

/// Products with at least this many multiply-adds (`m * k * n`) use the
/// blocked kernel; below it, the packing cost of the blocked kernel is larger
/// than what it saves.
pub const BLOCKED_MIN_FLOPS: usize = 4096;

#[allow(clippy::too_many_arguments)]
fn check_bounds<E>(
    m: usize,
    k: usize,
    n: usize,
    a: &[E],
    a_strides: [usize; 2],
    b: &[E],
    b_strides: [usize; 2],
    c: &[E],
    c_row_stride: usize,
) {
    let last = |rows: usize, cols: usize, s: [usize; 2]| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * s[0] + (cols - 1) * s[1] + 1
        }
    };
    assert!(
        a.len() >= last(m, k, a_strides),
        "gemm: lhs slice too short"
    );
    assert!(
        b.len() >= last(k, n, b_strides),
        "gemm: rhs slice too short"
    );
    assert!(
        c.len() >= last(m, n, [c_row_stride, 1]),
        "gemm: output slice too short"
    );
}

/// Computes the product with a plain triple loop, whatever its size.
///
/// Public so that `benches/gemm.rs` can time it against the blocked kernels;
/// callers get the routed [`gemm_f32`] and [`gemm_f64`] through `Float::gemm`.
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

macro_rules! gemm_entry {
    ($name:ident, $t:ty, $blocked:ident) => {
        /// Computes `c = alpha * a · b + beta * c`, routed by size to the plain
        /// loop or the blocked kernel.
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
            #[cfg(feature = "alloc")]
            if m * k * n >= BLOCKED_MIN_FLOPS {
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
}
