//! The runtime data model shared by the interpreter, the builtins and (later) the JIT:
//! values, heap objects, the garbage collector, interned symbols, operator semantics and
//! value formatting.

pub mod access;
#[cfg(not(feature = "memcheck"))]
pub mod allocator;
pub mod fields;
pub mod format;
pub mod heap;
pub mod object;
pub mod ops;
pub mod symbol;
pub mod value;
