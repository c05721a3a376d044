//! The backend on architectures other than x86-64: there is no native code generator, so
//! every trace is refused (the JIT is off by default there, see `interpret::Options`) and
//! the interpreter runs everything. Same API as the x86-64 `assemble` module.

use super::abi::{Location, TraceEntry};
use super::ir::{SnapIdx, Trace};

pub struct AssembleOptions<'a> {
    pub deopt_stress: bool,
    pub trace_id: u32,
    pub root_reentry: Option<usize>,
    pub parent: Option<ParentExit<'a>>,
    pub self_call_target: Option<usize>,
    pub trace_entries: &'a [usize],
    pub repeats: bool,
    pub end_events: (u32, u32),
    pub iteration_events: (u32, u32),
    pub count_native: bool,
}

pub struct ParentExit<'a> {
    pub trace: &'a Trace,
    pub locations: &'a [Location],
    pub snap: SnapIdx,
}

/// Never constructed on this architecture.
pub struct CompiledTrace {
    pub entry: TraceEntry,
    pub locations: Vec<Location>,
    pub code_size: usize,
    pub stress_flags: Vec<u8>,
    pub counters: Box<[u64]>,
    pub reentry: usize,
    pub linked_entry: Option<usize>,
}

impl CompiledTrace {
    /// # Safety
    /// Never called: no trace is compiled on this architecture.
    pub unsafe fn link_exit(&mut self, _: SnapIdx, _: usize) {}
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssembleError;

impl std::fmt::Display for AssembleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no native code generator for this architecture")
    }
}

pub fn assemble(_: &Trace, _: &AssembleOptions) -> Result<CompiledTrace, AssembleError> {
    Err(AssembleError)
}

pub fn disassemble(_: &CompiledTrace) -> String {
    String::new()
}
