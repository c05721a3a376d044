//! The x86-64 backend is not integrated yet: `assemble` refuses every trace, so each
//! recording ends with the abort "assembler: no native backend yet" and the interpreter
//! runs the loop. The real backend (register allocation, dynasm-rs emission, exit stubs)
//! replaces this module.

use super::abi::{Location, TraceEntry};
use super::ir::Trace;

pub struct AssembleOptions {
    pub deopt_stress: bool,
}

pub struct CompiledTrace {
    pub entry: TraceEntry,
    pub locations: Vec<Location>,
    pub code_size: usize,
    pub stress_flags: Vec<u8>,
}

pub struct AssembleError;

impl std::fmt::Display for AssembleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no native backend yet")
    }
}

pub fn assemble(_: &Trace, _: &AssembleOptions) -> Result<CompiledTrace, AssembleError> {
    Err(AssembleError)
}

pub fn disassemble(_: &CompiledTrace) -> String {
    String::new()
}
