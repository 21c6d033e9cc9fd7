//! JSONPath the way Step Functions reads it (the Jayway flavour, not RFC 9535).
//!
//! A *definite* path (only member names and single indexes, e.g. `$.detail.shipped[0]`) selects one
//! node and fails when that node is missing; any other path (wildcards, slices, unions, deep scan,
//! filters) selects a list, which Step Functions hands on as a JSON array. Member names follow
//! Jayway: `$.error-info` and `$.delivery-partner` are legal, and a backslash escapes the next
//! character (`$.store\.book`). Filters are delegated to `serde_json_path` after rewriting the whole
//! path into RFC 9535 bracket notation, so names it would reject in shorthand still work.

mod parser;

use std::fmt;

use serde_json::{Map, Value};

use parser::Parser;

use crate::env::Env;

/// Why a path could not be parsed, read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("invalid path '{path}': {reason}")]
    Syntax { path: String, reason: String },
    // Worded like AWS so execution histories read the same as in the console.
    /// `detail` is Jayway's PathNotFoundException message, which AWS quotes: "No results for
    /// path: $['a']['b']" when only the last member is missing, "Missing property in path $['a']"
    /// (the path up to the first missing member) when one before it is. AWS recording:
    /// scenarios/test_base_scenarios.snapshot.json::test_catch_states_runtime.
    #[error("Invalid path '{path}' : {detail}")]
    NotFound { path: String, detail: String },
    #[error("the path '{path}' must be a reference path (a single node: no wildcards, slices, unions, deep scan or filters)")]
    NotReference { path: String },
    /// A `$name` path whose variable is not in scope.
    #[error("Invalid path '{path}': the variable '{name}' is not defined in this scope")]
    NoVariable { path: String, name: String },
    #[error("Unable to apply ReferencePath {path} to input {input}: {reason}")]
    CannotSet {
        path: String,
        input: String,
        reason: String,
    },
}

/// A parsed path; `$$`-paths address the context object instead of the state input.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    context: bool,
    /// `$name...`: the path reads workflow variable `name` ("Passing data between states with
    /// variables": `$variableName.field` works wherever a JSONPath does).
    variable: Option<String>,
    segments: Vec<Segment>,
    // Only built when the path has a filter, which we do not evaluate ourselves.
    filter_query: Option<serde_json_path::JsonPath>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Child(Selector),
    Descendant(Selector),
}

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Name(String),
    Index(i64),
    Wildcard,
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    Union(Vec<Selector>),
    Filter(String),
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// Parses any path (`$...` or `$$...`).
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let (context, variable, body) = match text.strip_prefix("$$") {
            Some(rest) => (true, None, format!("${rest}")),
            None => match split_variable(text) {
                Some((name, rest)) => (false, Some(name.to_owned()), format!("${rest}")),
                None => (false, None, text.to_owned()),
            },
        };
        let syntax = |reason: String| PathError::Syntax {
            path: text.to_owned(),
            reason,
        };
        let segments = Parser::new(&body).parse().map_err(syntax)?;
        let filter_query = if segments.iter().any(Segment::has_filter) {
            let rendered = render_rfc9535(&segments);
            let query = serde_json_path::JsonPath::parse(&rendered)
                .map_err(|e| syntax(format!("unsupported filter expression ({e})")))?;
            Some(query)
        } else {
            None
        };
        Ok(Self {
            text: text.to_owned(),
            context,
            variable,
            segments,
            filter_query,
        })
    }

    /// Parses a path that must select a single node (ResultPath, ItemsPath, SecondsPath, ...).
    pub fn parse_reference(text: &str) -> Result<Self, PathError> {
        let path = Self::parse(text)?;
        if path.is_definite() {
            Ok(path)
        } else {
            Err(PathError::NotReference { path: text.to_owned() })
        }
    }

    /// The path as written in the definition.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True for `$$...` paths, which read the context object.
    #[cfg(test)]
    pub fn is_context(&self) -> bool {
        self.context
    }

    /// The workflow variable a `$name...` path reads.
    #[cfg(test)]
    pub(crate) fn variable(&self) -> Option<&str> {
        self.variable.as_deref()
    }

    /// The value this path reads from: the input, the context object or a variable.
    pub(crate) fn root<'a>(&self, env: &Env<'a>) -> Result<&'a Value, PathError> {
        match &self.variable {
            Some(name) => env.vars.get(name).ok_or_else(|| PathError::NoVariable {
                path: self.text.clone(),
                name: name.clone(),
            }),
            None if self.context => Ok(env.context),
            None => Ok(env.input),
        }
    }

    /// [`Path::select`] from the root this path names.
    pub(crate) fn select_in(&self, env: &Env<'_>) -> Result<Value, PathError> {
        self.select(self.root(env)?)
    }

    /// [`Path::select_opt`] from the root this path names; an undefined variable selects nothing.
    pub(crate) fn select_opt_in(&self, env: &Env<'_>) -> Option<Value> {
        self.select_opt(self.root(env).ok()?)
    }

    /// True when the path can only ever select one node.
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Child(Selector::Name(_) | Selector::Index(_))))
    }

    /// Reads the path from `root`: the node itself for a definite path, an array of matches otherwise.
    pub fn select(&self, root: &Value) -> Result<Value, PathError> {
        if self.is_definite() {
            return self.select_one(root).cloned().ok_or_else(|| PathError::NotFound {
                path: self.text.clone(),
                detail: self.not_found_detail(root),
            });
        }
        let matches = match &self.filter_query {
            Some(query) => query.query(root).all(),
            None => collect(root, &self.segments),
        };
        Ok(Value::Array(matches.into_iter().cloned().collect()))
    }

    /// Like [`Path::select`] but reports a missing node as `None` instead of an error (Choice's IsPresent).
    pub fn select_opt(&self, root: &Value) -> Option<Value> {
        if self.is_definite() {
            self.select_one(root).cloned()
        } else {
            self.select(root).ok()
        }
    }

    fn select_one<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut node = root;
        for segment in &self.segments {
            node = match segment {
                Segment::Child(Selector::Name(name)) => node.as_object()?.get(name)?,
                Segment::Child(Selector::Index(index)) => {
                    let items = node.as_array()?;
                    items.get(resolve_index(*index, items.len())?)?
                }
                _ => return None,
            };
        }
        Some(node)
    }

    /// Writes `value` at this (reference) path inside `target`, creating missing objects on the way,
    /// which is how ResultPath combines a result with the raw input.
    pub fn set(&self, target: Value, value: Value) -> Result<Value, PathError> {
        if !self.is_definite() {
            return Err(PathError::NotReference {
                path: self.text.clone(),
            });
        }
        if self.segments.is_empty() {
            return Ok(value);
        }
        let mut target = target;
        let input_text = target.to_string();
        set_in(&mut target, &self.segments, value).map_err(|reason| PathError::CannotSet {
            path: self.text.clone(),
            input: input_text,
            reason,
        })?;
        Ok(target)
    }

    /// Why a definite path selects nothing in `root`, in Jayway's words (see [`PathError::NotFound`]).
    fn not_found_detail(&self, root: &Value) -> String {
        let mut node = Some(root);
        let last = self.segments.len().saturating_sub(1);
        for (i, segment) in self.segments.iter().enumerate() {
            let missing_member = match (segment, node) {
                (Segment::Child(Selector::Name(name)), Some(Value::Object(map))) => {
                    node = map.get(name);
                    node.is_none()
                }
                _ => break,
            };
            if missing_member && i < last {
                return format!(
                    "Missing property in path {}",
                    normalized(&self.segments[..=i], &self.text)
                );
            }
        }
        format!("No results for path: {}", normalized(&self.segments, &self.text))
    }
}

/// `$name.rest` as (`name`, `.rest`): a variable reference, which starts with a letter or `_`
/// (`$.x`, `$[0]` and `$$.x` are not variables).
fn split_variable(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('$')?;
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    Some(rest.split_at(end))
}

/// A definite path in Jayway's normalized form, as AWS quotes it in error causes: $['a']['b'][0].
fn normalized(segments: &[Segment], text: &str) -> String {
    let mut out = String::from("$");
    for segment in segments {
        match segment {
            Segment::Child(Selector::Name(name)) => out.push_str(&format!("['{name}']")),
            Segment::Child(Selector::Index(index)) => out.push_str(&format!("[{index}]")),
            _ => return text.to_owned(),
        }
    }
    out
}

impl Segment {
    fn has_filter(&self) -> bool {
        let (Segment::Child(selector) | Segment::Descendant(selector)) = self;
        matches!(selector, Selector::Filter(_))
    }
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let resolved = if index < 0 { len + index } else { index };
    if (0..len).contains(&resolved) {
        usize::try_from(resolved).ok()
    } else {
        None
    }
}

fn set_in(node: &mut Value, segments: &[Segment], value: Value) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        *node = value;
        return Ok(());
    };
    match first {
        Segment::Child(Selector::Name(name)) => {
            let Value::Object(map) = node else {
                return Err(format!("cannot set field '{name}' on a {}", type_name(node)));
            };
            if rest.is_empty() {
                map.insert(name.clone(), value);
                return Ok(());
            }
            let child = map.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()));
            set_in(child, rest, value)
        }
        Segment::Child(Selector::Index(index)) => {
            let Value::Array(items) = node else {
                return Err(format!("cannot set index {index} on a {}", type_name(node)));
            };
            let len = items.len();
            let slot = resolve_index(*index, len)
                .and_then(|i| items.get_mut(i))
                .ok_or_else(|| format!("index {index} is out of bounds for an array of {len}"))?;
            set_in(slot, rest, value)
        }
        _ => Err("only member names and indexes can be written".to_owned()),
    }
}

/// The JSON type name used in error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn collect<'a>(root: &'a Value, segments: &[Segment]) -> Vec<&'a Value> {
    let mut nodes = vec![root];
    for segment in segments {
        let mut next = Vec::new();
        for node in nodes {
            match segment {
                Segment::Child(selector) => apply(selector, node, &mut next),
                Segment::Descendant(selector) => {
                    let mut all = Vec::new();
                    descendants(node, &mut all);
                    for descendant in all {
                        apply(selector, descendant, &mut next);
                    }
                }
            }
        }
        nodes = next;
    }
    nodes
}

fn descendants<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(node);
    match node {
        Value::Array(items) => items.iter().for_each(|v| descendants(v, out)),
        Value::Object(map) => map.values().for_each(|v| descendants(v, out)),
        _ => {}
    }
}

fn apply<'a>(selector: &Selector, node: &'a Value, out: &mut Vec<&'a Value>) {
    match selector {
        Selector::Name(name) => out.extend(node.as_object().and_then(|m| m.get(name))),
        Selector::Index(index) => {
            if let Some(items) = node.as_array() {
                out.extend(resolve_index(*index, items.len()).and_then(|i| items.get(i)));
            }
        }
        Selector::Wildcard => match node {
            Value::Array(items) => out.extend(items.iter()),
            Value::Object(map) => out.extend(map.values()),
            _ => {}
        },
        Selector::Slice { start, end, step } => {
            if let Some(items) = node.as_array() {
                out.extend(
                    slice_indexes(items.len(), *start, *end, *step)
                        .into_iter()
                        .filter_map(|i| items.get(i)),
                );
            }
        }
        Selector::Union(parts) => parts.iter().for_each(|part| apply(part, node, out)),
        // Filters never reach here: paths with a filter are evaluated by serde_json_path.
        Selector::Filter(_) => {}
    }
}

// Python-style slice semantics, which Jayway and RFC 9535 share.
fn slice_indexes(len: usize, start: Option<i64>, end: Option<i64>, step: Option<i64>) -> Vec<usize> {
    let Ok(len) = i64::try_from(len) else { return Vec::new() };
    let step = step.unwrap_or(1);
    let norm = |i: i64| if i < 0 { len + i } else { i };
    let mut out = Vec::new();
    if step > 0 {
        let lower = norm(start.unwrap_or(0)).clamp(0, len);
        let upper = norm(end.unwrap_or(len)).clamp(0, len);
        let mut i = lower;
        while i < upper {
            out.extend(usize::try_from(i).ok());
            i += step;
        }
    } else if step < 0 {
        let upper = norm(start.unwrap_or(len - 1)).clamp(-1, len - 1);
        let lower = end.map(norm).unwrap_or(-1).clamp(-1, len - 1);
        let mut i = upper;
        while i > lower {
            out.extend(usize::try_from(i).ok());
            i += step;
        }
    }
    out
}

fn render_rfc9535(segments: &[Segment]) -> String {
    let mut out = String::from("$");
    for segment in segments {
        match segment {
            Segment::Child(selector) => out.push_str(&format!("[{}]", render_selector(selector))),
            Segment::Descendant(selector) => out.push_str(&format!("..[{}]", render_selector(selector))),
        }
    }
    out
}

fn render_selector(selector: &Selector) -> String {
    match selector {
        Selector::Name(name) => format!("'{}'", name.replace('\\', "\\\\").replace('\'', "\\'")),
        Selector::Index(index) => index.to_string(),
        Selector::Wildcard => "*".to_owned(),
        Selector::Slice { start, end, step } => {
            let part = |v: &Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
            match step {
                Some(_) => format!("{}:{}:{}", part(start), part(end), part(step)),
                None => format!("{}:{}", part(start), part(end)),
            }
        }
        Selector::Union(parts) => parts.iter().map(render_selector).collect::<Vec<_>>().join(","),
        Selector::Filter(expr) => format!("?{expr}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_reference_paths_from_the_spec() {
        let input = json!({"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": true}});
        let cases = [
            ("$.foo", json!(123)),
            ("$.bar", json!(["a", "b", "c"])),
            ("$.car.cdr", json!(true)),
        ];
        for (path, expected) in cases {
            assert_eq!(Path::parse(path).unwrap().select(&input).unwrap(), expected, "{path}");
        }
    }

    #[test]
    fn accepts_jayway_member_names() {
        let input = json!({"error-info": 1, "store.book": 2, "a b": 3, "x": {"y": [10, 20]}});
        let cases = [
            ("$.error-info", json!(1)),
            ("$.store\\.book", json!(2)),
            ("$['store.book']", json!(2)),
            ("$[\"a b\"]", json!(3)),
            ("$.x.y[1]", json!(20)),
            ("$.x.y[-1]", json!(20)),
            ("$", input.clone()),
        ];
        for (path, expected) in cases {
            assert_eq!(Path::parse(path).unwrap().select(&input).unwrap(), expected, "{path}");
        }
    }

    #[test]
    fn indefinite_paths_yield_arrays() {
        let input = json!({"a": [1, 2, 3, 4], "items": [{"item": "x", "n": 1}, {"item": "y", "n": 5}]});
        let cases = [
            ("$.a[0:2]", json!([1, 2])),
            ("$.a[0,1]", json!([1, 2])),
            ("$.a[*]", json!([1, 2, 3, 4])),
            ("$.a[-2:]", json!([3, 4])),
            ("$.items[:].item", json!(["x", "y"])),
            ("$..item", json!(["x", "y"])),
            ("$.items[?(@.n > 2)].item", json!(["y"])),
            ("$.missing[*]", json!([])),
        ];
        for (path, expected) in cases {
            assert_eq!(Path::parse(path).unwrap().select(&input).unwrap(), expected, "{path}");
        }
    }

    #[test]
    fn missing_definite_path_is_an_error_worded_like_aws() {
        // A missing member before the last: Jayway's "Missing property" with the path up to it
        // (AWS recording scenarios/test_base_scenarios.snapshot.json::test_catch_states_runtime).
        let err = Path::parse("$.x.y").unwrap().select(&json!({})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid path '$.x.y' : Missing property in path $['x']"
        );
        // Only the last member missing: "No results for path" with the whole path.
        let err = Path::parse("$.x.y").unwrap().select(&json!({"x": {}})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid path '$.x.y' : No results for path: $['x']['y']"
        );
    }

    #[test]
    fn set_creates_intermediate_objects_and_overwrites() {
        let input = json!({"master": {"detail": [1, 2, 3]}});
        let replaced = Path::parse("$.master.detail")
            .unwrap()
            .set(input.clone(), json!(6))
            .unwrap();
        assert_eq!(replaced, json!({"master": {"detail": 6}}));
        let added = Path::parse("$.master.result.sum")
            .unwrap()
            .set(input, json!(6))
            .unwrap();
        assert_eq!(added, json!({"master": {"detail": [1, 2, 3], "result": {"sum": 6}}}));
    }

    #[test]
    fn set_on_a_non_object_fails() {
        let err = Path::parse("$.x").unwrap().set(json!("foo"), json!(1)).unwrap_err();
        assert!(matches!(err, PathError::CannotSet { .. }), "{err}");
    }

    #[test]
    fn rejects_malformed_paths() {
        for path in ["foo", "$.", "$[", "$.a[1", "$.a[x]", "$.length()", "$.a\\"] {
            assert!(Path::parse(path).is_err(), "{path}");
        }
        assert!(matches!(
            Path::parse_reference("$.a[*]"),
            Err(PathError::NotReference { .. })
        ));
    }

    #[test]
    fn variable_paths_read_the_variable() {
        let path = Path::parse("$order.items[0]").unwrap();
        assert_eq!(path.variable(), Some("order"));
        let mut vars = Map::new();
        vars.insert("order".to_owned(), json!({"items": [7]}));
        let input = json!({});
        let env = Env {
            vars: &vars,
            ..Env::plain(&input, &input)
        };
        assert_eq!(path.select_in(&env).unwrap(), json!(7));
        assert!(Path::parse("$missing").unwrap().select_in(&env).is_err());
        assert_eq!(Path::parse("$.x").unwrap().variable(), None);
    }

    #[test]
    fn context_paths_are_flagged() {
        let path = Path::parse("$$.Execution.Id").unwrap();
        assert!(path.is_context());
        assert_eq!(path.select(&json!({"Execution": {"Id": "x"}})).unwrap(), json!("x"));
    }
}
