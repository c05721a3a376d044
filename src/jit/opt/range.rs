//! RANGE: overflow checks that the guards around them prove can never fire are dropped:
//! a checked int `ADD`/`SUB` (a guard) becomes `ADDNOV`/`SUBNOV` (no check, no guard).
//! LuaJIT does the same when it narrows `ADDOV` by its loop's bounds (`lj_opt_narrow.c`).
//!
//! Terms: every int value has an *interval* `[lo, hi]` it is known to lie in, full unless
//! something says more: a constant is its own interval, a length (`ALEN`, `SLEN`,
//! `SBYTES`) is non-negative, the result of checked or proven arithmetic is the operands'
//! intervals combined (a checked op that passed computed the exact result), and a passed
//! `GTRUE`/`GFALSE` on an int comparison narrows both operands (`GTRUE(j < n)` gives
//! `j <= hi(n) - 1`, so `j + 1` cannot overflow). The trace is linear SSA, so a fact
//! learnt at a guard holds for every instruction after it (a value never changes; after
//! `Loop` every body instruction follows the body's guards of the same iteration). A
//! `PHI` starts with the full interval.
//!
//! Invariant: a check is dropped only when it is provably redundant, in one of two ways.
//! *Before*: the operands' intervals (from instructions before it) keep the exact result
//! inside `i64`. *Just after*: it is followed, with nothing in between but constants, int
//! comparisons and `GTRUE`/`GFALSE` guards exiting through its own snapshot, by guards
//! whose facts keep the result inside `i64`; when the operation would have overflowed one
//! of those guards fails, and the trace leaves through the same snapshot with nothing
//! observable done in between (the snapshot cannot name the result, which did not exist
//! when it was taken; this is checked). A `for i in range(...)` step is recorded as the
//! checked `ADD` followed by the loop test on the same snapshot, which this removes.
//!
//! Runs after peeling (so the peeled body's guards are there to learn from) and before
//! DCE (a proven `ADDNOV` whose value is unused is then removed; a guard never was).

use rustc_hash::FxHashMap;

use crate::jit::ir::{InstIdx, Op, SnapIdx, Trace};

/// The range pass.
pub fn remove_impossible_overflow_checks(trace: &Trace) -> Trace {
    let mut out = trace.clone();
    let mut ranges = Ranges { known: vec![Interval::FULL; trace.insts.len()] };
    for k in 0..trace.insts.len() {
        let at = InstIdx(k as u32);
        let inst = trace.inst(at);
        let exact = match (inst.op, inst.snap) {
            (Op::AddInt(a, b), Some(snap)) => {
                ranges.proves(trace, at, snap, |r| r.get(a).plus(r.get(b)).fits()).then_some(Op::AddIntExact(a, b))
            }
            (Op::SubInt(a, b), Some(snap)) => {
                ranges.proves(trace, at, snap, |r| r.get(a).minus(r.get(b)).fits()).then_some(Op::SubIntExact(a, b))
            }
            _ => None,
        };
        if let Some(op) = exact {
            out.insts[k].op = op;
            out.insts[k].snap = None;
        }
        ranges.learn(trace, at);
    }
    out
}

/// An interval of possible values, computed in `i128` so sums of `i64` bounds are exact.
/// `lo > hi` (a contradiction) means the code is unreachable; anything then holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Interval {
    lo: i128,
    hi: i128,
}

impl Interval {
    const FULL: Interval = Interval { lo: i64::MIN as i128, hi: i64::MAX as i128 };

    fn exactly(v: i64) -> Interval {
        Interval { lo: v as i128, hi: v as i128 }
    }

    fn plus(self, other: Interval) -> Interval {
        Interval { lo: self.lo + other.lo, hi: self.hi + other.hi }
    }

    fn minus(self, other: Interval) -> Interval {
        Interval { lo: self.lo - other.hi, hi: self.hi - other.lo }
    }

    fn times(self, other: Interval) -> Interval {
        let corners = [self.lo * other.lo, self.lo * other.hi, self.hi * other.lo, self.hi * other.hi];
        Interval { lo: *corners.iter().min().expect("four corners"), hi: *corners.iter().max().expect("four corners") }
    }

    /// Whether every value in it is an `i64` (the operation cannot overflow).
    fn fits(self) -> bool {
        self.lo >= i64::MIN as i128 && self.hi <= i64::MAX as i128
    }

    /// The part of it an `i64` result can be in (a checked op that passed is exact).
    fn clipped(self) -> Interval {
        Interval { lo: self.lo.max(i64::MIN as i128), hi: self.hi.min(i64::MAX as i128) }
    }

    fn meet(self, other: Interval) -> Interval {
        Interval { lo: self.lo.max(other.lo), hi: self.hi.min(other.hi) }
    }
}

/// The intervals known at the current instruction, with `pending` narrowings on top (the
/// facts of guards just after a checked op, see the module docs).
struct Ranges {
    known: Vec<Interval>,
}

/// An ordering fact `a < b` (strict) or `a <= b` between two int values, or `a == b`.
#[derive(Clone, Copy)]
enum Fact {
    Less(InstIdx, InstIdx),
    LessOrEqual(InstIdx, InstIdx),
    Equal(InstIdx, InstIdx),
}

/// What a passed `GTRUE`/`GFALSE` says about its int comparison, if anything.
fn guard_fact(trace: &Trace, op: &Op) -> Option<Fact> {
    let (condition, holds) = match *op {
        Op::GuardTrue(c) => (c, true),
        Op::GuardFalse(c) => (c, false),
        _ => return None,
    };
    Some(match (trace.inst(condition).op, holds) {
        (Op::LtInt(a, b), true) | (Op::GeInt(a, b), false) => Fact::Less(a, b),
        (Op::GtInt(a, b), true) | (Op::LeInt(a, b), false) => Fact::Less(b, a),
        (Op::LeInt(a, b), true) | (Op::GtInt(a, b), false) => Fact::LessOrEqual(a, b),
        (Op::GeInt(a, b), true) | (Op::LtInt(a, b), false) => Fact::LessOrEqual(b, a),
        (Op::EqInt(a, b), true) | (Op::NeInt(a, b), false) => Fact::Equal(a, b),
        _ => return None,
    })
}

/// Narrowed intervals for the values `fact` constrains, given their current ones.
fn narrowed(fact: Fact, get: impl Fn(InstIdx) -> Interval) -> [(InstIdx, Interval); 2] {
    match fact {
        Fact::Less(a, b) => [
            (a, get(a).meet(Interval { lo: i128::MIN, hi: get(b).hi - 1 })),
            (b, get(b).meet(Interval { lo: get(a).lo + 1, hi: i128::MAX })),
        ],
        Fact::LessOrEqual(a, b) => [
            (a, get(a).meet(Interval { lo: i128::MIN, hi: get(b).hi })),
            (b, get(b).meet(Interval { lo: get(a).lo, hi: i128::MAX })),
        ],
        Fact::Equal(a, b) => [(a, get(a).meet(get(b))), (b, get(b).meet(get(a)))],
    }
}

/// The intervals of [`Ranges`] seen with some narrowings that hold only past the next
/// few guards.
struct Lookahead<'a> {
    known: &'a [Interval],
    pending: FxHashMap<InstIdx, Interval>,
}

impl Lookahead<'_> {
    fn get(&self, v: InstIdx) -> Interval {
        self.pending.get(&v).copied().unwrap_or(self.known[v.index()])
    }
}

impl Ranges {
    /// Whether `fits` holds for the checked op at `at` (exiting through `snap`): on the
    /// intervals known now, or once the guards just after it on the same snapshot passed.
    fn proves(&self, trace: &Trace, at: InstIdx, snap: SnapIdx, fits: impl Fn(&Lookahead) -> bool) -> bool {
        let mut view = Lookahead { known: &self.known, pending: FxHashMap::default() };
        if fits(&view) {
            return true;
        }
        let mut names_result = false;
        trace.for_each_snapshot_value(snap, |v| names_result |= v >= at);
        if names_result {
            return false;
        }
        let mut learnt = false;
        for next in &trace.insts[at.index() + 1..] {
            let harmless = matches!(
                next.op,
                Op::KInt(_)
                    | Op::LtInt(..)
                    | Op::LeInt(..)
                    | Op::GtInt(..)
                    | Op::GeInt(..)
                    | Op::EqInt(..)
                    | Op::NeInt(..)
            );
            if harmless {
                continue;
            }
            let same_exit = matches!(next.op, Op::GuardTrue(_) | Op::GuardFalse(_)) && next.snap == Some(snap);
            if !same_exit {
                break;
            }
            if let Some(fact) = guard_fact(trace, &next.op) {
                for (v, interval) in narrowed(fact, |v| view.get(v)) {
                    view.pending.insert(v, interval);
                }
                learnt = true;
            }
        }
        learnt && fits(&view)
    }

    /// Takes in instruction `at`: the interval of its result, or the facts of a guard.
    fn learn(&mut self, trace: &Trace, at: InstIdx) {
        let get = |v: InstIdx| self.known[v.index()];
        let inst = trace.inst(at);
        let result = match inst.op {
            Op::KInt(v) => Interval::exactly(v),
            Op::AddInt(a, b) | Op::AddIntExact(a, b) => get(a).plus(get(b)).clipped(),
            Op::SubInt(a, b) | Op::SubIntExact(a, b) => get(a).minus(get(b)).clipped(),
            Op::MulInt(a, b) => get(a).times(get(b)).clipped(),
            Op::ALen(_) | Op::SLen(_) | Op::SBytes(_) => Interval { lo: 0, hi: i64::MAX as i128 },
            _ => {
                if let Some(fact) = guard_fact(trace, &inst.op) {
                    for (v, interval) in narrowed(fact, get) {
                        self.known[v.index()] = interval;
                    }
                }
                return;
            }
        };
        self.known[at.index()] = result;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::opt::check::check;

    #[test]
    fn a_counter_below_a_limit_cannot_overflow_but_one_above_can() {
        check(
            remove_impossible_overflow_checks,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002   int  K        1
            0003   bool LT       0000 0001
            0004 > void GTRUE    0003       #0
            ....        SNAP    #1 pc=2 [ ]
            0005 > int  ADD      0000 0002  #1
            0006 > int  SUB      0000 0002  #1
            0007 > int  ADD      0001 0002  #1
            0008 > int  SUB      0001 0002  #1
            0009 > int  ADD      0005 0002  #1
            ",
            // j < n: j + 1 fits, j - 1 may not (j may be MIN), n + 1 may not (n may be
            // MAX), n - 1 fits (n > j >= MIN); j + 2 (through 0005) may not.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            0002   int  K        1
            0003   bool LT       0000 0001
            ....        SNAP    #0 pc=1 [ ]
            0004 > void GTRUE    0003       #0
            0005   int  ADDNOV   0000 0002
            ....        SNAP    #1 pc=2 [ ]
            0006 > int  SUB      0000 0002  #1
            ....        SNAP    #1 pc=2 [ ]
            0007 > int  ADD      0001 0002  #1
            0008   int  SUBNOV   0001 0002
            ....        SNAP    #1 pc=2 [ ]
            0009 > int  ADD      0005 0002  #1
            ",
        );
    }

    #[test]
    fn constant_bounds_propagate_through_arithmetic() {
        check(
            remove_impossible_overflow_checks,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001   int  K        1000
            0002   int  K        0
            0003   bool LE       0000 0001
            0004 > void GTRUE    0003       #0
            0005   bool LT       0000 0002
            0006 > void GFALSE   0005       #0
            0007 > int  MUL      0000 0001  #0
            0008 > int  SUB      0007 0000  #0
            0009 > int  ADD      0008 0008  #0
            ",
            // 0 <= x <= 1000: x * 1000 is checked (MUL stays), but within [0, 10^6], so
            // its difference with x and the double of that fit.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001   int  K        1000
            0002   int  K        0
            0003   bool LE       0000 0001
            ....        SNAP    #0 pc=1 [ ]
            0004 > void GTRUE    0003       #0
            0005   bool LT       0000 0002
            ....        SNAP    #0 pc=1 [ ]
            0006 > void GFALSE   0005       #0
            ....        SNAP    #0 pc=1 [ ]
            0007 > int  MUL      0000 0001  #0
            0008   int  SUBNOV   0007 0000
            0009   int  ADDNOV   0008 0008
            ",
        );
    }

    #[test]
    fn a_range_step_before_its_loop_test_on_the_same_snapshot() {
        check(
            remove_impossible_overflow_checks,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002   int  K        -1
            0003   bool GT       0000 0001
            ....        SNAP    #1 pc=2 [ 2=0000 ]
            0004 > int  ADD      0000 0002  #1
            0005 > void GTRUE    0003       #1
            0006   bool GT       0001 0000
            0007 > int  ADD      0001 0002  #1
            ....        SNAP    #2 pc=2 [ 2=0000 ]
            0008 > void GTRUE    0006       #2
            ",
            // i > stop proves i - 1 >= stop >= MIN; stop > i would prove stop - 1 in range,
            // but that test exits through another snapshot than the step.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            0002   int  K        -1
            0003   bool GT       0000 0001
            0004   int  ADDNOV   0000 0002
            ....        SNAP    #1 pc=2 [ 2=0000 ]
            0005 > void GTRUE    0003       #1
            0006   bool GT       0001 0000
            ....        SNAP    #1 pc=2 [ 2=0000 ]
            0007 > int  ADD      0001 0002  #1
            ....        SNAP    #2 pc=2 [ 2=0000 ]
            0008 > void GTRUE    0006       #2
            ",
        );
    }

    #[test]
    fn a_later_guard_on_another_exit_or_past_an_effect_proves_nothing() {
        check(
            remove_impossible_overflow_checks,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002 > int  SLOAD    #2         #0
            0003   int  K        1
            0004   bool LT       0000 0001
            0005   bool LT       0001 0002
            ....        SNAP    #1 pc=2 [ ]
            0006 > int  ADD      0000 0003  #1
            ....        SNAP    #2 pc=3 [ ]
            0007 > void GTRUE    0004       #2
            0008 > int  ADD      0001 0003  #2
            0009   void SSTORE   #3 0008
            0010 > void GTRUE    0005       #2
            ",
            // j + 1 would be proven by j < n, but that guard exits elsewhere; n + 1 by
            // n < m, but the store before it would have written the wrapped sum.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            ....        SNAP    #0 pc=1 [ ]
            0002 > int  SLOAD    #2         #0
            0003   int  K        1
            0004   bool LT       0000 0001
            0005   bool LT       0001 0002
            ....        SNAP    #1 pc=2 [ ]
            0006 > int  ADD      0000 0003  #1
            ....        SNAP    #2 pc=3 [ ]
            0007 > void GTRUE    0004       #2
            ....        SNAP    #2 pc=3 [ ]
            0008 > int  ADD      0001 0003  #2
            0009   void SSTORE   #3 0008
            ....        SNAP    #2 pc=3 [ ]
            0010 > void GTRUE    0005       #2
            ",
        );
    }
}
