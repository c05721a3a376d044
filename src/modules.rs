//! Loading a program's modules (LANGUAGE.md 18.1): from the main file, follow every
//! `import` to its file, parse it, and order the modules so that each comes after the
//! modules it imports. Everything that can go wrong with imports is found here, before
//! anything is compiled or runs: a missing module, a cycle, a name a module does not
//! export, and each module's own syntax errors (reported in that module's file).
//!
//! Terms:
//! - *Module path*: the dotted name in an import (`lib.text`), naming the file
//!   `lib/text.ruff` under one of the *roots*: the program's root (the directory of the
//!   main file; the current directory for standard input and the REPL), then each
//!   directory of `RUFF_PATH` in order. Every module resolves against the same roots.
//! - *Source file*: a file's display name and text; index 0 is the main program.
//!
//! Invariants: [`Loaded::modules`] lists every module once, dependencies first, main last;
//! `Module::file` indexes [`Loaded::files`]. Module paths consist of identifiers only, so
//! no import can name a file outside the roots.

use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use crate::diagnostics;
use crate::parse::ast::{self, Span, StmtKind};
use crate::Failure;

/// A file of the program: how messages name it and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub source: String,
}

/// One parsed module.
pub struct Module {
    /// The dotted path it was imported by; the main program's file stem for main.
    pub path: String,
    pub file: u32,
    pub ast: ast::Program,
}

pub struct Loaded {
    pub files: Vec<SourceFile>,
    pub modules: Vec<Module>,
}

/// Where imports are searched.
pub struct Roots(Vec<PathBuf>);

impl Roots {
    /// The program's root, then the directories of `RUFF_PATH`.
    pub fn new(program_root: PathBuf) -> Roots {
        let mut roots = vec![program_root];
        if let Some(path) = std::env::var_os("RUFF_PATH") {
            roots.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
        }
        Roots(roots)
    }

    /// The root of a program whose main file is `file` (`None`: standard input).
    pub fn for_main_file(file: Option<&Path>) -> Roots {
        let directory = file.and_then(Path::parent).filter(|d| !d.as_os_str().is_empty());
        Roots::new(directory.map_or_else(|| PathBuf::from("."), Path::to_path_buf))
    }
}

enum State {
    /// Being loaded: its imports are being followed (a cycle when met again).
    Loading,
    Loaded(usize),
}

struct Loader<'r> {
    roots: &'r Roots,
    files: Vec<SourceFile>,
    modules: Vec<Module>,
    states: FxHashMap<String, State>,
    /// Module paths being loaded, outermost first (for cycle messages).
    chain: Vec<String>,
}

/// Parses `source` (the main program, named `name`) and every module it imports.
pub fn load(name: &str, source: &str, roots: &Roots) -> Result<Loaded, Failure> {
    let main_path = Path::new(name).file_stem().map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned());
    let mut loader =
        Loader { roots, files: Vec::new(), modules: Vec::new(), states: FxHashMap::default(), chain: Vec::new() };
    loader.module(main_path, SourceFile { name: name.to_string(), source: source.to_string() })?;
    Ok(Loaded { files: loader.files, modules: loader.modules })
}

impl Loader<'_> {
    fn error(&self, file: u32, span: Span, message: &str) -> Failure {
        let file = &self.files[file as usize];
        Failure::Syntax(diagnostics::syntax_error(&file.name, &file.source, span, message))
    }

    /// Parses one module, loads its imports, and appends it after them.
    fn module(&mut self, path: String, source: SourceFile) -> Result<usize, Failure> {
        let file = self.files.len() as u32;
        self.files.push(source);
        let text = &self.files[file as usize].source;
        let ast = crate::parse::parse_program(text).map_err(|e| self.error(file, e.span, &e.message))?;
        self.states.insert(path.clone(), State::Loading);
        self.chain.push(path.clone());
        for stmt in &ast.stmts {
            let StmtKind::Import(import) = &stmt.kind else { continue };
            let dependency = self.import(file, stmt.span, import)?;
            for (name, span) in import.names.iter().flatten() {
                if !self.modules[dependency].ast.exports.iter().any(|(exported, _)| exported == name) {
                    return Err(self.error(
                        file,
                        *span,
                        &format!("Module {} does not export {}", import.dotted(), name),
                    ));
                }
            }
        }
        self.chain.pop();
        let index = self.modules.len();
        self.states.insert(path.clone(), State::Loaded(index));
        self.modules.push(Module { path, file, ast });
        Ok(index)
    }

    /// The index of the module `import` names, loading it first if need be.
    fn import(&mut self, file: u32, span: Span, import: &ast::Import) -> Result<usize, Failure> {
        let dotted = import.dotted();
        match self.states.get(&dotted) {
            Some(State::Loaded(index)) => return Ok(*index),
            Some(State::Loading) => {
                let cycle = self.chain.iter().chain([&dotted]).cloned().collect::<Vec<_>>().join(" -> ");
                return Err(self.error(file, span, &format!("Circular import: {}", cycle)));
            }
            None => {}
        }
        let relative: PathBuf = import.path.iter().collect::<PathBuf>().with_extension("ruff");
        let candidates: Vec<PathBuf> = self.roots.0.iter().map(|root| root.join(&relative)).collect();
        let Some(found) = candidates.iter().find(|c| c.is_file()) else {
            let looked = candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ");
            return Err(self.error(file, span, &format!("Module not found: {} (looked in: {})", dotted, looked)));
        };
        // Under the current directory, `lib/util.ruff` rather than `./lib/util.ruff`.
        let name = found.strip_prefix(".").unwrap_or(found).display().to_string();
        let text = std::fs::read(found)
            .map_err(|e| e.to_string())
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string()))
            .map_err(|reason| {
                self.error(file, span, &format!("Cannot read module {} ({}): {}", dotted, name, reason))
            })?;
        let text = text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text);
        self.module(dotted, SourceFile { name, source: text })
    }
}
