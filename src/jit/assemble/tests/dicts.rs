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
            access::insert_entry(dict, DictKey::of_string(string(&mut heap, text)), Value::Int(n as i64 * 10));
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
