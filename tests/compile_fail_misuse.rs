//! The misuse catalog: each PyTorch mistake that the types can see fails to
//! compile here, with the message committed beside the case.
//! `docs/compile-time-guarantees.md` lists the rows, and
//! `tests/misuse_twins.rs` contains the correct code for each.

#[test]
fn misuse_does_not_compile() {
    let cases = trybuild::TestCases::new();
    // A pass case makes trybuild build the cases instead of only checking
    // them; the row 14 check is reported only by a build.
    cases.pass("tests/ui/misuse/pass/*.rs");
    cases.compile_fail("tests/ui/misuse/*.rs");
}
