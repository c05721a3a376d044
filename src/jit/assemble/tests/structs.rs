//! Struct literals built on trace: `ALLOC` of a struct, then `FINIT`s that append its
//! fields in place, checked against what the interpreter's `NewStruct` builds (the fields in
//! order, the values as given, room for exactly those fields, nothing shared).

use super::*;
use crate::jit::ir::AllocKind;
use crate::runtime::heap::Heap;
use crate::runtime::heap::HeapObject;
use crate::runtime::object::new_struct;
use crate::runtime::symbol::Symbol;

/// `S { f7: i, f9: 2.5, f8: s, f5: null, f6: a, f4: i < k, f3: 2^40 }` over slots
/// 0 = i, 1 = s, 2 = a, 3 = k, stored into global 0; `k`, live across `ALLOC`'s helper
/// call, into global 1.
fn struct_literal() -> (Trace, SnapIdx, SnapIdx) {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let i = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let s = b.guard(Op::SLoad { slot: 1 }, Ty::Str, entry);
    let a = b.guard(Op::SLoad { slot: 2 }, Ty::Array, entry);
    let k = b.guard(Op::SLoad { slot: 3 }, Ty::Int, entry);
    let half = b.inst(Op::KFloat(2.5), Ty::Float);
    let null = b.inst(Op::KNull, Ty::Null);
    let big = b.inst(Op::KInt(1 << 40), Ty::Int);
    let below = b.inst(Op::LtInt(i, k), Ty::Bool);
    let allocation = b.snap(&[]);
    let object = b.guard(Op::Alloc(AllocKind::Struct { type_index: 3, fields: 7 }), Ty::Struct, allocation);
    for (field, value) in [(7, i), (9, half), (8, s), (5, null), (6, a), (4, below), (3, big)] {
        b.inst(Op::FieldInit { object, field, value }, Ty::Void);
    }
    b.inst(Op::GStore { global: 0, value: object }, Ty::Void);
    b.inst(Op::GStore { global: 1, value: k }, Ty::Void);
    let done = b.finish_straight();
    (b.trace, allocation, done)
}

#[test]
fn struct_literals_fill_the_fresh_struct_in_order() {
    let (trace, allocation, done) = struct_literal();
    let compiled = compile(&trace);
    let mut heap = Heap::default();
    let s = heap.alloc(StrObj::new("text".to_string()));
    let a = new_array(&mut heap, ints([1, 2]));
    let mut slots = [Value::Int(-3), Value::Str(s), Value::Array(a), Value::Int(11)];
    let mut globals = [Value::Null, Value::Null];
    let mut state = Box::new(ExitState { heap: &mut heap, ..ExitState::default() });
    // SAFETY: as in `run`; `heap` outlives the call.
    let number = unsafe { (compiled.entry)(slots.as_mut_ptr(), globals.as_mut_ptr(), &mut *state) };
    assert_ne!(number, allocation.0, "no collection is due on a fresh heap");
    assert_eq!(number, done.0);
    assert_eq!(int(globals[1]), 11, "a value live across the allocation survives it");
    let Value::Struct(object) = globals[0] else { panic!("expected a struct, got {}", globals[0].type_name()) };
    assert_eq!(object.type_index, 3);
    assert!(!object.is_shared(), "a fresh struct is unshared");
    let names: Vec<u32> = object.fields.iter().map(|(name, _)| name.0).collect();
    assert_eq!(names, [7, 9, 8, 5, 6, 4, 3], "the literal's order");
    let values: Vec<Value> = object.fields.iter().map(|&(_, value)| value).collect();
    assert_eq!(int(values[0]), -3);
    assert_eq!(float(values[1]), 2.5);
    assert!(matches!(values[2], Value::Str(t) if t.addr() == s.addr()), "the string itself");
    assert!(matches!(values[3], Value::Null));
    assert!(matches!(values[4], Value::Array(t) if t.addr() == a.addr()), "the array itself");
    assert!(boolean(values[5]), "-3 < 11");
    assert_eq!(int(values[6]), 1 << 40);
    assert!(!s.is_shared() && !a.is_shared(), "the fields take the values over, as NewStruct does");
    let literal = new_struct(&mut Heap::default(), 3, (3..10).map(|n| (Symbol(n), Value::Null)));
    assert_eq!(object.heap_size(), literal.heap_size(), "the heap accounts for it as for NewStruct's");
    assert_eq!(object.fields.capacity(), object.fields.len(), "room for exactly its fields");
}
