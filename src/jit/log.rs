//! The JIT's event log (`--jit-log[=FILE]`): one line per event as it happens, in the
//! spirit of LuaJIT's `-jv`: a recording starts, is given up (with its reason and the
//! operation it stopped at), or compiles (sizes and time); a side trace attaches to its
//! exit; an exit is linked to its side trace; a trace is retired; every trace is flushed.
//!
//! Every line starts with `[jit] `; locations are `file:line[:col]`. Times are the only
//! part that changes from run to run.

use std::io::Write;
use std::path::PathBuf;

/// Where the log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    Stderr,
    File(PathBuf),
}

pub struct EventLog {
    out: Box<dyn Write>,
}

impl EventLog {
    /// Opens the log; a file is created (or truncated) here.
    pub fn open(target: &LogTarget) -> std::io::Result<EventLog> {
        let out: Box<dyn Write> = match target {
            LogTarget::Stderr => Box::new(std::io::stderr()),
            LogTarget::File(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        };
        Ok(EventLog { out })
    }

    /// Writes one event. A log that cannot be written is given up silently: the program's
    /// own output and errors matter more than the log.
    pub fn event(&mut self, text: std::fmt::Arguments) {
        let _ = writeln!(self.out, "[jit] {}", text);
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}
