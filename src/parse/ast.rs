//! The abstract syntax tree: what the parser produces and the compiler consumes.
//!
//! Terms: every node that can fail at run time carries a [`Span`] (line and column of the
//! token a runtime error should point at). Sequences that the grammar allows to grow without
//! bound on one nesting level (operator chains, postfix chains, unary prefixes, `else if`
//! chains) are flat vectors, never nested nodes, so that walking or dropping a tree costs
//! native stack only in proportion to the bracket nesting of the source, which the parser
//! bounds.

/// A 1-based source position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub line: u32,
    pub col: u32,
}

pub type Block = Vec<Stmt>;

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub span: Span,
    pub kind: StmtKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclKind {
    Let,
    Mut,
    Const,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignOp {
    /// `=` or `:=` (identical meaning)
    Set,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TargetStep {
    Field(String, Span),
    Index(Expr, Span),
}

/// `name`, `name.f`, `name[i]`, `name[i].f[j]`, ...
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub name: String,
    pub span: Span,
    pub path: Vec<TargetStep>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FuncDecl {
    /// `None` for an anonymous `func (...) { }` expression.
    pub name: Option<String>,
    pub span: Span,
    pub params: Vec<Param>,
    pub body: Block,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StructDecl {
    pub name: String,
    pub fields: Vec<String>,
    pub methods: Vec<FuncDecl>,
}

/// A `case` pattern. `Ok`, `Some(x)`, `Result::Ok(v)`, `Shape::Circle(r)` are tag patterns;
/// a bare identifier other than `Ok`/`Err`/`Some`/`None` is [`Pattern::Str`] and matches
/// the string with that text.
#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    Tag {
        /// `Some("Shape")` for `Shape::Circle`, `None` for a bare `Ok`.
        enum_name: Option<String>,
        tag: String,
        binding: Option<(String, Span)>,
    },
    Str(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct MatchCase {
    pub span: Span,
    pub pattern: Pattern,
    pub body: Block,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    Decl {
        kind: DeclKind,
        name: String,
        value: Expr,
    },
    Assign {
        target: Target,
        op: AssignOp,
        value: Expr,
    },
    Func(FuncDecl),
    Struct(StructDecl),
    Enum {
        name: String,
        variants: Vec<String>,
    },
    /// `if c1 {..} else if c2 {..} else {..}`: one entry per condition, in order.
    If {
        branches: Vec<(Expr, Block)>,
        else_block: Option<Block>,
    },
    While {
        cond: Expr,
        body: Block,
    },
    Loop {
        body: Block,
    },
    For {
        var: String,
        var_span: Span,
        iter: Expr,
        body: Block,
    },
    Break,
    Continue,
    Return(Option<Expr>),
    /// Cases in source order; `default` wherever it appeared.
    Match {
        subject: Expr,
        cases: Vec<MatchCase>,
        default: Option<Block>,
    },
    Try {
        body: Block,
        err_name: String,
        handler: Block,
    },
    Expr(Expr),
    /// Only at the top level of a file.
    Import(Import),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    Coalesce,
    /// `x |> f` is `f(x)`
    Pipe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InterpPart {
    Lit(String),
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArrayItem {
    Item(Expr),
    Spread(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum DictItem {
    Pair(Expr, Expr),
    Spread(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum PostfixOp {
    Call(Vec<Expr>),
    Index(Expr),
    Field(String),
    Method(String, Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub span: Span,
    pub kind: ExprKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(String),
    /// A string literal containing `${...}`.
    Interp(Vec<InterpPart>),
    Bool(bool),
    Null,
    Name(String),
    SelfRef,
    Array(Vec<ArrayItem>),
    Dict(Vec<DictItem>),
    Func(Box<FuncDecl>),
    Ok(Box<Expr>),
    Err(Box<Expr>),
    Some(Box<Expr>),
    None,
    /// `Enum::Variant` (args `None`) or `Enum::Variant(a, b)`.
    EnumVariant {
        enum_name: String,
        variant: String,
        args: Option<Vec<Expr>>,
    },
    Throw(Box<Expr>),
    StructLit {
        name: String,
        fields: Vec<(String, Expr)>,
    },
    /// Prefix operators applied right to left: `-!x` is `ops = [Neg, Not]`.
    Unary {
        ops: Vec<(UnOp, Span)>,
        operand: Box<Expr>,
    },
    /// A left-associative chain of one precedence level: `first op1 e1 op2 e2 ...`.
    /// Each span is the operator's position.
    Binary {
        first: Box<Expr>,
        rest: Vec<(BinOp, Span, Expr)>,
    },
    /// `base` followed by calls, indexes, fields and method calls, applied left to right.
    /// Each span is the position of the operation's token (`(`, `[`, `.`).
    Postfix {
        base: Box<Expr>,
        ops: Vec<(PostfixOp, Span)>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub stmts: Block,
    /// Names declared with `export`, with the position of their declaration.
    pub exports: Vec<(String, Span)>,
}

/// `import a.b.c` (`names` is `None`: `c.x` names export `x`) or
/// `from a.b.c import x, y` (LANGUAGE.md 18.1).
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// The dotted path, one identifier per part.
    pub path: Vec<String>,
    pub names: Option<Vec<(String, Span)>>,
}

impl Import {
    /// The dotted path as written: `a.b.c`.
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }
}
