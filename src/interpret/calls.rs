//! Calls and returns in the interpreter: pushing a Ruff function's frame (arguments
//! already in place), builtins, method calls with their receiver in slot 0, and delivering
//! a result to the caller.
//!
//! Invariant: a pushed frame's slots past its arguments (and receiver) are `Null`, so every
//! slot below the highest frame top is a valid root (see the module docs of `interpret`).

use std::cell::Cell;

use super::caches::{self, MethodAnswer};
use super::{window, Frame, Vm, WINDOW};
use crate::builtins::{self, Ctx};
use crate::compile::bytecode::{CacheEntry, Program, Proto, ProtoId};
use crate::runtime::access;
use crate::runtime::heap::Gc;
use crate::runtime::object::FuncObj;
use crate::runtime::symbol::Symbol;
use crate::runtime::value::{Relay, Value};

/// A method call's site: the method's name and the call's inline cache entry.
#[derive(Clone, Copy)]
pub(super) struct MethodSite<'a> {
    pub(super) name: Symbol,
    pub(super) cache: &'a Cell<CacheEntry>,
}

impl Vm {
    /// Pushes a frame for `proto` whose slots start at `base` (arguments already there).
    #[inline(always)]
    /// `callee` is `proto`'s prototype, looked up once by the caller, which holds the program
    /// apart from `self` (each lookup is a bounds check and a multiply on the call path).
    pub(super) fn push_frame(
        &mut self,
        proto: ProtoId,
        callee: &Proto,
        closure: Option<Gc<FuncObj>>,
        base: usize,
        argc: usize,
    ) -> Result<(), String> {
        if self.frames.len() > self.max_depth {
            return Err(self.depth_error(proto));
        }
        let (num_slots, is_method) = (callee.num_slots as usize, callee.is_method as usize);
        // The frame's window (`WINDOW`), which holds its slots: cleared through it, a
        // frame's slots (fewer than 2^16) need no bounds check.
        if self.stack.len() < base + WINDOW {
            self.grow_stack(base + WINDOW);
        }
        let first_unset = argc + is_method;
        for slot in &mut window(&mut self.stack, base)[first_unset.min(num_slots)..num_slots] {
            *slot = Value::Null;
        }
        self.frames.push(Frame { proto, closure, base, pc: 0 });
        self.counts.calls += 1;
        Ok(())
    }

    /// Makes the slot stack `len` slots long (new slots `Null`); out of line, as a frame
    /// rarely reaches past the windows `run` reserved.
    #[cold]
    #[inline(never)]
    fn grow_stack(&mut self, len: usize) {
        self.stack.resize(len, Value::Null);
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
    pub(super) fn call_value(
        &mut self,
        program: &Program,
        callee: Value,
        callee_slot: usize,
        argc: usize,
    ) -> Result<bool, String> {
        match callee {
            Value::Func(f) => {
                self.call_function(program, f, callee_slot, argc)?;
                Ok(true)
            }
            _ => self.call_other(callee, callee_slot, argc),
        }
    }

    /// Pushes the frame of a call of Ruff function `f`, held in `stack[callee_slot]`, with
    /// `argc` arguments above it.
    #[inline(always)]
    pub(super) fn call_function(
        &mut self,
        program: &Program,
        f: Gc<FuncObj>,
        callee_slot: usize,
        argc: usize,
    ) -> Result<(), String> {
        let callee = program.proto(f.proto);
        if callee.arity as usize != argc {
            return Err(self.arity_error(f.proto, argc));
        }
        self.push_frame(f.proto, callee, Some(f), callee_slot + 1, argc)
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
                // Relayed (`Relay`): the builtin has just written its result as tag and
                // payload, and a whole copy of it stalled (a third of `storage`'s time).
                let result = builtins::call(id, &mut ctx, args)?.relay();
                result.store(&mut self.stack[callee_slot]);
                Ok(false)
            }
            other => Err(format!("Cannot call non-function; got {}", other.type_name())),
        }
    }

    /// `receiver.name(args)` with the receiver in `stack[base + 1]`, lent to the call when
    /// `lent` (see `Instr::CallMethodLent`). `site.cache` is the call's inline cache entry:
    /// the method found for the type of the last receiver (`caches.rs`). `receiver_type` is the
    /// receiver's struct type, if it is a struct (the dispatch loop reads it from its
    /// window). The common case, a receiver of the type the site remembers a method for,
    /// pushes the method's frame inline; everything else is `call_method_other`.
    #[inline(always)]
    pub(super) fn call_method(
        &mut self,
        program: &Program,
        receiver_type: Option<u32>,
        base: usize,
        site: MethodSite,
        argc: usize,
        lent: bool,
    ) -> Result<bool, String> {
        if let Some(type_index) = receiver_type {
            if let MethodAnswer::Method(method) = caches::cached_method(site.cache, type_index) {
                self.push_method_frame(program, method, base, argc, lent)?;
                return Ok(true);
            }
        }
        self.call_method_other(program, base, site, argc, lent)
    }

    /// Pushes the frame of `method` called on the receiver in `stack[base + 1]`.
    #[inline(always)]
    fn push_method_frame(
        &mut self,
        program: &Program,
        method: ProtoId,
        base: usize,
        argc: usize,
        lent: bool,
    ) -> Result<(), String> {
        let callee = program.proto(method);
        if callee.arity as usize != argc {
            return Err(self.arity_error(method, argc));
        }
        if program.lent_receiver_to_share(method, lent) {
            self.stack[base + 1].mark_shared();
        }
        self.push_frame(method, callee, None, base + 1, argc)
    }

    /// [`Vm::call_method`] when the site has no method for the receiver's type: a method
    /// looked up in the type's table, a function stored in a field, or an error.
    #[inline(never)]
    fn call_method_other(
        &mut self,
        program: &Program,
        base: usize,
        site: MethodSite,
        argc: usize,
        lent: bool,
    ) -> Result<bool, String> {
        let Value::Struct(receiver) = self.stack[base + 1] else {
            return Err(format!(
                "Cannot call method {} on a value of type {}",
                self.program.symbols.name(site.name),
                self.stack[base + 1].type_name()
            ));
        };
        let type_index = receiver.type_index;
        let field_guess = match caches::cached_method(site.cache, type_index) {
            MethodAnswer::Method(method) => {
                self.push_method_frame(program, method, base, argc, lent)?;
                return Ok(true);
            }
            MethodAnswer::Field(position) => position,
            MethodAnswer::Unknown => {
                let found = self.program.struct_types[type_index as usize].methods.get(&site.name).copied();
                if let Some(method) = found {
                    caches::remember_method(site.cache, type_index, method);
                    self.push_method_frame(program, method, base, argc, lent)?;
                    return Ok(true);
                }
                0
            }
        };
        // A field holding a function is called like one.
        let position = receiver
            .position(site.name, field_guess)
            .ok_or_else(|| access::field_not_found(self.program.symbols.name(site.name)))?;
        caches::remember_field_callee(site.cache, type_index, position);
        let callee = receiver.fields[position].1;
        self.stack[base] = callee;
        self.stack.copy_within(base + 2..base + 2 + argc, base + 1);
        self.call_value(program, callee, base, argc)
    }

    /// Pops the current frame (and its handlers) and delivers `result` to the caller.
    #[inline(always)]
    pub(super) fn return_from_frame(&mut self, result: Relay) {
        let depth = self.frames.len() - 1;
        while self.handlers.last().is_some_and(|h| h.frame >= depth) {
            self.handlers.pop();
        }
        let frame = self.frames.pop().expect("a frame is running");
        result.store(&mut self.stack[frame.base - 1]);
    }
}
