//! The trace optimizer: rewrites one recorded loop iteration (`jit/ir`) into a peeled loop
//! that the x86-64 backend compiles.
//!
//! The pipeline is a list of whole-trace passes with the IR verifier between them (in debug
//! builds), Cranelift style:
//!
//! 1. `fold`  constant folding and exact algebraic simplification (runtime semantics);
//! 2. `cse`   common-subexpression elimination, including guards and global loads;
//! 3. `guard` guards implied by earlier guards (comparison facts);
//! 4. `peel`  loop peeling by copy-substitution: pre-roll, `Loop`, `Phi`s, body;
//! 5. `range` overflow checks the guards around them prove impossible are dropped;
//! 6. `dce`   dead-code elimination and renumbering, snapshots compacted.
//!
//! Fold runs first so CSE and the guard facts see canonical operands (constants folded,
//! `NOT`s pushed into guards); CSE runs before the guard pass because facts are keyed by
//! operand identity. Peeling re-emits the body through all three again on the fly
//! (`emit.rs`), which is what makes invariant instructions and guards collapse onto their
//! pre-roll copies. Range runs on the peeled trace, whose body has its own guards to learn
//! from. DCE comes last because folding, CSE and peeling all leave orphans.
//!
//! Support modules: `emit.rs` (the streaming emitter behind fold, CSE, guard and the
//! peeled body), `check.rs` (the pass-test helper). The IR verifier and the IR's text form
//! live with the IR (`jit/ir/verify.rs`, `jit/ir/text.rs`).
//!
//! Terms used across the passes: the *pre-roll* is the recorded iteration kept as is; the
//! *body* is its copy after `Loop`; a *carried slot* is a frame slot the iteration changes
//! (an entry of `loop_end` whose value is not that slot's own load).

#[cfg(test)]
pub(crate) mod check;
mod emit;

pub mod cse;
pub mod dce;
pub mod fold;
pub mod guard;
pub mod peel;
pub mod range;

use std::fmt;

use super::ir::Trace;

/// Why a trace could not be optimized; the message becomes the JIT's abort reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptError {
    pub message: String,
}

impl OptError {
    pub fn new(message: impl Into<String>) -> OptError {
        OptError { message: message.into() }
    }
}

impl fmt::Display for OptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OptError {}

/// Runs the whole pipeline.
pub fn optimize(trace: &Trace) -> Result<Trace, OptError> {
    run_pipeline(trace, &mut |_, _| {})
}

/// Each pass's output, named, in pipeline order.
pub type PassLog = Vec<(&'static str, Trace)>;

/// Runs the whole pipeline and also returns each pass's output (for dumps and tests).
pub fn optimize_logged(trace: &Trace) -> Result<(Trace, PassLog), OptError> {
    let mut log = Vec::new();
    let optimized = run_pipeline(trace, &mut |pass, output| log.push((pass, output.clone())))?;
    Ok((optimized, log))
}

fn run_pipeline(trace: &Trace, after_pass: &mut dyn FnMut(&'static str, &Trace)) -> Result<Trace, OptError> {
    verify_if_debug("recorder", trace)?;
    let mut finish = |pass: &'static str, output: Trace| -> Result<Trace, OptError> {
        verify_if_debug(pass, &output)?;
        after_pass(pass, &output);
        Ok(output)
    };
    let trace = finish("fold", fold::fold(trace))?;
    let trace = finish("cse", cse::cse(&trace))?;
    let trace = finish("guard", guard::eliminate_redundant_guards(&trace))?;
    let trace = finish("peel", peel::peel(&trace)?)?;
    let trace = finish("range", range::remove_impossible_overflow_checks(&trace))?;
    finish("dce", dce::dce(&trace))
}

/// Release builds trust the passes; debug builds (and so every test) check each output.
fn verify_if_debug(producer: &str, trace: &Trace) -> Result<(), OptError> {
    if cfg!(debug_assertions) {
        crate::jit::ir::verify::verify(trace)
            .map_err(|e| OptError::new(format!("invalid IR after {}: {}", producer, e)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
