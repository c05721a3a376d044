//! The lexical pre-scan: one linear pass over the source that runs before pest.
//!
//! It has two jobs. First, it reports every lexical error (LANGUAGE.md section 1) with a
//! precise message, so the grammar can assume well-formed tokens: invalid characters,
//! malformed or oversized numbers, bad escapes, unterminated strings and block comments,
//! oversized identifiers and strings. Second, it bounds nesting: pest and the pairs-to-AST
//! converter recurse once per bracket level, so a source nested deeper than
//! [`MAX_NESTING`] is rejected here before anything recursive runs.
//!
//! The scan tokenizes exactly as the grammar does (same identifier, number, string and
//! comment rules), which is what lets the converter treat "an integer literal fits in
//! i64" as a grammar invariant.

use crate::parse::ast::Span;
use crate::parse::{SyntaxError, MAX_NESTING};

/// Longest identifier, in characters.
const MAX_IDENTIFIER_CHARS: usize = 256;
/// Longest string literal, in characters between the quotes (escapes and interpolated
/// source text included).
const MAX_STRING_CHARS: usize = 8192;

/// Checks the tokens of `source` and its bracket nesting.
///
/// After the first closing bracket that does not match, only tokens are checked, not
/// nesting: pest cannot get past that bracket, so it never recurses on what follows.
pub(crate) fn check(source: &str) -> Result<(), SyntaxError> {
    Scanner::new(source).run()
}

/// An open bracket. `Interp` is the `${` of an interpolation, closed by `}`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Paren,
    Bracket,
    Brace,
    Interp,
}

struct Scanner<'s> {
    source: &'s str,
    /// Byte offset of the next character.
    offset: usize,
    line: u32,
    col: u32,
    open: Vec<Open>,
    /// Where each bracket of `open` was opened.
    open_at: Vec<Span>,
    /// A closing bracket did not match; see [`check`].
    brackets_mismatched: bool,
    /// Opening quotes of the strings whose interpolation we are inside, innermost last.
    /// A newline anywhere inside a string literal, interpolations included, ends it.
    open_strings: Vec<Span>,
    /// Unclosed `<` of `Result<..>` / `Option<..>` type annotations. The grammar recurses
    /// on those too, so they count towards the nesting bound. Reset by any token that
    /// cannot appear in a type, so a comparison `Option < x` costs nothing later.
    type_angles: usize,
    /// The previous token was the identifier `Result` or `Option`.
    after_type_constructor: bool,
}

impl<'s> Scanner<'s> {
    fn new(source: &'s str) -> Self {
        Scanner {
            source,
            offset: 0,
            line: 1,
            col: 1,
            open: Vec::new(),
            open_at: Vec::new(),
            brackets_mismatched: false,
            open_strings: Vec::new(),
            type_angles: 0,
            after_type_constructor: false,
        }
    }

    fn here(&self) -> Span {
        Span { line: self.line, col: self.col }
    }

    fn peek(&self) -> Option<char> {
        self.source[self.offset..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        let mut rest = self.source[self.offset..].chars();
        rest.next();
        rest.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn run(mut self) -> Result<(), SyntaxError> {
        while let Some(c) = self.peek() {
            let start = self.here();
            match c {
                ' ' | '\t' | '\r' => {
                    self.bump();
                }
                '\n' => {
                    self.newline_in_code()?;
                    self.bump();
                }
                '#' => self.skip_line_comment(),
                '/' if self.peek_second() == Some('/') => self.skip_line_comment(),
                '/' if self.peek_second() == Some('*') => self.skip_block_comment()?,
                '"' => {
                    self.bump();
                    self.after_token(false);
                    self.string_body(start)?;
                }
                c if c.is_ascii_alphabetic() || c == '_' => self.identifier(start)?,
                c if c.is_ascii_digit() => {
                    self.number(start)?;
                    self.after_token(false);
                }
                '(' | '[' | '{' => {
                    self.bump();
                    let bracket = match c {
                        '(' => Open::Paren,
                        '[' => Open::Bracket,
                        _ => Open::Brace,
                    };
                    self.push(bracket, start)?;
                    self.after_token(false);
                }
                ')' | ']' | '}' => {
                    self.bump();
                    self.after_token(false);
                    match (c, self.open.last()) {
                        (')', Some(Open::Paren)) | (']', Some(Open::Bracket)) | ('}', Some(Open::Brace)) => {
                            self.open.pop();
                            self.open_at.pop();
                        }
                        ('}', Some(Open::Interp)) => {
                            self.open.pop();
                            self.open_at.pop();
                            let string_start = self.open_strings.pop().expect("every Interp frame has an open string");
                            self.string_body(string_start)?;
                        }
                        _ => self.brackets_mismatched = true,
                    }
                }
                '<' => {
                    self.bump();
                    if self.after_type_constructor {
                        self.type_angles += 1;
                        self.check_depth(start)?;
                    } else {
                        self.type_angles = 0;
                    }
                    self.after_type_constructor = false;
                }
                '>' => {
                    self.bump();
                    self.type_angles = self.type_angles.saturating_sub(1);
                    self.after_type_constructor = false;
                }
                ',' => {
                    self.bump();
                    self.after_type_constructor = false;
                }
                ';' | ':' | '.' | '+' | '-' | '*' | '/' | '%' | '=' | '!' | '&' | '|' | '?' => {
                    self.bump();
                    self.after_token(false);
                }
                '\'' => {
                    return Err(error(start, "Invalid character \"'\": string literals use double quotes"));
                }
                other => {
                    return Err(error(start, format!("Invalid character '{}'", other.escape_debug())));
                }
            }
        }
        if let Some(&string_start) = self.open_strings.last() {
            return Err(unterminated_string(string_start));
        }
        // A bracket left open is reported where it was opened, not at the end of the file.
        match (self.brackets_mismatched, self.open.last(), self.open_at.last()) {
            (false, Some(&bracket), Some(&at)) => {
                let (opening, closing) = match bracket {
                    Open::Paren => ('(', ')'),
                    Open::Bracket => ('[', ']'),
                    Open::Brace | Open::Interp => ('{', '}'),
                };
                Err(error(at, format!("Unclosed '{opening}': no matching '{closing}' before the end of the file")))
            }
            _ => Ok(()),
        }
    }

    /// Records that a token other than an identifier, `,`, `<` or `>` was seen.
    fn after_token(&mut self, is_type_constructor: bool) {
        self.after_type_constructor = is_type_constructor;
        if !is_type_constructor {
            self.type_angles = 0;
        }
    }

    fn push(&mut self, bracket: Open, at: Span) -> Result<(), SyntaxError> {
        self.open.push(bracket);
        self.open_at.push(at);
        self.check_depth(at)
    }

    fn check_depth(&self, at: Span) -> Result<(), SyntaxError> {
        if !self.brackets_mismatched && self.open.len() + self.type_angles > MAX_NESTING {
            return Err(error(at, format!("Nesting deeper than {MAX_NESTING} levels")));
        }
        Ok(())
    }

    fn newline_in_code(&self) -> Result<(), SyntaxError> {
        match self.open_strings.last() {
            Some(&string_start) => Err(unterminated_string(string_start)),
            None => Ok(()),
        }
    }

    /// Skips `#...` or `//...` up to (not including) the newline.
    fn skip_line_comment(&mut self) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    fn skip_block_comment(&mut self) -> Result<(), SyntaxError> {
        let start = self.here();
        self.bump();
        self.bump();
        loop {
            match self.peek() {
                None => return Err(error(start, "Unterminated block comment")),
                Some('*') if self.peek_second() == Some('/') => {
                    self.bump();
                    self.bump();
                    return Ok(());
                }
                Some('\n') => {
                    self.newline_in_code()?;
                    self.bump();
                }
                Some(_) => {
                    self.bump();
                }
            }
        }
    }

    fn identifier(&mut self, start: Span) -> Result<(), SyntaxError> {
        let begin = self.offset;
        let mut chars = 0usize;
        while self.peek().is_some_and(is_identifier_char) {
            self.bump();
            chars += 1;
        }
        if chars > MAX_IDENTIFIER_CHARS {
            return Err(error(start, format!("Identifier longer than {MAX_IDENTIFIER_CHARS} characters")));
        }
        let word = &self.source[begin..self.offset];
        self.after_type_constructor = word == "Result" || word == "Option";
        Ok(())
    }

    /// `digits` or `digits.digits`; a letter, digit or `_` right after is an error.
    fn number(&mut self, start: Span) -> Result<(), SyntaxError> {
        let begin = self.offset;
        self.skip_digits();
        let is_float = self.peek() == Some('.') && self.peek_second().is_some_and(|c| c.is_ascii_digit());
        if is_float {
            self.bump();
            self.skip_digits();
        }
        if self.peek().is_some_and(is_identifier_char) {
            while self.peek().is_some_and(is_identifier_char) {
                self.bump();
            }
            let text = &self.source[begin..self.offset];
            return Err(error(start, format!("Invalid number literal '{text}': only decimal digits are allowed")));
        }
        let text = &self.source[begin..self.offset];
        if !is_float && text.parse::<i64>().is_err() {
            return Err(error(start, format!("Integer literal too large: {text}")));
        }
        Ok(())
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
    }

    /// Scans string content from just after an opening quote (or the `}` closing an
    /// interpolation) to the closing quote or the next `${`.
    fn string_body(&mut self, string_start: Span) -> Result<(), SyntaxError> {
        loop {
            let here = self.here();
            match self.peek() {
                None | Some('\n') => return Err(unterminated_string(string_start)),
                Some('"') => {
                    self.bump();
                    // A string is single-line, so its length is a column difference.
                    let chars = (self.col - string_start.col) as usize - 2;
                    if chars > MAX_STRING_CHARS {
                        return Err(error(
                            string_start,
                            format!("String literal longer than {MAX_STRING_CHARS} characters"),
                        ));
                    }
                    return Ok(());
                }
                Some('\\') => {
                    self.bump();
                    match self.peek() {
                        None | Some('\n') => return Err(unterminated_string(string_start)),
                        Some('n' | 't' | 'r' | '\\' | '"' | '$') => {
                            self.bump();
                        }
                        Some(other) => {
                            return Err(error(here, format!("Invalid escape sequence \\{}", other.escape_debug())));
                        }
                    }
                }
                Some('$') if self.peek_second() == Some('{') => {
                    self.bump();
                    self.bump();
                    self.open_strings.push(string_start);
                    return self.push(Open::Interp, here);
                }
                Some(_) => {
                    self.bump();
                }
            }
        }
    }
}

/// Characters that continue an identifier (and that may not follow a number).
fn is_identifier_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn unterminated_string(start: Span) -> SyntaxError {
    error(start, "Unterminated string literal")
}

fn error(span: Span, message: impl Into<String>) -> SyntaxError {
    SyntaxError { span, message: message.into() }
}
