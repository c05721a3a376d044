//! The interpreter's inline caches: one entry per instruction of every prototype
//! (`Proto::inline_caches`, a [`CacheEntry`]), remembering what the instruction at that pc
//! found the last time it ran. The entries live in the prototype so that an instruction
//! reaches its own at a fixed distance from its prototype, with nothing to set up per call.
//!
//! Terms:
//! - A *field site* (`GetField`, `PeekField`, `TakeField`, `SetField`) remembers the
//!   position in the struct's field list where it found its field. Structs carry no shape:
//!   two instances of one type may list their fields in different orders (each literal
//!   keeps its own order, a write may append a field). So the position is only a guess
//!   that the access checks against the name stored there (one comparison); when the
//!   name differs it searches the list as without a cache and remembers the new position.
//! - A *method site* (`CallMethod`, `CallMethodLent`) remembers the struct type of the
//!   last receiver and what that type gave for the site's name: its method, or (a type
//!   with no such method) that the callee is the receiver's field of that name, with the
//!   position where it was found, a guess checked like a field site's. A receiver of
//!   another type looks the method up in its type's table and replaces the entry
//!   (monomorphic: a site alternating between types pays what it paid without a cache).
//!
//! Invariant: an entry only ever speeds up a lookup that would give the same answer
//! without it. A field guess is checked on every use; a method entry is keyed on the
//! struct type, and a type's methods never change while a program runs (a REPL input
//! that extends the program starts from empty entries, `Program::reset_inline_caches`).

use std::cell::Cell;

use crate::compile::bytecode::{CacheEntry, ProtoId};

/// The field position a field site guesses.
#[inline(always)]
pub(super) fn field_guess(site: &Cell<CacheEntry>) -> usize {
    site.get().answer as usize
}

#[inline(always)]
pub(super) fn remember_field(site: &Cell<CacheEntry>, position: usize) {
    site.set(CacheEntry { key: 0, answer: position as u32 });
}

/// What a method site knows about receivers of one struct type.
pub(super) enum MethodAnswer {
    /// The type's method for the site's name.
    Method(ProtoId),
    /// The type has no such method: the callee is a field, last found at this position.
    Field(usize),
    /// The site's last receiver had another type (or there was none).
    Unknown,
}

/// Marks a method site's answer that is a field position rather than a prototype (a
/// program has far fewer than 2^31 prototypes, a struct far fewer fields).
const FIELD_ANSWER: u32 = 1 << 31;

/// What a method site remembers for receivers of struct type `type_index`, if that was
/// the type of its last receiver. The key is the type plus one, so that an empty entry
/// matches no type (a program has far fewer than `u32::MAX` struct types).
#[inline(always)]
pub(super) fn cached_method(site: &Cell<CacheEntry>, type_index: u32) -> MethodAnswer {
    let entry = site.get();
    if entry.key != type_index + 1 {
        MethodAnswer::Unknown
    } else if entry.answer & FIELD_ANSWER != 0 {
        MethodAnswer::Field((entry.answer & !FIELD_ANSWER) as usize)
    } else {
        MethodAnswer::Method(ProtoId(entry.answer))
    }
}

pub(super) fn remember_method(site: &Cell<CacheEntry>, type_index: u32, method: ProtoId) {
    site.set(CacheEntry { key: type_index + 1, answer: method.0 });
}

/// Receivers of struct type `type_index` have no method of the site's name; one held the
/// callee as a field at `position`.
pub(super) fn remember_field_callee(site: &Cell<CacheEntry>, type_index: u32, position: usize) {
    site.set(CacheEntry { key: type_index + 1, answer: FIELD_ANSWER | position as u32 });
}
