//! Text forms of values: the display form (`print`, `to_string`, `${}`, LANGUAGE.md
//! section 7) and the debug form used in messages about values (`Int(42)`).
//!
//! Invariant: nesting deeper than [`MAX_DISPLAY_DEPTH`] is an error, never a native stack
//! overflow.

use super::value::Value;
use crate::builtins;
use crate::compile::bytecode::Program;

pub const MAX_DISPLAY_DEPTH: usize = 10_000;

pub fn too_deep() -> String {
    format!("Value nested more than {} levels deep cannot be displayed", MAX_DISPLAY_DEPTH)
}

pub fn display(program: &Program, v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_display(program, v, &mut out, 0)?;
    Ok(out)
}

pub fn write_float(f: f64, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "{}", f);
}

pub fn write_display(program: &Program, v: &Value, out: &mut String, depth: usize) -> Result<(), String> {
    use std::fmt::Write;
    if depth > MAX_DISPLAY_DEPTH {
        return Err(too_deep());
    }
    match v {
        Value::Null | Value::Undef => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{}", i);
        }
        Value::Float(f) => write_float(*f, out),
        Value::Str(s) => out.push_str(&s.text),
        Value::Array(a) => {
            out.push('[');
            for (i, item) in a.items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_display(program, item, out, depth + 1)?;
            }
            out.push(']');
        }
        Value::Dict(d) => {
            out.push('{');
            for (n, i) in d.sorted_positions().into_iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                let (key, value) = &d.entries[i];
                out.push('"');
                out.push_str(&key.to_text());
                out.push_str("\": ");
                write_display(program, value, out, depth + 1)?;
            }
            out.push('}');
        }
        Value::Struct(s) => {
            let type_name = program.struct_types[s.type_index as usize].name;
            out.push_str(program.symbols.name(type_name));
            out.push_str(" { ");
            let mut fields: Vec<_> = s.fields.iter().map(|(n, v)| (program.symbols.name(*n), v)).collect();
            fields.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            for (i, (name, value)) in fields.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(name);
                out.push_str(": ");
                write_display(program, value, out, depth + 1)?;
            }
            out.push_str(" }");
        }
        Value::Tagged(t) => {
            let tag = program.symbols.name(t.tag);
            if t.type_name() == "tagged" {
                out.push_str(program.symbols.name(t.enum_name));
                out.push_str("::");
                out.push_str(tag);
                if !t.payload.is_empty() {
                    out.push('(');
                    for (i, p) in t.payload.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write_display(program, p, out, depth + 1)?;
                    }
                    out.push(')');
                }
            } else {
                out.push_str(tag);
                if !t.payload.is_empty() {
                    out.push('(');
                    for (i, p) in t.payload.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        write_display(program, p, out, depth + 1)?;
                    }
                    out.push(')');
                }
            }
        }
        Value::Func(f) => {
            let proto = program.proto(f.proto);
            if proto.is_library {
                let _ = write!(out, "<native function: {}>", proto.name);
            } else {
                out.push_str("<unknown>");
            }
        }
        Value::Builtin(id) => {
            let _ = write!(out, "<native function: {}>", builtins::BUILTINS[*id as usize].name);
        }
    }
    Ok(())
}

/// The debug form used when a message has to show a value: `Int(42)`, `Float(2.5)`,
/// `Bool(true)`, `Null`, `String("hi")`; containers show their display form inside.
pub fn debug(program: &Program, v: &Value) -> String {
    let shown = display(program, v).unwrap_or_else(|e| e);
    match v {
        Value::Null | Value::Undef => "Null".to_string(),
        Value::Bool(_) => format!("Bool({})", shown),
        Value::Int(_) => format!("Int({})", shown),
        Value::Float(_) => format!("Float({})", shown),
        Value::Str(s) => format!("String({:?})", s.text),
        Value::Array(_) => format!("Array({})", shown),
        Value::Dict(_) => format!("Dict({})", shown),
        _ => shown,
    }
}
