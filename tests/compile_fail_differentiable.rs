//! `#[differentiable]` rejects what it cannot differentiate: each case
//! fails to compile, with the message committed beside it.

#[test]
fn unsupported_syntax_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/differentiable/*.rs");
}
