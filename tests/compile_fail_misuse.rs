//! The misuse catalog: each PyTorch mistake that the types can see fails to
//! compile here, with the message committed beside the case.

#[test]
fn misuse_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/misuse/*.rs");
}
