//! Misuses of `#[derive(Module)]` that must not compile. Each case's
//! `.stderr` beside it is the message a user sees; read it as one.

#[test]
fn derive_module_misuse_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/module/*.rs");
}
