//! The root package of the workspace: it holds the examples, the integration
//! and compile-fail suites and the benchmarks. Its documentation is the
//! README, so that `cargo test` compiles and runs the README's example.
#![doc = include_str!("../README.md")]
