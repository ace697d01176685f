//! Examples, integration tests and benchmarks of the autograd workspace.
