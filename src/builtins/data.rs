//! Data builtins of LANGUAGE.md section 18.4: JSON, random numbers, wall-clock time,
//! code points.
//!
//! Terms:
//! - *JSON value*: a Ruff value made of dicts, arrays, strings, ints, floats, bools and
//!   null (struct instances are written as objects of their fields, never read back).
//! - *The generator*: one PCG64 (`rand_pcg::Pcg64`, the Lcg128Xsl64 variant) per process,
//!   seeded from the operating system until `random_seed(n)` seeds it with
//!   `Pcg64::seed_from_u64(n)`. Floats take the top 53 bits of one output; ints in a range
//!   use Lemire's multiply-and-reject method on 64-bit outputs. All three steps are fixed
//!   here (not delegated to a library's distribution code), so a seed gives the same
//!   numbers on every run, machine and build.
//!
//! Invariants: JSON text nested deeper than [`MAX_JSON_DEPTH`] is rejected by a linear
//! scan before serde_json parses it, and `to_json` refuses values nested deeper than that
//! before converting, so neither direction recurses without bound.

use std::sync::Mutex;

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64;

use super::convert::{expect_int, expect_str, new_str};
use super::Ctx;
use crate::runtime::heap::Heap;
use crate::runtime::object::{DictKey, DictObj, StrObj};
use crate::runtime::value::Value;

/// The deepest nesting of arrays and objects `parse_json` and `to_json` accept.
pub const MAX_JSON_DEPTH: usize = 1000;

// ---------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The byte offset of the first bracket that opens level `MAX_JSON_DEPTH + 1`, if any
/// (brackets inside strings do not count).
fn too_deep_at(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// serde_json's message without its " at line L column C" suffix.
fn json_reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn from_json(heap: &mut Heap, json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        // serde_json keeps a number written without fraction or exponent that fits in
        // an i64 as one; everything else is an f64.
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(heap.alloc(StrObj::new(s))),
        serde_json::Value::Array(items) => {
            let items = items.into_iter().map(|item| from_json(heap, item)).collect();
            Value::Array(heap.alloc(crate::runtime::object::ArrayObj { items }))
        }
        serde_json::Value::Object(map) => {
            let mut dict = DictObj::with_capacity(map.len());
            for (key, value) in map {
                let key = heap.alloc(StrObj::new(key));
                key.set_shared();
                let value = from_json(heap, value);
                dict.insert(DictKey::of_string(key), value);
            }
            Value::Dict(heap.alloc(dict))
        }
    }
}

pub(super) fn parse_json(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let text = &expect_str("parse_json", &args[0])?.text;
    if let Some(offset) = too_deep_at(text) {
        let (line, column) = line_column(text, offset);
        return Err(format!(
            "Invalid JSON at line {}, column {}: nesting deeper than {} levels",
            line, column, MAX_JSON_DEPTH
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    // The scan above bounds the depth; serde_json's own limit (128) would be lower.
    deserializer.disable_recursion_limit();
    let parsed = serde::Deserialize::deserialize(&mut deserializer).and_then(|v| deserializer.end().map(|()| v));
    match parsed {
        Ok(json) => Ok(from_json(ctx.heap, json)),
        Err(e) => Err(format!("Invalid JSON at line {}, column {}: {}", e.line(), e.column().max(1), json_reason(&e))),
    }
}

fn to_json_value(ctx: &Ctx, v: &Value, depth: usize) -> Result<serde_json::Value, String> {
    use serde_json::Value as Json;
    if depth > MAX_JSON_DEPTH {
        return Err(format!("to_json() value is nested deeper than {} levels", MAX_JSON_DEPTH));
    }
    Ok(match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => Json::Number(
            serde_json::Number::from_f64(*f)
                .ok_or_else(|| "Cannot convert a NaN or infinite float to JSON".to_string())?,
        ),
        Value::Str(s) => Json::String(s.text.clone()),
        Value::Array(a) => {
            Json::Array(a.items.iter().map(|item| to_json_value(ctx, item, depth + 1)).collect::<Result<_, _>>()?)
        }
        Value::Dict(d) => {
            let mut map = serde_json::Map::new();
            for position in d.sorted_positions() {
                let (key, value) = &d.entries[position];
                map.insert(key.to_text(), to_json_value(ctx, value, depth + 1)?);
            }
            Json::Object(map)
        }
        Value::Struct(s) => {
            let mut fields: Vec<_> = s.fields.iter().map(|(n, v)| (ctx.program.symbols.name(*n), v)).collect();
            fields.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            let mut map = serde_json::Map::new();
            for (name, value) in fields {
                map.insert(name.to_string(), to_json_value(ctx, value, depth + 1)?);
            }
            Json::Object(map)
        }
        other => return Err(format!("Cannot convert {} to JSON", other.type_name())),
    })
}

/// The most spaces `to_json(v, indent)` indents by.
const MAX_INDENT: i64 = 16;

pub(super) fn to_json(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let json = to_json_value(ctx, &args[0], 0)?;
    let text = match args.get(1) {
        None => json.to_string(),
        Some(indent) => {
            let width = expect_int("to_json", "an int indent", indent)?;
            if !(0..=MAX_INDENT).contains(&width) {
                return Err(format!("to_json() indent must be 0..{}, got {}", MAX_INDENT, width));
            }
            let spaces = " ".repeat(width as usize);
            let mut bytes = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(spaces.as_bytes());
            let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
            serde::Serialize::serialize(&json, &mut serializer).map_err(|e| format!("to_json() failed: {}", e))?;
            String::from_utf8(bytes).map_err(|e| format!("to_json() failed: {}", e))?
        }
    };
    Ok(new_str(ctx, text))
}

// ---------------------------------------------------------------------------------------
// Random numbers and time
// ---------------------------------------------------------------------------------------

static GENERATOR: Mutex<Option<Pcg64>> = Mutex::new(None);

/// Runs `f` on the process's generator, seeding it from the OS on first use.
fn with_generator<T>(f: impl FnOnce(&mut Pcg64) -> T) -> T {
    let mut generator = GENERATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(generator.get_or_insert_with(Pcg64::from_entropy))
}

pub(super) fn random(_: &mut Ctx, _: &[Value]) -> Result<Value, String> {
    let bits = with_generator(|g| g.next_u64()) >> 11;
    Ok(Value::Float(bits as f64 * (1.0 / (1u64 << 53) as f64)))
}

/// A uniform int in `low..=high` (Lemire's method: multiply, reject the biased low part).
fn uniform_int(g: &mut Pcg64, low: i64, high: i64) -> i64 {
    let span = (high as i128 - low as i128 + 1) as u128;
    if span == 1u128 << 64 {
        return g.next_u64() as i64;
    }
    let span = span as u64;
    let threshold = span.wrapping_neg() % span;
    loop {
        let product = g.next_u64() as u128 * span as u128;
        if product as u64 >= threshold {
            return (low as i128 + (product >> 64) as i128) as i64;
        }
    }
}

pub(super) fn random_int(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let low = expect_int("random_int", "int bounds", &args[0])?;
    let high = expect_int("random_int", "int bounds", &args[1])?;
    if low > high {
        return Err(format!("random_int() requires low <= high, got {} and {}", low, high));
    }
    Ok(Value::Int(with_generator(|g| uniform_int(g, low, high))))
}

pub(super) fn random_seed(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let seed = expect_int("random_seed", "an int seed", &args[0])?;
    *GENERATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Pcg64::seed_from_u64(seed as u64));
    Ok(Value::Null)
}

pub(super) fn now(_: &mut Ctx, _: &[Value]) -> Result<Value, String> {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ok(Value::Float(since_epoch.as_secs_f64()))
}

// ---------------------------------------------------------------------------------------
// Code points
// ---------------------------------------------------------------------------------------

pub(super) fn ord(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("ord", &args[0])?;
    let mut chars = s.text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(Value::Int(c as i64)),
        _ => Err(format!("ord() requires a one-character string, got {} characters", s.char_count())),
    }
}

pub(super) fn chr(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let code = expect_int("chr", "an int code point", &args[0])?;
    let c = u32::try_from(code)
        .ok()
        .and_then(char::from_u32)
        .ok_or_else(|| format!("chr() requires a Unicode code point, got {}", code))?;
    Ok(Value::Str(ctx.heap.char_string(c)))
}
