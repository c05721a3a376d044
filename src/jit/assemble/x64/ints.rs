//! Code selection for int arithmetic: `+`, `-` and `*` with their overflow guard, `/`
//! and `%` (`idiv`, or a multiply by a magic number for a constant divisor), and the bit
//! operations (`BAND`, `BOR`, `BXOR`, and the shifts, which check their count).
//!
//! Terms and invariants are those of the parent module (`x64.rs`); rax, rdx and r11 are
//! the scratch registers used (a shift by a variable count swaps rcx with r11 around it).

use super::*;

impl Emitter<'_> {
    /// Add, Sub, Mul with the overflow guard; the work register may hold a wrapped
    /// result when the guard fails, which is fine: it never holds a snapshot value.
    pub(super) fn checked_int(
        &mut self,
        op: IntAlu,
        a: InstIdx,
        b: InstIdx,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) {
        let work = Self::gpr_work(destination);
        self.load_gpr(work, self.operand(a));
        self.int_alu(op, work, self.operand(b));
        emit!(self.ops; jo =>exit);
        self.store(destination, Operand::Gpr(work));
    }

    /// `and`, `or` or `xor` of two ints (no check: bit operations cannot fail).
    pub(super) fn int_bits(&mut self, op: IntAlu, a: InstIdx, b: InstIdx, destination: Option<Operand>) {
        let work = Self::gpr_work(destination);
        self.load_gpr(work, self.operand(a));
        self.int_alu(op, work, self.operand(b));
        self.store(destination, Operand::Gpr(work));
    }

    /// A left shift, or an arithmetic right shift, exiting when the count is outside
    /// `0..=63` (`BitOp::apply`). A constant count is an immediate; any other goes through
    /// cl, so rcx (an allocatable register) is swapped with r11 around the shift.
    pub(super) fn shift(
        &mut self,
        left: bool,
        a: InstIdx,
        b: InstIdx,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) {
        match self.operand(b) {
            Operand::Bits(count) if count > 63 => {
                emit!(self.ops; jmp =>exit);
            }
            Operand::Bits(count) => {
                let work = Self::gpr_work(destination);
                self.load_gpr(work, self.operand(a));
                match left {
                    true => emit!(self.ops; shl Rq(work), count as i8),
                    false => emit!(self.ops; sar Rq(work), count as i8),
                }
                self.store(destination, Operand::Gpr(work));
            }
            count => {
                self.load_gpr(R11, count);
                emit!(self.ops; cmp r11, 63; ja =>exit);
                self.load_gpr(RAX, self.operand(a));
                emit!(self.ops; xchg rcx, r11);
                match left {
                    true => emit!(self.ops; shl rax, cl),
                    false => emit!(self.ops; sar rax, cl),
                }
                emit!(self.ops; xchg rcx, r11);
                self.store(destination, Operand::Gpr(RAX));
            }
        }
    }

    /// Ruff's `/` and `%` on ints are x86 `idiv` (truncating quotient, remainder with the
    /// dividend's sign) once the two failing cases are excluded: divisor 0, and
    /// `i64::MIN / -1`, which would raise #DE.
    pub(super) fn int_division(
        &mut self,
        a: InstIdx,
        b: InstIdx,
        remainder: bool,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) {
        let divisor = self.operand(b);
        match divisor {
            Operand::Bits(0) => {
                emit!(self.ops; jmp =>exit);
                return;
            }
            Operand::Bits(bits) if !matches!(bits as i64, -1 | 1) => {
                self.divide_by_constant(a, bits as i64, remainder, destination);
                return;
            }
            Operand::Bits(_) => self.load_gpr(R11, divisor),
            _ => {
                self.load_gpr(R11, divisor);
                emit!(self.ops; test r11, r11; jz =>exit);
            }
        }
        self.load_gpr(RAX, self.operand(a));
        let may_be_minus_one = !matches!(divisor, Operand::Bits(bits) if bits as i64 != -1);
        if may_be_minus_one {
            // `rax - 1` overflows exactly when rax is i64::MIN.
            emit!(self.ops
                ; cmp r11, -1
                ; jne >divide
                ; cmp rax, 1
                ; jo =>exit
                ; divide:
            );
        }
        if destination.is_none() {
            return;
        }
        emit!(self.ops; cqo; idiv r11);
        self.store(destination, Operand::Gpr(if remainder { RDX } else { RAX }));
    }

    /// `a / d` or `a % d` for a constant `d` other than 0, 1 and -1, which cannot fail:
    /// the quotient is the high half of `a * magic`, corrected and shifted (Hacker's
    /// Delight, section 10-1), the remainder `a - quotient * d`. Same results as `idiv`.
    pub(super) fn divide_by_constant(&mut self, a: InstIdx, d: i64, remainder: bool, destination: Option<Operand>) {
        if destination.is_none() {
            return;
        }
        let (magic, shift) = signed_magic(d);
        self.load_gpr(R11, self.operand(a));
        emit!(self.ops
            ; mov rax, QWORD magic
            ; imul r11
        );
        if d > 0 && magic < 0 {
            emit!(self.ops; add rdx, r11);
        } else if d < 0 && magic > 0 {
            emit!(self.ops; sub rdx, r11);
        }
        if shift > 0 {
            emit!(self.ops; sar rdx, shift as i8);
        }
        emit!(self.ops
            ; mov rax, rdx
            ; shr rax, 63
            ; add rdx, rax
        );
        if !remainder {
            self.store(destination, Operand::Gpr(RDX));
            return;
        }
        emit!(self.ops
            ; mov rax, QWORD d
            ; imul rdx, rax
            ; mov rax, r11
            ; sub rax, rdx
        );
        self.store(destination, Operand::Gpr(RAX));
    }
}
