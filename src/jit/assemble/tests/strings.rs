//! String reads compiled inline (`SEQ`, `SLEN`, `SBYTES`, `x64/strings.rs`) against the
//! reference evaluator (`ir::eval`, the interpreter's `==`) and the runtime's lengths, on
//! each path of `SEQ`: texts of at most one byte (the table looked up inline: empty, one
//! ASCII byte, letters differing only in case, NUL and DEL), one of them longer (the
//! helper: different lengths, non-ASCII characters of two to four bytes, equal lengths
//! with different texts), the same object and equal texts in distinct objects; `!=` is
//! `NOT` of `SEQ`.

use super::*;

/// Stores `a == b`, `len(a)` and the byte length of `a` (slots 0 and 1) into globals 0..3,
/// slot 2, an int live across `SEQ`'s helper call, into global 3, and `a != b` into
/// global 4.
fn string_reads() -> (Trace, SnapIdx) {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 0 }, Ty::Str, entry);
    let y = b.guard(Op::SLoad { slot: 1 }, Ty::Str, entry);
    let kept = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let equal = b.inst(Op::SEq(x, y), Ty::Bool);
    let chars = b.inst(Op::SLen(x), Ty::Int);
    let bytes = b.inst(Op::SBytes(x), Ty::Int);
    let different = b.inst(Op::NotBool(equal), Ty::Bool);
    for (global, value) in [equal, chars, bytes, kept, different].into_iter().enumerate() {
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
    let texts = [
        "",
        "a",
        "A",
        "b",
        "n",
        "\0",
        "\u{7f}",
        "ab",
        "aB",
        "ac",
        "é",
        "É",
        "è",
        "€",
        "😀",
        "a😀",
        "hello world",
        "hello worle",
        "Hello world",
        "hello",
    ];
    let strings: Vec<Gc<StrObj>> = texts.iter().map(|t| heap.alloc(StrObj::new(t.to_string()))).collect();
    // A second object of each text: equal texts in distinct objects.
    let copies: Vec<Gc<StrObj>> = texts.iter().map(|t| heap.alloc(StrObj::new(t.to_string()))).collect();
    for &a in &strings {
        for &b in strings.iter().chain(&copies) {
            let mut slots = [Value::Str(a), Value::Str(b), Value::Int(-77)];
            let mut globals = [Value::Null; 5];
            assert_eq!(run(&mut compiled, &mut slots, &mut globals).number, done.0);
            let (x, y) = (&a.text, &b.text);
            let Some(Outcome::Value(equal)) = eval(&Op::SEq(InstIdx(0), InstIdx(1)), &[Value::Str(a), Value::Str(b)])
            else {
                panic!("the evaluator knows SEQ")
            };
            assert_eq!(boolean(globals[0]), boolean(equal), "{:?} == {:?}", x, y);
            assert_eq!(boolean(globals[4]), !boolean(equal), "{:?} != {:?}", x, y);
            assert_eq!(int(globals[1]), a.char_count() as i64, "len({:?})", x);
            assert_eq!(int(globals[2]), a.text.len() as i64, "bytes of {:?}", x);
            assert_eq!(int(globals[3]), -77, "a value live across the helper call survives it");
        }
    }
}

/// The inline path's table holds the interpreter's answer for every pair of strings of at
/// most one byte: all 129 × 129 pairs, natively against the evaluator.
#[test]
fn every_short_string_pair_matches_the_runtime() {
    let (trace, done) = string_reads();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let texts: Vec<String> =
        std::iter::once(String::new()).chain((0..128u8).map(|c| char::from(c).to_string())).collect();
    let strings: Vec<Gc<StrObj>> = texts.iter().map(|t| heap.alloc(StrObj::new(t.clone()))).collect();
    for &a in &strings {
        for &b in &strings {
            let mut slots = [Value::Str(a), Value::Str(b), Value::Int(0)];
            let mut globals = [Value::Null; 5];
            assert_eq!(run(&mut compiled, &mut slots, &mut globals).number, done.0);
            let expected = eval(&Op::SEq(InstIdx(0), InstIdx(1)), &[Value::Str(a), Value::Str(b)]);
            assert!(
                matches!(expected, Some(Outcome::Value(Value::Bool(e))) if e == boolean(globals[0])),
                "{:?} == {:?}",
                a.text,
                b.text
            );
        }
    }
}

/// `while i < n { s := s + piece; i := i + 1 }` over slots 0 = s, 1 = piece, 2 = i, 3 = n.
fn string_appends() -> (Trace, InstIdx, SnapIdx, SnapIdx) {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let s = b.guard(Op::SLoad { slot: 0 }, Ty::Str, entry);
    let piece = b.guard(Op::SLoad { slot: 1 }, Ty::Str, entry);
    let i0 = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: 3 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    b.inst(Op::Loop, Ty::Void);
    let i = b.open_phi(i0, Ty::Int);
    let below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let loop_exit = b.snap(&[(2, i)]);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let append = b.snap(&[(2, i)]);
    b.guard(Op::SAppend { string: s, piece }, Ty::Void, append);
    let overflow = b.snap(&[(2, i)]);
    let next = b.guard(Op::AddInt(i, one), Ty::Int, overflow);
    b.close_phi(i, next);
    (b.trace, i, loop_exit, append)
}

#[test]
fn string_appends_work_in_place_and_exit_on_shared_or_self_appends() {
    let (trace, i, loop_exit, append) = string_appends();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let s = heap.alloc(StrObj::new("ab".to_string()));
    let piece = heap.alloc(StrObj::new("xyz".to_string()));
    let mut slots = [Value::Str(s), Value::Str(piece), Value::Int(0), Value::Int(1000)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), 1000);
    assert_eq!(s.text, format!("ab{}", "xyz".repeat(1000)));
    assert_eq!(piece.text, "xyz", "the piece is only read");
    assert!(exit.state.heap_growth >= 3000, "growth is reported for pacing: {}", exit.state.heap_growth);

    let before = s.text.clone();
    let mut slots = [Value::Str(s), Value::Str(s), Value::Int(0), Value::Int(10)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, append.0, "s + s builds a new string in the interpreter");
    assert_eq!(s.text, before);

    s.set_shared();
    let mut slots = [Value::Str(s), Value::Str(piece), Value::Int(0), Value::Int(10)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, append.0, "a shared string is never changed in place");
    assert_eq!(s.text, before);
}
