//! The `wildcard` operator: `*` matches any run of characters (including none),
//! `\*` a literal asterisk and `\\` a literal backslash. Anything else after a
//! backslash, and two wildcards in a row, are refused as EventBridge refuses
//! them.

/// A compiled wildcard: the literal runs between the `*`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wildcard {
    /// Literal segments; a `*` sits between each consecutive pair.
    parts: Vec<String>,
}

impl Wildcard {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = vec![String::new()];
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => push(&mut parts, escaped),
                    // A trailing backslash would escape the closing quote on AWS,
                    // hence "invalid escape" rather than "dangling".
                    _ => return Err(format!("Invalid escape character at pos {}", position(at))),
                },
                '*' => {
                    if matches!(chars.peek(), Some((_, '*'))) {
                        return Err(format!("Consecutive wildcard characters at pos {}", position(at)));
                    }
                    parts.push(String::new());
                }
                other => push(&mut parts, other),
            }
        }
        Ok(Wildcard { parts })
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        let (first, rest) = match self.parts.split_first() {
            Some(split) => split,
            None => return value.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            // No wildcard at all: plain equality.
            return value == first;
        };
        if value.len() < first.len() + last.len()
            || !value.starts_with(first.as_str())
            || !value.ends_with(last.as_str())
        {
            return false;
        }
        // Leftmost placement of each middle run is optimal for `*`-only globs.
        let mut window = &value[first.len()..value.len() - last.len()];
        for part in middle {
            match window.find(part.as_str()) {
                Some(at) => window = &window[at + part.len()..],
                None => return false,
            }
        }
        true
    }
}

fn push(parts: &mut [String], c: char) {
    if let Some(last) = parts.last_mut() {
        last.push(c);
    }
}

/// AWS reports the position as a byte offset into the quoted operand, so the
/// first character is at 1.
fn position(byte_index: usize) -> usize {
    byte_index + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_match_any_run() {
        let w = Wildcard::parse("dir/*.png").unwrap();
        assert!(w.matches("dir/a.png"));
        assert!(w.matches("dir/.png"));
        assert!(w.matches("dir/sub/a.png"));
        assert!(!w.matches("other/dir/a.png"));
        let w = Wildcard::parse("*a*a*").unwrap();
        assert!(w.matches("aa"));
        assert!(!w.matches("a"));
        assert!(Wildcard::parse("*").unwrap().matches(""));
    }

    #[test]
    fn escapes_are_literal() {
        let w = Wildcard::parse(r"report\*final").unwrap();
        assert!(w.matches("report*final"));
        assert!(!w.matches("report-x-final"));
        let w = Wildcard::parse(r"C:\\temp\**").unwrap();
        assert!(w.matches(r"C:\temp*file"));
    }

    #[test]
    fn refusals_name_the_position() {
        assert_eq!(
            Wildcard::parse("h**o").unwrap_err(),
            "Consecutive wildcard characters at pos 2"
        );
        assert_eq!(
            Wildcard::parse(r"a\b").unwrap_err(),
            "Invalid escape character at pos 2"
        );
        assert_eq!(
            Wildcard::parse("ab\\").unwrap_err(),
            "Invalid escape character at pos 3"
        );
        assert_eq!(
            Wildcard::parse("é**").unwrap_err(),
            "Consecutive wildcard characters at pos 3"
        );
    }
}
