//! Code selection for the string reads that need no allocation: `SLEN` (the character
//! count), `SBYTES` (the length in bytes) and `SEQ` (`==` on two strings). With the
//! string layout known (`ObjectLayout::text_ptr`, `text_len`, `char_count`) the lengths are
//! one load, and `SEQ` decides inline the cases that need no byte loop: the same object,
//! different byte lengths, and texts of at most one byte (`current == "n"`, which json's
//! parser does at every character: the helper call through `values_equal` and
//! `memcmp` was 40% of its time). Longer texts of equal length call the semantics layer's string `==` (`semantics::values_equal`).
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

    /// `SEQ`: 1 when the two strings are equal, else 0 (see the module header).
    pub(super) fn string_equal(&mut self, i: usize, a: InstIdx, b: InstIdx) {
        let destination = self.destination(i);
        let arguments = vec![(Operand::Gpr(RDI), self.operand(a)), (Operand::Gpr(RSI), self.operand(b))];
        let Some(layout) = self.object_layout else {
            self.call_helper(i, arguments, HelperResult::Rax(destination));
            return;
        };
        let [equal, different, slow, done] = [(); 4].map(|_| self.ops.new_dynamic_label());
        self.load_gpr(RAX, self.operand(a));
        self.load_gpr(R11, self.operand(b));
        emit!(self.ops
            ; cmp rax, r11
            ; je =>equal
            ; mov rdx, [rax + layout.text_len]
            ; cmp rdx, [r11 + layout.text_len]
            ; jne =>different
            ; cmp rdx, 1
            ; jb =>equal
            ; ja =>slow
            ; mov rax, [rax + layout.text_ptr]
            ; mov r11, [r11 + layout.text_ptr]
            ; movzx edx, BYTE [rax]
            ; cmp dl, BYTE [r11]
            ; jne =>different
            ; =>equal
            ; mov eax, 1
            ; jmp =>done
            ; =>different
            ; xor eax, eax
            ; jmp =>done
            ; =>slow
        );
        self.call_helper(i, arguments, HelperResult::Nothing);
        emit!(self.ops; =>done);
        self.store(destination, Operand::Gpr(RAX));
    }
}
