//! Indexing and field access on values: reads, writes with copy-on-write, and the
//! element access that nested write targets (`a[i][j] := v`) use. The interpreter
//! executes these and the JIT recorder follows them.
//!
//! Invariants: a read that returns a value stored in a container marks it shared (the
//! container and the reader both hold it). A write first makes the written container
//! private to its holder (`make_unique_*`), then changes it in place. A string stored as a
//! dict key is marked shared, because the dict and the key's other holders keep it. The
//! write functions take the holder by `&mut` (the interpreter passes its slot) and change
//! it only once nothing can fail, so a failed write leaves the holder as it was.

use super::heap::{Gc, Heap};
use super::object::{
    make_unique_array, make_unique_dict, make_unique_struct, make_unique_value, ArrayObj, DictKey, DictObj, StrObj,
    StructObj,
};
use super::symbol::Symbol;
use super::value::Value;

/// Resolves a possibly negative index against `len`.
/// The position Ruff's index `i` denotes in a sequence of `len` elements (negative indexes
/// count from the end).
pub fn element_index(i: i64, len: usize) -> Result<usize, String> {
    let resolved = if i < 0 { i.checked_add(len as i64) } else { Some(i) };
    match resolved {
        Some(r) if r >= 0 && (r as usize) < len => Ok(r as usize),
        _ => Err(format!("Index out of bounds: {}", i)),
    }
}

/// The dict key a value denotes: strings (canonical integers become ints) and ints.
pub fn dict_key(key: Value) -> Result<DictKey, String> {
    match key {
        Value::Str(s) => Ok(DictKey::of_string(s)),
        Value::Int(i) => Ok(DictKey::Int(i)),
        other => Err(format!("Dict keys must be strings or ints, got {}", other.type_name())),
    }
}

fn missing_key(key: Value) -> String {
    match key {
        Value::Str(s) => format!("Missing map key: \"{}\"", s.text),
        other => format!(
            "Missing map key: {}",
            match other {
                Value::Int(i) => i.to_string(),
                _ => other.type_name().to_string(),
            }
        ),
    }
}

fn string_char(heap: &mut Heap, s: &StrObj, i: i64) -> Result<Value, String> {
    let index = element_index(i, s.char_count())?;
    let c = s.char_at(index).ok_or_else(|| format!("Index out of bounds: {}", i))?;
    Ok(Value::Str(heap.char_string(c)))
}

/// `container[index]`.
pub fn get_index(heap: &mut Heap, container: Value, index: Value) -> Result<Value, String> {
    let value = peek_index(heap, container, index)?;
    value.mark_shared();
    Ok(value)
}

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

/// `container[index]` into `out`, marked as `mark` says (`Mark::IfHolderShared` is for
/// fields only and marks like `Mark::Shared`).
///
/// An array read at a non-negative index in bounds is done inline (the interpreter's
/// common case); everything else goes through the out-of-line `peek_index`.
#[inline(always)]
pub fn index_into(heap: &mut Heap, container: Value, index: Value, mark: Mark, out: &mut Value) -> Result<(), String> {
    let in_bounds = match (&container, &index) {
        (Value::Array(a), Value::Int(i)) => a.items.get(*i as usize),
        _ => None,
    };
    *out = match in_bounds {
        Some(element) => *element,
        None => peek_index(heap, container, index)?,
    };
    if mark != Mark::Unmarked {
        out.mark_shared();
    }
    Ok(())
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

/// `container[index]` for a reader that only looks at it while nothing can change the
/// container (`PeekIndex`): the element is not marked shared.
pub fn peek_index(heap: &mut Heap, container: Value, index: Value) -> Result<Value, String> {
    Ok(match (container, index) {
        (Value::Array(a), Value::Int(i)) => a.items[element_index(i, a.items.len())?],
        (Value::Dict(d), key) => d.get(&dict_key(key)?).ok_or_else(|| missing_key(key))?,
        (Value::Str(s), Value::Int(i)) => return string_char(heap, &s, i),
        (Value::Array(_) | Value::Str(_), other) => {
            return Err(format!("Index must be an int, got {}", other.type_name()))
        }
        (other, _) => return Err(format!("Cannot index a value of type {}", other.type_name())),
    })
}

/// `holder[index] := value`, writing a private copy back into `holder` if it was shared.
/// A private array written at a non-negative index in bounds is written inline.
#[inline(always)]
pub fn set_index(heap: &mut Heap, holder: &mut Value, index: Value, value: Value) -> Result<(), String> {
    if let (Value::Array(a), Value::Int(i)) = (&*holder, &index) {
        if !a.is_shared() {
            if let Some(element) = a.get_mut().items.get_mut(*i as usize) {
                *element = value;
                return Ok(());
            }
        }
    }
    set_index_general(heap, holder, index, value)
}

#[inline(never)]
fn set_index_general(heap: &mut Heap, holder: &mut Value, index: Value, value: Value) -> Result<(), String> {
    match (*holder, index) {
        (Value::Array(a), Value::Int(i)) => {
            let position = element_index(i, a.items.len())?;
            let a = make_unique_array(heap, a);
            a.get_mut().items[position] = value;
            *holder = Value::Array(a);
        }
        (Value::Dict(d), key) => {
            let key = dict_key(key)?;
            let d = make_unique_dict(heap, d);
            let grown = insert_entry(d, key, value);
            heap.note_growth(grown);
            *holder = Value::Dict(d);
        }
        (Value::Array(_), other) => return Err(format!("Index must be an int, got {}", other.type_name())),
        _ => return Err("Invalid index assignment".to_string()),
    }
    Ok(())
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

/// The element a nested write target goes through: makes `holder` private, then the
/// element (if it is a container) private inside it, and returns the element unshared.
/// A private array whose element at a non-negative index in bounds is private already
/// needs no copy and is read inline.
#[inline(always)]
pub fn index_for_write(heap: &mut Heap, holder: &mut Value, index: Value) -> Result<Value, String> {
    if let (Value::Array(a), Value::Int(i)) = (&*holder, &index) {
        if !a.is_shared() {
            if let Some(element) = a.items.get(*i as usize) {
                if !element.is_shared() {
                    return Ok(*element);
                }
            }
        }
    }
    index_for_write_general(heap, holder, index)
}

#[inline(never)]
fn index_for_write_general(heap: &mut Heap, holder: &mut Value, index: Value) -> Result<Value, String> {
    match (*holder, index) {
        (Value::Array(a), Value::Int(i)) => {
            let position = element_index(i, a.items.len())?;
            let a = make_unique_array(heap, a);
            *holder = Value::Array(a);
            let element = &mut a.get_mut().items[position];
            make_unique_value(heap, element);
            Ok(*element)
        }
        (Value::Dict(d), key) => {
            let dict_key = dict_key(key)?;
            let mut element = d.get(&dict_key).ok_or_else(|| missing_key(key))?;
            let d = make_unique_dict(heap, d);
            *holder = Value::Dict(d);
            if make_unique_value(heap, &mut element) {
                d.get_mut().insert(dict_key, element);
            }
            Ok(element)
        }
        _ => get_index(heap, *holder, index),
    }
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

/// `...source` inside an array literal (`ArraySpread`): the elements of array `source`
/// appended to `target`, the literal being built (which nobody else holds yet), each
/// marked shared (both arrays hold it). Anything but an array fails, changing nothing.
/// Native code runs it as a residual call (`jit::residual`).
pub fn spread_into_array(target: Gc<ArrayObj>, source: Value) -> Result<(), String> {
    let Value::Array(source) = source else {
        return Err(format!("Cannot spread a value of type {} into an array", source.type_name()));
    };
    for item in &source.items {
        item.mark_shared();
    }
    target.get_mut().items.extend_from_slice(&source.items);
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
        let grown = target.get_mut().insert(*k, *v);
        heap.note_growth(grown);
    }
    Ok(())
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
