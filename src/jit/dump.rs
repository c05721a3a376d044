//! Trace dumps (`--dump-traces`): for each compiled trace its source location, the
//! bytecode recorded, the IR as recorded and after optimization (with snapshots, guard
//! numbers and source lines), and the machine code.

use std::path::{Path, PathBuf};

use super::assemble::{self, CompiledTrace};
use super::ir::Trace;
use super::record::{Recorder, TraceKind};
use crate::builtins::BUILTINS;
use crate::compile::bytecode::{Instr, Program, Proto};
use crate::compile::listing::instruction_line;
use crate::runtime::value::Value;

#[derive(Clone, Debug)]
pub enum DumpTarget {
    Stderr,
    /// One file per trace, `trace-NNNN.txt`, in this directory.
    Directory(PathBuf),
}

/// The file of a dump directory listing the aborted recordings, one line each.
const ABORTS_FILE: &str = "aborts.txt";

/// Makes `dir` ready for this run's dumps: creates it, removes the `trace-NNNN.txt` and `aborts.txt` files
/// of earlier runs, and checks that a file can be written there.
pub fn prepare_directory(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if (name.starts_with("trace-") && name.ends_with(".txt")) || name == ABORTS_FILE {
            std::fs::remove_file(&path)?;
        }
    }
    let probe = dir.join(".ruff-dump-probe");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

impl DumpTarget {
    /// Adds an aborted recording's line: to stderr, or to `aborts.txt` in the directory.
    pub fn write_abort(&self, text: &str) {
        match self {
            DumpTarget::Stderr => eprint!("{}", text),
            DumpTarget::Directory(dir) => {
                let path = dir.join(ABORTS_FILE);
                let appended = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()));
                if let Err(e) = appended {
                    eprintln!("ruff: cannot write {}: {}", path.display(), e);
                }
            }
        }
    }

    pub fn write(&self, id: u32, text: &str) {
        match self {
            DumpTarget::Stderr => eprint!("{}", text),
            DumpTarget::Directory(dir) => {
                let path = dir.join(format!("trace-{:04}.txt", id));
                if let Err(e) = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, text)) {
                    eprintln!("ruff: cannot write trace dump {}: {}", path.display(), e);
                }
            }
        }
    }
}

/// `ir` (IR text) with each global `gN` of `GLOAD`/`GSTORE` followed by its name:
/// `g8(total)`.
fn named_globals(program: &Program, ir: &str) -> String {
    let mut out = String::with_capacity(ir.len());
    for line in ir.lines() {
        if !line.contains("GLOAD") && !line.contains("GSTORE") {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        // The name takes the place of the padding after it, so the columns stay aligned.
        let mut named: Vec<String> = Vec::new();
        let mut padding_to_drop = 0;
        for word in line.split(' ') {
            if word.is_empty() && padding_to_drop > 0 {
                padding_to_drop -= 1;
                continue;
            }
            match word.strip_prefix('g').and_then(|n| n.parse::<usize>().ok()) {
                Some(global) if global < program.globals.len() => {
                    let name = format!("({})", program.globals[global].name);
                    padding_to_drop = name.len();
                    named.push(format!("{}{}", word, name));
                }
                _ => named.push(word.to_string()),
            }
        }
        out.push_str(&named.join(" "));
        out.push('\n');
    }
    out
}

/// The names behind an instruction's numbered operands, as `  ; g8=total k3=len`: the
/// global it reads or writes, the constant it loads, the variables in its slots.
fn operand_names(program: &Program, proto: &Proto, pc: usize) -> String {
    let mut names = Vec::new();
    let instr = proto.code[pc];
    match instr {
        Instr::GetGlobal { global, .. } | Instr::TakeGlobal { global, .. } | Instr::SetGlobal { global, .. } => {
            names.push(format!("g{}={}", global, program.globals[global as usize].name));
        }
        Instr::LoadConst { index, .. } => {
            let value = proto.constants[index as usize];
            let shown = match value {
                Value::Builtin(id) => BUILTINS[id as usize].name.to_string(),
                other => format!("{:?}", other),
            };
            names.push(format!("k{}={}", index, shown));
        }
        _ => {}
    }
    let text = format!("{:?}", instr);
    for field in ["dst", "src", "lhs", "rhs", "obj", "base"] {
        let Some(at) = text.find(&format!("{}: ", field)) else { continue };
        let digits: String = text[at + field.len() + 2..].chars().take_while(|c| c.is_ascii_digit()).collect();
        let Ok(slot) = digits.parse::<u16>() else { continue };
        if let Some(name) = proto.slot_name(slot, pc as u32) {
            names.push(format!("#{}={}", slot, name));
        }
    }
    if names.is_empty() {
        String::new()
    } else {
        format!("  ; {}", names.join(" "))
    }
}

pub fn trace_dump(
    id: u32,
    program: &Program,
    recorder: &Recorder,
    recorded: &Trace,
    optimized: &Trace,
    compiled: &CompiledTrace,
) -> String {
    let proto = program.proto(recorder.proto);
    let mut out = match recorder.side_of {
        Some(side_of) => format!(
            "---- TRACE {} start side trace of trace {} exit {} in {} (back to loop header pc {})\n",
            id,
            side_of.parent + 1,
            side_of.exit.0,
            proto.name,
            recorder.header
        ),
        None if recorder.kind == TraceKind::Function => {
            format!("---- TRACE {} start function {} line {}\n", id, proto.name, proto.spans[0].line)
        }
        None => format!(
            "---- TRACE {} start {} line {} (loop header pc {})\n",
            id, proto.name, proto.spans[recorder.back_edge as usize].line, recorder.header
        ),
    };
    out.push_str(&format!("---- TRACE {} bytecode\n", id));
    for &(callee, pc) in &recorder.bytecode {
        let names = operand_names(program, program.proto(callee), pc as usize);
        if callee != recorder.proto {
            let inlined = program.proto(callee);
            let line = instruction_line(inlined, pc as usize);
            out.push_str(&format!("  [{}] {}{}\n", inlined.name, line.trim_start(), names));
            continue;
        }
        out.push_str(&instruction_line(proto, pc as usize));
        out.push_str(&names);
        out.push('\n');
    }
    out.push_str(&format!("---- TRACE {} IR recorded\n{}", id, named_globals(program, &recorded.to_string())));
    out.push_str(&format!("---- TRACE {} IR optimized\n{}", id, named_globals(program, &optimized.to_string())));
    out.push_str(&format!("---- TRACE {} mcode {} bytes\n{}", id, compiled.code_size, assemble::disassemble(compiled)));
    out.push_str(&format!("---- TRACE {} end\n", id));
    out
}
