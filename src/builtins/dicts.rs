//! Dict builtins (LANGUAGE.md sections 11.2 and 15).
//!
//! Terms: a *key argument* is a string or an int; a string spelling a canonical int is
//! the same key as that int (`DictKey::of_string`), and keys always come back to Ruff code
//! as strings. *Key order* is ascending by the key strings' bytes
//! (`DictObj::sorted_positions`), the order of `keys`, `values`, `items` and printing.
//!
//! Invariants: values (and string keys) handed out while the dict lives on are marked
//! shared; `merge` updates its first argument in place only when that dict is private.

use super::convert::{expect_dict, new_array, new_str, share, type_error};
use super::Ctx;
use crate::runtime::heap::Gc;
use crate::runtime::object::{make_unique_dict, DictKey, DictObj};
use crate::runtime::value::Value;

fn key_arg(name: &str, v: &Value) -> Result<DictKey, String> {
    match v {
        Value::Int(i) => Ok(DictKey::Int(*i)),
        Value::Str(s) => Ok(DictKey::of_string(*s)),
        _ => Err(type_error(name, "a string or int key", v)),
    }
}

/// A key as the string Ruff code sees.
fn key_value(ctx: &mut Ctx, key: &DictKey) -> Value {
    match key {
        DictKey::Str(s) => share(Value::Str(*s)),
        DictKey::Int(i) => new_str(ctx, i.to_string()),
    }
}

/// Builds an array with one element per entry, in key order.
fn in_key_order(
    ctx: &mut Ctx,
    dict: Gc<DictObj>,
    mut element: impl FnMut(&mut Ctx, &DictKey, Value) -> Value,
) -> Value {
    let mut items = Vec::with_capacity(dict.len());
    for position in dict.sorted_positions() {
        if let Some((key, value)) = dict.entries.get(position) {
            items.push(element(ctx, key, *value));
        }
    }
    new_array(ctx, items)
}

pub(super) fn keys(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let dict = expect_dict("keys", &args[0])?;
    Ok(in_key_order(ctx, dict, |ctx, key, _| key_value(ctx, key)))
}

pub(super) fn values(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let dict = expect_dict("values", &args[0])?;
    Ok(in_key_order(ctx, dict, |_, _, value| share(value)))
}

/// `[key, value]` pairs.
pub(super) fn items(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let dict = expect_dict("items", &args[0])?;
    Ok(in_key_order(ctx, dict, |ctx, key, value| {
        let key = key_value(ctx, key);
        new_array(ctx, vec![key, share(value)])
    }))
}

pub(super) fn has_key(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let dict = expect_dict("has_key", &args[0])?;
    let key = key_arg("has_key", &args[1])?;
    Ok(Value::Bool(dict.contains(&key)))
}

/// The value under the key, or null.
pub(super) fn get(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let dict = expect_dict("get", &args[0])?;
    let key = key_arg("get", &args[1])?;
    Ok(dict.get(&key).map_or(Value::Null, share))
}

pub(super) fn get_default(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let dict = expect_dict("get_default", &args[0])?;
    let key = key_arg("get_default", &args[1])?;
    // The default is marked too: it is an argument handed back, and the arguments of a
    // builtin that borrows them may be lent (see `Builtin::borrows`).
    Ok(share(dict.get(&key).unwrap_or(args[2])))
}

/// The entries of both dicts; where both have a key, the second dict's value wins.
pub(super) fn merge(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let first = expect_dict("merge", &args[0])?;
    let second = expect_dict("merge", &args[1])?;
    if first == second {
        return Ok(Value::Dict(first));
    }
    let merged = make_unique_dict(ctx.heap, first);
    for (key, value) in &second.entries {
        if let DictKey::Str(s) = key {
            s.set_shared();
        }
        let grown = merged.get_mut(ctx.heap).insert(*key, share(*value));
        ctx.heap.note_growth(merged, grown);
    }
    Ok(Value::Dict(merged))
}

#[cfg(test)]
mod tests {
    use super::super::convert::testing::Harness;
    use crate::runtime::object::{DictKey, DictObj};
    use crate::runtime::value::Value;

    fn sample(h: &mut Harness) -> Value {
        let x = h.str("x");
        h.dict(&[("b", Value::Int(2)), ("10", Value::Int(10)), ("a", x), ("2", Value::Int(20))])
    }

    #[test]
    fn keys_values_items_in_key_order() {
        let mut h = Harness::new();
        let d = sample(&mut h);
        assert_eq!(h.show("keys", &[d]), "[10, 2, a, b]");
        assert_eq!(h.show("values", &[d]), "[10, 20, x, 2]");
        assert_eq!(h.show("items", &[d]), "[[10, 10], [2, 20], [a, x], [b, 2]]");
        let keys = h.call("keys", &[d]).unwrap();
        match keys {
            Value::Array(a) => assert!(a.items.iter().all(|k| matches!(k, Value::Str(_)))),
            _ => panic!("not an array"),
        }
        assert_eq!(h.fail("keys", &[Value::Int(1)]), "keys() requires a dict, got int");
    }

    #[test]
    fn lookups_normalise_int_keys() {
        let mut h = Harness::new();
        let d = sample(&mut h);
        let two = h.str("2");
        let padded = h.str("02");
        assert!(matches!(h.call("has_key", &[d, two]), Ok(Value::Bool(true))));
        assert!(matches!(h.call("has_key", &[d, Value::Int(10)]), Ok(Value::Bool(true))));
        assert!(matches!(h.call("has_key", &[d, padded]), Ok(Value::Bool(false))));
        assert!(matches!(h.call("get", &[d, Value::Int(2)]), Ok(Value::Int(20))));
        assert!(matches!(h.call("get", &[d, padded]), Ok(Value::Null)));
        assert!(matches!(h.call("get_default", &[d, padded, Value::Int(-1)]), Ok(Value::Int(-1))));
        let a = h.str("a");
        assert_eq!(h.show("get_default", &[d, a, Value::Null]), "x");
        assert_eq!(h.fail("get", &[d, Value::Float(1.0)]), "get() requires a string or int key, got float");
    }

    #[test]
    fn values_handed_out_are_shared() {
        let mut h = Harness::new();
        let inner = h.ints(&[1]);
        let d = h.dict(&[("k", inner)]);
        let k = h.str("k");
        h.call("get", &[d, k]).unwrap();
        match inner {
            Value::Array(a) => assert!(a.is_shared()),
            _ => unreachable!(),
        }
    }

    #[test]
    fn merge_right_wins_and_leaves_shared_inputs_alone() {
        let mut h = Harness::new();
        let left = h.dict(&[("a", Value::Int(1)), ("b", Value::Int(2))]);
        left.mark_shared();
        let right = h.dict(&[("b", Value::Int(3)), ("c", Value::Int(4))]);
        assert_eq!(h.show("merge", &[left, right]), r#"{"a": 1, "b": 3, "c": 4}"#);
        assert_eq!(h.display(&left), r#"{"a": 1, "b": 2}"#);
        assert_eq!(h.show("merge", &[right, right]), r#"{"b": 3, "c": 4}"#);
        let mut ints = DictObj::default();
        ints.insert(DictKey::Int(1), Value::Int(1));
        let ints = Value::Dict(h.heap.alloc(ints));
        let one = h.dict(&[("1", Value::Int(9))]);
        assert_eq!(h.show("merge", &[ints, one]), r#"{"1": 9}"#);
        assert_eq!(h.fail("merge", &[left, Value::Null]), "merge() requires a dict, got null");
    }
}
