//! Intrinsic functions (`States.Format(...)` and friends): a parser for the call syntax and an
//! evaluator. Parsing happens when the definition is loaded, so an unknown function or a wrong
//! number of arguments is a definition error rather than a failed execution.

mod functions;

use serde_json::Value;

use crate::env::Env;
use crate::path::{Path, PathError};

/// Why an intrinsic could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntrinsicError {
    #[error("invalid intrinsic function call '{text}': {reason}")]
    Syntax { text: String, reason: String },
    #[error("unknown intrinsic function {name}")]
    Unknown { name: String },
    #[error("{function} takes {expected} argument(s) but was given {given}")]
    Arity {
        function: &'static str,
        expected: &'static str,
        given: usize,
    },
    #[error("{function}: {message}")]
    Failed { function: &'static str, message: String },
    #[error(transparent)]
    Path(#[from] PathError),
}

/// The intrinsic functions Step Functions defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "States.Format" => Self::Format,
            "States.StringToJson" => Self::StringToJson,
            "States.JsonToString" => Self::JsonToString,
            "States.Array" => Self::Array,
            "States.ArrayPartition" => Self::ArrayPartition,
            "States.ArrayContains" => Self::ArrayContains,
            "States.ArrayRange" => Self::ArrayRange,
            "States.ArrayGetItem" => Self::ArrayGetItem,
            "States.ArrayLength" => Self::ArrayLength,
            "States.ArrayUnique" => Self::ArrayUnique,
            "States.Base64Encode" => Self::Base64Encode,
            "States.Base64Decode" => Self::Base64Decode,
            "States.Hash" => Self::Hash,
            "States.JsonMerge" => Self::JsonMerge,
            "States.MathRandom" => Self::MathRandom,
            "States.MathAdd" => Self::MathAdd,
            "States.StringSplit" => Self::StringSplit,
            "States.UUID" => Self::Uuid,
            _ => return None,
        })
    }

    /// The name as written in a definition.
    pub fn name(self) -> &'static str {
        match self {
            Self::Format => "States.Format",
            Self::StringToJson => "States.StringToJson",
            Self::JsonToString => "States.JsonToString",
            Self::Array => "States.Array",
            Self::ArrayPartition => "States.ArrayPartition",
            Self::ArrayContains => "States.ArrayContains",
            Self::ArrayRange => "States.ArrayRange",
            Self::ArrayGetItem => "States.ArrayGetItem",
            Self::ArrayLength => "States.ArrayLength",
            Self::ArrayUnique => "States.ArrayUnique",
            Self::Base64Encode => "States.Base64Encode",
            Self::Base64Decode => "States.Base64Decode",
            Self::Hash => "States.Hash",
            Self::JsonMerge => "States.JsonMerge",
            Self::MathRandom => "States.MathRandom",
            Self::MathAdd => "States.MathAdd",
            Self::StringSplit => "States.StringSplit",
            Self::Uuid => "States.UUID",
        }
    }

    // (minimum, maximum, how the docs phrase it)
    fn arity(self) -> (usize, usize, &'static str) {
        match self {
            Self::Format => (1, usize::MAX, "at least 1"),
            Self::Array => (0, usize::MAX, "any number of"),
            Self::StringToJson
            | Self::JsonToString
            | Self::ArrayLength
            | Self::ArrayUnique
            | Self::Base64Encode
            | Self::Base64Decode => (1, 1, "exactly 1"),
            Self::ArrayPartition
            | Self::ArrayContains
            | Self::ArrayGetItem
            | Self::Hash
            | Self::MathAdd
            | Self::StringSplit => (2, 2, "exactly 2"),
            Self::ArrayRange | Self::JsonMerge => (3, 3, "exactly 3"),
            Self::MathRandom => (2, 3, "2 or 3"),
            Self::Uuid => (0, 0, "no"),
        }
    }
}

/// One argument of an intrinsic call.
#[derive(Debug, Clone)]
pub enum Arg {
    /// A quoted string: `raw` keeps the escapes so States.Format can tell `\{` from a placeholder.
    Str {
        value: String,
        raw: String,
    },
    /// A number, boolean or null literal.
    Literal(Value),
    Path(Path),
    Call(Box<Intrinsic>),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone)]
pub struct Intrinsic {
    function: Function,
    args: Vec<Arg>,
    text: String,
}

impl Intrinsic {
    /// Parses a call such as `States.Format('Hello {}', $.name)`.
    pub fn parse(text: &str) -> Result<Self, IntrinsicError> {
        let mut parser = CallParser {
            text,
            chars: text.chars().collect(),
            pos: 0,
        };
        let call = parser.call()?;
        parser.skip_ws();
        if parser.pos < parser.chars.len() {
            return Err(parser.error("unexpected text after the closing ')'"));
        }
        Ok(call)
    }

    /// The function this call invokes.
    #[cfg(test)]
    pub fn function(&self) -> Function {
        self.function
    }

    /// The call as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Evaluates the call; `$name` paths read workflow variables.
    pub(crate) fn evaluate_in(&self, env: &Env<'_>) -> Result<Value, IntrinsicError> {
        functions::evaluate(self, env)
    }
}

struct CallParser<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl CallParser<'_> {
    fn error(&self, reason: &str) -> IntrinsicError {
        IntrinsicError::Syntax {
            text: self.text.to_owned(),
            reason: format!("{reason} (at character {})", self.pos),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn identifier(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn call(&mut self) -> Result<Intrinsic, IntrinsicError> {
        self.skip_ws();
        let start = self.pos;
        let name = self.identifier();
        if name.is_empty() {
            return Err(self.error("expected an intrinsic function name"));
        }
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.error(&format!("expected '(' after {name}")));
        }
        let function = Function::from_name(&name).ok_or(IntrinsicError::Unknown { name: name.clone() })?;
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error(&format!("expected ',' or ')' in the arguments of {name}"))),
                }
            }
        }
        let (min, max, expected) = function.arity();
        if args.len() < min || args.len() > max {
            return Err(IntrinsicError::Arity {
                function: function.name(),
                expected,
                given: args.len(),
            });
        }
        let text = self.chars[start..self.pos].iter().collect();
        Ok(Intrinsic { function, args, text })
    }

    fn arg(&mut self) -> Result<Arg, IntrinsicError> {
        self.skip_ws();
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => self.path(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() => {
                let save = self.pos;
                let word = self.identifier();
                self.skip_ws();
                if self.peek() == Some('(') {
                    self.pos = save;
                    return Ok(Arg::Call(Box::new(self.call()?)));
                }
                match word.as_str() {
                    "null" => Ok(Arg::Literal(Value::Null)),
                    "true" => Ok(Arg::Literal(Value::Bool(true))),
                    "false" => Ok(Arg::Literal(Value::Bool(false))),
                    _ => Err(self.error(&format!("'{word}' is not a valid argument"))),
                }
            }
            _ => Err(self.error("expected an argument")),
        }
    }

    fn string(&mut self) -> Result<Arg, IntrinsicError> {
        self.pos += 1; // opening quote
        let mut value = String::new();
        let mut raw = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string literal")),
                Some('\'') => {
                    self.pos += 1;
                    return Ok(Arg::Str { value, raw });
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ ('\'' | '{' | '}' | '\\')) => {
                            self.pos += 1;
                            value.push(c);
                            raw.push('\\');
                            raw.push(c);
                        }
                        // The spec makes an open escape an error; we report it when loading.
                        _ => return Err(self.error("open escape '\\': only \\' \\{ \\} and \\\\ are allowed")),
                    }
                }
                Some(c) => {
                    self.pos += 1;
                    value.push(c);
                    raw.push(c);
                }
            }
        }
    }

    // A path runs to the next ',' or ')' that is not inside brackets, parentheses or quotes.
    fn path(&mut self) -> Result<Arg, IntrinsicError> {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            match (quote, c) {
                (Some(_), '\\') => self.pos += 1,
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"') => quote = Some(c),
                (None, '\'') if depth > 0 => quote = Some(c),
                (None, '[' | '(') => depth += 1,
                (None, ']') => depth = depth.saturating_sub(1),
                (None, ')') if depth == 0 => break,
                (None, ')') => depth -= 1,
                (None, ',') if depth == 0 => break,
                (None, _) => {}
            }
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos.min(self.chars.len())].iter().collect();
        Ok(Arg::Path(Path::parse(text.trim_end())?))
    }

    fn number(&mut self) -> Result<Arg, IntrinsicError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        match serde_json::from_str::<Value>(&text) {
            Ok(value @ Value::Number(_)) => Ok(Arg::Literal(value)),
            _ => Err(self.error(&format!("'{text}' is not a number"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_calls_literals_and_paths() {
        let text = "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.a['b,c'], '/'), 2), -1.5e2)";
        let call = Intrinsic::parse(text).unwrap();
        assert_eq!(call.function(), Function::Format);
        assert_eq!(call.args.len(), 3);
        assert!(matches!(&call.args[1], Arg::Call(inner) if inner.function() == Function::ArrayGetItem));
        assert!(matches!(&call.args[2], Arg::Literal(v) if v.as_f64() == Some(-150.0)));
    }

    #[test]
    fn string_escapes_are_decoded_and_kept_raw() {
        let call = Intrinsic::parse(r"States.Format('Welcome to {} {}\'s playlist \{x\} \\', $.a, $.b)").unwrap();
        let Arg::Str { value, raw } = &call.args[0] else {
            panic!("not a string")
        };
        assert_eq!(value, r"Welcome to {} {}'s playlist {x} \");
        assert_eq!(raw, r"Welcome to {} {}\'s playlist \{x\} \\");
    }

    #[test]
    fn unknown_function_and_bad_arity_are_rejected() {
        assert_eq!(
            Intrinsic::parse("States.Frobnicate($.x)").unwrap_err(),
            IntrinsicError::Unknown {
                name: "States.Frobnicate".to_owned()
            }
        );
        assert!(matches!(
            Intrinsic::parse("States.UUID($.x)"),
            Err(IntrinsicError::Arity { .. })
        ));
        assert!(matches!(
            Intrinsic::parse("States.ArrayRange(1, 2)"),
            Err(IntrinsicError::Arity { .. })
        ));
    }

    #[test]
    fn syntax_errors_are_rejected() {
        for text in [
            "States.Format('x'",
            "States.Format('x) ",
            "States.Format(foo)",
            "States.UUID() extra",
            "States.Format('\\n')",
        ] {
            assert!(
                matches!(Intrinsic::parse(text), Err(IntrinsicError::Syntax { .. })),
                "{text}"
            );
        }
    }
}
