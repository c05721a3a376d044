//! Whole-pipeline tests: recorder-shaped traces (unoptimized, with the redundancy a
//! recorder produces) through `optimize_logged`, verifying every pass's output.

use super::{optimize, optimize_logged, OptError};
use crate::jit::ir::text::parse;
use crate::jit::ir::verify::verify;
use crate::jit::ir::{InstIdx, Op, Trace};

/// Runs the pipeline, checks that every stage verifies, and returns the final trace.
fn optimize_verified(recorded: &str) -> Trace {
    let trace = parse(recorded).unwrap_or_else(|e| panic!("{}", e));
    let (optimized, stages) = optimize_logged(&trace).unwrap_or_else(|e| panic!("{}", e));
    let names: Vec<&str> = stages.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["fold", "cse", "guard", "peel", "range", "dce"]);
    for (name, stage) in &stages {
        if let Err(e) = verify(stage) {
            panic!("after {}: {}\n{}", name, e, stage);
        }
    }
    assert_eq!(stages.last().map(|(_, t)| t), Some(&optimized));
    assert_eq!(optimize(&trace).as_ref(), Ok(&optimized));
    optimized
}

fn normalized(text: &str) -> Vec<String> {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect()
}

/// `while i < n { sum := sum + float(i) * 1.0; i := i + 1 }`, recorded with the reloads of
/// `i` a recorder makes.
#[test]
fn float_sum_loop() {
    let optimized = optimize_verified(
        "
        ....        SNAP    #0 pc=2 [ ]
        0000 > int  SLOAD    #0         #0
        0001 > int  SLOAD    #1         #0
        0002   bool LT       0000 0001            ; L4
        ....        SNAP    #1 pc=4 [ ]
        0003 > void GTRUE    0002       #1
        0004 > flt  SLOAD    #2         #1
        0005 > int  SLOAD    #0         #1
        0006   flt  CONV     0005
        0007   flt  K        1.0
        0008   flt  MUL      0006 0007
        0009   flt  ADD      0004 0008
        0010 > int  SLOAD    #0         #1
        0011   int  K        1
        ....        SNAP    #2 pc=9 [ 2=0009 ]
        0012 > int  ADD      0010 0011  #2        ; L6
        ....        LOOPEND #3 pc=2 [ 0=0012 2=0009 ]
        ",
    );
    let expected = "
        ....        SNAP    #0 pc=2 [ ]
        0000 > int  SLOAD    #0         #0
        ....        SNAP    #0 pc=2 [ ]
        0001 > int  SLOAD    #1         #0
        0002   bool LT       0000 0001            ; L4
        ....        SNAP    #1 pc=4 [ ]
        0003 > void GTRUE    0002       #1
        ....        SNAP    #1 pc=4 [ ]
        0004 > flt  SLOAD    #2         #1
        0005   flt  CONV     0000
        0006   flt  ADD      0004 0005
        0007   int  K        1
        0008   int  ADDNOV   0000 0007            ; L6
        0009 ------------ LOOP ------------
        0010   int  PHI      0008 0016
        0011   flt  PHI      0006 0015
        0012   bool LT       0010 0001            ; L4
        ....        SNAP    #2 pc=4 [ 0=0010 2=0011 ]
        0013 > void GTRUE    0012       #2
        0014   flt  CONV     0010
        0015   flt  ADD      0011 0014
        0016   int  ADDNOV   0010 0007            ; L6
    ";
    assert_eq!(normalized(&optimized.to_string()), normalized(expected), "\n{}", optimized);
}

/// `while i < n { if !(i >= n) {..}; g0 := g0 + g1 * 1; i := i + 1 }`: the negated
/// re-test of the loop condition goes (guard facts), `g1 * 1` folds, the invariant global
/// g1 is not loaded in the body, and the stored global g0 is.
#[test]
fn globals_and_implied_guards() {
    let optimized = optimize_verified(
        "
        ....        SNAP    #0 pc=2 [ ]
        0000 > int  SLOAD    #0         #0
        0001 > int  SLOAD    #1         #0
        0002   bool LT       0000 0001
        0003 > void GTRUE    0002       #0
        0004   bool GE       0000 0001
        0005   bool NOT      0004
        ....        SNAP    #1 pc=6 [ ]
        0006 > void GTRUE    0005       #1
        0007 > int  GLOAD    g0         #1
        0008 > int  GLOAD    g1         #1
        0009   int  K        1
        0010 > int  MUL      0008 0009  #1
        0011 > int  ADD      0007 0010  #1
        0012   void GSTORE   g0 0011
        0013 > int  GLOAD    g0         #1
        0014   int  K        1
        ....        SNAP    #2 pc=12 [ 3=0013 ]
        0015 > int  ADD      0000 0014  #2
        ....        LOOPEND #3 pc=2 [ 0=0015 3=0013 ]
        ",
    );
    let text = optimized.to_string();
    let body = &text[text.find("LOOP").expect("peeled")..];
    let count = |haystack: &str, needle: &str| haystack.matches(needle).count();
    assert_eq!(count(&text, "GE"), 0, "GE is dead once its guard is implied:\n{}", text);
    assert_eq!(count(&text, "MUL"), 0, "g1 * 1 folds:\n{}", text);
    assert_eq!(count(body, "GLOAD"), 1, "the body loads g0 again, g1 not:\n{}", text);
    assert_eq!(count(body, "g1"), 0, "{}", text);
    assert_eq!(count(body, "GTRUE"), 1, "only the loop condition is tested in the body:\n{}", text);
    assert_eq!(optimized.insts.iter().filter(|i| matches!(i.op, Op::Phi(..))).count(), 2, "{}", text);
}

/// `while i < n { a, b := b, a; x := x + 0.0; i := i + 1 }`: four Phis (the swap's refer to
/// each other) and the float `+ 0.0` survives (it turns -0.0 into 0.0).
#[test]
fn swap_and_float_accumulator() {
    let optimized = optimize_verified(
        "
        ....        SNAP    #0 pc=2 [ ]
        0000 > int  SLOAD    #0         #0
        0001 > int  SLOAD    #1         #0
        0002   bool LT       0000 0001
        0003 > void GTRUE    0002       #0
        0004 > flt  SLOAD    #2         #0
        0005 > flt  SLOAD    #3         #0
        0006 > flt  SLOAD    #4         #0
        0007   flt  K        0.0
        0008   flt  ADD      0006 0007
        0009   int  K        1
        ....        SNAP    #1 pc=9 [ 2=0005 3=0004 4=0008 ]
        0010 > int  ADD      0000 0009  #1
        ....        LOOPEND #2 pc=2 [ 0=0010 2=0005 3=0004 4=0008 ]
        ",
    );
    let phis: Vec<Op> = optimized.insts.iter().map(|i| i.op).filter(|op| matches!(op, Op::Phi(..))).collect();
    let loop_start = optimized.loop_start().expect("peeled");
    let (a, b) = (loop_start.0 + 2, loop_start.0 + 3);
    assert_eq!(phis.len(), 4, "{}", optimized);
    // Slot 2's Phi starts as b's load (0005) and takes slot 3's Phi, and the other way round.
    assert!(phis.contains(&Op::Phi(InstIdx(5), InstIdx(b))), "{}", optimized);
    assert!(phis.contains(&Op::Phi(InstIdx(4), InstIdx(a))), "{}", optimized);
    let body_float_adds =
        optimized.insts[loop_start.index()..].iter().filter(|i| matches!(i.op, Op::AddFloat(..))).count();
    assert_eq!(body_float_adds, 1, "{}", optimized);
}

#[test]
fn type_unstable_loops_abort() {
    let trace = parse(
        "
        ....        SNAP    #0 pc=1 [ ]
        0000 > int  SLOAD    #0         #0
        0001   flt  CONV     0000
        0002   flt  K        0.5
        0003   flt  ADD      0001 0002
        ....        LOOPEND #1 pc=1 [ 0=0003 ]
        ",
    )
    .unwrap();
    assert_eq!(optimize(&trace), Err(OptError::new("type-unstable loop: slot 0 enters as int and leaves as flt")));
}

#[test]
fn invalid_recordings_are_rejected_in_debug_builds() {
    let trace = parse("0000 int K 1\n0001 flt NEG 0000").unwrap();
    let result = optimize(&trace);
    if cfg!(debug_assertions) {
        assert_eq!(
            result,
            Err(OptError::new("invalid IR after recorder: 0001: NEG operand 0000 is int, expected flt"))
        );
    }
}
