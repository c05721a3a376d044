//! String builtins (LANGUAGE.md sections 11.3 and 15, "Strings").
//!
//! Terms: strings are sequences of Unicode scalar values (*characters*); every index,
//! count and width here counts characters, never bytes. *Clamped* means an index below 0
//! is read as 0 and one past the end as the length.
//!
//! Invariants: strings are immutable, so every builtin returns a new string, except that
//! a result equal to the (owned) argument may hand the argument back. Result sizes that
//! user data can make huge (`repeat`, `pad_*`, `replace`) are checked first and reported
//! as errors.

use std::ops::Range;

use super::convert::{
    element_position, expect_int, expect_str, new_array, new_str, out_of_bounds, string_with_capacity, type_error,
};
use super::Ctx;
use crate::runtime::format;
use crate::runtime::heap::Gc;
use crate::runtime::object::StrObj;
use crate::runtime::value::Value;

/// The characters `range` of `s` (a range of character positions within `s`).
pub(super) fn char_slice(s: &StrObj, range: Range<usize>) -> &str {
    let bytes = if s.is_ascii() {
        range
    } else {
        let byte_offset = |n: usize| s.text.char_indices().nth(n).map_or(s.text.len(), |(b, _)| b);
        byte_offset(range.start)..byte_offset(range.end)
    };
    s.text.get(bytes).unwrap_or("")
}

/// `part` of string `s` as a value, reusing `s` when `part` is all of it.
fn part_of(ctx: &mut Ctx, s: Gc<StrObj>, part: &str) -> Value {
    if part.len() == s.text.len() {
        Value::Str(s)
    } else {
        new_str(ctx, part.to_string())
    }
}

fn strings_array<'a>(ctx: &mut Ctx, parts: impl Iterator<Item = &'a str>) -> Value {
    let items = parts.map(|part| new_str(ctx, part.to_string())).collect();
    new_array(ctx, items)
}

/// `upper` and `to_upper`.
pub(super) fn upper(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("upper", &args[0])?;
    Ok(new_str(ctx, s.text.to_uppercase()))
}

/// `lower` and `to_lower`.
pub(super) fn lower(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("lower", &args[0])?;
    Ok(new_str(ctx, s.text.to_lowercase()))
}

/// Upper-cases the first character and leaves the rest as it is.
pub(super) fn capitalize(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("capitalize", &args[0])?;
    let mut chars = s.text.chars();
    let text = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    Ok(new_str(ctx, text))
}

pub(super) fn trim(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("trim", &args[0])?;
    Ok(part_of(ctx, s, s.text.trim()))
}

pub(super) fn trim_start(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("trim_start", &args[0])?;
    Ok(part_of(ctx, s, s.text.trim_start()))
}

pub(super) fn trim_end(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("trim_end", &args[0])?;
    Ok(part_of(ctx, s, s.text.trim_end()))
}

/// Exactly Rust's `str::split`: `split("a,b,,c", ",")` is `[a, b, , c]`, and the empty
/// separator gives `["", "a", "b", "c", ""]`.
pub(super) fn split(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("split", &args[0])?;
    let separator = expect_str("split", &args[1])?;
    Ok(strings_array(ctx, s.text.split(separator.text.as_str())))
}

/// Replaces every occurrence; an empty `old` matches before each character and at the end
/// (as Rust's `str::replace` does).
pub(super) fn replace(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("replace", &args[0])?;
    let old = expect_str("replace", &args[1])?;
    let new = expect_str("replace", &args[2])?;
    let (text, old, new) = (s.text.as_str(), old.text.as_str(), new.text.as_str());
    let occurrences = if old.is_empty() { s.char_count() + 1 } else { text.matches(old).count() };
    if occurrences == 0 {
        return Ok(Value::Str(s));
    }
    // Matches of a non-empty `old` do not overlap, so they fit inside `text`.
    let kept = (text.len() - occurrences * old.len()) as u128;
    let size = kept + occurrences as u128 * new.len() as u128;
    let mut out = string_with_capacity("replace", size)?;
    if old.is_empty() {
        for c in text.chars() {
            out.push_str(new);
            out.push(c);
        }
        out.push_str(new);
    } else {
        let mut copied = 0;
        for (at, _) in text.match_indices(old) {
            out.push_str(&text[copied..at]);
            out.push_str(new);
            copied = at + old.len();
        }
        out.push_str(&text[copied..]);
    }
    Ok(new_str(ctx, out))
}

pub(super) fn starts_with(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("starts_with", &args[0])?;
    let prefix = expect_str("starts_with", &args[1])?;
    Ok(Value::Bool(s.text.starts_with(prefix.text.as_str())))
}

pub(super) fn ends_with(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("ends_with", &args[0])?;
    let suffix = expect_str("ends_with", &args[1])?;
    Ok(Value::Bool(s.text.ends_with(suffix.text.as_str())))
}

/// Characters `start..end`, both clamped (a negative index is 0, not counted from the
/// end); an end before the start gives `""`. Also `substr`.
pub(super) fn substring(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("substring", &args[0])?;
    let start = expect_int("substring", "int indexes", &args[1])?;
    let end = expect_int("substring", "int indexes", &args[2])?;
    let count = s.char_count();
    let clamp = |i: i64| usize::try_from(i.max(0)).map_or(count, |i| i.min(count));
    let (start, end) = (clamp(start), clamp(end));
    let part = char_slice(&s, start..end.max(start));
    Ok(part_of(ctx, s, part))
}

/// The character at `i` as a one-character string; `i` follows the rules of `s[i]`
/// (negative counts from the end).
pub(super) fn char_at(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("char_at", &args[0])?;
    let index = expect_int("char_at", "an int index", &args[1])?;
    let c = element_position(index, s.char_count()).and_then(|p| s.char_at(p)).ok_or_else(|| out_of_bounds(index))?;
    Ok(Value::Str(ctx.heap.char_string(c)))
}

pub(super) fn repeat(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("repeat", &args[0])?;
    let n = expect_int("repeat", "an int count", &args[1])?;
    let times = usize::try_from(n).map_err(|_| format!("repeat() count cannot be negative: {}", n))?;
    if s.text.is_empty() || times == 0 {
        return Ok(new_str(ctx, String::new()));
    }
    let size = s.text.len() as u128 * times as u128;
    let mut out = string_with_capacity("repeat", size)?;
    for _ in 0..times {
        out.push_str(&s.text);
    }
    Ok(new_str(ctx, out))
}

pub(super) fn str_reverse(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("str_reverse", &args[0])?;
    Ok(new_str(ctx, s.text.chars().rev().collect()))
}

enum Side {
    Left,
    Right,
}

/// Pads `s` to `width` characters with the first character of `fill` (a space when
/// `fill` is empty); a string already that wide comes back unchanged.
fn pad(ctx: &mut Ctx, name: &str, args: &[Value], side: Side) -> Result<Value, String> {
    let s = expect_str(name, &args[0])?;
    let width = expect_int(name, "an int width", &args[1])?;
    let fill = match &args[2] {
        Value::Str(f) => f.text.chars().next().unwrap_or(' '),
        v => return Err(type_error(name, "a string fill", v)),
    };
    let missing = usize::try_from(width).unwrap_or(0).saturating_sub(s.char_count());
    if missing == 0 {
        return Ok(Value::Str(s));
    }
    let size = missing as u128 * fill.len_utf8() as u128 + s.text.len() as u128;
    let mut out = string_with_capacity(name, size)?;
    if let Side::Right = side {
        out.push_str(&s.text);
    }
    out.extend(std::iter::repeat_n(fill, missing));
    if let Side::Left = side {
        out.push_str(&s.text);
    }
    Ok(new_str(ctx, out))
}

pub(super) fn pad_left(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    pad(ctx, "pad_left", args, Side::Left)
}

pub(super) fn pad_right(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    pad(ctx, "pad_right", args, Side::Right)
}

/// Rust's `str::lines`: splits at `\n` and `\r\n`; a final line ending adds no empty line.
pub(super) fn lines(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("lines", &args[0])?;
    Ok(strings_array(ctx, s.text.lines()))
}

/// Splits at runs of Unicode whitespace; never yields empty words.
pub(super) fn words(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("words", &args[0])?;
    Ok(strings_array(ctx, s.text.split_whitespace()))
}

/// True for `""`, `[]` and `{}`.
pub(super) fn is_empty(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let empty = match &args[0] {
        Value::Str(s) => s.text.is_empty(),
        Value::Array(a) => a.items.is_empty(),
        Value::Dict(d) => d.is_empty(),
        v => return Err(type_error("is_empty", "a string, array or dict", v)),
    };
    Ok(Value::Bool(empty))
}

pub(super) fn count_chars(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let s = expect_str("count_chars", &args[0])?;
    Ok(Value::Int(s.char_count() as i64))
}

/// Replaces each `%s` in turn with the display form of the next argument. A `%s` left
/// without an argument stays `%s`; arguments without a `%s` are ignored; no other `%`
/// sequence is special.
/// One `%` directive of a `format` template: `%[-][WIDTH][.PRECISION]KIND`.
struct Placeholder {
    left: bool,
    width: usize,
    precision: Option<usize>,
    kind: char,
}

/// Reads a directive after a `%`; `None` when the text there is not one (a lone `%`
/// stays literal). Returns the directive and the bytes it spans after the `%`.
fn placeholder(after: &str) -> Option<(Placeholder, usize)> {
    let bytes = after.as_bytes();
    let mut at = 0;
    let left = bytes.first() == Some(&b'-');
    at += left as usize;
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let width_digits = digits(at);
    let width = after[at..at + width_digits].parse().unwrap_or(0);
    at += width_digits;
    let mut precision = None;
    if bytes.get(at) == Some(&b'.') {
        let n = digits(at + 1);
        if n == 0 {
            return None;
        }
        precision = Some(after[at + 1..at + 1 + n].parse().ok()?);
        at += 1 + n;
    }
    let kind = *bytes.get(at)? as char;
    let fits = match kind {
        's' | 'd' => precision.is_none(),
        'f' => true,
        _ => false,
    };
    // Widths past this are certainly mistakes, and would build huge strings.
    (fits && width <= 1000 && precision.unwrap_or(0) <= 100)
        .then_some((Placeholder { left, width, precision, kind }, at + 1))
}

/// `format(fmt, args...)` (LANGUAGE.md 18.4): `%s` display form, `%d` int, `%f`/`%.Nf`
/// number with N decimals (default 6), a width pads (right-aligned, left with `-`), `%%`
/// is a percent sign. Argument count and types must match the placeholders.
pub(super) fn format(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let template = expect_str("format", &args[0])?;
    let values = &args[1..];
    let mut used = 0;
    let mut out = String::with_capacity(template.text.len());
    let mut rest = template.text.as_str();
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
            continue;
        }
        let Some((spec, length)) = placeholder(after) else {
            out.push('%');
            rest = after;
            continue;
        };
        let text = &after[..length];
        let value = values
            .get(used)
            .ok_or_else(|| format!("format() has no argument for placeholder %{} (number {})", text, used + 1))?;
        used += 1;
        let shown = match (spec.kind, value) {
            ('s', v) => format::display(ctx.program, v)?,
            ('d', Value::Int(i)) => i.to_string(),
            ('f', v) if v.as_number().is_some() => {
                format!("{:.*}", spec.precision.unwrap_or(6), v.as_number().unwrap_or_default())
            }
            (_, v) => {
                let wanted = if spec.kind == 'd' { "an int" } else { "a number" };
                return Err(format!("format() placeholder %{} requires {}, got {}", text, wanted, v.type_name()));
            }
        };
        let padding = spec.width.saturating_sub(shown.chars().count());
        if !spec.left {
            out.extend(std::iter::repeat_n(' ', padding));
        }
        out.push_str(&shown);
        if spec.left {
            out.extend(std::iter::repeat_n(' ', padding));
        }
        rest = &after[length..];
    }
    out.push_str(rest);
    if used < values.len() {
        return Err(format!("format() has {} placeholder(s) but {} argument(s)", used, values.len()));
    }
    Ok(new_str(ctx, out))
}

#[cfg(test)]
mod tests {
    use super::super::convert::testing::Harness;
    use crate::runtime::value::Value;

    fn show1(h: &mut Harness, name: &str, text: &str) -> String {
        let s = h.str(text);
        h.show(name, &[s])
    }

    #[test]
    fn case_and_trim() {
        let mut h = Harness::new();
        assert_eq!(show1(&mut h, "upper", "héllo"), "HÉLLO");
        assert_eq!(show1(&mut h, "to_lower", "ÀB"), "àb");
        assert_eq!(show1(&mut h, "capitalize", "hello World"), "Hello World");
        assert_eq!(show1(&mut h, "capitalize", "éCOLE"), "ÉCOLE");
        assert_eq!(show1(&mut h, "capitalize", ""), "");
        assert_eq!(show1(&mut h, "trim", "  a b \n"), "a b");
        assert_eq!(show1(&mut h, "trim_start", "  a "), "a ");
        assert_eq!(show1(&mut h, "trim_end", "  a "), "  a");
        assert_eq!(h.fail("upper", &[Value::Int(1)]), "upper() requires a string, got int");
    }

    #[test]
    fn split_like_rust() {
        let mut h = Harness::new();
        let s = h.str("a,b,,c");
        let comma = h.str(",");
        assert_eq!(h.show("split", &[s, comma]), "[a, b, , c]");
        let s = h.str("abc");
        let empty = h.str("");
        let parts = h.call("split", &[s, empty]).unwrap();
        match parts {
            Value::Array(a) => {
                let texts: Vec<String> = a.items.iter().map(|v| h.display(v)).collect();
                assert_eq!(texts, ["", "a", "b", "c", ""]);
            }
            _ => panic!("not an array"),
        }
    }

    #[test]
    fn replace_all_occurrences() {
        let mut h = Harness::new();
        let s = h.str("a-b-c");
        let old = h.str("-");
        let new = h.str("+=");
        assert_eq!(h.show("replace", &[s, old, new]), "a+=b+=c");
        let empty = h.str("");
        assert_eq!(h.show("replace_str", &[s, empty, old]), "-a---b---c-");
        let missing = h.str("x");
        assert_eq!(h.show("replace", &[s, missing, new]), "a-b-c");
        let long = h.str(&"x".repeat(1 << 16));
        let big = h.str(&"y".repeat(1 << 16));
        assert_eq!(h.fail("replace", &[long, missing, big]), "replace() result is too large (4294967296 bytes)");
    }

    #[test]
    fn prefixes_and_substrings() {
        let mut h = Harness::new();
        let s = h.str("héllo");
        let p = h.str("hé");
        assert!(matches!(h.call("starts_with", &[s, p]), Ok(Value::Bool(true))));
        assert!(matches!(h.call("ends_with", &[s, p]), Ok(Value::Bool(false))));
        assert_eq!(h.show("substring", &[s, Value::Int(1), Value::Int(3)]), "él");
        assert_eq!(h.show("substr", &[s, Value::Int(-5), Value::Int(99)]), "héllo");
        assert_eq!(h.show("substring", &[s, Value::Int(4), Value::Int(2)]), "");
        assert_eq!(h.show("char_at", &[s, Value::Int(1)]), "é");
        assert_eq!(h.show("char_at", &[s, Value::Int(-1)]), "o");
        assert_eq!(h.fail("char_at", &[s, Value::Int(5)]), "Index out of bounds: 5");
        assert_eq!(
            h.fail("substring", &[s, Value::Float(1.0), Value::Int(2)]),
            "substring() requires int indexes, got float"
        );
    }

    #[test]
    fn repeat_and_reverse() {
        let mut h = Harness::new();
        let s = h.str("ab");
        assert_eq!(h.show("repeat", &[s, Value::Int(3)]), "ababab");
        assert_eq!(h.show("repeat", &[s, Value::Int(0)]), "");
        assert_eq!(h.fail("repeat", &[s, Value::Int(-1)]), "repeat() count cannot be negative: -1");
        assert_eq!(
            h.fail("repeat", &[s, Value::Int(i64::MAX)]),
            "repeat() result is too large (18446744073709551614 bytes)"
        );
        let empty = h.str("");
        assert_eq!(h.show("repeat", &[empty, Value::Int(i64::MAX)]), "");
        assert_eq!(show1(&mut h, "str_reverse", "héllo"), "olléh");
    }

    #[test]
    fn padding() {
        let mut h = Harness::new();
        let s = h.str("7");
        let zero = h.str("0");
        let star = h.str("*-");
        let empty = h.str("");
        assert_eq!(h.show("pad_left", &[s, Value::Int(3), zero]), "007");
        assert_eq!(h.show("pad_right", &[s, Value::Int(3), star]), "7**");
        assert_eq!(h.show("pad_left", &[s, Value::Int(2), empty]), " 7");
        assert_eq!(h.show("pad_left", &[s, Value::Int(-4), zero]), "7");
        assert!(h.fail("pad_left", &[s, Value::Int(i64::MAX), zero]).starts_with("pad_left() result is too large"));
        assert_eq!(
            h.fail("pad_right", &[s, Value::Int(3), Value::Int(0)]),
            "pad_right() requires a string fill, got int"
        );
    }

    #[test]
    fn lines_words_and_counts() {
        let mut h = Harness::new();
        assert_eq!(show1(&mut h, "lines", "a\nb\r\nc\n"), "[a, b, c]");
        assert_eq!(show1(&mut h, "words", "  to be\tor \n not "), "[to, be, or, not]");
        let empty = h.str("");
        let arr = h.ints(&[1]);
        assert!(matches!(h.call("is_empty", &[empty]), Ok(Value::Bool(true))));
        assert!(matches!(h.call("is_empty", &[arr]), Ok(Value::Bool(false))));
        assert_eq!(h.fail("is_empty", &[Value::Null]), "is_empty() requires a string, array or dict, got null");
        let s = h.str("日本");
        assert!(matches!(h.call("count_chars", &[s]), Ok(Value::Int(2))));
    }

    #[test]
    fn format_fills_placeholders_in_turn() {
        let mut h = Harness::new();
        let fmt = h.str("%s + %s = %s%%s");
        let list = h.ints(&[1]);
        assert_eq!(h.show("format", &[fmt, Value::Int(1), Value::Float(2.5), list]), "1 + 2.5 = [1]%s");
        let fmt = h.str("%5d|%-4s|%.2f|%3s|%f");
        let ab = h.str("ab");
        let args = [fmt, Value::Int(3), ab, Value::Float(1.23456), Value::Int(12345), Value::Int(2)];
        assert_eq!(h.show("format", &args), "    3|ab  |1.23|12345|2.000000");
        let fmt = h.str("50% off, %q, %.f");
        assert_eq!(h.show("format", &[fmt]), "50% off, %q, %.f");
        let fmt = h.str("%s and %s");
        assert_eq!(
            h.fail("format", &[fmt, Value::Bool(true)]),
            "format() has no argument for placeholder %s (number 2)"
        );
        let fmt = h.str("%d");
        assert_eq!(h.fail("format", &[fmt, Value::Float(1.0)]), "format() placeholder %d requires an int, got float");
        assert_eq!(
            h.fail("format", &[fmt, Value::Int(1), Value::Int(2)]),
            "format() has 1 placeholder(s) but 2 argument(s)"
        );
        assert_eq!(h.fail("format", &[Value::Int(1)]), "format() requires a string, got int");
    }
}
