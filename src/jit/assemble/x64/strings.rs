//! Code selection for strings. The ops that make a new string (`SCONCAT`, `TOSTR`,
//! `SCHAR`, `SNEXTCH`) call their helper and exit when it failed or a collection is due
//! (`SCHAR` first reads an ASCII character's string from the heap's table inline);
//! `SAPPEND` checks inline that the string is unshared and not the piece, then calls the
//! interpreter's append. The reads that need no allocation: `SLEN` (the character
//! count), `SBYTES` (the length in bytes) and `SEQ` (`==` on two strings). With the
//! string layout known (`ObjectLayout::text_ptr`, `text_len`, `char_count`) the lengths are
//! one load. `SEQ` answers inline when both texts are at most one byte long
//! (`current == "n"`, which json's parser does at every character: the helper call
//! through `values_equal` and `memcmp` was 40% of its time), by looking the answer up in
//! a table computed from the interpreter's `==` (`helpers::short_string_equality`), never
//! by comparing bytes itself: string equality has one definition, the semantics layer's,
//! and the inline path cannot disagree with it. Any other pair calls the helper, which
//! runs that definition (`semantics::values_equal`).
//! Without a known layout every op calls its helper.
//!
//! Terms and invariants are those of the parent module (`x64.rs`); rax, rdx and r11 are
//! the scratch registers used.

use super::*;

impl Emitter<'_> {
    /// `SLEN` or `SBYTES`: a word of the string object, or its helper without a layout.
    pub(super) fn string_length(&mut self, i: usize, string: InstIdx, bytes: bool) {
        let destination = self.destination(i);
        match self.object_layout {
            Some(layout) => {
                let s = self.gpr_register(self.operand(string));
                let offset = if bytes { layout.text_len } else { layout.char_count };
                emit!(self.ops; mov rax, [Rq(s) + offset]);
                self.store(destination, Operand::Gpr(RAX));
            }
            None => {
                let arguments = vec![(Operand::Gpr(RDI), self.operand(string))];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
            }
        }
    }

    /// `SEQ`: 1 when the two strings are equal, else 0 (see the module header). Two
    /// one-byte strings (the common case) take the straight path; an empty one the
    /// branch after it.
    pub(super) fn string_equal(&mut self, i: usize, a: InstIdx, b: InstIdx) {
        let destination = self.destination(i);
        let arguments = vec![(Operand::Gpr(RDI), self.operand(a)), (Operand::Gpr(RSI), self.operand(b))];
        let Some(layout) = self.object_layout else {
            self.call_helper(i, arguments, HelperResult::Rax(destination));
            return;
        };
        let table = short_string_equality().as_ptr() as i64;
        let row = SHORT_CODES as i32;
        let [coded, not_one_byte, slow, done] = [(); 4].map(|_| self.ops.new_dynamic_label());
        self.load_gpr(RAX, self.operand(a));
        self.load_gpr(R11, self.operand(b));
        emit!(self.ops
            ; cmp QWORD [rax + layout.text_len], 1
            ; jne =>not_one_byte
            ; cmp QWORD [r11 + layout.text_len], 1
            ; jne =>not_one_byte
            ; mov rax, [rax + layout.text_ptr]
            ; movzx eax, BYTE [rax]
            ; mov r11, [r11 + layout.text_ptr]
            ; movzx r11d, BYTE [r11]
            // eax = a's code, r11d = b's code: the table's answer.
            ; =>coded
            ; imul eax, eax, row
            ; add eax, r11d
            ; mov r11, QWORD table
            ; movzx eax, BYTE [r11 + rax]
            ; jmp =>done
            // Both at most one byte long (one of them empty), or the helper decides.
            ; =>not_one_byte
            ; cmp QWORD [rax + layout.text_len], 1
            ; ja =>slow
            ; cmp QWORD [r11 + layout.text_len], 1
            ; ja =>slow
        );
        self.short_string_code(layout, RAX);
        emit!(self.ops; mov eax, edx);
        self.short_string_code(layout, R11);
        emit!(self.ops
            ; mov r11d, edx
            ; jmp =>coded
            ; =>slow
        );
        self.call_helper(i, arguments, HelperResult::Nothing);
        emit!(self.ops; =>done);
        self.store(destination, Operand::Gpr(RAX));
    }

    /// Into edx, the code in `short_string_equality` of the string in register `object`,
    /// at most one byte long: its byte, or `EMPTY_CODE` when it is empty.
    fn short_string_code(&mut self, layout: ObjectLayout, object: u8) {
        let coded = self.ops.new_dynamic_label();
        emit!(self.ops
            ; mov edx, EMPTY_CODE as i32
            ; cmp QWORD [Rq(object) + layout.text_len], 0
            ; je =>coded
            ; mov rdx, [Rq(object) + layout.text_ptr]
            ; movzx edx, BYTE [rdx]
            ; =>coded
        );
    }

    /// `SCONCAT`: the helper's new string.
    pub(super) fn concatenate(
        &mut self,
        i: usize,
        a: InstIdx,
        b: InstIdx,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) {
        let arguments = vec![
            (Operand::Gpr(RDI), self.operand(a)),
            (Operand::Gpr(RSI), self.operand(b)),
            (Operand::Gpr(RDX), Operand::Gpr(R13)),
        ];
        self.call_helper(i, arguments, HelperResult::Rax(destination));
        emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
    }

    /// `TOSTR`: the helper's text of a scalar.
    pub(super) fn scalar_to_string(
        &mut self,
        i: usize,
        value: InstIdx,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let tag = value_tag(self.trace.inst(value).ty)?;
        let arguments = vec![
            (Operand::Gpr(RDI), Operand::Bits(tag as u64)),
            (Operand::Gpr(RSI), self.operand(value)),
            (Operand::Gpr(RDX), Operand::Gpr(R13)),
        ];
        self.call_helper(i, arguments, HelperResult::Rax(destination));
        emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
        Ok(())
    }

    /// `SCHAR`: the character's string. An ASCII string (as many characters as bytes)
    /// indexed in bounds by a non-negative index reads the heap's string of that byte
    /// inline (`Heap::char_string` hands out the same one); anything else (a negative
    /// index, a non-ASCII string, a character whose string is not made yet) calls the
    /// helper, which goes through the interpreter's indexing.
    pub(super) fn string_char(
        &mut self,
        i: usize,
        string: InstIdx,
        index: InstIdx,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) {
        let arguments = vec![
            (Operand::Gpr(RDI), self.operand(string)),
            (Operand::Gpr(RSI), self.operand(index)),
            (Operand::Gpr(RDX), Operand::Gpr(R13)),
        ];
        let Some(layout) = self.object_layout else {
            self.call_helper(i, arguments, HelperResult::Rax(destination));
            self.string_char_checks(exit);
            return;
        };
        let [slow, done] = [(); 2].map(|_| self.ops.new_dynamic_label());
        self.load_gpr(RAX, self.operand(string));
        self.load_gpr(R11, self.operand(index));
        emit!(self.ops
            ; mov rdx, [rax + layout.char_count]
            ; cmp rdx, [rax + layout.text_len]
            ; jne =>slow
            // Unsigned: a negative index is above every length.
            ; cmp r11, rdx
            ; jae =>slow
            ; mov rax, [rax + layout.text_ptr]
            ; movzx eax, BYTE [rax + r11]
            ; mov r11, [r13 + HEAP]
            ; mov rax, [r11 + rax * 8 + ASCII_CHAR_STRINGS_OFFSET as i32]
            ; test rax, rax
            ; jnz =>done
            ; =>slow
        );
        self.call_helper(i, arguments, HelperResult::Nothing);
        self.string_char_checks(exit);
        emit!(self.ops; =>done);
        self.store(destination, Operand::Gpr(RAX));
    }

    /// After `SCHAR`'s helper: leave when it failed or a collection is due. rax still
    /// holds the result: no allocatable register is rax.
    fn string_char_checks(&mut self, exit: DynamicLabel) {
        emit!(self.ops
            ; test rax, rax
            ; jz =>exit
            ; cmp QWORD [r13 + MUST_EXIT], 0
            ; jne =>exit
        );
    }

    /// `SNEXTCH`: the helper's next character of a `for` over a string.
    pub(super) fn next_char(
        &mut self,
        i: usize,
        string: InstIdx,
        position: InstIdx,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) {
        let arguments = vec![
            (Operand::Gpr(RDI), self.operand(string)),
            (Operand::Gpr(RSI), self.operand(position)),
            (Operand::Gpr(RDX), Operand::Gpr(R13)),
        ];
        self.call_helper(i, arguments, HelperResult::Rax(destination));
        emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
    }

    /// `SAPPEND`: the checks inline, then the helper's append in place.
    pub(super) fn string_append(&mut self, i: usize, string: InstIdx, piece: InstIdx, exit: DynamicLabel) {
        let s = self.gpr_register(self.operand(string));
        emit!(self.ops
            ; cmp BYTE [Rq(s) + SHARED_FLAG_OFFSET as i32], 0
            ; jne =>exit
        );
        // `s` may be rax (when `string` is not in a register); r11 is free here.
        self.load_gpr(R11, self.operand(piece));
        emit!(self.ops; cmp Rq(s), r11; je =>exit);
        let arguments = vec![
            (Operand::Gpr(RDI), self.operand(string)),
            (Operand::Gpr(RSI), self.operand(piece)),
            (Operand::Gpr(RDX), Operand::Gpr(R13)),
        ];
        self.call_helper(i, arguments, HelperResult::Nothing);
        emit!(self.ops; test rax, rax; jnz =>exit);
    }
}
