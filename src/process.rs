//! The process a script runs in (LANGUAGE.md section 18.2): its arguments, its buffered
//! standard output, and what happens at signals and closed pipes.
//!
//! Terms:
//! - *Script arguments*: every command-line argument after FILE (`args()`), set once by
//!   the CLI before the program runs; empty for embedders and tests that never set them.
//! - *Process stdout* ([`Stdout`]): the writer `ruff run` hands the interpreter. One
//!   buffer for the whole process, line-buffered when standard output is a terminal and
//!   block-buffered otherwise.
//!
//! Invariants: no printed byte is lost. The buffer is flushed at exit (`exit()` and the
//! end of `ruff run`), before an uncaught error is printed, before `input()` reads, and
//! by the signal thread on SIGINT/SIGTERM, which then ends the process the way the
//! signal would have. A write that finds the reader of a pipe gone ends the process at
//! once with status 141 (128 + SIGPIPE) and nothing on stderr, as Unix tools do.

use std::io::{self, IsTerminal, Write};
use std::sync::{Mutex, OnceLock};

/// Exit status of a process whose output pipe was closed (128 + SIGPIPE).
pub const BROKEN_PIPE_STATUS: i32 = 141;

/// Bytes buffered before a block-buffered stdout writes them out.
const BLOCK_SIZE: usize = 1 << 16;

static SCRIPT_ARGS: OnceLock<Vec<String>> = OnceLock::new();

/// Records the script's arguments; only the first call has an effect.
pub fn set_script_args(args: Vec<String>) {
    let _ = SCRIPT_ARGS.set(args);
}

/// The arguments after FILE on the command line.
pub fn script_args() -> &'static [String] {
    SCRIPT_ARGS.get().map(Vec::as_slice).unwrap_or(&[])
}

struct StdoutBuffer {
    bytes: Vec<u8>,
    /// Write out up to the last newline after each write (stdout is a terminal).
    line_buffered: bool,
}

static STDOUT: Mutex<StdoutBuffer> = Mutex::new(StdoutBuffer { bytes: Vec::new(), line_buffered: false });

fn buffer() -> std::sync::MutexGuard<'static, StdoutBuffer> {
    // A panic while holding the lock leaves bytes that are still worth writing.
    STDOUT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes `bytes` to the real standard output; a closed pipe ends the process quietly.
fn write_through(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(BROKEN_PIPE_STATUS),
        result => result,
    }
}

/// The interpreter's standard output (see the module docs).
pub struct Stdout;

impl Stdout {
    /// Sets up the process stdout: line-buffered when it is a terminal.
    pub fn new() -> Stdout {
        buffer().line_buffered = io::stdout().is_terminal();
        Stdout
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Stdout::new()
    }
}

impl Write for Stdout {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut buffer = buffer();
        buffer.bytes.extend_from_slice(data);
        let ready = if buffer.line_buffered {
            buffer.bytes.iter().rposition(|&b| b == b'\n').map(|last| last + 1)
        } else {
            (buffer.bytes.len() >= BLOCK_SIZE).then_some(buffer.bytes.len())
        };
        if let Some(end) = ready {
            let result = write_through(&buffer.bytes[..end]);
            buffer.bytes.drain(..end);
            result?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        flush_stdout()
    }
}

/// Writes out everything buffered for standard output.
pub fn flush_stdout() -> io::Result<()> {
    let mut buffer = buffer();
    if buffer.bytes.is_empty() {
        return Ok(());
    }
    let bytes = std::mem::take(&mut buffer.bytes);
    write_through(&bytes)
}

/// Flushes output and ends the process with `status` (the `exit` builtin).
pub fn exit(status: i32) -> ! {
    let _ = flush_stdout();
    let _ = io::stderr().flush();
    std::process::exit(status)
}

/// Starts the thread that, on SIGINT or SIGTERM, flushes standard output and then ends
/// the process as the signal's default action would (so the parent sees the signal).
pub fn flush_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let _ = std::thread::Builder::new().name("ruff-signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _ = flush_stdout();
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal);
        }
    });
}
