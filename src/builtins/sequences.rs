//! Array builtins, plus the ones that also take strings (`len`, `contains`, `index_of`,
//! `slice`) (LANGUAGE.md sections 11.1 and 15, "Sequences").
//!
//! Terms:
//! - *Private array*: an array object no other holder can see, so it may be changed in
//!   place. An argument array that is not shared is private (arguments are owned by the
//!   call); a shared one is copied first ([`private_array`]). This is what makes
//!   `a := push(a, x)` in a loop amortized O(1).
//! - *Position*: a 0-based element index after negative indexes were resolved.
//!
//! Invariants: every value that ends up in a second place (a new array built from an
//! argument's elements, or an element handed back while its container lives on) is marked
//! shared; values that move out of a private array are not, since they keep one holder.
//! Growth of an array updated in place is reported with `Heap::note_growth`.

use std::cmp::Ordering;
use std::ops::Range;

use rustc_hash::FxHashSet;

use crate::semantics::{self, Concrete};

use super::convert::{
    element_position, expect_array, expect_int, new_array, out_of_bounds, share, string_with_capacity, type_error,
    vec_with_capacity,
};
use super::strings::char_slice;
use super::Ctx;
use crate::runtime::format;
use crate::runtime::heap::Gc;
use crate::runtime::object::{make_unique_array, ArrayObj, StrObj};
use crate::runtime::ops::{int_arith, ArithOp};
use crate::runtime::value::Value;
use crate::semantics::values_equal;

/// Returns an array that may be updated in place: `array` itself when it is private,
/// otherwise a copy. An array about to be inserted into itself counts as shared, so the
/// result never contains itself.
fn private_array(ctx: &mut Ctx, array: Gc<ArrayObj>, incoming: &[Value]) -> Gc<ArrayObj> {
    if incoming.iter().any(|v| matches!(v, Value::Array(x) if *x == array)) {
        array.set_shared();
    }
    make_unique_array(ctx.heap, array)
}

/// Applies `update` to a private array's elements and accounts any capacity growth.
fn update_items<R>(ctx: &mut Ctx, array: Gc<ArrayObj>, update: impl FnOnce(&mut Vec<Value>) -> R) -> R {
    let items = &mut array.get_mut(ctx.heap).items;
    let before = items.capacity();
    let result = update(items);
    let grown = items.capacity().saturating_sub(before);
    ctx.heap.note_growth(array, grown * std::mem::size_of::<Value>());
    result
}

/// The elements in `range` as an array: cut down in place when `array` is private, else
/// copied.
/// A new array of `array[range]`. The argument is only looked at (it may be lent, see
/// `Builtin::borrows`), so the elements become shared with it.
fn subarray(ctx: &mut Ctx, array: Gc<ArrayObj>, range: Range<usize>) -> Value {
    let items = array.items.get(range).unwrap_or_default().iter().map(|v| share(*v)).collect();
    new_array(ctx, items)
}

/// `start..end` under the rules of `slice`: negative indexes count from the end, both
/// ends are clamped to `0..=len`, and an end before the start gives an empty range.
fn clamped_range(start: i64, end: i64, len: usize) -> Range<usize> {
    let len_i64 = i64::try_from(len).unwrap_or(i64::MAX);
    let clamp = |i: i64| {
        let i = if i < 0 { i.saturating_add(len_i64) } else { i };
        usize::try_from(i.clamp(0, len_i64)).unwrap_or(len)
    };
    let (start, end) = (clamp(start), clamp(end));
    start..end.max(start)
}

fn count_arg(name: &str, v: &Value) -> Result<i64, String> {
    expect_int(name, "an int count", v)
}

/// A non-negative count, with negative counts read as 0.
fn clamped_count(name: &str, v: &Value, len: usize) -> Result<usize, String> {
    let n = count_arg(name, v)?;
    Ok(usize::try_from(n.max(0)).map_or(len, |n| n.min(len)))
}

pub(super) fn len(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let n = match &args[0] {
        Value::Str(s) => s.char_count(),
        Value::Array(a) => a.items.len(),
        Value::Dict(d) => d.len(),
        v => return Err(type_error("len", "a string, array or dict", v)),
    };
    Ok(Value::Int(n as i64))
}

/// `(start, stop, step)` of `range(...)`, validated by `semantics::range_bounds`, which
/// `for x in range(...)` runs too (in the interpreter and the recorder).
pub fn range_bounds(args: &[Value]) -> Result<(i64, i64, i64), String> {
    let bounds = match *args {
        [stop] => [Value::Int(0), stop, Value::Int(1)],
        [start, stop] => [start, stop, Value::Int(1)],
        [start, stop, step] => [start, stop, step],
        _ => return Err(format!("range expects 1 to 3 arguments, got {}", args.len())),
    };
    let [start, stop, step] = semantics::range_bounds(&mut Concrete::pure(), bounds)?;
    Ok((start, stop, step))
}

/// How many values `range` yields; i128 because `stop - start` may not fit in i64.
fn range_count(start: i64, stop: i64, step: i64) -> u128 {
    let (distance, stride) = if step > 0 {
        (i128::from(stop) - i128::from(start), i128::from(step))
    } else {
        (i128::from(start) - i128::from(stop), -i128::from(step))
    };
    if distance <= 0 {
        0
    } else {
        ((distance + stride - 1) / stride) as u128
    }
}

pub(super) fn range(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let (start, stop, step) = range_bounds(args)?;
    let count = range_count(start, stop, step);
    let mut items = vec_with_capacity("range", count)?;
    // Every yielded value lies between start and stop, so the i64 conversion is exact;
    // the i128 only keeps the step after the last value from overflowing.
    let mut current = i128::from(start);
    for _ in 0..count {
        items.push(Value::Int(current as i64));
        current += i128::from(step);
    }
    Ok(new_array(ctx, items))
}

/// `array(n, fill)`: `n` copies of `fill` (none when `n <= 0`). A heap `fill` is held
/// by every element, so it is shared: writing one element's contents copies it first.
pub(super) fn array(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let n = count_arg("array", &args[0])?.max(0);
    let fill = share(args[1]);
    let mut items = vec_with_capacity("array", n as u128)?;
    items.resize(n as usize, fill);
    Ok(new_array(ctx, items))
}

/// `push` and `append`.
pub(super) fn push(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("push", &args[0])?;
    let value = args[1];
    let array = private_array(ctx, array, &args[1..]);
    let grown = array.get_mut(ctx.heap).try_push(value)?;
    ctx.heap.note_growth(array, grown);
    Ok(Value::Array(array))
}

/// `[a_without_last, last]`; `pop([])` is `[[], 0]`.
pub(super) fn pop(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = private_array(ctx, expect_array("pop", &args[0])?, &[]);
    let last = array.get_mut(ctx.heap).items.pop().unwrap_or(Value::Int(0));
    Ok(new_array(ctx, vec![Value::Array(array), last]))
}

/// `insert(a, i, v)`: `v` ends up at position `i`, `0 <= i <= len(a)`; a negative `i`
/// counts from the end as in `a[i]` (`-1` inserts before the last element). Outside
/// that range: `Index out of bounds: i`.
pub(super) fn insert(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("insert", &args[0])?;
    let index = expect_int("insert", "an int index", &args[1])?;
    let len = array.items.len();
    let position = if usize::try_from(index).is_ok_and(|i| i == len) {
        len
    } else {
        element_position(index, len).ok_or_else(|| out_of_bounds(index))?
    };
    let value = args[2];
    let array = private_array(ctx, array, &args[2..]);
    update_items(ctx, array, |items| items.insert(position, value));
    Ok(Value::Array(array))
}

/// Removes the first element `==` to the value; an absent value leaves the array as it was.
pub(super) fn remove(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("remove", &args[0])?;
    match array.items.iter().position(|item| values_equal(*item, args[1])) {
        None => Ok(Value::Array(array)),
        Some(position) => {
            let array = private_array(ctx, array, &[]);
            array.get_mut(ctx.heap).items.remove(position);
            Ok(Value::Array(array))
        }
    }
}

/// `[new_array, removed]`; the index follows the rules of `a[i]`.
pub(super) fn remove_at(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("remove_at", &args[0])?;
    let index = expect_int("remove_at", "an int index", &args[1])?;
    let position = element_position(index, array.items.len()).ok_or_else(|| out_of_bounds(index))?;
    let array = private_array(ctx, array, &[]);
    let removed = array.get_mut(ctx.heap).items.remove(position);
    Ok(new_array(ctx, vec![Value::Array(array), removed]))
}

/// Elements (or, for a string, characters) `start..end`; negative indexes count from the
/// end and both ends are clamped.
pub(super) fn slice(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let start = expect_int("slice", "int indexes", &args[1])?;
    let end = expect_int("slice", "int indexes", &args[2])?;
    match &args[0] {
        Value::Array(array) => {
            let range = clamped_range(start, end, array.items.len());
            Ok(subarray(ctx, *array, range))
        }
        Value::Str(s) => {
            let range = clamped_range(start, end, s.char_count());
            let text = char_slice(s, range).to_string();
            Ok(Value::Str(ctx.heap.alloc(StrObj::new(text))))
        }
        v => Err(type_error("slice", "an array or string", v)),
    }
}

pub(super) fn concat(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let first = expect_array("concat", &args[0])?;
    let second = expect_array("concat", &args[1])?;
    let appended = second.items.iter().map(|v| share(*v));
    if first != second && !first.is_shared() {
        update_items(ctx, first, |items| items.extend(appended));
        return Ok(Value::Array(first));
    }
    let total = first.items.len() as u128 + second.items.len() as u128;
    let mut items = vec_with_capacity("concat", total)?;
    items.extend(first.items.iter().map(|v| share(*v)));
    items.extend(appended);
    Ok(new_array(ctx, items))
}

pub(super) fn reverse(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = private_array(ctx, expect_array("reverse", &args[0])?, &[]);
    array.get_mut(ctx.heap).items.reverse();
    Ok(Value::Array(array))
}

/// Compares an int with a float exactly (no rounding of large ints); NaN sorts last.
fn compare_int_float(i: i64, f: f64) -> Ordering {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || f >= TWO_POW_63 {
        return Ordering::Less;
    }
    if f < -TWO_POW_63 {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    // `whole` is integral and inside the i64 range, so the conversion is exact.
    i.cmp(&(whole as i64)).then_with(|| whole.partial_cmp(&f).unwrap_or(Ordering::Equal))
}

fn compare_floats(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// A total order on numbers (what `sort_by` requires): by exact value, NaNs last.
fn compare_numbers(a: &Value, b: &Value) -> Ordering {
    match (*a, *b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(&y),
        (Value::Int(x), Value::Float(y)) => compare_int_float(x, y),
        (Value::Float(x), Value::Int(y)) => compare_int_float(y, x).reverse(),
        (Value::Float(x), Value::Float(y)) => compare_floats(x, y),
        _ => Ordering::Equal,
    }
}

fn compare_strings(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x.text.as_bytes().cmp(y.text.as_bytes()),
        _ => Ordering::Equal,
    }
}

/// Stable sort of an all-number or all-string array; any other array comes back as it
/// was.
pub(super) fn sort(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("sort", &args[0])?;
    let compare: fn(&Value, &Value) -> Ordering = if array.items.iter().all(|v| v.as_number().is_some()) {
        compare_numbers
    } else if array.items.iter().all(|v| matches!(v, Value::Str(_))) {
        compare_strings
    } else {
        return Ok(Value::Array(array));
    };
    let array = private_array(ctx, array, &[]);
    array.get_mut(ctx.heap).items.sort_by(compare);
    Ok(Value::Array(array))
}

/// The needle of a string search; a non-string needle is a type error.
fn needle<'a>(name: &str, v: &'a Value) -> Result<&'a StrObj, String> {
    match v {
        Value::Str(s) => Ok(s),
        _ => Err(type_error(name, "a string to search for", v)),
    }
}

pub(super) fn contains(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let found = match &args[0] {
        Value::Array(array) => array.items.iter().any(|item| values_equal(*item, args[1])),
        Value::Str(s) => s.text.contains(needle("contains", &args[1])?.text.as_str()),
        v => return Err(type_error("contains", "an array or string", v)),
    };
    Ok(Value::Bool(found))
}

/// The element index in an array, or the character index in a string; -1 when absent.
pub(super) fn index_of(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let position = match &args[0] {
        Value::Array(array) => array.items.iter().position(|item| values_equal(*item, args[1])),
        Value::Str(s) => s.text.find(needle("index_of", &args[1])?.text.as_str()).map(|byte| {
            if s.is_ascii() {
                byte
            } else {
                s.text[..byte].chars().count()
            }
        }),
        v => return Err(type_error("index_of", "an array or string", v)),
    };
    Ok(Value::Int(position.map_or(-1, |p| p as i64)))
}

/// An int when every element is an int (overflow is an error, as for `+`), a float when
/// any is a float; 0 for `[]`.
pub(super) fn sum(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("sum", &args[0])?;
    if let Some(bad) = array.items.iter().find(|v| v.as_number().is_none()) {
        return Err(type_error("sum", "an array of numbers", bad));
    }
    if array.items.iter().any(|v| matches!(v, Value::Float(_))) {
        return Ok(Value::Float(array.items.iter().filter_map(Value::as_number).sum()));
    }
    let mut total = 0i64;
    for item in &array.items {
        if let Value::Int(i) = item {
            total = int_arith(ArithOp::Add, total, *i)?;
        }
    }
    Ok(Value::Int(total))
}

pub(super) fn join(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("join", &args[0])?;
    let separator = match &args[1] {
        Value::Str(s) => *s,
        v => return Err(type_error("join", "a string separator", v)),
    };
    let separators = array.items.len().saturating_sub(1);
    let mut text = string_with_capacity("join", separator.text.len() as u128 * separators as u128)?;
    for (i, item) in array.items.iter().enumerate() {
        if i > 0 {
            text.push_str(&separator.text);
        }
        format::write_display(ctx.program, item, &mut text, 0)?;
    }
    Ok(Value::Str(ctx.heap.alloc(StrObj::new(text))))
}

/// Keeps the first of each group of `==` elements, in order. Ints and strings are found
/// by hashing; other values are compared with everything kept that could equal them.
pub(super) fn unique(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("unique", &args[0])?;
    let mut kept = Vec::new();
    let mut ints = FxHashSet::default();
    let mut texts: FxHashSet<&str> = FxHashSet::default();
    // Kept values that are neither ints nor strings: the only ones an int can equal
    // besides another int are floats, and strings equal only strings.
    let mut others: Vec<Value> = Vec::new();
    for item in &array.items {
        let is_new = match item {
            Value::Int(i) => !others.iter().any(|o| values_equal(*o, *item)) && ints.insert(*i),
            Value::Str(s) => texts.insert(s.text.as_str()),
            _ => {
                let is_new = !kept.iter().any(|k| values_equal(*k, *item));
                if is_new {
                    others.push(*item);
                }
                is_new
            }
        };
        if is_new {
            kept.push(share(*item));
        }
    }
    Ok(new_array(ctx, kept))
}

/// Splices nested arrays one level deep: `[[1, 2], 3, [[4]]]` gives `[1, 2, 3, [4]]`.
pub(super) fn flatten(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("flatten", &args[0])?;
    let total = array.items.iter().fold(0u128, |n, item| match item {
        Value::Array(inner) => n + inner.items.len() as u128,
        _ => n + 1,
    });
    let mut items = vec_with_capacity("flatten", total)?;
    for item in &array.items {
        match item {
            Value::Array(inner) => items.extend(inner.items.iter().map(|v| share(*v))),
            _ => items.push(share(*item)),
        }
    }
    Ok(new_array(ctx, items))
}

/// `[[a0, b0], [a1, b1], ...]`, as long as the shorter array.
pub(super) fn zip(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let first = expect_array("zip", &args[0])?;
    let second = expect_array("zip", &args[1])?;
    let mut pairs = Vec::with_capacity(first.items.len().min(second.items.len()));
    for (a, b) in first.items.iter().zip(second.items.iter()) {
        pairs.push(new_array(ctx, vec![share(*a), share(*b)]));
    }
    Ok(new_array(ctx, pairs))
}

/// `[[0, a0], [1, a1], ...]`.
pub(super) fn enumerate(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("enumerate", &args[0])?;
    let mut pairs = Vec::with_capacity(array.items.len());
    for (i, item) in array.items.iter().enumerate() {
        pairs.push(new_array(ctx, vec![Value::Int(i as i64), share(*item)]));
    }
    Ok(new_array(ctx, pairs))
}

/// The first `n` elements (all of them when `n >= len`, none when `n <= 0`).
pub(super) fn take(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("take", &args[0])?;
    let n = clamped_count("take", &args[1], array.items.len())?;
    Ok(subarray(ctx, array, 0..n))
}

/// All but the first `n` elements (none when `n >= len`, all when `n <= 0`).
pub(super) fn skip(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("skip", &args[0])?;
    let len = array.items.len();
    let n = clamped_count("skip", &args[1], len)?;
    Ok(subarray(ctx, array, n..len))
}

/// Consecutive pieces of `n` elements; the last may be shorter.
pub(super) fn chunk(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("chunk", &args[0])?;
    let n = count_arg("chunk", &args[1])?;
    let size = match usize::try_from(n) {
        Ok(size) if size > 0 => size,
        _ => return Err(format!("chunk() size must be positive, got {}", n)),
    };
    let mut chunks = Vec::with_capacity(array.items.len().div_ceil(size));
    for piece in array.items.chunks(size) {
        chunks.push(new_array(ctx, piece.iter().map(|v| share(*v)).collect()));
    }
    Ok(new_array(ctx, chunks))
}

#[cfg(test)]
mod tests {
    use super::super::convert::testing::Harness;
    use crate::runtime::value::Value;

    fn is_shared(v: &Value) -> bool {
        match v {
            Value::Array(a) => a.is_shared(),
            Value::Str(s) => s.is_shared(),
            Value::Dict(d) => d.is_shared(),
            _ => false,
        }
    }

    #[test]
    fn len_of_each_kind() {
        let mut h = Harness::new();
        let s = h.str("héllo");
        let a = h.ints(&[1, 2, 3]);
        let d = h.dict(&[("a", Value::Int(1)), ("1", Value::Int(2))]);
        assert!(matches!(h.call("len", &[s]), Ok(Value::Int(5))));
        assert!(matches!(h.call("len", &[a]), Ok(Value::Int(3))));
        assert!(matches!(h.call("len", &[d]), Ok(Value::Int(2))));
        assert_eq!(h.fail("len", &[Value::Int(5)]), "len() requires a string, array or dict, got int");
    }

    #[test]
    fn range_forms() {
        let mut h = Harness::new();
        assert_eq!(h.show("range", &[Value::Int(4)]), "[0, 1, 2, 3]");
        assert_eq!(h.show("range", &[Value::Int(2), Value::Int(5)]), "[2, 3, 4]");
        assert_eq!(h.show("range", &[Value::Int(5), Value::Int(0), Value::Int(-2)]), "[5, 3, 1]");
        assert_eq!(h.show("range", &[Value::Int(5), Value::Int(2)]), "[]");
        assert_eq!(h.show("range", &[Value::Int(-3)]), "[]");
        assert_eq!(
            h.show("range", &[Value::Int(i64::MAX - 2), Value::Int(i64::MAX), Value::Int(5)]),
            "[9223372036854775805]"
        );
        assert_eq!(h.fail("range", &[Value::Int(0), Value::Int(3), Value::Int(0)]), "range() step cannot be zero");
        assert_eq!(h.fail("range", &[Value::Float(3.0)]), "range() requires int arguments, got float");
        assert_eq!(
            h.fail("range", &[Value::Int(i64::MIN), Value::Int(i64::MAX)]),
            "range() result is too large (18446744073709551615 elements)"
        );
    }

    #[test]
    fn range_bounds_matches_range() {
        assert_eq!(super::range_bounds(&[Value::Int(3)]), Ok((0, 3, 1)));
        assert_eq!(super::range_bounds(&[Value::Int(1), Value::Int(9), Value::Int(-2)]), Ok((1, 9, -2)));
        assert_eq!(super::range_bounds(&[]), Err("range expects 1 to 3 arguments, got 0".to_string()));
    }

    #[test]
    fn push_updates_private_arrays_in_place() {
        let mut h = Harness::new();
        let a = h.ints(&[1]);
        let b = h.call("push", &[a, Value::Int(2)]).unwrap();
        match (a, b) {
            (Value::Array(x), Value::Array(y)) => assert!(x == y),
            _ => panic!("not arrays"),
        }
        assert_eq!(h.display(&b), "[1, 2]");
    }

    #[test]
    fn push_copies_shared_arrays() {
        let mut h = Harness::new();
        let inner = h.ints(&[9]);
        let a = h.array(vec![inner]);
        a.mark_shared();
        let b = h.call("append", &[a, Value::Int(2)]).unwrap();
        assert_eq!(h.display(&a), "[[9]]");
        assert_eq!(h.display(&b), "[[9], 2]");
        assert!(is_shared(&inner), "a copied element has two holders");
    }

    #[test]
    fn push_into_itself_copies() {
        let mut h = Harness::new();
        let a = h.ints(&[1]);
        let b = h.call("push", &[a, a]).unwrap();
        assert_eq!(h.display(&b), "[1, [1]]");
        assert_eq!(h.display(&a), "[1]");
    }

    #[test]
    fn pop_insert_remove() {
        let mut h = Harness::new();
        let a = h.ints(&[1, 2, 3]);
        assert_eq!(h.show("pop", &[a]), "[[1, 2], 3]");
        let empty = h.ints(&[]);
        assert_eq!(h.show("pop", &[empty]), "[[], 0]");
        let a = h.ints(&[1, 2, 3]);
        a.mark_shared();
        assert_eq!(h.show("insert", &[a, Value::Int(0), Value::Int(0)]), "[0, 1, 2, 3]");
        assert_eq!(h.show("insert", &[a, Value::Int(3), Value::Int(4)]), "[1, 2, 3, 4]");
        assert_eq!(h.show("insert", &[a, Value::Int(-1), Value::Int(9)]), "[1, 2, 9, 3]");
        assert_eq!(h.fail("insert", &[a, Value::Int(4), Value::Int(9)]), "Index out of bounds: 4");
        assert_eq!(h.fail("insert", &[a, Value::Int(-4), Value::Int(9)]), "Index out of bounds: -4");
        let twice = h.ints(&[1, 2, 1]);
        twice.mark_shared();
        assert_eq!(h.show("remove", &[twice, Value::Float(1.0)]), "[2, 1]");
        assert_eq!(h.show("remove", &[twice, Value::Int(7)]), "[1, 2, 1]");
        assert_eq!(h.show("remove_at", &[a, Value::Int(-1)]), "[[1, 2], 3]");
        assert_eq!(h.fail("remove_at", &[a, Value::Int(3)]), "Index out of bounds: 3");
        assert_eq!(h.display(&a), "[1, 2, 3]");
    }

    #[test]
    fn slice_clamps_and_counts_from_end() {
        let mut h = Harness::new();
        let a = h.ints(&[0, 1, 2, 3, 4]);
        a.mark_shared();
        assert_eq!(h.show("slice", &[a, Value::Int(1), Value::Int(3)]), "[1, 2]");
        assert_eq!(h.show("slice", &[a, Value::Int(-2), Value::Int(100)]), "[3, 4]");
        assert_eq!(h.show("slice", &[a, Value::Int(-100), Value::Int(-3)]), "[0, 1]");
        assert_eq!(h.show("slice", &[a, Value::Int(4), Value::Int(1)]), "[]");
        let s = h.str("héllo");
        assert_eq!(h.show("slice", &[s, Value::Int(1), Value::Int(-1)]), "éll");
        let private = h.ints(&[0, 1, 2, 3]);
        assert_eq!(h.show("slice", &[private, Value::Int(1), Value::Int(3)]), "[1, 2]");
        assert_eq!(
            h.fail("slice", &[Value::Null, Value::Int(0), Value::Int(1)]),
            "slice() requires an array or string, got null"
        );
    }

    #[test]
    fn concat_and_reverse() {
        let mut h = Harness::new();
        let a = h.ints(&[1, 2]);
        let b = h.ints(&[3]);
        assert_eq!(h.show("concat", &[a, b]), "[1, 2, 3]");
        let c = h.ints(&[7, 8]);
        assert_eq!(h.show("concat", &[c, c]), "[7, 8, 7, 8]");
        c.mark_shared();
        assert_eq!(h.show("reverse", &[c]), "[8, 7]");
        assert_eq!(h.display(&c), "[7, 8]");
    }

    #[test]
    fn sort_numbers_strings_and_mixed() {
        let mut h = Harness::new();
        let nums =
            h.array(vec![Value::Int(3), Value::Float(1.5), Value::Int(-2), Value::Float(f64::NAN), Value::Int(1)]);
        assert_eq!(h.show("sort", &[nums]), "[-2, 1, 1.5, 3, NaN]");
        let big = h.array(vec![
            Value::Int(9_007_199_254_740_993),
            Value::Float(9_007_199_254_740_992.0),
            Value::Int(9_007_199_254_740_992),
        ]);
        assert_eq!(h.show("sort", &[big]), "[9007199254740992, 9007199254740992, 9007199254740993]");
        let words = h.strs(&["b", "a", "B", "ab"]);
        assert_eq!(h.show("sort", &[words]), "[B, a, ab, b]");
        let s = h.str("x");
        let mixed = h.array(vec![Value::Int(2), s, Value::Int(1)]);
        assert_eq!(h.show("sort", &[mixed]), "[2, x, 1]");
    }

    #[test]
    fn contains_and_index_of() {
        let mut h = Harness::new();
        let a = h.ints(&[5, 6]);
        assert!(matches!(h.call("contains", &[a, Value::Float(6.0)]), Ok(Value::Bool(true))));
        assert!(matches!(h.call("index_of", &[a, Value::Int(6)]), Ok(Value::Int(1))));
        assert!(matches!(h.call("index_of", &[a, Value::Int(7)]), Ok(Value::Int(-1))));
        let s = h.str("日本語です");
        let sub = h.str("語");
        assert!(matches!(h.call("contains", &[s, sub]), Ok(Value::Bool(true))));
        assert!(matches!(h.call("index_of", &[s, sub]), Ok(Value::Int(2))));
        let missing = h.str("x");
        assert!(matches!(h.call("index_of", &[s, missing]), Ok(Value::Int(-1))));
        assert_eq!(h.fail("contains", &[s, Value::Int(1)]), "contains() requires a string to search for, got int");
        assert_eq!(
            h.fail("index_of", &[Value::Int(1), Value::Int(1)]),
            "index_of() requires an array or string, got int"
        );
    }

    #[test]
    fn sum_of_numbers() {
        let mut h = Harness::new();
        let ints = h.ints(&[1, 2, 3]);
        assert!(matches!(h.call("sum", &[ints]), Ok(Value::Int(6))));
        let empty = h.ints(&[]);
        assert!(matches!(h.call("sum", &[empty]), Ok(Value::Int(0))));
        let mixed = h.array(vec![Value::Int(1), Value::Float(0.5)]);
        assert!(matches!(h.call("sum", &[mixed]), Ok(Value::Float(f)) if f == 1.5));
        let big = h.ints(&[i64::MAX, 1]);
        assert_eq!(h.fail("sum", &[big]), "Integer overflow: 9223372036854775807 + 1");
        let s = h.str("x");
        let bad = h.array(vec![Value::Int(1), s]);
        assert_eq!(h.fail("sum", &[bad]), "sum() requires an array of numbers, got string");
    }

    #[test]
    fn join_display_forms() {
        let mut h = Harness::new();
        let s = h.str("a");
        let inner = h.ints(&[1]);
        let a = h.array(vec![s, Value::Int(2), Value::Float(2.5), inner, Value::Null]);
        let sep = h.str(", ");
        assert_eq!(h.show("join", &[a, sep]), "a, 2, 2.5, [1], null");
        let empty = h.ints(&[]);
        assert_eq!(h.show("join", &[empty, sep]), "");
        assert_eq!(h.fail("join", &[a, Value::Int(1)]), "join() requires a string separator, got int");
    }

    #[test]
    fn unique_keeps_first_occurrences() {
        let mut h = Harness::new();
        let a = h.str("a");
        let a2 = h.str("a");
        let one = h.ints(&[1]);
        let one2 = h.ints(&[1]);
        let items = vec![Value::Int(1), a, Value::Float(1.0), a2, Value::Int(2), one, one2, Value::Null, Value::Null];
        let arr = h.array(items);
        assert_eq!(h.show("unique", &[arr]), "[1, a, 2, [1], null]");
        let floats_first = h.array(vec![Value::Float(2.0), Value::Int(2), Value::Int(3)]);
        assert_eq!(h.show("unique", &[floats_first]), "[2, 3]");
    }

    #[test]
    fn flatten_zip_enumerate() {
        let mut h = Harness::new();
        let inner = h.ints(&[4]);
        let nested = h.array(vec![inner]);
        let first = h.ints(&[1, 2]);
        let arr = h.array(vec![first, Value::Int(3), nested]);
        assert_eq!(h.show("flatten", &[arr]), "[1, 2, 3, [4]]");
        assert!(is_shared(&inner));
        let a = h.ints(&[1, 2, 3]);
        let b = h.strs(&["x", "y"]);
        assert_eq!(h.show("zip", &[a, b]), "[[1, x], [2, y]]");
        assert_eq!(h.show("enumerate", &[b]), "[[0, x], [1, y]]");
    }

    #[test]
    fn take_skip_chunk() {
        let mut h = Harness::new();
        let a = h.ints(&[1, 2, 3, 4, 5]);
        a.mark_shared();
        assert_eq!(h.show("take", &[a, Value::Int(2)]), "[1, 2]");
        assert_eq!(h.show("take", &[a, Value::Int(9)]), "[1, 2, 3, 4, 5]");
        assert_eq!(h.show("take", &[a, Value::Int(-1)]), "[]");
        assert_eq!(h.show("skip", &[a, Value::Int(3)]), "[4, 5]");
        assert_eq!(h.show("skip", &[a, Value::Int(9)]), "[]");
        assert_eq!(h.show("chunk", &[a, Value::Int(2)]), "[[1, 2], [3, 4], [5]]");
        assert_eq!(h.fail("chunk", &[a, Value::Int(0)]), "chunk() size must be positive, got 0");
        assert_eq!(h.fail("take", &[a, Value::Float(1.0)]), "take() requires an int count, got float");
        let private = h.ints(&[1, 2, 3]);
        assert_eq!(h.show("skip", &[private, Value::Int(1)]), "[2, 3]");
    }
}
