//! The runtime steps the semantics layer's container operations are built from
//! (`insert_entry`, `private_field_for_write`, `next_char`, ...), and how a read marks
//! what it reads (`Mark`). Indexing and field access themselves are
//! `semantics::containers`.
//!
//! Invariants: a read that returns a value stored in a container marks it shared (the
//! container and the reader both hold it). A write first makes the written container
//! private to its holder (`make_unique_*`), then changes it in place. A string stored as a
//! dict key is marked shared, because the dict and the key's other holders keep it. The
//! write functions take the holder by `&mut` (the interpreter passes its slot) and change
//! it only once nothing can fail, so a failed write leaves the holder as it was.

use super::heap::{Gc, Heap};
use super::object::{make_unique_array, make_unique_value, ArrayObj, DictKey, DictObj, StrObj, StructObj};
use super::ops::OpError;
use super::symbol::Symbol;
use super::value::Value;

/// How a read stores its result: into `out`, the interpreter's destination slot, copied
/// there from where the container holds it in one move. (Returning the value instead made
/// the interpreter assemble it from pieces stored at overlapping stack addresses: a
/// store-forwarding stall on every element or field read, a fifth of a struct-heavy
/// program's time.)
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// `GetIndex`, `GetField`: the value is marked shared (the container keeps it).
    Shared,
    /// `PeekIndex`, `PeekField`: not marked.
    Unmarked,
    /// `TakeField`: marked only when the struct it comes from is shared.
    IfHolderShared,
}

/// `dict[key] = value` on a private dict: inserts or replaces the entry; a string key
/// becomes shared (the dict holds it now). Returns the bytes the dict grew by, for the
/// heap's accounting. Native code's `DSET` calls it too.
pub fn insert_entry(heap: &mut Heap, dict: Gc<DictObj>, key: DictKey, value: Value) -> usize {
    if let DictKey::Str(s) = key {
        s.set_shared();
    }
    dict.get_mut(heap).insert(key, value)
}

/// The error of a struct without field `name` (a method call's too).
#[cold]
pub fn field_not_found(name: &str) -> String {
    OpError::FieldNotFound(name.into()).to_string()
}

/// Field `name` of the private struct `s`, for a write through it: a container in it is
/// made private in place (copied when shared) and returned unmarked. `None` when `s` has
/// no such field. The second half of `semantics::field_for_write`; native code's `FLOADU`
/// calls it after `SUNIQUE` made the struct private.
pub fn private_field_for_write(heap: &mut Heap, s: Gc<StructObj>, name: Symbol) -> Option<Value> {
    let field = s.get_mut(heap).field_mut(name)?;
    make_unique_value(heap, field);
    Some(*field)
}

/// Appends `value` to the array in `holder` (copying it first if shared); returns the
/// bytes the array grew by.
pub fn array_push(heap: &mut Heap, holder: &mut Value, value: Value) -> Option<()> {
    let Value::Array(a) = *holder else {
        return None;
    };
    let a = make_unique_array(heap, a);
    let before = a.items.capacity();
    a.get_mut(heap).items.push(value);
    heap.note_growth(a, (a.items.capacity() - before) * std::mem::size_of::<Value>());
    *holder = Value::Array(a);
    Some(())
}

/// `...source` inside an array literal (`ArraySpread`): the elements of array `source`
/// appended to `target`, the literal being built (which nobody else holds yet), each
/// marked shared (both arrays hold it). Anything but an array fails, changing nothing.
/// Native code runs it as a residual call (`jit::residual`).
pub fn spread_into_array(heap: &mut Heap, target: Gc<ArrayObj>, source: Value) -> Result<(), String> {
    let Value::Array(source) = source else {
        return Err(format!("Cannot spread a value of type {} into an array", source.type_name()));
    };
    for item in &source.items {
        item.mark_shared();
    }
    target.get_mut(heap).items.extend_from_slice(&source.items);
    Ok(())
}

/// `...source` inside a dict literal (`DictSpread`): the entries of dict `source` inserted
/// into `target`, the literal being built, keys and values marked shared. Anything but a
/// dict fails, changing nothing. Native code runs it as a residual call.
pub fn spread_into_dict(heap: &mut Heap, target: Gc<DictObj>, source: Value) -> Result<(), String> {
    let Value::Dict(source) = source else {
        return Err(format!("Cannot spread a value of type {} into a dict", source.type_name()));
    };
    for (k, v) in &source.entries {
        if let DictKey::Str(s) = k {
            s.set_shared();
        }
        v.mark_shared();
        let grown = target.get_mut(heap).insert(*k, *v);
        heap.note_growth(target, grown);
    }
    Ok(())
}

pub fn new_array(heap: &mut Heap, items: Vec<Value>) -> Value {
    Value::Array(heap.alloc(ArrayObj { items }))
}

/// One step of `for c in s` (`ForNext` over a string, whose position is a byte offset):
/// the character starting at byte `position` as a one-character string (`Heap::char_string`), with
/// `position` moved past it; `None` at the end. Native code's `SNEXTCH` calls it too.
pub fn next_char(heap: &mut Heap, s: &StrObj, position: &mut i64) -> Option<Value> {
    let c = s.text.get(usize::try_from(*position).ok()?..)?.chars().next()?;
    *position += c.len_utf8() as i64;
    Some(Value::Str(heap.char_string(c)))
}

/// The keys of dict `d` as a new array of strings (int keys spelled out), which `for k in
/// d` iterates; string keys become shared (the dict still holds them). Native code's
/// `KEYS` calls it too.
pub fn dict_keys(heap: &mut Heap, d: Gc<DictObj>) -> Value {
    let keys = d
        .entries
        .iter()
        .map(|(k, _)| match k {
            DictKey::Str(s) => {
                s.set_shared();
                Value::Str(*s)
            }
            DictKey::Int(i) => Value::Str(heap.alloc(StrObj::new(i.to_string()))),
        })
        .collect();
    Value::Array(heap.alloc(ArrayObj { items: keys }))
}
