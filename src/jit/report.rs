//! The HTML trace report (`--jit-report=FILE.html`): one self-contained page (inline CSS
//! and script, nothing fetched) showing what the JIT did with a program:
//!
//! - the source, each line shaded by its share of the CPU time (the `--profile` samples)
//!   with its native share, exits and aborts; clicking a line lists the traces recorded
//!   through it, which link to their sections;
//! - the trace tree as an SVG graph: root traces, their side traces, the exit each
//!   continues and how often it was taken;
//! - per trace: what it is, its counters (entries, completions, exits), its exits with
//!   locations and counts, and its bytecode, IR as recorded and optimized, and machine
//!   code (the `--dump-traces` text, split into its parts);
//! - aborted recordings and retired traces with locations and explanations.
//!
//! Everything shown comes from `Stats` and the profile; the page's script only wires up
//! clicks (and marks `<body data-ready>` when it has run, which the browser test reads).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::profile::{self, LineCost, Samples};
use super::stats::{Stats, TraceStats};
use crate::compile::bytecode::Program;

/// `text` with `&`, `<`, `>` and `"` escaped for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
header { background: #263238; color: #eceff1; padding: 10px 16px; }
header h1 { font-size: 18px; margin: 0 0 4px 0; }
#source { overflow-x: auto; }
main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 12px; padding: 12px; }
section { margin-bottom: 16px; }
h2 { font-size: 16px; border-bottom: 1px solid #ccc; }
table.source { border-collapse: collapse; font-family: monospace; font-size: 12px; width: 100%; }
table.source td { padding: 0 6px; white-space: pre; }
table.source tr.line { cursor: pointer; }
table.source tr.line:hover { outline: 1px solid #555; }
table.source tr.selected { outline: 2px solid #1565c0; }
td.num { text-align: right; color: #555; }
td.code { width: 100%; }
.bar { display: inline-block; height: 8px; background: #2e7d32; vertical-align: middle; }
.trace { border: 1px solid #ccc; padding: 6px 10px; margin-bottom: 10px; }
.trace.highlight { border: 2px solid #1565c0; }
.trace h3 { font-size: 14px; margin: 4px 0; }
pre { font-size: 11px; background: #f5f5f5; padding: 6px; overflow-x: auto; }
table.exits { border-collapse: collapse; font-size: 12px; }
table.exits td, table.exits th { border: 1px solid #ddd; padding: 1px 6px; }
#line-info { position: sticky; top: 0; background: #fffde7; border: 1px solid #fbc02d; padding: 6px; font-size: 13px; }
svg text { font-family: monospace; font-size: 11px; }
"#;

const SCRIPT: &str = r#"
const info = document.getElementById('line-info');
function showLine(row) {
  document.querySelectorAll('tr.selected').forEach(r => r.classList.remove('selected'));
  document.querySelectorAll('.trace.highlight').forEach(t => t.classList.remove('highlight'));
  row.classList.add('selected');
  const line = row.dataset.line;
  const traces = (row.dataset.traces || '').split(' ').filter(t => t.length > 0);
  info.textContent = '';
  const title = document.createElement('b');
  title.textContent = 'Line ' + line + ': ';
  info.appendChild(title);
  if (traces.length === 0) {
    info.appendChild(document.createTextNode('no trace was recorded through this line.'));
    return;
  }
  info.appendChild(document.createTextNode(traces.length + ' trace(s) through it: '));
  traces.forEach(id => {
    const link = document.createElement('a');
    link.href = '#trace-' + id;
    link.textContent = 'trace ' + id + ' ';
    info.appendChild(link);
    const section = document.getElementById('trace-' + id);
    if (section) { section.classList.add('highlight'); }
  });
}
document.querySelectorAll('tr.line').forEach(row => row.addEventListener('click', () => showLine(row)));
document.body.dataset.ready = 'yes';
"#;

/// Renders the report.
pub fn render(file: &str, source: &str, program: &Program, stats: &Stats, samples: &Samples) -> String {
    let costs = profile::line_costs(program, samples, Some(stats));
    let total_samples: f64 = costs.values().map(LineCost::samples).sum();
    let mut traces_at: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for t in &stats.traces {
        for &(line, _) in &t.line_weights {
            traces_at.entry(line).or_default().push(t.id);
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>JIT report: {}</title><style>{}</style></head><body>\n",
        escape(file),
        STYLE
    );
    let _ = writeln!(
        out,
        "<header><h1>JIT report: {}</h1><div id=\"summary\">{} traces compiled; loop iterations {} native, {} interpreted; function calls {} made by native code, {} by the interpreter, {} run by function traces; {} deoptimizations; {:.0} profile samples over {:.3} s of CPU time</div></header>",
        escape(file),
        stats.traces.len(),
        stats.native_iterations,
        stats.interpreted_iterations,
        stats.native_calls,
        stats.interpreted_calls,
        stats.function_trace_calls(),
        stats.exits,
        total_samples,
        profile::cpu_seconds()
    );
    out.push_str("<main><div>\n<section id=\"source\"><h2>Source</h2>\n");
    out.push_str("<p>Shading: share of the CPU time; green bar: share of that time in native code. Click a line for the traces through it.</p>\n");
    out.push_str("<table class=\"source\"><tr><th>line</th><th>time</th><th>native</th><th>exits</th><th>aborts</th><th>source</th></tr>\n");
    for (n, text) in source.lines().enumerate() {
        let line = n as u32 + 1;
        let cost = costs.get(&line).cloned().unwrap_or_default();
        let share = if total_samples > 0.0 { cost.samples() / total_samples } else { 0.0 };
        let native = if cost.samples() > 0.0 { cost.native / cost.samples() } else { 0.0 };
        let traces = traces_at
            .get(&line)
            .map_or(String::new(), |ids| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(" "));
        let _ = writeln!(
            out,
            "<tr class=\"line\" id=\"L{line}\" data-line=\"{line}\" data-traces=\"{traces}\" style=\"background: rgba(255, 87, 34, {alpha:.3})\"><td class=\"num\">{line}</td><td class=\"num\">{time:.1}%</td><td><span class=\"bar\" style=\"width: {bar:.0}px\"></span> {native:.0}%</td><td class=\"num\">{exits}</td><td class=\"num\">{aborts}</td><td class=\"code\">{code}</td></tr>",
            line = line,
            traces = traces,
            alpha = share.sqrt() * 0.8,
            time = share * 100.0,
            bar = native * 40.0,
            native = native * 100.0,
            exits = cost.exits,
            aborts = cost.aborts,
            code = escape(text)
        );
    }
    out.push_str("</table></section>\n");
    aborts_section(&mut out, file, stats);
    out.push_str("</div><div>\n<div id=\"line-info\">Click a source line to see the traces through it.</div>\n");
    tree_section(&mut out, stats);
    out.push_str("<section id=\"traces\"><h2>Traces</h2>\n");
    for t in &stats.traces {
        trace_section(&mut out, file, t);
    }
    out.push_str("</section></div></main>\n");
    let _ = writeln!(out, "<script>{}</script></body></html>", SCRIPT);
    out
}

fn aborts_section(out: &mut String, file: &str, stats: &Stats) {
    let total: u64 = stats.aborts.values().sum();
    let _ = writeln!(out, "<section id=\"aborts\"><h2>Aborted recordings ({})</h2><ul>", total);
    for (key, count) in &stats.aborts {
        let line = key.at.line();
        let _ = writeln!(
            out,
            "<li class=\"abort\"><a href=\"#L{}\">{}</a>: {} ({} times)</li>",
            line,
            escape(&key.at.describe(file)),
            escape(&key.site.reason().to_string()),
            count
        );
    }
    out.push_str("</ul>\n<h2>Explanations</h2><ul>\n");
    for sentence in stats.explanations(file) {
        let _ = writeln!(out, "<li>{}</li>", escape(&sentence));
    }
    out.push_str("</ul></section>\n");
}

/// The trace tree: one column per depth (root, side traces of it, ...), edges labelled
/// with the exit and how often it was taken.
fn tree_section(out: &mut String, stats: &Stats) {
    const ROW: usize = 44;
    const COLUMN: usize = 320;
    const NODE_WIDTH: usize = 220;
    let mut position: Vec<(usize, usize)> = Vec::with_capacity(stats.traces.len());
    let mut rows = 0;
    for t in &stats.traces {
        let depth = match t.parent {
            Some((parent, _)) => position.get(parent as usize - 1).map_or(0, |p| p.0 + 1),
            None => 0,
        };
        position.push((depth, rows));
        rows += 1;
    }
    let width = 20 + COLUMN * (position.iter().map(|p| p.0).max().unwrap_or(0) + 1);
    let height = 20 + ROW * rows.max(1);
    let _ = writeln!(
        out,
        "<section id=\"tree\"><h2>Trace tree</h2><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\">",
        width, height
    );
    for (n, t) in stats.traces.iter().enumerate() {
        let Some((parent, exit)) = t.parent else { continue };
        let (from, to) = (position[parent as usize - 1], position[n]);
        let taken = stats.traces[parent as usize - 1].native.exits.get(exit as usize).copied().unwrap_or(0);
        let (x1, y1) = (10 + from.0 * COLUMN + NODE_WIDTH, 10 + from.1 * ROW + 15);
        let (x2, y2) = (10 + to.0 * COLUMN, 10 + to.1 * ROW + 15);
        let _ = writeln!(
            out,
            "<path class=\"edge\" d=\"M{} {} C{} {} {} {} {} {}\" fill=\"none\" stroke=\"#888\"/><text x=\"{}\" y=\"{}\">exit {} ({}x)</text>",
            x1,
            y1,
            x1 + 25,
            y1,
            x2 - 25,
            y2,
            x2,
            y2,
            x1 + 8,
            y2 - 4,
            exit,
            taken
        );
    }
    for (n, t) in stats.traces.iter().enumerate() {
        let (x, y) = (10 + position[n].0 * COLUMN, 10 + position[n].1 * ROW);
        let kind = match (t.parent, t.function_trace) {
            (Some(_), _) => "side".to_string(),
            (None, true) => format!("fn {}", t.function),
            (None, false) => format!("loop L{}", t.line),
        };
        let _ = writeln!(
            out,
            "<a href=\"#trace-{id}\"><g class=\"node\"><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"30\" rx=\"4\" fill=\"#e3f2fd\" stroke=\"#1565c0\"/><text x=\"{tx}\" y=\"{ty}\">trace {id}: {kind}</text></g></a>",
            id = t.id,
            x = x,
            y = y,
            w = NODE_WIDTH,
            tx = x + 6,
            ty = y + 19,
            kind = escape(&kind)
        );
    }
    out.push_str("</svg></section>\n");
}

fn trace_section(out: &mut String, file: &str, t: &TraceStats) {
    let n = &t.native;
    let _ = writeln!(
        out,
        "<div class=\"trace\" id=\"trace-{}\"><h3>Trace {}: {}</h3><p>IR {} instructions (recorded {}), machine code {} bytes. Entered {} times ({} from the interpreter or exit handler); left {} times through exits, {} at its end, {} unwound in native calls.</p>",
        t.id,
        t.id,
        escape(&t.describe(file)),
        t.ir_size,
        t.recorded_size,
        t.mcode_size,
        n.entries,
        t.interpreter_entries,
        n.exits.iter().sum::<u64>(),
        n.completions,
        n.abandoned()
    );
    out.push_str("<table class=\"exits\"><tr><th>exit</th><th>at</th><th>taken</th><th>to the interpreter</th><th>side trace</th></tr>\n");
    for (exit, &count) in n.exits.iter().enumerate().filter(|(_, &c)| c > 0) {
        let side = match t.exit_side_trace[exit] {
            Some(side) => format!(
                "<a href=\"#trace-{}\">trace {}</a>{}",
                side,
                side,
                if t.exit_linked[exit] { " (linked)" } else { "" }
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "<tr class=\"exit\"><td>{}</td><td><a href=\"#L{}\">{}</a></td><td class=\"exit-count\">{}</td><td>{}</td><td>{}</td></tr>",
            exit,
            t.exit_sites[exit].line(),
            escape(&t.exit_sites[exit].describe(file)),
            count,
            t.handled_exits[exit],
            side
        );
    }
    out.push_str("</table>\n");
    if let Some(dump) = &t.dump {
        for (title, body) in dump_parts(dump) {
            let _ =
                writeln!(out, "<details><summary>{}</summary><pre>{}</pre></details>", escape(&title), escape(&body));
        }
    }
    out.push_str("</div>\n");
}

/// The parts of a `--dump-traces` text: (`bytecode`, `IR recorded`, ...) and their lines.
fn dump_parts(dump: &str) -> Vec<(String, String)> {
    let mut parts: Vec<(String, String)> = Vec::new();
    for line in dump.lines() {
        if let Some(rest) = line.strip_prefix("---- TRACE ") {
            let title = rest.split_once(' ').map_or(rest, |(_, title)| title);
            if !title.starts_with("start") && title != "end" {
                parts.push((title.to_string(), String::new()));
            }
            continue;
        }
        if let Some((_, body)) = parts.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_parts_split_at_the_section_headers() {
        let dump = "---- TRACE 3 start <main> line 4\n---- TRACE 3 bytecode\n0001 a\n---- TRACE 3 IR optimized\n0000 K\n---- TRACE 3 end\n";
        let parts = dump_parts(dump);
        assert_eq!(parts, vec![("bytecode".into(), "0001 a\n".into()), ("IR optimized".into(), "0000 K\n".into())]);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("a < b && \"c\" > d"), "a &lt; b &amp;&amp; &quot;c&quot; &gt; d");
    }
}
