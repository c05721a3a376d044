//! Output, conversion, type tests, the error constructor and the assert family
//! (LANGUAGE.md sections 14 and 15), plus the argument-checking and allocation helpers
//! every builtin module shares.
//!
//! Terms:
//! - *Display form* / *debug form*: `runtime::format::display` / `runtime::format::debug`.
//! - *Type error*: a wrongly typed argument. Every builtin reports it through
//!   [`type_error`] as `NAME() requires EXPECTED, got TYPE`, where TYPE is the offending
//!   argument's `type` name (`upper() requires a string, got int`).
//!
//! Invariants: no function here panics on any input; result sizes derived from user data
//! go through [`vec_with_capacity`] / [`string_with_capacity`], so an absurd size is a
//! runtime error rather than an aborted process.

use crate::compile::bytecode::ERROR_STRUCT_TYPE;
use crate::runtime::format;
use crate::runtime::heap::Gc;
use crate::runtime::object::{new_struct, ArrayObj, DictObj, StrObj};
use crate::runtime::symbol::{SYM_LINE, SYM_MESSAGE, SYM_STACK};
use crate::runtime::value::Value;

use super::Ctx;

/// The most elements (or string bytes) one builtin call may produce. Sizes are computed in
/// u128 so that no product of two user-supplied sizes can overflow before this check.
const MAX_RESULT_SIZE: u128 = crate::runtime::object::MAX_OBJECT_SIZE as u128;

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

pub(super) fn type_error(name: &str, expected: &str, got: &Value) -> String {
    format!("{}() requires {}, got {}", name, expected, got.type_name())
}

pub(super) fn expect_str(name: &str, v: &Value) -> Result<Gc<StrObj>, String> {
    match v {
        Value::Str(s) => Ok(*s),
        _ => Err(type_error(name, "a string", v)),
    }
}

pub(super) fn expect_array(name: &str, v: &Value) -> Result<Gc<ArrayObj>, String> {
    match v {
        Value::Array(a) => Ok(*a),
        _ => Err(type_error(name, "an array", v)),
    }
}

pub(super) fn expect_dict(name: &str, v: &Value) -> Result<Gc<DictObj>, String> {
    match v {
        Value::Dict(d) => Ok(*d),
        _ => Err(type_error(name, "a dict", v)),
    }
}

/// An int argument; `what` names its role for the message (`"an int index"`).
pub(super) fn expect_int(name: &str, what: &str, v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        _ => Err(type_error(name, what, v)),
    }
}

pub(super) fn expect_number(name: &str, v: &Value) -> Result<f64, String> {
    v.as_number().ok_or_else(|| type_error(name, "a number", v))
}

pub(super) fn out_of_bounds(index: i64) -> String {
    format!("Index out of bounds: {}", index)
}

/// The position `index` names in a sequence of `len` elements under the rule of `a[i]`:
/// negative indexes count from the end; `None` outside `-len..len`.
pub(super) fn element_position(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let position = if index < 0 { index.checked_add(len)? } else { index };
    if (0..len).contains(&position) {
        usize::try_from(position).ok()
    } else {
        None
    }
}

/// Returns `v` after recording that it now has one more holder.
pub(super) fn share(v: Value) -> Value {
    v.mark_shared();
    v
}

pub(super) fn new_str(ctx: &mut Ctx, text: String) -> Value {
    Value::Str(ctx.heap.alloc(StrObj::new(text)))
}

pub(super) fn new_array(ctx: &mut Ctx, items: Vec<Value>) -> Value {
    Value::Array(ctx.heap.alloc(ArrayObj { items }))
}

fn too_large(name: &str, size: u128, unit: &str) -> String {
    format!("{}() result is too large ({} {})", name, size, unit)
}

/// An empty vector with room for `len` elements, or an error when `len` is absurd or the
/// memory is not available.
pub(super) fn vec_with_capacity<T>(name: &str, len: u128) -> Result<Vec<T>, String> {
    let fits = usize::try_from(len).ok().filter(|_| len <= MAX_RESULT_SIZE);
    let mut items = Vec::new();
    fits.and_then(|len| items.try_reserve_exact(len).ok()).ok_or_else(|| too_large(name, len, "elements"))?;
    Ok(items)
}

/// An empty string with room for `bytes` bytes, under the same rules as
/// [`vec_with_capacity`].
pub(super) fn string_with_capacity(name: &str, bytes: u128) -> Result<String, String> {
    let fits = usize::try_from(bytes).ok().filter(|_| bytes <= MAX_RESULT_SIZE);
    let mut text = String::new();
    fits.and_then(|bytes| text.try_reserve_exact(bytes).ok()).ok_or_else(|| too_large(name, bytes, "bytes"))?;
    Ok(text)
}

// ---------------------------------------------------------------------------------------
// Output and conversion
// ---------------------------------------------------------------------------------------

/// The line `print(args...)` writes: the values' display forms separated by spaces, and
/// a newline.
pub(super) fn display_line(ctx: &Ctx, args: &[Value]) -> Result<String, String> {
    let mut line = String::new();
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        format::write_display(ctx.program, v, &mut line, 0)?;
    }
    line.push('\n');
    Ok(line)
}

pub(super) fn print(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let line = display_line(ctx, args)?;
    ctx.out.write_all(line.as_bytes()).map_err(|e| format!("print() could not write output: {}", e))?;
    Ok(Value::Null)
}

/// Interpolation's `ToStr` (`semantics::text_of`): a string is handed back (strings are
/// immutable and the argument is owned by the call), any other value's display form.
pub(super) fn to_string(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(crate::semantics::text_of(&mut crate::semantics::Concrete::with_heap(ctx.heap), ctx.program, args[0])?)
}

/// The floats whose truncation fits in i64: [-2^63, 2^63). Both bounds are exact in f64.
const I64_RANGE_AS_F64: std::ops::Range<f64> = -9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0;

fn float_to_int(f: f64) -> Result<i64, String> {
    let truncated = f.trunc();
    if I64_RANGE_AS_F64.contains(&truncated) {
        Ok(truncated as i64)
    } else {
        let mut shown = String::new();
        format::write_float(f, &mut shown);
        Err(format!("Cannot convert {} to int", shown))
    }
}

fn parse_int_text(text: &str) -> Result<i64, String> {
    text.trim().parse::<i64>().map_err(|_| format!("Cannot convert '{}' to int", text))
}

/// Accepts everything Rust's `f64` parser accepts after trimming: `2.5`, `1e3`, `.5`,
/// `+1`, `inf`, `infinity`, `NaN` (case-insensitive).
fn parse_float_text(text: &str) -> Result<f64, String> {
    text.trim().parse::<f64>().map_err(|_| format!("Cannot convert '{}' to float", text))
}

pub(super) fn to_int(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let v = &args[0];
    let i = match v {
        Value::Int(i) => *i,
        Value::Float(f) => float_to_int(*f)?,
        Value::Bool(b) => *b as i64,
        Value::Str(s) => parse_int_text(&s.text)?,
        _ => return Err(type_error("to_int", "a number, bool or string", v)),
    };
    Ok(Value::Int(i))
}

pub(super) fn to_float(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let v = &args[0];
    let f = match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as i64 as f64,
        Value::Str(s) => parse_float_text(&s.text)?,
        _ => return Err(type_error("to_float", "a number, bool or string", v)),
    };
    Ok(Value::Float(f))
}

pub(super) fn to_bool(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(match &args[0] {
        Value::Str(s) if s.text == "false" => false,
        v => v.is_truthy(),
    }))
}

pub(super) fn parse_int(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("parse_int", &args[0])?;
    Ok(Value::Int(parse_int_text(&s.text)?))
}

pub(super) fn parse_float(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("parse_float", &args[0])?;
    Ok(Value::Float(parse_float_text(&s.text)?))
}

// ---------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------

pub(super) fn type_of(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(new_str(ctx, args[0].type_name().to_string()))
}

pub(super) fn is_int(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(matches!(args[0], Value::Int(_))))
}

pub(super) fn is_float(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(matches!(args[0], Value::Float(_))))
}

pub(super) fn is_string(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(matches!(args[0], Value::Str(_))))
}

pub(super) fn is_bool(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(matches!(args[0], Value::Bool(_))))
}

pub(super) fn is_array(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(matches!(args[0], Value::Array(_))))
}

pub(super) fn is_dict(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(matches!(args[0], Value::Dict(_))))
}

pub(super) fn is_null(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(matches!(args[0], Value::Null)))
}

pub(super) fn is_function(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(matches!(args[0], Value::Func(_) | Value::Builtin(_))))
}

// ---------------------------------------------------------------------------------------
// Errors and assertions
// ---------------------------------------------------------------------------------------

/// The error value `except` binds (section 14), with a message and no location.
pub(super) fn error(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let message = match args[0] {
        Value::Str(s) => Value::Str(s),
        v => {
            let text = format::display(ctx.program, &v)?;
            new_str(ctx, text)
        }
    };
    let stack = new_array(ctx, Vec::new());
    let fields = [(SYM_LINE, Value::Int(0)), (SYM_MESSAGE, message), (SYM_STACK, stack)];
    Ok(Value::Struct(new_struct(ctx.heap, ERROR_STRUCT_TYPE, fields)))
}

/// `assert`, `assert_true` and `assert_false` judge their argument by truthiness, the
/// rule `if` uses.
pub(super) fn assert(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    if args[0].is_truthy() {
        Ok(Value::Bool(true))
    } else {
        Err("Assertion failed".to_string())
    }
}

pub(super) fn assert_true(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    if args[0].is_truthy() {
        Ok(Value::Bool(true))
    } else {
        Err(format!("Assertion failed: expected true, got {}", format::debug(ctx.program, &args[0])))
    }
}

pub(super) fn assert_false(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    if args[0].is_truthy() {
        Err(format!("Assertion failed: expected false, got {}", format::debug(ctx.program, &args[0])))
    } else {
        Ok(Value::Bool(true))
    }
}

pub(super) fn assert_equal(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let (actual, expected) = (args[0], args[1]);
    if crate::semantics::values_equal(actual, expected) {
        Ok(Value::Bool(true))
    } else {
        Err(format!(
            "Assertion failed: expected {}, got {}",
            format::debug(ctx.program, &expected),
            format::debug(ctx.program, &actual)
        ))
    }
}

pub(super) fn assert_contains(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let array = expect_array("assert_contains", &args[0])?;
    if array.items.iter().any(|item| crate::semantics::values_equal(*item, args[1])) {
        Ok(Value::Bool(true))
    } else {
        Err(format!("Assertion failed: array does not contain {}", format::debug(ctx.program, &args[1])))
    }
}

// ---------------------------------------------------------------------------------------
// Test support shared by the builtin modules' tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
pub(super) mod testing {
    use std::time::Instant;

    use crate::builtins::{call, lookup, Ctx};
    use crate::compile::bytecode::{Program, ProtoId, StructType};
    use crate::runtime::format;
    use crate::runtime::heap::Heap;
    use crate::runtime::object::{ArrayObj, DictKey, DictObj, StrObj};
    use crate::runtime::symbol::{Interner, SYM_ERROR};
    use crate::runtime::value::Value;

    /// A heap, a minimal program (only the error struct type) and captured output.
    pub struct Harness {
        pub heap: Heap,
        pub program: Program,
        pub out: Vec<u8>,
    }

    impl Harness {
        pub fn new() -> Harness {
            let program = Program {
                protos: Vec::new(),
                main: ProtoId(0),
                globals: Vec::new(),
                symbols: Interner::default(),
                struct_types: vec![StructType { name: SYM_ERROR, methods: Default::default() }],
                initial_globals: Vec::new(),
            };
            Harness { heap: Heap::default(), program, out: Vec::new() }
        }

        /// Calls a builtin through the table, arity check included.
        pub fn call(&mut self, name: &str, args: &[Value]) -> Result<Value, String> {
            let id = lookup(name).unwrap_or_else(|| panic!("no builtin {}", name));
            let mut ctx =
                Ctx { heap: &mut self.heap, program: &self.program, out: &mut self.out, start_time: Instant::now() };
            call(id, &mut ctx, args)
        }

        /// Calls and renders the result in display form.
        pub fn show(&mut self, name: &str, args: &[Value]) -> String {
            let result = self.call(name, args).unwrap_or_else(|e| panic!("{}() failed: {}", name, e));
            self.display(&result)
        }

        /// Calls and returns the error message.
        pub fn fail(&mut self, name: &str, args: &[Value]) -> String {
            match self.call(name, args) {
                Ok(v) => panic!("{}() unexpectedly returned {}", name, self.display(&v)),
                Err(e) => e,
            }
        }

        pub fn display(&self, v: &Value) -> String {
            format::display(&self.program, v).unwrap_or_else(|e| e)
        }

        pub fn str(&mut self, text: &str) -> Value {
            Value::Str(self.heap.alloc(StrObj::new(text.to_string())))
        }

        pub fn array(&mut self, items: Vec<Value>) -> Value {
            Value::Array(self.heap.alloc(ArrayObj { items }))
        }

        pub fn ints(&mut self, items: &[i64]) -> Value {
            self.array(items.iter().map(|&i| Value::Int(i)).collect())
        }

        pub fn strs(&mut self, items: &[&str]) -> Value {
            let items = items.iter().map(|t| self.str(t)).collect();
            self.array(items)
        }

        pub fn dict(&mut self, entries: &[(&str, Value)]) -> Value {
            let mut dict = DictObj::default();
            for (key, value) in entries {
                let key = self.heap.alloc(StrObj::new(key.to_string()));
                dict.insert(DictKey::of_string(key), *value);
            }
            Value::Dict(self.heap.alloc(dict))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Harness;
    use crate::runtime::symbol::SYM_MESSAGE;
    use crate::runtime::value::Value;

    #[test]
    fn print_joins_display_forms() {
        let mut h = Harness::new();
        let s = h.str("a b");
        let arr = h.ints(&[1, 2]);
        h.call("print", &[s, Value::Int(3), Value::Float(1.0), arr, Value::Null]).unwrap();
        h.call("print", &[]).unwrap();
        assert_eq!(String::from_utf8(h.out.clone()).unwrap(), "a b 3 1 [1, 2] null\n\n");
    }

    #[test]
    fn to_string_and_str() {
        let mut h = Harness::new();
        assert_eq!(h.show("to_string", &[Value::Float(0.5)]), "0.5");
        let d = h.dict(&[("b", Value::Int(2)), ("a", Value::Bool(true))]);
        assert_eq!(h.show("str", &[d]), r#"{"a": true, "b": 2}"#);
    }

    #[test]
    fn to_int_conversions() {
        let mut h = Harness::new();
        assert!(matches!(h.call("to_int", &[Value::Float(-3.9)]), Ok(Value::Int(-3))));
        assert!(matches!(h.call("to_int", &[Value::Bool(true)]), Ok(Value::Int(1))));
        let padded = h.str(" 7 ");
        assert!(matches!(h.call("to_int", &[padded]), Ok(Value::Int(7))));
        let bad = h.str("3.5");
        assert_eq!(h.fail("to_int", &[bad]), "Cannot convert '3.5' to int");
        let bad = h.str("abc");
        assert_eq!(h.fail("to_int", &[bad]), "Cannot convert 'abc' to int");
        assert_eq!(h.fail("to_int", &[Value::Float(f64::NAN)]), "Cannot convert NaN to int");
        assert_eq!(h.fail("to_int", &[Value::Float(f64::INFINITY)]), "Cannot convert inf to int");
        assert_eq!(h.fail("to_int", &[Value::Float(9.3e18)]), "Cannot convert 9300000000000000000 to int");
        assert!(matches!(h.call("to_int", &[Value::Float(i64::MIN as f64)]), Ok(Value::Int(i64::MIN))));
        assert_eq!(h.fail("to_int", &[Value::Null]), "to_int() requires a number, bool or string, got null");
    }

    #[test]
    fn to_float_conversions() {
        let mut h = Harness::new();
        let s = h.str("1e3");
        assert!(matches!(h.call("to_float", &[s]), Ok(Value::Float(f)) if f == 1000.0));
        assert!(matches!(h.call("to_float", &[Value::Int(2)]), Ok(Value::Float(f)) if f == 2.0));
        let s = h.str("inf");
        assert!(matches!(h.call("to_float", &[s]), Ok(Value::Float(f)) if f == f64::INFINITY));
        let s = h.str("x");
        assert_eq!(h.fail("to_float", &[s]), "Cannot convert 'x' to float");
        assert_eq!(h.fail("parse_float", &[Value::Int(1)]), "parse_float() requires a string, got int");
        assert_eq!(h.fail("parse_int", &[Value::Float(1.0)]), "parse_int() requires a string, got float");
        let s = h.str("-12");
        assert!(matches!(h.call("parse_int", &[s]), Ok(Value::Int(-12))));
    }

    #[test]
    fn to_bool_special_cases_false_string() {
        let mut h = Harness::new();
        let f = h.str("false");
        let t = h.str("0");
        assert!(matches!(h.call("to_bool", &[f]), Ok(Value::Bool(false))));
        assert!(matches!(h.call("to_bool", &[t]), Ok(Value::Bool(true))));
        assert!(matches!(h.call("to_bool", &[Value::Int(0)]), Ok(Value::Bool(false))));
    }

    #[test]
    fn type_names_and_predicates() {
        let mut h = Harness::new();
        assert_eq!(h.show("type", &[Value::Float(1.0)]), "float");
        let a = h.ints(&[]);
        assert_eq!(h.show("type_of", &[a]), "array");
        assert!(matches!(h.call("is_function", &[Value::Builtin(0)]), Ok(Value::Bool(true))));
        assert!(matches!(h.call("is_int", &[Value::Float(1.0)]), Ok(Value::Bool(false))));
        assert!(matches!(h.call("is_null", &[Value::Null]), Ok(Value::Bool(true))));
    }

    #[test]
    fn error_builds_the_error_struct() {
        let mut h = Harness::new();
        let msg = h.str("boom");
        let e = h.call("error", &[msg]).unwrap();
        assert_eq!(h.display(&e), "Error { line: 0, message: boom, stack: [] }");
        let e = h.call("error", &[Value::Int(42)]).unwrap();
        match e {
            Value::Struct(s) => assert_eq!(h.display(&s.get(SYM_MESSAGE).unwrap()), "42"),
            _ => panic!("not a struct"),
        }
    }

    #[test]
    fn assertions() {
        let mut h = Harness::new();
        assert!(matches!(h.call("assert", &[Value::Bool(true)]), Ok(Value::Bool(true))));
        assert_eq!(h.fail("assert", &[Value::Int(0)]), "Assertion failed");
        assert_eq!(h.fail("assert_true", &[Value::Bool(false)]), "Assertion failed: expected true, got Bool(false)");
        assert_eq!(h.fail("assert_false", &[Value::Int(3)]), "Assertion failed: expected false, got Int(3)");
        assert_eq!(
            h.fail("assert_equal", &[Value::Int(5), Value::Int(10)]),
            "Assertion failed: expected Int(10), got Int(5)"
        );
        assert!(h.call("assert_equal", &[Value::Int(1), Value::Float(1.0)]).is_ok());
        let a = h.ints(&[1, 2]);
        assert!(h.call("assert_contains", &[a, Value::Int(2)]).is_ok());
        let s = h.str("x");
        assert_eq!(h.fail("assert_contains", &[a, s]), "Assertion failed: array does not contain String(\"x\")");
    }
}
