//! What the JIT did, for `--jit-stats` (text) and `--jit-stats=json`: compiled traces with
//! their sizes and exits per guard, aborts grouped by reason and location, deoptimizations,
//! time spent, and the share of loop iterations that ran natively.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::abort::AbortReason;

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
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub traces: Vec<TraceStats>,
    /// (reason, function, line) -> count.
    pub aborts: BTreeMap<(String, String, u32), u64>,
    /// Loop back-edges taken in the interpreter.
    pub interpreted_iterations: u64,
    /// Loop iterations run by native code.
    pub native_iterations: u64,
    pub recordings_started: u64,
    pub blacklisted: u64,
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
    pub fn record_abort(&mut self, reason: AbortReason, function: &str, line: u32) {
        *self.aborts.entry((reason.to_string(), function.to_string(), line)).or_insert(0) += 1;
    }

    fn native_share(&self) -> f64 {
        percent(self.native_iterations, self.native_iterations + self.interpreted_iterations)
    }

    pub fn report_text(&self, file: &str) -> String {
        let mut out = format!("JIT statistics for {}\n", file);
        let _ = writeln!(out, "traces compiled: {}", self.traces.len());
        for t in &self.traces {
            let what = match t.parent {
                Some((root, exit)) => format!("side trace of trace {} exit {}", root, exit),
                None => format!("loop at {}:{} in {}", file, t.line, t.function),
            };
            let _ = writeln!(
                out,
                "  trace {}: {}, IR {} instructions (recorded {}), machine code {} bytes, entered {} times",
                t.id, what, t.ir_size, t.recorded_size, t.mcode_size, t.entries
            );
            for (exit, &count) in t.exits.iter().enumerate().filter(|(_, &c)| c > 0) {
                let _ =
                    writeln!(out, "    exit {} (guard at line {}): taken {} times", exit, t.exit_lines[exit], count);
            }
        }
        let total_aborts: u64 = self.aborts.values().sum();
        let _ = writeln!(out, "aborts: {} (blacklisted loops: {})", total_aborts, self.blacklisted);
        for ((reason, function, line), count) in &self.aborts {
            let _ = writeln!(out, "  {} at {}:{} in {}: {} times", reason, file, line, function, count);
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
            .map(|((reason, function, line), count)| {
                format!(
                    "{{\"reason\":{},\"function\":{},\"line\":{},\"count\":{}}}",
                    json_string(reason),
                    json_string(function),
                    line,
                    count
                )
            })
            .collect();
        format!(
            "{{\"file\":{},\"traces\":[{}],\"aborts\":[{}],\"blacklisted\":{},\"deoptimizations\":{},\"native_iterations\":{},\"interpreted_iterations\":{},\"native_share_percent\":{:.3},\"record_ms\":{:.3},\"compile_ms\":{:.3}}}\n",
            json_string(file),
            traces.join(","),
            aborts.join(","),
            self.blacklisted,
            self.exits,
            self.native_iterations,
            self.interpreted_iterations,
            self.native_share(),
            self.record_time.as_secs_f64() * 1e3,
            self.compile_time.as_secs_f64() * 1e3
        )
    }
}
