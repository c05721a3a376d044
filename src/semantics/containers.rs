//! Indexing, index assignment and field access, each defined once over any [`Containers`]
//! domain (LANGUAGE.md sections 7 and 8): `a[i]` on arrays, strings and dicts, `a[i] := v`
//! on arrays and dicts, `s.f` and `s.f := v` on structs, and the element or field a nested
//! write target goes through (`a[i][j] := v`, `s.f[i] := v`).
//!
//! Rules: an array or a string is indexed by an int; a negative index counts from the end
//! ([`position`]); an index outside the sequence raises "Index out of bounds" with the
//! index as written. A dict is indexed by a string or an int key (a string spelling a
//! canonical int is that int); a missing key raises. Reads mark an object read out of a
//! container shared, as `access::Mark` says (the container still holds it). Writes are
//! copy-on-write: the written container is first made private to its holder
//! ([`Containers::array_unique`], ...), then changed in place, and the holder is updated
//! last, so a write that raises leaves it as it was (a copy made before the error is
//! garbage).
//!
//! Shape: the cases the interpreter runs most (an array read or written at an index in
//! bounds, in place) are a primitive that answers `false` when it does not apply, inline;
//! the rest is a function of its own, `#[inline(never)]`. A domain records such a
//! fast-path primitive only when it applies: the general path that follows a miss
//! decides (and so guards) everything it relies on itself.

use super::{Comparison, Containers, Domain, Kind};
use crate::runtime::access::Mark;
use crate::runtime::ops::{ArithOp, CmpOp, OpError};
use crate::runtime::symbol::Symbol;

/// The position index `i` denotes in a sequence of `length` elements: a negative index
/// counts from the end. The step that reads or writes there checks the bounds.
pub fn position<D: Domain>(d: &mut D, i: D::Int, length: D::Int) -> Result<D::Int, D::Error> {
    let zero = d.int_constant(0);
    let negative = d.int_compare(Comparison::Order(CmpOp::Lt), i, zero);
    if d.decide(negative) {
        d.int_arith(ArithOp::Add, i, length)
    } else {
        Ok(i)
    }
}

/// Checks that `key` can be a dict key (a string or an int).
fn check_key<D: Domain>(d: &mut D, key: D::Value) -> Result<(), D::Error> {
    match d.kind(key) {
        Kind::Str(_) | Kind::Int(_) => Ok(()),
        _ => {
            let ty = d.type_name(key);
            Err(d.fail(OpError::DictKeyType(ty)))
        }
    }
}

/// `container[index]` into `out`, marked as `mark` says (`Mark::IfHolderShared` is for
/// fields and marks like `Mark::Shared`).
#[inline(always)]
pub fn index_into<D: Containers>(
    d: &mut D,
    container: D::Value,
    index: D::Value,
    mark: Mark,
    out: &mut D::Value,
) -> Result<(), D::Error> {
    if let (Kind::Array(a), Kind::Int(i)) = (d.kind(container), d.kind(index)) {
        if d.array_get(a, i, out)? {
            if mark != Mark::Unmarked {
                d.mark_shared(out);
            }
            return Ok(());
        }
    }
    index_general(d, container, index, mark, out)
}

#[inline(never)]
fn index_general<D: Containers>(
    d: &mut D,
    container: D::Value,
    index: D::Value,
    mark: Mark,
    out: &mut D::Value,
) -> Result<(), D::Error> {
    match (d.kind(container), d.kind(index)) {
        (Kind::Array(a), Kind::Int(i)) => {
            let length = d.array_length(a);
            let at = position(d, i, length)?;
            if !d.array_get(a, at, out)? {
                return Err(d.out_of_bounds(i));
            }
        }
        (Kind::Str(s), Kind::Int(i)) => *out = d.str_index(s, i)?,
        (Kind::Dict(x), _) => {
            check_key(d, index)?;
            d.dict_get(x, index, out)?;
        }
        (Kind::Array(_) | Kind::Str(_), _) => {
            let ty = d.type_name(index);
            return Err(d.fail(OpError::IndexNotInt(ty)));
        }
        _ => {
            let ty = d.type_name(container);
            return Err(d.fail(OpError::CannotIndex(ty)));
        }
    }
    if mark != Mark::Unmarked {
        d.mark_shared(out);
    }
    Ok(())
}

/// `holder[index] := value`: the container in `holder` is made private first (a copy
/// written back into `holder` if it was shared).
#[inline(always)]
pub fn set_index<D: Containers>(
    d: &mut D,
    holder: &mut D::Value,
    index: D::Value,
    value: D::Value,
) -> Result<(), D::Error> {
    if let (Kind::Array(a), Kind::Int(i)) = (d.kind(*holder), d.kind(index)) {
        if d.array_store(a, i, value)? {
            return Ok(());
        }
    }
    set_index_general(d, holder, index, value)
}

#[inline(never)]
fn set_index_general<D: Containers>(
    d: &mut D,
    holder: &mut D::Value,
    index: D::Value,
    value: D::Value,
) -> Result<(), D::Error> {
    match (d.kind(*holder), d.kind(index)) {
        (Kind::Array(a), Kind::Int(i)) => {
            let length = d.array_length(a);
            let at = position(d, i, length)?;
            let a = d.array_unique(a)?;
            if !d.array_store(a, at, value)? {
                return Err(d.out_of_bounds(i));
            }
            *holder = d.array_value(a);
        }
        (Kind::Dict(x), _) => {
            check_key(d, index)?;
            let x = d.dict_unique(x)?;
            d.dict_insert(x, index, value)?;
            *holder = d.dict_value(x);
        }
        (Kind::Array(_), _) => {
            let ty = d.type_name(index);
            return Err(d.fail(OpError::IndexNotInt(ty)));
        }
        _ => return Err(d.fail(OpError::InvalidIndexAssignment)),
    }
    Ok(())
}

/// The element a nested write target (`a[i][j] := v`) goes through, into `out`: the
/// container in `holder` is made private (written back into `holder`), then the element,
/// if it is a container, private inside it; the element is not marked shared. Anything
/// else than an array or a dict is read as `holder[index]`.
#[inline(always)]
pub fn index_for_write<D: Containers>(
    d: &mut D,
    holder: &mut D::Value,
    index: D::Value,
    out: &mut D::Value,
) -> Result<(), D::Error> {
    if let (Kind::Array(a), Kind::Int(i)) = (d.kind(*holder), d.kind(index)) {
        if d.array_get_for_write(a, i, out)? {
            return Ok(());
        }
    }
    index_for_write_general(d, holder, index, out)
}

#[inline(never)]
fn index_for_write_general<D: Containers>(
    d: &mut D,
    holder: &mut D::Value,
    index: D::Value,
    out: &mut D::Value,
) -> Result<(), D::Error> {
    match (d.kind(*holder), d.kind(index)) {
        (Kind::Array(a), Kind::Int(i)) => {
            let length = d.array_length(a);
            let at = position(d, i, length)?;
            let a = d.array_unique(a)?;
            if !d.array_element_unique(a, at, out)? {
                return Err(d.out_of_bounds(i));
            }
            *holder = d.array_value(a);
            Ok(())
        }
        (Kind::Dict(x), _) => {
            check_key(d, index)?;
            d.dict_get(x, index, out)?;
            let x = d.dict_unique(x)?;
            d.dict_element_unique(x, index, out)?;
            *holder = d.dict_value(x);
            Ok(())
        }
        _ => index_general(d, *holder, index, Mark::Shared, out),
    }
}

/// `value.name` into `out`, marked as `mark` says; returns where the field is. `guess` is
/// where to look first (an inline cache's answer); `name_text` is called only for an
/// error message.
#[inline(always)]
pub fn field_into<'a, D: Containers>(
    d: &mut D,
    value: D::Value,
    name: Symbol,
    guess: usize,
    name_text: impl FnOnce() -> &'a str,
    mark: Mark,
    out: &mut D::Value,
) -> Result<usize, D::Error> {
    let Kind::Struct(s) = d.kind(value) else {
        return Err(field_of_non_struct(d, name_text(), value));
    };
    let Some(position) = d.struct_field(s, name, guess, out)? else {
        return Err(field_not_found(d, name_text()));
    };
    let marks = match mark {
        Mark::Shared => true,
        Mark::Unmarked => false,
        Mark::IfHolderShared => d.struct_is_shared(s),
    };
    if marks {
        d.mark_shared(out);
    }
    Ok(position)
}

#[cold]
#[inline(never)]
fn field_of_non_struct<D: Domain>(d: &mut D, name: &str, value: D::Value) -> D::Error {
    let ty = d.type_name(value);
    d.fail(OpError::FieldOfNonStruct(name.into(), ty))
}

#[cold]
#[inline(never)]
fn field_not_found<D: Domain>(d: &mut D, name: &str) -> D::Error {
    d.fail(OpError::FieldNotFound(name.into()))
}

/// `holder.name := value`: the struct in `holder` is made private first (a copy written
/// back into `holder` if it was shared); a struct without the field gets it. Returns
/// where a private struct had the field (`guess` after the general path); `name_text`
/// is called only for an error message.
#[inline(always)]
pub fn set_field<'a, D: Containers>(
    d: &mut D,
    holder: &mut D::Value,
    name: Symbol,
    guess: usize,
    name_text: impl FnOnce() -> &'a str,
    value: D::Value,
) -> Result<usize, D::Error> {
    if let Kind::Struct(s) = d.kind(*holder) {
        if let Some(position) = d.struct_store(s, name, guess, value)? {
            return Ok(position);
        }
    }
    set_field_general(d, holder, name, name_text(), value)?;
    Ok(guess)
}

#[inline(never)]
fn set_field_general<D: Containers>(
    d: &mut D,
    holder: &mut D::Value,
    name: Symbol,
    name_text: &str,
    value: D::Value,
) -> Result<(), D::Error> {
    let Kind::Struct(s) = d.kind(*holder) else {
        let ty = d.type_name(*holder);
        return Err(d.fail(OpError::AssignFieldOfNonStruct(name_text.into(), ty)));
    };
    let s = d.struct_unique(s)?;
    let s = d.struct_set(s, name, value)?;
    *holder = d.struct_value(s);
    Ok(())
}

/// The field a nested write target (`s.f[i] := v`) goes through, into `out`: the struct
/// in `holder` is made private (written back into `holder`), then the container in the
/// field private inside it; the field is not marked shared. Anything else than a struct
/// is read as `holder.name`. `name_text` is called only for an error message.
pub fn field_for_write<'a, D: Containers>(
    d: &mut D,
    holder: &mut D::Value,
    name: Symbol,
    name_text: impl FnOnce() -> &'a str,
    out: &mut D::Value,
) -> Result<(), D::Error> {
    let Kind::Struct(s) = d.kind(*holder) else {
        field_into(d, *holder, name, 0, name_text, Mark::Shared, out)?;
        return Ok(());
    };
    if !d.struct_has_field(s, name) {
        return Err(field_not_found(d, name_text()));
    }
    let s = d.struct_unique(s)?;
    d.struct_field_unique(s, name, out)?;
    *holder = d.struct_value(s);
    Ok(())
}
