//! Byte offsets (what pest reports) to [`Span`]s (1-based line, column in characters).

use crate::parse::ast::Span;

/// Maps byte offsets of one source to spans.
///
/// pest's own `line_col` rescans the input from the start on every call, which is
/// quadratic over a large file. This keeps the start of every line plus a cursor: the
/// converter asks for positions in (nearly) increasing order, so each lookup only counts
/// the characters since the previous one.
pub(crate) struct Positions<'s> {
    source: &'s str,
    line_starts: Vec<usize>,
    cursor: Cursor,
}

#[derive(Clone, Copy)]
struct Cursor {
    offset: usize,
    /// Index into `line_starts`.
    line: usize,
    col: u32,
}

impl<'s> Positions<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        let line_starts =
            std::iter::once(0).chain(source.match_indices('\n').map(|(newline, _)| newline + 1)).collect();
        Positions { source, line_starts, cursor: Cursor { offset: 0, line: 0, col: 1 } }
    }

    /// The span of the character starting at byte `offset` (or of the end of input).
    pub(crate) fn span(&mut self, offset: usize) -> Span {
        let Cursor { offset: cursor_offset, line, col } = self.cursor;
        let line_end = self.line_starts.get(line + 1).copied().unwrap_or(usize::MAX);
        let cursor = if cursor_offset <= offset && offset < line_end {
            Cursor { offset, line, col: col + char_count(&self.source[cursor_offset..offset]) }
        } else {
            let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
            let line_start = self.line_starts[line];
            Cursor { offset, line, col: 1 + char_count(&self.source[line_start..offset]) }
        };
        self.cursor = cursor;
        Span { line: cursor.line as u32 + 1, col: cursor.col }
    }
}

fn char_count(text: &str) -> u32 {
    text.chars().count() as u32
}
