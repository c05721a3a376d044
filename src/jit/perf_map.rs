//! `--jit-perf-map`: the map file through which Linux `perf` names JIT code. For every
//! compiled trace one line `START SIZE NAME` (hex address and byte count of the trace's
//! machine code, exit stubs and linked entries included) is appended to
//! `/tmp/perf-PID.map`, the file `perf report` reads for a process's anonymous code, so a
//! profile shows `ruff trace 3: loop at prog.ruff:12 in main` where it would show a bare
//! address.
//!
//! Invariant: a line is written only once its code is in place, and flushed at once (perf
//! reads the file after the process is gone). Code dropped by a flush keeps its line;
//! a later trace at the same address gets a line of its own, which perf prefers, being
//! the later one.

use std::io::Write;

pub struct PerfMap {
    file: std::fs::File,
}

impl PerfMap {
    /// Where perf looks for this process's map.
    pub fn path() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("perf-{}.map", std::process::id()))
    }

    /// Creates (or truncates) the map; on failure says why on stderr, once, and the run
    /// goes on without it.
    pub fn create() -> Option<PerfMap> {
        let path = PerfMap::path();
        match std::fs::File::create(&path) {
            Ok(file) => Some(PerfMap { file }),
            Err(e) => {
                eprintln!("ruff: --jit-perf-map: cannot create {}: {}", path.display(), e);
                None
            }
        }
    }

    /// Names the `size` bytes of machine code at `start`.
    pub fn name(&mut self, start: usize, size: usize, name: &str) {
        let _ = writeln!(self.file, "{:x} {:x} {}", start, size, name);
    }
}
