//! A kernel for products too small to pay for packing.
//!
//! `matrixmultiply` copies both operands into panels and runs an 8×8 (f32)
//! micro-kernel, so a product with 3 or 4 columns wastes most of its lanes
//! and spends more time packing than multiplying. This kernel reads the
//! operands where they are:
//!
//! - **broadcast**: when the rows of `b` are contiguous, a block of up to 4
//!   rows of `c` by 16 (f32), 8, 4 or 1 columns stays in accumulators while
//!   `p` runs over the inner dimension. Each step broadcasts one element of
//!   `a` per row and multiplies it into a row segment of `b`. When the
//!   columns of `a` are contiguous instead (and give wider vectors), the
//!   same loop computes `cᵀ = bᵀ · aᵀ`.
//! - **dot**: when the rows of `a` and the columns of `b` are contiguous
//!   (`x · Wᵀ`) and the width of `c` is not a multiple of 4, each element
//!   is a dot product over eight lanes.
//! - Otherwise `b` is copied into a row-major buffer (on the stack up to
//!   [`PACK_MAX`] elements) and the broadcast loop runs on the copy.
//!
//! The loops are written over fixed-size arrays so that LLVM vectorises them:
//! SSE2 in a baseline x86-64 build, and AVX2 with fused multiply-adds when
//! the `std` feature can detect them at run time. The f32 dot loop uses
//! AVX2 intrinsics (see [`avx2`]).

use core::mem::MaybeUninit;

use crate::Float;

/// The elements the kernel runs on, with a multiply-add that is fused when
/// the caller was compiled with FMA.
pub(crate) trait Element: Float {
    /// `self * b + c`, in one rounding when `FUSED` (only set inside a
    /// function compiled with the `fma` target feature).
    fn mul_add_as<const FUSED: bool>(self, b: Self, c: Self) -> Self;

    /// [`dot`] compiled for AVX2 and FMA.
    ///
    /// # Safety
    ///
    /// As [`dot`], and the CPU must support AVX2 and FMA.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    unsafe fn dot_avx2_fma(o: Operands<Self>);

    /// Computes the block of 4 rows by 16 columns at `(i, j)` as [`block`]
    /// does, with AVX2 intrinsics, and returns whether this element type
    /// has such a kernel (f32 only).
    ///
    /// # Safety
    ///
    /// As [`block`], and the CPU must support AVX2 and FMA.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    #[inline(always)]
    unsafe fn block_4x16_avx2_fma(_o: Operands<Self>, _i: usize, _j: usize) -> bool {
        false
    }
}

macro_rules! impl_mul_add {
    () => {
        #[inline(always)]
        fn mul_add_as<const FUSED: bool>(self, b: Self, c: Self) -> Self {
            #[cfg(feature = "std")]
            if FUSED {
                return self.mul_add(b, c);
            }
            self * b + c
        }
    };
}

impl Element for f32 {
    impl_mul_add!();

    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    unsafe fn dot_avx2_fma(o: Operands<f32>) {
        // SAFETY: forwarded from the caller.
        unsafe { avx2::dot_f32(o) }
    }

    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    #[inline(always)]
    unsafe fn block_4x16_avx2_fma(o: Operands<f32>, i: usize, j: usize) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { avx2::block_4x16(o, i, j) };
        true
    }
}

impl Element for f64 {
    impl_mul_add!();

    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    unsafe fn dot_avx2_fma(o: Operands<f64>) {
        // SAFETY: forwarded from the caller.
        unsafe { dot_avx2_fma_generic(o) }
    }
}

/// `b` is copied to the stack when it has at most this many elements, and
/// to the heap (with the `alloc` feature) when it has more.
pub(crate) const PACK_MAX: usize = 2048;

/// Rows of `c` per block.
const MR: usize = 4;

/// Lanes of the dot-product kernel's partial sums.
const LANES: usize = 8;

/// Whether [`gemm_small`] can compute this product: without `alloc`, the
/// copy of `b` it may need must fit its stack buffer.
pub(crate) fn supports(k: usize, n: usize, a_strides: [usize; 2], b_strides: [usize; 2]) -> bool {
    let [rsa, csa] = a_strides;
    let [rsb, csb] = b_strides;
    csb == 1 || rsa == 1 || (csa == 1 && rsb == 1 && k >= LANES) || k * n <= PACK_MAX || cfg!(feature = "alloc")
}

/// The loop that computes a product, chosen from its layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Broadcast over the rows of `b`.
    Rows,
    /// Broadcast over the columns of `a`, computing `cᵀ = bᵀ · aᵀ`.
    Transposed,
    /// Dot products of rows of `a` with columns of `b`.
    Dot,
    /// Broadcast over a row-major copy of `b`.
    Copy,
}

/// Chooses the loop for a product of this layout.
pub(crate) fn plan(m: usize, k: usize, n: usize, a_strides: [usize; 2], b_strides: [usize; 2]) -> Plan {
    let [rsa, csa] = a_strides;
    let [rsb, csb] = b_strides;
    // The transposed product writes `c` element by element, so it has to
    // give clearly wider vectors to be chosen.
    if csb == 1 && (rsa != 1 || lane_score(n) >= lane_score(m) / 2) {
        Plan::Rows
    } else if rsa == 1 {
        Plan::Transposed
    } else if csa == 1 && rsb == 1 && k >= LANES && !n.is_multiple_of(4) {
        Plan::Dot
    } else {
        Plan::Copy
    }
}

/// Scores how well a dimension of `width` fills the vector blocks: the
/// widest block it can use, times the share of its columns in vector blocks.
fn lane_score(width: usize) -> usize {
    let widest = match width {
        16.. => 16,
        8.. => 8,
        4.. => 4,
        _ => 0,
    };
    widest * (width - width % 4) / width.max(1)
}

/// `c = alpha · a · b + beta · c` for any strides; `c` has strides
/// `[c_row_stride, 1]`. Reads `c` only when `beta` is not zero, and writes
/// every one of its `m × n` elements.
///
/// # Safety
///
/// - Every index `(rows - 1) * row_stride + (cols - 1) * col_stride` of `a`
///   (`m × k`) and `b` (`k × n`) lies inside its slice.
/// - `c` is valid for writes at every index of the `m × n` output, and for
///   reads too unless `beta` is zero. It does not overlap `a` or `b`.
/// - [`supports`] holds.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_small<E: Element>(
    m: usize,
    k: usize,
    n: usize,
    alpha: E,
    a: &[E],
    a_strides: [usize; 2],
    b: &[E],
    b_strides: [usize; 2],
    beta: E,
    c: *mut E,
    c_row_stride: usize,
) {
    let operands = Operands {
        m,
        k,
        n,
        alpha,
        a: a.as_ptr(),
        a_strides,
        b: b.as_ptr(),
        b_strides,
        beta,
        c,
        c_strides: [c_row_stride, 1],
    };
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    let fused = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
    #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
    let fused = false;
    // SAFETY: the caller upholds the bounds, and `fused` only if the CPU has
    // AVX2 and FMA.
    unsafe { run(operands, fused) }
}

/// The loops that run with the operands in place.
#[derive(Clone, Copy)]
enum Loop {
    Broadcast,
    Dot,
}

/// Runs `kernel_loop` on `o`, compiled for AVX2 and FMA when `fused`.
///
/// # Safety
///
/// As [`gemm_small`], with the preconditions of the loop, and `fused` only
/// if the CPU supports AVX2 and FMA.
unsafe fn run_loop<E: Element>(kernel_loop: Loop, o: Operands<E>, fused: bool) {
    // SAFETY: forwarded from the caller.
    unsafe {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if fused {
            match kernel_loop {
                Loop::Broadcast => broadcast_avx2_fma(o),
                Loop::Dot => E::dot_avx2_fma(o),
            }
            return;
        }
        let _ = fused;
        match kernel_loop {
            Loop::Broadcast => broadcast::<E, false>(o),
            Loop::Dot => dot::<E, false>(o),
        }
    }
}

/// [`broadcast`] compiled for AVX2 and FMA.
///
/// # Safety
///
/// As [`broadcast`], and the CPU must support AVX2 and FMA.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2,fma")]
unsafe fn broadcast_avx2_fma<E: Element>(o: Operands<E>) {
    // SAFETY: forwarded from the caller.
    unsafe { broadcast::<E, true>(o) }
}

/// [`dot`] compiled for AVX2 and FMA, for f64.
///
/// # Safety
///
/// As [`dot`], and the CPU must support AVX2 and FMA.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2_fma_generic<E: Element>(o: Operands<E>) {
    // SAFETY: forwarded from the caller.
    unsafe { dot::<E, true>(o) }
}

/// Loops written with AVX2 intrinsics, where LLVM's vectoriser picks the
/// wrong axis for the generic code.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx2 {
    use core::arch::x86_64::*;

    use super::{store, Operands};

    /// [`super::block`] for 4 rows by 16 columns of f32: the generic block
    /// kept its accumulators on the stack around the loop over `p` and
    /// reloaded them to scale and store them, 125 instructions per block
    /// besides the loop (the 4-16-3 step runs 75 such blocks with `k` of 1
    /// to 4). Here the eight accumulators stay in registers.
    ///
    /// # Safety
    ///
    /// As [`super::block`], and the CPU must support AVX2 and FMA.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn block_4x16(o: Operands<f32>, i: usize, j: usize) {
        let [rsa, csa] = o.a_strides;
        let rsb = o.b_strides[0];
        // SAFETY: `a[i..i + 4, 0..k]` and `b[0..k, j..j + 16]` lie inside
        // the operands, and `c[i..i + 4, j..j + 16]` inside `c`.
        unsafe {
            let a = o.a.add(i * rsa);
            let b = o.b.add(j);
            let mut acc = [[_mm256_setzero_ps(); 2]; 4];
            for p in 0..o.k {
                let b_row = b.add(p * rsb);
                let (b_low, b_high) = (_mm256_loadu_ps(b_row), _mm256_loadu_ps(b_row.add(8)));
                for (r, acc_row) in acc.iter_mut().enumerate() {
                    let a_rp = _mm256_broadcast_ss(&*a.add(r * rsa + p * csa));
                    acc_row[0] = _mm256_fmadd_ps(a_rp, b_low, acc_row[0]);
                    acc_row[1] = _mm256_fmadd_ps(a_rp, b_high, acc_row[1]);
                }
            }
            let [rsc, csc] = o.c_strides;
            if csc != 1 {
                let mut block = [[0.0f32; 16]; 4];
                for (out, acc_row) in block.iter_mut().zip(&acc) {
                    _mm256_storeu_ps(out.as_mut_ptr(), acc_row[0]);
                    _mm256_storeu_ps(out.as_mut_ptr().add(8), acc_row[1]);
                }
                store(o, i, j, &block);
                return;
            }
            // `alpha · acc + beta · c`, the operations of `store` in its order.
            let alpha = _mm256_set1_ps(o.alpha);
            let beta = _mm256_set1_ps(o.beta);
            for (r, acc_row) in acc.iter().enumerate() {
                let c = o.c.add((i + r) * rsc + j);
                let mut low = _mm256_mul_ps(alpha, acc_row[0]);
                let mut high = _mm256_mul_ps(alpha, acc_row[1]);
                if o.beta != 0.0 {
                    low = _mm256_add_ps(low, _mm256_mul_ps(beta, _mm256_loadu_ps(c)));
                    high = _mm256_add_ps(high, _mm256_mul_ps(beta, _mm256_loadu_ps(c.add(8))));
                }
                _mm256_storeu_ps(c, low);
                _mm256_storeu_ps(c.add(8), high);
            }
        }
    }

    /// [`super::dot`] for f32: blocks of four rows by four columns of `c`,
    /// each element with an 8-lane accumulator, the four of a row reduced
    /// together by horizontal additions.
    ///
    /// LLVM vectorised the generic loop two lanes wide (it starts from the
    /// pairwise reduction), which cost 4 times the instructions.
    ///
    /// # Safety
    ///
    /// As [`super::dot`], and the CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_f32(o: Operands<f32>) {
        let mut i = 0;
        // SAFETY: every block stays inside `m × n`.
        unsafe {
            while i + 4 <= o.m {
                dot_rows::<4>(o, i);
                i += 4;
            }
            while i < o.m {
                dot_rows::<1>(o, i);
                i += 1;
            }
        }
    }

    /// Rows `i..i + R` of `c`, in blocks of up to four columns.
    ///
    /// # Safety
    ///
    /// As [`dot_f32`], with `i + R <= m`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_rows<const R: usize>(o: Operands<f32>, i: usize) {
        let mut j = 0;
        // SAFETY: every block stays inside `m × n`.
        unsafe {
            while j + 4 <= o.n {
                dot_block::<R, 4>(o, i, j);
                j += 4;
            }
            match o.n - j {
                3 => dot_block::<R, 3>(o, i, j),
                2 => dot_block::<R, 2>(o, i, j),
                1 => dot_block::<R, 1>(o, i, j),
                _ => {}
            }
        }
    }

    /// `c[i..i + R, j..j + C]` for `C <= 4`: `R · C` accumulators sharing
    /// the loads of `a` and `b`.
    ///
    /// # Safety
    ///
    /// As [`dot_f32`], with `i + R <= m` and `j + C <= n`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_block<const R: usize, const C: usize>(o: Operands<f32>, i: usize, j: usize) {
        let (rsa, csb, k) = (o.a_strides[0], o.b_strides[1], o.k);
        let full = k - k % 8;
        // SAFETY: `a[i..i + R, 0..k]` and `b[0..k, j..j + C]` lie inside
        // the operands, and `c[i..i + R, j..j + C]` inside `c`.
        unsafe {
            let a = o.a.add(i * rsa);
            let b = o.b.add(j * csb);
            let mut acc = [[_mm256_setzero_ps(); 4]; R];
            let mut p = 0;
            while p < full {
                let mut b_chunks = [_mm256_setzero_ps(); 4];
                for (col, chunk) in b_chunks.iter_mut().enumerate().take(C) {
                    *chunk = _mm256_loadu_ps(b.add(col * csb + p));
                }
                for (r, acc_row) in acc.iter_mut().enumerate() {
                    let a_chunk = _mm256_loadu_ps(a.add(r * rsa + p));
                    for (acc_col, &b_chunk) in acc_row.iter_mut().zip(&b_chunks).take(C) {
                        *acc_col = _mm256_fmadd_ps(a_chunk, b_chunk, *acc_col);
                    }
                }
                p += 8;
            }
            let mut block = [[0.0f32; C]; R];
            for (r, (acc_row, out)) in acc.iter().zip(block.iter_mut()).enumerate() {
                // Lane l of `h` holds partial sums of column l % 4; adding
                // the two halves gives the four sums in order.
                let h = _mm256_hadd_ps(_mm256_hadd_ps(acc_row[0], acc_row[1]), _mm256_hadd_ps(acc_row[2], acc_row[3]));
                let sums = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
                let mut lanes = [0.0f32; 4];
                _mm_storeu_ps(lanes.as_mut_ptr(), sums);
                for (col, v) in out.iter_mut().enumerate() {
                    *v = lanes[col];
                    for q in full..k {
                        *v = (*a.add(r * rsa + q)).mul_add(*b.add(col * csb + q), *v);
                    }
                }
            }
            store(o, i, j, &block);
        }
    }
}

/// One product's operands as raw pointers with strides.
#[derive(Clone, Copy)]
pub(crate) struct Operands<E> {
    m: usize,
    k: usize,
    n: usize,
    alpha: E,
    a: *const E,
    a_strides: [usize; 2],
    b: *const E,
    b_strides: [usize; 2],
    beta: E,
    c: *mut E,
    c_strides: [usize; 2],
}

impl<E: Copy> Operands<E> {
    /// The product `cᵀ = bᵀ · aᵀ`, which writes the same elements.
    fn transposed(self) -> Self {
        let swap = |[r, c]: [usize; 2]| [c, r];
        Operands {
            m: self.n,
            n: self.m,
            a: self.b,
            a_strides: swap(self.b_strides),
            b: self.a,
            b_strides: swap(self.a_strides),
            c_strides: swap(self.c_strides),
            ..self
        }
    }
}

/// Plans one product, copies `b` if the plan says so, and runs the loop.
///
/// # Safety
///
/// As [`run_loop`].
unsafe fn run<E: Element>(o: Operands<E>, fused: bool) {
    let (m, k, n) = (o.m, o.k, o.n);
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY (all calls below): the caller guarantees the bounds of `o` and
    // `fused`, the transposed product touches the same elements, and each
    // plan meets its loop's precondition on the strides.
    unsafe {
        match plan(m, k, n, o.a_strides, o.b_strides) {
            Plan::Rows => run_loop(Loop::Broadcast, o, fused),
            Plan::Transposed => run_loop(Loop::Broadcast, o.transposed(), fused),
            Plan::Dot => run_loop(Loop::Dot, o, fused),
            Plan::Copy if k * n <= PACK_MAX => {
                let mut copy = [MaybeUninit::<E>::uninit(); PACK_MAX];
                run_on_copy(o, copy.as_mut_ptr().cast::<E>(), fused);
            }
            Plan::Copy => {
                #[cfg(feature = "alloc")]
                {
                    let mut copy = alloc::vec::Vec::<E>::with_capacity(k * n);
                    run_on_copy(o, copy.as_mut_ptr(), fused);
                }
                #[cfg(not(feature = "alloc"))]
                unreachable!("`supports` rejects copies beyond the stack buffer without `alloc`");
            }
        }
    }
}

/// Copies `b` into `copy` (`k × n` elements, row-major) and runs the
/// broadcast loop on the copy.
///
/// # Safety
///
/// As [`run_loop`], and `copy` must be valid for `k × n` writes.
unsafe fn run_on_copy<E: Element>(o: Operands<E>, copy: *mut E, fused: bool) {
    let (k, n) = (o.k, o.n);
    let [rsb, csb] = o.b_strides;
    // SAFETY: the reads lie inside `b`, the writes inside `copy`. The
    // writes are the contiguous side, so that they stay in few cache lines.
    unsafe {
        for p in 0..k {
            let row = o.b.add(p * rsb);
            for j in 0..n {
                copy.add(p * n + j).write(*row.add(j * csb));
            }
        }
        let on_copy = Operands {
            b: copy,
            b_strides: [n, 1],
            ..o
        };
        run_loop(Loop::Broadcast, on_copy, fused);
    }
}

/// The broadcast loop; `b` has unit column stride.
///
/// # Safety
///
/// As [`gemm_small`], with `o.b_strides[1] == 1`.
#[inline(always)]
unsafe fn broadcast<E: Element, const FUSED: bool>(o: Operands<E>) {
    let mut i = 0;
    // SAFETY: every block stays inside `m × n`.
    unsafe {
        while i + MR <= o.m {
            row_block::<E, FUSED, MR>(o, i);
            i += MR;
        }
        // The last 2 or 3 rows share their loads of `b` too: a product with
        // 3 rows, such as the weight gradient dyᵀ · h of a 3-class head,
        // would otherwise stream all of `b` three times.
        match o.m - i {
            3 => row_block::<E, FUSED, 3>(o, i),
            2 => row_block::<E, FUSED, 2>(o, i),
            1 => row_block::<E, FUSED, 1>(o, i),
            _ => {}
        }
    }
}

/// Rows `i..i + R` of `c`, in column blocks of 16 (f32 only), 8, 4 and 1.
///
/// A block of 4 rows by 16 f64 columns would need 16 vector accumulators,
/// every AVX2 register, and ran at half the speed of blocks of 8.
///
/// # Safety
///
/// As [`broadcast`], with `i + R <= m`.
#[inline(always)]
unsafe fn row_block<E: Element, const FUSED: bool, const R: usize>(o: Operands<E>, i: usize) {
    let mut j = 0;
    // SAFETY: every block stays inside `m × n`.
    unsafe {
        if core::mem::size_of::<E>() <= 4 {
            while j + 16 <= o.n {
                #[cfg(all(feature = "std", target_arch = "x86_64"))]
                if FUSED && R == MR && E::block_4x16_avx2_fma(o, i, j) {
                    j += 16;
                    continue;
                }
                block::<E, FUSED, R, 16>(o, i, j);
                j += 16;
            }
        }
        while j + 8 <= o.n {
            block::<E, FUSED, R, 8>(o, i, j);
            j += 8;
        }
        if j + 4 <= o.n {
            block::<E, FUSED, R, 4>(o, i, j);
            j += 4;
        }
        while j < o.n {
            block::<E, FUSED, R, 1>(o, i, j);
            j += 1;
        }
    }
}

/// `c[i..i + R, j..j + C] = alpha · a[i..i + R, :] · b[:, j..j + C] + beta · c[..]`
/// with the block in accumulators.
///
/// # Safety
///
/// As [`broadcast`], with `i + R <= m` and `j + C <= n`.
#[inline(always)]
unsafe fn block<E: Element, const FUSED: bool, const R: usize, const C: usize>(
    o: Operands<E>,
    i: usize,
    j: usize,
) {
    let [rsa, csa] = o.a_strides;
    let rsb = o.b_strides[0];
    let mut acc = [[E::ZERO; C]; R];
    // SAFETY: `a[i + r, p]` and `b[p, j..j + C]` lie inside the operands.
    unsafe {
        let a = o.a.add(i * rsa);
        let b = o.b.add(j);
        for p in 0..o.k {
            let b_row = b.add(p * rsb).cast::<[E; C]>().read_unaligned();
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let a_rp = *a.add(r * rsa + p * csa);
                for (v, &b_pj) in acc_row.iter_mut().zip(&b_row) {
                    *v = a_rp.mul_add_as::<FUSED>(b_pj, *v);
                }
            }
        }
    }
    // SAFETY: `c[i + r, j + col]` lies inside `c`.
    unsafe { store(o, i, j, &acc) }
}

/// Writes `alpha · acc + beta · c` into the block of `c` at `(i, j)`.
///
/// # Safety
///
/// The block must lie inside `c`.
#[inline(always)]
unsafe fn store<E: Element, const R: usize, const C: usize>(o: Operands<E>, i: usize, j: usize, acc: &[[E; C]; R]) {
    let [rsc, csc] = o.c_strides;
    for (r, acc_row) in acc.iter().enumerate() {
        // SAFETY: forwarded from the caller.
        unsafe {
            let c = o.c.add((i + r) * rsc + j * csc);
            if csc == 1 {
                let mut row = acc_row.map(|v| o.alpha * v);
                if o.beta != E::ZERO {
                    let old = c.cast::<[E; C]>().read_unaligned();
                    for (v, &x) in row.iter_mut().zip(&old) {
                        *v += o.beta * x;
                    }
                }
                c.cast::<[E; C]>().write_unaligned(row);
            } else {
                for (col, &v) in acc_row.iter().enumerate() {
                    let slot = c.add(col * csc);
                    // `c` is not read when `beta` is zero, so NaN in it does not leak.
                    *slot = if o.beta == E::ZERO {
                        o.alpha * v
                    } else {
                        o.alpha * v + o.beta * *slot
                    };
                }
            }
        }
    }
}

/// The dot-product loop: rows of `a` and columns of `b` are contiguous.
///
/// Each element of `c` is one dot product over eight lanes. Blocks of
/// several rows or columns sharing their loads were tried: LLVM then
/// vectorised across the rows instead of the lanes, with shuffles in the
/// inner loop, and ran 3 to 4 times more instructions.
///
/// # Safety
///
/// As [`gemm_small`], with `csa == 1`, `rsb == 1` and `k >= LANES`.
#[inline(always)]
unsafe fn dot<E: Element, const FUSED: bool>(o: Operands<E>) {
    let (rsa, csb, k) = (o.a_strides[0], o.b_strides[1], o.k);
    let full = k - k % LANES;
    for i in 0..o.m {
        for j in 0..o.n {
            // SAFETY: `a[i, 0..k]` and `b[0..k, j]` lie inside the operands,
            // and `c[i, j]` inside `c`.
            unsafe {
                let a = o.a.add(i * rsa);
                let b = o.b.add(j * csb);
                let mut acc = [E::ZERO; LANES];
                let mut p = 0;
                while p < full {
                    let a_chunk = a.add(p).cast::<[E; LANES]>().read_unaligned();
                    let b_chunk = b.add(p).cast::<[E; LANES]>().read_unaligned();
                    for lane in 0..LANES {
                        acc[lane] = a_chunk[lane].mul_add_as::<FUSED>(b_chunk[lane], acc[lane]);
                    }
                    p += LANES;
                }
                // Pairwise, so the lanes reduce in three vector steps.
                let mut width = LANES / 2;
                while width > 0 {
                    for lane in 0..width {
                        acc[lane] += acc[lane + width];
                    }
                    width /= 2;
                }
                let mut sum = acc[0];
                for q in full..k {
                    sum = (*a.add(q)).mul_add_as::<FUSED>(*b.add(q), sum);
                }
                store(o, i, j, &[[sum]]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strided layouts of an operand stored `rows × cols`: row-major,
    /// transposed (column-major), and row-major with padded rows.
    fn layouts(rows: usize, cols: usize) -> [([usize; 2], usize); 3] {
        let len = |s: [usize; 2]| (rows - 1) * s[0] + (cols - 1) * s[1] + 1;
        let strides = [[cols, 1], [1, rows], [cols + 3, 1]];
        strides.map(|s| (s, len(s)))
    }

    /// Checks every layout of `m × k × n` against the definition, with the
    /// kernel entry `kernel`, which gets strided slices and `c`'s row stride.
    /// A kernel entry: sizes, alpha, `a` and its strides, `b` and its
    /// strides, beta, `c` and its row stride.
    type Kernel<'a> = &'a dyn Fn(usize, usize, usize, f64, &[f64], [usize; 2], &[f64], [usize; 2], f64, &mut [f64], usize);

    fn check_sizes(kernel: Kernel<'_>) {
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 2, 2),
            (5, 1, 7),
            (4, 4, 16),
            (7, 4, 16),
            (9, 16, 3),
            (3, 150, 16),
            (6, 3, 17),
            (16, 21, 4),
            (13, 9, 29),
            (2, 40, 1),
            // A copy of b larger than the stack buffer.
            (5, 48, 48),
        ] {
            for (alpha, beta) in [(1.0, 0.0), (1.5, -0.5)] {
                for (a_strides, a_len) in layouts(m, k) {
                    for (b_strides, b_len) in layouts(k, n) {
                        for rsc in [n, n + 2] {
                            let a: Vec<f64> = (0..a_len).map(|i| (i as f64 * 0.37).sin()).collect();
                            let b: Vec<f64> = (0..b_len).map(|i| (i as f64 * 0.11).cos()).collect();
                            let c_len = (m - 1) * rsc + n;
                            let fill = if beta == 0.0 { f64::NAN } else { 0.25 };
                            let c0: Vec<f64> = (0..c_len).map(|i| fill * i as f64).collect();
                            let mut c = c0.clone();
                            kernel(m, k, n, alpha, &a, a_strides, &b, b_strides, beta, &mut c, rsc);
                            for i in 0..m {
                                for j in 0..n {
                                    let dot: f64 = (0..k)
                                        .map(|p| a[i * a_strides[0] + p * a_strides[1]] * b[p * b_strides[0] + j * b_strides[1]])
                                        .sum();
                                    let old = if beta == 0.0 { 0.0 } else { beta * c0[i * rsc + j] };
                                    let expected = alpha * dot + old;
                                    let got = c[i * rsc + j];
                                    assert!(
                                        (got - expected).abs() < 1e-12,
                                        "{m}x{k}x{n} a {a_strides:?} b {b_strides:?} c {rsc} at ({i}, {j}): {got} vs {expected}"
                                    );
                                }
                            }
                            // Elements between the rows of `c` are left alone.
                            for i in 0..m - 1 {
                                for j in n..rsc {
                                    let (got, old) = (c[i * rsc + j], c0[i * rsc + j]);
                                    assert!(got == old || (got.is_nan() && old.is_nan()), "padding of c written");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn dispatched_kernel_agrees_with_definition_in_every_layout() {
        check_sizes(&|m, k, n, alpha, a, sa, b, sb, beta, c, rsc| {
            assert!(supports(k, n, sa, sb));
            // SAFETY: `check_sizes` sizes every slice for its strides.
            unsafe { gemm_small(m, k, n, alpha, a, sa, b, sb, beta, c.as_mut_ptr(), rsc) }
        });
    }

    #[test]
    fn baseline_kernel_agrees_with_definition_in_every_layout() {
        check_sizes(&|m, k, n, alpha, a, a_strides, b, b_strides, beta, c, rsc| {
            let operands = Operands {
                m,
                k,
                n,
                alpha,
                a: a.as_ptr(),
                a_strides,
                b: b.as_ptr(),
                b_strides,
                beta,
                c: c.as_mut_ptr(),
                c_strides: [rsc, 1],
            };
            // SAFETY: as above.
            unsafe { run(operands, false) }
        });
    }

    #[test]
    fn f32_kernel_agrees_with_plain_loop() {
        for &(m, k, n) in &[(150, 4, 16), (150, 16, 3), (3, 150, 16), (150, 3, 16), (16, 150, 4), (64, 128, 10), (9, 13, 6), (7, 21, 3), (5, 8, 1)] {
            for (a_strides, a_len) in layouts(m, k) {
                for (b_strides, b_len) in layouts(k, n) {
                    let a: Vec<f32> = (0..a_len).map(|i| (i as f32 * 0.37).sin()).collect();
                    let b: Vec<f32> = (0..b_len).map(|i| (i as f32 * 0.11).cos()).collect();
                    for (alpha, beta) in [(1.0, 0.0), (1.5, -0.5)] {
                        let c0: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.23).sin()).collect();
                        let mut expected = c0.clone();
                        crate::gemm::gemm_loop(m, k, n, alpha, &a, a_strides, &b, b_strides, beta, &mut expected, n);
                        let mut c = if beta == 0.0 { vec![f32::NAN; m * n] } else { c0 };
                        // SAFETY: the slices are sized for their strides.
                        unsafe { gemm_small(m, k, n, alpha, &a, a_strides, &b, b_strides, beta, c.as_mut_ptr(), n) };
                        for (g, e) in c.iter().zip(&expected) {
                            assert!((g - e).abs() <= 1e-4 * (1.0 + e.abs()), "{m}x{k}x{n} beta {beta}: {g} vs {e}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn plan_follows_the_contiguous_operand() {
        // x · Wᵀ with 16 outputs: the copy of W is row-major.
        assert_eq!(plan(150, 4, 16, [4, 1], [1, 4]), Plan::Copy);
        // h · Wᵀ with 3 outputs: dot products over k = 16.
        assert_eq!(plan(150, 16, 3, [16, 1], [1, 16]), Plan::Dot);
        // dyᵀ · h: the rows of h give 16 lanes.
        assert_eq!(plan(3, 150, 16, [1, 3], [16, 1]), Plan::Rows);
        // dzᵀ · x with 4 inputs: the columns of dzᵀ give 16 lanes.
        assert_eq!(plan(16, 150, 4, [1, 16], [4, 1]), Plan::Transposed);
        // No operand has a unit stride.
        assert_eq!(plan(64, 64, 64, [130, 2], [2, 130]), Plan::Copy);
        assert_eq!(supports(64, 64, [130, 2], [2, 130]), cfg!(feature = "alloc"));
        assert!(supports(4, 16, [8, 2], [2, 32]));
    }
}
