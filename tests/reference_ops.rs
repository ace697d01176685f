//! Primitive ops against PyTorch: forward values and VJP gradients in f64.
//!
//! Every case comes from `tests/reference/ops.json`, which
//! `tests/reference/generate.py` writes with torch. Each test rebuilds the
//! case's inputs, runs the op's VJP form, feeds the stored cotangent to the
//! pullbacks and compares output and gradients with a relative tolerance of
//! 1e-10 (see `reference::RTOL`).
//!
//! All shapes here are `Dyn`, because the reference shapes are known only
//! when the JSON is read.

mod reference;

use autograd::{AddVjp, DivVjp, Dyn, MatMul, MulVjp, NegVjp, Rank0, Rank1, Rank2, Shape, SubVjp, Tensor};
use reference::{assert_close, op_case, Json, RefTensor};

type Scalar = Tensor<Rank0, f64>;
type Vector = Tensor<Rank1<Dyn>, f64>;
type Matrix = Tensor<Rank2<Dyn, Dyn>, f64>;

/// A value that a reference tensor converts into and out of: a tensor of
/// any shape, or a plain `f64` for the scalar operand of `x * s`.
trait Value: Sized {
    fn from_reference(reference: &RefTensor) -> Self;
    fn values(&self) -> Vec<f64>;
}

impl<S: Shape> Value for Tensor<S, f64> {
    #[track_caller]
    fn from_reference(reference: &RefTensor) -> Self {
        let shape = S::from_dims(&reference.shape)
            .unwrap_or_else(|| panic!("reference shape {:?} does not fit {}", reference.shape, std::any::type_name::<S>()));
        Tensor::from_slice_with_shape(shape, &reference.data).expect("the reference shape matches its data")
    }

    fn values(&self) -> Vec<f64> {
        self.as_slice().to_vec()
    }
}

impl Value for f64 {
    #[track_caller]
    fn from_reference(reference: &RefTensor) -> Self {
        reference.item()
    }

    fn values(&self) -> Vec<f64> {
        vec![*self]
    }
}

/// Checks a one-input case: `run(x, cotangent)` returns the output and the
/// gradient of `x`.
#[track_caller]
fn check_unary<X: Value, Y: Value>(name: &str, run: impl FnOnce(&X, Y) -> (Y, X)) {
    let case = op_case(name);
    assert_eq!(case.inputs.len(), 1, "{name}: expected one input");

    let x = X::from_reference(&case.inputs[0]);
    let (output, grad) = run(&x, Y::from_reference(&case.cotangent));

    assert_close(&format!("{name} output"), &output.values(), &case.output);
    assert_close(&format!("{name} grad of input 0"), &grad.values(), &case.grads[0]);
}

/// Checks a two-input case: `run(a, b, cotangent)` returns the output and
/// the gradients of `a` and `b`.
#[track_caller]
fn check_binary<A: Value, B: Value, Y: Value>(name: &str, run: impl FnOnce(&A, &B, Y) -> (Y, A, B)) {
    let case = op_case(name);
    assert_eq!(case.inputs.len(), 2, "{name}: expected two inputs");

    let a = A::from_reference(&case.inputs[0]);
    let b = B::from_reference(&case.inputs[1]);
    let (output, grad_a, grad_b) = run(&a, &b, Y::from_reference(&case.cotangent));

    assert_close(&format!("{name} output"), &output.values(), &case.output);
    assert_close(&format!("{name} grad of input 0"), &grad_a.values(), &case.grads[0]);
    assert_close(&format!("{name} grad of input 1"), &grad_b.values(), &case.grads[1]);
}

/// Checks a one-input elementwise case whatever its reference shape: the
/// input and the cotangent are read as flat vectors, since an elementwise
/// op does not depend on the shape. `run(x, params, cotangent)` returns the
/// output and the gradient of `x`.
#[track_caller]
fn check_elementwise(name: &str, run: impl FnOnce(&Vector, &Json, Vector) -> (Vector, Vector)) {
    let case = op_case(name);
    assert_eq!(case.inputs.len(), 1, "{name}: expected one input");

    let x = flat(&case.inputs[0]);
    let (output, grad) = run(&x, &case.params, flat(&case.cotangent));

    assert_close(&format!("{name} output"), output.as_slice(), &case.output);
    assert_close(&format!("{name} grad of input 0"), grad.as_slice(), &case.grads[0]);
}

/// Copies a reference tensor into a vector, whatever its shape.
fn flat(reference: &RefTensor) -> Vector {
    Tensor::from_slice_with_shape(Rank1(Dyn(reference.data.len())), &reference.data).expect("length matches")
}

// --- arithmetic ---------------------------------------------------------------

#[test]
fn neg_matches_torch() {
    check_unary("neg", |x: &Matrix, dy: Matrix| {
        let (y, (pullback,)) = x.neg_vjp();
        assert_eq!(-x, y, "-x and neg_vjp disagree");
        (y, pullback(dy))
    });
}

/// The four operators on two tensors, on a tensor and a scalar, and on a
/// scalar and a tensor.
macro_rules! binary_operator_tests {
    ($($op:ident: $trait_method:ident, $tensor_tensor:ident, $tensor_scalar:ident, $scalar_tensor:ident;)*) => {$(
        #[test]
        fn $tensor_tensor() {
            check_binary(stringify!($op), |a: &Matrix, b: &Matrix, dy: Matrix| {
                let (y, (pullback_a, pullback_b)) = a.$trait_method(b);
                (y, pullback_a(dy.clone()), pullback_b(dy))
            });
        }

        #[test]
        fn $tensor_scalar() {
            check_binary(concat!(stringify!($op), "_tensor_scalar"), |x: &Matrix, s: &f64, dy: Matrix| {
                let (y, (pullback_x, pullback_s)) = x.$trait_method(s);
                (y, pullback_x(dy.clone()), pullback_s(dy))
            });
        }

        #[test]
        fn $scalar_tensor() {
            check_binary(concat!(stringify!($op), "_scalar_tensor"), |s: &f64, x: &Matrix, dy: Matrix| {
                let (y, (pullback_s, pullback_x)) = s.$trait_method(x);
                (y, pullback_s(dy.clone()), pullback_x(dy))
            });
        }
    )*};
}

binary_operator_tests! {
    add: add_vjp, add_matches_torch, add_tensor_scalar_matches_torch, add_scalar_tensor_matches_torch;
    sub: sub_vjp, sub_matches_torch, sub_tensor_scalar_matches_torch, sub_scalar_tensor_matches_torch;
    mul: mul_vjp, mul_matches_torch, mul_tensor_scalar_matches_torch, mul_scalar_tensor_matches_torch;
    div: div_vjp, div_matches_torch, div_tensor_scalar_matches_torch, div_scalar_tensor_matches_torch;
}

// --- elementwise unary ----------------------------------------------------------

/// One test per elementwise case: `test: "case", forward, vjp` and then the
/// op's arguments as `"param" as conversion`, read from the case's params.
/// Each test also checks that the forward method and the VJP form agree.
macro_rules! elementwise_tests {
    ($($test:ident: $case:literal, $forward:ident, $vjp:ident $(, $param:literal as $convert:ident)*;)*) => {$(
        #[test]
        fn $test() {
            check_elementwise($case, |x: &Vector, params: &Json, dy: Vector| {
                let _ = params;
                let (y, pullbacks) = x.$vjp($(params.field($param).$convert()),*);
                let forward = x.$forward($(params.field($param).$convert()),*);
                assert_eq!(forward, y, concat!(stringify!($forward), " and ", stringify!($vjp), " disagree"));
                (y, (pullbacks.0)(dy))
            });
        }
    )*};
}

elementwise_tests! {
    exp_matches_torch: "exp", exp, exp_vjp;
    ln_matches_torch: "ln", ln, ln_vjp;
    log1p_matches_torch: "log1p", log1p, log1p_vjp;
    log1p_small_inputs_match_torch: "log1p_small", log1p, log1p_vjp;
    sqrt_matches_torch: "sqrt", sqrt, sqrt_vjp;
    square_matches_torch: "square", square, square_vjp;
    abs_matches_torch: "abs", abs, abs_vjp;
    abs_at_zero_matches_torch: "abs_at_zero", abs, abs_vjp;
    sin_matches_torch: "sin", sin, sin_vjp;
    cos_matches_torch: "cos", cos, cos_vjp;
    tanh_matches_torch: "tanh", tanh, tanh_vjp;
    tanh_saturated_matches_torch: "tanh_saturated", tanh, tanh_vjp;
    sigmoid_matches_torch: "sigmoid", sigmoid, sigmoid_vjp;
    sigmoid_saturated_matches_torch: "sigmoid_saturated", sigmoid, sigmoid_vjp;
    powf_2_5_matches_torch: "powf_2_5", powf, powf_vjp, "exponent" as as_f64;
    powf_negative_half_matches_torch: "powf_neg0_5", powf, powf_vjp, "exponent" as as_f64;
    powf_half_matches_torch: "powf_0_5", powf, powf_vjp, "exponent" as as_f64;
    powf_at_zero_matches_torch: "powf_at_zero", powf, powf_vjp, "exponent" as as_f64;
    powi_3_matches_torch: "powi_3", powi, powi_vjp, "exponent" as as_i32;
    powi_2_matches_torch: "powi_2", powi, powi_vjp, "exponent" as as_i32;
    powi_negative_2_matches_torch: "powi_neg2", powi, powi_vjp, "exponent" as as_i32;
    powi_0_matches_torch: "powi_0", powi, powi_vjp, "exponent" as as_i32;
    powi_1_matches_torch: "powi_1", powi, powi_vjp, "exponent" as as_i32;
    relu_matches_torch: "relu", relu, relu_vjp;
    relu_at_zero_matches_torch: "relu_at_zero", relu, relu_vjp;
    leaky_relu_matches_torch: "leaky_relu", leaky_relu, leaky_relu_vjp, "negative_slope" as as_f64;
    leaky_relu_slope_0_2_matches_torch: "leaky_relu_0_2", leaky_relu, leaky_relu_vjp, "negative_slope" as as_f64;
    leaky_relu_at_zero_matches_torch: "leaky_relu_at_zero", leaky_relu, leaky_relu_vjp, "negative_slope" as as_f64;
    elu_matches_torch: "elu", elu, elu_vjp, "alpha" as as_f64;
    elu_alpha_0_5_matches_torch: "elu_alpha_0_5", elu, elu_vjp, "alpha" as as_f64;
    silu_matches_torch: "silu", silu, silu_vjp;
    softplus_matches_torch: "softplus", softplus, softplus_vjp;
    softplus_beyond_threshold_matches_torch: "softplus_beyond_threshold", softplus, softplus_vjp;
    gelu_matches_torch: "gelu", gelu, gelu_vjp;
    gelu_tanh_matches_torch: "gelu_tanh", gelu_tanh, gelu_tanh_vjp;
    clamp_matches_torch: "clamp", clamp, clamp_vjp, "min" as as_f64, "max" as as_f64;
}

// NOTE: `clamp_vjp` passes the cotangent of an input that sits exactly on
// a bound, while torch 2.15 with scalar bounds gives it 0 (its mask is
// min < x < max). Remove the `ignore` once the two agree.
#[test]
#[ignore = "clamp_vjp passes the cotangent at a bound, torch 2.15 gives 0 there"]
fn clamp_at_bounds_matches_torch() {
    check_elementwise("clamp_at_bounds", |x: &Vector, params: &Json, dy: Vector| {
        let (min, max) = (params.field("min").as_f64(), params.field("max").as_f64());
        let (y, (pullback, _, _)) = x.clamp_vjp(min, max);
        (y, pullback(dy))
    });
}

/// `softplus` takes no `beta`, so the case `softplus_beta_2` has no Rust
/// counterpart; this pins the defaults the Rust op assumes.
#[test]
fn softplus_cases_use_default_beta_and_threshold() {
    for name in ["softplus", "softplus_beyond_threshold"] {
        let params = &op_case(name).params;
        assert_eq!(params.field("beta").as_f64(), 1.0, "{name}: beta");
        assert_eq!(params.field("threshold").as_f64(), 20.0, "{name}: threshold");
    }
}

// --- elementwise binary ---------------------------------------------------------

macro_rules! maximum_minimum_tests {
    ($($test:ident: $case:literal, $vjp:ident;)*) => {$(
        #[test]
        fn $test() {
            check_binary($case, |a: &Matrix, b: &Matrix, dy: Matrix| {
                let (y, (pullback_a, pullback_b)) = a.$vjp(b);
                (y, pullback_a(dy.clone()), pullback_b(dy))
            });
        }
    )*};
}

maximum_minimum_tests! {
    maximum_matches_torch: "maximum", maximum_vjp;
    maximum_ties_match_torch: "maximum_ties", maximum_vjp;
    minimum_matches_torch: "minimum", minimum_vjp;
    minimum_ties_match_torch: "minimum_ties", minimum_vjp;
}

// --- reductions -----------------------------------------------------------------

/// One test per full reduction: `test: "case", input type, vjp` and then
/// the op's arguments.
macro_rules! full_reduction_tests {
    ($($test:ident: $case:literal, $input:ty, $vjp:ident($($arg:expr),*);)*) => {$(
        #[test]
        fn $test() {
            check_unary($case, |x: &$input, dy: Scalar| {
                let (y, pullbacks) = x.$vjp($($arg),*);
                (y, (pullbacks.0)(dy))
            });
        }
    )*};
}

full_reduction_tests! {
    sum_matches_torch: "sum", Matrix, sum_vjp();
    mean_matches_torch: "mean", Matrix, mean_vjp();
    var_biased_matches_torch: "var_biased", Matrix, var_vjp(false);
    var_unbiased_matches_torch: "var_unbiased", Matrix, var_vjp(true);
    max_matches_torch: "max", Matrix, max_vjp();
    max_ties_split_like_torch: "max_ties", Matrix, max_vjp();
    min_matches_torch: "min", Matrix, min_vjp();
    min_ties_split_like_torch: "min_ties", Matrix, min_vjp();
    logsumexp_matches_torch: "logsumexp", Matrix, logsumexp_vjp();
    logsumexp_large_matches_torch: "logsumexp_large", Matrix, logsumexp_vjp();
    norm_matches_torch: "norm", Matrix, norm_vjp();
    norm_of_zero_matches_torch: "norm_zero", Vector, norm_vjp();
}

#[test]
fn var_cases_record_their_correction() {
    assert_eq!(op_case("var_biased").params.field("correction").as_usize(), 0, "var_biased correction");
    assert_eq!(op_case("var_unbiased").params.field("correction").as_usize(), 1, "var_unbiased correction");
}

/// One test per reduction along an axis of a matrix: `test: "case", vjp, AXIS`.
macro_rules! axis_reduction_tests {
    ($($test:ident: $case:literal, $vjp:ident, $axis:literal;)*) => {$(
        #[test]
        fn $test() {
            assert_eq!(op_case($case).params.field("dim").as_usize(), $axis, concat!($case, " dim"));
            check_unary($case, |x: &Matrix, dy: Vector| {
                let (y, (pullback,)) = x.$vjp::<$axis>();
                (y, pullback(dy))
            });
        }
    )*};
}

axis_reduction_tests! {
    sum_axis_0_matches_torch: "sum_dim0", sum_axis_vjp, 0;
    sum_axis_1_matches_torch: "sum_dim1", sum_axis_vjp, 1;
    mean_axis_0_matches_torch: "mean_dim0", mean_axis_vjp, 0;
    mean_axis_1_matches_torch: "mean_dim1", mean_axis_vjp, 1;
    logsumexp_axis_1_matches_torch: "logsumexp_dim1", logsumexp_axis_vjp, 1;
    logsumexp_axis_1_large_matches_torch: "logsumexp_dim1_large", logsumexp_axis_vjp, 1;
}

// --- softmax --------------------------------------------------------------------

/// One test per softmax case: `test: "case", input type, vjp` with an
/// optional `::<AXIS>`.
macro_rules! softmax_tests {
    ($($test:ident: $case:literal, $input:ty, $vjp:ident $(::<$axis:literal>)?;)*) => {$(
        #[test]
        fn $test() {
            check_unary($case, |x: &$input, dy: $input| {
                let (y, (pullback,)) = x.$vjp$(::<$axis>)?();
                (y, pullback(dy))
            });
        }
    )*};
}

softmax_tests! {
    softmax_vector_matches_torch: "softmax_vector", Vector, softmax_vjp;
    softmax_whole_matrix_matches_torch: "softmax", Matrix, softmax_vjp;
    softmax_axis_1_matches_torch: "softmax_dim1", Matrix, softmax_axis_vjp::<1>;
    softmax_large_matches_torch: "softmax_large", Matrix, softmax_vjp;
    softmax_axis_1_large_matches_torch: "softmax_dim1_large", Matrix, softmax_axis_vjp::<1>;
    log_softmax_vector_matches_torch: "log_softmax_vector", Vector, log_softmax_vjp;
    log_softmax_whole_matrix_matches_torch: "log_softmax", Matrix, log_softmax_vjp;
    log_softmax_axis_1_matches_torch: "log_softmax_dim1", Matrix, log_softmax_axis_vjp::<1>;
    log_softmax_large_matches_torch: "log_softmax_large", Matrix, log_softmax_vjp;
    log_softmax_axis_1_large_matches_torch: "log_softmax_dim1_large", Matrix, log_softmax_axis_vjp::<1>;
}

// --- linear algebra -------------------------------------------------------------

#[test]
fn matmul_matrix_matrix_matches_torch() {
    check_binary("matmul", |a: &Matrix, b: &Matrix, dy: Matrix| {
        let (y, (pullback_a, pullback_b)) = a.matmul_vjp(b);
        (y, pullback_a(dy.clone()), pullback_b(dy))
    });
}

#[test]
fn matmul_matrix_vector_matches_torch() {
    check_binary("matmul_mat_vec", |a: &Matrix, v: &Vector, dy: Vector| {
        let (y, (pullback_a, pullback_v)) = a.matmul_vjp(v);
        (y, pullback_a(dy.clone()), pullback_v(dy))
    });
}

#[test]
fn matmul_vector_matrix_matches_torch() {
    check_binary("matmul_vec_mat", |v: &Vector, b: &Matrix, dy: Vector| {
        let (y, (pullback_v, pullback_b)) = v.matmul_vjp(b);
        (y, pullback_v(dy.clone()), pullback_b(dy))
    });
}

#[test]
fn dot_matches_torch() {
    check_binary("dot", |a: &Vector, b: &Vector, dy: Scalar| {
        let (y, (pullback_a, pullback_b)) = a.dot_vjp(b);
        (y, pullback_a(dy.clone()), pullback_b(dy))
    });
}

#[test]
fn outer_matches_torch() {
    check_binary("outer", |a: &Vector, b: &Vector, dy: Matrix| {
        let (y, (pullback_a, pullback_b)) = a.outer_vjp(b);
        (y, pullback_a(dy.clone()), pullback_b(dy))
    });
}

#[test]
fn transpose_matches_torch() {
    check_unary("transpose", |x: &Matrix, dy: Matrix| {
        let (y, (pullback,)) = x.t_vjp();
        (y, pullback(dy))
    });
}

/// `select_per_row` is `gather(1, index)` for an index of one column, with
/// the output as `[N]` where torch keeps `[N, 1]`: the elements agree.
#[test]
fn select_per_row_matches_torch_gather() {
    let case = op_case("gather");
    assert_eq!(case.params.field("dim").as_usize(), 1, "gather dim");
    let classes: Vec<usize> = case
        .params
        .field("index")
        .as_array()
        .iter()
        .map(|row| {
            assert_eq!(row.as_array().len(), 1, "one index per row");
            row.as_array()[0].as_usize()
        })
        .collect();

    let logits = Matrix::from_reference(&case.inputs[0]);
    let (y, (pullback, _)) = logits.select_per_row_vjp(&classes);
    let grad = pullback(flat(&case.cotangent));

    assert_close("gather output", y.as_slice(), &case.output);
    assert_close("gather grad of input 0", grad.as_slice(), &case.grads[0]);
}

// --- the reference files themselves ---------------------------------------------

#[test]
fn reference_cases_are_well_formed() {
    let cases = reference::op_cases();
    assert!(cases.len() > 50, "ops.json has only {} cases", cases.len());
    for case in cases {
        assert_eq!(case.inputs.len(), case.grads.len(), "{}: one gradient per input", case.name);
        assert_eq!(case.output.shape, case.cotangent.shape, "{}: cotangent shaped like the output", case.name);
        for (input, grad) in case.inputs.iter().zip(&case.grads) {
            assert_eq!(input.shape, grad.shape, "{}: gradient shaped like its input", case.name);
        }
    }
}

#[test]
fn json_numbers_round_trip_exactly() {
    let parsed = reference::Json::parse("[0.1, -2.5e-300, 1e308, 5e-324, 123456789012345678]").unwrap();
    let expected = [0.1, -2.5e-300, 1e308, 5e-324, 123456789012345678.0];
    for (value, expected) in parsed.as_array().iter().zip(expected) {
        assert_eq!(value.as_f64().to_bits(), f64::to_bits(expected), "{expected:e} did not round-trip");
    }
}

#[test]
fn json_parser_rejects_truncated_input() {
    assert!(reference::Json::parse(r#"{"a": [1, 2"#).is_err(), "a truncated array must not parse");
}

#[test]
fn tolerance_rejects_relative_error_of_1e_9() {
    assert!(!reference::is_close(1.0 + 1e-9, 1.0), "a relative error of 1e-9 must fail");
    assert!(reference::is_close(1.0 + 1e-11, 1.0), "a relative error of 1e-11 must pass");
}
