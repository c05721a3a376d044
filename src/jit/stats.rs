//! What the JIT did, for `--jit-stats` (text) and `--jit-stats=json`: compiled traces with
//! their sizes and exits per guard, aborts grouped by reason and location, deoptimizations,
//! time spent, and the share of loop iterations that ran natively.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::abort::AbortReason;

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
}

/// Exits taken at least this often get an explanation in the report.
const EXPLAINED_EXITS: u64 = 5;

#[derive(Clone, Debug)]
pub struct TraceStats {
    /// Trace number as shown to users (from 1).
    pub id: u32,
    pub function: String,
    /// Source line of the loop header.
    pub line: u32,
    pub recorded_size: usize,
    pub ir_size: usize,
    pub mcode_size: usize,
    /// Times each exit (snapshot) was taken.
    pub exits: Vec<u64>,
    /// Source line of the guard behind each exit.
    pub exit_lines: Vec<u32>,
    pub entries: u64,
    /// For a side trace: the root trace's number and the exit it continues.
    pub parent: Option<(u32, u32)>,
    /// Whether the trace (or its root) records calls of a function rather than a loop.
    pub function_trace: bool,
    pub exit_kinds: Vec<ExitKind>,
    /// For type-check exits: the type the value had when the check last failed.
    pub exit_observed: Vec<Option<&'static str>>,
    /// Exits that have a side trace.
    pub exit_has_side_trace: Vec<bool>,
    /// Exits that jump straight into their side trace: they are no longer counted.
    pub exit_linked: Vec<bool>,
}

impl TraceStats {
    /// One sentence on why exit `exit` was taken `count` times, or `None` for exits that
    /// need none (a loop ending, or an exit taken only a few times).
    fn explain_exit(&self, exit: usize, count: u64) -> Option<String> {
        if count < EXPLAINED_EXITS {
            return None;
        }
        let line = self.exit_lines[exit];
        let loop_part = match self.parent {
            Some((root, _)) => format!("side trace {} (of trace {})", self.id, root),
            None if self.function_trace => format!("the trace of {} (line {})", self.function, self.line),
            None => format!("the loop at line {}", self.line),
        };
        let then = if self.exit_has_side_trace.get(exit).copied().unwrap_or(false) {
            "a side trace now continues from there"
        } else {
            "the rest of each such iteration ran in the interpreter"
        };
        let sentence = match &self.exit_kinds[exit] {
            ExitKind::LoopEnd => return None,
            ExitKind::TypeCheck { what, expected } => {
                let found = self.exit_observed[exit].unwrap_or("another type");
                format!(
                    "{} held {} at line {} where {} was compiled for {}, so it left native code there {} times",
                    what,
                    with_article(found),
                    line,
                    loop_part,
                    with_article(expected),
                    count
                )
            }
            ExitKind::Branch => format!(
                "the condition at line {} went the other way than when {} was recorded, {} times; {}",
                line, loop_part, count, then
            ),
            ExitKind::Overflow => {
                format!("integer arithmetic at line {} overflowed {} times, leaving {}", line, count, loop_part)
            }
            ExitKind::Division => format!(
                "a division at line {} had a zero (or overflowing) divisor {} times, leaving {}",
                line, count, loop_part
            ),
            ExitKind::ArrayRead => format!(
                "an array read at line {} was out of bounds or found an element of another type {} times, leaving {}",
                line, count, loop_part
            ),
            ExitKind::ArrayWrite => format!(
                "an array write at line {} found the array shared (so it had to be copied) or the index out of bounds {} times, leaving {}",
                line, count, loop_part
            ),
            ExitKind::StringIndex => format!(
                "a string index at line {} was out of bounds or made the heap due for a collection {} times, leaving {}",
                line, count, loop_part
            ),
            ExitKind::StringAppend => format!(
                "a string append at line {} found the string shared (so a new string had to be built) {} times, leaving {}",
                line, count, loop_part
            ),
            ExitKind::MathDomain => format!(
                "a math builtin at line {} got an argument outside its domain {} times, leaving {}",
                line, count, loop_part
            ),
            ExitKind::CollectionDue => format!(
                "an allocation at line {} made the heap due for a collection {} times, leaving {} for the interpreter to collect",
                line, count, loop_part
            ),
            ExitKind::SharedPush => format!(
                "a push at line {} found the array no longer shared (it is appended to in place) or made the heap due for a collection {} times, leaving {}",
                line, count, loop_part
            ),
            ExitKind::SharedStruct => format!(
                "a field read at line {} found its struct shared (so the field is shared too) {} times, leaving {}",
                line, count, loop_part
            ),
            ExitKind::BuiltinCall(name) => format!(
                "the call of {} at line {} failed, returned another type than when recorded or made the heap due for a collection {} times, leaving {}",
                name, line, count, loop_part
            ),
            ExitKind::RecursionDepth => format!(
                "the recursive call at line {} went deeper than native code follows {} times, leaving {}",
                line, count, loop_part
            ),
        };
        Some(sentence)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub traces: Vec<TraceStats>,
    /// (what failed and why, function, line of the loop) -> count.
    pub aborts: BTreeMap<(AbortSite, String, u32), u64>,
    /// Loop back-edges taken in the interpreter.
    pub interpreted_iterations: u64,
    /// Loop iterations run by native code.
    pub native_iterations: u64,
    pub recordings_started: u64,
    pub blacklisted: u64,
    /// Times the machine code limit was reached and every trace dropped.
    pub flushes: u64,
    /// Trace exits, each one a deoptimization back into the interpreter.
    pub exits: u64,
    pub record_time: Duration,
    pub compile_time: Duration,
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{} {}", article, noun)
}

fn abort_sentence(site: &AbortSite, function: &str, line: u32, count: u64) -> String {
    let times = if count == 1 { "once".to_string() } else { format!("{} times", count) };
    match site {
        AbortSite::Loop(reason) => {
            format!("the loop at line {} in {} was not compiled ({}): {}", line, function, times, reason.explanation())
        }
        AbortSite::SideTrace(reason) => format!(
            "a side trace of the loop at line {} in {} was not compiled ({}): {}",
            line,
            function,
            times,
            reason.explanation()
        ),
        AbortSite::Function(reason) => {
            format!("calls of {} (line {}) were not compiled ({}): {}", function, line, times, reason.explanation())
        }
    }
}

/// What failed to compile: a loop's root trace, a function's trace, or a side trace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AbortSite {
    Loop(AbortReason),
    SideTrace(AbortReason),
    Function(AbortReason),
}

impl AbortSite {
    fn reason(&self) -> &AbortReason {
        match self {
            AbortSite::Loop(r) | AbortSite::SideTrace(r) | AbortSite::Function(r) => r,
        }
    }
}

fn json_string(text: &str) -> String {
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

impl Stats {
    /// One sentence per abort and per frequently taken exit.
    pub fn explanations(&self) -> Vec<String> {
        let mut sentences: Vec<String> = self
            .aborts
            .iter()
            .map(|((site, function, line), count)| abort_sentence(site, function, *line, *count))
            .collect();
        for t in &self.traces {
            sentences.extend(t.exits.iter().enumerate().filter_map(|(exit, &count)| t.explain_exit(exit, count)));
        }
        sentences
    }

    pub fn record_abort(&mut self, site: AbortSite, function: &str, line: u32) {
        *self.aborts.entry((site, function.to_string(), line)).or_insert(0) += 1;
    }

    fn native_share(&self) -> f64 {
        percent(self.native_iterations, self.native_iterations + self.interpreted_iterations)
    }

    pub fn report_text(&self, file: &str) -> String {
        let mut out = format!("JIT statistics for {}\n", file);
        let _ = writeln!(out, "traces compiled: {}", self.traces.len());
        for t in &self.traces {
            let what = match t.parent {
                Some((root, exit)) if self.traces[root as usize - 1].exit_linked[exit as usize] => {
                    format!("side trace of trace {} exit {} (entered natively since it was linked)", root, exit)
                }
                Some((root, exit)) => format!("side trace of trace {} exit {}", root, exit),
                None if t.function_trace => format!("function {} at {}:{}", t.function, file, t.line),
                None => format!("loop at {}:{} in {}", file, t.line, t.function),
            };
            let _ = writeln!(
                out,
                "  trace {}: {}, IR {} instructions (recorded {}), machine code {} bytes, entered {} times",
                t.id, what, t.ir_size, t.recorded_size, t.mcode_size, t.entries
            );
            for (exit, &count) in t.exits.iter().enumerate().filter(|(_, &c)| c > 0) {
                let linked = if t.exit_linked[exit] { ", then linked to its side trace" } else { "" };
                let _ = writeln!(
                    out,
                    "    exit {} (guard at line {}): taken {} times{}",
                    exit, t.exit_lines[exit], count, linked
                );
            }
        }
        let total_aborts: u64 = self.aborts.values().sum();
        let _ = writeln!(out, "aborts: {} (blacklisted loops: {})", total_aborts, self.blacklisted);
        for ((site, function, line), count) in &self.aborts {
            let what = if matches!(site, AbortSite::SideTrace(_)) { "side trace: " } else { "" };
            let _ = writeln!(out, "  {}{} at {}:{} in {}: {} times", what, site.reason(), file, line, function, count);
        }
        let explanations = self.explanations();
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
        let _ = writeln!(out, "deoptimizations (trace exits): {}", self.exits);
        let _ = writeln!(
            out,
            "loop iterations: {} native, {} interpreted ({:.1}% native)",
            self.native_iterations,
            self.interpreted_iterations,
            self.native_share()
        );
        let _ = writeln!(
            out,
            "time: recording {:.3} ms, compiling {:.3} ms",
            self.record_time.as_secs_f64() * 1e3,
            self.compile_time.as_secs_f64() * 1e3
        );
        out
    }

    pub fn report_json(&self, file: &str) -> String {
        let traces: Vec<String> = self
            .traces
            .iter()
            .map(|t| {
                let exits: Vec<String> = t
                    .exits
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c > 0)
                    .map(|(e, c)| format!("{{\"exit\":{},\"line\":{},\"count\":{}}}", e, t.exit_lines[e], c))
                    .collect();
                let parent = match t.parent {
                    Some((root, exit)) => format!("{{\"trace\":{},\"exit\":{}}}", root, exit),
                    None => "null".to_string(),
                };
                format!(
                    "{{\"id\":{},\"parent\":{},\"function\":{},\"line\":{},\"ir_size\":{},\"recorded_size\":{},\"mcode_size\":{},\"entries\":{},\"exits\":[{}]}}",
                    t.id,
                    parent,
                    json_string(&t.function),
                    t.line,
                    t.ir_size,
                    t.recorded_size,
                    t.mcode_size,
                    t.entries,
                    exits.join(",")
                )
            })
            .collect();
        let aborts: Vec<String> = self
            .aborts
            .iter()
            .map(|((site, function, line), count)| {
                format!(
                    "{{\"reason\":{},\"side_trace\":{},\"explanation\":{},\"function\":{},\"line\":{},\"count\":{}}}",
                    json_string(&site.reason().to_string()),
                    matches!(site, AbortSite::SideTrace(_)),
                    json_string(&abort_sentence(site, function, *line, *count)),
                    json_string(function),
                    line,
                    count
                )
            })
            .collect();
        format!(
            "{{\"file\":{},\"traces\":[{}],\"aborts\":[{}],\"explanations\":[{}],\"blacklisted\":{},\"flushes\":{},\"deoptimizations\":{},\"native_iterations\":{},\"interpreted_iterations\":{},\"native_share_percent\":{:.3},\"record_ms\":{:.3},\"compile_ms\":{:.3}}}\n",
            json_string(file),
            traces.join(","),
            aborts.join(","),
            self.explanations().iter().map(|e| json_string(e)).collect::<Vec<_>>().join(","),
            self.blacklisted,
            self.flushes,
            self.exits,
            self.native_iterations,
            self.interpreted_iterations,
            self.native_share(),
            self.record_time.as_secs_f64() * 1e3,
            self.compile_time.as_secs_f64() * 1e3
        )
    }
}
