//! String building, defined once over any [`Texts`] domain (LANGUAGE.md, string
//! interpolation): `ToStr`, the text of an interpolated value, and `Concat`, the parts of
//! an interpolation joined into a new string.
//!
//! Rules: a string's text is the string itself, any other value's its display form
//! (`runtime::format::display`, as `print` shows it). The joined string's text is that
//! of `((p0 + p1) + p2) + …`, made by string `+`'s own primitive (`runtime::ops::concat`,
//! [`Texts::str_join`]); one part is copied, so `Concat` always makes a new string that
//! nothing else holds.

use smallvec::SmallVec;

use super::{Allocating, Kind};
use crate::compile::bytecode::Program;
use crate::runtime::ops::OpError;

/// A domain that can make the texts of values and join them (see the module header).
pub trait Texts: Allocating {
    /// The display form of `v` (not a string) as a new string.
    fn display(&mut self, program: &Program, v: Self::Value) -> Result<Self::Value, Self::Error>;
    /// A new string of the texts of `parts` in order, as string `+` joins two.
    fn str_join(&mut self, parts: &[Self::Str]) -> Result<Self::Value, Self::Error>;
}

/// `ToStr`: the text of `v` as interpolation makes it.
#[inline(always)]
pub fn text_of<D: Texts>(d: &mut D, program: &Program, v: D::Value) -> Result<D::Value, D::Error> {
    match d.kind(v) {
        Kind::Str(_) => Ok(v),
        _ => d.display(program, v),
    }
}

/// `Concat`: interpolation's parts (strings: its literals and `ToStr` results) joined into
/// a new string.
#[inline(never)]
pub fn join<D: Texts>(d: &mut D, parts: &[D::Value]) -> Result<D::Value, D::Error> {
    let mut strings: SmallVec<[D::Str; 8]> = SmallVec::with_capacity(parts.len());
    for &part in parts {
        match d.kind(part) {
            Kind::Str(s) => strings.push(s),
            _ => return Err(d.fail(OpError::Undefined)),
        }
    }
    d.str_join(&strings)
}
