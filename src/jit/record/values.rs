//! Recording operations on values: arithmetic, comparisons, truthiness, negation and `!`
//! run the operators of `semantics` in the tracing domain (`tracing.rs`), which records
//! each primitive step they take; conversion to text is recorded here.

use super::tracing::{TracedValue, Tracing};
use super::{test_false_target, Recorder, Rhs, View};
use crate::compile::bytecode::Reg;
use crate::jit::abort::AbortReason;
use crate::jit::ir::{InstIdx, Op, Ty};
use crate::jit::residual::Residual;
use crate::runtime::ops::ArithOp;
use crate::runtime::value::Value;
use crate::semantics::{self, Comparison};

impl Recorder {
    pub(super) fn float_of(&mut self, v: InstIdx) -> InstIdx {
        match self.ty(v) {
            Ty::Int => self.emit(Op::IntToFloat(v), Ty::Float),
            _ => v,
        }
    }

    /// Truthiness of `v` (holding `value`), as `semantics::truthy` defines it.
    pub(super) fn truthiness(&mut self, v: InstIdx, value: Value, pc: u32) -> Result<InstIdx, AbortReason> {
        Ok(semantics::truthy(&mut Tracing::new(self, pc), TracedValue::of(v, value))?.ir)
    }

    /// The traced values of a two-operand instruction's operands.
    fn operands(
        &mut self,
        lhs: Reg,
        rhs: Rhs,
        view: &View,
        pc: u32,
    ) -> Result<(TracedValue, TracedValue), AbortReason> {
        let a = TracedValue::of(self.read(lhs, view, pc)?, view.slots[lhs as usize]);
        let b = match rhs {
            Rhs::Slot(r) => TracedValue::of(self.read(r, view, pc)?, view.slots[r as usize]),
            Rhs::Constant(k) => TracedValue::of(self.constant(&k)?, k),
        };
        Ok((a, b))
    }

    /// `dst := lhs op rhs`, by `semantics::arith` (the interpreter's `+` of two strings
    /// appends in place when `dst` is `lhs`).
    pub(super) fn binary(
        &mut self,
        op: ArithOp,
        dst: Reg,
        lhs: Reg,
        rhs: Rhs,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let (a, b) = self.operands(lhs, rhs, view, pc)?;
        let reuse = op == ArithOp::Add && dst == lhs;
        let result = semantics::arith(&mut Tracing::new(self, pc), op, a, b, reuse)?;
        self.write(dst, result.ir);
        Ok(())
    }

    /// `-src` or `!src`.
    pub(super) fn unary(
        &mut self,
        negation: bool,
        dst: Reg,
        src: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let v = TracedValue::of(self.read(src, view, pc)?, view.slots[src as usize]);
        let domain = &mut Tracing::new(self, pc);
        let result = if negation { semantics::negate(domain, v)? } else { semantics::not(domain, v)? };
        self.write(dst, result.ir);
        Ok(())
    }

    pub(super) fn comparison(
        &mut self,
        op: Comparison,
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let (a, b) = self.operands(lhs, Rhs::Slot(rhs), view, pc)?;
        let result = semantics::comparison(&mut Tracing::new(self, pc), op, a, b)?;
        self.write(dst, result.ir);
        Ok(())
    }

    pub(super) fn test(&mut self, op: Comparison, lhs: Reg, rhs: Rhs, view: &View, pc: u32) -> Result<(), AbortReason> {
        let (a, b) = self.operands(lhs, rhs, view, pc)?;
        let condition = semantics::comparison(&mut Tracing::new(self, pc), op, a, b)?.ir;
        self.branch(condition, pc, pc + 2, test_false_target(view.program.proto(self.current().proto), pc));
        Ok(())
    }

    /// The display form of a value that is not a string as a new string (`Texts::display`
    /// on trace): `TOSTR` of a scalar, else a residual call of the concrete `ToStr`.
    pub(super) fn display(&mut self, value: InstIdx, pc: u32) -> Result<InstIdx, AbortReason> {
        match self.ty(value) {
            Ty::Int | Ty::Float | Ty::Bool | Ty::Null => Ok(self.emit_guard(Op::ToStr(value), Ty::Str, pc)),
            _ => self.residual(Residual::Text, &[value], Ty::Str, pc),
        }
    }
}
