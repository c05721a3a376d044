//! The sampling profiler behind `--profile`: an interval timer (`setitimer(ITIMER_PROF)`,
//! every `SAMPLE_INTERVAL_US` of CPU time) raises SIGPROF, whose handler appends what
//! the program is doing to a ring of samples:
//!
//! - the interpreter's location, which the profiling specialization of the dispatch loop
//!   stores in [`LOCATION`] before each instruction (prototype and pc);
//! - or, while native code runs (`Jit::run` stores it), the trace's number with
//!   [`NATIVE`] set.
//!
//! The handler only loads and stores atomics (async-signal-safe); the ring is drained into
//! per-location counts at safe points ([`drain`]). Samples that arrive while the ring is
//! full are counted as lost.
//!
//! Invariant: at most one profiler runs per process (the statics are global); `ruff` runs
//! one program per process.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::stats::Stats;
use crate::compile::bytecode::{Program, ProtoId};

/// CPU time between samples.
pub const SAMPLE_INTERVAL_US: i64 = 1000;
/// Set in a sample (and in `LOCATION`) while native code runs: the rest is the trace id.
pub const NATIVE: u64 = 1 << 63;
/// What runs now: `proto << 32 | pc` in the interpreter, `NATIVE | trace` in native code.
pub static LOCATION: AtomicU64 = AtomicU64::new(0);
/// Whether samples are being taken (so the interpreter and the JIT store `LOCATION`).
pub static ACTIVE: AtomicBool = AtomicBool::new(false);

const RING_SIZE: usize = 1 << 16;
static RING: [AtomicU64; RING_SIZE] = [const { AtomicU64::new(0) }; RING_SIZE];
/// Samples written (by the handler) and read (by `drain`); both only grow.
static WRITTEN: AtomicUsize = AtomicUsize::new(0);
static READ: AtomicUsize = AtomicUsize::new(0);
static LOST: AtomicU64 = AtomicU64::new(0);
/// The process's CPU time when sampling started and stopped, in nanoseconds.
static CPU_START: AtomicU64 = AtomicU64::new(0);
static CPU_STOP: AtomicU64 = AtomicU64::new(0);

/// CPU time the process has used (all threads), in nanoseconds.
fn cpu_time() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the struct passed to it.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

extern "C" fn on_sigprof(_: libc::c_int) {
    let written = WRITTEN.load(Ordering::Relaxed);
    if written - READ.load(Ordering::Acquire) >= RING_SIZE {
        LOST.fetch_add(1, Ordering::Relaxed);
        return;
    }
    RING[written % RING_SIZE].store(LOCATION.load(Ordering::Relaxed), Ordering::Relaxed);
    WRITTEN.store(written + 1, Ordering::Release);
}

/// Starts sampling (installs the handler and the timer). Errors are the OS's.
pub fn start() -> std::io::Result<()> {
    ACTIVE.store(true, Ordering::Relaxed);
    CPU_START.store(cpu_time(), Ordering::Relaxed);
    // SAFETY: `on_sigprof` only touches atomics, which is async-signal-safe; the
    // sigaction struct is zeroed and then filled in as sigaction(2) documents.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigprof as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    set_timer(SAMPLE_INTERVAL_US)
}

/// Stops sampling; the ring keeps what was taken.
pub fn stop() {
    let _ = set_timer(0);
    CPU_STOP.store(cpu_time(), Ordering::Relaxed);
    ACTIVE.store(false, Ordering::Relaxed);
}

fn set_timer(microseconds: i64) -> std::io::Result<()> {
    let interval = libc::timeval { tv_sec: 0, tv_usec: microseconds as libc::suseconds_t };
    let timer = libc::itimerval { it_interval: interval, it_value: interval };
    // SAFETY: setitimer reads the struct passed and writes no old value (null).
    if unsafe { libc::setitimer(libc::ITIMER_PROF, &timer, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Hands every sample taken since the last call to `each`.
pub fn drain(mut each: impl FnMut(u64)) {
    let written = WRITTEN.load(Ordering::Acquire);
    let mut read = READ.load(Ordering::Relaxed);
    while read < written {
        each(RING[read % RING_SIZE].load(Ordering::Relaxed));
        read += 1;
    }
    READ.store(read, Ordering::Release);
}

/// Samples dropped because the ring was full.
pub fn lost() -> u64 {
    LOST.load(Ordering::Relaxed)
}

/// Whether the ring is more than half full (time to drain).
pub fn wants_drain() -> bool {
    WRITTEN.load(Ordering::Relaxed) - READ.load(Ordering::Relaxed) > RING_SIZE / 2
}

/// Samples counted by where they were taken.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// Interpreter samples by `(prototype, pc)`.
    pub interpreted: rustc_hash::FxHashMap<(u32, u32), u64>,
    /// Native samples by trace number.
    pub native: rustc_hash::FxHashMap<u32, u64>,
}

impl Samples {
    /// Counts the samples waiting in the ring.
    pub fn collect(&mut self) {
        drain(|sample| {
            if sample & NATIVE != 0 {
                *self.native.entry((sample & !NATIVE) as u32).or_insert(0) += 1;
            } else {
                *self.interpreted.entry(((sample >> 32) as u32, sample as u32)).or_insert(0) += 1;
            }
        });
    }
}

/// One source line's share of the profile: samples (fractional for native code, spread
/// over a trace's lines), exits taken and recordings aborted there.
#[derive(Clone, Debug, Default)]
pub struct LineCost {
    pub interpreted: f64,
    pub native: f64,
    pub exits: u64,
    pub aborts: u64,
}

impl LineCost {
    pub fn samples(&self) -> f64 {
        self.interpreted + self.native
    }
}

/// The `--profile` report: per source line the samples (CPU time), the share of them in
/// native code, and the trace exits and aborted recordings at that line, costliest first,
/// with the line's source text.
///
/// Interpreter samples belong to the line of the instruction running. Native samples
/// belong to a trace; they are spread over the lines it was recorded from, in proportion
/// to the bytecode instructions it recorded at each line (native code does not say which
/// instruction is running). Samples in library functions (`map`, ...) count at line 0.
pub fn report(file: &str, source: &str, program: &Program, samples: &Samples, stats: Option<&Stats>) -> String {
    let lines = line_costs(program, samples, stats);
    let total_samples: u64 = samples.interpreted.values().chain(samples.native.values()).sum();
    let native_samples: u64 = samples.native.values().sum();
    // The kernel rounds the timer to its tick, so the time a sample stands for is measured.
    let cpu_seconds = cpu_seconds();
    let mut out = format!(
        "Profile of {}: {} samples over {:.3} s of CPU time{}, {:.1}% in native code{}\n",
        file,
        total_samples,
        cpu_seconds,
        match total_samples {
            0 => String::new(),
            n => format!(" (one per {:.1} ms)", cpu_seconds * 1e3 / n as f64),
        },
        percent(native_samples as f64, total_samples as f64),
        match lost() {
            0 => String::new(),
            n => format!(" ({} samples lost)", n),
        }
    );
    let _ = writeln!(
        out,
        "{:>6} {:>8} {:>6} {:>7} {:>7} {:>6}  source",
        "line", "samples", "time", "native", "exits", "aborts"
    );
    let mut rows: Vec<(&u32, &LineCost)> = lines.iter().collect();
    rows.sort_by(|a, b| {
        let cost = |c: &LineCost| c.interpreted + c.native;
        cost(b.1).total_cmp(&cost(a.1)).then(b.1.exits.cmp(&a.1.exits)).then(a.0.cmp(b.0))
    });
    let source_lines: Vec<&str> = source.lines().collect();
    for (&line, cost) in rows {
        let samples = cost.interpreted + cost.native;
        let text = match line {
            0 => "(library functions, or native code not mapped to a line)",
            n => source_lines.get(n as usize - 1).map_or("", |l| l.trim()),
        };
        let _ = writeln!(
            out,
            "{:>6} {:>8.0} {:>5.1}% {:>6.1}% {:>7} {:>6}  {}",
            line,
            samples,
            percent(samples, total_samples as f64),
            percent(cost.native, samples),
            cost.exits,
            cost.aborts,
            text
        );
    }
    out
}

/// The CPU time the samples cover, in seconds.
pub fn cpu_seconds() -> f64 {
    CPU_STOP.load(Ordering::Relaxed).saturating_sub(CPU_START.load(Ordering::Relaxed)) as f64 / 1e9
}

/// What each source line cost (line 0: library functions, or native code with no line).
pub fn line_costs(program: &Program, samples: &Samples, stats: Option<&Stats>) -> BTreeMap<u32, LineCost> {
    let mut lines: BTreeMap<u32, LineCost> = BTreeMap::new();
    for (&(proto, pc), &count) in &samples.interpreted {
        let proto = program.proto(ProtoId(proto));
        let line = if proto.is_library { 0 } else { proto.spans.get(pc as usize).map_or(0, |s| s.line) };
        lines.entry(line).or_default().interpreted += count as f64;
    }
    let traces = stats.map_or(&[][..], |s| &s.traces[..]);
    for (&trace, &count) in &samples.native {
        let weights = traces.get(trace as usize).map_or(&[][..], |t| &t.line_weights[..]);
        let total: u32 = weights.iter().map(|&(_, w)| w).sum();
        if total == 0 {
            lines.entry(0).or_default().native += count as f64;
            continue;
        }
        for &(line, weight) in weights {
            lines.entry(line).or_default().native += count as f64 * weight as f64 / total as f64;
        }
    }
    for t in traces {
        for (exit, &count) in t.native.exits.iter().enumerate().filter(|(_, &c)| c > 0) {
            lines.entry(t.exit_sites[exit].line()).or_default().exits += count;
        }
    }
    for (key, &count) in stats.map_or(Default::default(), |s| s.aborts.iter().collect::<Vec<_>>()) {
        lines.entry(key.at.line()).or_default().aborts += count;
    }
    lines
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole == 0.0 {
        0.0
    } else {
        100.0 * part / whole
    }
}
