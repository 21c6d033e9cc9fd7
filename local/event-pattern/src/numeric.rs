//! Numeric matching. EventBridge compares numbers between -5.0e9 and +5.0e9
//! with six digits to the right of the decimal point; we reproduce that by
//! comparing the same fixed-point key Event Ruler builds, so two values equal
//! to six decimals compare equal here too.

use serde_json::Value;

const LIMIT: f64 = 5.0e9;
const SCALE: f64 = 1.0e6;
pub(crate) const RANGE_MESSAGE: &str = "Value must be between -5.0E9 and 5.0E9, inclusive";

/// The fixed-point key of a number, or `None` outside the comparable range.
pub(crate) fn comparable(value: f64) -> Option<i64> {
    if !(-LIMIT..=LIMIT).contains(&value) {
        return None;
    }
    // Truncation (not rounding) is what makes 1e-7 compare equal to 0, as on AWS.
    Some((SCALE * (LIMIT + value)) as i64)
}

/// The key of an event value, if it is a comparable JSON number.
pub(crate) fn key_of(value: &Value) -> Option<i64> {
    value.as_f64().and_then(comparable)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bound {
    key: i64,
    inclusive: bool,
}

/// `{"numeric": [...]}`: an optional lower and an optional upper bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NumericRange {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

impl NumericRange {
    pub(crate) fn contains(&self, value: &Value) -> bool {
        let Some(key) = key_of(value) else {
            return false;
        };
        let above = self.lower.is_none_or(|b| key > b.key || (b.inclusive && key == b.key));
        let below = self.upper.is_none_or(|b| key < b.key || (b.inclusive && key == b.key));
        above && below
    }

    /// Parses the operand of `numeric`, following Event Ruler's grammar: one
    /// comparison, or a lower bound (`>`/`>=`) followed by an upper bound
    /// (`<`/`<=`). `=`, `<` and `<=` end the expression.
    pub(crate) fn parse(operand: &Value) -> Result<Self, String> {
        let Value::Array(items) = operand else {
            return Err("Value of numeric must be an array.".into());
        };
        let Some(first) = items.first() else {
            return Err("Invalid member in numeric match: ]".into());
        };
        let Value::String(op) = first else {
            return Err(format!("Invalid member in numeric match: {}", token(first)));
        };
        let name = op_name(op).ok_or_else(|| format!("Unrecognized numeric range operator: {op}"))?;
        let bound = threshold(name, items.get(1))?;
        let first_bound = |inclusive| Bound {
            key: bound.1,
            inclusive,
        };
        let mut range = match op.as_str() {
            "=" => NumericRange {
                lower: Some(first_bound(true)),
                upper: Some(first_bound(true)),
            },
            ">" => NumericRange {
                lower: Some(first_bound(false)),
                upper: None,
            },
            ">=" => NumericRange {
                lower: Some(first_bound(true)),
                upper: None,
            },
            "<" => NumericRange {
                lower: None,
                upper: Some(first_bound(false)),
            },
            _ => NumericRange {
                lower: None,
                upper: Some(first_bound(true)),
            },
        };
        if items.len() == 2 {
            return Ok(range);
        }
        if !matches!(op.as_str(), ">" | ">=") {
            return Err("Too many elements in numeric expression".into());
        }
        if items.len() > 4 {
            return Err("Too many terms in numeric range expression".into());
        }
        let second = items.get(2).unwrap_or(&Value::Null);
        let Value::String(op2) = second else {
            return Err(format!("Bad value in numeric range: {}", token(second)));
        };
        if !matches!(op2.as_str(), "<" | "<=") {
            return Err(format!("Bad numeric range operator: {op2}"));
        }
        let top = threshold(op2, items.get(3))?;
        if bound.0 >= top.0 {
            return Err("Bottom must be less than top".into());
        }
        range.upper = Some(Bound {
            key: top.1,
            inclusive: op2 == "<=",
        });
        Ok(range)
    }
}

/// How Event Ruler names an operator in "Value of X must be numeric".
fn op_name(op: &str) -> Option<&'static str> {
    match op {
        "=" => Some("equals"),
        ">" => Some(">"),
        ">=" => Some(">="),
        "<" => Some("<"),
        "<=" => Some("<="),
        _ => None,
    }
}

/// A threshold: a JSON number within the comparable range.
fn threshold(name: &str, value: Option<&Value>) -> Result<(f64, i64), String> {
    let number = value
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("Value of {name} must be numeric"))?;
    let key = comparable(number).ok_or_else(|| RANGE_MESSAGE.to_string())?;
    Ok((number, key))
}

/// A JSON value as the streaming parser behind AWS's messages names it.
fn token(value: &Value) -> String {
    match value {
        Value::Array(_) => "[".into(),
        Value::Object(_) => "{".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn six_decimal_digits_of_precision() {
        assert_eq!(comparable(0.0), comparable(0.000_000_1));
        assert_ne!(comparable(0.0), comparable(0.000_001));
        assert_eq!(comparable(5.0e9 + 1.0), None);
    }

    #[test]
    fn ranges_respect_open_and_closed_ends() {
        let r = NumericRange::parse(&json!([">", 0, "<=", 5])).unwrap();
        assert!(!r.contains(&json!(0)));
        assert!(r.contains(&json!(0.5)));
        assert!(r.contains(&json!(5)));
        assert!(!r.contains(&json!(5.000_01)));
        assert!(!r.contains(&json!("3")));
    }
}
