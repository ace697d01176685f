//! Times the matrix-product kernels that `autograd/src/gemm.rs` can route to,
//! on the shapes that the training examples multiply.
//!
//! `cargo bench --bench gemm --features compare-kernels` prints two Markdown
//! tables: GFLOP/s per kernel and product, and a size sweep of the plain loop against the blocked
//! kernels that places `BLOCKED_MIN_FLOPS`. `-- products` or `-- sweep` prints
//! only one of them. `benches/gemm_torch.py` times `torch.mm` on the same
//! products. Every kernel runs on one thread.
//!
//! Each number is the median of `SAMPLES` samples. A sample times a loop of
//! calls that lasts at least `MIN_SAMPLE`, after `WARM_UP` of untimed calls.
//! GFLOP/s is `2·m·k·n / time`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use nalgebra::{DMatrixView, DMatrixViewMut, SMatrix};

const WARM_UP: Duration = Duration::from_millis(30);
const MIN_SAMPLE: Duration = Duration::from_millis(2);
const SAMPLES: usize = 41;

/// The storage of the operands: which one, if any, is read transposed
/// through swapped strides.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// `a` is `[m, k]`, `b` is `[k, n]`, both row-major.
    Nn,
    /// `b` is stored as `[n, k]`: `x · Wᵀ` of a Linear layer with weight `[out, in]`.
    Nt,
    /// `a` is stored as `[k, m]`: `dyᵀ · x`, the weight gradient of a Linear layer.
    Tn,
}

impl Layout {
    fn label(self) -> &'static str {
        match self {
            Layout::Nn => "a·b",
            Layout::Nt => "a·bᵀ",
            Layout::Tn => "aᵀ·b",
        }
    }
}

/// One product `c[m, n] = a[m, k] · b[k, n]`, with operands stored as
/// `layout` describes.
#[derive(Clone, Copy)]
struct Product {
    name: &'static str,
    m: usize,
    k: usize,
    n: usize,
    layout: Layout,
}

impl Product {
    fn a_strides(&self) -> [usize; 2] {
        match self.layout {
            Layout::Tn => [1, self.m],
            _ => [self.k, 1],
        }
    }

    fn b_strides(&self) -> [usize; 2] {
        match self.layout {
            Layout::Nt => [1, self.k],
            _ => [self.n, 1],
        }
    }

    fn flops(&self) -> f64 {
        2.0 * (self.m * self.k * self.n) as f64
    }
}

/// The element types, with the per-type entry points of each kernel.
trait Elem: autograd::Float + nalgebra::Scalar + nalgebra::ComplexField {
    fn matrixmultiply(p: &Product, a: &[Self], b: &[Self], c: &mut [Self]);

    /// `autograd::gemm::gemm_small_f32` or `_f64`.
    #[allow(clippy::too_many_arguments)]
    fn small(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        a_strides: [usize; 2],
        b: &[Self],
        b_strides: [usize; 2],
        beta: Self,
        c: &mut [Self],
        c_row_stride: usize,
    );
}

impl Elem for f32 {
    fn small(
        m: usize,
        k: usize,
        n: usize,
        alpha: f32,
        a: &[f32],
        a_strides: [usize; 2],
        b: &[f32],
        b_strides: [usize; 2],
        beta: f32,
        c: &mut [f32],
        c_row_stride: usize,
    ) {
        autograd::gemm::gemm_small_f32(m, k, n, alpha, a, a_strides, b, b_strides, beta, c, c_row_stride)
    }

    fn matrixmultiply(p: &Product, a: &[f32], b: &[f32], c: &mut [f32]) {
        let ([rsa, csa], [rsb, csb]) = (p.a_strides(), p.b_strides());
        // SAFETY: `a`, `b` and `c` were allocated with exactly the elements
        // these dimensions and strides reach (see `operands`).
        unsafe {
            matrixmultiply::sgemm(
                p.m,
                p.k,
                p.n,
                1.0,
                a.as_ptr(),
                rsa as isize,
                csa as isize,
                b.as_ptr(),
                rsb as isize,
                csb as isize,
                0.0,
                c.as_mut_ptr(),
                p.n as isize,
                1,
            )
        }
    }
}

impl Elem for f64 {
    fn small(
        m: usize,
        k: usize,
        n: usize,
        alpha: f64,
        a: &[f64],
        a_strides: [usize; 2],
        b: &[f64],
        b_strides: [usize; 2],
        beta: f64,
        c: &mut [f64],
        c_row_stride: usize,
    ) {
        autograd::gemm::gemm_small_f64(m, k, n, alpha, a, a_strides, b, b_strides, beta, c, c_row_stride)
    }

    fn matrixmultiply(p: &Product, a: &[f64], b: &[f64], c: &mut [f64]) {
        let ([rsa, csa], [rsb, csb]) = (p.a_strides(), p.b_strides());
        // SAFETY: as for f32.
        unsafe {
            matrixmultiply::dgemm(
                p.m,
                p.k,
                p.n,
                1.0,
                a.as_ptr(),
                rsa as isize,
                csa as isize,
                b.as_ptr(),
                rsb as isize,
                csb as isize,
                0.0,
                c.as_mut_ptr(),
                p.n as isize,
                1,
            )
        }
    }
}

/// Calls the `gemm` crate on one thread. Its convention is
/// `dst = alpha·dst + beta·lhs·rhs`, so our `1 · a · b + 0 · c` is
/// `alpha = 0, beta = 1, read_dst = false`.
fn gemm_crate<E: Elem>(p: &Product, a: &[E], b: &[E], c: &mut [E]) {
    let ([rsa, csa], [rsb, csb]) = (p.a_strides(), p.b_strides());
    // SAFETY: as in `Elem::matrixmultiply`; `gemm::gemm` panics for element
    // types other than f32, f64 and complex ones.
    unsafe {
        gemm::gemm(
            p.m,
            p.n,
            p.k,
            c.as_mut_ptr(),
            1,
            p.n as isize,
            false,
            a.as_ptr(),
            csa as isize,
            rsa as isize,
            b.as_ptr(),
            csb as isize,
            rsb as isize,
            E::ZERO,
            E::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// nalgebra's dynamic-size product over views of the same slices. Above 5
/// in every dimension it calls `matrixmultiply`; below, it loops over columns.
///
/// The views are column-major, so the row-major `c = a · b` is computed as
/// `cᵀ = bᵀ · aᵀ`, where every operand is a contiguous view. `a · bᵀ` is
/// `cᵀ = W · aᵀ` with `W` the `[n, k]` buffer: a strided view for
/// `matrixmultiply`, and `gemm_tr` (a loop of dot products) for small sizes.
///
/// NOTE: nalgebra 0.33.3's column loop reads and writes out of bounds on a
/// view whose row stride is not 1 (`axcpy_uninit` counts the elements of
/// the view's bounding slice, not its rows), so no strided view may reach it.
fn nalgebra_dynamic<E: Elem>(p: &Product, a: &[E], b: &[E], c: &mut [E]) {
    let Product { m, k, n, .. } = *p;
    let mut ct = DMatrixViewMut::from_slice_with_strides_mut(c, n, m, 1, n);
    let small = m.min(k).min(n) <= 5;
    match p.layout {
        Layout::Nn => {
            let at = DMatrixView::from_slice_with_strides(a, k, m, 1, k);
            let bt = DMatrixView::from_slice_with_strides(b, n, k, 1, n);
            ct.gemm(E::ONE, &bt, &at, E::ZERO);
        }
        Layout::Nt if small => {
            let at = DMatrixView::from_slice_with_strides(a, k, m, 1, k);
            let w_col_major = DMatrixView::from_slice_with_strides(b, k, n, 1, k);
            ct.gemm_tr(E::ONE, &w_col_major, &at, E::ZERO);
        }
        Layout::Nt => {
            let at = DMatrixView::from_slice_with_strides(a, k, m, 1, k);
            let w = DMatrixView::from_slice_with_strides(b, n, k, k, 1);
            ct.gemm(E::ONE, &w, &at, E::ZERO);
        }
        Layout::Tn => {
            assert!(
                !small,
                "aᵀ·b is timed through nalgebra only above 5 in every dimension"
            );
            let bt = DMatrixView::from_slice_with_strides(b, n, k, 1, n);
            let a_stored_t = DMatrixView::from_slice_with_strides(a, k, m, m, 1);
            ct.gemm(E::ONE, &bt, &a_stored_t, E::ZERO);
        }
    }
}

fn autograd_loop<E: Elem>(p: &Product, a: &[E], b: &[E], c: &mut [E]) {
    let n = p.n;
    autograd::gemm::gemm_loop(
        p.m,
        p.k,
        n,
        E::ONE,
        a,
        p.a_strides(),
        b,
        p.b_strides(),
        E::ZERO,
        c,
        n,
    );
}

fn autograd_small<E: Elem>(p: &Product, a: &[E], b: &[E], c: &mut [E]) {
    let n = p.n;
    E::small(
        p.m,
        p.k,
        n,
        E::ONE,
        a,
        p.a_strides(),
        b,
        p.b_strides(),
        E::ZERO,
        c,
        n,
    );
}

fn autograd_routed<E: Elem>(p: &Product, a: &[E], b: &[E], c: &mut [E]) {
    let n = p.n;
    E::gemm(
        p.m,
        p.k,
        n,
        E::ONE,
        a,
        p.a_strides(),
        b,
        p.b_strides(),
        E::ZERO,
        c,
        n,
    );
}

type Kernel<E> = fn(&Product, &[E], &[E], &mut [E]);

/// Deterministic operands in `[-1, 1)`, stored as `p.layout` describes,
/// and a zeroed output.
fn operands<E: Elem>(p: &Product) -> (Vec<E>, Vec<E>, Vec<E>) {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        <E as autograd::Float>::from_f64((state >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
    };
    let a = (0..p.m * p.k).map(|_| next()).collect();
    let b = (0..p.k * p.n).map(|_| next()).collect();
    (a, b, vec![E::ZERO; p.m * p.n])
}

/// A call of one kernel on its own operands, ready to be timed.
type Timed = Box<dyn FnMut()>;

/// Measures the GFLOP/s of each call on `p`: the median of `SAMPLES`
/// samples. The calls take turns sample by sample, so that a change in the
/// load of a shared machine hits every kernel of a row alike.
fn median_gflops(p: &Product, mut calls: Vec<Timed>) -> Vec<f64> {
    let reps: Vec<u32> = calls.iter_mut().map(calibrate).collect();

    let mut samples = vec![Vec::with_capacity(SAMPLES); calls.len()];
    for _ in 0..SAMPLES {
        for ((call, &reps), samples) in calls.iter_mut().zip(&reps).zip(&mut samples) {
            let t = Instant::now();
            for _ in 0..reps {
                call();
            }
            samples.push(t.elapsed().as_secs_f64() / f64::from(reps));
        }
    }

    samples
        .into_iter()
        .map(|mut samples| {
            samples.sort_by(f64::total_cmp);
            p.flops() / samples[SAMPLES / 2] / 1e9
        })
        .collect()
}

/// Runs `call` for `WARM_UP` and returns how many calls last `MIN_SAMPLE`.
fn calibrate(call: &mut Timed) -> u32 {
    let start = Instant::now();
    let mut warm_up_calls = 0u32;
    while start.elapsed() < WARM_UP {
        call();
        warm_up_calls += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / f64::from(warm_up_calls);
    (MIN_SAMPLE.as_secs_f64() / per_call).ceil().max(1.0) as u32
}

/// Prepares `kernel` on fresh operands after checking its output against
/// the plain loop.
fn dynamic_call<E: Elem>(p: &Product, kernel: Kernel<E>) -> Timed {
    let p = *p;
    let (a, b, mut c) = operands::<E>(&p);
    let mut expected = c.clone();
    autograd_loop(&p, &a, &b, &mut expected);
    kernel(&p, &a, &b, &mut c);
    check_close(&p, &c, &expected);

    Box::new(move || kernel(&p, black_box(&a), black_box(&b), black_box(&mut c)))
}

fn check_close<E: Elem>(p: &Product, got: &[E], expected: &[E]) {
    let tolerance = E::EPSILON.to_f64() * 4.0 * p.k as f64;
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        let (g, e) = (g.to_f64(), e.to_f64());
        assert!(
            (g - e).abs() <= tolerance * (1.0 + e.abs()),
            "{}x{}x{} {}: element {i} is {g}, the plain loop gives {e}",
            p.m,
            p.k,
            p.n,
            p.layout.label()
        );
    }
}

/// Prepares nalgebra's static-size product (`SMatrix`, column-major) on `p`.
///
/// A row-major `[r, c]` buffer read column-major is the `c × r` transpose.
/// So the row-major `c = a · b` is the column-major `cᵀ = bᵀ · aᵀ`, which
/// needs no copy, and `a · bᵀ` is `cᵀ = b · aᵀ`, nalgebra's `gemm_tr`.
/// `aᵀ · b` has no copy-free form and returns `None`.
fn nalgebra_static<E: Elem, const M: usize, const K: usize, const N: usize>(
    p: &Product,
) -> Option<Timed> {
    assert_eq!(
        (p.m, p.k, p.n),
        (M, K, N),
        "static sizes differ from the product's"
    );
    let (a, b, c) = operands::<E>(p);
    let at = Box::new(SMatrix::<E, K, M>::from_column_slice(&a));
    let mut ct = Box::new(SMatrix::<E, N, M>::from_column_slice(&c));
    let mut expected = c.clone();
    autograd_loop(p, &a, &b, &mut expected);

    match p.layout {
        Layout::Nn => {
            let bt = Box::new(SMatrix::<E, N, K>::from_column_slice(&b));
            ct.gemm(E::ONE, &*bt, &*at, E::ZERO);
            check_close(p, ct.as_slice(), &expected);
            Some(Box::new(move || {
                black_box(&mut *ct).gemm(E::ONE, black_box(&*bt), black_box(&*at), E::ZERO)
            }))
        }
        Layout::Nt => {
            let w_col_major = Box::new(SMatrix::<E, K, N>::from_column_slice(&b));
            ct.gemm_tr(E::ONE, &*w_col_major, &*at, E::ZERO);
            check_close(p, ct.as_slice(), &expected);
            Some(Box::new(move || {
                black_box(&mut *ct).gemm_tr(
                    E::ONE,
                    black_box(&*w_col_major),
                    black_box(&*at),
                    E::ZERO,
                )
            }))
        }
        Layout::Tn => None,
    }
}

/// Lists the products of the training examples, each with the constructor
/// of its static-size call.
#[allow(clippy::type_complexity)]
fn products() -> Vec<(&'static str, Product, fn(&Product) -> Option<Timed>)> {
    macro_rules! product {
        ($e:ty, $name:expr, $m:literal, $k:literal, $n:literal, $layout:ident) => {
            (
                stringify!($e),
                Product {
                    name: $name,
                    m: $m,
                    k: $k,
                    n: $n,
                    layout: Layout::$layout,
                },
                nalgebra_static::<$e, $m, $k, $n> as fn(&Product) -> Option<Timed>,
            )
        };
    }
    vec![
        product!(f32, "outer product", 5, 1, 5, Nn),
        product!(f32, "Iris layer 1 forward, x·Wᵀ", 150, 4, 16, Nt),
        product!(f32, "Iris layer 1, plain", 150, 4, 16, Nn),
        product!(f32, "Iris layer 2 forward, h·Wᵀ", 150, 16, 3, Nt),
        product!(f32, "Iris layer 2, plain", 150, 16, 3, Nn),
        product!(f32, "MLP head forward, h·Wᵀ", 64, 32, 10, Nt),
        product!(f32, "MLP head, plain", 64, 32, 10, Nn),
        product!(f32, "MNIST layer 1 forward, x·Wᵀ", 64, 784, 128, Nt),
        product!(f32, "MNIST layer 1, plain", 64, 784, 128, Nn),
        product!(f32, "MNIST layer 1 input grad, dy·W", 64, 128, 784, Nn),
        product!(f32, "MNIST layer 1 weight grad, dyᵀ·x", 128, 64, 784, Tn),
        product!(f32, "square", 128, 128, 128, Nn),
        product!(f64, "MNIST layer 1 forward, x·Wᵀ", 64, 784, 128, Nt),
        product!(f64, "square", 128, 128, 128, Nn),
    ]
}

fn print_products() {
    println!(
        "| product | m×k×n | type | SMatrix | DMatrix | matrixmultiply | gemm crate | plain loop | small kernel | gemm.rs routed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (ty, p, static_call) in products() {
        let mut calls: Vec<Timed> = static_call(&p).into_iter().collect();
        let has_static = !calls.is_empty();
        if ty == "f32" {
            calls.extend(dynamic_kernels::<f32>().map(|kernel| dynamic_call(&p, kernel)));
        } else {
            calls.extend(dynamic_kernels::<f64>().map(|kernel| dynamic_call(&p, kernel)));
        }
        let gflops = median_gflops(&p, calls);

        let (m, k, n, layout) = (p.m, p.k, p.n, p.layout.label());
        print!("| {} | {m}×{k}×{n} {layout} | {ty} |", p.name);
        if !has_static {
            print!(" — |");
        }
        for g in gflops {
            print!(" {g:.2} |");
        }
        println!();
    }
}

/// Lists the kernels of the table after `SMatrix`, in column order.
fn dynamic_kernels<E: Elem>() -> [Kernel<E>; 6] {
    [
        nalgebra_dynamic,
        E::matrixmultiply,
        gemm_crate,
        autograd_loop,
        autograd_small,
        autograd_routed,
    ]
}

/// Sizes around the crossover of the plain loop and the blocked kernels.
fn print_sweep() {
    let mut sizes: Vec<(usize, usize, usize)> = [
        2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 20, 24, 32, 48, 64,
    ]
    .iter()
    .map(|&s| (s, s, s))
    .collect();
    sizes.extend([
        (64, 8, 8),
        (8, 64, 8),
        (64, 4, 64),
        (32, 32, 4),
        (4, 32, 32),
        (150, 4, 3),
        (150, 8, 16),
        // The products of the training steps that stay below the blocked
        // kernel: Iris 4-16-3 and the 784-128-10 head.
        (150, 4, 16),
        (150, 16, 3),
        (3, 150, 16),
        (150, 3, 16),
        (16, 150, 4),
        (64, 128, 10),
        (10, 64, 128),
        (64, 10, 128),
        (96, 96, 96),
        (128, 128, 128),
    ]);

    println!("| m×k×n | m·k·n | layout | plain loop | small kernel | matrixmultiply | gemm crate |");
    println!("|---|---|---|---|---|---|---|");
    for (m, k, n) in sizes {
        for layout in [Layout::Nn, Layout::Nt, Layout::Tn] {
            let p = Product {
                name: "sweep",
                m,
                k,
                n,
                layout,
            };
            let calls = [autograd_loop, autograd_small, f32::matrixmultiply, gemm_crate]
                .map(|kernel| dynamic_call::<f32>(&p, kernel));
            let [loop_g, small_g, blocked, crate_g] = median_gflops(&p, calls.into()).try_into().unwrap();
            println!(
                "| {m}×{k}×{n} | {} | {} | {loop_g:.2} | {small_g:.2} | {blocked:.2} | {crate_g:.2} |",
                m * k * n,
                layout.label()
            );
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument names a table.
    let tables: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| tables.is_empty() || tables.iter().any(|t| t == name);
    println!(
        "warm-up {} ms, median of {SAMPLES} samples of at least {} ms, f32 unless noted, GFLOP/s\n",
        WARM_UP.as_millis(),
        MIN_SAMPLE.as_millis()
    );
    if wants("products") {
        print_products();
        println!();
    }
    if wants("sweep") {
        print_sweep();
    }
}
