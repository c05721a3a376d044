//! What the JIT did, for `--jit-stats` (text) and `--jit-stats=json`: compiled traces with
//! their sizes and exits per guard, aborts grouped by reason and location, deoptimizations,
//! time spent, and the share of loop iterations that ran natively.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::abi::{COUNT_CALLS_MADE, COUNT_CALLS_RETURNED, COUNT_COMPLETIONS, COUNT_ENTRIES, COUNT_EXITS};
use super::abort::AbortReason;
use crate::compile::bytecode::{Program, ProtoId};

/// What an exit checks, for explaining why it is taken.
#[derive(Clone, Debug, PartialEq)]
pub enum ExitKind {
    /// A type check on a variable (named in the program's terms), expecting `expected`.
    TypeCheck {
        what: String,
        expected: &'static str,
    },
    /// A branch that went the other way than when the trace was recorded.
    Branch,
    /// The loop's own continuation test: leaving the loop normally.
    LoopEnd,
    Overflow,
    Division,
    ArrayRead,
    ArrayWrite,
    StringAppend,
    /// `s[i]` out of bounds, or the new string made a collection due.
    StringIndex,
    MathDomain,
    /// A recursive call deeper than native code follows in one entry.
    RecursionDepth,
    /// An allocation on trace after which the heap wanted a collection.
    CollectionDue,
    /// A push recorded on a shared array found it unshared, or made a collection due.
    SharedPush,
    /// A field taken from a dying struct that was unshared when recorded found it shared.
    SharedStruct,
    /// A call of this builtin raised an error, returned another type than when recorded,
    /// or made the heap due for a collection.
    BuiltinCall(&'static str),
    /// A residual call (the interpreter's implementation of an instruction, named by its
    /// `jit::residual` function) raised an error or made the heap due for a collection.
    ResidualCall(&'static str),
}

/// Exits taken at least this often get an explanation in the report.
const EXPLAINED_EXITS: u64 = 5;

/// One frame of a source position: a function and a line and column in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SiteFrame {
    pub function: String,
    pub line: u32,
    pub col: u32,
    /// A library function (`map`, ...): its line and column are in the library's source.
    pub library: bool,
}

/// Where something happened in the source: the operation (last) and the calls inlined
/// around it, outermost first (each at its call). Library functions (`map`, ...) called
/// from the program are left out, as in runtime errors' locations: their operations show
/// at the user's call. A site wholly in a library function (a trace of `map`'s loop)
/// keeps it, marked as the library's.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Site(pub Vec<SiteFrame>);

impl Site {
    /// The site of `chain`: `(prototype, pc)` pairs, outermost first, each an instruction
    /// in that prototype (a call, then the operation).
    pub fn of(program: &Program, chain: &[(ProtoId, u32)]) -> Site {
        let mut frames: Vec<SiteFrame> = Vec::new();
        for &(proto, pc) in chain {
            let proto = program.proto(proto);
            if proto.is_library && !frames.is_empty() {
                continue;
            }
            let span = proto.spans.get(pc as usize).copied().unwrap_or_default();
            let (function, library) = (proto.name.clone(), proto.is_library);
            frames.push(SiteFrame { function, line: span.line, col: span.col, library });
        }
        Site(frames)
    }

    /// The operation's own line in the program (0 when unknown, or in the library).
    pub fn line(&self) -> u32 {
        self.0.last().filter(|f| !f.library).map_or(0, |f| f.line)
    }

    pub fn col(&self) -> u32 {
        self.0.last().filter(|f| !f.library).map_or(0, |f| f.col)
    }

    /// `FILE:LINE:COL in FUNCTION`, then `, inlined at FILE:LINE:COL in CALLER` for each call
    /// around it, innermost first.
    pub fn describe(&self, file: &str) -> String {
        let mut out = String::new();
        for (n, frame) in self.0.iter().rev().enumerate() {
            if n > 0 {
                out.push_str(", inlined at ");
            }
            let file = if frame.library { "<library>" } else { file };
            let _ = write!(out, "{}:{}:{} in {}", file, frame.line, frame.col, frame.function);
        }
        if out.is_empty() {
            out.push_str(file);
        }
        out
    }

    fn json(&self) -> String {
        let frames: Vec<String> = self
            .0
            .iter()
            .map(|f| {
                format!(
                    "{{\"function\":{},\"line\":{},\"col\":{},\"library\":{}}}",
                    json_string(&f.function),
                    f.line,
                    f.col,
                    f.library
                )
            })
            .collect();
        format!("[{}]", frames.join(","))
    }
}

/// What a trace's machine code counted (`abi::COUNT_ENTRIES` and the rest), read when
/// the report is made or the trace is flushed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NativeCounts {
    /// Arrivals at the trace's start: from the interpreter, a linked exit, a side trace
    /// going back to its root, a native call or jump.
    pub entries: u64,
    /// Runs that reached the trace's end (a side trace back at the loop header, a
    /// function return, a jump into a loop trace, an unpeeled loop starting over).
    pub completions: u64,
    pub calls_made: u64,
    pub calls_returned: u64,
    /// Per exit: times taken, to the interpreter or into a linked side trace.
    pub exits: Vec<u64>,
}

impl NativeCounts {
    pub fn from_counters(counters: &[u64]) -> NativeCounts {
        NativeCounts {
            entries: counters[COUNT_ENTRIES],
            completions: counters[COUNT_COMPLETIONS],
            calls_made: counters[COUNT_CALLS_MADE],
            calls_returned: counters[COUNT_CALLS_RETURNED],
            exits: counters[COUNT_EXITS..].to_vec(),
        }
    }

    /// Runs left unfinished because an exit inside a native call unwound them.
    pub fn abandoned(&self) -> u64 {
        self.calls_made - self.calls_returned
    }
}

#[derive(Clone, Debug)]
pub struct TraceStats {
    /// Trace number as shown to users (from 1).
    pub id: u32,
    pub function: String,
    /// Source line of the loop's back-edge, or of a function trace's function.
    pub line: u32,
    /// Whether that function is a library function (`map`, ...): `line` is then in the
    /// library's source.
    pub library: bool,
    pub recorded_size: usize,
    pub ir_size: usize,
    pub mcode_size: usize,
    /// Times each exit reached the exit handler (not counting exits linked to their side
    /// trace, which jump there natively); the JIT's heuristics read these.
    pub handled_exits: Vec<u64>,
    /// Where each exit's guard is: the operation it checks.
    pub exit_sites: Vec<Site>,
    /// Times the interpreter entered the trace.
    pub interpreter_entries: u64,
    /// What the machine code counted.
    pub native: NativeCounts,
    /// For a side trace: the number of the trace whose exit it continues, and the exit.
    pub parent: Option<(u32, u32)>,
    /// Whether the trace (or its root) records calls of a function rather than a loop.
    pub function_trace: bool,
    pub exit_kinds: Vec<ExitKind>,
    /// For type-check exits: the type the value had when the check last failed.
    pub exit_observed: Vec<Option<&'static str>>,
    /// Exits that have a side trace (its number).
    pub exit_side_trace: Vec<Option<u32>>,
    /// Exits that jump straight into their side trace (no longer through the handler).
    pub exit_linked: Vec<bool>,
    /// The `--dump-traces` text of the trace (bytecode, IR, machine code), kept for the
    /// HTML report when one is asked for.
    pub dump: Option<String>,
    /// The source lines the trace was recorded from, each with the number of bytecode
    /// instructions recorded there (library functions left out), ordered by line.
    pub line_weights: Vec<(u32, u32)>,
}

impl TraceStats {
    /// What the trace is, for the report: `loop at FILE:LINE in F`, `function F at
    /// FILE:LINE`, or `side trace of trace N exit E`.
    pub fn describe(&self, file: &str) -> String {
        let file = if self.library { "<library>" } else { file };
        match self.parent {
            Some((parent, exit)) => format!("side trace of trace {} exit {}", parent, exit),
            None if self.function_trace => format!("function {} at {}:{}", self.function, file, self.line),
            None => format!("loop at {}:{} in {}", file, self.line, self.function),
        }
    }

    /// One sentence on why exit `exit` was taken `count` times, or `None` for exits that
    /// need none (a loop ending, or an exit taken only a few times).
    fn explain_exit(&self, file: &str, exit: usize, count: u64) -> Option<String> {
        if count < EXPLAINED_EXITS {
            return None;
        }
        let at = self.exit_sites[exit].describe(file);
        let loop_part = match self.parent {
            Some((parent, _)) => format!("side trace {} (of trace {})", self.id, parent),
            None if self.function_trace => format!("the trace of {} (line {})", self.function, self.line),
            None => format!("the loop at line {}", self.line),
        };
        let then = match self.exit_side_trace.get(exit).copied().flatten() {
            Some(side) => format!("side trace {} continues from there", side),
            None => "the rest of each such iteration ran in the interpreter".to_string(),
        };
        let times = times(count);
        let sentence = match &self.exit_kinds[exit] {
            ExitKind::LoopEnd => return None,
            ExitKind::TypeCheck { what, expected } => {
                let found = self.exit_observed[exit].unwrap_or("another type");
                format!(
                    "{} held {} at {} where {} was compiled for {}, so it left native code there {}",
                    what,
                    with_article(found),
                    at,
                    loop_part,
                    with_article(expected),
                    times
                )
            }
            ExitKind::Branch => {
                format!("the condition at {} went the other way than when {} was recorded, {}; {}", at, loop_part, times, then)
            }
            ExitKind::Overflow => format!("integer arithmetic at {} overflowed {}, leaving {}", at, times, loop_part),
            ExitKind::Division => {
                format!("a division at {} had a zero (or overflowing) divisor {}, leaving {}", at, times, loop_part)
            }
            ExitKind::ArrayRead => format!(
                "an array read at {} was out of bounds or found an element of another type {}, leaving {}",
                at, times, loop_part
            ),
            ExitKind::ArrayWrite => format!(
                "an array write at {} found the array shared (so it had to be copied) or the index out of bounds {}, leaving {}",
                at, times, loop_part
            ),
            ExitKind::StringIndex => format!(
                "a string index at {} was out of bounds or made the heap due for a collection {}, leaving {}",
                at, times, loop_part
            ),
            ExitKind::StringAppend => format!(
                "a string append at {} found the string shared (so a new string had to be built) {}, leaving {}",
                at, times, loop_part
            ),
            ExitKind::MathDomain => {
                format!("a math builtin at {} got an argument outside its domain {}, leaving {}", at, times, loop_part)
            }
            ExitKind::CollectionDue => format!(
                "an allocation at {} made the heap due for a collection {}, leaving {} for the interpreter to collect",
                at, times, loop_part
            ),
            ExitKind::SharedPush => format!(
                "a push at {} found the array no longer shared (it is appended to in place) or made the heap due for a collection {}, leaving {}",
                at, times, loop_part
            ),
            ExitKind::SharedStruct => format!(
                "a field read at {} found its struct shared (so the field is shared too) {}, leaving {}",
                at, times, loop_part
            ),
            ExitKind::BuiltinCall(name) => format!(
                "the call of {} at {} failed, returned another type than when recorded or made the heap due for a collection {}, leaving {}",
                name, at, times, loop_part
            ),
            ExitKind::ResidualCall(name) => format!(
                "the interpreter's {} at {} raised an error or made the heap due for a collection {}, leaving {}",
                name, at, times, loop_part
            ),
            ExitKind::RecursionDepth => format!(
                "the recursive call at {} went deeper than native code follows {}, leaving {}",
                at, times, loop_part
            ),
        };
        Some(sentence)
    }
}

/// A recording that was given up, counted by what was being recorded and where.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AbortKey {
    pub site: AbortSite,
    /// The function of the loop or function trace, and the loop's (or function's) line.
    pub function: String,
    pub line: u32,
    /// The operation the recording stopped at.
    pub at: Site,
}

/// A compiled trace the JIT stopped using (or an exit refused a side trace): not an
/// aborted recording, and counted once per decision.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RetirementKey {
    pub reason: AbortReason,
    /// The trace's number, its function and its loop's (or function's) line.
    pub trace: u32,
    pub function: String,
    pub line: u32,
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub traces: Vec<TraceStats>,
    /// Aborted recordings -> count.
    pub aborts: BTreeMap<AbortKey, u64>,
    /// Traces retired, side traces refused -> count.
    pub retirements: BTreeMap<RetirementKey, u64>,
    /// Loop back-edges taken in the interpreter.
    pub interpreted_iterations: u64,
    /// Loop back-edges taken by native code.
    pub native_iterations: u64,
    /// Ruff function calls the interpreter made (filled in by the interpreter at the end).
    pub interpreted_calls: u64,
    /// Ruff function calls native code made: calls inlined into traces and native calls of
    /// function traces (`CALLTRACE`).
    pub native_calls: u64,
    pub recordings_started: u64,
    pub blacklisted: u64,
    /// Times the machine code limit was reached and every trace dropped.
    pub flushes: u64,
    /// Trace exits into the interpreter, each one a deoptimization.
    pub exits: u64,
    pub record_time: Duration,
    pub compile_time: Duration,
    /// Time in native code (measured around each entry from Rust), and the whole run's
    /// time so far, when `JitOptions::measure_native` is set.
    pub native_time: Duration,
    pub run_time: Duration,
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// `1 time`, `N times`.
pub fn times(count: u64) -> String {
    if count == 1 {
        "1 time".to_string()
    } else {
        format!("{} times", count)
    }
}

fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{} {}", article, noun)
}

fn abort_sentence(key: &AbortKey, file: &str, count: u64) -> String {
    let times = times(count);
    let at = key.at.describe(file);
    let (function, line) = (&key.function, key.line);
    match &key.site {
        AbortSite::Loop(reason) => format!(
            "recording the loop at line {} in {} was given up {} at {}: {}",
            line,
            function,
            times,
            at,
            reason.explanation()
        ),
        AbortSite::SideTrace(reason) => format!(
            "recording a side trace of the loop at line {} in {} was given up {} at {}: {}",
            line,
            function,
            times,
            at,
            reason.explanation()
        ),
        AbortSite::Function(reason) => format!(
            "recording calls of {} (line {}) was given up {} at {}: {}",
            function,
            line,
            times,
            at,
            reason.explanation()
        ),
    }
}

fn retirement_sentence(key: &RetirementKey, count: u64) -> String {
    let what = match key.reason {
        AbortReason::TooManySideTraces => {
            format!("an exit of trace {} (line {} in {})", key.trace, key.line, key.function)
        }
        _ => format!("trace {} (line {} in {})", key.trace, key.line, key.function),
    };
    let done = match key.reason {
        AbortReason::TooManySideTraces => "got no side trace",
        _ => "was retired",
    };
    format!(
        "{} {}{}: {}",
        what,
        done,
        if count > 1 { format!(" ({})", times(count)) } else { String::new() },
        key.reason.explanation()
    )
}

/// What failed to compile: a loop's root trace, a function's trace, or a side trace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AbortSite {
    Loop(AbortReason),
    SideTrace(AbortReason),
    Function(AbortReason),
}

impl AbortSite {
    pub fn reason(&self) -> &AbortReason {
        match self {
            AbortSite::Loop(r) | AbortSite::SideTrace(r) | AbortSite::Function(r) => r,
        }
    }
}

pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The version of the `--jit-stats=json` document's layout (docs/jit-stats.md): raised
/// whenever a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 2;

impl Stats {
    /// One sentence per abort, per retirement and per frequently taken exit.
    pub fn explanations(&self, file: &str) -> Vec<String> {
        let mut sentences: Vec<String> =
            self.aborts.iter().map(|(key, count)| abort_sentence(key, file, *count)).collect();
        sentences.extend(self.retirements.iter().map(|(key, count)| retirement_sentence(key, *count)));
        for t in &self.traces {
            sentences.extend(
                t.native.exits.iter().enumerate().filter_map(|(exit, &count)| t.explain_exit(file, exit, count)),
            );
        }
        sentences
    }

    pub fn record_abort(&mut self, key: AbortKey) {
        *self.aborts.entry(key).or_insert(0) += 1;
    }

    pub fn record_retirement(&mut self, key: RetirementKey) {
        *self.retirements.entry(key).or_insert(0) += 1;
    }

    /// The share of the run's time spent in native code.
    fn native_time_percent(&self) -> f64 {
        let run = self.run_time.as_secs_f64();
        if run == 0.0 {
            0.0
        } else {
            100.0 * self.native_time.as_secs_f64() / run
        }
    }

    fn native_share(&self) -> f64 {
        percent(self.native_iterations, self.native_iterations + self.interpreted_iterations)
    }

    /// Calls run natively by function traces: entries into them from the interpreter and
    /// their native calls.
    pub fn function_trace_calls(&self) -> u64 {
        self.traces.iter().filter(|t| t.function_trace && t.parent.is_none()).map(|t| t.native.entries).sum()
    }

    pub fn report_text(&self, file: &str) -> String {
        let mut out = format!("JIT statistics for {}\n", file);
        let _ = writeln!(out, "traces compiled: {}", self.traces.len());
        for t in &self.traces {
            let _ = writeln!(
                out,
                "  trace {}: {}, IR {} instructions (recorded {}), machine code {} bytes",
                t.id,
                t.describe(file),
                t.ir_size,
                t.recorded_size,
                t.mcode_size
            );
            let n = &t.native;
            let exits: u64 = n.exits.iter().sum();
            let mut balance = format!(
                "    entered {} ({} started by the interpreter or the exit handler, the rest natively); left {} through exits, {} at its end",
                times(n.entries),
                t.interpreter_entries,
                exits,
                n.completions
            );
            if n.calls_made > 0 {
                let _ = write!(balance, ", {} unwound inside native calls", n.abandoned());
            }
            let _ = writeln!(out, "{}", balance);
            for (exit, &count) in n.exits.iter().enumerate().filter(|(_, &c)| c > 0) {
                let route = match (t.exit_side_trace[exit], t.exit_linked[exit]) {
                    (Some(side), true) => format!(
                        " ({} to the interpreter, then linked: the rest go straight to side trace {})",
                        t.handled_exits[exit], side
                    ),
                    (Some(side), false) => format!(" (through the exit handler into side trace {})", side),
                    (None, _) => String::new(),
                };
                let what = if t.exit_kinds[exit] == ExitKind::LoopEnd { " (the loop's end)" } else { "" };
                let _ = writeln!(
                    out,
                    "    exit {} at {}{}: taken {}{}",
                    exit,
                    t.exit_sites[exit].describe(file),
                    what,
                    times(count),
                    route
                );
            }
        }
        let total_aborts: u64 = self.aborts.values().sum();
        let _ = writeln!(
            out,
            "recordings: {} started, {} aborted; loops and functions blacklisted: {}",
            self.recordings_started, total_aborts, self.blacklisted
        );
        for (key, count) in &self.aborts {
            let what = match key.site {
                AbortSite::SideTrace(_) => "side trace of the loop at line ",
                AbortSite::Loop(_) => "loop at line ",
                AbortSite::Function(_) => "function at line ",
            };
            let _ = writeln!(
                out,
                "  {}{} in {}: {} at {}: {}",
                what,
                key.line,
                key.function,
                key.site.reason(),
                key.at.describe(file),
                times(*count)
            );
        }
        let retired: u64 = self.retirements.values().sum();
        if retired > 0 {
            let _ = writeln!(out, "traces retired and side traces refused: {}", retired);
            for (key, count) in &self.retirements {
                let _ = writeln!(
                    out,
                    "  trace {} (line {} in {}): {}: {}",
                    key.trace,
                    key.line,
                    key.function,
                    key.reason,
                    times(*count)
                );
            }
        }
        let explanations = self.explanations(file);
        if !explanations.is_empty() {
            let _ = writeln!(out, "why code left or stayed out of native code:");
            for sentence in &explanations {
                let _ = writeln!(out, "  - {}", sentence);
            }
        }
        if self.flushes > 0 {
            let _ = writeln!(
                out,
                "machine code flushes: {} (the JIT's machine code limit was reached, so every trace was dropped and hot code compiled again)",
                self.flushes
            );
        }
        let _ = writeln!(
            out,
            "deoptimizations (exits the exit handler restored into the interpreter's frame): {}",
            self.exits
        );
        let _ = writeln!(
            out,
            "loop iterations: {} native, {} interpreted ({:.1}% native)",
            self.native_iterations,
            self.interpreted_iterations,
            self.native_share()
        );
        let _ = writeln!(
            out,
            "function calls: {} made by native code, {} by the interpreter ({:.1}% native); function traces ran {}",
            self.native_calls,
            self.interpreted_calls,
            percent(self.native_calls, self.native_calls + self.interpreted_calls),
            match self.function_trace_calls() {
                0 => "no calls".to_string(),
                n => format!("{} calls (entered from the interpreter or called natively)", n),
            }
        );
        let _ = writeln!(
            out,
            "time: recording {:.3} ms, compiling {:.3} ms, in native code {:.3} ms of {:.3} ms run ({:.1}%)",
            self.record_time.as_secs_f64() * 1e3,
            self.compile_time.as_secs_f64() * 1e3,
            self.native_time.as_secs_f64() * 1e3,
            self.run_time.as_secs_f64() * 1e3,
            self.native_time_percent()
        );
        out
    }

    pub fn report_json(&self, file: &str) -> String {
        let traces: Vec<String> = self
            .traces
            .iter()
            .map(|t| {
                let exits: Vec<String> = t
                    .native
                    .exits
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c > 0)
                    .map(|(e, c)| {
                        format!(
                            "{{\"exit\":{},\"line\":{},\"col\":{},\"site\":{},\"count\":{},\"to_interpreter\":{},\"side_trace\":{},\"linked\":{}}}",
                            e,
                            t.exit_sites[e].line(),
                            t.exit_sites[e].col(),
                            t.exit_sites[e].json(),
                            c,
                            t.handled_exits[e],
                            t.exit_side_trace[e].map_or("null".to_string(), |s| s.to_string()),
                            t.exit_linked[e]
                        )
                    })
                    .collect();
                let parent = match t.parent {
                    Some((trace, exit)) => format!("{{\"trace\":{},\"exit\":{}}}", trace, exit),
                    None => "null".to_string(),
                };
                let kind = match (t.parent, t.function_trace) {
                    (Some(_), _) => "side",
                    (None, true) => "function",
                    (None, false) => "loop",
                };
                format!(
                    "{{\"id\":{},\"kind\":\"{}\",\"parent\":{},\"function\":{},\"line\":{},\"ir_size\":{},\"recorded_size\":{},\"mcode_size\":{},\"entries\":{},\"interpreter_entries\":{},\"completions\":{},\"calls_made\":{},\"calls_returned\":{},\"exits_taken\":{},\"exits\":[{}]}}",
                    t.id,
                    kind,
                    parent,
                    json_string(&t.function),
                    t.line,
                    t.ir_size,
                    t.recorded_size,
                    t.mcode_size,
                    t.native.entries,
                    t.interpreter_entries,
                    t.native.completions,
                    t.native.calls_made,
                    t.native.calls_returned,
                    t.native.exits.iter().sum::<u64>(),
                    exits.join(",")
                )
            })
            .collect();
        let aborts: Vec<String> = self
            .aborts
            .iter()
            .map(|(key, count)| {
                format!(
                    "{{\"reason\":{},\"side_trace\":{},\"kind\":\"{}\",\"explanation\":{},\"function\":{},\"line\":{},\"at\":{},\"count\":{}}}",
                    json_string(&key.site.reason().to_string()),
                    matches!(key.site, AbortSite::SideTrace(_)),
                    match key.site {
                        AbortSite::Loop(_) => "loop",
                        AbortSite::SideTrace(_) => "side",
                        AbortSite::Function(_) => "function",
                    },
                    json_string(&abort_sentence(key, file, *count)),
                    json_string(&key.function),
                    key.line,
                    key.at.json(),
                    count
                )
            })
            .collect();
        let retirements: Vec<String> = self
            .retirements
            .iter()
            .map(|(key, count)| {
                format!(
                    "{{\"reason\":{},\"trace\":{},\"function\":{},\"line\":{},\"explanation\":{},\"count\":{}}}",
                    json_string(&key.reason.to_string()),
                    key.trace,
                    json_string(&key.function),
                    key.line,
                    json_string(&retirement_sentence(key, *count)),
                    count
                )
            })
            .collect();
        format!(
            "{{\"schema_version\":{},\"file\":{},\"traces\":[{}],\"aborts\":[{}],\"retirements\":[{}],\"explanations\":[{}],\"recordings_started\":{},\"blacklisted\":{},\"flushes\":{},\"deoptimizations\":{},\"native_iterations\":{},\"interpreted_iterations\":{},\"native_share_percent\":{:.3},\"native_calls\":{},\"interpreted_calls\":{},\"function_trace_calls\":{},\"record_ms\":{:.3},\"compile_ms\":{:.3},\"native_ms\":{:.3},\"run_ms\":{:.3},\"native_time_percent\":{:.3}}}\n",
            SCHEMA_VERSION,
            json_string(file),
            traces.join(","),
            aborts.join(","),
            retirements.join(","),
            self.explanations(file).iter().map(|e| json_string(e)).collect::<Vec<_>>().join(","),
            self.recordings_started,
            self.blacklisted,
            self.flushes,
            self.exits,
            self.native_iterations,
            self.interpreted_iterations,
            self.native_share(),
            self.native_calls,
            self.interpreted_calls,
            self.function_trace_calls(),
            self.record_time.as_secs_f64() * 1e3,
            self.compile_time.as_secs_f64() * 1e3,
            self.native_time.as_secs_f64() * 1e3,
            self.run_time.as_secs_f64() * 1e3,
            self.native_time_percent()
        )
    }
}
