//! Trace-tree policy: when a loop or function that failed to record is given up, and
//! when a compiled tree is judged not to pay (a function trace whose exit is taken on a
//! large share of calls, a root that recorded the rare side of a branch, a full tree that
//! leaves native code before one iteration nearly every time) and is retired.
//!
//! Terms: *retiring* a root stops entering it; the loop is recorded again when the
//! `Retry` allows it, or blacklisted.

use super::*;

/// Aborts of one loop or function for `reason` before it is blacklisted. Leaving the loop
/// during the recorded iteration depends on the data (the iteration may have been the
/// last one), and a recursive callee without a trace gets one soon: both are retried for
/// longer.
pub(super) fn abort_limit(reason: &AbortReason) -> u32 {
    match reason {
        AbortReason::LoopExited | AbortReason::CalleeWithoutTrace(_) => MAX_ABORTS * 4,
        _ => MAX_ABORTS,
    }
}

impl Jit {
    /// Whether function trace `root`'s exit `exit`, which no side trace continues, takes a
    /// large share of its entries: leaving native code at once costs more than the
    /// interpreter would.
    pub(super) fn function_exits_often(&self, root: u32, exit: SnapIdx) -> bool {
        let stats = &self.stats.traces[root as usize];
        let exits = stats.handled_exits[exit.index()];
        stats.function_trace && exits >= FUNCTION_EXITS_CHECKED && exits * 4 >= stats.interpreter_entries
    }

    /// Whether the passes from root trace `root` through its exit `exit` into a side
    /// trace far outnumber every other way the root's iterations went (its own iterations
    /// and its other exits): the root recorded the rarer side of that branch. Leaving the
    /// loop through its own test is no sign of that, and neither are exits spread over the
    /// many branches of a branchy loop.
    pub(super) fn took_rare_path(&self, root: u32, exit: SnapIdx) -> bool {
        if !self.rare_path_checked(root, root, exit) {
            return false;
        }
        let stats = &self.stats.traces[root as usize];
        let passes = stats.handled_exits[exit.index()];
        // A root ending in a jump into an inner loop's trace has no iterations of its own:
        // its runs that got to the jump went the recorded way.
        let native = self.native(root);
        let jumps = if ends_in_jump(&native.trace) { native.compiled.counters[abi::COUNT_COMPLETIONS] } else { 0 };
        let others = stats.handled_exits.iter().sum::<u64>() - passes + native.own_iterations + jumps;
        passes >= RARE_PATH_DISPATCHES && passes > RARE_PATH_RATIO * others
    }

    /// Whether passes through exit `exit` of trace `current` (in root `root`'s tree) may
    /// show that the root recorded the rare side of a branch (`took_rare_path`): only a
    /// root loop trace's exits other than its loop's end do. Every other exit with a side
    /// trace is linked at its first pass, since nothing waits for its counts.
    pub(super) fn rare_path_checked(&self, root: u32, current: u32, exit: SnapIdx) -> bool {
        current == root
            && self.native(root).kind == TraceKind::Loop
            && self.stats.traces[root as usize].exit_kinds[exit.index()] != ExitKind::LoopEnd
    }

    /// Whether root loop trace `root`, whose tree can grow no more side traces, leaves
    /// native code (here through `exit` of `current`, after `iterations` native
    /// iterations) nearly every time it is entered, before one iteration is done: its
    /// loop has more paths than the tree covers, and each round trip through the exit
    /// handler costs more than interpreting the iteration would.
    pub(super) fn covers_too_few_paths(&mut self, root: u32, current: u32, exit: SnapIdx, iterations: u64) -> bool {
        if self.native(root).kind != TraceKind::Loop
            || self.stats.traces[current as usize].exit_kinds[exit.index()] == ExitKind::LoopEnd
        {
            return false;
        }
        let native = self.native_mut(root);
        native.full_tree_exits += 1;
        native.quick_full_tree_exits += (iterations < 1) as u64;
        native.full_tree_exits >= PATH_CHECK_EXITS
            && native.quick_full_tree_exits * 10 >= native.full_tree_exits * QUICK_EXIT_TENTHS
    }

    /// Stops entering a loop trace that keeps exiting at once: the loop is recorded again
    /// (with the types it has now) when `retry` allows it, or blacklisted, as it is after
    /// repeated trouble.
    pub(super) fn retire_root(&mut self, root: u32, reason: AbortReason, retry: Retry) {
        let native = self.native(root);
        let (proto, header) = (native.proto, native.header);
        self.retirement(root, reason);
        let troubles = self.aborts.entry((proto, header)).or_insert(0);
        *troubles += 1;
        self.loops[proto.0 as usize][header as usize] = if *troubles >= MAX_ABORTS || retry == Retry::Pointless {
            self.stats.blacklisted += 1;
            LoopState::Blacklisted
        } else {
            LoopState::Counting(self.options.threshold.max(1))
        };
    }
}
