//! The out-of-line operand paths of the dispatch loop: arithmetic on anything but two
//! ints or two floats (`arith_slow`, which may allocate a string).
//!
//! The operators themselves are `semantics::operators`, run on concrete values: their
//! common cases are inlined into the handlers, and this path keeps each handler a few
//! machine instructions by calling out for the rest.

use crate::runtime::heap::Heap;
use crate::runtime::ops::ArithOp;
use crate::runtime::value::Value;
use crate::semantics::{self, Concrete, Failed};

/// The message of an error: the runtime's text, or what an operator raised (`Failed`).
pub(super) fn error_text(error: impl Into<String>) -> String {
    error.into()
}

/// Arithmetic on anything but two ints or two floats. It takes the heap alone (not the
/// `Vm`) so that the dispatch loop keeps its window of slots across the call.
#[inline(never)]
pub(super) fn arith_slow(heap: &mut Heap, op: ArithOp, a: Value, b: Value, reuse_lhs: bool) -> Result<Value, Failed> {
    semantics::arith(&mut Concrete::with_heap(heap), op, a, b, reuse_lhs)
}
