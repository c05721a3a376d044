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

    /// An int op that cannot fail: `and`, `or`, `xor`, and the `+` and `-` the range pass
    /// proved in range (`ADDNOV`, `SUBNOV`).
    pub(super) fn unchecked_int(&mut self, op: IntAlu, a: InstIdx, b: InstIdx, destination: Option<Operand>) {
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

    /// `a / d` or `a % d` for `d = ±2^k`, `1 <= k <= 62`, rounding toward zero as `idiv`
    /// does: a negative `a` gets `2^k - 1` added (the bias: its sign bits shifted down)
    /// before the arithmetic shift; the remainder is `a` less the biased value with its
    /// low `k` bits cleared. Shifts and adds, where the magic multiply is a 128-bit
    /// `imul` (Hacker's Delight, section 10-1).
    fn divide_by_power_of_two(&mut self, a: InstIdx, d: i64, remainder: bool, destination: Option<Operand>) {
        let k = d.unsigned_abs().trailing_zeros() as i8;
        let bias_shift = 64 - k;
        self.load_gpr(R11, self.operand(a));
        emit!(self.ops
            ; mov rax, r11
            ; sar rax, 63
            ; shr rax, bias_shift
            ; add rax, r11
        );
        if remainder {
            let low_bits_cleared = -(1i64 << k);
            emit!(self.ops
                ; mov rdx, QWORD low_bits_cleared
                ; and rax, rdx
                ; mov rdx, r11
                ; sub rdx, rax
            );
            self.store(destination, Operand::Gpr(RDX));
            return;
        }
        emit!(self.ops; sar rax, k);
        if d < 0 {
            emit!(self.ops; neg rax);
        }
        self.store(destination, Operand::Gpr(RAX));
    }

    /// `a / d` or `a % d` for a constant `d` other than 0, 1 and -1, which cannot fail:
    /// the quotient is the high half of `a * magic`, corrected and shifted (Hacker's
    /// Delight, section 10-1), the remainder `a - quotient * d`. Same results as `idiv`.
    pub(super) fn divide_by_constant(&mut self, a: InstIdx, d: i64, remainder: bool, destination: Option<Operand>) {
        if destination.is_none() {
            return;
        }
        if d.unsigned_abs().is_power_of_two() && d != i64::MIN {
            self.divide_by_power_of_two(a, d, remainder, destination);
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

/// The multiplier and shift that turn signed 64-bit division by `d` (|d| >= 2) into a
/// multiply-high (Hacker's Delight, figure 10-1, widened to 64 bits).
fn signed_magic(d: i64) -> (i64, u32) {
    const TWO63: u64 = 1 << 63;
    let ad = d.unsigned_abs();
    let t = TWO63.wrapping_add((d as u64) >> 63);
    let anc = t - 1 - t % ad;
    let mut p = 63u32;
    let (mut q1, mut r1) = (TWO63 / anc, TWO63 - (TWO63 / anc) * anc);
    let (mut q2, mut r2) = (TWO63 / ad, TWO63 - (TWO63 / ad) * ad);
    loop {
        p += 1;
        q1 = q1.wrapping_mul(2);
        r1 = r1.wrapping_mul(2);
        if r1 >= anc {
            q1 = q1.wrapping_add(1);
            r1 = r1.wrapping_sub(anc);
        }
        q2 = q2.wrapping_mul(2);
        r2 = r2.wrapping_mul(2);
        if r2 >= ad {
            q2 = q2.wrapping_add(1);
            r2 = r2.wrapping_sub(ad);
        }
        let delta = ad - r2;
        if !(q1 < delta || (q1 == delta && r1 == 0)) {
            break;
        }
    }
    let magic = q2.wrapping_add(1) as i64;
    (if d < 0 { magic.wrapping_neg() } else { magic }, p - 64)
}

#[cfg(test)]
mod magic_tests {
    use super::signed_magic;

    /// The instruction sequence `divide_by_constant` emits, step by step.
    fn emulate(x: i64, d: i64) -> (i64, i64) {
        let (magic, shift) = signed_magic(d);
        let mut high = ((magic as i128 * x as i128) >> 64) as i64;
        if d > 0 && magic < 0 {
            high = high.wrapping_add(x);
        } else if d < 0 && magic > 0 {
            high = high.wrapping_sub(x);
        }
        high >>= shift;
        let quotient = high.wrapping_add(((high as u64) >> 63) as i64);
        (quotient, x.wrapping_sub(quotient.wrapping_mul(d)))
    }

    #[test]
    fn magic_division_matches_idiv_for_every_divisor_class() {
        let mut divisors: Vec<i64> = (2..300).chain((-300..=-2).into_iter()).collect();
        divisors.extend([7, 13, 1000003, 10000019, 1 << 20, 1 << 62, i64::MAX, i64::MIN, -(1 << 62), i64::MIN + 1]);
        let mut dividends: Vec<i64> = (-1000..1000).collect();
        dividends.extend([i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1, 1 << 40, -(1 << 40), 4_000_000_000_000]);
        for &d in &divisors {
            for &x in &dividends {
                assert_eq!(emulate(x, d), (x.wrapping_div(d), x.wrapping_rem(d)), "{} / {}", x, d);
            }
        }
    }
}
