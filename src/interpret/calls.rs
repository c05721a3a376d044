//! Calls and returns in the interpreter: pushing a Ruff function's frame (arguments
//! already in place), builtins, method calls with their receiver in slot 0, and delivering
//! a result to the caller.
//!
//! Invariant: a pushed frame's slots past its arguments (and receiver) are `Null`, so every
//! slot below the highest frame top is a valid root (see the module docs of `interpret`).

use std::cell::Cell;

use super::caches::{self, MethodAnswer};
use super::{Frame, Vm, WINDOW};
use crate::builtins::{self, Ctx};
use crate::compile::bytecode::{CacheEntry, ProtoId};
use crate::runtime::access;
use crate::runtime::heap::Gc;
use crate::runtime::object::FuncObj;
use crate::runtime::symbol::Symbol;
use crate::runtime::value::Value;

impl Vm {
    /// Pushes a frame for `proto` whose slots start at `base` (arguments already there).
    #[inline(always)]
    pub(super) fn push_frame(
        &mut self,
        proto: ProtoId,
        closure: Option<Gc<FuncObj>>,
        base: usize,
        argc: usize,
    ) -> Result<(), String> {
        let callee = self.program.proto(proto);
        if self.frames.len() > self.max_depth {
            return Err(self.depth_error(proto));
        }
        let top = base + callee.num_slots as usize;
        // The frame's window (`WINDOW`), which holds its slots.
        if self.stack.len() < base + WINDOW {
            self.stack.resize(base + WINDOW, Value::Null);
        }
        let first_unset = base + argc + callee.is_method as usize;
        for slot in &mut self.stack[first_unset.min(top)..top] {
            *slot = Value::Null;
        }
        self.frames.push(Frame { proto, closure, base, pc: 0 });
        self.counts.calls += 1;
        Ok(())
    }

    #[cold]
    pub(super) fn depth_error(&self, proto: ProtoId) -> String {
        let callee = self.program.proto(proto);
        format!("Maximum call stack depth of {} exceeded while calling {}", self.max_depth, callee.name)
    }

    #[cold]
    pub(super) fn arity_error(&self, proto: ProtoId, argc: usize) -> String {
        let p = self.program.proto(proto);
        format!("{} expects {} arguments, got {}", p.name, p.arity, argc)
    }

    /// Calls `callee`, the value in `stack[callee_slot]` (the caller reads it from its
    /// window, with no bounds check), with `argc` arguments above it. Either pushes a Ruff
    /// frame (`Ok(true)`) or completes a builtin call (`Ok(false)`). A call of a Ruff
    /// function is set up inline (the dispatch loop's common case).
    #[inline(always)]
    pub(super) fn call_value(&mut self, callee: Value, callee_slot: usize, argc: usize) -> Result<bool, String> {
        match callee {
            Value::Func(f) => {
                if self.program.proto(f.proto).arity as usize != argc {
                    return Err(self.arity_error(f.proto, argc));
                }
                self.push_frame(f.proto, Some(f), callee_slot + 1, argc)?;
                Ok(true)
            }
            _ => self.call_other(callee, callee_slot, argc),
        }
    }

    /// `call_value` of a builtin (completed here) or of a value that is not a function.
    #[inline(never)]
    pub(super) fn call_other(&mut self, callee: Value, callee_slot: usize, argc: usize) -> Result<bool, String> {
        match callee {
            Value::Builtin(id) => {
                let mut ctx = Ctx {
                    heap: &mut self.heap,
                    program: &self.program,
                    out: &mut self.out,
                    start_time: self.start_time,
                };
                let args = &self.stack[callee_slot + 1..callee_slot + 1 + argc];
                let result = builtins::call(id, &mut ctx, args)?;
                self.stack[callee_slot] = result;
                Ok(false)
            }
            other => Err(format!("Cannot call non-function; got {}", other.type_name())),
        }
    }

    /// `receiver.name(args)` with the receiver in `stack[base + 1]`, lent to the call when
    /// `lent` (see `Instr::CallMethodLent`). `site` is the call's inline cache entry: the
    /// method found for the type of the last receiver (`caches.rs`).
    pub(super) fn call_method(
        &mut self,
        base: usize,
        name: Symbol,
        argc: usize,
        lent: bool,
        site: &Cell<CacheEntry>,
    ) -> Result<bool, String> {
        let Value::Struct(receiver) = self.stack[base + 1] else {
            return Err(format!(
                "Cannot call method {} on a value of type {}",
                self.program.symbols.name(name),
                self.stack[base + 1].type_name()
            ));
        };
        let type_index = receiver.type_index;
        let (method, field_guess) = match caches::cached_method(site, type_index) {
            MethodAnswer::Method(method) => (Some(method), 0),
            MethodAnswer::Field(position) => (None, position),
            MethodAnswer::Unknown => {
                let found = self.program.struct_types[type_index as usize].methods.get(&name).copied();
                if let Some(method) = found {
                    caches::remember_method(site, type_index, method);
                }
                (found, 0)
            }
        };
        if let Some(method) = method {
            if self.program.proto(method).arity as usize != argc {
                return Err(self.arity_error(method, argc));
            }
            if self.program.lent_receiver_to_share(method, lent) {
                self.stack[base + 1].mark_shared();
            }
            self.push_frame(method, None, base + 1, argc)?;
            return Ok(true);
        }
        // A field holding a function is called like one.
        let position = receiver
            .position(name, field_guess)
            .ok_or_else(|| access::field_not_found(self.program.symbols.name(name)))?;
        caches::remember_field_callee(site, type_index, position);
        let callee = receiver.fields[position].1;
        self.stack[base] = callee;
        self.stack.copy_within(base + 2..base + 2 + argc, base + 1);
        self.call_value(callee, base, argc)
    }

    /// Pops the current frame (and its handlers) and delivers `result` to the caller.
    pub(super) fn return_from_frame(&mut self, result: Value) {
        let depth = self.frames.len() - 1;
        while self.handlers.last().is_some_and(|h| h.frame >= depth) {
            self.handlers.pop();
        }
        let frame = self.frames.pop().expect("a frame is running");
        self.stack[frame.base - 1] = result;
    }
}
