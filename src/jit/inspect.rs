//! What the JIT reports about itself: the machine code's counters copied into the
//! statistics, aborted recordings and retirements counted (and logged), and where an exit
//! or abort is in the source (`stats::Site`). Part of `Jit`, kept apart from the
//! compiling and running of traces in `mod.rs`.

use super::abort::AbortReason;
use super::ir;
use super::record::{Recorder, TraceKind};
use super::stats::{AbortKey, AbortSite, NativeCounts, RetirementKey, Site};
use super::Jit;
use crate::compile::bytecode::{Program, ProtoId};

/// Where an exit through `snapshot` of a trace recorded in `proto` is: the calls inlined
/// around it (each at its call), then the instruction it resumes at.
pub(super) fn snapshot_chain(proto: ProtoId, snapshot: &ir::Snapshot) -> Vec<(ProtoId, u32)> {
    let mut chain = Vec::with_capacity(snapshot.frames.len() + 1);
    let mut caller = proto;
    for frame in &snapshot.frames {
        chain.push((caller, frame.return_pc - 1));
        caller = frame.proto;
    }
    chain.push((caller, snapshot.pc));
    chain
}

/// The statistics key of a recording given up for `site`'s reason.
fn abort_key(program: &Program, recorder: &Recorder, site: AbortSite) -> AbortKey {
    let proto = program.proto(recorder.proto);
    let line = match recorder.kind {
        TraceKind::Function => proto.spans[0].line,
        TraceKind::Loop => proto.spans[recorder.back_edge as usize].line,
    };
    AbortKey { site, function: proto.name.clone(), line, at: Site::of(program, &recorder.location()) }
}

impl Jit {
    /// Copies what the machine code of every live trace counted into the statistics.
    pub fn sync_counters(&mut self) {
        for (n, native) in self.traces.iter().enumerate() {
            let id = self.first_trace as usize + n;
            self.stats.traces[id].native = NativeCounts::from_counters(&native.compiled.counters);
        }
    }

    /// Counts (and logs) a recording given up.
    pub(super) fn abort(&mut self, program: &Program, recorder: &Recorder, site: AbortSite) {
        let key = abort_key(program, recorder, site);
        let file = &self.options.source_name;
        let what = match &key.site {
            AbortSite::Loop(_) => format!("loop at {}:{} in {}", file, key.line, key.function),
            AbortSite::Function(_) => format!("function {} at {}:{}", key.function, file, key.line),
            AbortSite::SideTrace(_) => match recorder.side_of {
                Some(side_of) => format!("side trace of trace {} exit {}", side_of.parent + 1, side_of.exit.0),
                None => format!("side trace of the loop at {}:{}", file, key.line),
            },
        };
        log_event!(self, "abort {} at {}: {}", what, key.at.describe(file), key.site.reason());
        if let Some(target) = &self.options.dump {
            target.write_abort(&format!("---- ABORT {} at {}: {}\n", what, key.at.describe(file), key.site.reason()));
        }
        self.stats.record_abort(key);
    }

    /// Counts a decision to stop using trace `id` (or to refuse its exit a side trace).
    pub(super) fn retirement(&mut self, id: u32, reason: AbortReason) {
        let trace_stats = &self.stats.traces[id as usize];
        let key =
            RetirementKey { reason, trace: id + 1, function: trace_stats.function.clone(), line: trace_stats.line };
        log_event!(
            self,
            "{} trace {} ({}:{} in {}): {}",
            if key.reason == AbortReason::TooManySideTraces { "no side trace for an exit of" } else { "retire" },
            key.trace,
            self.options.source_name,
            key.line,
            key.function,
            key.reason
        );
        self.stats.record_retirement(key);
    }
}
