//! What the `tollbooth` command line shares with the tests and benchmarks: the load generator,
//! which plays signed platform deliveries against a running server. It is not the domain, so
//! it lives beside the command that drives it rather than in `tollbooth-core`.

pub mod simulation;
