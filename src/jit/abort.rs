//! Why a trace was not compiled: every abort reason, with the sentence the statistics
//! report and the trace log show for it. One table, as in LuaJIT's `lj_traceerr.h`.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AbortReason {
    /// A bytecode instruction the recorder cannot turn into IR yet.
    NyiInstruction(&'static str),
    /// A value of a type traces cannot hold yet (arrays, strings, ...).
    NyiValueType(&'static str),
    /// A call the recorder cannot follow (Ruff functions, non-math builtins).
    NyiCall(String),
    /// The recorded iteration went round inner loops more than
    /// `record::MAX_UNROLLED_ITERATIONS` times: the inner loop gets its own trace.
    InnerLoop,
    /// Inlining met a call of a function (named) already being inlined: a cycle of calls,
    /// which inlining cannot follow. A learning abort: the JIT notes the functions on the
    /// cycle as recursive, records their function traces, and the next recording calls
    /// them natively.
    RecursionFound(String),
    /// A call of a recursive function (named) that the trace must call natively, but that
    /// has no function trace yet: one is recorded at its next call, and the trace after.
    CalleeWithoutTrace(String),
    /// Calls nested deeper than `record::MAX_INLINE_DEPTH` inside one iteration.
    InlineTooDeep,
    /// The traced loop's function returned before the loop closed.
    LeftFunction,
    /// The loop exited during the recorded iteration.
    LoopExited,
    /// A runtime error was raised during the recorded iteration.
    ErrorRaised,
    /// More IR instructions than a trace may hold.
    TraceTooLong,
    /// The root trace already has `jit::MAX_SIDE_TRACES` side traces.
    TooManySideTraces,
    /// A full trace tree kept leaving native code before one iteration was done.
    TooManyPaths,
    Optimizer(String),
    Assembler(String),
    /// A root trace handed most iterations to side traces: it had recorded the less
    /// common side of a branch.
    RarePathRecorded,
    /// A compiled trace kept failing a type check before finishing an iteration: a value's
    /// type changed since recording.
    TraceRetired,
    /// A function trace's calls often left it through an exit no side trace continues
    /// from, which costs more than interpreting them.
    FunctionExitsOften,
}

impl AbortReason {
    /// Why the loop stays in the interpreter, in the program's terms (for `--jit-stats`).
    pub fn explanation(&self) -> String {
        match self {
            AbortReason::NyiInstruction(what) => format!("it uses {}, which traces do not support yet", what),
            AbortReason::NyiValueType(ty) => format!("it works on {} values, which traces cannot hold yet", ty),
            AbortReason::NyiCall(name) => format!("it calls {}, and traces cannot follow that call yet", name),
            AbortReason::InnerLoop => {
                "an inner loop runs too many iterations to unroll into its trace; the inner loop gets its own trace, which side traces and function traces jump into"
                    .into()
            }
            AbortReason::RecursionFound(name) => format!(
                "inlining its calls met {} calling itself (directly or through other functions); traces call {} natively once it has a function trace, which is recorded next",
                name, name
            ),
            AbortReason::CalleeWithoutTrace(name) => format!(
                "it calls {} recursively, which runs natively once {} has a function trace; that trace is recorded at its next call and this one after it",
                name, name
            ),
            AbortReason::InlineTooDeep => "its calls nest too deeply to inline into one trace".into(),
            AbortReason::LeftFunction => "it returns from its function in the middle of an iteration".into(),
            AbortReason::LoopExited => "the iteration being recorded left the loop".into(),
            AbortReason::ErrorRaised => "a runtime error was raised while an iteration was being recorded".into(),
            AbortReason::TraceTooLong => "one iteration is too long to trace".into(),
            AbortReason::TooManySideTraces => "its trace has as many side traces as one trace may have".into(),
            AbortReason::TooManyPaths => {
                "it takes more different paths than its trace and side traces cover, so native code kept handing iterations back to the interpreter; it stays interpreted".into()
            }
            AbortReason::Optimizer(why) | AbortReason::Assembler(why) => {
                format!("the JIT could not compile it ({})", why)
            }
            AbortReason::TraceRetired => {
                "a value changed type after the loop was compiled, so its trace kept leaving native code at once; the loop is recorded again with the new types".into()
            }
            AbortReason::RarePathRecorded => {
                "its trace had followed the less common side of a branch, so the loop was recorded again".into()
            }
            AbortReason::FunctionExitsOften => {
                "many calls left its trace where no side trace could continue, so it runs in the interpreter".into()
            }
        }
    }
}

impl fmt::Display for AbortReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbortReason::NyiInstruction(what) => write!(f, "NYI: {}", what),
            AbortReason::NyiValueType(ty) => write!(f, "NYI: {} values on trace", ty),
            AbortReason::NyiCall(name) => write!(f, "NYI: call to {}", name),
            AbortReason::InnerLoop => write!(f, "inner loop too long to unroll (it gets its own trace)"),
            AbortReason::RecursionFound(name) => {
                write!(f, "recursion of {} found while inlining (its function trace is recorded first)", name)
            }
            AbortReason::CalleeWithoutTrace(name) => {
                write!(f, "recursive call of {}, which has no function trace yet", name)
            }
            AbortReason::InlineTooDeep => write!(f, "calls nested too deeply to inline"),
            AbortReason::LeftFunction => write!(f, "loop left in root trace (function returned)"),
            AbortReason::LoopExited => write!(f, "loop exited while recording"),
            AbortReason::ErrorRaised => write!(f, "runtime error raised while recording"),
            AbortReason::TraceTooLong => write!(f, "trace too long"),
            AbortReason::TooManySideTraces => write!(f, "side trace limit of its root trace reached"),
            AbortReason::TooManyPaths => write!(f, "too many paths for one trace tree (retired)"),
            AbortReason::Optimizer(why) => write!(f, "optimizer: {}", why),
            AbortReason::Assembler(why) => write!(f, "assembler: {}", why),
            AbortReason::RarePathRecorded => {
                write!(f, "trace retired and recorded again: most iterations left it for side traces")
            }
            AbortReason::FunctionExitsOften => {
                write!(f, "function trace retired: calls often left it where no side trace continues")
            }
            AbortReason::TraceRetired => {
                write!(f, "trace retired and recorded again: a value changed type since it was recorded, so the trace kept exiting at once")
            }
        }
    }
}
