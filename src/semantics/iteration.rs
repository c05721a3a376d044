//! The steps of `for` loops, each defined once over any [`Containers`] domain (LANGUAGE.md
//! section 9): what `for x in v` iterates (`ForPrep`), its next item (`ForNext`), and
//! the bounds of `for i in range(...)` (`ForRangePrep`, and the `range` builtin) and its
//! next value (`ForRangeNext`).
//!
//! Rules: arrays, strings and int counts are iterated as they are, a float count
//! truncated, a dict as a new array of its keys; anything else raises. An array yields its
//! elements (marked shared: the array still holds them), a count `n` the ints `0..n`, a
//! string its characters as new strings (the position is a byte offset). A range goes
//! up while below `stop` (a positive step) or down while above it; a step that would
//! overflow ends the range at `stop`. Whether a loop goes round again is
//! [`Containers::loop_test`], which the tracing domain records as the loop's guard.

use super::{Comparison, Containers, Domain, Kind};
use crate::runtime::ops::{ArithOp, CmpOp, OpError};

/// What `for x in value` iterates (`ForPrep`).
pub fn iteration_source<D: Containers>(d: &mut D, value: D::Value) -> Result<D::Value, D::Error> {
    match d.kind(value) {
        Kind::Array(_) | Kind::Str(_) | Kind::Int(_) => Ok(value),
        Kind::Float(f) => {
            let count = d.float_to_int(f)?;
            Ok(d.int_value(count))
        }
        Kind::Dict(x) => d.dict_keys(x),
        _ => {
            let ty = d.type_name(value);
            Err(d.fail(OpError::CannotIterate(ty)))
        }
    }
}

/// One step of `for x in source` at `position` (`ForNext`): the item into `item` and the
/// next position, or `None` when the loop ends. `source` is what [`iteration_source`]
/// made it.
#[inline(always)]
pub fn next_item<D: Containers>(
    d: &mut D,
    source: D::Value,
    position: D::Int,
    item: &mut D::Value,
) -> Result<Option<D::Int>, D::Error> {
    let lt = Comparison::Order(CmpOp::Lt);
    match d.kind(source) {
        Kind::Array(a) => {
            let length = d.array_length(a);
            let more = d.int_compare(lt, position, length);
            if !d.loop_test(more) || !d.array_get(a, position, item)? {
                return Ok(None);
            }
            d.mark_shared(item);
            let one = d.int_constant(1);
            Ok(Some(d.int_arith(ArithOp::Add, position, one)?))
        }
        Kind::Int(n) => {
            let more = d.int_compare(lt, position, n);
            if !d.loop_test(more) {
                return Ok(None);
            }
            *item = d.int_value(position);
            let one = d.int_constant(1);
            Ok(Some(d.int_arith(ArithOp::Add, position, one)?))
        }
        Kind::Str(s) => next_char(d, s, position, item),
        // `ForPrep` made the source one of the above.
        _ => Ok(None),
    }
}

#[inline(never)]
fn next_char<D: Containers>(
    d: &mut D,
    s: D::Str,
    position: D::Int,
    item: &mut D::Value,
) -> Result<Option<D::Int>, D::Error> {
    let end = d.str_byte_length(s);
    let more = d.int_compare(Comparison::Order(CmpOp::Lt), position, end);
    if !d.loop_test(more) {
        return Ok(None);
    }
    let width = d.str_char_at_byte(s, position, item)?;
    Ok(Some(d.int_arith(ArithOp::Add, position, width)?))
}

/// The bounds `[start, stop, step]` of `range(start, stop, step)` (`ForRangePrep`; the
/// `range` builtin fills in a missing start and step first): three ints and a step that
/// is not zero, else the error `range` raises.
#[inline(never)]
pub fn range_bounds<D: Domain>(d: &mut D, bounds: [D::Value; 3]) -> Result<[D::Int; 3], D::Error> {
    fn int_bound<D: Domain>(d: &mut D, bound: D::Value) -> Result<D::Int, D::Error> {
        match d.kind(bound) {
            Kind::Int(i) => Ok(i),
            _ => {
                let ty = d.type_name(bound);
                Err(d.fail(OpError::RangeBound(ty)))
            }
        }
    }
    let [start, stop, step] = bounds;
    let (start, stop, step) = (int_bound(d, start)?, int_bound(d, stop)?, int_bound(d, step)?);
    let zero = d.int_constant(0);
    let nonzero = d.int_compare(Comparison::NotEqual, step, zero);
    if !d.decide(nonzero) {
        return Err(d.fail(OpError::RangeStepZero));
    }
    Ok([start, stop, step])
}

/// One step of `for i in range(...)` (`ForRangeNext`) at `current`: the next current
/// value, or `None` when the range is done (the loop variable is `current`). `step` is
/// nonzero (`ForRangePrep` raised otherwise).
#[inline(always)]
pub fn range_next<D: Containers>(
    d: &mut D,
    current: D::Int,
    stop: D::Int,
    step: D::Int,
) -> Result<Option<D::Int>, D::Error> {
    let zero = d.int_constant(0);
    let upward = d.int_compare(Comparison::Order(CmpOp::Gt), step, zero);
    let toward = if d.decide(upward) { CmpOp::Lt } else { CmpOp::Gt };
    let more = d.int_compare(Comparison::Order(toward), current, stop);
    if !d.loop_test(more) {
        return Ok(None);
    }
    Ok(Some(d.range_advance(current, step, stop)?))
}
