//! Test support, never used by production paths: [`FakeTarget`], an in-memory remote directory
//! behind the engine's `Target` port, and [`conformance`], the checks that every `Target`
//! (the fake, and `entra` over the Graph emulator) must pass, so the fake cannot drift from
//! what the real target does.

pub mod conformance;
mod fake_target;

pub use fake_target::{FakeTarget, OperationCounts};
