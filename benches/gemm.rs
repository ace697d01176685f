//! Times the matrix-product kernels that `autograd/src/gemm.rs` can route to,
//! on the shapes that the training examples multiply.
//!
//! `cargo bench --bench gemm` prints two Markdown tables: GFLOP/s per kernel
//! and product, and a size sweep of the plain loop against the blocked
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

/// Which operand is stored transposed and read through swapped strides.
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

/// One product: `c[m, n] = a[m, k] · b[k, n]` with operands stored as `layout` says.
#[derive(Clone, Copy)]
struct Product {
    what: &'static str,
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
}

impl Elem for f32 {
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

/// Deterministic operands in `[-1, 1)`, stored as `p.layout` says, and a
/// zeroed output.
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

/// The median time of one call of `call`, in seconds.
fn median_seconds(mut call: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut warm_up_calls = 0u32;
    while start.elapsed() < WARM_UP {
        call();
        warm_up_calls += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / f64::from(warm_up_calls);
    let reps = (MIN_SAMPLE.as_secs_f64() / per_call).ceil().max(1.0) as u32;

    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                call();
            }
            t.elapsed().as_secs_f64() / f64::from(reps)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[SAMPLES / 2]
}

/// Times `kernel` on `p` after checking its output against the plain loop.
fn gflops<E: Elem>(p: &Product, kernel: Kernel<E>) -> f64 {
    let (a, b, mut c) = operands::<E>(p);
    let mut expected = c.clone();
    autograd_loop(p, &a, &b, &mut expected);
    kernel(p, &a, &b, &mut c);
    check_close(p, &c, &expected);

    let seconds = median_seconds(|| {
        kernel(p, black_box(&a), black_box(&b), black_box(&mut c));
    });
    p.flops() / seconds / 1e9
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

/// Times nalgebra's static-size product (`SMatrix`, column-major) on `p`.
///
/// A row-major `[r, c]` buffer read column-major is the `c × r` transpose, so
/// the row-major `c = a · b` is the column-major `cᵀ = bᵀ · aᵀ`, which needs no
/// copy; `a · bᵀ` is `cᵀ = b · aᵀ`, nalgebra's `gemm_tr`. `aᵀ · b` has no
/// copy-free form and is not timed.
fn nalgebra_static<E: Elem, const M: usize, const K: usize, const N: usize>(
    p: &Product,
) -> Option<f64> {
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

    let seconds = match p.layout {
        Layout::Nn => {
            let bt = Box::new(SMatrix::<E, N, K>::from_column_slice(&b));
            ct.gemm(E::ONE, &*bt, &*at, E::ZERO);
            check_close(p, ct.as_slice(), &expected);
            median_seconds(|| {
                black_box(&mut *ct).gemm(E::ONE, black_box(&*bt), black_box(&*at), E::ZERO)
            })
        }
        Layout::Nt => {
            let w_col_major = Box::new(SMatrix::<E, K, N>::from_column_slice(&b));
            ct.gemm_tr(E::ONE, &*w_col_major, &*at, E::ZERO);
            check_close(p, ct.as_slice(), &expected);
            median_seconds(|| {
                black_box(&mut *ct).gemm_tr(
                    E::ONE,
                    black_box(&*w_col_major),
                    black_box(&*at),
                    E::ZERO,
                )
            })
        }
        Layout::Tn => return None,
    };
    Some(p.flops() / seconds / 1e9)
}

/// The products of the training examples, each with its static-size timer.
#[allow(clippy::type_complexity)]
fn products() -> Vec<(&'static str, Product, fn(&Product) -> Option<f64>)> {
    macro_rules! product {
        ($e:ty, $what:expr, $m:literal, $k:literal, $n:literal, $layout:ident) => {
            (
                stringify!($e),
                Product {
                    what: $what,
                    m: $m,
                    k: $k,
                    n: $n,
                    layout: Layout::$layout,
                },
                nalgebra_static::<$e, $m, $k, $n> as fn(&Product) -> Option<f64>,
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
    println!("| product | m×k×n | type | SMatrix | DMatrix | matrixmultiply | gemm crate | plain loop | gemm.rs routed |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (ty, p, static_timer) in products() {
        let dynamic: Vec<f64> = if ty == "f32" {
            dynamic_kernels::<f32>()
                .into_iter()
                .map(|kernel| gflops(&p, kernel))
                .collect()
        } else {
            dynamic_kernels::<f64>()
                .into_iter()
                .map(|kernel| gflops(&p, kernel))
                .collect()
        };
        let fixed = static_timer(&p).map_or("—".to_string(), |g| format!("{g:.2}"));
        print!(
            "| {} | {}×{}×{} {} | {ty} | {fixed} |",
            p.what,
            p.m,
            p.k,
            p.n,
            p.layout.label()
        );
        for g in dynamic {
            print!(" {g:.2} |");
        }
        println!();
    }
}

/// nalgebra dynamic, matrixmultiply, gemm crate, plain loop, routed.
fn dynamic_kernels<E: Elem>() -> [Kernel<E>; 5] {
    [
        nalgebra_dynamic,
        E::matrixmultiply,
        gemm_crate,
        autograd_loop,
        autograd_routed,
    ]
}

/// Sizes around the crossover of the plain loop and the blocked kernels.
fn print_sweep() {
    let mut sizes: Vec<(usize, usize, usize)> = [2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64]
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
    ]);

    println!("| m×k×n | m·k·n | layout | plain loop | matrixmultiply | gemm crate |");
    println!("|---|---|---|---|---|---|");
    for (m, k, n) in sizes {
        for layout in [Layout::Nn, Layout::Nt] {
            let p = Product {
                what: "sweep",
                m,
                k,
                n,
                layout,
            };
            let loop_g = gflops::<f32>(&p, autograd_loop);
            let blocked = gflops::<f32>(&p, f32::matrixmultiply);
            let crate_g = gflops::<f32>(&p, gemm_crate);
            println!(
                "| {m}×{k}×{n} | {} | {} | {loop_g:.2} | {blocked:.2} | {crate_g:.2} |",
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
