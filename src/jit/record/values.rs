//! Recording operations on values: arithmetic, comparisons, truthiness, string
//! concatenation and conversion to text, each typed by the operands' current values with
//! guards on those types.

use super::{test_false_target, Compare, Recorder, Rhs, View};
use crate::compile::bytecode::Reg;
use crate::jit::abort::AbortReason;
use crate::jit::ir::{InstIdx, Op, Ty};
use crate::runtime::ops;
use crate::runtime::ops::ArithOp;
use crate::runtime::ops::CmpOp;
use crate::runtime::value::Value;

impl Recorder {
    pub(super) fn float_of(&mut self, v: InstIdx) -> InstIdx {
        match self.ty(v) {
            Ty::Int => self.emit(Op::IntToFloat(v), Ty::Float),
            _ => v,
        }
    }

    /// Typed arithmetic, mirroring the interpreter: int with int stays int (checked), any
    /// other pair of numbers is float.
    pub(super) fn arith(&mut self, op: ArithOp, a: InstIdx, b: InstIdx, pc: u32) -> Result<InstIdx, AbortReason> {
        match (self.ty(a), self.ty(b)) {
            (Ty::Int, Ty::Int) => {
                let ir = match op {
                    ArithOp::Add => Op::AddInt(a, b),
                    ArithOp::Sub => Op::SubInt(a, b),
                    ArithOp::Mul => Op::MulInt(a, b),
                    ArithOp::Div => Op::DivInt(a, b),
                    ArithOp::Mod => Op::ModInt(a, b),
                };
                Ok(self.emit_guard(ir, Ty::Int, pc))
            }
            (Ty::Int | Ty::Float, Ty::Int | Ty::Float) => {
                let (a, b) = (self.float_of(a), self.float_of(b));
                let ir = match op {
                    ArithOp::Add => Op::AddFloat(a, b),
                    ArithOp::Sub => Op::SubFloat(a, b),
                    ArithOp::Mul => Op::MulFloat(a, b),
                    ArithOp::Div => Op::DivFloat(a, b),
                    ArithOp::Mod => Op::ModFloat(a, b),
                };
                Ok(if ir.is_guard() { self.emit_guard(ir, Ty::Float, pc) } else { self.emit(ir, Ty::Float) })
            }
            (ta, tb) => Err(AbortReason::NyiInstruction(match (ta, tb) {
                _ if op == ArithOp::Add => "+ on non-numbers",
                _ => "arithmetic on non-numbers",
            })),
        }
    }

    /// `a op b` for `op` one of `<`, `<=`, `>`, `>=`, `==`, `!=` (by bytecode mnemonic).
    pub(super) fn compare(&mut self, kind: Compare, a: InstIdx, b: InstIdx) -> Result<InstIdx, AbortReason> {
        let (ta, tb) = (self.ty(a), self.ty(b));
        let numeric = |t: Ty| matches!(t, Ty::Int | Ty::Float);
        if ta == Ty::Int && tb == Ty::Int {
            let op = match kind {
                Compare::Order(CmpOp::Lt) => Op::LtInt(a, b),
                Compare::Order(CmpOp::Le) => Op::LeInt(a, b),
                Compare::Order(CmpOp::Gt) => Op::GtInt(a, b),
                Compare::Order(CmpOp::Ge) => Op::GeInt(a, b),
                Compare::Equal => Op::EqInt(a, b),
                Compare::NotEqual => Op::NeInt(a, b),
            };
            return Ok(self.emit(op, Ty::Bool));
        }
        if numeric(ta) && numeric(tb) {
            let (a, b) = (self.float_of(a), self.float_of(b));
            let op = match kind {
                Compare::Order(CmpOp::Lt) => Op::LtFloat(a, b),
                Compare::Order(CmpOp::Le) => Op::LeFloat(a, b),
                Compare::Order(CmpOp::Gt) => Op::GtFloat(a, b),
                Compare::Order(CmpOp::Ge) => Op::GeFloat(a, b),
                Compare::Equal => Op::EqFloat(a, b),
                Compare::NotEqual => Op::NeFloat(a, b),
            };
            return Ok(self.emit(op, Ty::Bool));
        }
        match kind {
            Compare::Equal | Compare::NotEqual => {
                let equal = match (ta, tb) {
                    (Ty::Bool, Ty::Bool) => self.emit(Op::EqBool(a, b), Ty::Bool),
                    // Builtins exist on trace only as constants; they are equal when they
                    // are the same builtin.
                    (Ty::Builtin, Ty::Builtin) => {
                        let same = self.trace.inst(a).op == self.trace.inst(b).op;
                        self.emit(Op::KBool(same), Ty::Bool)
                    }
                    // The guarded types decide: values of different types never match
                    // (numbers were handled above) and null equals null
                    // (runtime::ops::values_equal).
                    _ if ta != tb || ta == Ty::Null => self.emit(Op::KBool(ta == tb), Ty::Bool),
                    (Ty::Str, Ty::Str) => self.emit(Op::SEq(a, b), Ty::Bool),
                    // Two values of one heap type (arrays, dicts) compare by content,
                    // which traces do not do.
                    _ => return Err(AbortReason::NyiInstruction("== on two arrays, dicts or functions")),
                };
                Ok(if kind == Compare::NotEqual { self.emit(Op::NotBool(equal), Ty::Bool) } else { equal })
            }
            _ => Err(AbortReason::NyiInstruction("ordering comparison of non-numbers")),
        }
    }

    pub(super) fn truthiness(&mut self, v: InstIdx) -> Result<InstIdx, AbortReason> {
        Ok(match self.ty(v) {
            Ty::Bool => v,
            Ty::Int => self.emit(Op::TruthyInt(v), Ty::Bool),
            Ty::Float => self.emit(Op::TruthyFloat(v), Ty::Bool),
            Ty::Null => self.emit(Op::KBool(false), Ty::Bool),
            Ty::Builtin => self.emit(Op::KBool(true), Ty::Bool),
            Ty::Array => {
                let length = self.emit(Op::ALen(v), Ty::Int);
                self.emit(Op::TruthyInt(length), Ty::Bool)
            }
            Ty::Dict => return Err(AbortReason::NyiInstruction("the truthiness of a dict")),
            Ty::Str => return Err(AbortReason::NyiInstruction("the truthiness of a string")),
            Ty::Func => return Err(AbortReason::NyiInstruction("the truthiness of a function")),
            Ty::Struct => return Err(AbortReason::NyiInstruction("the truthiness of a struct")),
            Ty::Tagged => return Err(AbortReason::NyiInstruction("the truthiness of an enum value")),
            Ty::Void => return Err(AbortReason::NyiInstruction("truthiness of void")),
        })
    }

    /// The IR values of a two-operand instruction's operands.
    pub(super) fn operands(
        &mut self,
        lhs: Reg,
        rhs: Rhs,
        view: &View,
        pc: u32,
    ) -> Result<(InstIdx, InstIdx), AbortReason> {
        let a = self.read(lhs, view, pc)?;
        let b = match rhs {
            Rhs::Slot(r) => self.read(r, view, pc)?,
            Rhs::Constant(k) => self.constant(&k)?,
        };
        Ok((a, b))
    }

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
        if op == ArithOp::Add && self.ty(a) == Ty::Str && self.ty(b) == Ty::Str {
            let piece = match rhs {
                Rhs::Slot(r) => view.slots[r as usize],
                Rhs::Constant(k) => k,
            };
            return self.string_append(dst, lhs, a, b, piece, view, pc);
        }
        let result = self.arith(op, a, b, pc)?;
        self.write(dst, result);
        Ok(())
    }

    /// `dst := lhs + piece` on strings, the way the interpreter runs it (`runtime::ops`):
    /// in place when `dst` is `lhs` and the append may happen in place, which the trace
    /// then guards; otherwise a new string (`SConcat`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn string_append(
        &mut self,
        dst: Reg,
        lhs: Reg,
        a: InstIdx,
        b: InstIdx,
        piece: Value,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let in_place = match (view.slots[lhs as usize], piece) {
            (Value::Str(x), Value::Str(y)) => dst == lhs && ops::can_append_in_place(x, y),
            _ => false,
        };
        if !in_place {
            let result = self.emit_guard(Op::SConcat(a, b), Ty::Str, pc);
            self.write(dst, result);
            return Ok(());
        }
        self.emit_guard(Op::SAppend { string: a, piece: b }, Ty::Void, pc);
        self.write(dst, a);
        Ok(())
    }

    pub(super) fn comparison(
        &mut self,
        kind: Compare,
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let a = self.read(lhs, view, pc)?;
        let b = self.read(rhs, view, pc)?;
        let result = self.compared(kind, a, b, pc)?;
        self.write(dst, result);
        Ok(())
    }

    pub(super) fn test(&mut self, kind: Compare, lhs: Reg, rhs: Rhs, view: &View, pc: u32) -> Result<(), AbortReason> {
        let (a, b) = self.operands(lhs, rhs, view, pc)?;
        let condition = self.compared(kind, a, b, pc)?;
        self.branch(condition, pc, pc + 2, test_false_target(view.program.proto(self.current().proto), pc));
        Ok(())
    }

    /// A value as a string, as `to_string` and interpolation make it: a string as it is,
    /// a scalar formatted into a new string (`ToStr`).
    pub(super) fn text_of(&mut self, value: InstIdx, pc: u32) -> Result<InstIdx, AbortReason> {
        match self.ty(value) {
            Ty::Str => Ok(value),
            Ty::Int | Ty::Float | Ty::Bool | Ty::Null => Ok(self.emit_guard(Op::ToStr(value), Ty::Str, pc)),
            _ => Err(AbortReason::NyiInstruction("to_string of arrays, dicts, structs or functions")),
        }
    }
}
