//! Parser tests: every statement and expression form, precedence, the reference quirks of
//! LANGUAGE.md sections 1, 3 and 4, lexical errors and robustness limits.

use crate::parse::ast::*;
use crate::parse::{parse_program, SyntaxError, MAX_NESTING};

// ---------------------------------------------------------------------------------------
// Helpers

fn parse(source: &str) -> Vec<Stmt> {
    match parse_program(source) {
        Ok(program) => program.stmts,
        Err(error) => panic!("{:?} should parse, got {error}", abbreviated(source)),
    }
}

fn error(source: &str) -> SyntaxError {
    match parse_program(source) {
        Ok(program) => panic!("{:?} should not parse, got {program:?}", abbreviated(source)),
        Err(error) => error,
    }
}

fn abbreviated(source: &str) -> String {
    source.chars().take(80).collect()
}

/// Asserts that `source` fails with a message containing `part` at `line:col`.
fn assert_error(source: &str, line: u32, col: u32, part: &str) {
    let error = error(source);
    assert!(error.message.contains(part), "{:?}: message {:?} lacks {part:?}", abbreviated(source), error.message);
    assert_eq!((error.span.line, error.span.col), (line, col), "{:?}: {error}", abbreviated(source));
}

fn only_stmt(source: &str) -> StmtKind {
    let mut stmts = parse(source);
    assert_eq!(stmts.len(), 1, "{source:?}: {stmts:?}");
    stmts.remove(0).kind
}

/// The expression of a one-statement program `x := EXPR` or `EXPR`.
fn expr(source: &str) -> Expr {
    match only_stmt(source) {
        StmtKind::Expr(e) => e,
        StmtKind::Assign { value, .. } | StmtKind::Decl { value, .. } => value,
        other => panic!("{source:?} is not an expression statement: {other:?}"),
    }
}

/// `expr` rendered compactly: binary chains and unary prefixes in parentheses, postfix
/// chains written out.
fn show_expr(source: &str) -> String {
    show(&expr(source))
}

fn show(e: &Expr) -> String {
    let list = |items: &[Expr]| items.iter().map(show).collect::<Vec<_>>().join(", ");
    match &e.kind {
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Float(f) => format!("{f:?}"),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Interp(parts) => {
            let parts: Vec<String> = parts
                .iter()
                .map(|part| match part {
                    InterpPart::Lit(s) => format!("{s:?}"),
                    InterpPart::Expr(e) => format!("${{{}}}", show(e)),
                })
                .collect();
            format!("interp[{}]", parts.join(" "))
        }
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Null => "null".into(),
        ExprKind::Name(n) => n.clone(),
        ExprKind::SelfRef => "self".into(),
        ExprKind::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|item| match item {
                    ArrayItem::Item(e) => show(e),
                    ArrayItem::Spread(e) => format!("...{}", show(e)),
                })
                .collect();
            format!("[{}]", items.join(", "))
        }
        ExprKind::Dict(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|item| match item {
                    DictItem::Pair(k, v) => format!("{}: {}", show(k), show(v)),
                    DictItem::Spread(e) => format!("...{}", show(e)),
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        ExprKind::Func(f) => {
            let params: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
            format!("func({}){{{} stmts}}", params.join(", "), f.body.len())
        }
        ExprKind::Ok(e) => format!("Ok({})", show(e)),
        ExprKind::Err(e) => format!("Err({})", show(e)),
        ExprKind::Some(e) => format!("Some({})", show(e)),
        ExprKind::None => "None".into(),
        ExprKind::EnumVariant { enum_name, variant, args } => match args {
            Some(args) => format!("{enum_name}::{variant}({})", list(args)),
            None => format!("{enum_name}::{variant}"),
        },
        ExprKind::Throw(e) => format!("throw({})", show(e)),
        ExprKind::StructLit { name, fields } => {
            let fields: Vec<String> = fields.iter().map(|(f, e)| format!("{f}: {}", show(e))).collect();
            format!("{name}{{{}}}", fields.join(", "))
        }
        ExprKind::Unary { ops, operand } => {
            let ops: String = ops.iter().map(|(op, _)| if *op == UnOp::Neg { '-' } else { '!' }).collect();
            format!("({ops}{})", show(operand))
        }
        ExprKind::Binary { first, rest } => {
            assert!(!rest.is_empty(), "a Binary node always has a rest");
            let mut text = format!("({}", show(first));
            for (op, _, e) in rest {
                text.push_str(&format!(" {} {}", op_text(*op), show(e)));
            }
            text + ")"
        }
        ExprKind::Postfix { base, ops } => {
            assert!(!ops.is_empty(), "a Postfix node always has ops");
            let mut text = show(base);
            for (op, _) in ops {
                match op {
                    PostfixOp::Call(args) => text.push_str(&format!("({})", list(args))),
                    PostfixOp::Index(e) => text.push_str(&format!("[{}]", show(e))),
                    PostfixOp::Field(f) => text.push_str(&format!(".{f}")),
                    PostfixOp::Method(m, args) => text.push_str(&format!(".{m}({})", list(args))),
                }
            }
            text
        }
    }
}

fn op_text(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::And => "&&",
        BinOp::Or => "||",
        BinOp::Coalesce => "??",
        BinOp::Pipe => "|>",
    }
}

fn span(line: u32, col: u32) -> Span {
    Span { line, col }
}

/// Runs `f` on a thread with `bytes` of stack, as the main program runs the parser.
fn on_stack<T: Send + 'static>(bytes: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(bytes)
        .spawn(f)
        .expect("spawn test thread")
        .join()
        .expect("test thread panicked")
}

const BIG_STACK: usize = 64 << 20;

// ---------------------------------------------------------------------------------------
// Statements

#[test]
fn empty_programs_and_separators() {
    assert!(parse("").is_empty());
    assert!(parse(" ;; \n # only a comment\n ;").is_empty());
    assert_eq!(parse("a; b c\nd").len(), 4);
}

#[test]
fn declarations() {
    for (source, kind) in [
        ("let x := 1", DeclKind::Let),
        ("let x = 1", DeclKind::Let),
        ("mut x := 1", DeclKind::Mut),
        ("const x = 1", DeclKind::Const),
        ("let x: int := 1", DeclKind::Let),
        ("mut x: Result<int, string> = 1", DeclKind::Mut),
    ] {
        match only_stmt(source) {
            StmtKind::Decl { kind: k, name, value } => {
                assert_eq!((k, name.as_str(), show(&value)), (kind, "x", "1".into()), "{source}");
            }
            other => panic!("{source}: {other:?}"),
        }
    }
    assert_error("let x", 1, 6, "Expected ':', ':=' or '='");
    assert_error("let = 5", 1, 5, "Expected name, found '='");
    assert_error("let if := 1", 1, 5, "Expected name, found 'if'");
}

#[test]
fn keywords_are_not_names_but_their_prefixes_and_extensions_are() {
    for word in ["integer", "iffy", "in_x", "test_x", "testing", "selfish", "format", "Ok", "throw"] {
        let stmts = parse(&format!("{word} := 1"));
        assert!(matches!(&stmts[0].kind, StmtKind::Assign { target, .. } if target.name == word));
    }
    for word in ["int", "in", "test", "test_setup", "struct", "async", "import", "yield"] {
        assert!(parse_program(&format!("let {word} := 1")).is_err(), "{word}");
    }
    assert_error("x := int(3)", 1, 6, "Expected expression, found 'int'");
}

#[test]
fn assignments_with_every_operator() {
    for (source, op) in [
        ("x := 1", AssignOp::Set),
        ("x = 1", AssignOp::Set),
        ("x += 1", AssignOp::Add),
        ("x -= 1", AssignOp::Sub),
        ("x *= 1", AssignOp::Mul),
        ("x /= 1", AssignOp::Div),
        ("x %= 1", AssignOp::Mod),
    ] {
        match only_stmt(source) {
            StmtKind::Assign { op: o, target, .. } => {
                assert_eq!((o, target.name.as_str()), (op, "x"), "{source}");
            }
            other => panic!("{source}: {other:?}"),
        }
    }
}

#[test]
fn assignment_targets_and_their_spans() {
    let stmts = parse("  a[i].f[j] := 1");
    assert_eq!(stmts[0].span, span(1, 3));
    let StmtKind::Assign { target, .. } = &stmts[0].kind else { panic!() };
    assert_eq!((target.name.as_str(), target.span), ("a", span(1, 3)));
    match target.path.as_slice() {
        [TargetStep::Index(i, s1), TargetStep::Field(f, s2), TargetStep::Index(j, s3)] => {
            assert_eq!((show(i), *s1), ("i".into(), span(1, 4)));
            assert_eq!((f.as_str(), *s2), ("f", span(1, 7)));
            assert_eq!((show(j), *s3), ("j".into(), span(1, 9)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_assignment_targets() {
    assert_error("self.x := 1", 1, 1, "Invalid assignment target");
    assert_error("(a) := 1", 1, 1, "Invalid assignment target");
    assert_error("-a := 1", 1, 1, "Invalid assignment target");
    assert_error("a + b := 1", 1, 3, "only a variable, a field or an index can be assigned");
    assert_error("f(x) := 1", 1, 2, "cannot assign to a call");
    assert_error("a.m() := 1", 1, 2, "cannot assign to a method call");
    assert_error("P {} := 1", 1, 1, "Invalid assignment target");
    assert_error("a := b := 1", 1, 8, "Unexpected ':='");
}

#[test]
fn function_declarations() {
    let stmts = parse("func add(a: int, b, self) -> Option<float> { return a + b }");
    let StmtKind::Func(f) = &stmts[0].kind else { panic!() };
    assert_eq!(f.name.as_deref(), Some("add"));
    assert_eq!(f.span, span(1, 1));
    let params: Vec<(&str, Span)> = f.params.iter().map(|p| (p.name.as_str(), p.span)).collect();
    assert_eq!(params, [("a", span(1, 10)), ("b", span(1, 18)), ("self", span(1, 21))]);
    assert_eq!(f.body.len(), 1);
    assert!(matches!(only_stmt("func f() {}"), StmtKind::Func(f) if f.params.is_empty()));
    assert!(matches!(only_stmt("func f(a,) {}"), StmtKind::Func(f) if f.params.len() == 1));
}

#[test]
fn type_annotations() {
    for ty in ["int", "float", "string", "bool", "Result<int, string>", "Option<Result<bool, Option<int>>>"] {
        parse(&format!("func f(a: {ty}) -> {ty} {{}}\nlet x: {ty} := 1"));
    }
    assert_error("func f(a: Point) {}", 1, 11, "Expected type");
    assert_error("func f() -> Point {}", 1, 13, "Expected type");
    assert_error("let x: Result<int> := 1", 1, 18, "Expected ','");
    assert_error("let x: integer := 1", 1, 8, "Expected type");
}

#[test]
fn struct_declarations() {
    let source =
        "struct Point {\n x: int,\n y = 5 + 2\n z: float = 1.5, func sum(self) { return self.x }\n func norm() {} , }";
    let StmtKind::Struct(s) = only_stmt(source) else { panic!() };
    assert_eq!(s.name, "Point");
    assert_eq!(s.fields, ["x", "y", "z"]);
    let methods: Vec<_> = s.methods.iter().map(|m| m.name.clone().unwrap()).collect();
    assert_eq!(methods, ["sum", "norm"]);
    assert_eq!(s.methods[0].span, span(4, 18));
    assert!(matches!(only_stmt("struct E {}"), StmtKind::Struct(s) if s.fields.is_empty()));
    assert_error("struct P { x: Point }", 1, 15, "Expected type");
}

#[test]
fn enum_declarations() {
    let StmtKind::Enum { name, variants } = only_stmt("enum Shape { Circle, Square, Empty, }") else { panic!() };
    assert_eq!((name.as_str(), variants), ("Shape", vec!["Circle".into(), "Square".into(), "Empty".into()]));
    assert!(matches!(only_stmt("enum E {}"), StmtKind::Enum { variants, .. } if variants.is_empty()));
    assert_error("enum E { A B }", 1, 12, "Expected ',' or '}', found 'B'");
}

#[test]
fn if_else_chains_are_flat() {
    let StmtKind::If { branches, else_block } = only_stmt("if a { x } else if b { y; z } else if c == 1 {} else { w }")
    else {
        panic!()
    };
    let conds: Vec<String> = branches.iter().map(|(c, _)| show(c)).collect();
    assert_eq!(conds, ["a", "b", "(c == 1)"]);
    assert_eq!(branches[1].1.len(), 2);
    assert_eq!(else_block.map(|b| b.len()), Some(1));
    let StmtKind::If { branches, else_block } = only_stmt("if a == 1 { }") else { panic!() };
    assert_eq!((branches.len(), else_block), (1, None));
    assert_error("if a { b } else", 1, 16, "Expected '{' or 'if', found end of input");
}

#[test]
fn loops() {
    assert!(matches!(only_stmt("while a < 3 { a += 1 }"), StmtKind::While { body, .. } if body.len() == 1));
    assert!(matches!(only_stmt("loop { break }"), StmtKind::Loop { body } if body[0].kind == StmtKind::Break));
    let StmtKind::While { cond, body } = only_stmt("loop while x > 0 { continue }") else { panic!() };
    assert_eq!(show(&cond), "(x > 0)");
    assert_eq!(body[0].kind, StmtKind::Continue);
}

#[test]
fn for_loops_take_a_postfix_iterable() {
    let StmtKind::For { var, var_span, iter, body } = only_stmt("for i in range(0, n) { print(i) }") else { panic!() };
    assert_eq!((var.as_str(), var_span, show(&iter), body.len()), ("i", span(1, 5), "range(0, n)".into(), 1));
    let StmtKind::For { iter, .. } = only_stmt("for x in (a + b) { }") else { panic!() };
    assert_eq!(show(&iter), "(a + b)");
    let StmtKind::For { iter, .. } = only_stmt("for x in xs.items[0] { f() }") else { panic!() };
    assert_eq!(show(&iter), "xs.items[0]");
    assert_error("for x in a + b { }", 1, 12, "Expected '{', found '+'");
    assert_error("for x in -3 { }", 1, 10, "Expected expression, found '-'");
    assert_error("for x y { }", 1, 7, "Expected 'in', found 'y'");
}

#[test]
fn return_takes_a_value_unless_followed_by_semicolon_brace_or_end() {
    let body = |source: &str| match only_stmt(source) {
        StmtKind::Func(f) => f.body.into_iter().map(|s| s.kind).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(body("func f() { return }"), [StmtKind::Return(None)]);
    assert_eq!(body("func f() { return; x }")[0], StmtKind::Return(None));
    assert!(matches!(&body("func f() { return\n x }")[..], [StmtKind::Return(Some(_))]));
    assert!(matches!(only_stmt("return"), StmtKind::Return(None)));
    assert!(matches!(only_stmt("return 1 + 2"), StmtKind::Return(Some(e)) if show(&e) == "(1 + 2)"));
    assert_error("return let x := 1", 1, 8, "Expected expression, found 'let'");
}

#[test]
fn match_statements_and_patterns() {
    let source = "match r {\n case Ok(v): { a }\n default: { b }\n case Err: { }\n case Shape::Circle(rad): {}\n case Shape::Empty: {}\n case hello: {}\n case Result::Some(x): {}\n}";
    let StmtKind::Match { subject, cases, default } = only_stmt(source) else { panic!() };
    assert_eq!(show(&subject), "r");
    assert_eq!(default.map(|d| d.len()), Some(1));
    let tag = |enum_name: Option<&str>, tag: &str, binding: Option<(&str, Span)>| Pattern::Tag {
        enum_name: enum_name.map(str::to_owned),
        tag: tag.to_owned(),
        binding: binding.map(|(n, s)| (n.to_owned(), s)),
    };
    let patterns: Vec<Pattern> = cases.iter().map(|c| c.pattern.clone()).collect();
    assert_eq!(
        patterns,
        [
            tag(None, "Ok", Some(("v", span(2, 10)))),
            tag(None, "Err", None),
            tag(Some("Shape"), "Circle", Some(("rad", span(5, 21)))),
            tag(Some("Shape"), "Empty", None),
            Pattern::Str("hello".into()),
            tag(Some("Result"), "Some", Some(("x", span(8, 20)))),
        ]
    );
    assert_eq!(cases[0].span, span(2, 2));
    assert_eq!(cases[0].body.len(), 1);
    assert_error("match x { default: {} default: {} }", 1, 23, "Duplicate 'default'");
    assert_error("match x { case hello(v): {} }", 1, 22, "cannot bind");
    assert_error("match x { case Ok(v) {} }", 1, 22, "Expected ':'");
    assert_error("match x { case 1: {} }", 1, 16, "Expected name, found '1'");
    assert_error("match x { case Ok(a, b): {} }", 1, 20, "Expected ')'");
}

#[test]
fn try_except() {
    let StmtKind::Try { body, err_name, handler } = only_stmt("try { throw(\"x\") } except e { print(e.message) }")
    else {
        panic!()
    };
    assert_eq!((body.len(), err_name.as_str(), handler.len()), (1, "e", 1));
    assert_error("try { } catch e { }", 1, 9, "Expected 'except', found 'catch'");
}

#[test]
fn statement_spans_are_at_their_first_token() {
    let stmts = parse("x := 1\n  if a { b }\n\tfunc f() {}\n  ;let y = 2");
    let spans: Vec<Span> = stmts.iter().map(|s| s.span).collect();
    assert_eq!(spans, [span(1, 1), span(2, 3), span(3, 2), span(4, 4)]);
}

// ---------------------------------------------------------------------------------------
// Expressions

#[test]
fn literals() {
    assert_eq!(show_expr("x := 42"), "42");
    assert_eq!(show_expr("x := 9223372036854775807"), "9223372036854775807");
    assert_eq!(show_expr("x := 1.5"), "1.5");
    assert_eq!(show_expr("x := 0.25"), "0.25");
    assert_eq!(show_expr("x := true"), "true");
    assert_eq!(show_expr("x := false"), "false");
    assert_eq!(show_expr("x := null"), "null");
    assert_eq!(show_expr("x := self"), "self");
    assert_eq!(show_expr("x := None"), "None");
    assert_eq!(show_expr("x := Ok(1)"), "Ok(1)");
    assert_eq!(show_expr("x := Err(\"e\")"), "Err(\"e\")");
    assert_eq!(show_expr("x := Some(Color::Red)"), "Some(Color::Red)");
    assert_eq!(show_expr("x := Ok"), "Ok");
    assert_eq!(show_expr("x := \"a\\n\\t\\r\\\\\\\"\\$b\""), "\"a\\n\\t\\r\\\\\\\"$b\"");
    assert_eq!(show_expr("x := \"$x {y}\""), "\"$x {y}\"");
}

#[test]
fn a_trailing_dot_after_digits_is_a_separate_token() {
    assert_error("x := 1.", 1, 8, "Expected name, found end of input");
    assert_eq!(show_expr("x := 1.abs"), "1.abs");
    assert_error("x := .5", 1, 6, "Expected expression, found '.'");
}

#[test]
fn precedence_levels_from_tightest_to_loosest() {
    assert_eq!(show_expr("a * b + c"), "((a * b) + c)");
    assert_eq!(show_expr("a + b * c"), "(a + (b * c))");
    assert_eq!(show_expr("a + b < c - d"), "((a + b) < (c - d))");
    assert_eq!(show_expr("a < b == c >= d"), "((a < b) == (c >= d))");
    assert_eq!(show_expr("a == b && c != d"), "((a == b) && (c != d))");
    assert_eq!(show_expr("a && b || c && d"), "((a && b) || (c && d))");
    assert_eq!(show_expr("a || b ?? c"), "((a || b) ?? c)");
    assert_eq!(show_expr("a ?? b |> f"), "((a ?? b) |> f)");
    assert_eq!(show_expr("x |> f |> g"), "(x |> f |> g)");
    assert_eq!(
        show_expr("a |> b ?? c || d && e == f < g + h * i"),
        "(a |> (b ?? (c || (d && (e == (f < (g + (h * i))))))))"
    );
    assert_eq!(show_expr("a * b % c / d"), "(a * b % c / d)");
    assert_eq!(show_expr("a * b + c * d - e"), "((a * b) + (c * d) - e)");
    assert_eq!(show_expr("(a + b) * c"), "((a + b) * c)");
    assert_eq!(show_expr("((a))"), "a");
}

#[test]
fn chains_are_one_flat_node_per_level() {
    assert_eq!(show_expr("1 - 2 - 3 + 4"), "(1 - 2 - 3 + 4)");
    assert_eq!(show_expr("1 < 2 < 3"), "(1 < 2 < 3)");
    assert_eq!(show_expr("1 == 1 == true"), "(1 == 1 == true)");
    let e = expr("x := a + b * c + d");
    let ExprKind::Binary { first, rest } = &e.kind else { panic!() };
    assert_eq!(e.span, span(1, 6));
    assert_eq!(first.span, span(1, 6));
    let ops: Vec<(BinOp, Span)> = rest.iter().map(|(op, s, _)| (*op, *s)).collect();
    assert_eq!(ops, [(BinOp::Add, span(1, 8)), (BinOp::Add, span(1, 16))]);
}

#[test]
fn unary_prefixes_fold_into_one_node() {
    assert_eq!(show_expr("--5"), "(--5)");
    assert_eq!(show_expr("!!true"), "(!!true)");
    assert_eq!(show_expr("-!x"), "(-!x)");
    assert_eq!(show_expr("-a * b"), "((-a) * b)");
    assert_eq!(show_expr("-a.b(c)"), "(-a.b(c))");
    assert_eq!(show_expr("a - -b"), "(a - (-b))");
    let e = expr("x := - ! y");
    let ExprKind::Unary { ops, .. } = &e.kind else { panic!() };
    assert_eq!(ops, &[(UnOp::Neg, span(1, 6)), (UnOp::Not, span(1, 8))]);
    assert_eq!(e.span, span(1, 6));
}

#[test]
fn postfix_chains_are_one_node_with_spans_at_their_tokens() {
    assert_eq!(show_expr("a.b(c)[d].e(f, g)(h)"), "a.b(c)[d].e(f, g)(h)");
    let e = expr("x := f (1) [2] .g .h()");
    let ExprKind::Postfix { base, ops } = &e.kind else { panic!() };
    assert_eq!((show(base), e.span), ("f".into(), span(1, 6)));
    let kinds: Vec<(&str, Span)> = ops
        .iter()
        .map(|(op, s)| {
            let kind = match op {
                PostfixOp::Call(_) => "call",
                PostfixOp::Index(_) => "index",
                PostfixOp::Field(_) => "field",
                PostfixOp::Method(..) => "method",
            };
            (kind, *s)
        })
        .collect();
    assert_eq!(kinds, [("call", span(1, 8)), ("index", span(1, 12)), ("field", span(1, 16)), ("method", span(1, 19))]);
    assert_eq!(show_expr("f(1, 2,)"), "f(1, 2)");
    assert_eq!(show_expr("f()()"), "f()()");
    assert_eq!(show_expr("adder(1)(2)"), "adder(1)(2)");
    assert_eq!(show_expr("(func (x) { return x })(1)"), "func(x){1 stmts}(1)");
}

#[test]
fn question_mark_operators_are_not_core() {
    assert_error("x := a?", 1, 7, "Unexpected '?'");
    assert_error("x := a?.b", 1, 7, "'?' and '?.' operators are not supported");
}

#[test]
fn lone_ampersand_and_bar_are_errors() {
    assert_error("x := a & b", 1, 8, "Unexpected '&'");
    assert_error("x := a | b", 1, 8, "Unexpected '|'");
}

#[test]
fn a_line_starting_with_minus_or_paren_continues_the_expression() {
    let stmts = parse("b := 5\n-3");
    assert_eq!(stmts.len(), 1);
    assert_eq!(show_expr("b := 5\n-3"), "(5 - 3)");
    assert_eq!(show_expr("x := 1\n(2)"), "1(2)");
    assert_eq!(show_expr("x := a\n[0]"), "a[0]");
}

#[test]
fn arrays() {
    assert_eq!(show_expr("x := []"), "[]");
    assert_eq!(show_expr("x := [1, a + b, ...xs, [2],]"), "[1, (a + b), ...xs, [2]]");
    assert_eq!(show_expr("x := [a == b, c < d]"), "[(a == b), (c < d)]");
    assert_eq!(show_expr("x := [(a && b)]"), "[(a && b)]");
    assert_error("x := [a && b]", 1, 9, "Expected ',' or ']', found '&&'");
    assert_error("x := [a || b]", 1, 9, "Expected ',' or ']', found '||'");
    assert_error("x := [a ?? b]", 1, 9, "Expected ',' or ']', found '??'");
    assert_error("x := [...a |> f]", 1, 12, "Expected ',' or ']'");
    assert_error("x := [1, 2", 1, 6, "Unclosed '[': no matching ']' before the end of the file");
}

#[test]
fn dicts() {
    assert_eq!(show_expr("x := {}"), "{}");
    assert_eq!(show_expr("x := {\"a\": 1, k: v + 1, ...d,}"), "{\"a\": 1, k: (v + 1), ...d}");
    assert_eq!(show_expr("x := {a == b: c != d}"), "{(a == b): (c != d)}");
    assert_error("x := {\"a\": b && c}", 1, 14, "Expected ',' or '}', found '&&'");
    assert_error("x := {a && b: 1}", 1, 9, "Expected ':'");
    assert_error("x := {a: 1 b}", 1, 12, "Expected ',' or '}', found 'b'");
}

#[test]
fn struct_literals() {
    assert_eq!(show_expr("p := Point { x: 1, y: a + b, }"), "Point{x: 1, y: (a + b)}");
    assert_eq!(show_expr("p := Point {}"), "Point{}");
    assert_eq!(show_expr("p := Point { x: 1 }.x"), "Point{x: 1}.x");
    assert_eq!(show_expr("p := Point { x: a == b }"), "Point{x: (a == b)}");
    assert_error("p := Point { x: a && b }", 1, 19, "Expected ',' or '}', found '&&'");
    assert_error("p := Point { x: 1 y: 2 }", 1, 19, "Expected ',' or '}', found 'y'");
    // Only directly after a bare name: here `{ x: 1 }` is a separate dict statement.
    assert_eq!(parse("p := a.b { x: 1 }").len(), 2);
    // `NAME {` followed by anything but `NAME :` or `}` is not a struct literal.
    assert!(matches!(only_stmt("if ok { x := 1 }"), StmtKind::If { .. }));
    assert!(matches!(only_stmt("if ok { a::b }"), StmtKind::If { .. }));
    assert!(matches!(only_stmt("for k in d { print(k) }"), StmtKind::For { .. }));
    assert!(matches!(only_stmt("while go { x }"), StmtKind::While { .. }));
}

#[test]
fn an_empty_block_after_a_bare_name_is_read_as_a_struct_literal() {
    assert_error("if ok { }", 1, 10, "Expected '{', found end of input");
    assert_error("for k in d { }", 1, 15, "Expected '{', found end of input");
    assert_error("while ok {}\nx := 1", 2, 1, "Expected '{', found 'x'");
    let StmtKind::If { branches, .. } = only_stmt("if ok {} { }") else { panic!() };
    assert_eq!(show(&branches[0].0), "ok{}");
}

#[test]
fn anonymous_functions() {
    assert_eq!(show_expr("f := func (a, b) { return a + b }"), "func(a, b){1 stmts}");
    assert_eq!(show_expr("f := func () -> int { }"), "func(){0 stmts}");
    let e = expr("f := func (a: int) { }");
    let ExprKind::Func(f) = e.kind else { panic!() };
    assert_eq!((f.name, f.span, f.params[0].span), (None, span(1, 6), span(1, 12)));
    assert!(matches!(only_stmt("func (x) { }"), StmtKind::Expr(_)));
}

#[test]
fn enum_variants_as_whole_expressions() {
    assert_eq!(show_expr("Color::Red"), "Color::Red");
    assert_eq!(show_expr("c := Shape::Circle(2, r + 1)"), "Shape::Circle(2, (r + 1))");
    assert_eq!(show_expr("let c = Result::Ok(v)"), "Result::Ok(v)");
    assert_eq!(show_expr("c := Option::None"), "Option::None");
    assert_eq!(show_expr("c += E::V"), "E::V");
    assert_eq!(show_expr("f(Color::Red, E::V(1))"), "f(Color::Red, E::V(1))");
    assert_eq!(show_expr("o.m(Color::Red)"), "o.m(Color::Red)");
    assert!(matches!(only_stmt("return Color::Red"), StmtKind::Return(Some(e)) if show(&e) == "Color::Red"));
    assert_eq!(show_expr("x := \"${Color::Red}\""), "interp[${Color::Red}]");
}

#[test]
fn enum_variants_are_operands() {
    for source in [
        "x := a == Color::Red",
        "x := [Color::Red, Shape::Circle(1)]",
        "x := Color::Red + 1",
        "x := (Color::Red)",
        "s := S { kind: Color::Red }",
        "f(Color::Red == x, Color::Blue)",
        "Color::Red",
    ] {
        assert!(crate::parse::parse_program(source).is_ok(), "{} should parse", source);
    }
    assert_eq!(show_expr("Color::Red == Shape::Circle(1)"), show_expr("(Color::Red) == (Shape::Circle(1))"));
    assert_error("x := Color::", 1, 13, "Expected name, found end of input");
}

#[test]
fn throw_is_special_only_as_a_whole_expression_followed_by_a_paren() {
    assert_eq!(show_expr("throw(\"boom\")"), "throw(\"boom\")");
    assert_eq!(show_expr("throw (e)"), "throw(e)");
    assert_eq!(show_expr("x := throw(Err(1))"), "throw(Err(1))");
    assert_eq!(show_expr("f(throw(1))"), "f(throw(1))");
    assert_eq!(show_expr("x := throw"), "throw");
    assert_eq!(show_expr("x := throw + 1"), "(throw + 1)");
    assert_error("throw(1) + 1", 1, 10, "Unexpected '+'");
    assert_error("throw(1, 2)", 1, 8, "Expected ')', found ','");
    assert_error("throw()", 1, 7, "Expected expression, found ')'");
}

#[test]
fn string_interpolation() {
    assert_eq!(show_expr("x := \"a${b}c\""), "interp[\"a\" ${b} \"c\"]");
    assert_eq!(show_expr("x := \"${a}${b}\""), "interp[${a} ${b}]");
    assert_eq!(show_expr("x := \"n=${ n + 1 }!\""), "interp[\"n=\" ${(n + 1)} \"!\"]");
    assert_eq!(show_expr("x := \"${\"s\"}\""), "interp[${\"s\"}]");
    assert_eq!(show_expr("x := \"${ {\"k\": 1}[\"k\"] }\""), "interp[${{\"k\": 1}[\"k\"]}]");
    assert_eq!(show_expr("x := \"a\\n${x}\\$${y}\""), "interp[\"a\\n\" ${x} \"$\" ${y}]");
    assert_eq!(show_expr("x := \"${ \"in${ner}\" }\""), "interp[${interp[\"in\" ${ner}]}]");
    assert_eq!(show_expr("x := \"\\${x}\""), "\"${x}\"");
    let e = expr("x := \"ab${ c }\"");
    let ExprKind::Interp(parts) = e.kind else { panic!() };
    let InterpPart::Expr(c) = &parts[1] else { panic!() };
    assert_eq!(c.span, span(1, 12));
    assert_error("x := \"${ 1 + }\"", 1, 14, "Expected expression, found '}'");
    assert_error("x := \"${}\"", 1, 9, "Expected expression, found '}'");
    assert_error("x := \"${ a b }\"", 1, 12, "Expected '}', found 'b'");
}

#[test]
fn comments_separate_tokens() {
    let source = "x := 1 # one\n// two\ny := /* three */ x /* multi\nline */ + 2 // end";
    assert_eq!(parse(source).len(), 2);
    assert_eq!(show_expr("x := a //b\n"), "a");
    assert_eq!(show_expr("x := a/b"), "(a / b)");
    assert_error("x := a / / b", 1, 10, "Expected expression, found '/'");
    assert_eq!(show_expr("x := \"# not // a /* comment\""), "\"# not // a /* comment\"");
}

#[test]
fn expression_spans() {
    let e = expr("x := [ 1, \"s\", y ]");
    assert_eq!(e.span, span(1, 6));
    let ExprKind::Array(items) = e.kind else { panic!() };
    let spans: Vec<Span> = items
        .iter()
        .map(|item| match item {
            ArrayItem::Item(e) | ArrayItem::Spread(e) => e.span,
        })
        .collect();
    assert_eq!(spans, [span(1, 8), span(1, 11), span(1, 16)]);
    // Columns count characters, not bytes.
    let e = expr("x := \"héllo\" + b日本");
    let ExprKind::Binary { rest, .. } = e.kind else { panic!() };
    assert_eq!((rest[0].1, rest[0].2.span), (span(1, 14), span(1, 16)));
}

// ---------------------------------------------------------------------------------------
// Lexical errors

#[test]
fn identifiers() {
    assert_eq!(show_expr("x := _a1"), "_a1");
    assert_eq!(show_expr("x := héllo_wörld2"), "héllo_wörld2");
    let longest = "a".repeat(256);
    assert_eq!(show_expr(&format!("x := {longest}")), longest);
    assert_error(&format!("x := {longest}b"), 1, 6, "Identifier longer than 256 characters");
    assert_error("x := éa", 1, 6, "Invalid character 'é'");
}

#[test]
fn integer_literals() {
    assert_error("x := 9223372036854775808", 1, 6, "Integer literal too large");
    assert_error("x := 99999999999999999999999", 1, 6, "Integer literal too large");
    assert_error("x := 1e20", 1, 6, "Invalid number literal '1e20'");
    assert_error("x := 0xff", 1, 6, "Invalid number literal '0xff'");
    assert_error("x := 10px", 1, 6, "Invalid number literal '10px'");
    assert_error("x := 1_000", 1, 6, "Invalid number literal '1_000'");
    assert_error("x := 1.5e3", 1, 6, "Invalid number literal '1.5e3'");
    assert_eq!(show_expr("x := 007"), "7");
}

#[test]
fn string_literal_errors() {
    assert_error("x := \"abc", 1, 6, "Unterminated string literal");
    assert_error("x := \"ab\nc\"", 1, 6, "Unterminated string literal");
    assert_error("x := \"${ a\n}\"", 1, 6, "Unterminated string literal");
    assert_error("x := \"${ a", 1, 6, "Unterminated string literal");
    assert_error("x := \"a\\qb\"", 1, 8, "Invalid escape sequence \\q");
    assert_error("x := \"\\u0041\"", 1, 7, "Invalid escape sequence \\u");
    assert_error("x := \"\\0\"", 1, 7, "Invalid escape sequence \\0");
    let longest = "a".repeat(8192);
    assert_eq!(show_expr(&format!("x := \"{longest}\"")).len(), 8194);
    assert_error(&format!("x := \"{longest}b\""), 1, 6, "String literal longer than 8192 characters");
    assert_error("x := 'a'", 1, 6, "string literals use double quotes");
}

#[test]
fn invalid_characters_and_comments() {
    assert_error("x := 1 @ 2", 1, 8, "Invalid character '@'");
    assert_error("x := $a", 1, 6, "Invalid character '$'");
    assert_error("x := a ~ b", 1, 8, "Invalid character '~'");
    assert_error("x := 1\n  /* never closed", 2, 3, "Unterminated block comment");
    assert_error("x := 1 /* a /* b */ */", 1, 22, "Expected expression, found '/'");
}

#[test]
fn lexical_errors_come_before_syntax_errors() {
    assert_error("x := )\ny := 1e5", 2, 6, "Invalid number literal");
}

#[test]
fn unexpected_tokens_and_missing_closers() {
    assert_error("}", 1, 1, "Unexpected '}'");
    assert_error("if x { y := 1", 1, 6, "Unclosed '{': no matching '}' before the end of the file");
    assert_error("func f() {\n  if x {\n  }\nprint(2)\n", 1, 10, "Unclosed '{'");
    assert_error("f(a, [1, 2)\n", 1, 11, "");
    assert_error("f(1 2)", 1, 5, "Expected ',' or ')', found '2'");
    assert_error("x := )", 1, 6, "Expected expression, found ')'");
    assert_error("x := (1", 1, 6, "Unclosed '('");
    assert_error("struct X y", 1, 10, "Expected '{', found 'y'");
    assert_error("func f x", 1, 8, "Expected '(', found 'x'");
    assert_error("match x y {}", 1, 9, "Expected '{', found 'y'");
    assert_error("f(\"a\" \"b\")", 1, 7, "Expected ',' or ')', found string literal");
}

#[test]
fn error_messages_read_like_sentences() {
    for source in ["x := )", "let", "f(1 2)", "}", "x := [a && b]", "if", "match x { case 1: {} }"] {
        let message = error(source).message;
        let first = message.chars().next().unwrap();
        assert!(first.is_uppercase(), "{message}");
        for jargon in ["Rule", "rule", "EOI", "positives", "_expr", "kw_", "_lit", "call_args"] {
            assert!(!message.contains(jargon), "{source:?}: {message}");
        }
    }
}

#[test]
fn pest_limit_errors_read_like_sentences() {
    use pest::error::{Error, ErrorVariant};
    use pest::Position;

    let source = "x := 1";
    for (pest_message, ours) in [("call limit reached", "too complex"), ("stack limit reached", "nested too deeply")] {
        let variant = ErrorVariant::CustomError { message: pest_message.to_owned() };
        let position = Position::new(source, 5).unwrap();
        let error = crate::parse::errors::syntax_error(source, Error::new_from_pos(variant, position));
        assert!(error.message.contains(ours), "{}", error.message);
        assert_eq!(error.span, span(1, 6));
    }
}

// ---------------------------------------------------------------------------------------
// Robustness

fn nested(open: &str, middle: &str, close: &str, depth: usize) -> String {
    format!("{}{}{}", open.repeat(depth), middle, close.repeat(depth))
}

#[test]
fn deep_nesting_is_a_syntax_error_not_a_crash() {
    let cases = [
        nested("x := ", "", "", 0) + &nested("(", "1", ")", 10_000),
        "x := ".to_owned() + &nested("[", "1", "]", 10_000),
        nested("if a { ", "x", " }", 10_000),
        "x := ".to_owned() + &nested("{\"k\": ", "1", "}", 10_000),
        "x := ".to_owned() + &nested("f(", "1", ")", 10_000),
        "x := ".to_owned() + &nested("\"${", "1", "}\"", 10_000),
        "func f(a: ".to_owned() + &nested("Option<", "int", ">", 10_000) + ") {}",
        "x := ".to_owned() + &nested("(", "1", ")", MAX_NESTING + 1),
    ];
    for source in cases {
        let error = error(&source);
        assert_eq!(error.message, "Nesting deeper than 1000 levels", "{}", &source[..30]);
    }
    assert_error(&("x := ".to_owned() + &"(".repeat(2000)), 1, 1006, "Nesting deeper than 1000 levels");
}

#[test]
fn maximum_nesting_parses_on_a_big_stack() {
    on_stack(BIG_STACK, || {
        let sources = [
            "x := ".to_owned() + &nested("(", "1", ")", MAX_NESTING),
            "x := ".to_owned() + &nested("[", "1", "]", MAX_NESTING),
            nested("if a { ", "x", " }", MAX_NESTING),
            "x := ".to_owned() + &nested("-(", "1", ")", MAX_NESTING),
            "x := ".to_owned() + &nested("\"${", "1", "}\"", MAX_NESTING),
            "x := ".to_owned() + &nested("{\"k\": ", "1", "}", MAX_NESTING),
            "x := ".to_owned() + &nested("f(func () { return ", "1", " })", MAX_NESTING / 2),
            "func f(a: ".to_owned() + &nested("Option<", "int", ">", MAX_NESTING - 1) + ") {}",
        ];
        for source in sources {
            if let Err(error) = parse_program(&source) {
                panic!("{}...: {error}", &source[..20]);
            }
        }
    });
    let deepest = on_stack(BIG_STACK, || parse_program(&("x := ".to_owned() + &nested("(", "7", ")", MAX_NESTING))));
    let stmts = deepest.expect("parses").stmts;
    assert!(matches!(&stmts[0].kind, StmtKind::Assign { value, .. } if value.kind == ExprKind::Int(7)));
}

#[test]
fn long_unary_prefix_is_flat() {
    let source = format!("x := {}1 + {}true", "-".repeat(100_000), "!".repeat(100_000));
    let e = expr(&source);
    let ExprKind::Binary { first, rest } = e.kind else { panic!() };
    let ExprKind::Unary { ops, operand } = first.kind else { panic!() };
    assert_eq!((ops.len(), operand.kind), (100_000, ExprKind::Int(1)));
    let ExprKind::Unary { ops, .. } = &rest[0].2.kind else { panic!() };
    assert!(ops.len() == 100_000 && ops.iter().all(|(op, _)| *op == UnOp::Not));
}

#[test]
fn long_else_if_chain_is_flat() {
    let source = format!("if a {{ b }}{} else {{ b }}", " else if c { d }".repeat(50_000));
    let StmtKind::If { branches, else_block } = only_stmt(&source) else { panic!() };
    assert_eq!((branches.len(), else_block.map(|b| b.len())), (50_001, Some(1)));
}

#[test]
fn long_postfix_chain_is_flat() {
    let source = format!("x := a{}", ".b(1)[2]".repeat(50_000));
    let ExprKind::Postfix { ops, .. } = expr(&source).kind else { panic!() };
    assert_eq!(ops.len(), 100_000);
}

#[test]
fn one_megabyte_expression_is_flat() {
    let mut source = String::from("x := 1");
    while source.len() < 1 << 20 {
        source.push_str("+1");
    }
    let e = expr(&source);
    let ExprKind::Binary { first, rest } = e.kind else { panic!() };
    assert_eq!(first.kind, ExprKind::Int(1));
    assert_eq!(rest.len(), (source.len() - 6) / 2);
    assert!(rest.iter().all(|(op, _, e)| *op == BinOp::Add && e.kind == ExprKind::Int(1)));
    let (_, last_span, _) = rest.last().unwrap();
    assert_eq!(last_span.col as usize, source.len() - 1);
}

#[test]
fn many_statements_and_lines() {
    let source = "x := f(a, b[1].c, \"s${y}\") * -3 + 4 < 5 && g(h) || k ?? z |> q\n".repeat(20_000);
    let stmts = parse(&source);
    assert_eq!(stmts.len(), 20_000);
    assert_eq!(stmts[19_999].span, span(20_000, 1));
}

/// Re-runs this test binary on a thread of the given stack size, in a child process so a
/// stack overflow cannot take the measuring test down. See `stack_per_nesting_level`.
#[test]
#[ignore = "helper process of stack_per_nesting_level"]
fn stack_probe() {
    let Ok(spec) = std::env::var("RUFF_STACK_PROBE") else {
        return;
    };
    let mut fields = spec.split(',');
    let mut number = || fields.next().and_then(|f| f.parse::<usize>().ok()).expect("probe spec");
    let (stack, depth, kind) = (number(), number(), number());
    let source = stack_probe_source(kind, depth);
    let parsed = on_stack(stack, move || parse_program(&source).is_ok());
    assert!(parsed);
}

fn stack_probe_source(kind: usize, depth: usize) -> String {
    match kind {
        0 => "x := ".to_owned() + &nested("(", "1", ")", depth),
        1 => "x := ".to_owned() + &nested("[", "1", "]", depth),
        2 => nested("if a { ", "x", " }", depth),
        3 => "x := ".to_owned() + &nested("\"${", "1", "}\"", depth),
        _ => "x := ".to_owned() + &nested("f(", "1", ")", depth),
    }
}

/// Measures the native stack one nesting level costs: the smallest thread stack on which
/// depth 1000 parses, minus the smallest for depth 500, over 500. Run with
/// `cargo test --release -- --ignored --nocapture stack_per_nesting_level`.
#[test]
#[ignore = "slow measurement; run by hand in release mode"]
fn stack_per_nesting_level() {
    let exe = std::env::current_exe().expect("test binary path");
    let fits = |stack: usize, depth: usize, kind: usize| {
        std::process::Command::new(&exe)
            .args(["--ignored", "--exact", "parse::tests::stack_probe", "--test-threads=1"])
            .env("RUFF_STACK_PROBE", format!("{stack},{depth},{kind}"))
            .output()
            .expect("run probe")
            .status
            .success()
    };
    let smallest = |depth: usize, kind: usize| {
        let (mut low, mut high) = (16 << 10, 256 << 20);
        while high - low > 4 << 10 {
            let middle = (low + high) / 2;
            if fits(middle, depth, kind) {
                high = middle
            } else {
                low = middle
            }
        }
        high
    };
    for (kind, name) in ["parentheses", "arrays", "blocks", "interpolations", "calls"].iter().enumerate() {
        let (half, full) = (smallest(500, kind), smallest(1000, kind));
        println!(
            "{name}: depth 500 needs {} KiB, depth 1000 needs {} KiB: {} bytes per level",
            half >> 10,
            full >> 10,
            (full - half) / 500
        );
    }
}

/// The call budget stops pathological backtracking only: ordinary code, even code made
/// of the most call-hungry tokens, must parse with a third of it.
#[test]
fn call_budget_headroom() {
    use pest::Parser as _;

    use crate::parse::parser::{RuffGrammar, Rule};
    use crate::parse::{CALLS_PER_BYTE, PEST_SETTINGS_LOCK};

    let samples = [
        "x := 1".to_owned() + &"+1".repeat(50_000),
        "x := f(a, b[1].c, \"s${y}\") * -3 + 4 < 5 && g(h) || k ?? z |> q\n".repeat(1000),
        "struct P { x: int, func m(self) { return self.x } }\nfor k in ks { if k.v { p := P { x: k } } }\n".repeat(500),
        "a\n".repeat(30_000),
        ";".repeat(50_000),
        "x := f".to_owned() + &"()".repeat(30_000),
        "x := \"".to_owned() + &"${a}".repeat(1500) + "\"",
        "x := [a".to_owned() + &" == a".repeat(20_000) + "]",
        "x := ".to_owned() + &nested("(", "1", ")", MAX_NESTING),
    ];
    for source in samples {
        let parsed = on_stack(BIG_STACK, move || {
            let _guard = PEST_SETTINGS_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            pest::set_call_limit(std::num::NonZeroUsize::new(source.len() * CALLS_PER_BYTE / 3));
            let parsed = RuffGrammar::parse(Rule::program, &source).is_ok();
            pest::set_call_limit(None);
            parsed.then_some(()).ok_or_else(|| abbreviated(&source))
        });
        if let Err(source) = parsed {
            panic!("{source:?}... exceeds a third of the call budget");
        }
    }
}
