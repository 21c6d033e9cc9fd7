//! What each intrinsic function computes, with the input validation AWS documents.

use crate::env::Env;
use base64::Engine as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Map, Number, Value};

use super::{Arg, Function, Intrinsic, IntrinsicError};
use crate::path::type_name;
use crate::value::json_eq;

// AWS limits the data given to Base64Encode/Base64Decode/Hash to this many characters.
const MAX_DATA_CHARS: usize = 10_000;
// AWS refuses ArrayRange results longer than this.
const MAX_RANGE_ITEMS: usize = 1000;

pub(super) fn evaluate(call: &Intrinsic, env: &Env<'_>) -> Result<Value, IntrinsicError> {
    let function = call.function;
    let fail = |message: String| IntrinsicError::Failed {
        function: function.name(),
        message,
    };
    let args = call
        .args
        .iter()
        .map(|arg| argument(arg, env))
        .collect::<Result<Vec<_>, _>>()?;
    let arg = |i: usize| args.get(i).ok_or_else(|| fail(format!("missing argument {}", i + 1)));

    match function {
        Function::Format => format(call, &args).map_err(fail),
        Function::StringToJson => {
            let text = string(arg(0)?, "the argument").map_err(fail)?;
            string_to_json(text).map_err(fail)
        }
        Function::JsonToString => Ok(Value::String(arg(0)?.to_string())),
        Function::Array => Ok(Value::Array(args.clone())),
        Function::ArrayPartition => {
            let items = array(arg(0)?, "the first argument").map_err(fail)?;
            let size = integer(arg(1)?, "the chunk size").map_err(fail)?;
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| fail("the chunk size must be a positive integer".to_owned()))?;
            Ok(Value::Array(
                items.chunks(size).map(|c| Value::Array(c.to_vec())).collect(),
            ))
        }
        Function::ArrayContains => {
            let items = array(arg(0)?, "the first argument").map_err(fail)?;
            let wanted = arg(1)?;
            Ok(Value::Bool(items.iter().any(|item| json_eq(item, wanted))))
        }
        Function::ArrayRange => {
            let start = integer(arg(0)?, "the start").map_err(fail)?;
            let end = integer(arg(1)?, "the end").map_err(fail)?;
            let step = integer(arg(2)?, "the step").map_err(fail)?;
            range(start, end, step).map_err(fail)
        }
        Function::ArrayGetItem => {
            let items = array(arg(0)?, "the first argument").map_err(fail)?;
            let index = integer(arg(1)?, "the index").map_err(fail)?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| {
                    fail(format!(
                        "index {index} is out of bounds for an array of {}",
                        items.len()
                    ))
                })
        }
        Function::ArrayLength => {
            let items = array(arg(0)?, "the argument").map_err(fail)?;
            Ok(Value::from(items.len()))
        }
        Function::ArrayUnique => {
            let items = array(arg(0)?, "the argument").map_err(fail)?;
            let mut unique: Vec<Value> = Vec::new();
            for item in items {
                if !unique.iter().any(|seen| json_eq(seen, item)) {
                    unique.push(item.clone());
                }
            }
            Ok(Value::Array(unique))
        }
        Function::Base64Encode => {
            let text = limited_string(arg(0)?).map_err(fail)?;
            Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(text)))
        }
        Function::Base64Decode => {
            let text = limited_string(arg(0)?).map_err(fail)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| fail(format!("the argument is not valid base64: {e}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| fail("the decoded data is not UTF-8 text".to_owned()))
        }
        Function::Hash => {
            let text = limited_string(arg(0)?).map_err(fail)?;
            let algorithm = string(arg(1)?, "the algorithm").map_err(fail)?;
            hash(text, algorithm).map(Value::String).map_err(fail)
        }
        Function::JsonMerge => {
            let left = object(arg(0)?, "the first argument").map_err(fail)?;
            let right = object(arg(1)?, "the second argument").map_err(fail)?;
            match arg(2)? {
                Value::Bool(false) => {}
                Value::Bool(true) => return Err(fail("deep merging is not supported; pass false".to_owned())),
                other => {
                    return Err(fail(format!(
                        "the third argument must be false, got a {}",
                        type_name(other)
                    )))
                }
            }
            let mut merged = left.clone();
            merged.extend(right.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(Value::Object(merged))
        }
        Function::MathRandom => {
            let start = rounded(arg(0)?, "the start").map_err(fail)?;
            let end = rounded(arg(1)?, "the end").map_err(fail)?;
            if start >= end {
                return Err(fail(format!("the start ({start}) must be less than the end ({end})")));
            }
            // Same seed, same number, as AWS documents; the end is exclusive.
            let value = match args.get(2) {
                Some(seed) => {
                    let seed = rounded(seed, "the seed").map_err(fail)?;
                    rand::rngs::StdRng::seed_from_u64(seed.cast_unsigned()).random_range(start..end)
                }
                None => rand::rng().random_range(start..end),
            };
            Ok(Value::from(value))
        }
        Function::MathAdd => {
            // AWS rounds each non-integer argument to the nearest integer before adding (see `rounded`).
            let a = rounded(arg(0)?, "the first argument").map_err(fail)?;
            let b = rounded(arg(1)?, "the second argument").map_err(fail)?;
            a.checked_add(b)
                .map(Value::from)
                .ok_or_else(|| fail("the sum overflows".to_owned()))
        }
        Function::StringSplit => {
            let text = string(arg(0)?, "the first argument").map_err(fail)?;
            let delimiters = string(arg(1)?, "the delimiter").map_err(fail)?;
            // Every character of the second argument is a delimiter and empty pieces are dropped,
            // which is what the docs' "This.is+a,test=string" / ".+,=" example shows.
            let parts = text
                .split(|c| delimiters.contains(c))
                .filter(|part| !part.is_empty())
                .map(|part| Value::String(part.to_owned()))
                .collect();
            Ok(Value::Array(parts))
        }
        Function::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
    }
}

fn argument(arg: &Arg, env: &Env<'_>) -> Result<Value, IntrinsicError> {
    Ok(match arg {
        Arg::Str { value, .. } => Value::String(value.clone()),
        Arg::Literal(value) => value.clone(),
        Arg::Path(path) => path.select_in(env)?,
        Arg::Call(call) => call.evaluate_in(env)?,
    })
}

fn format(call: &Intrinsic, args: &[Value]) -> Result<Value, String> {
    let Some((template, values)) = args.split_first() else {
        return Err("missing the template argument".to_owned());
    };
    // A literal template keeps its escapes so that \{ and \} are not taken for placeholders.
    let pieces = match call.args.first() {
        Some(Arg::Str { raw, .. }) => split_escaped_template(raw),
        _ => {
            let text = string(template, "the template")?;
            text.split("{}").map(str::to_owned).collect()
        }
    };
    let placeholders = pieces.len() - 1;
    if placeholders != values.len() {
        return Err(format!(
            "the template has {placeholders} placeholder(s) but {} value(s) were given",
            values.len()
        ));
    }
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        out.push_str(piece);
        if let Some(value) = values.get(i) {
            render_format_value(value, &mut out);
        }
    }
    Ok(Value::String(out))
}

// How States.Format prints an argument. Strings go in as they are and other scalars as JSON; arrays
// and objects come out in Java's List/Map toString notation, with nested strings unquoted:
// {"Arg1": 1, "Arg2": []} prints as {Arg1=1, Arg2=[]} and $$.StateMachine as {Id=arn:..., Name=...}
// (test_generic.snapshot.json::test_format_2 exec_hist_resp_7 and ::test_context_json_path).
fn render_format_value(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Number(_) | Value::Bool(_) | Value::Null => out.push_str(&value.to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_format_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                render_format_value(item, out);
            }
            out.push('}');
        }
    }
}

// States.StringToJson as AWS records it (test_json_manipulation.snapshot.json::test_string_to_json):
// an empty or blank string gives null (exec_hist_resp_0 "", exec_hist_resp_1 " "), and "-0" gives
// the integer 0 (exec_hist_resp_3), as a JSON parser with separate integer and float types reads it.
fn string_to_json(text: &str) -> Result<Value, String> {
    let text = text.trim_matches(JSON_WHITESPACE);
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&unsigned_integer_zeros(text)).map_err(|e| format!("the argument is not valid JSON: {e}"))
}

const JSON_WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

// serde_json reads the integer -0 as the float -0.0 (printed "-0.0"), so drop the sign of every
// integer -0 outside string literals before parsing; -0.0 and -0e1 are floats and keep theirs.
// Only a '-' that starts a value (at the start, or after '[', ',' or ':') is touched, so text that
// is not JSON (such as "1-0") stays invalid.
fn unsigned_integer_zeros(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut value_may_start = true;
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c == '-' && value_may_start && is_integer_zero(chars.get(i + 1..).unwrap_or_default()) {
            continue;
        } else {
            in_string = c == '"';
        }
        if !c.is_whitespace() {
            value_may_start = !in_string && matches!(c, '[' | ',' | ':');
        }
        out.push(c);
    }
    out
}

// True when `rest` starts with a bare 0 that is not followed by more of a number (digits, a
// fraction or an exponent).
fn is_integer_zero(rest: &[char]) -> bool {
    rest.first() == Some(&'0')
        && !rest
            .get(1)
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E'))
}

// Splits a raw (still escaped) template at unescaped "{}" and decodes the escapes in each piece.
fn split_escaped_template(raw: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(piece)) = (chars.next(), pieces.last_mut()) {
                    piece.push(next);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                pieces.push(String::new());
            }
            _ => {
                if let Some(piece) = pieces.last_mut() {
                    piece.push(c);
                }
            }
        }
    }
    pieces
}

fn range(start: i64, end: i64, step: i64) -> Result<Value, String> {
    if step == 0 {
        return Err("the step must not be 0".to_owned());
    }
    let mut items = Vec::new();
    let mut current = start;
    while (step > 0 && current <= end) || (step < 0 && current >= end) {
        if items.len() == MAX_RANGE_ITEMS {
            return Err(format!("the range would have more than {MAX_RANGE_ITEMS} items"));
        }
        items.push(Value::from(current));
        match current.checked_add(step) {
            Some(next) => current = next,
            None => break,
        }
    }
    Ok(Value::Array(items))
}

fn hash(text: &str, algorithm: &str) -> Result<String, String> {
    use sha2::Digest as _;
    let bytes = text.as_bytes();
    Ok(match algorithm {
        "MD5" => hex::encode(<md5::Md5 as md5::Digest>::digest(bytes)),
        "SHA-1" => hex::encode(sha1::Sha1::digest(bytes)),
        "SHA-256" => hex::encode(sha2::Sha256::digest(bytes)),
        "SHA-384" => hex::encode(sha2::Sha384::digest(bytes)),
        "SHA-512" => hex::encode(sha2::Sha512::digest(bytes)),
        other => {
            return Err(format!(
                "unsupported algorithm '{other}'; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
            ))
        }
    })
}

fn string<'a>(value: &'a Value, what: &str) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("{what} must be a string, got a {}", type_name(value)))
}

fn limited_string(value: &Value) -> Result<&str, String> {
    let text = string(value, "the data")?;
    if text.chars().count() > MAX_DATA_CHARS {
        return Err(format!("the data is longer than {MAX_DATA_CHARS} characters"));
    }
    Ok(text)
}

fn array<'a>(value: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("{what} must be an array, got a {}", type_name(value)))
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{what} must be an object, got a {}", type_name(value)))
}

fn integer(value: &Value, what: &str) -> Result<i64, String> {
    let not_integer = || format!("{what} must be an integer, got {value}");
    let Value::Number(n) = value else {
        return Err(not_integer());
    };
    integral(n).ok_or_else(not_integer)
}

fn integral(n: &Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // i64::MAX as f64 rounds up to 2^63, so the upper bound must be exclusive.
    (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
}

fn rounded(value: &Value, what: &str) -> Result<i64, String> {
    let Value::Number(n) = value else {
        return Err(format!("{what} must be a number, got a {}", type_name(value)));
    };
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    let f = n.as_f64().map(round_half_up).unwrap_or(f64::NAN);
    if f.is_finite() && f >= i64::MIN as f64 && f < i64::MAX as f64 {
        Ok(f as i64)
    } else {
        Err(format!("{what} is out of range: {value}"))
    }
}

// Java's Math.round: halves go towards positive infinity, so 2.5 -> 3 but -2.5 -> -2 and
// -0.5 -> 0 (test_math_operations.snapshot.json::test_math_add exec_hist_resp_12..20; e.g.
// MathAdd(-0.5, 0.5) = 1 in exec_hist_resp_16). f64::round takes halves away from zero instead.
fn round_half_up(f: f64) -> f64 {
    let away = f.round();
    // For an exact negative half, `away - f` is exactly -0.5 (the two are within a factor of 2).
    if away - f == -0.5 {
        away + 1.0
    } else {
        away
    }
}
