//! Runtime errors: how a raised error becomes the value `except` binds, and the report
//! of an uncaught one.

use std::rc::Rc;

use super::{Frame, Vm};
use crate::compile::bytecode::ERROR_STRUCT_TYPE;
use crate::parse::ast::Span;
use crate::runtime::format;
use crate::runtime::object::{new_struct, ArrayObj, StrObj};
use crate::runtime::symbol::{SYM_LINE, SYM_MESSAGE, SYM_STACK};
use crate::runtime::value::Value;

/// Something raised: a runtime error message or a thrown value.
pub(super) enum Raised {
    Message(String),
    Thrown(Value),
}

/// One line of the Ruff call stack: a function and the line it was executing.
#[derive(Clone, Debug, PartialEq)]
pub struct StackLine {
    pub function: String,
    pub line: u32,
    /// The function's source file (`Proto::file`).
    pub file: u32,
}

/// An error that no `try` caught: the program stops with exit status 4.
#[derive(Clone, Debug, PartialEq)]
pub struct Uncaught {
    pub message: String,
    /// The file `span` is in (`Proto::file`).
    pub file: u32,
    pub span: Span,
    /// Outermost first, `<main>` included.
    pub stack: Vec<StackLine>,
}

impl Vm {
    /// The error of reading global `global` before it is assigned.
    #[cold]
    pub(super) fn undefined_global(&self, global: u32) -> Raised {
        Raised::Message(format!("Undefined variable: {}", self.program.globals[global as usize].name))
    }

    /// Turns a raised error into the error value and transfers control to the innermost
    /// handler; `Err` when there is none.
    pub(super) fn unwind(&mut self, raised: Raised) -> Result<(), Uncaught> {
        let program = Rc::clone(&self.program);
        let message = match raised {
            Raised::Message(m) => m,
            Raised::Thrown(Value::Str(s)) => s.text.clone(),
            Raised::Thrown(Value::Struct(s)) if s.type_index == ERROR_STRUCT_TYPE => match s.get(SYM_MESSAGE) {
                Some(Value::Str(m)) => m.text.clone(),
                Some(other) => format::display(&program, &other).unwrap_or_else(|e| e),
                None => String::new(),
            },
            Raised::Thrown(other) => format::debug(&program, &other),
        };
        // Library frames are invisible: errors point at the user code that called them.
        let visible: Vec<&Frame> = self.frames.iter().filter(|f| !program.proto(f.proto).is_library).collect();
        let span = visible.last().map(|f| program.proto(f.proto).spans[f.pc.saturating_sub(1)]).unwrap_or_default();
        let file = visible.last().map_or(0, |f| program.proto(f.proto).file);
        let Some(handler) = self.handlers.pop() else {
            let stack = visible
                .iter()
                .map(|f| StackLine {
                    function: program.proto(f.proto).name.clone(),
                    line: program.proto(f.proto).spans[f.pc.saturating_sub(1)].line,
                    file: program.proto(f.proto).file,
                })
                .collect();
            return Err(Uncaught { message, file, span, stack });
        };
        let names: Vec<Value> = visible
            .iter()
            .skip(1)
            .map(|f| Value::Str(self.heap.alloc(StrObj::new(program.proto(f.proto).name.clone()))))
            .collect();
        let stack_array = self.heap.alloc(ArrayObj { items: names });
        let message = self.heap.alloc(StrObj::new(message));
        let fields = [
            (SYM_LINE, Value::Int(span.line as i64)),
            (SYM_MESSAGE, Value::Str(message)),
            (SYM_STACK, Value::Array(stack_array)),
        ];
        let error = new_struct(&mut self.heap, ERROR_STRUCT_TYPE, fields);
        self.frames.truncate(handler.frame + 1);
        self.stack[handler.err_slot] = Value::Struct(error);
        self.frames.last_mut().expect("the handler's frame is running").pc = handler.pc;
        Ok(())
    }
}
