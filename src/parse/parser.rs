//! pest pairs to AST.
//!
//! The grammar keeps operator chains flat (see `grammar.pest`), and this converter keeps
//! them flat too: binary precedence is applied with an explicit stack, unary prefixes and
//! postfix operations are collected in loops, and `else if` chains are iterated. The only
//! recursion is through brackets, which the pre-scan bounds.

use std::iter::Peekable;

use pest::iterators::{Pair, Pairs};
use pest_derive::Parser;

use crate::parse::ast::*;
use crate::parse::position::Positions;
use crate::parse::SyntaxError;

#[derive(Parser)]
#[grammar = "parse/grammar.pest"]
pub(crate) struct RuffGrammar;

type Result<T> = std::result::Result<T, SyntaxError>;

/// Converts a successful parse of [`Rule::program`] to the AST.
pub(crate) fn program(source: &str, program: Pair<'_, Rule>) -> Result<Program> {
    let mut converter = Converter { positions: Positions::new(source), exports: Vec::new() };
    let stmts = converter.statements(program.into_inner())?;
    Ok(Program { stmts, exports: converter.exports })
}

struct Converter<'s> {
    positions: Positions<'s>,
    exports: Vec<(String, Span)>,
}

impl Converter<'_> {
    fn span(&mut self, pair: &Pair<'_, Rule>) -> Span {
        self.positions.span(pair.as_span().start())
    }

    // ----------------------------------------------------------------------------------
    // Statements

    /// The statements among `pairs` (a block's or the program's children; `;` and
    /// `EOI` leave no statement).
    fn statements(&mut self, pairs: Pairs<'_, Rule>) -> Result<Block> {
        pairs.filter(|pair| pair.as_rule() != Rule::EOI).map(|pair| self.statement(pair)).collect()
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Result<Block> {
        debug_assert_eq!(pair.as_rule(), Rule::block);
        self.statements(pair.into_inner())
    }

    fn statement(&mut self, pair: Pair<'_, Rule>) -> Result<Stmt> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut parts = pair.into_inner();
        let kind = match rule {
            Rule::decl => self.declaration(parts)?,
            Rule::func_decl => StmtKind::Func(self.function(span, parts)?),
            Rule::struct_decl => self.struct_declaration(parts)?,
            Rule::enum_decl => {
                let name = next(&mut parts).as_str().to_owned();
                let variants = parts.map(|variant| variant.as_str().to_owned()).collect();
                StmtKind::Enum { name, variants }
            }
            Rule::if_stmt => self.if_statement(parts)?,
            Rule::while_stmt | Rule::loop_stmt => {
                let first = next(&mut parts);
                if first.as_rule() == Rule::block {
                    StmtKind::Loop { body: self.block(first)? }
                } else {
                    let cond = self.expr(first)?;
                    let body = self.block(next(&mut parts))?;
                    StmtKind::While { cond, body }
                }
            }
            Rule::for_stmt => {
                let var = next(&mut parts);
                let var_span = self.span(&var);
                let iter = self.expr(next(&mut parts))?;
                let body = self.block(next(&mut parts))?;
                StmtKind::For { var: var.as_str().to_owned(), var_span, iter, body }
            }
            Rule::break_stmt => StmtKind::Break,
            Rule::continue_stmt => StmtKind::Continue,
            Rule::return_stmt => match parts.next() {
                Some(value) => StmtKind::Return(Some(self.whole_expr(value)?)),
                None => StmtKind::Return(None),
            },
            Rule::match_stmt => self.match_statement(parts)?,
            Rule::try_stmt => {
                let body = self.block(next(&mut parts))?;
                let err_name = next(&mut parts).as_str().to_owned();
                let handler = self.block(next(&mut parts))?;
                StmtKind::Try { body, err_name, handler }
            }
            Rule::expr_stmt => self.expression_statement(parts)?,
            Rule::import_stmt | Rule::from_import => {
                let path = next(&mut parts).into_inner().map(|part| part.as_str().to_owned()).collect();
                let names = (rule == Rule::from_import)
                    .then(|| parts.map(|name| (name.as_str().to_owned(), self.span(&name))).collect());
                StmtKind::Import(Import { path, names })
            }
            Rule::export_decl => {
                let declaration = self.statement(next(&mut parts))?;
                let name = match &declaration.kind {
                    StmtKind::Decl { name, .. } | StmtKind::Enum { name, .. } => name.clone(),
                    StmtKind::Func(decl) => decl.name.clone().unwrap_or_default(),
                    StmtKind::Struct(decl) => decl.name.clone(),
                    _ => unreachable!("export stands only before declarations"),
                };
                self.exports.push((name, declaration.span));
                return Ok(declaration);
            }
            other => unreachable!("not a statement rule: {other:?}"),
        };
        Ok(Stmt { span, kind })
    }

    fn declaration(&mut self, mut parts: Pairs<'_, Rule>) -> Result<StmtKind> {
        let kind = match next(&mut parts).as_str() {
            "let" => DeclKind::Let,
            "mut" => DeclKind::Mut,
            _ => DeclKind::Const,
        };
        let name = next(&mut parts).as_str().to_owned();
        let value = self.whole_expr(skip_type(&mut parts))?;
        Ok(StmtKind::Decl { kind, name, value })
    }

    /// `parts` continue after `func` (and the name, for a declaration): the parameter
    /// list, an optional return type and the body.
    fn function(&mut self, span: Span, mut parts: Pairs<'_, Rule>) -> Result<FuncDecl> {
        let mut first = next(&mut parts);
        let name = if first.as_rule() == Rule::ident {
            let name = first.as_str().to_owned();
            first = next(&mut parts);
            Some(name)
        } else {
            None
        };
        let params = first
            .into_inner()
            .map(|param| {
                let name = next(&mut param.into_inner());
                Param { name: name.as_str().to_owned(), span: self.span(&name) }
            })
            .collect();
        let body = self.block(skip_type(&mut parts))?;
        Ok(FuncDecl { name, span, params, body })
    }

    fn struct_declaration(&mut self, mut parts: Pairs<'_, Rule>) -> Result<StmtKind> {
        let name = next(&mut parts).as_str().to_owned();
        let mut fields = Vec::new();
        let mut methods = Vec::new();
        for member in parts {
            let span = self.span(&member);
            match member.as_rule() {
                Rule::func_decl => methods.push(self.function(span, member.into_inner())?),
                Rule::struct_field => {
                    fields.push(next(&mut member.into_inner()).as_str().to_owned());
                }
                other => unreachable!("not a struct member: {other:?}"),
            }
        }
        Ok(StmtKind::Struct(StructDecl { name, fields, methods }))
    }

    /// Children: `cond block` once per `if` / `else if`, then an optional `else` block.
    fn if_statement(&mut self, mut parts: Pairs<'_, Rule>) -> Result<StmtKind> {
        let mut branches = Vec::new();
        let mut else_block = None;
        while let Some(part) = parts.next() {
            if part.as_rule() == Rule::block {
                else_block = Some(self.block(part)?);
            } else {
                let cond = self.expr(part)?;
                branches.push((cond, self.block(next(&mut parts))?));
            }
        }
        Ok(StmtKind::If { branches, else_block })
    }

    fn match_statement(&mut self, mut parts: Pairs<'_, Rule>) -> Result<StmtKind> {
        let subject = self.expr(next(&mut parts))?;
        let mut cases = Vec::new();
        let mut default = None;
        for case in parts {
            let span = self.span(&case);
            let rule = case.as_rule();
            let mut case_parts = case.into_inner();
            if rule == Rule::default_case {
                if default.is_some() {
                    return Err(error_at(span, "Duplicate 'default' case in match"));
                }
                default = Some(self.block(next(&mut case_parts))?);
            } else {
                let pattern = self.pattern(next(&mut case_parts))?;
                let body = self.block(next(&mut case_parts))?;
                cases.push(MatchCase { span, pattern, body });
            }
        }
        Ok(StmtKind::Match { subject, cases, default })
    }

    /// `Ok`, `Some(x)`, `Result::Ok(v)`, `Shape::Circle(r)` are tags; any other bare
    /// identifier matches the string with its text (LANGUAGE.md 13).
    fn pattern(&mut self, pair: Pair<'_, Rule>) -> Result<Pattern> {
        let mut words = Vec::with_capacity(2);
        let mut binding = None;
        for part in pair.into_inner() {
            if part.as_rule() == Rule::pattern_binding {
                let name = next(&mut part.into_inner());
                binding = Some((name.as_str().to_owned(), self.span(&name)));
            } else {
                words.push(part.as_str().to_owned());
            }
        }
        let mut words = words.into_iter();
        let first = words.next().expect("grammar guarantees a pattern starts with a name");
        if let Some(tag) = words.next() {
            return Ok(Pattern::Tag { enum_name: Some(first), tag, binding });
        }
        if matches!(first.as_str(), "Ok" | "Err" | "Some" | "None") {
            return Ok(Pattern::Tag { enum_name: None, tag: first, binding });
        }
        match binding {
            Some((_, span)) => Err(error_at(
                span,
                format!(
                    "Pattern '{first}' matches a string and cannot bind a value; \
                     only enum tags (Ok, Some, Enum::Variant, ...) can"
                ),
            )),
            None => Ok(Pattern::Str(first)),
        }
    }

    /// An expression statement, or an assignment when an `assign_op` follows.
    fn expression_statement(&mut self, mut parts: Pairs<'_, Rule>) -> Result<StmtKind> {
        let first = next(&mut parts);
        let Some(op) = parts.next() else {
            return Ok(StmtKind::Expr(self.whole_expr(first)?));
        };
        let target = self.target(first)?;
        let op = match op.as_str() {
            "+=" => AssignOp::Add,
            "-=" => AssignOp::Sub,
            "*=" => AssignOp::Mul,
            "/=" => AssignOp::Div,
            "%=" => AssignOp::Mod,
            _ => AssignOp::Set,
        };
        let value = self.whole_expr(next(&mut parts))?;
        Ok(StmtKind::Assign { target, op, value })
    }

    /// Checks that an assigned expression is `NAME { "." NAME | "[" expr "]" }` and
    /// converts it. The grammar parses it as an ordinary expression (see `expr_stmt`).
    fn target(&mut self, pair: Pair<'_, Rule>) -> Result<Target> {
        let mut parts = pair.clone().into_inner();
        let name = next(&mut parts);
        if name.as_rule() != Rule::ident {
            return Err(error_at(
                self.span(&pair),
                "Invalid assignment target: an assignment must start with a variable name",
            ));
        }
        let span = self.span(&name);
        let mut path = Vec::new();
        for step in parts {
            let step_span = self.span(&step);
            let rule = step.as_rule();
            let mut step_parts = step.into_inner();
            match rule {
                Rule::index => {
                    path.push(TargetStep::Index(self.expr(next(&mut step_parts))?, step_span));
                }
                Rule::member => {
                    let field = next(&mut step_parts);
                    if step_parts.next().is_some() {
                        return Err(error_at(step_span, "Invalid assignment target: cannot assign to a method call"));
                    }
                    path.push(TargetStep::Field(field.as_str().to_owned(), step_span));
                }
                Rule::call_args => {
                    return Err(error_at(step_span, "Invalid assignment target: cannot assign to a call"));
                }
                _ => {
                    return Err(error_at(
                        step_span,
                        "Invalid assignment target: only a variable, a field or an index can \
                         be assigned",
                    ));
                }
            }
        }
        Ok(Target { name: name.as_str().to_owned(), span, path })
    }

    // ----------------------------------------------------------------------------------
    // Expressions

    /// A `throw_expr` or `expr` pair: the positions that accept a whole expression.
    fn whole_expr(&mut self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::throw_expr => {
                let value = self.whole_expr(next(&mut pair.into_inner()))?;
                Ok(Expr { span, kind: ExprKind::Throw(Box::new(value)) })
            }
            _ => self.expr(pair),
        }
    }

    /// An `expr`, `eq_expr` or `postfix_expr` pair: operands separated by binary
    /// operators, combined into one [`ExprKind::Binary`] per precedence level.
    fn expr(&mut self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let mut parts = pair.into_inner().peekable();
        let mut chain = ChainBuilder::new(self.operand(&mut parts)?);
        while let Some(op) = parts.next() {
            let span = self.span(&op);
            let op = binary_op(op.as_str());
            let operand = self.operand(&mut parts)?;
            chain.push(op, span, operand);
        }
        Ok(chain.finish())
    }

    /// `prefix_op* primary postfix_op*`, consumed from the flat children of an expression.
    fn operand(&mut self, parts: &mut Peekable<Pairs<'_, Rule>>) -> Result<Expr> {
        let mut prefix_ops = Vec::new();
        while let Some(op) = parts.next_if(|pair| pair.as_rule() == Rule::prefix_op) {
            let span = self.span(&op);
            prefix_ops.push((if op.as_str() == "-" { UnOp::Neg } else { UnOp::Not }, span));
        }
        let base = self.primary(parts.next().expect("grammar guarantees an operand"))?;
        let mut postfix_ops = Vec::new();
        while let Some(op) = parts.next_if(|pair| is_postfix_op(pair.as_rule())) {
            postfix_ops.push(self.postfix_op(op)?);
        }
        let mut operand = base;
        if !postfix_ops.is_empty() {
            let span = operand.span;
            operand = Expr { span, kind: ExprKind::Postfix { base: Box::new(operand), ops: postfix_ops } };
        }
        if let Some(&(_, span)) = prefix_ops.first() {
            operand = Expr { span, kind: ExprKind::Unary { ops: prefix_ops, operand: Box::new(operand) } };
        }
        Ok(operand)
    }

    fn postfix_op(&mut self, pair: Pair<'_, Rule>) -> Result<(PostfixOp, Span)> {
        let span = self.span(&pair);
        let op = match pair.as_rule() {
            Rule::call_args => PostfixOp::Call(self.arguments(pair)?),
            Rule::index => PostfixOp::Index(self.expr(next(&mut pair.into_inner()))?),
            Rule::member => {
                let mut parts = pair.into_inner();
                let name = next(&mut parts).as_str().to_owned();
                match parts.next() {
                    Some(args) => PostfixOp::Method(name, self.arguments(args)?),
                    None => PostfixOp::Field(name),
                }
            }
            other => unreachable!("not a postfix operation: {other:?}"),
        };
        Ok((op, span))
    }

    fn arguments(&mut self, call_args: Pair<'_, Rule>) -> Result<Vec<Expr>> {
        call_args.into_inner().map(|arg| self.whole_expr(arg)).collect()
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::int => ExprKind::Int(
                pair.as_str().parse().expect("the pre-scan rejects integer literals that do not fit in i64"),
            ),
            Rule::float => ExprKind::Float(pair.as_str().parse().expect("grammar guarantees digits '.' digits")),
            Rule::string => self.string(pair)?,
            Rule::true_lit => ExprKind::Bool(true),
            Rule::false_lit => ExprKind::Bool(false),
            Rule::null_lit => ExprKind::Null,
            Rule::self_kw => ExprKind::SelfRef,
            Rule::none_lit => ExprKind::None,
            Rule::ident => ExprKind::Name(pair.as_str().to_owned()),
            Rule::func_expr => ExprKind::Func(Box::new(self.function(span, pair.into_inner())?)),
            Rule::enum_variant => {
                let mut parts = pair.into_inner();
                let enum_name = next(&mut parts).as_str().to_owned();
                let variant = next(&mut parts).as_str().to_owned();
                let args = parts.next().map(|args| self.arguments(args)).transpose()?;
                ExprKind::EnumVariant { enum_name, variant, args }
            }
            Rule::wrapped => {
                let mut parts = pair.into_inner();
                let wrapper = next(&mut parts);
                let value = Box::new(self.whole_expr(next(&mut parts))?);
                match wrapper.as_str() {
                    "Ok" => ExprKind::Ok(value),
                    "Err" => ExprKind::Err(value),
                    _ => ExprKind::Some(value),
                }
            }
            Rule::struct_lit => {
                let mut parts = pair.into_inner();
                let name = next(&mut parts).as_str().to_owned();
                let fields = parts
                    .map(|field| {
                        let mut field_parts = field.into_inner();
                        let field_name = next(&mut field_parts).as_str().to_owned();
                        Ok((field_name, self.expr(next(&mut field_parts))?))
                    })
                    .collect::<Result<_>>()?;
                ExprKind::StructLit { name, fields }
            }
            // A parenthesized expression is just its content.
            Rule::expr => return self.expr(pair),
            Rule::array => ExprKind::Array(
                pair.into_inner()
                    .map(|item| match item.as_rule() {
                        Rule::spread => Ok(ArrayItem::Spread(self.spread_operand(item)?)),
                        _ => Ok(ArrayItem::Item(self.expr(item)?)),
                    })
                    .collect::<Result<_>>()?,
            ),
            Rule::dict => ExprKind::Dict(
                pair.into_inner()
                    .map(|item| match item.as_rule() {
                        Rule::spread => Ok(DictItem::Spread(self.spread_operand(item)?)),
                        _ => {
                            let mut parts = item.into_inner();
                            let key = self.expr(next(&mut parts))?;
                            Ok(DictItem::Pair(key, self.expr(next(&mut parts))?))
                        }
                    })
                    .collect::<Result<_>>()?,
            ),
            other => unreachable!("not a primary: {other:?}"),
        };
        Ok(Expr { span, kind })
    }

    fn spread_operand(&mut self, spread: Pair<'_, Rule>) -> Result<Expr> {
        self.expr(next(&mut spread.into_inner()))
    }

    /// A string literal: [`ExprKind::Str`], or [`ExprKind::Interp`] when it contains
    /// `${...}`, with adjacent literal text merged into one part.
    fn string(&mut self, pair: Pair<'_, Rule>) -> Result<ExprKind> {
        let mut parts = Vec::new();
        let mut text = String::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::string_text => text.push_str(part.as_str()),
                Rule::escape => text.push(match &part.as_str()[1..] {
                    "n" => '\n',
                    "t" => '\t',
                    "r" => '\r',
                    "\\" => '\\',
                    "\"" => '"',
                    "$" => '$',
                    other => unreachable!("grammar admits no escape \\{other}"),
                }),
                Rule::interp => {
                    if !text.is_empty() {
                        parts.push(InterpPart::Lit(std::mem::take(&mut text)));
                    }
                    parts.push(InterpPart::Expr(self.whole_expr(next(&mut part.into_inner()))?));
                }
                other => unreachable!("not a string part: {other:?}"),
            }
        }
        if parts.is_empty() {
            return Ok(ExprKind::Str(text));
        }
        if !text.is_empty() {
            parts.push(InterpPart::Lit(text));
        }
        Ok(ExprKind::Interp(parts))
    }
}

fn error_at(span: Span, message: impl Into<String>) -> SyntaxError {
    SyntaxError { span, message: message.into() }
}

/// The next child of a pair whose rule guarantees it.
fn next<'s>(parts: &mut Pairs<'s, Rule>) -> Pair<'s, Rule> {
    parts.next().expect("grammar guarantees this child")
}

/// Skips an optional (ignored) type annotation and returns the pair after it.
fn skip_type<'s>(parts: &mut Pairs<'s, Rule>) -> Pair<'s, Rule> {
    let pair = next(parts);
    if pair.as_rule() == Rule::type_ann {
        next(parts)
    } else {
        pair
    }
}

fn is_postfix_op(rule: Rule) -> bool {
    matches!(rule, Rule::call_args | Rule::index | Rule::member)
}

fn binary_op(text: &str) -> BinOp {
    match text {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Mod,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "&&" => BinOp::And,
        "||" => BinOp::Or,
        "??" => BinOp::Coalesce,
        "|>" => BinOp::Pipe,
        other => unreachable!("grammar admits no binary operator {other:?}"),
    }
}

/// Binding strength, tightest first (LANGUAGE.md 4).
fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Mul | BinOp::Div | BinOp::Mod => 1,
        BinOp::Add | BinOp::Sub => 2,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
        BinOp::Eq | BinOp::Ne => 4,
        BinOp::And => 5,
        BinOp::Or => 6,
        BinOp::Coalesce => 7,
        BinOp::Pipe => 8,
    }
}

/// Builds the flat per-level [`ExprKind::Binary`] nodes of one operator chain without
/// recursion.
///
/// `open` holds the chains still waiting for their last operand, loosest at the bottom,
/// with strictly tighter levels above. `pending` is the operand read most recently: it
/// belongs to the top chain unless the next operator binds tighter.
struct ChainBuilder {
    open: Vec<OpenChain>,
    pending: Expr,
}

struct OpenChain {
    level: u8,
    first: Expr,
    rest: Vec<(BinOp, Span, Expr)>,
    /// The operator before `pending`.
    op: (BinOp, Span),
}

impl OpenChain {
    fn close(mut self, last: Expr) -> Expr {
        self.rest.push((self.op.0, self.op.1, last));
        let span = self.first.span;
        Expr { span, kind: ExprKind::Binary { first: Box::new(self.first), rest: self.rest } }
    }
}

impl ChainBuilder {
    fn new(first: Expr) -> Self {
        ChainBuilder { open: Vec::new(), pending: first }
    }

    fn push(&mut self, op: BinOp, span: Span, operand: Expr) {
        let level = precedence(op);
        let mut current = std::mem::replace(&mut self.pending, operand);
        // Chains that bind tighter than `op` are complete with `current` as last operand.
        while let Some(top) = self.open.pop_if(|top| top.level < level) {
            current = top.close(current);
        }
        match self.open.last_mut() {
            Some(top) if top.level == level => {
                let previous = std::mem::replace(&mut top.op, (op, span));
                top.rest.push((previous.0, previous.1, current));
            }
            _ => self.open.push(OpenChain { level, first: current, rest: Vec::new(), op: (op, span) }),
        }
    }

    fn finish(self) -> Expr {
        let mut current = self.pending;
        for chain in self.open.into_iter().rev() {
            current = chain.close(current);
        }
        current
    }
}
