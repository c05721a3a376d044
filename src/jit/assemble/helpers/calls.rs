//! The helpers through which native code calls builtins and residual functions (`CALLB`,
//! `CALLR`, `CALLE`): the one-word description of a call ([`BuiltinCall`]), the boxing of
//! its arguments, and the verdict the emitted code reads back (`ExitState::must_exit`).
//! The builtin itself runs through `builtins::call`, as in the interpreter.

use super::*;

/// How the emitted code describes a `CALLB` to [`call_builtin`] (or a `CALLR` to
/// [`call_residual`]): the builtin (or the residual function's code), the number of
/// arguments (or [`SPREAD_ARGUMENTS`]), their tags and the tag the result must have, in
/// one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BuiltinCall {
    pub(crate) builtin: u32,
    pub(crate) argc: u8,
    pub(crate) arg_tags: [u8; MAX_BUILTIN_ARGS],
    pub(crate) result_tag: u8,
}

/// `BuiltinCall::argc` of a spread call (`ir::BuiltinArgs::spread`): one argument, an
/// array holding the arguments.
pub(crate) const SPREAD_ARGUMENTS: u8 = u8::MAX;

impl BuiltinCall {
    pub(crate) fn encode(self) -> u64 {
        let tags = self.arg_tags.iter().enumerate().fold(0u64, |word, (n, &tag)| word | (tag as u64) << (8 * n));
        tags | (self.result_tag as u64) << 24 | (self.argc as u64) << 32 | (self.builtin as u64) << 40
    }

    fn decode(word: u64) -> BuiltinCall {
        let byte = |n: u32| (word >> (8 * n)) as u8;
        BuiltinCall {
            builtin: (word >> 40) as u32,
            argc: byte(4),
            arg_tags: [byte(0), byte(1), byte(2)],
            result_tag: byte(3),
        }
    }
}

/// `CALLB`: calls a builtin through `builtins::call`, as the interpreter does, on the
/// arguments whose payload bits are `payloads` (tags in the encoded `call`). Returns the
/// result's payload bits; sets `state.must_exit` when the builtin raised an error, its
/// result has another tag than `call`'s, or the heap now wants a collection (the exit
/// lets the interpreter make the call again).
pub(crate) fn call_builtin(call: u64, payloads: [u64; MAX_BUILTIN_ARGS], state: *mut ExitState) -> u64 {
    // Builtins a trace calls write no output and read no clock (`builtins::is_repeatable`).
    call_on_values(call, payloads, state, |ctx, builtin, args| builtins::call(builtin, ctx, args))
}

/// `CALLR`: runs the residual function (`jit::residual`) coded in `call` on the arguments,
/// with the same conventions as [`call_builtin`].
/// A function that updates a literal in place (`Residual::in_place`) runs only when no
/// collection is due, and exits afterwards only when it failed (before changing anything).
pub(crate) fn call_residual(call: u64, payloads: [u64; MAX_BUILTIN_ARGS], state: *mut ExitState) -> u64 {
    let Some(function) = Residual::from_code(BuiltinCall::decode(call).builtin) else {
        unreachable!("the emitter passes the code of a residual function");
    };
    if !function.in_place() {
        return call_on_values(call, payloads, state, |ctx, _, args| function.run(ctx.heap, ctx.program, args));
    }
    if collection_due(state) {
        // SAFETY: as in `scalar_to_string`.
        unsafe { (*state).must_exit = 1 };
        return 0;
    }
    let (bits, _) = run_on_values(call, payloads, state, |ctx, _, args| function.run(ctx.heap, ctx.program, args));
    // A failure changed nothing; a collection due now waits for the next allocation.
    // SAFETY: as in `scalar_to_string`.
    unsafe { (*state).must_exit = bits.is_none() as u64 };
    bits.unwrap_or(0)
}

/// Boxes the arguments of a `CALLB` or `CALLR` described by `call`, runs `run` on them
/// (with the callee number from `call`), and returns the result's payload bits, setting
/// `state.must_exit` when it failed, has another tag than `call`'s, or left the heap
/// wanting a collection.
fn call_on_values(
    call: u64,
    payloads: [u64; MAX_BUILTIN_ARGS],
    state: *mut ExitState,
    run: impl FnOnce(&mut Ctx, u32, &[Value]) -> Result<Value, String>,
) -> u64 {
    let (bits, collection_due) = run_on_values(call, payloads, state, run);
    // SAFETY: as in `scalar_to_string`.
    unsafe { (*state).must_exit = (bits.is_none() || collection_due) as u64 };
    bits.unwrap_or(0)
}

/// [`call_on_values`] without the verdict: the result's payload bits (`None` when it
/// failed or has another tag than `call`'s) and whether the heap now wants a collection.
fn run_on_values(
    call: u64,
    payloads: [u64; MAX_BUILTIN_ARGS],
    state: *mut ExitState,
    run: impl FnOnce(&mut Ctx, u32, &[Value]) -> Result<Value, String>,
) -> (Option<u64>, bool) {
    let call = BuiltinCall::decode(call);
    // SAFETY: as in `scalar_to_string`.
    let (state, heap, program) = unsafe { (&mut *state, &mut *(*state).heap, &*(*state).program) };
    // Builtins a trace calls write no output and read no clock (`builtins::is_repeatable`).
    let mut ctx = Ctx { heap, program, out: &mut std::io::sink(), start_time: state.start_time };
    let result = with_arguments(&call, payloads, |args| run(&mut ctx, call.builtin, args));
    let bits = match result {
        Ok(value) if value.tag() as u8 == call.result_tag => register_bits(value),
        _ => None,
    };
    (bits, ctx.heap.wants_collection())
}

/// `CALLE`: calls a builtin with an effect through `builtins::call` as the interpreter
/// does, with the program's own output and clock (`ExitState::out`, `start_time`), on
/// the arguments whose payload bits are `payloads` (tags in the encoded `call`). When it
/// fails (before its effect), sets `state.must_exit` to 1: the guard exits before the
/// call. Otherwise stores the result in `state.call_result`, which the emitted code copies
/// into the call's slot, and sets `must_exit` to 2 when its tag is not `call`'s or the
/// heap now wants a collection: `ECHECK` then exits after the call. Returns the result's
/// payload bits (0 when it has none in a register).
pub(crate) extern "sysv64" fn call_effect(call: u64, a: u64, b: u64, c: u64, state: *mut ExitState) -> u64 {
    let call = BuiltinCall::decode(call);
    // SAFETY: as in `scalar_to_string`; `out` was set from the interpreter's output at the
    // entry into native code, and nothing else uses it while native code runs.
    let (state, heap, program, out) =
        unsafe { (&mut *state, &mut *(*state).heap, &*(*state).program, &mut *(*state).out) };
    let mut ctx = Ctx { heap, program, out, start_time: state.start_time };
    match with_arguments(&call, [a, b, c], |args| builtins::call_from_trace(call.builtin, &mut ctx, args)) {
        Err(_) => {
            state.must_exit = 1;
            0
        }
        Ok(value) => {
            let expected = value.tag() as u8 == call.result_tag;
            state.call_result = value;
            state.must_exit = if expected && !ctx.heap.wants_collection() { 0 } else { 2 };
            register_bits(value).filter(|_| expected).unwrap_or(0)
        }
    }
}

/// `CALLE` of a builtin whose result is a float (see `call_effect`).
pub(crate) extern "sysv64" fn call_effect_float(call: u64, a: u64, b: u64, c: u64, state: *mut ExitState) -> f64 {
    f64::from_bits(call_effect(call, a, b, c, state))
}

/// Runs `run` on the values of a call's arguments, from their tags in `call` and their
/// payload bits, or for a spread call the elements of its array.
fn with_arguments<R>(call: &BuiltinCall, payloads: [u64; MAX_BUILTIN_ARGS], run: impl FnOnce(&[Value]) -> R) -> R {
    if call.argc == SPREAD_ARGUMENTS {
        // SAFETY: a spread call's argument is an array the trace allocated for the call
        // (`Recorder::call_arguments`); no collection runs while native code does.
        let array = unsafe { Gc::<ArrayObj>::from_address(payloads[0] as usize) };
        let args = array.items.clone();
        return run(&args);
    }
    let mut args = [Value::Null; MAX_BUILTIN_ARGS];
    for (n, arg) in args.iter_mut().enumerate().take(call.argc as usize) {
        *arg = value_of(call.arg_tags[n] as u64, payloads[n]);
    }
    run(&args[..call.argc as usize])
}

/// `CALLR` of a function whose result is a bool, string or enum value (see `call_residual`).
pub(crate) extern "sysv64" fn call_residual_bits(call: u64, a: u64, b: u64, c: u64, state: *mut ExitState) -> u64 {
    call_residual(call, [a, b, c], state)
}

/// `CALLB` of a builtin whose result is an int, bool, null or object (see `call_builtin`).
pub(crate) extern "sysv64" fn call_builtin_bits(call: u64, a: u64, b: u64, c: u64, state: *mut ExitState) -> u64 {
    call_builtin(call, [a, b, c], state)
}

/// `CALLB` of a builtin whose result is a float (see `call_builtin`).
pub(crate) extern "sysv64" fn call_builtin_float(call: u64, a: u64, b: u64, c: u64, state: *mut ExitState) -> f64 {
    f64::from_bits(call_builtin(call, [a, b, c], state))
}
