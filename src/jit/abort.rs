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
    /// The recorded iteration entered another loop; that loop gets its own trace.
    InnerLoop,
    /// The traced loop's function returned before the loop closed.
    LeftFunction,
    /// The loop exited during the recorded iteration.
    LoopExited,
    /// A runtime error was raised during the recorded iteration.
    ErrorRaised,
    /// More IR instructions than a trace may hold.
    TraceTooLong,
    Optimizer(String),
    Assembler(String),
    /// A compiled trace kept failing a type check before finishing an iteration: a value's
    /// type changed since recording.
    TraceRetired,
}

impl fmt::Display for AbortReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AbortReason::NyiInstruction(what) => write!(f, "NYI: {}", what),
            AbortReason::NyiValueType(ty) => write!(f, "NYI: {} values on trace", ty),
            AbortReason::NyiCall(name) => write!(f, "NYI: call to {}", name),
            AbortReason::InnerLoop => write!(f, "inner loop in root trace (it gets its own trace)"),
            AbortReason::LeftFunction => write!(f, "loop left in root trace (function returned)"),
            AbortReason::LoopExited => write!(f, "loop exited while recording"),
            AbortReason::ErrorRaised => write!(f, "runtime error raised while recording"),
            AbortReason::TraceTooLong => write!(f, "trace too long"),
            AbortReason::Optimizer(why) => write!(f, "optimizer: {}", why),
            AbortReason::Assembler(why) => write!(f, "assembler: {}", why),
            AbortReason::TraceRetired => {
                write!(f, "trace retired and recorded again: a value changed type since it was recorded, so the trace kept exiting at once")
            }
        }
    }
}
