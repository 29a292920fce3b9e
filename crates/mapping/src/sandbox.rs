//! The rhai engine every mapping runs in, built once per process (building one costs about
//! 0.7 ms) and shared: with rhai's `sync` feature it is `Send + Sync`.
//!
//! Rhai has no I/O functions at all; what is left to close is `eval` (it would compile code
//! behind the strict checks), modules (`import` could read files through a resolver), and
//! unbounded work and memory, which the limits below cap. `print` and `debug` go to tracing.

use std::cell::Cell;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, OptimizationLevel};

use crate::helpers;

/// Sandbox limits. The defaults let a mapping do far more than any sensible mapping needs, while
/// an endless loop is stopped in a few milliseconds. As in rhai, a count of 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Rhai operations per evaluation of one mapping (a loop iteration is a few).
    pub max_operations: u64,
    /// Nesting of function calls, recursion included.
    pub max_call_levels: usize,
    /// Nesting of expressions, at top level and inside functions.
    pub max_expr_depth: usize,
    pub max_function_expr_depth: usize,
    /// Bytes in one string.
    pub max_string_size: usize,
    /// Items in one array.
    pub max_array_size: usize,
    /// Entries in one object map.
    pub max_map_size: usize,
    /// Variables alive at once.
    pub max_variables: usize,
    /// Functions a mapping may define.
    pub max_functions: usize,
    /// Wall-clock time for one mapping on one object. The operation limit does not count the
    /// work inside helpers (a regular expression over a 64 KiB string, in a loop), so this is
    /// the backstop.
    pub max_duration: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 100_000,
            max_call_levels: 16,
            max_expr_depth: 64,
            max_function_expr_depth: 32,
            max_string_size: 64 * 1024,
            max_array_size: 4_096,
            max_map_size: 1_024,
            max_variables: 256,
            max_functions: 64,
            max_duration: Duration::from_secs(1),
        }
    }
}

/// Builds the sandboxed engine with our helpers registered.
pub(crate) fn build_engine(limits: Limits) -> Engine {
    let mut engine = Engine::new();

    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_variables(limits.max_variables)
        .set_max_functions(limits.max_functions)
        .set_max_modules(0);

    // Strictness: `user.nmae` fails instead of yielding `()` (only on a pre-compiled AST, which
    // is how we always evaluate), and an unknown variable fails at compile time.
    engine
        .set_fail_on_invalid_map_property(true)
        .set_strict_variables(true);

    // `eval` becomes a syntax error; `import` finds no module and may load none.
    engine
        .disable_symbol("eval")
        .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());

    // No string interning: mapped objects are full of one-off strings (names, emails), which
    // made the interner's eviction scan the largest cost of an evaluation; and with `sync` the
    // interner is one lock shared by every worker thread.
    engine.set_max_strings_interned(0);

    // Simple folding only: it never calls our (possibly volatile) helpers at compile time.
    engine.set_optimization_level(OptimizationLevel::Simple);

    engine.on_print(|text| tracing::info!(target: "mapping::print", message = text));
    engine.on_debug(|text, _source, position| {
        tracing::debug!(target: "mapping::debug", message = text, %position);
    });

    let message = format!(
        "took longer than the time limit of {} ms",
        limits.max_duration.as_millis()
    );
    engine.on_progress(move |operations| {
        // Reading the clock on every operation would cost more than the operation.
        if operations % DEADLINE_CHECK_EVERY != 0 {
            return None;
        }
        match DEADLINE.get() {
            Some(deadline) if Instant::now() >= deadline => Some(Dynamic::from(message.clone())),
            _ => None,
        }
    });

    helpers::register(&mut engine);
    engine
}

/// Operations between two looks at the clock.
const DEADLINE_CHECK_EVERY: u64 = 256;

thread_local! {
    /// When the evaluation running on this thread must stop. Per thread because one shared engine
    /// serves every worker, and `on_progress` gets no per-evaluation state.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Sets this thread's deadline for one evaluation; dropping it clears the deadline.
pub(crate) struct Deadline(());

impl Deadline {
    pub(crate) fn start(limit: Duration) -> Self {
        DEADLINE.set(Instant::now().checked_add(limit));
        Self(())
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        DEADLINE.set(None);
    }
}
