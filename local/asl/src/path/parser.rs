//! The path parser: Jayway member names (with backslash escapes), brackets, slices, unions, deep
//! scan, and filters captured verbatim for serde_json_path.

use super::{Segment, Selector};

pub(super) struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    pub(super) fn new(text: &str) -> Self {
        Self {
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    pub(super) fn parse(mut self) -> Result<Vec<Segment>, String> {
        if self.bump() != Some('$') {
            return Err("a path must start with '$'".to_owned());
        }
        let mut segments = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                '.' if self.peek_at(1) == Some('.') => {
                    self.pos += 2;
                    let selector = match self.peek() {
                        Some('[') => self.bracket()?,
                        Some('*') => {
                            self.pos += 1;
                            Selector::Wildcard
                        }
                        _ => Selector::Name(self.dotted_name()?),
                    };
                    segments.push(Segment::Descendant(selector));
                }
                '.' => {
                    self.pos += 1;
                    if self.peek() == Some('*') {
                        self.pos += 1;
                        segments.push(Segment::Child(Selector::Wildcard));
                    } else {
                        segments.push(Segment::Child(Selector::Name(self.dotted_name()?)));
                    }
                }
                '[' => {
                    let selector = self.bracket()?;
                    segments.push(Segment::Child(selector));
                }
                other => return Err(format!("unexpected '{other}' at position {}", self.pos)),
            }
        }
        Ok(segments)
    }

    fn dotted_name(&mut self) -> Result<String, String> {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            match c {
                '.' | '[' => break,
                '\\' => {
                    self.pos += 1;
                    let escaped = self.bump().ok_or("the path ends with an open escape '\\'")?;
                    name.push(escaped);
                }
                _ => {
                    self.pos += 1;
                    name.push(c);
                }
            }
        }
        if name.is_empty() {
            return Err(format!("empty member name at position {}", self.pos));
        }
        if name.ends_with("()") {
            return Err(format!("JSONPath functions such as '{name}' are not supported"));
        }
        Ok(name)
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
    }

    fn bracket(&mut self) -> Result<Selector, String> {
        self.pos += 1; // '['
        self.skip_spaces();
        let selector = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Selector::Wildcard
            }
            Some('?') => {
                self.pos += 1;
                return Ok(Selector::Filter(self.filter_body()?));
            }
            Some('\'' | '"') => {
                let mut names = vec![Selector::Name(self.quoted()?)];
                loop {
                    self.skip_spaces();
                    if self.peek() != Some(',') {
                        break;
                    }
                    self.pos += 1;
                    self.skip_spaces();
                    names.push(Selector::Name(self.quoted()?));
                }
                if names.len() == 1 {
                    names.remove(0)
                } else {
                    Selector::Union(names)
                }
            }
            _ => self.numeric()?,
        };
        self.skip_spaces();
        if self.bump() != Some(']') {
            return Err(format!("expected ']' at position {}", self.pos.saturating_sub(1)));
        }
        Ok(selector)
    }

    // A backslash keeps the next character from closing the name, but only `\<quote>` and `\\` lose
    // their backslash: any other backslash is part of the name. AWS reads `$['Test\""Name"']` as the
    // key `Test\""Name"` (test_base_scenarios.snapshot.json::test_escape_sequence_parsing
    // [ESCAPE_SEQUENCES_JSONPATH]), where dropping every backslash would look up `Test""Name"`.
    fn quoted(&mut self) -> Result<String, String> {
        let quote = self.bump().ok_or("expected a quoted name")?;
        let mut name = String::new();
        loop {
            match self.bump() {
                None => return Err("unterminated quoted name".to_owned()),
                Some('\\') => {
                    let escaped = self.bump().ok_or("unterminated quoted name")?;
                    if escaped != quote && escaped != '\\' {
                        name.push('\\');
                    }
                    name.push(escaped);
                }
                Some(c) if c == quote => return Ok(name),
                Some(c) => name.push(c),
            }
        }
    }

    fn integer(&mut self) -> Result<Option<i64>, String> {
        self.skip_spaces();
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        self.skip_spaces();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).map_err(|_| format!("'{text}' is not an index"))
    }

    fn numeric(&mut self) -> Result<Selector, String> {
        let first = self.integer()?;
        match self.peek() {
            Some(':') => {
                self.pos += 1;
                let end = self.integer()?;
                let step = if self.peek() == Some(':') {
                    self.pos += 1;
                    self.integer()?
                } else {
                    None
                };
                if step == Some(0) {
                    return Err("a slice step cannot be 0".to_owned());
                }
                Ok(Selector::Slice {
                    start: first,
                    end,
                    step,
                })
            }
            Some(',') => {
                let mut parts = vec![Selector::Index(first.ok_or("expected an index before ','")?)];
                while self.peek() == Some(',') {
                    self.pos += 1;
                    parts.push(Selector::Index(self.integer()?.ok_or("expected an index after ','")?));
                }
                Ok(Selector::Union(parts))
            }
            _ => first
                .map(Selector::Index)
                .ok_or_else(|| format!("unexpected content in brackets at position {}", self.pos)),
        }
    }

    // Captures the filter text up to the bracket that closes it, honouring nesting and quotes.
    fn filter_body(&mut self) -> Result<String, String> {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.bump() {
            match (quote, c) {
                (Some(_), '\\') => self.pos += 1,
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '(' | '[') => depth += 1,
                (None, ')') => depth = depth.saturating_sub(1),
                (None, ']') if depth == 0 => {
                    let body: String = self
                        .chars
                        .get(start..self.pos.saturating_sub(1))
                        .unwrap_or_default()
                        .iter()
                        .collect();
                    return Ok(body.trim().to_owned());
                }
                (None, ']') => depth -= 1,
                (None, _) => {}
            }
        }
        Err("unterminated filter expression".to_owned())
    }
}
