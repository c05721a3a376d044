//! Field access on values: reads, writes with copy-on-write, and the field access that
//! nested write targets (`s.f[i] := v`) use; and the runtime steps the semantics layer's
//! container operations are built from (`insert_entry`, `next_char`, ...). Indexing is
//! `semantics::containers`. The interpreter executes these and the JIT recorder follows
//! them.
//!
//! Invariants: a read that returns a value stored in a container marks it shared (the
//! container and the reader both hold it). A write first makes the written container
//! private to its holder (`make_unique_*`), then changes it in place. A string stored as a
//! dict key is marked shared, because the dict and the key's other holders keep it. The
//! write functions take the holder by `&mut` (the interpreter passes its slot) and change
//! it only once nothing can fail, so a failed write leaves the holder as it was.

use super::heap::{Gc, Heap};
use super::object::{
    make_unique_array, make_unique_struct, make_unique_value, ArrayObj, DictKey, DictObj, StrObj, StructObj,
};
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

/// `value.name` into `out`, marked as `mark` says; returns the field's position. The field
/// is looked for at position `guess` first (an inline cache's answer). `name_text` is only
/// called for an error message (looking the name up on every access cost a bounds check
/// and two loads).
#[inline(always)]
pub fn field_into<'a>(
    value: Value,
    name: Symbol,
    guess: usize,
    name_text: impl FnOnce() -> &'a str,
    mark: Mark,
    out: &mut Value,
) -> Result<usize, String> {
    let Value::Struct(s) = &value else {
        return Err(field_of_non_struct(name_text(), value));
    };
    let Some(position) = s.position(name, guess) else {
        return Err(field_not_found(name_text()));
    };
    *out = s.fields[position].1;
    if mark == Mark::Shared || (mark == Mark::IfHolderShared && s.is_shared()) {
        out.mark_shared();
    }
    Ok(position)
}

#[cold]
fn field_of_non_struct(name_text: &str, value: Value) -> String {
    format!("Cannot access field {} on a value of type {}", name_text, value.type_name())
}

/// `dict[key] = value` on a private dict: inserts or replaces the entry; a string key
/// becomes shared (the dict holds it now). Returns the bytes the dict grew by, for the
/// heap's accounting. Native code's `DSET` calls it too.
pub fn insert_entry(dict: Gc<DictObj>, key: DictKey, value: Value) -> usize {
    if let DictKey::Str(s) = key {
        s.set_shared();
    }
    dict.get_mut().insert(key, value)
}

#[cold]
pub fn field_not_found(name: &str) -> String {
    format!("Field not found: {}", name)
}

/// `value.name`; `name_text` is only used for the error message.
pub fn get_field(value: Value, name: Symbol, name_text: &str) -> Result<Value, String> {
    let mut out = Value::Null;
    field_into(value, name, 0, || name_text, Mark::Shared, &mut out)?;
    Ok(out)
}

/// `holder.name := value`, writing a private copy back into `holder` if it was shared.
#[inline(always)]
pub fn set_field(
    heap: &mut Heap,
    holder: &mut Value,
    name: Symbol,
    name_text: &str,
    value: Value,
) -> Result<(), String> {
    set_field_guessing(heap, holder, name, 0, || name_text, value).map(|_| ())
}

/// `set_field` that looks for the field at position `guess` first and returns the position
/// where a private struct had it (`guess` after the general path); `name_text` is only
/// called for an error message. A private struct that has the field already is written
/// inline.
#[inline(always)]
pub fn set_field_guessing<'a>(
    heap: &mut Heap,
    holder: &mut Value,
    name: Symbol,
    guess: usize,
    name_text: impl FnOnce() -> &'a str,
    value: Value,
) -> Result<usize, String> {
    if let Value::Struct(s) = &*holder {
        if !s.is_shared() {
            if let Some(position) = s.position(name, guess) {
                s.get_mut().fields[position].1 = value;
                return Ok(position);
            }
        }
    }
    set_field_general(heap, holder, name, name_text(), value)?;
    Ok(guess)
}

#[inline(never)]
fn set_field_general(
    heap: &mut Heap,
    holder: &mut Value,
    name: Symbol,
    name_text: &str,
    value: Value,
) -> Result<(), String> {
    match *holder {
        Value::Struct(s) => {
            let s = make_unique_struct(heap, s);
            s.get_mut().set(name, value);
            *holder = Value::Struct(s);
            Ok(())
        }
        other => Err(format!("Cannot assign field {} on a value of type {}", name_text, other.type_name())),
    }
}

/// The field a nested write target (`s.f[i] := v`) goes through: makes the struct in
/// `holder` private, then the container in the field private inside it
/// ([`private_field_for_write`]), and returns that container unshared.
/// `name_text` is only called for an error message.
pub fn field_for_write<'a>(
    heap: &mut Heap,
    holder: &mut Value,
    name: Symbol,
    name_text: impl FnOnce() -> &'a str,
) -> Result<Value, String> {
    match *holder {
        Value::Struct(s) => {
            if s.field(name).is_none() {
                return Err(field_not_found(name_text()));
            }
            let s = make_unique_struct(heap, s);
            *holder = Value::Struct(s);
            Ok(private_field_for_write(heap, s, name).expect("the field exists"))
        }
        other => get_field(other, name, name_text()),
    }
}

/// Field `name` of the private struct `s`, for a write through it: a container in it is
/// made private in place (copied when shared) and returned unmarked. `None` when `s` has
/// no such field. The second half of [`field_for_write`]; native code's `FLOADU` calls it
/// after `SUNIQUE` made the struct private.
pub fn private_field_for_write(heap: &mut Heap, s: Gc<StructObj>, name: Symbol) -> Option<Value> {
    let field = s.get_mut().field_mut(name)?;
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
    a.get_mut().items.push(value);
    heap.note_growth((a.items.capacity() - before) * std::mem::size_of::<Value>());
    *holder = Value::Array(a);
    Some(())
}

pub fn new_array(heap: &mut Heap, items: Vec<Value>) -> Value {
    Value::Array(heap.alloc(ArrayObj { items }))
}

/// What a `for x in value` loop iterates (`ForPrep`): arrays, strings and int counts as
/// they are, a float count truncated, and a dict as a new array of its keys as strings
/// (which become shared: the dict still holds them).
/// One step of `for c in s` (`ForNext` over a string, whose position is a byte offset):
/// the character starting at byte `position` as a one-character string (`Heap::char_string`), with
/// `position` moved past it; `None` at the end. Native code's `SNEXTCH` calls it too.
pub fn next_char(heap: &mut Heap, s: &StrObj, position: &mut i64) -> Option<Value> {
    let c = s.text.get(usize::try_from(*position).ok()?..)?.chars().next()?;
    *position += c.len_utf8() as i64;
    Some(Value::Str(heap.char_string(c)))
}

pub fn iteration_source(heap: &mut Heap, value: Value) -> Result<Value, String> {
    Ok(match value {
        Value::Array(_) | Value::Str(_) | Value::Int(_) => value,
        Value::Float(f) => Value::Int(f as i64),
        Value::Dict(d) => {
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
        other => return Err(format!("Cannot iterate over a value of type {}", other.type_name())),
    })
}
