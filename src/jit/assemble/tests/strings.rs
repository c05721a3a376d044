//! String reads compiled inline (`SEQ`, `SLEN`, `SBYTES`, `x64/strings.rs`) against the
//! runtime's own answers, on each path of `SEQ`: the same object, different lengths, one
//! byte, and longer texts through the helper.

use super::*;

/// Stores `a == b`, `len(a)` and the byte length of `a` (slots 0 and 1) into globals 0..3,
/// and slot 2, an int live across `SEQ`'s helper call, into global 3.
fn string_reads() -> (Trace, SnapIdx) {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 0 }, Ty::Str, entry);
    let y = b.guard(Op::SLoad { slot: 1 }, Ty::Str, entry);
    let kept = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let equal = b.inst(Op::SEq(x, y), Ty::Bool);
    let chars = b.inst(Op::SLen(x), Ty::Int);
    let bytes = b.inst(Op::SBytes(x), Ty::Int);
    for (global, value) in [equal, chars, bytes, kept].into_iter().enumerate() {
        b.inst(Op::GStore { global: global as u32, value }, Ty::Void);
    }
    let done = b.finish_straight();
    (b.trace, done)
}

#[test]
fn string_equality_and_lengths_match_the_runtime() {
    let (trace, done) = string_reads();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let texts = ["", "a", "b", "ab", "ac", "é", "è", "hello world", "hello worle", "hello"];
    let strings: Vec<Gc<StrObj>> = texts.iter().map(|t| heap.alloc(StrObj::new(t.to_string()))).collect();
    // A second object of each text: equal texts in distinct objects.
    let copies: Vec<Gc<StrObj>> = texts.iter().map(|t| heap.alloc(StrObj::new(t.to_string()))).collect();
    for &a in &strings {
        for &b in strings.iter().chain(&copies) {
            let mut slots = [Value::Str(a), Value::Str(b), Value::Int(-77)];
            let mut globals = [Value::Null; 4];
            assert_eq!(run(&mut compiled, &mut slots, &mut globals).number, done.0);
            let (x, y) = (&a.text, &b.text);
            assert_eq!(
                boolean(globals[0]),
                crate::semantics::values_equal(Value::Str(a), Value::Str(b)),
                "{:?} == {:?}",
                x,
                y
            );
            assert_eq!(int(globals[1]), a.char_count() as i64, "len({:?})", x);
            assert_eq!(int(globals[2]), a.text.len() as i64, "bytes of {:?}", x);
            assert_eq!(int(globals[3]), -77, "a value live across the helper call survives it");
        }
    }
}
