//! Builtins that reach outside the program (LANGUAGE.md sections 18.2 and 18.3): script
//! arguments, standard error and input, the environment, `exit`, and files.
//!
//! Terms: *OS reason* is the operating system's description of a failure as Rust prints
//! it (`No such file or directory (os error 2)`); every file error ends with it.
//!
//! Invariants: none of these is repeatable (their table rows say so): a trace calls them
//! as effects (`builtins::OnTrace::Effect`), which must fail before their effect, since an
//! exit after a failure makes the call again. Each checks its arguments first; a file
//! write that fails after opening has at most created or emptied the file, which a second
//! attempt does again with no difference. `input` writes its prompt, and a read that
//! fails has consumed input: it fails after its effect (`OnTrace::FailsAfterEffect`),
//! which `builtins::call_from_trace` handles. `input` flushes standard output
//! before it reads; `exit` flushes and ends the process (it is not an error, so no `try`
//! sees it).

use std::io::{BufRead, Write};

use super::convert::{expect_int, expect_str, new_array, new_str, type_error};
use super::Ctx;
use crate::runtime::format;
use crate::runtime::value::Value;

pub(super) fn args(ctx: &mut Ctx, _: &[Value]) -> Result<Value, String> {
    let items = crate::process::script_args().iter().map(|a| new_str(ctx, a.clone())).collect();
    Ok(new_array(ctx, items))
}

/// `print` to standard error (unbuffered, so it appears at once).
pub(super) fn eprint(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let line = super::convert::display_line(ctx, args)?;
    // A closed stderr is nobody's concern but the reader's; the program goes on.
    let _ = std::io::stderr().write_all(line.as_bytes());
    Ok(Value::Null)
}

/// One line of standard input without its line ending, or null at end of input.
pub(super) fn input(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    if let Some(prompt) = args.first() {
        let mut text = String::new();
        format::write_display(ctx.program, prompt, &mut text, 0)?;
        ctx.out.write_all(text.as_bytes()).map_err(|e| format!("input() could not write the prompt: {}", e))?;
    }
    ctx.out.flush().map_err(|e| format!("input() could not write output: {}", e))?;
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("input() could not read: {}", e))?;
    if read == 0 {
        return Ok(Value::Null);
    }
    let text = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    Ok(new_str(ctx, text.to_string()))
}

fn env_var(name: &str, key: &Value) -> Result<Option<String>, String> {
    let key = expect_str(name, key)?;
    if key.text.is_empty() || key.text.contains(['=', '\0']) {
        return Ok(None);
    }
    match std::env::var(&key.text) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("Environment variable '{}' is not valid UTF-8", key.text))
        }
    }
}

pub(super) fn env(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(match env_var("env", &args[0])? {
        Some(value) => new_str(ctx, value),
        None => Value::Null,
    })
}

pub(super) fn env_or(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    Ok(match env_var("env_or", &args[0])? {
        Some(value) => new_str(ctx, value),
        None => args[1],
    })
}

pub(super) fn exit(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let status = match args.first() {
        None => 0,
        Some(v) => expect_int("exit", "an int status", v)?,
    };
    if !(0..=255).contains(&status) {
        return Err(format!("exit() status must be 0..255, got {}", status));
    }
    let _ = ctx.out.flush();
    crate::process::exit(status as i32)
}

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

fn path_of<'v>(name: &str, v: &'v Value) -> Result<&'v str, String> {
    match v {
        Value::Str(s) => Ok(s.text.as_str()),
        _ => Err(type_error(name, "a string path", v)),
    }
}

fn read_text(path: &str) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("Cannot read file '{}': {}", path, e))?;
    String::from_utf8(bytes).map_err(|_| format!("Cannot read file '{}': not valid UTF-8", path))
}

pub(super) fn read_file(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let text = read_text(path_of("read_file", &args[0])?)?;
    Ok(new_str(ctx, text))
}

pub(super) fn read_lines(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let text = read_text(path_of("read_lines", &args[0])?)?;
    let items = text.lines().map(|line| new_str(ctx, line.to_string())).collect();
    Ok(new_array(ctx, items))
}

fn write_text(name: &str, args: &[Value], append: bool) -> Result<Value, String> {
    let path = path_of(name, &args[0])?;
    let text = expect_str(name, &args[1])?;
    let verb = if append { "append to" } else { "write" };
    let fail = |e: std::io::Error| format!("Cannot {} file '{}': {}", verb, path, e);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(fail)?;
    file.write_all(text.text.as_bytes()).map_err(fail)?;
    Ok(Value::Null)
}

pub(super) fn write_file(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    write_text("write_file", args, false)
}

pub(super) fn append_file(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    write_text("append_file", args, true)
}

pub(super) fn file_exists(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let path = path_of("file_exists", &args[0])?;
    Ok(Value::Bool(std::path::Path::new(path).exists()))
}

pub(super) fn list_dir(ctx: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let path = path_of("list_dir", &args[0])?;
    let fail = |e: std::io::Error| format!("Cannot list directory '{}': {}", path, e);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(path).map_err(fail)? {
        let name = entry.map_err(fail)?.file_name();
        names.push(
            name.into_string().map_err(|n| format!("Cannot list directory '{}': {:?} is not valid UTF-8", path, n))?,
        );
    }
    names.sort();
    let items = names.into_iter().map(|n| new_str(ctx, n)).collect();
    Ok(new_array(ctx, items))
}

pub(super) fn delete_file(_: &mut Ctx, args: &[Value]) -> Result<Value, String> {
    let path = path_of("delete_file", &args[0])?;
    std::fs::remove_file(path).map_err(|e| format!("Cannot delete file '{}': {}", path, e))?;
    Ok(Value::Null)
}
