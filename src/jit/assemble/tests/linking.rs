//! Traces joined to traces: a side trace storing its slots and returning to the loop, a
//! linked exit running its side trace natively, and an unpeeled root repeating through
//! memory.

use super::*;

#[test]
fn side_trace_stores_its_slots_and_returns_to_the_loop() {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let y = b.guard(Op::SLoad { slot: 1 }, Ty::Float, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let overflow = b.snap(&[]);
    let x1 = b.guard(Op::AddInt(x, one), Ty::Int, overflow);
    let half = b.inst(Op::KFloat(0.5), Ty::Float);
    let y1 = b.inst(Op::MulFloat(y, half), Ty::Float);
    let flag = b.inst(Op::KBool(true), Ty::Bool);
    b.inst(Op::SStore { slot: 0, value: x1 }, Ty::Void);
    b.inst(Op::SStore { slot: 1, value: y1 }, Ty::Void);
    b.inst(Op::SStore { slot: 2, value: flag }, Ty::Void);
    let mut compiled = assemble(&b.trace, &AssembleOptions::unlinked(0, false)).expect("a side trace compiles");
    let mut slots = vec![Value::Int(41), Value::Float(3.0), Value::Null];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, BACK_TO_LOOP);
    assert!(matches!(slots[0], Value::Int(42)));
    assert!(matches!(slots[1], Value::Float(f) if f == 1.5));
    assert!(matches!(slots[2], Value::Bool(true)));
    let mut overflowing = vec![Value::Int(i64::MAX), Value::Float(3.0), Value::Null];
    let exit = run(&mut compiled, &mut overflowing, &mut []);
    assert_eq!(exit.number, overflow.0, "a guard of a side trace exits through its snapshot");
    assert!(matches!(overflowing[0], Value::Int(i64::MAX)), "slots are stored only at the end");
}

#[test]
fn linked_exit_runs_the_side_trace_natively_and_returns_to_the_root() {
    // Root: `while i < n { i := i + 1 }` over slots 0 (i) and 1 (n). Side trace of the
    // loop-end exit: `if k < 3 { k := k + 1; i := 0 }` over slot 2 (k), then back to the
    // root. Linked, the whole thing runs natively until k reaches 3.
    let CountingLoop { trace: root, phi } = counting_loop();
    let loop_end = SnapIdx(3);
    assert_eq!(root.snapshots[loop_end.index()].entries, vec![(0, phi)]);
    let mut compiled_root = assemble(&root, &AssembleOptions::unlinked(0, false)).expect("root compiles");

    let mut b = Builder::new();
    let entry = b.snap(&[]);
    b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let k = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let three = b.inst(Op::KInt(3), Ty::Int);
    let more = b.inst(Op::LtInt(k, three), Ty::Bool);
    let done = b.snap(&[]);
    b.guard(Op::GuardTrue(more), Ty::Void, done);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let next = b.guard(Op::AddInt(k, one), Ty::Int, done);
    let zero = b.inst(Op::KInt(0), Ty::Int);
    b.inst(Op::SStore { slot: 2, value: next }, Ty::Void);
    b.inst(Op::SStore { slot: 0, value: zero }, Ty::Void);
    let parent = ParentExit {
        trace: &root,
        locations: &compiled_root.locations,
        snap: loop_end,
        exit_return: compiled_root.exit_return(loop_end),
    };
    let options = AssembleOptions {
        deopt_stress: false,
        trace_id: 1,
        root_reentry: Some(compiled_root.reentry),
        parent: Some(parent),
        self_call_target: None,
        trace_entries: &[],
        repeats: false,
        end_events: (0, 0),
        iteration_events: (0, 0),
        count_native: true,
    };
    let side = assemble(&b.trace, &options).expect("side trace compiles");
    let entry_address = side.linked_entry.expect("compiled with its parent exit");
    // SAFETY: `side` was compiled for exit 3 of `compiled_root` and outlives every run.
    unsafe { compiled_root.link_exit(loop_end, entry_address) };

    let mut slots = vec![Value::Int(0), Value::Int(5), Value::Int(0)];
    let exit = run(&mut compiled_root, &mut slots, &mut []);
    assert_eq!((exit.state.exited_trace, exit.number), (1, done.0), "the side trace's guard exits");
    assert_eq!(int(slots[0]), 5, "the linked entry stored i");
    assert_eq!(int(slots[2]), 3);
    assert_eq!(exit.state.loop_iterations, 4 * 5, "four rounds of five iterations, one counter");
}

/// An unpeeled root loop trace (`AssembleOptions::repeats`): `while i < n { i := i + 1 }`
/// as straight-line code that loads its slots, stores `i` back and runs again from its
/// re-entry, counting iterations, until the condition's guard exits.
#[test]
fn unpeeled_root_trace_repeats_through_memory() {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let i = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let done = b.snap(&[]);
    b.guard(Op::GuardTrue(below), Ty::Void, done);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let next = b.guard(Op::AddInt(i, one), Ty::Int, done);
    b.inst(Op::SStore { slot: 0, value: next }, Ty::Void);
    let mut options = AssembleOptions::unlinked(0, false);
    options.repeats = true;
    let mut compiled = assemble(&b.trace, &options).expect("the trace compiles");
    let mut slots = vec![Value::Int(3), Value::Int(40)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, done.0);
    assert_eq!(int(slots[0]), 40);
    assert_eq!(exit.state.loop_iterations, 37);
}
