//! Recording residual calls: where a specialised rule (`values.rs`, `objects.rs`, ...) has
//! nothing for the operand types met, the instruction becomes a `CALLR` of the
//! interpreter's own implementation (`jit::residual`) instead of aborting the recording.
//!
//! Invariants: a residual call is emitted with a snapshot of the state before its
//! instruction (the operands are read first), so when the call fails or a collection is
//! due the exit makes the interpreter redo the instruction and raise its error there.
//! Sunk operands are materialized first (enum values through `NewTagged`): the function
//! receives real objects, as the interpreter's would.

use super::Recorder;
use crate::jit::abort::AbortReason;
use crate::jit::ir::{AllocKind, BuiltinArgs, InstIdx, Op, Ty, MAX_BUILTIN_ARGS};
use crate::jit::residual::Residual;

impl Recorder {
    /// A `CALLR` of `function` on `args` (materialized when sunk), of result type `ty`,
    /// exiting to `pc` when it fails.
    pub(super) fn residual(
        &mut self,
        function: Residual,
        args: &[InstIdx],
        ty: Ty,
        pc: u32,
    ) -> Result<InstIdx, AbortReason> {
        let mut passed = Vec::with_capacity(args.len());
        for &arg in args {
            passed.push(if self.trace.inst(arg).op.is_sunk() { self.materialize(arg, pc)? } else { arg });
        }
        let args = self.call_arguments(&passed, pc)?;
        Ok(self.emit_guard(Op::CallResidual { function, args }, ty, pc))
    }

    /// The arguments of a call (never sunk) as a call passes them: in registers, or past
    /// `MAX_BUILTIN_ARGS` as an array built for the call, which the helper spreads.
    pub(super) fn call_arguments(&mut self, args: &[InstIdx], pc: u32) -> Result<BuiltinArgs, AbortReason> {
        if args.len() <= MAX_BUILTIN_ARGS {
            return Ok(BuiltinArgs::new(args));
        }
        let array = self.emit_guard(Op::Alloc(AllocKind::Array), Ty::Array, pc);
        for &value in args {
            self.emit_guard(Op::APush { array, value }, Ty::Void, pc);
        }
        Ok(BuiltinArgs::spread(array))
    }

    /// The recording of `Texts::str_join` on `parts` (strings): two or more are a chain of
    /// new strings (`SConcat`, `ops::concat` as `+` makes them); one part otherwise is
    /// the interpreter's `Concat`.
    pub(super) fn concatenation(&mut self, parts: &[InstIdx], pc: u32) -> Result<InstIdx, AbortReason> {
        match parts.split_first() {
            Some((&first, rest)) if !rest.is_empty() => {
                let mut text = first;
                for &piece in rest {
                    text = self.emit_guard(Op::SConcat(text, piece), Ty::Str, pc);
                }
                Ok(text)
            }
            _ => self.residual(Residual::Concat, parts, Ty::Str, pc),
        }
    }

    /// An enum value built as an object: a sunk one (`TagNew`) where it escapes, or one
    /// with an object payload or several payloads, which never sink.
    pub(super) fn new_tagged_object(
        &mut self,
        enum_name: u32,
        tag: u32,
        payload: &[InstIdx],
        pc: u32,
    ) -> Result<InstIdx, AbortReason> {
        let mut args = vec![self.emit(Op::KInt(enum_name as i64), Ty::Int), self.emit(Op::KInt(tag as i64), Ty::Int)];
        args.extend_from_slice(payload);
        self.residual(Residual::NewTagged, &args, Ty::Tagged, pc)
    }
}
