//! Code selection for arrays: the length, element reads (checked, known in bounds, for a
//! write, made private), element stores (checked, known), and pushes (in place with spare
//! capacity, else through the helper; `PUSHCOPY` through the `push` builtin), with the
//! element addressing they share.
//!
//! Terms and invariants are those of the parent module (`x64.rs`); `ELEMENT` holds an
//! element's address between the addressing and the access, r11 is scratch.

use super::*;

impl Emitter<'_> {
    /// `ALEN`: the length word of the array object.
    pub(super) fn array_length(&mut self, array: InstIdx, destination: Option<Operand>) -> Result<(), AssembleError> {
        let layout = self.object_layout()?;
        let a = self.gpr_register(self.operand(array));
        let work = Self::gpr_work(destination);
        emit!(self.ops; mov Rq(work), [Rq(a) + layout.items_len]);
        self.store(destination, Operand::Gpr(work));
        Ok(())
    }

    /// `ALOAD`: the bounds check, then the element with its tag checked.
    pub(super) fn load_element(
        &mut self,
        i: usize,
        array: InstIdx,
        index: InstIdx,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let inst = &self.trace.insts[i];
        let layout = self.object_layout()?;
        let a = self.gpr_register(self.operand(array));
        self.element_address(a, index, layout, exit);
        self.load_value(ELEMENT, 0, inst.ty, destination, exit)?;
        Ok(())
    }

    /// `ALOADK`: the element at an index known in bounds, its tag checked.
    pub(super) fn load_known_element(
        &mut self,
        i: usize,
        array: InstIdx,
        index: InstIdx,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let inst = &self.trace.insts[i];
        let layout = self.object_layout()?;
        let a = self.gpr_register(self.operand(array));
        self.known_element_address(a, index, layout);
        self.load_value(ELEMENT, 0, inst.ty, destination, exit)?;
        Ok(())
    }

    /// `ALOADW`: the element of an unshared array, itself unshared, for a write through it.
    pub(super) fn load_element_for_write(
        &mut self,
        i: usize,
        array: InstIdx,
        index: InstIdx,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let inst = &self.trace.insts[i];
        let layout = self.object_layout()?;
        let a = self.gpr_register(self.operand(array));
        self.exit_if_shared(a, layout, exit);
        self.element_address(a, index, layout, exit);
        self.load_value(ELEMENT, 0, inst.ty, destination, exit)?;
        if let Some(destination) = destination {
            let element = self.gpr_register(destination);
            emit!(self.ops
                ; cmp BYTE [Rq(element) + SHARED_FLAG_OFFSET as i32], 0
                ; jne =>exit
            );
        }
        Ok(())
    }

    /// `ALOADU`: the element made private inline when it already is, else by the helper.
    pub(super) fn private_element(
        &mut self,
        i: usize,
        array: InstIdx,
        index: InstIdx,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let inst = &self.trace.insts[i];
        let layout = self.object_layout()?;
        let tag = value_tag(inst.ty)?;
        let arguments = vec![
            (Operand::Gpr(RDI), self.operand(array)),
            (Operand::Gpr(RSI), self.operand(index)),
            (Operand::Gpr(RDX), Operand::Bits(tag as u64)),
            (Operand::Gpr(RCX), Operand::Gpr(R13)),
        ];
        self.private_or_helper(i, exit, arguments, |this, slow| {
            let a = this.gpr_register(this.operand(array));
            this.exit_if_shared(a, layout, slow);
            this.element_address(a, index, layout, slow);
            Ok(this.private_object_at(0, tag, slow))
        })?;
        Ok(())
    }

    /// `PUSHCOPY`: the `push` builtin's copy of a shared array, through the helper.
    pub(super) fn push_copy(
        &mut self,
        i: usize,
        array: InstIdx,
        value: InstIdx,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let tag = value_tag(self.trace.inst(value).ty)?;
        let arguments = vec![
            (Operand::Gpr(RDI), self.operand(array)),
            (Operand::Gpr(RSI), Operand::Bits(tag as u64)),
            (Operand::Gpr(RDX), self.operand(value)),
            (Operand::Gpr(RCX), Operand::Gpr(R13)),
        ];
        self.call_helper(i, arguments, HelperResult::Rax(destination));
        emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
        Ok(())
    }

    /// `ASTORE`: the shared and bounds checks, then the tagged store.
    pub(super) fn store_element(
        &mut self,
        array: InstIdx,
        index: InstIdx,
        value: InstIdx,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let layout = self.object_layout()?;
        let a = self.gpr_register(self.operand(array));
        self.exit_if_shared(a, layout, exit);
        self.write_barrier(a, value)?;
        self.element_address(a, index, layout, exit);
        self.store_value(ELEMENT, 0, value)?;
        Ok(())
    }

    /// `ASTOREK`: the tagged store, no check.
    pub(super) fn store_known_element(
        &mut self,
        array: InstIdx,
        index: InstIdx,
        value: InstIdx,
    ) -> Result<(), AssembleError> {
        let layout = self.object_layout()?;
        let a = self.gpr_register(self.operand(array));
        self.write_barrier(a, value)?;
        self.known_element_address(a, index, layout);
        self.store_value(ELEMENT, 0, value)?;
        Ok(())
    }

    /// `APUSH`: in place with spare capacity, else through the helper, which grows the array.
    pub(super) fn push_element(
        &mut self,
        i: usize,
        array: InstIdx,
        value: InstIdx,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let layout = self.object_layout()?;
        let a = self.gpr_register(self.operand(array));
        self.exit_if_shared(a, layout, exit);
        self.write_barrier(a, value)?;
        let tag = value_tag(self.trace.inst(value).ty)?;
        // With spare capacity the element is written in place and the length bumped
        // (what `Vec::push` does without growing); only growth calls the helper.
        let (grow, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        emit!(self.ops
            ; mov r11, [Rq(a) + layout.items_len]
            ; cmp r11, [Rq(a) + layout.items_capacity]
            ; jae =>grow
            ; mov Rq(ELEMENT), r11
            ; shl Rq(ELEMENT), 4
            ; add Rq(ELEMENT), [Rq(a) + layout.items_ptr]
            ; add QWORD [Rq(a) + layout.items_len], 1
        );
        // After the length: `a` may be rax, which the store may use.
        self.store_value(ELEMENT, 0, value)?;
        emit!(self.ops
            ; jmp =>done
            ; =>grow
        );
        let arguments = vec![
            (Operand::Gpr(RDI), self.operand(array)),
            (Operand::Gpr(RSI), Operand::Bits(tag as u64)),
            (Operand::Gpr(RDX), self.operand(value)),
            (Operand::Gpr(RCX), Operand::Gpr(R13)),
        ];
        self.call_helper(i, arguments, HelperResult::Nothing);
        emit!(self.ops
            ; test rax, rax
            ; jnz =>exit
            ; =>done
        );
        Ok(())
    }

    /// Exits unless `0 <= index < length` of the array object at register `a`, then leaves
    /// the address of element `index` in `ELEMENT`. One unsigned compare checks both
    /// bounds: a negative index is above every length. The interpreter counts a negative
    /// index from the end, which the trace leaves to it.
    pub(super) fn element_address(&mut self, a: u8, index: InstIdx, layout: ObjectLayout, exit: DynamicLabel) {
        self.load_gpr(ELEMENT, self.operand(index));
        emit!(self.ops
            ; cmp Rq(ELEMENT), [Rq(a) + layout.items_len]
            ; jae =>exit
            // index < length <= isize::MAX / 16, so the shift cannot overflow.
            ; shl Rq(ELEMENT), 4
            ; add Rq(ELEMENT), [Rq(a) + layout.items_ptr]
        );
    }

    /// What `element_address` leaves for an index known to be in bounds (`ALoadKnown`,
    /// `AStoreKnown`): the element's address, no check.
    fn known_element_address(&mut self, a: u8, index: InstIdx, layout: ObjectLayout) {
        self.load_gpr(ELEMENT, self.operand(index));
        emit!(self.ops
            ; shl Rq(ELEMENT), 4
            ; add Rq(ELEMENT), [Rq(a) + layout.items_ptr]
        );
    }
}
