//! Arrays on trace: element loads and stores with their tag, bounds and sharing checks,
//! lengths, pushes past the capacity, arrays carried through phis and spill slots, and
//! the object layout the array ops need.

use super::*;

/// `while i < len(a) { sum := sum + a[i]; i := i + 1 }` over slots 0 (`a`), 1 (`sum`),
/// 2 (`i`), peeled.
struct ArraySumLoop {
    trace: Trace,
    sum: InstIdx,
    i: InstIdx,
    first_exit: SnapIdx,
    first_element: SnapIdx,
    loop_exit: SnapIdx,
    element: SnapIdx,
}

fn array_sum_loop() -> ArraySumLoop {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let s0 = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let i0 = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let len0 = b.inst(Op::ALen(a), Ty::Int);
    let below0 = b.inst(Op::LtInt(i0, len0), Ty::Bool);
    let first_exit = b.snap(&[]);
    b.guard(Op::GuardTrue(below0), Ty::Void, first_exit);
    let first_element = b.snap(&[]);
    let x0 = b.guard(Op::ALoad(a, i0), Ty::Int, first_element);
    let first_add = b.snap(&[]);
    let s1 = b.guard(Op::AddInt(s0, x0), Ty::Int, first_add);
    let first_increment = b.snap(&[(1, s1)]);
    let i1 = b.guard(Op::AddInt(i0, one), Ty::Int, first_increment);
    b.inst(Op::Loop, Ty::Void);
    let sum = b.open_phi(s1, Ty::Int);
    let i = b.open_phi(i1, Ty::Int);
    let len = b.inst(Op::ALen(a), Ty::Int);
    let below = b.inst(Op::LtInt(i, len), Ty::Bool);
    let loop_exit = b.snap(&[(1, sum), (2, i)]);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let element = b.snap(&[(1, sum), (2, i)]);
    let x = b.guard(Op::ALoad(a, i), Ty::Int, element);
    let add = b.snap(&[(1, sum), (2, i)]);
    let s2 = b.guard(Op::AddInt(sum, x), Ty::Int, add);
    let increment = b.snap(&[(1, s2), (2, i)]);
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, increment);
    b.close_phi(sum, s2);
    b.close_phi(i, i2);
    ArraySumLoop { trace: b.trace, sum, i, first_exit, first_element, loop_exit, element }
}

#[test]
fn array_sum_loop_runs_to_the_end_of_the_array() {
    let ArraySumLoop { trace, sum, i, first_exit, loop_exit, .. } = array_sum_loop();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let a = new_array(&mut heap, ints(1..=1000));
    let mut slots = vec![Value::Array(a), Value::Int(0), Value::Int(0)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, sum), 500_500);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), 1000);
    assert_eq!(exit.state.loop_iterations, 1000);
    assert_eq!(a.items.len(), 1000, "reading leaves the array alone");
    assert!(!a.is_shared());

    let mut slots = vec![Value::Array(a), Value::Int(7), Value::Int(998)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, sum), 7 + 999 + 1000, "starts at i = 998");

    let empty = new_array(&mut heap, Vec::new());
    let mut slots = vec![Value::Array(empty), Value::Int(0), Value::Int(0)];
    assert_eq!(run(&mut compiled, &mut slots, &mut []).number, first_exit.0);
    let mut slots = vec![Value::Int(3), Value::Int(0), Value::Int(0)];
    assert_eq!(run(&mut compiled, &mut slots, &mut []).number, 0, "slot 0 must hold an array");
}

#[test]
fn element_of_another_type_exits_with_the_sum_so_far() {
    let ArraySumLoop { trace, sum, i, first_element, element, .. } = array_sum_loop();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let mut items = ints(1..=1000);
    items[600] = Value::Float(601.0);
    let a = new_array(&mut heap, items);
    let exit = run(&mut compiled, &mut [Value::Array(a), Value::Int(0), Value::Int(0)], &mut []);
    assert_eq!(exit.number, element.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, sum), (1..=600).sum::<i64>());
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), 600);

    for wrong in [Value::Float(1.0), Value::Bool(true), Value::Null, Value::Array(a)] {
        let b = new_array(&mut heap, vec![wrong, Value::Int(2)]);
        let exit = run(&mut compiled, &mut [Value::Array(b), Value::Int(0), Value::Int(0)], &mut []);
        assert_eq!(exit.number, first_element.0, "an int load of a {}", wrong.type_name());
    }
}

#[test]
fn element_loads_of_each_type_check_their_tags() {
    // a[0..4] as int, float, bool and null, stored to globals 0..4.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let array = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let mut guards = Vec::new();
    for (k, ty) in [Ty::Int, Ty::Float, Ty::Bool, Ty::Null].into_iter().enumerate() {
        let index = b.inst(Op::KInt(k as i64), Ty::Int);
        let snap = b.snap(&[(0, array)]);
        let element = b.guard(Op::ALoad(array, index), ty, snap);
        b.inst(Op::GStore { global: k as u32, value: element }, Ty::Void);
        guards.push(snap);
    }
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);
    let mut heap = Heap::default();
    let a = new_array(&mut heap, vec![Value::Int(-4), Value::Float(0.5), Value::Bool(true), Value::Null]);
    let mut globals = vec![Value::Int(9); 4];
    assert_eq!(run(&mut compiled, &mut [Value::Array(a)], &mut globals).number, done.0);
    assert_eq!(int(globals[0]), -4);
    assert_eq!(float(globals[1]), 0.5);
    assert!(boolean(globals[2]));
    assert!(matches!(globals[3], Value::Null));

    let a = new_array(&mut heap, vec![Value::Int(1), Value::Float(0.5), Value::Bool(false), Value::Null]);
    run(&mut compiled, &mut [Value::Array(a)], &mut globals);
    assert!(!boolean(globals[2]));

    // Each element in turn replaced by the next type in the list: its own guard exits.
    let good = [Value::Int(1), Value::Float(0.5), Value::Bool(true), Value::Null];
    for k in 0..4 {
        let mut items = good.to_vec();
        items[k] = good[(k + 1) % 4];
        let a = new_array(&mut heap, items);
        let exit = run(&mut compiled, &mut [Value::Array(a)], &mut globals);
        assert_eq!(exit.number, guards[k].0, "element {}", k);
        assert_eq!(bits_at_exit(&b.trace, &compiled, &exit, array), a.addr() as u64, "array in its snapshot");
    }
}

#[test]
fn element_loads_exit_outside_the_bounds() {
    // a[i] with i from slot 1 (snapshot keeps i), then a[k] for a constant k.
    for k in [-1, 0, 2, 3, i64::MIN] {
        let mut b = Builder::new();
        let entry = b.snap(&[]);
        let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
        let i = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
        let variable = b.snap(&[(5, i)]);
        let x = b.guard(Op::ALoad(a, i), Ty::Int, variable);
        let index = b.inst(Op::KInt(k), Ty::Int);
        let constant = b.snap(&[]);
        let y = b.guard(Op::ALoad(a, index), Ty::Int, constant);
        b.inst(Op::GStore { global: 0, value: x }, Ty::Void);
        b.inst(Op::GStore { global: 1, value: y }, Ty::Void);
        let done = b.finish_straight();
        let mut compiled = compile(&b.trace);
        let mut heap = Heap::default();
        let a = new_array(&mut heap, ints([10, 11, 12]));
        for index in [0, 2, 3, 4, -1, -3, i64::MIN, i64::MAX] {
            let mut globals = vec![Value::Null; 2];
            let exit = run(&mut compiled, &mut [Value::Array(a), Value::Int(index)], &mut globals);
            if !(0..3).contains(&index) {
                assert_eq!(exit.number, variable.0, "a[{}]", index);
                assert_eq!(int_at_exit(&b.trace, &compiled, &exit, i), index);
            } else if !(0..3).contains(&k) {
                assert_eq!(exit.number, constant.0, "a[{}]", k);
            } else {
                assert_eq!(exit.number, done.0);
                assert_eq!((int(globals[0]), int(globals[1])), (10 + index, 10 + k));
            }
        }
        let empty = new_array(&mut heap, Vec::new());
        let exit = run(&mut compiled, &mut [Value::Array(empty), Value::Int(0)], &mut [Value::Null; 2]);
        assert_eq!(exit.number, variable.0, "a[0] of an empty array");
    }
}

#[test]
fn array_values_load_store_and_measure() {
    // g0 := len(slot 0); g1 := slot 0; g3 := len(g2).
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let len = b.inst(Op::ALen(a), Ty::Int);
    b.inst(Op::GStore { global: 0, value: len }, Ty::Void);
    b.inst(Op::GStore { global: 1, value: a }, Ty::Void);
    let global_snap = b.snap(&[]);
    let g = b.guard(Op::GLoad { global: 2 }, Ty::Array, global_snap);
    let global_len = b.inst(Op::ALen(g), Ty::Int);
    b.inst(Op::GStore { global: 3, value: global_len }, Ty::Void);
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);
    let mut heap = Heap::default();
    for (n, m) in [(0, 5), (3, 0), (100_000, 1)] {
        let a = new_array(&mut heap, ints(0..n));
        let other = new_array(&mut heap, vec![Value::Null; m as usize]);
        let mut globals = vec![Value::Null, Value::Null, Value::Array(other), Value::Null];
        assert_eq!(run(&mut compiled, &mut [Value::Array(a)], &mut globals).number, done.0);
        assert_eq!(int(globals[0]), n);
        assert!(matches!(globals[1], Value::Array(stored) if stored == a), "the same object");
        assert_eq!(int(globals[3]), m);
    }
    let a = new_array(&mut heap, Vec::new());
    let mut globals = vec![Value::Null, Value::Null, Value::Int(0), Value::Null];
    assert_eq!(run(&mut compiled, &mut [Value::Array(a)], &mut globals).number, global_snap.0);
}

/// `a[i] := v` for `v` of each type: slot 0 = a, slot 1 = i (stores the int 40 + i at
/// i, a float at i + 1, slot 2's bool at i + 2, null at i + 3).
struct ArrayStores {
    trace: Trace,
    /// `i`, kept in the stores' snapshots.
    index: InstIdx,
    first_store: SnapIdx,
    done: SnapIdx,
}

fn array_stores() -> ArrayStores {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let i = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let flag = b.guard(Op::SLoad { slot: 2 }, Ty::Bool, entry);
    let forty = b.inst(Op::KInt(40), Ty::Int);
    let overflow = b.snap(&[]);
    let int_value = b.guard(Op::AddInt(i, forty), Ty::Int, overflow);
    let float_value = b.inst(Op::IntToFloat(int_value), Ty::Float);
    let null = b.inst(Op::KNull, Ty::Null);
    let mut index = i;
    let mut first_store = None;
    for (k, value) in [int_value, float_value, flag, null].into_iter().enumerate() {
        if k > 0 {
            let one = b.inst(Op::KInt(1), Ty::Int);
            let overflow = b.snap(&[]);
            index = b.guard(Op::AddInt(index, one), Ty::Int, overflow);
        }
        let snap = b.snap(&[(1, i)]);
        b.guard(Op::AStore { array: a, index, value }, Ty::Void, snap);
        first_store.get_or_insert(snap);
    }
    let done = b.finish_straight();
    ArrayStores { trace: b.trace, index: i, first_store: first_store.expect("four stores"), done }
}

#[test]
fn element_stores_write_each_type_in_place() {
    let ArrayStores { trace, done, .. } = array_stores();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let mixed = vec![Value::Int(0), Value::Float(9.0), Value::Null, Value::Bool(true), Value::Int(5)];
    for (i, flag) in [(0, true), (1, false)] {
        let a = new_array(&mut heap, mixed.clone());
        let exit = run(&mut compiled, &mut [Value::Array(a), Value::Int(i), Value::Bool(flag)], &mut []);
        assert_eq!(exit.number, done.0);
        let i = i as usize;
        assert_eq!(int(a.items[i]), 40 + i as i64);
        assert_eq!(float(a.items[i + 1]), 40.0 + i as f64);
        assert_eq!(boolean(a.items[i + 2]), flag);
        assert!(matches!(a.items[i + 3], Value::Null));
        assert_eq!(a.items.len(), 5, "stores never grow the array");
        if i == 1 {
            assert_eq!(int(a.items[0]), 0, "elements before i untouched");
        } else {
            assert_eq!(int(a.items[4]), 5, "elements after the last store untouched");
        }
    }
}

#[test]
fn element_stores_exit_on_shared_arrays_and_outside_the_bounds() {
    let ArrayStores { trace, index, first_store, .. } = array_stores();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let original = ints([1, 2, 3, 4]);
    for i in [4, 5, -1, -4, i64::MIN, i64::MAX - 40] {
        let a = new_array(&mut heap, original.clone());
        let exit = run(&mut compiled, &mut [Value::Array(a), Value::Int(i), Value::Bool(true)], &mut []);
        assert_eq!(exit.number, first_store.0, "a[{}] := ...", i);
        assert_eq!(int_at_exit(&trace, &compiled, &exit, index), i, "index intact at the exit");
        assert!(a.items.iter().zip(&original).all(|(x, y)| int(*x) == int(*y)), "a[{}] unchanged", i);
    }
    let shared = new_array(&mut heap, original.clone());
    shared.set_shared();
    let exit = run(&mut compiled, &mut [Value::Array(shared), Value::Int(0), Value::Bool(true)], &mut []);
    assert_eq!(exit.number, first_store.0, "a shared array is copied by the interpreter first");
    assert!(shared.items.iter().zip(&original).all(|(x, y)| int(*x) == int(*y)));
}

#[test]
fn pushes_grow_the_array_far_past_its_capacity() {
    // while i < n { push(a, i); push(a, i * 0.5); push(a, i < 3); push(a, null); i := i + 1 }
    // over slots 0 = a, 1 = i, 2 = n.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let i0 = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let three = b.inst(Op::KInt(3), Ty::Int);
    let half = b.inst(Op::KFloat(0.5), Ty::Float);
    let null = b.inst(Op::KNull, Ty::Null);
    let below0 = b.inst(Op::LtInt(i0, n), Ty::Bool);
    let first_exit = b.snap(&[]);
    b.guard(Op::GuardTrue(below0), Ty::Void, first_exit);
    let first_push = b.snap(&[]);
    b.guard(Op::APush { array: a, value: i0 }, Ty::Void, first_push);
    let first_overflow = b.snap(&[]);
    let i1 = b.guard(Op::AddInt(i0, one), Ty::Int, first_overflow);
    b.inst(Op::Loop, Ty::Void);
    let i = b.open_phi(i1, Ty::Int);
    let below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let loop_exit = b.snap(&[(1, i)]);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let pushes = b.snap(&[(1, i)]);
    b.guard(Op::APush { array: a, value: i }, Ty::Void, pushes);
    let as_float = b.inst(Op::IntToFloat(i), Ty::Float);
    let halved = b.inst(Op::MulFloat(as_float, half), Ty::Float);
    b.guard(Op::APush { array: a, value: halved }, Ty::Void, pushes);
    let small = b.inst(Op::LtInt(i, three), Ty::Bool);
    b.guard(Op::APush { array: a, value: small }, Ty::Void, pushes);
    b.guard(Op::APush { array: a, value: null }, Ty::Void, pushes);
    let overflow = b.snap(&[(1, i)]);
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, overflow);
    b.close_phi(i, i2);
    let trace = b.trace;
    let mut compiled = compile(&trace);
    // The arguments go to rdi, rsi and rdx: n sits in one of them and must survive.
    assert!(matches!(compiled.locations[n.index()], Location::Gpr(6 | 7)), "{:?}", compiled.locations);

    let mut heap = Heap::default();
    let a = new_array(&mut heap, Vec::new());
    let n = 10_000;
    let exit = run(&mut compiled, &mut [Value::Array(a), Value::Int(0), Value::Int(n)], &mut []);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), n);
    assert_eq!(a.items.len(), 1 + 4 * (n as usize - 1));
    assert_eq!(int(a.items[0]), 0, "the pre-roll pushes only the int");
    for k in 1..n {
        let at = 1 + 4 * (k as usize - 1);
        assert_eq!(int(a.items[at]), k);
        assert_eq!(float(a.items[at + 1]), k as f64 * 0.5);
        assert_eq!(boolean(a.items[at + 2]), k < 3);
        assert!(matches!(a.items[at + 3], Value::Null));
    }

    let shared = new_array(&mut heap, ints([7]));
    shared.set_shared();
    let exit = run(&mut compiled, &mut [Value::Array(shared), Value::Int(0), Value::Int(n)], &mut []);
    assert_eq!(exit.number, first_push.0);
    assert_eq!(shared.items.len(), 1, "a shared array is left to the interpreter");
}

#[test]
fn arrays_rotate_through_phis_and_spill_slots() {
    // Twelve arrays rotate through Phis (more than the general registers); each iteration
    // adds sum((k + 1) * p_k[0]) to s and pushes i onto every array. Slots 0..12 = arrays,
    // 12 = i, 13 = n, 14 = s.
    const K: usize = 12;
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let arrays: Vec<InstIdx> = (0..K).map(|k| b.guard(Op::SLoad { slot: k as u16 }, Ty::Array, entry)).collect();
    let i0 = b.guard(Op::SLoad { slot: K as u16 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: K as u16 + 1 }, Ty::Int, entry);
    let s0 = b.guard(Op::SLoad { slot: K as u16 + 2 }, Ty::Int, entry);
    let zero = b.inst(Op::KInt(0), Ty::Int);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let weights: Vec<InstIdx> = (0..K).map(|k| b.inst(Op::KInt(k as i64 + 1), Ty::Int)).collect();
    b.inst(Op::Loop, Ty::Void);
    let phis: Vec<InstIdx> = arrays.iter().map(|&a| b.open_phi(a, Ty::Array)).collect();
    let i = b.open_phi(i0, Ty::Int);
    let s = b.open_phi(s0, Ty::Int);
    let below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let mut entries: Vec<(u16, InstIdx)> = phis.iter().enumerate().map(|(k, &p)| (k as u16, p)).collect();
    entries.extend([(K as u16, i), (K as u16 + 2, s)]);
    let loop_exit = b.snap(&entries);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let body = b.snap(&entries);
    let mut sum = s;
    for (k, &p) in phis.iter().enumerate() {
        let x = b.guard(Op::ALoad(p, zero), Ty::Int, body);
        let weighted = b.guard(Op::MulInt(x, weights[k]), Ty::Int, body);
        sum = b.guard(Op::AddInt(sum, weighted), Ty::Int, body);
    }
    for &p in &phis {
        b.guard(Op::APush { array: p, value: i }, Ty::Void, body);
    }
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, body);
    for (k, &p) in phis.iter().enumerate() {
        b.close_phi(p, phis[(k + 1) % K]);
    }
    b.close_phi(i, i2);
    b.close_phi(s, sum);
    let trace = b.trace;
    let mut compiled = compile(&trace);
    let spilled = phis.iter().filter(|p| matches!(compiled.locations[p.index()], Location::Spill(_))).count();
    assert!(spilled > 0, "some arrays should live in spill slots: {:?}", compiled.locations);

    let mut heap = Heap::default();
    let objects: Vec<Gc<ArrayObj>> = (0..K).map(|m| new_array(&mut heap, ints([m as i64 + 1]))).collect();
    let n = 50;
    let mut slots: Vec<Value> = objects.iter().map(|&a| Value::Array(a)).collect();
    slots.extend([Value::Int(0), Value::Int(n), Value::Int(0)]);
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    // In iteration j, p_k is array (k + j) mod K, whose element 0 is that number plus 1.
    let expected: i64 =
        (0..n as usize).map(|j| (0..K).map(|k| (k as i64 + 1) * (((k + j) % K) as i64 + 1)).sum::<i64>()).sum();
    assert_eq!(int_at_exit(&trace, &compiled, &exit, s), expected);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), n);
    for (k, &p) in phis.iter().enumerate() {
        let at_exit = bits_at_exit(&trace, &compiled, &exit, p);
        assert_eq!(at_exit, objects[(k + n as usize) % K].addr() as u64, "p_{} after {} rotations", k, n);
    }
    for (m, a) in objects.iter().enumerate() {
        let mut expected_items = vec![m as i64 + 1];
        expected_items.extend(0..n);
        assert_eq!(a.items.iter().map(|&v| int(v)).collect::<Vec<_>>(), expected_items, "array {}", m);
    }
}

/// Emits a peeled trace, unlinked, as if the array layout could not be determined.
fn emit_without_object_layout(
    trace: &Trace,
    loop_pos: usize,
    allocation: &regalloc::Allocation,
) -> Result<x64::Emitted, AssembleError> {
    let table = vec![0usize; trace.snapshots.len()];
    let mut flags = vec![0u8; trace.snapshots.len()];
    let mut counters = vec![0u64; crate::jit::abi::COUNT_EXITS + trace.snapshots.len()];
    let linking = x64::Linking {
        trace_id: 0,
        exit_table: table.as_ptr(),
        stress_flags: flags.as_mut_ptr(),
        counters: Some(counters.as_mut_ptr()),
        end_events: (0, 0),
        iteration_events: (0, 0),
        self_call_target: None,
        trace_entries: &[],
        root_reentry: None,
        parent: None,
        linked_rebuild: None,
        repeats: false,
    };
    x64::emit(trace, Some(loop_pos), allocation, None, false, &linking)
}

#[test]
fn array_ops_need_the_object_layout() {
    // Array values alone compile without it; ALEN does not.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    b.inst(Op::GStore { global: 0, value: a }, Ty::Void);
    b.finish_straight();
    let loop_pos = b.trace.loop_start().expect("peeled").index();
    let allocation = regalloc::allocate(&b.trace, loop_pos).expect("allocated");
    assert!(emit_without_object_layout(&b.trace, loop_pos, &allocation).is_ok());

    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let len = b.inst(Op::ALen(a), Ty::Int);
    b.inst(Op::GStore { global: 0, value: len }, Ty::Void);
    b.finish_straight();
    let loop_pos = b.trace.loop_start().expect("peeled").index();
    let allocation = regalloc::allocate(&b.trace, loop_pos).expect("allocated");
    let error = emit_without_object_layout(&b.trace, loop_pos, &allocation).err().expect("refused");
    assert_eq!(error, AssembleError::Unsupported("object layout unknown".into()));
}
