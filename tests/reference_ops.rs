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
use reference::{assert_close, op_case, RefTensor};

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

#[test]
fn exp_matches_torch() {
    check_unary("exp", |x: &Matrix, dy: Matrix| {
        let (y, (pullback,)) = x.exp_vjp();
        assert_eq!(x.exp(), y, "exp and exp_vjp disagree");
        (y, pullback(dy))
    });
}

// --- reductions -----------------------------------------------------------------

#[test]
fn sum_matches_torch() {
    check_unary("sum", |x: &Matrix, dy: Scalar| {
        let (y, (pullback,)) = x.sum_vjp();
        (y, pullback(dy))
    });
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
