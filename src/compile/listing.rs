//! A readable listing of compiled bytecode (`ruff check --bytecode`, and the bytecode
//! part of trace dumps): one line per instruction with its pc, source line and operands.

use std::fmt::Write;

use super::bytecode::{Instr, Program, Proto};

/// Where a jump-like instruction at `pc` goes, if it has a target.
pub fn jump_target(pc: usize, instr: &Instr) -> Option<usize> {
    let offset = match *instr {
        Instr::Jump { offset }
        | Instr::JumpIfFalse { offset, .. }
        | Instr::JumpIfTrue { offset, .. }
        | Instr::JumpIfNotNull { offset, .. }
        | Instr::ForPrep { offset, .. }
        | Instr::ForNext { offset, .. }
        | Instr::ForRangePrep { offset, .. }
        | Instr::ForRangeNext { offset, .. }
        | Instr::TryBegin { offset, .. } => offset,
        _ => return None,
    };
    Some((pc as i64 + 1 + offset as i64) as usize)
}

/// One instruction: `0007  L3  AddK { dst: 2, lhs: 2, index: 1 }  -> 0003`.
pub fn instruction_line(proto: &Proto, pc: usize) -> String {
    let instr = &proto.code[pc];
    let mut line = format!("{:04}  L{:<4} {:?}", pc, proto.spans[pc].line, instr);
    if let Some(target) = jump_target(pc, instr) {
        let _ = write!(line, "  -> {:04}", target);
    }
    line
}

pub fn proto_listing(proto: &Proto) -> String {
    let mut out = format!(
        "function {} (arity {}, {} slots{})\n",
        proto.name,
        proto.arity,
        proto.num_slots,
        if proto.is_method { ", method" } else { "" }
    );
    for (i, c) in proto.constants.iter().enumerate() {
        let _ = writeln!(out, "  const {:<3} {:?}", i, c);
    }
    for pc in 0..proto.code.len() {
        let _ = writeln!(out, "  {}", instruction_line(proto, pc));
    }
    out
}

/// Every function of the user's program (the library is left out).
pub fn program_listing(program: &Program) -> String {
    program.protos.iter().filter(|p| !p.is_library).map(proto_listing).collect::<Vec<_>>().join("\n")
}
