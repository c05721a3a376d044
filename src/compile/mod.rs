//! The compiler: AST to register bytecode.
//!
//! Owns name resolution, slot allocation, the layout of every prototype, and the
//! ownership annotations (`Move` vs `MoveOwned`) that make copy-on-write values cheap.
//!
//! Terms:
//! - *Global*: every variable of top-level code, including those created in top-level
//!   blocks (each declaration gets its own global slot; block scoping is enforced at
//!   compile time). Functions read and write globals live.
//! - *Top-level names*: names declared in the top-level scope anywhere in the file. A
//!   function may use one declared after it (it is looked up when the code runs).
//! - *Library*: builtins written in Ruff (`library.ruff`), compiled into every program that
//!   mentions them (`builtins/library.rs` chooses);
//!   a user global of the same name wins.
//!
//! Resolution order for a name inside a function: its own scopes, its captures, its own
//! name (a nested `func` calling itself), the receiver's fields (methods), enclosing
//! functions (captured by copy when the closure is created), top-level names, library
//! functions, native builtins, the constants `PI` and `E`. An unresolved name compiles to
//! a runtime `Undefined variable` error at that point.
//!
//! Invariant: every value an instruction stores into a location is owned (module docs of
//! `bytecode.rs`); `liveness.rs` turns each `Move` whose source dies into `MoveOwned`.

mod borrow;
pub mod bytecode;
mod expr;
mod function;
mod lint;
pub mod listing;
pub mod liveness;
pub mod session;
mod stmt;

use rustc_hash::FxHashMap;

use crate::builtins;
use crate::parse::ast::{self, ExprKind, PostfixOp, Span, StmtKind};
use crate::runtime::heap::Heap;
use crate::runtime::object::StrObj;
use crate::runtime::symbol::{Interner, Symbol, SYM_ERROR};
use crate::runtime::value::Value;
use bytecode::{CaptureSource, GlobalInfo, Instr, Program, ProtoId, Reg, StructType};
use function::{Binding, FuncKind, FuncState, VarLoc};

#[derive(Clone, Debug, PartialEq)]
pub struct CompileError {
    /// The module's file (`Proto::file`).
    pub file: u32,
    pub span: Span,
    pub message: String,
}

impl CompileError {
    pub fn new(span: Span, message: impl Into<String>) -> CompileError {
        CompileError { file: 0, span, message: message.into() }
    }
}

/// Something legal but almost certainly a mistake (`ruff check` prints these).
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    /// The module's file (`Proto::file`).
    pub file: u32,
    pub span: Span,
    pub message: String,
}

/// One module to compile: its file, its dotted path and its syntax tree.
pub struct ModuleSource<'a> {
    pub file: u32,
    pub path: &'a str,
    pub ast: &'a ast::Program,
}

/// A compiled module, as importers see it.
struct ModuleInfo {
    path: String,
    /// Exported name -> its global.
    exports: FxHashMap<String, u32>,
    /// The global holding the module's top-level code as a function.
    init: u32,
    /// An `import` of it has been compiled: later imports do not run it again. Imports
    /// stand only at the top level of a file, whose code runs straight through in the
    /// order it is compiled (dependencies first), so the first import compiled is the
    /// first one run.
    runs: bool,
}

pub struct Compiled {
    pub program: Program,
    pub warnings: Vec<Warning>,
}

type CResult<T> = Result<T, CompileError>;

/// A global or capture read by `TakeGlobal`/`TakeCapture`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Taken {
    Global(u32),
    Capture(u16),
}

/// What a name means at the point it is used.
#[derive(Clone, Copy, Debug)]
enum Name {
    Slot(Reg, Binding),
    Global(u32, Binding),
    Capture(u16, Binding),
    Field(Symbol),
    SelfFunc,
    Builtin(u32),
    Constant(f64),
    Undefined,
}

struct StructInfo {
    index: u32,
    fields: Vec<String>,
}

struct Compiler<'h> {
    heap: &'h mut Heap,
    protos: Vec<Option<bytecode::Proto>>,
    symbols: Interner,
    globals: Vec<GlobalInfo>,
    global_bindings: Vec<Binding>,
    toplevel_names: FxHashMap<String, u32>,
    library_names: FxHashMap<String, u32>,
    struct_types: Vec<StructType>,
    structs: FxHashMap<String, StructInfo>,
    enums: FxHashMap<String, Vec<String>>,
    funcs: Vec<FuncState>,
    warnings: Vec<Warning>,
    initial_globals: Vec<(u32, ProtoId)>,
    /// A variable whose next read should not mark its value shared (see `TakeGlobal`).
    take_variable: Option<Taken>,
    /// Whether that read also puts the value on loan (`Instr::Lend`): Ruff code runs
    /// before the value is consumed.
    lend_taken: bool,
    /// Slots holding values on loan whose `EndLoan` is still to be emitted (innermost
    /// last): each call or operator that consumes them ends the loans it started.
    loans: Vec<Reg>,
    compiling_library: bool,
    modules: Vec<ModuleInfo>,
    /// The module being compiled: its file, its `from m import x` names (name -> global)
    /// and its `import a.b.c` aliases (`c` -> index into `modules`).
    current_file: u32,
    imported_names: FxHashMap<String, u32>,
    module_aliases: FxHashMap<String, usize>,
}

/// Compiles the library and then the user's program into one [`Program`]. String
/// constants are allocated on `heap`.
pub fn compile(user: &ast::Program, library: &ast::Program, heap: &mut Heap) -> CResult<Compiled> {
    compile_modules(&[ModuleSource { file: 0, path: "main", ast: user }], library, heap)
}

/// Compiles the library and the modules of a program, dependencies first and the main
/// program last (the order `modules::load` gives), into one [`Program`]. Each module's
/// top-level code becomes a function that its first `import` calls; its globals are its
/// own, and importers read its exports' globals directly.
pub fn compile_modules(modules: &[ModuleSource], library: &ast::Program, heap: &mut Heap) -> CResult<Compiled> {
    let mut c = Compiler {
        heap,
        protos: Vec::new(),
        symbols: Interner::default(),
        globals: Vec::new(),
        global_bindings: Vec::new(),
        toplevel_names: FxHashMap::default(),
        library_names: FxHashMap::default(),
        struct_types: vec![StructType { name: SYM_ERROR, methods: FxHashMap::default() }],
        structs: FxHashMap::default(),
        enums: FxHashMap::default(),
        funcs: Vec::new(),
        warnings: Vec::new(),
        initial_globals: Vec::new(),
        take_variable: None,
        lend_taken: false,
        loans: Vec::new(),
        compiling_library: false,
        modules: Vec::new(),
        current_file: 0,
        imported_names: FxHashMap::default(),
        module_aliases: FxHashMap::default(),
    };
    c.compile_library(library)?;
    let (main_module, imported) = modules.split_last().expect("a program has a main module");
    for module in imported {
        c.current_file = module.file;
        c.compile_module(module).map_err(|e| CompileError { file: module.file, ..e })?;
    }
    c.current_file = main_module.file;
    let main = c.compile_main(main_module.ast).map_err(|e| CompileError { file: main_module.file, ..e })?;
    let protos = c.protos.into_iter().map(|p| p.expect("every reserved prototype is finished")).collect();
    Ok(Compiled {
        program: Program {
            protos,
            main,
            globals: c.globals,
            symbols: c.symbols,
            struct_types: c.struct_types,
            initial_globals: c.initial_globals,
        },
        warnings: c.warnings,
    })
}

impl<'h> Compiler<'h> {
    fn func(&mut self) -> &mut FuncState {
        self.funcs.last_mut().expect("a function is being compiled")
    }

    fn new_global(&mut self, name: &str, binding: Binding) -> u32 {
        self.globals.push(GlobalInfo { name: name.to_string() });
        self.global_bindings.push(binding);
        (self.globals.len() - 1) as u32
    }

    fn reserve_proto(&mut self) -> ProtoId {
        self.protos.push(None);
        ProtoId((self.protos.len() - 1) as u32)
    }

    fn symbol16(&mut self, name: &str, span: Span) -> CResult<u16> {
        let s = self.symbols.intern(name);
        u16::try_from(s.0).map_err(|_| CompileError::new(span, "Too many distinct names in the program"))
    }

    /// The library's functions become globals that user code sees unless it defines the
    /// same names.
    fn compile_library(&mut self, library: &ast::Program) -> CResult<()> {
        self.compiling_library = true;
        self.funcs.push(FuncState::new("<library>".into(), FuncKind::Main));
        for stmt in &library.stmts {
            let StmtKind::Func(decl) = &stmt.kind else {
                unreachable!("library.ruff contains only function declarations")
            };
            let name = decl.name.clone().expect("library functions are named");
            let global = self.new_global(&name, Binding::Mutable);
            let proto = self.compile_function(decl, FuncKind::Function, None)?;
            self.initial_globals.push((global, proto));
            self.library_names.insert(name, global);
        }
        self.funcs.pop();
        self.compiling_library = false;
        Ok(())
    }

    /// Compiles an imported module's top-level code as the function `<module PATH>` held
    /// by a global, and records its exports.
    fn compile_module(&mut self, module: &ModuleSource) -> CResult<()> {
        self.toplevel_names.clear();
        self.imported_names.clear();
        self.module_aliases.clear();
        let id = self.reserve_proto();
        let name = format!("<module {}>", module.path);
        let init = self.new_global(&name, Binding::Const);
        self.initial_globals.push((init, id));
        self.funcs.push(FuncState::new(name, FuncKind::Main));
        self.bind_imports(&module.ast.stmts)?;
        self.declare_toplevel(&module.ast.stmts);
        self.hoist_functions(&module.ast.stmts)?;
        self.block_stmts(&module.ast.stmts)?;
        let end = module.ast.stmts.last().map(|s| s.span).unwrap_or_default();
        self.func().emit(Instr::ReturnNull, end);
        let state = self.funcs.pop().expect("the module is being compiled");
        self.finish(id, state);
        let exports = module
            .ast
            .exports
            .iter()
            .filter_map(|(name, _)| self.toplevel_names.get(name).map(|&g| (name.clone(), g)))
            .collect();
        self.modules.push(ModuleInfo { path: module.path.to_string(), exports, init, runs: false });
        Ok(())
    }

    /// `import a.b.c` / `from a.b.c import x, y`: runs the module if no import did yet,
    /// then binds the names (`modules::load` has checked that they are exported).
    pub(super) fn import(&mut self, import: &ast::Import, span: Span) -> CResult<()> {
        if self.funcs.len() != 1 {
            return Err(CompileError::new(span, "import is allowed only at the top level of a file"));
        }
        let dotted = import.dotted();
        let index = self
            .modules
            .iter()
            .position(|m| m.path == dotted)
            .ok_or_else(|| CompileError::new(span, format!("Module not found: {}", dotted)))?;
        if !self.modules[index].runs {
            self.modules[index].runs = true;
            let init = self.modules[index].init;
            let base = self.func().alloc_slot(span)?;
            self.func().emit(Instr::GetGlobal { dst: base, global: init }, span);
            self.func().emit(Instr::Call { base, argc: 0, lent: 0 }, span);
            self.func().free_slots_to(base);
        }
        for (name, _) in import.names.iter().flatten() {
            let global = self.imported_names[name];
            self.func().declare(name, Binding::Imported, VarLoc::Global(global));
        }
        Ok(())
    }

    /// Makes the names the top-level imports of `stmts` bind known before any code of the
    /// file is compiled, so hoisted functions see them too.
    fn bind_imports(&mut self, stmts: &[ast::Stmt]) -> CResult<()> {
        for stmt in stmts {
            let StmtKind::Import(import) = &stmt.kind else { continue };
            let dotted = import.dotted();
            let Some(index) = self.modules.iter().position(|m| m.path == dotted) else {
                return Err(CompileError::new(stmt.span, format!("Module not found: {}", dotted)));
            };
            match &import.names {
                None => {
                    let alias = import.path.last().expect("a module path has a part").clone();
                    self.module_aliases.insert(alias, index);
                }
                Some(names) => {
                    for (name, name_span) in names {
                        let global = *self.modules[index].exports.get(name).ok_or_else(|| {
                            CompileError::new(*name_span, format!("Module {} does not export {}", dotted, name))
                        })?;
                        self.imported_names.insert(name.clone(), global);
                    }
                }
            }
        }
        Ok(())
    }

    /// The export `field` of the module that `alias` names (`import a.b.c` makes `c` an
    /// alias), when `alias` is not a variable.
    pub(super) fn module_member(&mut self, alias: &str, field: &str, span: Span) -> CResult<Option<u32>> {
        if !matches!(self.resolve(alias), Name::Undefined) {
            return Ok(None);
        }
        let Some(&index) = self.module_aliases.get(alias) else {
            return Ok(None);
        };
        let module = &self.modules[index];
        match module.exports.get(field) {
            Some(&global) => Ok(Some(global)),
            None => Err(CompileError::new(span, format!("Module {} does not export {}", module.path, field))),
        }
    }

    /// Whether `name`, not a variable, is a module alias (an error where a value is due).
    pub(super) fn is_module_alias(&self, name: &str) -> bool {
        self.module_aliases.contains_key(name)
    }

    fn compile_main(&mut self, program: &ast::Program) -> CResult<ProtoId> {
        self.toplevel_names.clear();
        self.imported_names.clear();
        self.module_aliases.clear();
        let main_id = self.reserve_proto();
        self.funcs.push(FuncState::new("<main>".into(), FuncKind::Main));
        self.bind_imports(&program.stmts)?;
        self.declare_toplevel(&program.stmts);
        self.hoist_functions(&program.stmts)?;
        self.block_stmts(&program.stmts)?;
        let end = program.stmts.last().map(|s| s.span).unwrap_or_default();
        self.func().emit(Instr::ReturnNull, end);
        let state = self.funcs.pop().expect("main is being compiled");
        self.finish(main_id, state);
        Ok(main_id)
    }

    /// Gives every top-level name a global slot up front, and registers struct and enum
    /// types, so that functions can refer to things declared after them.
    fn declare_toplevel(&mut self, stmts: &[ast::Stmt]) {
        for stmt in stmts {
            let (name, binding) = match &stmt.kind {
                StmtKind::Decl { kind, name, .. } => (name, Binding::from(*kind)),
                StmtKind::Assign { target, op: ast::AssignOp::Set, .. } if target.path.is_empty() => {
                    (&target.name, Binding::Mutable)
                }
                StmtKind::Func(decl) => (decl.name.as_ref().expect("declarations are named"), Binding::Mutable),
                StmtKind::Struct(decl) => {
                    self.register_struct(decl);
                    continue;
                }
                StmtKind::Enum { name, variants } => {
                    self.enums.insert(name.clone(), variants.clone());
                    continue;
                }
                _ => continue,
            };
            if !self.toplevel_names.contains_key(name) {
                let global = self.new_global(name, binding);
                self.toplevel_names.insert(name.clone(), global);
            }
        }
    }

    fn register_struct(&mut self, decl: &ast::StructDecl) -> u32 {
        if let Some(info) = self.structs.get(&decl.name) {
            return info.index;
        }
        let index = self.struct_types.len() as u32;
        let name = self.symbols.intern(&decl.name);
        self.struct_types.push(StructType { name, methods: FxHashMap::default() });
        self.structs.insert(decl.name.clone(), StructInfo { index, fields: decl.fields.clone() });
        index
    }

    /// Top-level functions are bound before the first statement runs.
    fn hoist_functions(&mut self, stmts: &[ast::Stmt]) -> CResult<()> {
        for stmt in stmts {
            if let StmtKind::Func(decl) = &stmt.kind {
                let name = decl.name.as_ref().expect("declarations are named");
                let global = self.toplevel_names[name];
                if !self.func().current_scope_has(name) {
                    self.func().declare(name, Binding::Mutable, VarLoc::Global(global));
                }
                let proto = self.compile_function(decl, FuncKind::Function, None)?;
                self.initial_globals.push((global, proto));
            }
        }
        Ok(())
    }

    /// Compiles a function body into a new prototype. `self_name` lets a nested named
    /// function call itself.
    fn compile_function(
        &mut self,
        decl: &ast::FuncDecl,
        kind: FuncKind,
        self_name: Option<String>,
    ) -> CResult<ProtoId> {
        let id = self.reserve_proto();
        let name = decl.name.clone().unwrap_or_else(|| "<lambda>".to_string());
        let mut state = FuncState::new(name, kind);
        state.self_name = self_name;
        state.proto.is_library = self.compiling_library;
        let mut params = decl.params.as_slice();
        if let FuncKind::Method { struct_index } = kind {
            state.proto.is_method = true;
            state.fields =
                self.structs.values().find(|s| s.index == struct_index).map(|s| s.fields.clone()).unwrap_or_default();
            let receiver = state.alloc_slot(decl.span)?;
            state.declare("self", Binding::Mutable, VarLoc::Slot(receiver));
            if params.first().is_some_and(|p| p.name == "self") {
                params = &params[1..];
            }
        }
        for p in params {
            if state.current_scope_has(&p.name) {
                return Err(CompileError::new(p.span, format!("Duplicate parameter name: {}", p.name)));
            }
            let slot = state.alloc_slot(p.span)?;
            state.declare(&p.name, Binding::Mutable, VarLoc::Slot(slot));
        }
        state.proto.arity = params.len() as u16;
        self.funcs.push(state);
        self.block_stmts(&decl.body)?;
        let end = decl.body.last().map(|s| s.span).unwrap_or(decl.span);
        self.func().emit(Instr::ReturnNull, end);
        let state = self.funcs.pop().expect("the function is being compiled");
        self.finish(id, state);
        Ok(id)
    }

    fn finish(&mut self, id: ProtoId, state: FuncState) {
        let mut proto = state.proto;
        proto.file = self.current_file;
        let child_captures = |index: u32| -> Vec<CaptureSource> {
            self.protos[index as usize].as_ref().map(|p| p.captures.clone()).unwrap_or_default()
        };
        liveness::mark_owned_moves(&mut proto, &child_captures);
        borrow::lend_unescaping_copies(&mut proto, &state.builtin_calls, &child_captures);
        self.protos[id.0 as usize] = Some(proto);
    }

    fn resolve(&mut self, name: &str) -> Name {
        let depth = self.funcs.len() - 1;
        let f = &self.funcs[depth];
        if let Some(v) = f.lookup(name) {
            return match v.loc {
                VarLoc::Slot(s) => Name::Slot(s, v.binding),
                VarLoc::Global(g) => Name::Global(g, v.binding),
            };
        }
        if let Some((i, b)) = f.capture_index(name) {
            return Name::Capture(i, b);
        }
        if f.self_name.as_deref() == Some(name) {
            return Name::SelfFunc;
        }
        if matches!(f.kind, FuncKind::Method { .. }) && f.fields.iter().any(|n| n == name) {
            return Name::Field(self.symbols.intern(name));
        }
        if let Some(found) = self.resolve_enclosing(depth, name) {
            return found;
        }
        if depth > 0 || self.compiling_library {
            if let Some(&g) = self.toplevel_names.get(name) {
                return Name::Global(g, self.global_bindings[g as usize]);
            }
        }
        if let Some(&g) = self.imported_names.get(name) {
            return Name::Global(g, Binding::Imported);
        }
        if let Some(&g) = self.library_names.get(name) {
            return Name::Global(g, Binding::Mutable);
        }
        if let Some(id) = builtins::lookup(name) {
            return Name::Builtin(id);
        }
        match name {
            "PI" => Name::Constant(std::f64::consts::PI),
            "E" => Name::Constant(std::f64::consts::E),
            _ => Name::Undefined,
        }
    }

    /// Looks `name` up in the functions enclosing function `depth`, adding the captures
    /// needed to bring a local of an enclosing function into function `depth`.
    fn resolve_enclosing(&mut self, depth: usize, name: &str) -> Option<Name> {
        if depth == 0 {
            return None;
        }
        let parent = &self.funcs[depth - 1];
        let source = if let Some(v) = parent.lookup(name) {
            match v.loc {
                VarLoc::Global(g) => return Some(Name::Global(g, v.binding)),
                VarLoc::Slot(s) => (CaptureSource::Slot(s), v.binding),
            }
        } else if let Some((i, b)) = parent.capture_index(name) {
            (CaptureSource::Capture(i), b)
        } else if parent.self_name.as_deref() == Some(name) {
            (CaptureSource::CurrentClosure, Binding::Mutable)
        } else {
            match self.resolve_enclosing(depth - 1, name)? {
                Name::Capture(i, b) => (CaptureSource::Capture(i), b),
                other => return Some(other),
            }
        };
        let index = self.funcs[depth].add_capture(name, source.1, source.0);
        Some(Name::Capture(index, source.1))
    }

    fn string_value(&mut self, text: &str) -> u32 {
        let heap = &mut *self.heap;
        let f = self.funcs.last_mut().expect("a function is being compiled");
        f.string_constant(text, || Value::Str(heap.alloc(StrObj::new(text.to_string()))))
    }

    /// Emits an instruction raising the runtime error `message`.
    fn emit_raise(&mut self, message: String, span: Span) {
        let index = self.string_value(&message);
        self.func().emit(Instr::Raise { message: index }, span);
    }

    fn warn_lost_push(&mut self, expr: &ast::Expr) {
        let ExprKind::Postfix { base, ops } = &expr.kind else {
            return;
        };
        let (ExprKind::Name(name), [(PostfixOp::Call(args), _)]) = (&base.kind, ops.as_slice()) else {
            return;
        };
        if (name == "push" || name == "append") && matches!(self.resolve(name), Name::Builtin(_)) {
            let array = match args.first().map(|a| &a.kind) {
                Some(ExprKind::Name(a)) => a.clone(),
                _ => "a".to_string(),
            };
            self.warnings.push(Warning {
                file: self.current_file,
                span: expr.span,
                message: format!(
                    "the result of `{name}` is lost: arrays are values and `{name}` returns a new one; write `{array} := {name}({array}, ...)`"
                ),
            });
        }
    }
}
