//! The tracing JIT: hot loops are recorded as typed IR, optimized, compiled to x86-64 and
//! run natively until a guard fails, when the interpreter resumes from a snapshot.

pub mod abi;
pub mod ir;
