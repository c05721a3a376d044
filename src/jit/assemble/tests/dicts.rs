//! Dict lookups through the run's hint (`ExitState::dict_hint`): `d[k] := d[k] + 1` after
//! `has_key(d, k)` finds the entry once, and a hint stays right when another key is
//! inserted between (entries never move).

use super::*;
use crate::runtime::access;
use crate::runtime::object::{DictKey, DictObj};
use crate::runtime::value::Tag;

/// Slots 0 = dict, 1 = key k, 2 = key j: stores `DTAG d k` into global 0, then
/// `d[j] := d[k] + 1`, `d[k] := d[k] + 1`, and `DTAG d j` into global 1.
fn increments() -> (Trace, SnapIdx) {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let d = b.guard(Op::SLoad { slot: 0 }, Ty::Dict, entry);
    let k = b.guard(Op::SLoad { slot: 1 }, Ty::Str, entry);
    let j = b.guard(Op::SLoad { slot: 2 }, Ty::Str, entry);
    let tag = b.inst(Op::DTag(d, k), Ty::Int);
    b.inst(Op::GStore { global: 0, value: tag }, Ty::Void);
    let old = b.inst(Op::DGet(d, k), Ty::Int);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let new = b.guard(Op::AddInt(old, one), Ty::Int, entry);
    b.guard(Op::DSet { dict: d, key: j, value: new }, Ty::Void, entry);
    b.guard(Op::DSet { dict: d, key: k, value: new }, Ty::Void, entry);
    let tag = b.inst(Op::DTag(d, j), Ty::Int);
    b.inst(Op::GStore { global: 1, value: tag }, Ty::Void);
    let done = b.finish_straight();
    (b.trace, done)
}

#[test]
fn lookups_through_the_hint_find_and_replace_the_entry() {
    let (trace, done) = increments();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let string = |heap: &mut Heap, text: &str| heap.alloc(StrObj::new(text.to_string()));
    for (key_text, new_text) in [("c", "n"), ("7", "8"), ("c", "c")] {
        let dict = heap.alloc(DictObj::with_capacity(0));
        for (n, text) in ["a", "b", "c", "7", "d", "e", "f", "g", "h", "i"].into_iter().enumerate() {
            let key = DictKey::of_string(string(&mut heap, text));
            access::insert_entry(&mut heap, dict, key, Value::Int(n as i64 * 10));
        }
        // Keys that are other objects than the dict's own keys.
        let (key, new_key) = (string(&mut heap, key_text), string(&mut heap, new_text));
        let before = DictKey::of_string(key);
        let old = match dict.get(&before) {
            Some(Value::Int(i)) => i,
            other => panic!("{:?} holds {:?}", key_text, other.map(|v| v.type_name())),
        };
        let mut slots = [Value::Dict(dict), Value::Str(key), Value::Str(new_key)];
        let mut globals = [Value::Null; 2];
        assert_eq!(run(&mut compiled, &mut slots, &mut globals).number, done.0);
        assert_eq!(int(globals[0]), Tag::Int as i64);
        assert_eq!(int(globals[1]), Tag::Int as i64);
        assert!(matches!(dict.get(&before), Some(Value::Int(i)) if i == old + 1), "{} incremented", key_text);
        let after = DictKey::of_string(new_key);
        assert!(matches!(dict.get(&after), Some(Value::Int(i)) if i == old + 1), "{} set", new_text);
        assert_eq!(dict.len(), if key_text == new_text { 10 } else { 11 });
        // `insert_entry` marks a text key shared, not the spelling of an int key.
        assert_eq!(key.is_shared(), key_text != "7", "{} shared", key_text);
    }
}

#[test]
fn sunk_dicts_are_rebuilt_at_exits_from_values_kept_alive_for_them() {
    // A dict literal {"a": x + 1, "b": x * 2} that native code never builds, named by a
    // snapshot in two slots after enough other values to reuse every register.
    let mut heap = Heap::default();
    let key_a = heap.alloc(StrObj::new("a".to_string()));
    let key_b = heap.alloc(StrObj::new("b".to_string()));
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let two = b.inst(Op::KInt(2), Ty::Int);
    let empty = b.inst(Op::DNew, Ty::Dict);
    let a = b.inst(Op::KStr(key_a), Ty::Str);
    let overflow = b.snap(&[]);
    let y = b.guard(Op::AddInt(x, one), Ty::Int, overflow);
    let with_a = b.inst(Op::DIns { dict: empty, key: a, value: y }, Ty::Dict);
    let mut sum = x;
    for k in 0..12 {
        let constant = b.inst(Op::KInt(k), Ty::Int);
        let term = b.guard(Op::AddInt(x, constant), Ty::Int, overflow);
        sum = b.guard(Op::AddInt(sum, term), Ty::Int, overflow);
    }
    b.inst(Op::GStore { global: 0, value: sum }, Ty::Void);
    let z = b.guard(Op::MulInt(x, two), Ty::Int, overflow);
    let bkey = b.inst(Op::KStr(key_b), Ty::Str);
    let full = b.inst(Op::DIns { dict: with_a, key: bkey, value: z }, Ty::Dict);
    b.inst(Op::Loop, Ty::Void);
    let done = b.snap(&[(1, full), (2, full)]);
    let never = b.inst(Op::KBool(false), Ty::Bool);
    b.guard(Op::GuardTrue(never), Ty::Void, done);
    let trace = b.trace;
    let mut compiled = compile(&trace);
    assert_eq!(compiled.locations[full.index()], Location::None, "a sunk dict has no location");

    let mut slots = vec![Value::Int(20), Value::Null, Value::Null];
    let exit = run(&mut compiled, &mut slots, &mut [Value::Null]);
    assert_eq!(exit.number, done.0);
    let pc = crate::jit::exit::restore(&trace, &compiled.locations, &exit.state, done, &mut slots, &mut heap);
    assert_eq!(pc, done.0);
    let (Value::Dict(first), Value::Dict(second)) = (slots[1], slots[2]) else { panic!("slots 1 and 2 hold dicts") };
    assert_eq!(first.addr(), second.addr(), "one IR value is one object");
    let entries: Vec<(String, i64)> = first
        .entries
        .iter()
        .map(|(k, v)| match k {
            crate::runtime::object::DictKey::Str(s) => (s.text.clone(), int(*v)),
            crate::runtime::object::DictKey::Int(i) => panic!("unexpected int key {}", i),
        })
        .collect();
    assert_eq!(entries, vec![("a".to_string(), 21), ("b".to_string(), 40)]);
}
