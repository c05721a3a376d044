//! Input generation for the front-end fuzzer: mutated corpus programs and random token
//! streams.
//!
//! Owns the pseudo-random generator and every mutation. Invariant: an input is a pure
//! function of `(seed, index)` and the corpus ([`Generator::input`]), so any input a run
//! reports can be regenerated with `--seed S --first I --count 1`, and inputs need not be
//! generated in order (worker threads take indices as they come).

/// SplitMix64: small, fast and good enough to drive mutations; not for cryptography.
pub struct Rng(u64);

impl Rng {
    /// The generator for input `index` of run `seed`: independent of every other index.
    pub fn for_input(seed: u64, index: u64) -> Rng {
        let mut mixer = Rng(seed ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        Rng(mixer.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound`; `bound` must be positive.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    /// True once in `n` draws on average.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A size that is usually small but sometimes large: `1..=max`, log-uniform.
    pub fn size(&mut self, max: usize) -> usize {
        let bits = usize::BITS - max.leading_zeros();
        let limit = 1usize << self.below(bits as usize + 1).min(usize::BITS as usize - 1);
        1 + self.below(limit.min(max))
    }
}

/// Tokens that random streams and token insertions draw from: every keyword and operator
/// of the grammar, brackets, literals of each kind and a few identifiers the corpus uses.
const DICTIONARY: &[&str] = &[
    "let",
    "mut",
    "const",
    "func",
    "return",
    "if",
    "else",
    "while",
    "loop",
    "for",
    "in",
    "break",
    "continue",
    "match",
    "case",
    "default",
    "try",
    "except",
    "throw",
    "struct",
    "enum",
    "impl",
    "import",
    "export",
    "from",
    "spawn",
    "async",
    "await",
    "yield",
    "self",
    "true",
    "false",
    "null",
    "Ok",
    "Err",
    "Some",
    "None",
    "Result",
    "Option",
    "int",
    "float",
    "string",
    "bool",
    "test",
    "test_group",
    "test_setup",
    "test_teardown",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    "::",
    ":=",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "+=",
    "-=",
    "*=",
    "/=",
    "%=",
    "&&",
    "||",
    "!",
    "??",
    "|>",
    "->",
    "=>",
    ".",
    "...",
    "_",
    "\n",
    "0",
    "1",
    "-1",
    "42",
    "2.5",
    "1e10",
    "9223372036854775807",
    "\"s\"",
    "\"${x}\"",
    "\"\\n\"",
    "x",
    "y",
    "a",
    "i",
    "f",
    "print",
    "len",
    "push",
    "range",
    "map",
    "#",
    "//",
    "/*",
    "*/",
    "\"",
    "${",
    "$",
    // Module syntax (LANGUAGE.md 18.1) as whole phrases, so that insertions make imports
    // of the corpus's own modules and exports that parse, not only stray keywords.
    "import modlib.shapes",
    "from modlib.deep.numbers import square, divide",
    "export func",
    "export let",
    "shapes.make",
];

/// Bytes that tend to matter to a lexer, for byte insertions.
const INTERESTING_BYTES: &[u8] = b"\0\t\n\r \"#$'()*+,-./0123456789:;<=>?[\\]_{|}~\x7f\x80\xbf\xc0\xc3\xe2\xef\xf0\xff";

/// Operators the tokenizer keeps whole, longest first.
const OPERATORS: &[&str] = &[
    "...", ":=", "::", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "&&", "||", "??", "|>", "->", "=>", "${",
    "//", "/*", "*/",
];

/// Splits bytes into tokens roughly as Ruff lexes them: identifier/number runs, whitespace
/// runs, quoted strings up to their closing quote or the line end, multi-byte operators,
/// and single bytes. Exactness does not matter; the pieces only have to be plausible
/// units to delete, duplicate and move. Concatenating the tokens gives back the input.
pub fn tokenize(bytes: &[u8]) -> Vec<&[u8]> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b >= 0x80;
        let len = if word(&rest[0]) {
            rest.iter().take_while(|b| word(b)).count()
        } else if rest[0].is_ascii_whitespace() {
            rest.iter().take_while(|b| b.is_ascii_whitespace()).count()
        } else if rest[0] == b'"' {
            rest[1..].iter().position(|&b| b == b'"' || b == b'\n').map_or(rest.len(), |end| end + 2)
        } else {
            OPERATORS.iter().find(|op| rest.starts_with(op.as_bytes())).map_or(1, |op| op.len())
        };
        let len = len.min(rest.len());
        tokens.push(&rest[..len]);
        at += len;
    }
    tokens
}

/// Builds inputs from a corpus of programs.
pub struct Generator {
    corpus: Vec<Vec<u8>>,
}

impl Generator {
    /// `corpus` must not be empty.
    pub fn new(corpus: Vec<Vec<u8>>) -> Generator {
        assert!(!corpus.is_empty(), "the fuzzer needs at least one corpus program");
        Generator { corpus }
    }

    /// Input `index` of run `seed`.
    pub fn input(&self, seed: u64, index: u64) -> Vec<u8> {
        let mut rng = Rng::for_input(seed, index);
        let mut input = match rng.below(20) {
            0..=1 => random_tokens(&mut rng),
            2..=3 => random_program(&mut rng),
            4..=5 => self.splice(&mut rng),
            _ => rng.pick(&self.corpus).clone(),
        };
        // Half the inputs get a single mutation, so that a fair share still compiles and
        // reaches `ruff run`.
        let mutations = if rng.one_in(2) { 1 } else { rng.size(8) };
        for _ in 0..mutations {
            input = self.mutate(&mut rng, input);
        }
        input
    }

    fn splice(&self, rng: &mut Rng) -> Vec<u8> {
        let first = rng.pick(&self.corpus);
        let second = rng.pick(&self.corpus);
        let cut_first = rng.below(first.len() + 1);
        let cut_second = rng.below(second.len() + 1);
        let mut spliced = first[..cut_first].to_vec();
        spliced.extend_from_slice(&second[cut_second..]);
        spliced
    }

    fn mutate(&self, rng: &mut Rng, input: Vec<u8>) -> Vec<u8> {
        match rng.below(100) {
            0..=24 => mutate_bytes(rng, input),
            25..=54 => mutate_tokens(rng, &input),
            55..=69 => replace_in_kind(rng, &input),
            70..=79 => {
                let statement = deep_nesting(rng);
                insert_at_line_start(rng, input, &statement)
            }
            80..=84 => {
                let statement = long_chain(rng);
                insert_at_line_start(rng, input, &statement)
            }
            85..=94 => {
                let piece = lexical_oddity(rng);
                insert_anywhere(rng, input, &piece)
            }
            _ => {
                let donor = rng.pick(&self.corpus);
                let start = rng.below(donor.len() + 1);
                let end = start + rng.below(donor.len() - start + 1);
                insert_anywhere(rng, input, &donor[start..end])
            }
        }
    }
}

fn mutate_bytes(rng: &mut Rng, mut input: Vec<u8>) -> Vec<u8> {
    let at = rng.below(input.len() + 1);
    match rng.below(6) {
        0 if at < input.len() => input[at] ^= 1 << rng.below(8),
        1 if at < input.len() => input[at] = *rng.pick(INTERESTING_BYTES),
        2 => {
            let count = rng.size(4);
            for _ in 0..count {
                input.insert(at, *rng.pick(INTERESTING_BYTES));
            }
        }
        3 => {
            let end = (at + rng.size(16)).min(input.len());
            input.drain(at..end);
        }
        4 => {
            let end = (at + rng.size(64)).min(input.len());
            let copy = input[at..end].to_vec();
            let to = rng.below(input.len() + 1);
            input.splice(to..to, copy);
        }
        _ if !input.is_empty() => input.truncate(at),
        _ => input.push(rng.next_u64() as u8),
    }
    input
}

fn mutate_tokens(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut tokens: Vec<Vec<u8>> = tokenize(input).into_iter().map(<[u8]>::to_vec).collect();
    let at = rng.below(tokens.len() + 1);
    match rng.below(6) {
        0 if at < tokens.len() => {
            let end = (at + rng.size(4)).min(tokens.len());
            tokens.drain(at..end);
        }
        1 if at < tokens.len() => {
            let end = (at + rng.size(16)).min(tokens.len());
            let copy = tokens[at..end].to_vec();
            let times = rng.size(4);
            for _ in 0..times {
                tokens.splice(at..at, copy.iter().cloned());
            }
        }
        2 if tokens.len() >= 2 => {
            let other = rng.below(tokens.len());
            let first = at.min(tokens.len() - 1);
            tokens.swap(first, other);
        }
        3 if at < tokens.len() => tokens[at] = rng.pick(DICTIONARY).as_bytes().to_vec(),
        4 => {
            let token = rng.pick(DICTIONARY);
            let padded = if rng.one_in(2) { format!(" {token} ") } else { token.to_string() };
            tokens.insert(at, padded.into_bytes());
        }
        _ if at < tokens.len() => {
            let end = (at + rng.size(32)).min(tokens.len());
            let moved: Vec<Vec<u8>> = tokens.drain(at..end).collect();
            let to = rng.below(tokens.len() + 1);
            tokens.splice(to..to, moved);
        }
        _ => tokens.push(rng.pick(DICTIONARY).as_bytes().to_vec()),
    }
    tokens.concat()
}

/// Binary operators, any of which can stand where another one does.
const BINARY_OPERATORS: &[&str] = &["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "??", "|>"];

/// Literals that stress arithmetic, comparisons and types at run time.
const LITERALS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "7",
    "1000000",
    "9223372036854775807",
    "-9223372036854775807",
    "0.0",
    "-0.0",
    "0.5",
    "1.5e308",
    "1e-300",
    "true",
    "false",
    "null",
    "\"\"",
    "\"s\"",
    "[]",
    "[1, 2]",
    "{}",
    "None",
    "Ok(1)",
];

/// Replaces one token by another of its kind (an operator by an operator, a literal by a
/// literal, a name by a name from the same input), so that the result usually still
/// compiles and reaches `ruff run` with different types, values and control flow.
fn replace_in_kind(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut tokens: Vec<Vec<u8>> = tokenize(input).into_iter().map(<[u8]>::to_vec).collect();
    let is_name = |t: &[u8]| t.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    let is_literal = |t: &[u8]| t.first().is_some_and(|b| b.is_ascii_digit() || *b == b'"');
    let is_operator = |t: &[u8]| BINARY_OPERATORS.iter().any(|op| op.as_bytes() == t);
    let names: Vec<Vec<u8>> = tokens.iter().filter(|t| is_name(t)).cloned().collect();
    let candidates: Vec<usize> = (0..tokens.len())
        .filter(|&i| is_name(&tokens[i]) || is_literal(&tokens[i]) || is_operator(&tokens[i]))
        .collect();
    if candidates.is_empty() {
        return tokens.concat();
    }
    let at = *rng.pick(&candidates);
    tokens[at] = if is_operator(&tokens[at]) {
        rng.pick(BINARY_OPERATORS).as_bytes().to_vec()
    } else if is_literal(&tokens[at]) || rng.one_in(4) {
        rng.pick(LITERALS).as_bytes().to_vec()
    } else {
        rng.pick(&names).clone()
    };
    tokens.concat()
}

/// Deep nesting, the classic cause of native stack overflows: usually balanced so that it
/// reaches the parser's converter and the compiler, with depths around the parser's
/// limit (1000) and far beyond; sometimes only opened.
fn deep_nesting(rng: &mut Rng) -> Vec<u8> {
    const SHAPES: &[(&str, &str, &str)] = &[
        ("x := ", "(", ")"),
        ("x := ", "[", "]"),
        ("x := ", "{\"k\": ", "}"),
        ("x := ", "f(", ")"),
        ("x := ", "-(", ")"),
        ("x := ", "!(", ")"),
        ("x := ", "\"${", "}\""),
        ("x := ", "[...", "]"),
        ("x := ", "func () { return ", " }"),
        ("x := ", "func (a) { return a + ", " }"),
        ("", "if a { ", " }"),
        ("", "while a { ", " }"),
        ("", "loop { ", " }"),
        ("", "for i in a { ", " }"),
        ("", "try { ", " } except e { }"),
        ("", "func f() { ", " }"),
        ("", "{ ", " }"),
        ("", "match a { case 1: { ", " } }"),
        ("", "match a { default: { ", " } }"),
        ("", "func f(a: Option<", "> ) {}"),
        ("", "x := Ok(", ")"),
        ("x := ", "a[", "]"),
    ];
    let (prefix, open, close) = *rng.pick(SHAPES);
    let depth = match rng.below(4) {
        0 => 990 + rng.below(20),
        1 => 10_000,
        2 => rng.size(3000),
        _ => rng.size(200),
    };
    let middle = *rng.pick(&["1", "x", "", "print(1)", "return 1", "break", "a := 1"]);
    let mut text = String::from(prefix);
    text.push_str(&open.repeat(depth));
    text.push_str(middle);
    if !rng.one_in(8) {
        text.push_str(&close.repeat(depth));
    }
    text.push('\n');
    text.into_bytes()
}

/// Long flat constructs the parser stores as vectors: they must cost no stack per element.
fn long_chain(rng: &mut Rng) -> Vec<u8> {
    let length = match rng.below(3) {
        0 => 50_000,
        _ => rng.size(5_000),
    };
    let text = match rng.below(9) {
        0 => format!("x := 1{}\n", " + 1".repeat(length)),
        1 => format!("x := a{}\n", ".b".repeat(length)),
        2 => format!("x := {}a\n", "!".repeat(length)),
        3 => format!("x := {}1\n", "- ".repeat(length)),
        4 => format!("if a {{ }}{}\n", " else if a { }".repeat(length)),
        5 => format!("x := a{}\n", "[0]".repeat(length)),
        6 => format!("x := f{}\n", "()".repeat(length)),
        7 => format!("x := a{}\n", " |> f".repeat(length)),
        _ => "x := 1\n".repeat(length),
    };
    text.into_bytes()
}

/// Lexical corner cases: huge and malformed numbers, unterminated strings and comments,
/// invalid UTF-8, control characters.
fn lexical_oddity(rng: &mut Rng) -> Vec<u8> {
    match rng.below(14) {
        0 => "9".repeat(rng.size(20_000)).into_bytes(),
        1 => format!("1.{}", "0".repeat(rng.size(20_000))).into_bytes(),
        2 => format!("1e{}", "9".repeat(rng.size(40))).into_bytes(),
        3 => b"9223372036854775808".to_vec(),
        4 => b"-9223372036854775808".to_vec(),
        5 => format!("\"{}", "a".repeat(rng.size(10_000))).into_bytes(),
        6 => b"\"${".to_vec(),
        7 => b"/*".to_vec(),
        8 => vec![0xff, 0xfe],
        9 => vec![0xc3],
        10 => vec![0xe2, 0x82],
        11 => "\u{feff}\u{200b}\u{1F600}é".as_bytes().to_vec(),
        12 => "a".repeat(rng.size(1_000)).into_bytes(),
        _ => vec![rng.below(32) as u8],
    }
}

fn insert_anywhere(rng: &mut Rng, mut input: Vec<u8>, piece: &[u8]) -> Vec<u8> {
    let at = rng.below(input.len() + 1);
    input.splice(at..at, piece.iter().copied());
    input
}

/// Inserts `statement` where a line starts, so that it is often syntactically in place.
fn insert_at_line_start(rng: &mut Rng, mut input: Vec<u8>, statement: &[u8]) -> Vec<u8> {
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(input.iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| i + 1)).collect();
    let at = *rng.pick(&line_starts);
    input.splice(at..at, statement.iter().copied());
    input
}

/// A stream of dictionary tokens with random spacing: mostly garbage to the parser.
fn random_tokens(rng: &mut Rng) -> Vec<u8> {
    let count = rng.size(400);
    let mut text = Vec::new();
    for _ in 0..count {
        text.extend_from_slice(rng.pick(DICTIONARY).as_bytes());
        text.extend_from_slice(rng.pick(&[" ", " ", "", "\n"]).as_bytes());
    }
    text
}

/// A random but mostly well-formed program, so that mutations start from inputs that
/// reach the compiler with shapes the corpus does not have.
fn random_program(rng: &mut Rng) -> Vec<u8> {
    let mut text = String::new();
    let statements = rng.size(30);
    for _ in 0..statements {
        statement(rng, &mut text, 0);
    }
    text.into_bytes()
}

const NAMES: &[&str] = &["a", "b", "x", "i", "f", "g", "s", "self", "Point", "print", "len", "push"];

fn statement(rng: &mut Rng, out: &mut String, depth: usize) {
    let nested = depth < 6;
    match rng.below(if nested { 14 } else { 6 }) {
        0 => *out += &format!("{} := {}\n", rng.pick(NAMES), expression(rng, depth)),
        1 => *out += &format!("let {} := {}\n", rng.pick(NAMES), expression(rng, depth)),
        2 => {
            *out += &format!("{} {} {}\n", rng.pick(NAMES), rng.pick(&["=", "+=", "-=", "*="]), expression(rng, depth))
        }
        3 => *out += &format!("print({})\n", expression(rng, depth)),
        4 => *out += &format!("return {}\n", expression(rng, depth)),
        5 => *out += *rng.pick(&["break\n", "continue\n", "throw(\"e\")\n"]),
        6..=9 => {
            let header = match rng.below(4) {
                0 => format!("if {} ", expression(rng, depth)),
                1 => format!("while {} ", expression(rng, depth)),
                2 => format!("for {} in {} ", rng.pick(NAMES), expression(rng, depth)),
                _ => format!("func {}(a, b) ", rng.pick(NAMES)),
            };
            block(rng, out, depth, &header);
        }
        10 => {
            block(rng, out, depth, "try ");
            block(rng, out, depth, "except e ");
        }
        11 => {
            *out += &format!("match {} {{\n", expression(rng, depth));
            let cases = rng.size(4);
            for _ in 0..cases {
                let pattern = rng.pick(&["1", "\"s\"", "Ok(v)", "Err(e)", "Some(v)", "None", "x"]);
                let header = format!("case {}: ", pattern);
                block(rng, out, depth, &header);
            }
            if rng.one_in(2) {
                block(rng, out, depth, "default: ");
            }
            *out += "}\n";
        }
        12 => *out += "struct Point { x y func norm(self) { return x * x + y * y } }\n",
        _ => block(rng, out, depth, "loop "),
    }
}

fn block(rng: &mut Rng, out: &mut String, depth: usize, header: &str) {
    *out += header;
    *out += "{\n";
    let statements = rng.size(4);
    for _ in 0..statements {
        statement(rng, out, depth + 1);
    }
    *out += "}\n";
}

fn expression(rng: &mut Rng, depth: usize) -> String {
    if depth > 4 || rng.one_in(3) {
        return rng
            .pick(&[
                "0",
                "1",
                "-7",
                "2.5",
                "9223372036854775807",
                "\"str\"",
                "\"${a}\"",
                "true",
                "null",
                "a",
                "x",
                "i",
                "[]",
                "{}",
                "None",
            ])
            .to_string();
    }
    let inner = depth + 1;
    match rng.below(9) {
        0 => format!(
            "{} {} {}",
            expression(rng, inner),
            rng.pick(&["+", "-", "*", "/", "%", "==", "<", "&&", "||", "??", "|>"]),
            expression(rng, inner)
        ),
        1 => format!("{}({})", rng.pick(NAMES), expression(rng, inner)),
        2 => format!("[{}, {}]", expression(rng, inner), expression(rng, inner)),
        3 => format!("{{\"k\": {}}}", expression(rng, inner)),
        4 => format!("{}[{}]", rng.pick(NAMES), expression(rng, inner)),
        5 => format!("func (a) {{ return {} }}", expression(rng, inner)),
        6 => format!("{}.{}", rng.pick(NAMES), rng.pick(NAMES)),
        7 => format!("Point {{ x: {}, y: 2 }}", expression(rng, inner)),
        _ => format!("({})", expression(rng, inner)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_concatenate_back_to_the_input() {
        let source = b"x := \"a${b}\" + 1.5e3 // c\n\xff if a != b { f(...xs) }";
        assert_eq!(tokenize(source).concat(), source.to_vec());
    }

    #[test]
    fn inputs_depend_only_on_seed_and_index() {
        let generator = Generator::new(vec![b"print(1)\n".to_vec(), b"x := [1, 2]\n".to_vec()]);
        assert_eq!(generator.input(7, 1234), generator.input(7, 1234));
        assert_ne!((0..20).map(|i| generator.input(7, i)).collect::<Vec<_>>(), vec![generator.input(7, 0); 20]);
    }

    #[test]
    fn sizes_stay_in_range() {
        let mut rng = Rng::for_input(1, 0);
        assert!((0..10_000).map(|_| rng.size(300)).all(|s| (1..=300).contains(&s)));
    }
}
