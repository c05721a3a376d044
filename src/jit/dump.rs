//! Trace dumps (`--dump-traces`): for each compiled trace its source location, the
//! bytecode recorded, the IR as recorded and after optimization (with snapshots, guard
//! numbers and source lines), and the machine code.

use std::path::{Path, PathBuf};

use super::assemble::{self, CompiledTrace};
use super::ir::Trace;
use super::record::{Recorder, TraceKind};
use crate::compile::bytecode::Program;
use crate::compile::listing::instruction_line;

#[derive(Clone, Debug)]
pub enum DumpTarget {
    Stderr,
    /// One file per trace, `trace-NNNN.txt`, in this directory.
    Directory(PathBuf),
}

/// Makes `dir` ready for this run's dumps: creates it, removes the `trace-NNNN.txt` files
/// of earlier runs, and checks that a file can be written there.
pub fn prepare_directory(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("trace-") && name.ends_with(".txt") {
            std::fs::remove_file(&path)?;
        }
    }
    let probe = dir.join(".ruff-dump-probe");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

impl DumpTarget {
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
        if callee != recorder.proto {
            let inlined = program.proto(callee);
            out.push_str(&format!("  [{}] {}\n", inlined.name, instruction_line(inlined, pc as usize).trim_start()));
            continue;
        }
        out.push_str(&instruction_line(proto, pc as usize));
        out.push('\n');
    }
    out.push_str(&format!("---- TRACE {} IR recorded\n{}", id, recorded));
    out.push_str(&format!("---- TRACE {} IR optimized\n{}", id, optimized));
    out.push_str(&format!("---- TRACE {} mcode {} bytes\n{}", id, compiled.code_size, assemble::disassemble(compiled)));
    out.push_str(&format!("---- TRACE {} end\n", id));
    out
}
