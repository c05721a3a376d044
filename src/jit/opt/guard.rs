//! GUARD: removes guards that earlier guards already prove ("facts"), beyond CSE's
//! identical-guard rule.
//!
//! A fact is what a passed `GTRUE`/`GFALSE` on an ordering comparison says about its two
//! operands: the set of orderings (`<`, `==`, `>`, and for floats unordered, i.e. NaN) they
//! can still be in. Facts about a pair accumulate by intersection, and a later guard on
//! any comparison of the same pair (in either operand order) is redundant when every
//! ordering still possible satisfies it. For example `GTRUE(a < b)` proves
//! `GFALSE(a >= b)`, `GTRUE(b > a)` and, for ints, `GTRUE(a != b)`; `GTRUE(a <= b)` and
//! `GTRUE(a >= b)` together prove int `GTRUE(a == b)`.
//!
//! Float `==`/`!=` carry no facts: Ruff's float equality has an epsilon (`floats_equal`),
//! so it is not a set of orderings (`a < b` and `a == b` can both hold).
//!
//! Overflow checks made impossible by facts (`i < n` proves `i + 1` cannot overflow) are
//! the range pass's (`range.rs`, after peeling); those on two constants are fold's.

use rustc_hash::FxHashMap;

use super::emit::{rewrite, Stages};
use crate::jit::ir::{InstIdx, Op, Trace};

/// The guard pass.
pub fn eliminate_redundant_guards(trace: &Trace) -> Trace {
    rewrite(trace, Stages::GUARD_FACTS)
}

/// A set of orderings of an operand pair `(a, b)`, one bit each.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Orderings(u8);

impl Orderings {
    const LESS: Orderings = Orderings(1);
    const EQUAL: Orderings = Orderings(2);
    const GREATER: Orderings = Orderings(4);
    const UNORDERED: Orderings = Orderings(8);
    const INT_ALL: Orderings = Orderings(1 | 2 | 4);
    const FLOAT_ALL: Orderings = Orderings(1 | 2 | 4 | 8);

    fn union(self, other: Orderings) -> Orderings {
        Orderings(self.0 | other.0)
    }

    fn intersection(self, other: Orderings) -> Orderings {
        Orderings(self.0 & other.0)
    }

    fn without(self, other: Orderings) -> Orderings {
        Orderings(self.0 & !other.0)
    }

    fn is_subset_of(self, other: Orderings) -> bool {
        self.without(other).0 == 0
    }

    /// The same set seen from `(b, a)`.
    fn mirrored(self) -> Orderings {
        let swapped = |from: Orderings, to: Orderings| if self.0 & from.0 != 0 { to } else { Orderings(0) };
        Orderings(self.0 & (Self::EQUAL.0 | Self::UNORDERED.0))
            .union(swapped(Self::LESS, Self::GREATER))
            .union(swapped(Self::GREATER, Self::LESS))
    }
}

/// A comparison as the orderings of its operands it accepts, keyed by the operand pair in
/// index order.
struct Comparison {
    pair: (InstIdx, InstIdx),
    /// The orderings for which the comparison is true.
    accepts: Orderings,
    /// Every ordering the operand type can have.
    all: Orderings,
}

fn comparison(op: &Op) -> Option<Comparison> {
    use Orderings as O;
    let (a, b, accepts, all) = match *op {
        Op::LtInt(a, b) => (a, b, O::LESS, O::INT_ALL),
        Op::LeInt(a, b) => (a, b, O::LESS.union(O::EQUAL), O::INT_ALL),
        Op::GtInt(a, b) => (a, b, O::GREATER, O::INT_ALL),
        Op::GeInt(a, b) => (a, b, O::GREATER.union(O::EQUAL), O::INT_ALL),
        Op::EqInt(a, b) => (a, b, O::EQUAL, O::INT_ALL),
        Op::NeInt(a, b) => (a, b, O::LESS.union(O::GREATER), O::INT_ALL),
        Op::LtFloat(a, b) => (a, b, O::LESS, O::FLOAT_ALL),
        Op::LeFloat(a, b) => (a, b, O::LESS.union(O::EQUAL), O::FLOAT_ALL),
        Op::GtFloat(a, b) => (a, b, O::GREATER, O::FLOAT_ALL),
        Op::GeFloat(a, b) => (a, b, O::GREATER.union(O::EQUAL), O::FLOAT_ALL),
        _ => return None,
    };
    Some(if a <= b {
        Comparison { pair: (a, b), accepts, all }
    } else {
        Comparison { pair: (b, a), accepts: accepts.mirrored(), all }
    })
}

/// For a guard on a comparison: the comparison and the orderings under which the guard
/// passes.
fn guarded_comparison(trace: &Trace, op: &Op) -> Option<(Comparison, Orderings)> {
    let (condition, wants_true) = match *op {
        Op::GuardTrue(c) => (c, true),
        Op::GuardFalse(c) => (c, false),
        _ => return None,
    };
    let comparison = comparison(&trace.inst(condition).op)?;
    let passes = if wants_true { comparison.accepts } else { comparison.all.without(comparison.accepts) };
    Some((comparison, passes))
}

#[derive(Default)]
pub(super) struct GuardFacts {
    /// Per operand pair (in index order), the orderings the guards so far leave possible.
    possible: FxHashMap<(InstIdx, InstIdx), Orderings>,
}

impl GuardFacts {
    /// Whether guard `op` (operands in `trace`) cannot fail after the guards remembered so far.
    pub fn implies(&self, trace: &Trace, op: &Op) -> bool {
        guarded_comparison(trace, op).is_some_and(|(comparison, passes)| {
            let possible = self.possible.get(&comparison.pair).copied().unwrap_or(comparison.all);
            possible.is_subset_of(passes)
        })
    }

    /// Learns from instruction `at` of `trace` (a passed guard narrows its pair's orderings).
    pub fn remember(&mut self, trace: &Trace, at: InstIdx) {
        if let Some((comparison, passes)) = guarded_comparison(trace, &trace.inst(at).op) {
            let possible = self.possible.entry(comparison.pair).or_insert(comparison.all);
            *possible = possible.intersection(passes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::opt::check::check;

    #[test]
    fn negated_and_mirrored_int_comparisons_are_implied() {
        check(
            eliminate_redundant_guards,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002   bool LT       0000 0001
            ....        SNAP    #1 pc=2 [ ]
            0003 > void GTRUE    0002       #1
            0004   bool GE       0000 0001
            0005 > void GFALSE   0004       #1
            0006   bool GT       0001 0000
            0007 > void GTRUE    0006       #1
            0008   bool NE       0001 0000
            0009 > void GTRUE    0008       #1
            0010   bool LE       0000 0001
            0011 > void GTRUE    0010       #1
            0012   bool EQ       0000 0001
            0013 > void GFALSE   0012       #1
            0014   bool LT       0001 0000
            ....        SNAP    #2 pc=3 [ ]
            0015 > void GTRUE    0014       #2
            ",
            // The last guard contradicts the first: it is kept (it always exits).
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            0002   bool LT       0000 0001
            ....        SNAP    #1 pc=2 [ ]
            0003 > void GTRUE    0002       #1
            0004   bool GE       0000 0001
            0005   bool GT       0001 0000
            0006   bool NE       0001 0000
            0007   bool LE       0000 0001
            0008   bool EQ       0000 0001
            0009   bool LT       0001 0000
            ....        SNAP    #2 pc=3 [ ]
            0010 > void GTRUE    0009       #2
            ",
        );
    }

    #[test]
    fn facts_accumulate_le_and_ge_prove_eq() {
        check(
            eliminate_redundant_guards,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            0001 > int  SLOAD    #1         #0
            0002   bool LE       0000 0001
            0003 > void GTRUE    0002       #0
            0004   bool LE       0001 0000
            0005 > void GTRUE    0004       #0
            0006   bool EQ       0000 0001
            0007 > void GTRUE    0006       #0
            0008   bool NE       0001 0000
            0009 > void GFALSE   0008       #0
            ",
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > int  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > int  SLOAD    #1         #0
            0002   bool LE       0000 0001
            ....        SNAP    #0 pc=1 [ ]
            0003 > void GTRUE    0002       #0
            0004   bool LE       0001 0000
            ....        SNAP    #0 pc=1 [ ]
            0005 > void GTRUE    0004       #0
            0006   bool EQ       0000 0001
            0007   bool NE       0001 0000
            ",
        );
    }

    #[test]
    fn float_facts_allow_for_nan_and_epsilon_equality() {
        check(
            eliminate_redundant_guards,
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > flt  SLOAD    #0         #0
            0001 > flt  SLOAD    #1         #0
            0002   bool GE       0000 0001
            0003 > void GFALSE   0002       #0
            0004   bool LT       0000 0001
            0005 > void GTRUE    0004       #0
            0006   bool LE       0000 0001
            0007 > void GTRUE    0006       #0
            0008   bool GT       0000 0001
            0009 > void GFALSE   0008       #0
            0010   bool NE       0000 0001
            0011 > void GTRUE    0010       #0
            ",
            // not(a >= b) leaves a < b or NaN, so `a < b` stays; once it passes, a <= b and
            // not(a > b) follow. `a != b` does not: a < b with |a - b| < EPSILON is Ruff-equal.
            "
            ....        SNAP    #0 pc=1 [ ]
            0000 > flt  SLOAD    #0         #0
            ....        SNAP    #0 pc=1 [ ]
            0001 > flt  SLOAD    #1         #0
            0002   bool GE       0000 0001
            ....        SNAP    #0 pc=1 [ ]
            0003 > void GFALSE   0002       #0
            0004   bool LT       0000 0001
            ....        SNAP    #0 pc=1 [ ]
            0005 > void GTRUE    0004       #0
            0006   bool LE       0000 0001
            0007   bool GT       0000 0001
            0008   bool NE       0000 0001
            ....        SNAP    #0 pc=1 [ ]
            0009 > void GTRUE    0008       #0
            ",
        );
    }
}
