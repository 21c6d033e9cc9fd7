//! JSONPath for `InputPath` and `InputPathsMap`.
//!
//! EventBridge documents dot notation with dashes, underscores, forward
//! slashes and alphanumerics in names, array indices and wildcards. RFC 9535
//! (what `serde_json_path` implements) does not allow a dash in a dotted name,
//! and `$.detail-type` is the most common path there is, so those paths are
//! read here first; anything richer (filters, slices, descendants) goes to
//! `serde_json_path`.

use serde_json::Value;
use serde_json_path::JsonPath;

/// What a path selected. A definite path (names and indices only) selects at
/// most one value; an indefinite one (wildcards, filters, ...) a list, as in
/// the Jayway JSONPath EventBridge is built on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selection {
    One(Option<Value>),
    Many(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Name(String),
    Index(i64),
    Wildcard,
}

/// Evaluates `path` against `root`; `Err` carries the parser's complaint.
pub(crate) fn select(root: &Value, path: &str) -> Result<Selection, String> {
    if let Some(steps) = parse_simple(path) {
        return Ok(evaluate(root, &steps));
    }
    let query = JsonPath::parse(path).map_err(|e| e.to_string())?;
    Ok(Selection::Many(query.query(root).all().into_iter().cloned().collect()))
}

/// The documented subset: `$`, `.name`, `.*`, `[n]`, `[-n]`, `[*]`, `['name']`.
fn parse_simple(path: &str) -> Option<Vec<Step>> {
    let mut rest = path.strip_prefix('$')?;
    let mut steps = Vec::new();
    while let Some(c) = rest.chars().next() {
        match c {
            '.' => {
                rest = &rest[1..];
                if let Some(after) = rest.strip_prefix('*') {
                    steps.push(Step::Wildcard);
                    rest = after;
                    continue;
                }
                let end = rest.find(|c: char| matches!(c, '.' | '[' | ']' | '*' | '\'' | '"') || c.is_whitespace());
                let end = end.unwrap_or(rest.len());
                if end == 0 {
                    return None;
                }
                steps.push(Step::Name(rest[..end].to_string()));
                rest = &rest[end..];
            }
            '[' => {
                let close = rest.find(']')?;
                let inner = &rest[1..close];
                steps.push(bracket_step(inner)?);
                rest = &rest[close + 1..];
            }
            _ => return None,
        }
    }
    Some(steps)
}

fn bracket_step(inner: &str) -> Option<Step> {
    if inner == "*" {
        return Some(Step::Wildcard);
    }
    for quote in ['\'', '"'] {
        if let Some(name) = inner.strip_prefix(quote).and_then(|s| s.strip_suffix(quote)) {
            // Escapes are left to the full parser.
            if name.contains(['\\', quote]) {
                return None;
            }
            return Some(Step::Name(name.to_string()));
        }
    }
    let digits = inner.strip_prefix('-').unwrap_or(inner);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    inner.parse().ok().map(Step::Index)
}

fn evaluate(root: &Value, steps: &[Step]) -> Selection {
    let definite = !steps.contains(&Step::Wildcard);
    let mut current = vec![root];
    for step in steps {
        let mut next = Vec::new();
        for node in current {
            match (step, node) {
                (Step::Name(name), Value::Object(map)) => next.extend(map.get(name)),
                (Step::Index(i), Value::Array(items)) => next.extend(index(items, *i)),
                (Step::Wildcard, Value::Array(items)) => next.extend(items.iter()),
                (Step::Wildcard, Value::Object(map)) => next.extend(map.values()),
                _ => {}
            }
        }
        current = next;
    }
    if definite {
        Selection::One(current.first().map(|v| (*v).clone()))
    } else {
        Selection::Many(current.into_iter().cloned().collect())
    }
}

fn index(items: &[Value], i: i64) -> Option<&Value> {
    let at = if i < 0 { i64::try_from(items.len()).ok()? + i } else { i };
    usize::try_from(at).ok().and_then(|at| items.get(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dashed_names_indices_and_wildcards() {
        let event = json!({"detail-type": "X", "resources": ["a", "b"], "detail": {"a/b": 1}});
        assert_eq!(
            select(&event, "$.detail-type").unwrap(),
            Selection::One(Some(json!("X")))
        );
        assert_eq!(
            select(&event, "$.resources[1]").unwrap(),
            Selection::One(Some(json!("b")))
        );
        assert_eq!(
            select(&event, "$.resources[-1]").unwrap(),
            Selection::One(Some(json!("b")))
        );
        assert_eq!(select(&event, "$.detail.a/b").unwrap(), Selection::One(Some(json!(1))));
        assert_eq!(
            select(&event, "$['detail']['a/b']").unwrap(),
            Selection::One(Some(json!(1)))
        );
        assert_eq!(
            select(&event, "$.resources[*]").unwrap(),
            Selection::Many(vec![json!("a"), json!("b")])
        );
        assert_eq!(select(&event, "$.nope").unwrap(), Selection::One(None));
        assert_eq!(select(&event, "$").unwrap(), Selection::One(Some(event.clone())));
    }

    #[test]
    fn richer_paths_go_to_serde_json_path() {
        let event = json!({"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 3}]});
        assert_eq!(
            select(&event, "$.items[?@.qty > 1].sku").unwrap(),
            Selection::Many(vec![json!("b")])
        );
        assert_eq!(
            select(&event, "$..sku").unwrap(),
            Selection::Many(vec![json!("a"), json!("b")])
        );
        assert!(select(&event, "detail").is_err());
        assert!(select(&event, "$.items[").is_err());
    }
}
