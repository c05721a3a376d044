//! Incremental compiling for the REPL: each input is compiled as a new `<main>` into a
//! program that keeps everything earlier inputs declared.
//!
//! Terms: a *session* is the compiler's tables (prototypes, globals, top-level names,
//! structs, enums, modules) kept between inputs; an *input* is one complete chunk of
//! statements the user typed.
//!
//! Invariants: prototype ids and global indexes only grow, so values created by earlier
//! inputs (closures naming a prototype, globals by index) stay valid in every later
//! program. Each input's `<main>` starts with every earlier top-level name declared, so
//! it reads and assigns the same globals; a bare expression as an input's last statement
//! is returned by `<main>` (the REPL prints it unless it is null).

use std::mem::take;

use rustc_hash::FxHashMap;

use super::bytecode::{GlobalInfo, Instr, Program, ProtoId, StructType};
use super::function::{Binding, FuncKind, FuncState, VarLoc};
use super::{CResult, CompileError, Compiler, ModuleInfo, ModuleSource, StructInfo, Warning};
use crate::parse::ast::{self, StmtKind};
use crate::runtime::heap::Heap;
use crate::runtime::symbol::{Interner, SYM_ERROR};

/// The compiler's state between REPL inputs.
pub struct Session {
    protos: Vec<Option<super::bytecode::Proto>>,
    symbols: Interner,
    globals: Vec<GlobalInfo>,
    global_bindings: Vec<Binding>,
    toplevel_names: FxHashMap<String, u32>,
    library_names: FxHashMap<String, u32>,
    struct_types: Vec<StructType>,
    structs: FxHashMap<String, StructInfo>,
    enums: FxHashMap<String, Vec<String>>,
    initial_globals: Vec<(u32, ProtoId)>,
    modules: Vec<ModuleInfo>,
    imported_names: FxHashMap<String, u32>,
    module_aliases: FxHashMap<String, usize>,
}

/// One compiled input: the whole program so far, with this input's `<main>` as `main`.
pub struct Input {
    pub program: Program,
    /// Functions this input declares (hoisted): the globals to set before it runs.
    pub new_functions: Vec<(u32, ProtoId)>,
    pub warnings: Vec<Warning>,
}

impl Session {
    /// A session with the library compiled.
    pub fn new(library: &ast::Program, heap: &mut Heap) -> CResult<Session> {
        let mut session = Session {
            protos: Vec::new(),
            symbols: Interner::default(),
            globals: Vec::new(),
            global_bindings: Vec::new(),
            toplevel_names: FxHashMap::default(),
            library_names: FxHashMap::default(),
            struct_types: vec![StructType { name: SYM_ERROR, methods: FxHashMap::default() }],
            structs: FxHashMap::default(),
            enums: FxHashMap::default(),
            initial_globals: Vec::new(),
            modules: Vec::new(),
            imported_names: FxHashMap::default(),
            module_aliases: FxHashMap::default(),
        };
        let mut c = session.resume(heap);
        let result = c.compile_library(library);
        session.suspend(c);
        result.map(|()| session)
    }

    /// The compiler, holding this session's tables until [`Session::suspend`].
    fn resume<'h>(&mut self, heap: &'h mut Heap) -> Compiler<'h> {
        Compiler {
            heap,
            protos: take(&mut self.protos),
            symbols: take(&mut self.symbols),
            globals: take(&mut self.globals),
            global_bindings: take(&mut self.global_bindings),
            toplevel_names: take(&mut self.toplevel_names),
            library_names: take(&mut self.library_names),
            struct_types: take(&mut self.struct_types),
            structs: take(&mut self.structs),
            enums: take(&mut self.enums),
            funcs: Vec::new(),
            warnings: Vec::new(),
            initial_globals: take(&mut self.initial_globals),
            take_variable: None,
            lend_taken: false,
            loans: Vec::new(),
            compiling_library: false,
            modules: take(&mut self.modules),
            current_file: 0,
            imported_names: take(&mut self.imported_names),
            module_aliases: take(&mut self.module_aliases),
        }
    }

    fn suspend(&mut self, c: Compiler) -> Vec<Warning> {
        self.protos = c.protos;
        self.symbols = c.symbols;
        self.globals = c.globals;
        self.global_bindings = c.global_bindings;
        self.toplevel_names = c.toplevel_names;
        self.library_names = c.library_names;
        self.struct_types = c.struct_types;
        self.structs = c.structs;
        self.enums = c.enums;
        self.initial_globals = c.initial_globals;
        self.modules = c.modules;
        self.imported_names = c.imported_names;
        self.module_aliases = c.module_aliases;
        c.warnings
    }

    /// Compiles one input: `modules` as `modules::load` ordered them (the input last);
    /// modules an earlier input imported are not compiled again. On an error the session
    /// keeps what earlier inputs declared (prototypes reserved by the failed input stay
    /// unused).
    pub fn compile(&mut self, modules: &[ModuleSource], heap: &mut Heap) -> CResult<Input> {
        let first_new_function = self.initial_globals.len();
        let snapshot_names = (self.toplevel_names.clone(), self.imported_names.clone(), self.module_aliases.clone());
        let mut c = self.resume(heap);
        let result = compile_input(&mut c, modules);
        let warnings = self.suspend(c);
        let main = match result {
            Ok(main) => main,
            Err(e) => {
                // Names the failed input declared have globals that never ran: forget them.
                (self.toplevel_names, self.imported_names, self.module_aliases) = snapshot_names;
                return Err(e);
            }
        };
        let protos = self.protos.iter().map(|p| p.clone().unwrap_or_default()).collect();
        let program = Program {
            protos,
            main,
            globals: self.globals.clone(),
            symbols: self.symbols.clone(),
            struct_types: self.struct_types.clone(),
            initial_globals: self.initial_globals.clone(),
        };
        Ok(Input { program, new_functions: self.initial_globals[first_new_function..].to_vec(), warnings })
    }
}

fn compile_input(c: &mut Compiler, modules: &[ModuleSource]) -> CResult<ProtoId> {
    let (input, imported) = modules.split_last().expect("an input is a module");
    let names = (take(&mut c.toplevel_names), take(&mut c.imported_names), take(&mut c.module_aliases));
    for module in imported {
        if c.modules.iter().any(|known| known.path == module.path) {
            continue;
        }
        c.current_file = module.file;
        if let Err(e) = c.compile_module(module) {
            (c.toplevel_names, c.imported_names, c.module_aliases) = names;
            return Err(CompileError { file: module.file, ..e });
        }
    }
    (c.toplevel_names, c.imported_names, c.module_aliases) = names;
    c.current_file = input.file;
    compile_input_main(c, input.ast).map_err(|e| CompileError { file: input.file, ..e })
}

/// Like `Compiler::compile_main`, on top of the names earlier inputs declared.
fn compile_input_main(c: &mut Compiler, program: &ast::Program) -> CResult<ProtoId> {
    let main_id = c.reserve_proto();
    c.funcs.push(FuncState::new("<main>".into(), FuncKind::Main));
    for (name, &global) in &c.toplevel_names {
        let binding = c.global_bindings[global as usize];
        c.funcs[0].declare(name, binding, VarLoc::Global(global));
    }
    for (name, &global) in &c.imported_names {
        c.funcs[0].declare(name, Binding::Imported, VarLoc::Global(global));
    }
    c.bind_imports(&program.stmts)?;
    c.declare_toplevel(&program.stmts);
    c.hoist_functions(&program.stmts)?;
    let (last, body) = match program.stmts.split_last() {
        Some((last, body)) if matches!(last.kind, StmtKind::Expr(_)) => (Some(last), body),
        _ => (None, &program.stmts[..]),
    };
    c.block_stmts(&body.to_vec())?;
    match last {
        Some(ast::Stmt { kind: StmtKind::Expr(e), span }) => {
            let src = c.expr_any(e)?;
            c.func().emit(Instr::Return { src }, *span);
        }
        _ => {
            let end = program.stmts.last().map(|s| s.span).unwrap_or_default();
            c.func().emit(Instr::ReturnNull, end);
        }
    }
    let state = c.funcs.pop().expect("main is being compiled");
    c.finish(main_id, state);
    Ok(main_id)
}
