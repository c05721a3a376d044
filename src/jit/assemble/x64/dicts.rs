//! Code selection for dicts: every dict op calls its helper (`helpers/dicts.rs`), the
//! interpreter's own lookup and insertion; `DSET` checks the shared bit inline first.
//!
//! Terms and invariants are those of the parent module (`x64.rs`).

use super::*;

impl Emitter<'_> {
    /// `KEYS`: the helper's new array of the dict's keys.
    pub(super) fn dict_keys(&mut self, i: usize, dict: InstIdx, destination: Option<Operand>, exit: DynamicLabel) {
        let arguments = vec![(Operand::Gpr(RDI), self.operand(dict)), (Operand::Gpr(RSI), Operand::Gpr(R13))];
        self.call_helper(i, arguments, HelperResult::Rax(destination));
        emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
    }

    /// `DTAG`: the helper's lookup of the entry's tag.
    pub(super) fn dict_tag(&mut self, i: usize, dict: InstIdx, key: InstIdx, destination: Option<Operand>) {
        let arguments = vec![
            (Operand::Gpr(RDI), self.operand(dict)),
            (Operand::Gpr(RSI), self.operand(key)),
            (Operand::Gpr(RDX), Operand::Gpr(R13)),
        ];
        self.call_helper(i, arguments, HelperResult::Rax(destination));
    }

    /// `DGET`: the helper's lookup of the entry's value.
    pub(super) fn dict_get(&mut self, i: usize, dict: InstIdx, key: InstIdx, destination: Option<Operand>) {
        let inst = &self.trace.insts[i];
        let arguments = vec![
            (Operand::Gpr(RDI), self.operand(dict)),
            (Operand::Gpr(RSI), self.operand(key)),
            (Operand::Gpr(RDX), Operand::Gpr(R13)),
        ];
        let result =
            if inst.ty == Ty::Float { HelperResult::Xmm0(destination) } else { HelperResult::Rax(destination) };
        self.call_helper(i, arguments, result);
    }

    /// `DSET`: the shared check inline, then the helper's insertion.
    pub(super) fn dict_set(
        &mut self,
        i: usize,
        dict: InstIdx,
        key: InstIdx,
        value: InstIdx,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let d = self.gpr_register(self.operand(dict));
        emit!(self.ops
            ; cmp BYTE [Rq(d) + SHARED_FLAG_OFFSET as i32], 0
            ; jne =>exit
        );
        let tag = value_tag(self.trace.inst(value).ty)?;
        let arguments = vec![
            (Operand::Gpr(RDI), self.operand(dict)),
            (Operand::Gpr(RSI), self.operand(key)),
            (Operand::Gpr(RDX), Operand::Bits(tag as u64)),
            (Operand::Gpr(RCX), self.operand(value)),
            (Operand::Gpr(R8), Operand::Gpr(R13)),
        ];
        self.call_helper(i, arguments, HelperResult::Nothing);
        emit!(self.ops; test rax, rax; jnz =>exit);
        Ok(())
    }
}
