//! The REPL (LANGUAGE.md 18.5): read statements, run each input as soon as it is
//! complete, keep one global scope for the session, print the value of a bare expression
//! unless it is null. Errors are printed as usual and the session goes on.
//!
//! Terms: an *input* is the text read until no bracket, string or block comment is left
//! open ([`is_complete`]); it is loaded like a program named `<repl>` (its imports
//! resolve from the current directory), compiled into the session
//! (`compile::session`) and run on the same VM, whose heap, globals and JIT persist.
//!
//! Invariants: on a terminal, `rustyline` edits lines and keeps history in
//! `~/.ruff_history`; otherwise standard input is read line by line without prompts, so
//! `printf 'x := 2\nprint(x * 21)\n' | ruff repl` prints `42` and nothing else.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use crate::compile::session::Session;
use crate::compile::ModuleSource;
use crate::modules::{self, Roots, SourceFile};
use crate::runtime::format;
use crate::runtime::heap::Heap;
use crate::runtime::value::Value;
use crate::{builtins, diagnostics, interpret, parse, process};

const PROMPT: &str = ">>> ";
const CONTINUATION: &str = "... ";
const INPUT_NAME: &str = "<repl>";

/// Whether `text` leaves no bracket, string or block comment open (then it is run).
pub fn is_complete(text: &str) -> bool {
    let mut depth: i64 = 0;
    let mut in_string = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                '$' if chars.peek() == Some(&'{') => {
                    chars.next();
                    let level = depth;
                    depth += 1;
                    if !code_until(&mut chars, &mut depth, level + 1) {
                        return false;
                    }
                }
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '#' => skip_line(&mut chars),
            '/' if chars.peek() == Some(&'/') => skip_line(&mut chars),
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                if !skip_block_comment(&mut chars) {
                    return false;
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    !in_string && depth <= 0
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars>) {
    for c in chars.by_ref() {
        if c == '\n' {
            break;
        }
    }
}

/// Skips to the end of a `/* */` comment; false when it does not end.
fn skip_block_comment(chars: &mut std::iter::Peekable<std::str::Chars>) -> bool {
    while let Some(c) = chars.next() {
        if c == '*' && chars.peek() == Some(&'/') {
            chars.next();
            return true;
        }
    }
    false
}

/// Code inside an interpolation, up to the `}` that brings the depth back below
/// `level`; false when the text ends first.
fn code_until(chars: &mut std::iter::Peekable<std::str::Chars>, depth: &mut i64, level: i64) -> bool {
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                // A string inside the interpolation: skip it (no nesting beyond one level).
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '(' | '[' | '{' => *depth += 1,
            ')' | ']' | '}' => {
                *depth -= 1;
                if *depth < level {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

struct Repl {
    session: Session,
    vm: interpret::Vm,
    files: Vec<SourceFile>,
    roots: Roots,
}

impl Repl {
    fn new(options: &interpret::Options) -> Repl {
        let mut heap = Heap::new(options.gc_stress);
        let library = builtins::library::whole();
        let mut session = Session::new(&library, &mut heap).expect("the builtin library compiles");
        let empty = parse::parse_program("").expect("an empty input parses");
        let start = session
            .compile(&[ModuleSource { file: 0, path: "<repl>", ast: &empty }], &mut heap)
            .expect("an empty input compiles");
        let mut vm = interpret::Vm::new(start.program, heap, Box::new(process::Stdout::new()), options);
        vm.run().expect("an empty input runs");
        Repl { session, vm, files: Vec::new(), roots: Roots::new(PathBuf::from(".")) }
    }

    /// Loads, compiles and runs one input; the rendered error if it failed.
    fn eval(&mut self, text: &str) -> Result<(), String> {
        let loaded = modules::load(INPUT_NAME, text, &self.roots).map_err(|f| f.message().to_string())?;
        let offset = self.files.len() as u32;
        self.files.extend(loaded.files);
        let sources: Vec<ModuleSource> =
            loaded.modules.iter().map(|m| ModuleSource { file: m.file + offset, path: &m.path, ast: &m.ast }).collect();
        let input = self.session.compile(&sources, self.vm.heap_mut()).map_err(|e| {
            let file = &self.files[e.file as usize];
            diagnostics::syntax_error(&file.name, &file.source, e.span, &e.message)
        })?;
        match self.vm.run_extension(input.program, &input.new_functions) {
            Ok(Value::Null) => Ok(()),
            Ok(value) => {
                let shown = format::display(self.vm.program(), &value).unwrap_or_else(|e| e);
                let mut out = process::Stdout;
                let _ = writeln!(out, "{}", shown).and_then(|()| out.flush());
                Ok(())
            }
            Err(uncaught) => Err(diagnostics::runtime_error(&self.files, &uncaught)),
        }
    }

    /// Runs a complete input and prints its error, if any.
    fn submit(&mut self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        if let Err(message) = self.eval(text) {
            let _ = process::flush_stdout();
            eprint!("{}", message);
        }
    }
}

fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".ruff_history"))
}

/// Runs the REPL until end of input (or `exit()`); returns the exit status.
pub fn run(options: &interpret::Options) -> i32 {
    let mut repl = Repl::new(options);
    if std::io::stdin().is_terminal() {
        interactive(&mut repl)
    } else {
        let mut pending = String::new();
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            pending.push_str(&line);
            pending.push('\n');
            if is_complete(&pending) {
                repl.submit(&std::mem::take(&mut pending));
            }
        }
        repl.submit(&pending);
        let _ = process::flush_stdout();
        0
    }
}

fn interactive(repl: &mut Repl) -> i32 {
    use rustyline::error::ReadlineError;
    let Ok(mut editor) = rustyline::DefaultEditor::new() else {
        eprintln!("ruff: cannot set up line editing on this terminal");
        return 1;
    };
    let history = history_file();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!("Ruff {} REPL: statements run as you complete them; Ctrl-D leaves.", env!("CARGO_PKG_VERSION"));
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() { PROMPT } else { CONTINUATION };
        match editor.readline(prompt) {
            Ok(line) => {
                pending.push_str(&line);
                pending.push('\n');
                if is_complete(&pending) {
                    let input = std::mem::take(&mut pending);
                    let _ = editor.add_history_entry(input.trim_end());
                    if let Some(path) = &history {
                        let _ = editor.save_history(path);
                    }
                    repl.submit(&input);
                    let _ = process::flush_stdout();
                }
            }
            Err(ReadlineError::Interrupted) => pending.clear(),
            Err(_) => break,
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::is_complete;

    #[test]
    fn completeness_follows_brackets_strings_and_comments() {
        assert!(is_complete("x := 2\n"));
        assert!(!is_complete("func f() {\n"));
        assert!(is_complete("func f() {\n return 1\n}\n"));
        assert!(!is_complete("xs := [1,\n"));
        assert!(!is_complete("s := \"abc\n"));
        assert!(is_complete("s := \"a{b(\"\n"));
        assert!(is_complete("# open {\n"));
        assert!(!is_complete("/* open\n"));
        assert!(is_complete("print(\"${f(1)} }\")\n"));
        assert!(!is_complete("print(\"${f(1\n"));
    }
}
