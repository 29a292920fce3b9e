//! Test support, never used by production paths: the engine's ports in memory
//! ([`MemoryStore`] for the local ones, [`FakeTarget`] for the remote, [`InlineQueue`] for the
//! work queue), a [`Scenario`] wiring them to one provider so that whole syncs run in
//! milliseconds, and [`conformance`], the checks that every `Target` (the fake, and `entra`
//! over the Graph emulator) must pass, so the fake cannot drift from what the real target does.

pub mod conformance;
mod fake_target;
mod memory;
mod queue;
mod scenario;

pub use fake_target::{FakeTarget, OperationCounts, Write};
pub use memory::MemoryStore;
pub use queue::InlineQueue;
pub use scenario::{DOMAIN, Scenario};
