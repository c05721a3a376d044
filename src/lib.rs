//! Ruff: a scripting language runtime.
//!
//! Pipeline: source text -> [`parse`] (pest grammar -> AST) -> [`compile`] (AST ->
//! register bytecode) -> [`interpret`] (dispatch loop over a garbage-collected heap,
//! [`runtime`]) with [`builtins`] as native functions. [`diagnostics`] renders errors.
//! DESIGN.md describes each step and the invariants between them.

pub mod builtins;
pub mod compile;
pub mod diagnostics;
pub mod interpret;
pub mod jit;
pub mod modules;
pub mod parse;
pub mod process;
pub mod repl;
pub mod runtime;
pub mod semantics;

use std::io::Write;

use runtime::heap::Heap;

/// Why a program did not run to completion, already rendered for the user.
#[derive(Debug)]
pub enum Failure {
    /// The source has a syntax or static error; nothing ran.
    Syntax(String),
    /// A runtime error nobody caught; output printed before it stays printed.
    Runtime(String),
}

impl Failure {
    /// The process exit status for this failure (LANGUAGE.md decision 4).
    pub fn exit_status(&self) -> i32 {
        match self {
            Failure::Syntax(_) => 3,
            Failure::Runtime(_) => 4,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Syntax(m) | Failure::Runtime(m) => m,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub interpreter: interpret::Options,
    /// Produce the JIT statistics report at exit.
    pub jit_stats: Option<StatsFormat>,
    /// Sample the run and produce the per-line profile (`--profile`).
    pub profile: bool,
    /// Produce the HTML trace report (`--jit-report`); samples the run too.
    pub html_report: bool,
}

/// How a run ended, and the JIT report if one was asked for.
pub struct RunReport {
    pub outcome: Result<(), Failure>,
    /// The `--jit-stats` report, rendered as asked.
    pub jit_stats: Option<String>,
    /// The JIT's statistics, if the JIT ran (for the profile and the HTML report).
    pub stats: Option<jit::stats::Stats>,
    /// What the interpreter ran itself (loop back-edges, calls).
    pub interpreter_counts: interpret::InterpreterCounts,
    /// The `--profile` report, or why there is none.
    pub profile: Option<Result<String, String>>,
    /// The `--jit-report` page, or why there is none.
    pub html_report: Option<Result<String, String>>,
}

/// Parses and compiles `source` (the program `file`) with the modules it imports, found
/// relative to `file`'s directory and then `RUFF_PATH`; on success returns the program and
/// the warnings (rendered).
pub fn compile_source(
    file: &str,
    source: &str,
    heap: &mut Heap,
) -> Result<(compile::bytecode::Program, Vec<String>), Failure> {
    compile_program(file, source, heap)
        .map(|(program, warnings, files)| (program, diagnostics::warnings(&files, &warnings)))
}

/// [`compile_source`] with the warnings not rendered (running a program ignores them),
/// also returning the program's source files (`Proto::file` indexes them; runtime errors
/// need them).
pub fn compile_program(
    file: &str,
    source: &str,
    heap: &mut Heap,
) -> Result<(compile::bytecode::Program, Vec<compile::Warning>, Vec<modules::SourceFile>), Failure> {
    let roots = modules::Roots::for_main_file(Some(std::path::Path::new(file)));
    let loaded = modules::load(file, source, &roots)?;
    let texts: Vec<&str> = loaded.files.iter().map(|f| f.source.as_str()).collect();
    let library = builtins::library::needed_by(&texts);
    let sources: Vec<compile::ModuleSource> =
        loaded.modules.iter().map(|m| compile::ModuleSource { file: m.file, path: &m.path, ast: &m.ast }).collect();
    let files = &loaded.files;
    let compiled = compile::compile_modules(&sources, &library, heap).map_err(|e| {
        let file = &files[e.file as usize];
        Failure::Syntax(diagnostics::syntax_error(&file.name, &file.source, e.span, &e.message))
    })?;
    Ok((compiled.program, compiled.warnings, loaded.files))
}

/// Runs a whole program, writing its output to `out`.
pub fn run_source(file: &str, source: &str, options: &RunOptions, out: Box<dyn Write>) -> RunReport {
    let mut heap = Heap::new(options.interpreter.gc_stress);
    let (program, files) = match compile_program(file, source, &mut heap) {
        Ok((program, _warnings, files)) => (program, files),
        Err(failure) => {
            return RunReport {
                outcome: Err(failure),
                jit_stats: None,
                stats: None,
                interpreter_counts: Default::default(),
                profile: None,
                html_report: None,
            }
        }
    };
    let mut interpreter = options.interpreter.clone();
    if let Some(jit) = interpreter.jit.as_mut() {
        jit.source_name = file.to_string();
        jit.keep_dumps |= options.html_report;
        jit.measure_native |= options.jit_stats.is_some() || options.html_report || options.profile;
    }
    let mut vm = interpret::Vm::new(program, heap, out, &interpreter);
    let sampling = options.profile || options.html_report;
    let profiling = sampling.then(|| vm.start_profile().map_err(|e| format!("cannot start the profiler: {}", e)));
    let outcome = vm.run().map_err(|e| Failure::Runtime(diagnostics::runtime_error(&files, &e)));
    let samples = vm.finish_profile();
    let interpreter_counts = vm.interpreter_counts();
    let jit_stats = vm.jit_stats().cloned();
    let jit_report = options.jit_stats.zip(jit_stats.as_ref()).map(|(format, stats)| match format {
        StatsFormat::Text => stats.report_text(file),
        StatsFormat::Json => stats.report_json(file),
    });
    let samples = profiling.map(|started| started.map(|()| samples.unwrap_or_default()));
    let program = vm.program();
    let profile = samples.as_ref().filter(|_| options.profile).map(|samples| {
        samples.clone().map(|samples| jit::profile::report(file, source, program, &samples, jit_stats.as_ref()))
    });
    let html_report = samples.as_ref().filter(|_| options.html_report).map(|samples| {
        samples.clone().map(|samples| {
            let stats = jit_stats.clone().unwrap_or_default();
            jit::report::render(file, source, program, &stats, &samples)
        })
    });
    RunReport { outcome, jit_stats: jit_report, stats: jit_stats, interpreter_counts, profile, html_report }
}
