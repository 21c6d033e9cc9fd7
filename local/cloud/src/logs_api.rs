//! CloudWatch Logs' read APIs on the AWS endpoint (awsJson1_1, X-Amz-Target
//! `Logs_20140328.*`): FilterLogEvents, GetLogEvents and DescribeLogStreams,
//! over the local log groups (logs.rs): each function's group and each
//! state machine's logging destination, as the template declares them.
//!
//! API reference followed:
//! https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html,
//! .../API_GetLogEvents.html, .../API_DescribeLogStreams.html; filter
//! patterns: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
//! (the subset served is in [`Pattern`]; any other pattern is refused, not
//! matched loosely).

use crate::awsjson::{page, ApiError, LOGS_FILTER_PAGING, LOGS_STREAMS_PAGING};
use crate::logs::LogEvent;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameterException", message)
}

/// Serves one CloudWatch Logs operation.
pub fn call(state_dir: &Path, groups: &[String], op: &str, body: &Value) -> Result<Value, ApiError> {
    match op {
        "FilterLogEvents" => filter_log_events(state_dir, groups, body),
        "GetLogEvents" => get_log_events(state_dir, groups, body),
        "DescribeLogStreams" => describe_log_streams(state_dir, groups, body),
        other => Err(ApiError::new(
            "UnknownOperationException",
            format!("the local cloud does not serve CloudWatch Logs {other}"),
        )),
    }
}

/// The group a request names by `logGroupName` or `logGroupIdentifier`
/// (a name or an ARN): exactly one of them.
fn group_of<'a>(groups: &'a [String], body: &Value) -> Result<&'a str, ApiError> {
    let name = body.get("logGroupName").and_then(Value::as_str);
    let id = body.get("logGroupIdentifier").and_then(Value::as_str);
    let wanted = match (name, id) {
        (Some(n), None) => n.to_string(),
        (None, Some(i)) => match i.split_once(":log-group:") {
            Some((_, rest)) => rest.strip_suffix(":*").unwrap_or(rest).to_string(),
            None => i.to_string(),
        },
        (Some(_), Some(_)) => {
            return Err(invalid(
                "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
            ))
        }
        (None, None) => return Err(invalid("Should provide either name or identifier of the log group.")),
    };
    groups
        .iter()
        .find(|g| **g == wanted)
        .map(String::as_str)
        .ok_or_else(|| ApiError::new("ResourceNotFoundException", "The specified log group does not exist."))
}

fn time_of(body: &Value, key: &str) -> Result<Option<i64>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(t) if t >= 0 => Ok(Some(t)),
            _ => Err(invalid(format!(
                "1 validation error detected: Value '{v}' at '{key}' failed to satisfy constraint: Member must have value greater than or equal to 0"
            ))),
        },
    }
}

/// `limit` within the model's range (a value outside it is refused, as AWS's
/// validation does, rather than clamped).
fn check_limit(body: &Value, max: u64) -> Result<(), ApiError> {
    match body.get("limit") {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_u64() {
            Some(l) if (1..=max).contains(&l) => Ok(()),
            _ => Err(invalid(format!(
                "1 validation error detected: Value '{v}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {max}"
            ))),
        },
    }
}

fn in_window(e: &LogEvent, start: Option<i64>, end: Option<i64>) -> bool {
    start.is_none_or(|s| e.timestamp >= s) && end.is_none_or(|t| e.timestamp <= t)
}

fn read(state_dir: &Path, group: &str) -> Result<Vec<LogEvent>, ApiError> {
    crate::logs::read_group(state_dir, group).map_err(|e| {
        let mut err = ApiError::new("ServiceUnavailableException", format!("cannot read {group}: {e}"));
        err.status = axum::http::StatusCode::SERVICE_UNAVAILABLE;
        err
    })
}

/// A stable id per event: its stream, time and place in the group.
fn event_id(e: &LogEvent, index: usize) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    (&e.log_stream_name, e.timestamp, index).hash(&mut h);
    format!("{:056}", h.finish())
}

fn filter_log_events(state_dir: &Path, groups: &[String], body: &Value) -> Result<Value, ApiError> {
    let group = group_of(groups, body)?;
    check_limit(body, 10_000)?;
    let names: Option<Vec<&str>> = body
        .get("logStreamNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let prefix = body.get("logStreamNamePrefix").and_then(Value::as_str);
    if names.is_some() && prefix.is_some() {
        return Err(invalid(
            "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
        ));
    }
    let (start, end) = (time_of(body, "startTime")?, time_of(body, "endTime")?);
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(invalid("endTime must be greater than or equal to startTime"));
        }
    }
    let pattern = Pattern::parse(body.get("filterPattern").and_then(Value::as_str).unwrap_or(""))?;
    let events: Vec<Value> = read(state_dir, group)?
        .iter()
        .enumerate()
        .filter(|(_, e)| names.as_ref().is_none_or(|n| n.contains(&e.log_stream_name.as_str())))
        .filter(|(_, e)| prefix.is_none_or(|p| e.log_stream_name.starts_with(p)))
        .filter(|(_, e)| in_window(e, start, end) && pattern.matches(&e.message))
        .map(|(i, e)| {
            json!({"logStreamName": e.log_stream_name, "timestamp": e.timestamp, "message": e.message,
                   "ingestionTime": e.ingestion_time, "eventId": event_id(e, i)})
        })
        .collect();
    let mut out = page(body, &LOGS_FILTER_PAGING, "events", events)?;
    out["searchedLogStreams"] = json!([]);
    Ok(out)
}

/// GetLogEvents' tokens: `f/` (forward) or `b/` (backward) and an offset
/// into the stream, bound to the group and stream they were issued for.
fn stream_token(direction: char, listing: &str, offset: usize) -> String {
    format!(
        "{direction}/{}",
        URL_SAFE_NO_PAD.encode(json!({"l": listing, "o": offset}).to_string())
    )
}

fn parse_stream_token(token: &str, listing: &str, total: usize) -> Result<(char, usize), ApiError> {
    let bad = || invalid("The specified nextToken is invalid.");
    let (direction, rest) = match token.split_once('/') {
        Some(("f", r)) => ('f', r),
        Some(("b", r)) => ('b', r),
        _ => return Err(bad()),
    };
    let decoded = URL_SAFE_NO_PAD.decode(rest).map_err(|_| bad())?;
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&decoded) else {
        return Err(bad());
    };
    match (
        fields.len(),
        fields.get("l").and_then(Value::as_str),
        fields.get("o").and_then(Value::as_u64),
    ) {
        (2, Some(l), Some(o)) if l == listing && o <= total as u64 => {
            Ok((direction, usize::try_from(o).map_err(|_| bad())?))
        }
        _ => Err(bad()),
    }
}

fn get_log_events(state_dir: &Path, groups: &[String], body: &Value) -> Result<Value, ApiError> {
    let group = group_of(groups, body)?;
    let stream = body.get("logStreamName").and_then(Value::as_str).ok_or_else(|| {
        invalid("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null")
    })?;
    check_limit(body, 10_000)?;
    let (start, end) = (time_of(body, "startTime")?, time_of(body, "endTime")?);
    let all = read(state_dir, group)?;
    if !all.iter().any(|e| e.log_stream_name == stream) {
        return Err(ApiError::new(
            "ResourceNotFoundException",
            "The specified log stream does not exist.",
        ));
    }
    let events: Vec<&LogEvent> = all
        .iter()
        .filter(|e| e.log_stream_name == stream && in_window(e, start, end))
        .collect();
    let limit = body.get("limit").and_then(Value::as_u64).unwrap_or(10_000) as usize;
    let total = events.len();
    // The listing: everything but the token and the page size.
    let listing = {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        (group, stream, start, end).hash(&mut h);
        format!("{:016x}", h.finish())
    };
    let from_head = body.get("startFromHead").and_then(Value::as_bool).unwrap_or(false);
    // [lo, hi) of the page.
    let (lo, hi) = match body.get("nextToken") {
        None | Some(Value::Null) if from_head => (0, limit.min(total)),
        None | Some(Value::Null) => (total.saturating_sub(limit), total),
        Some(t) => {
            let t = t.as_str().ok_or_else(|| invalid("nextToken must be a string"))?;
            match parse_stream_token(t, &listing, total)? {
                ('f', o) => (o, (o + limit).min(total)),
                (_, o) => (o.saturating_sub(limit), o),
            }
        }
    };
    let page: Vec<Value> = events[lo..hi]
        .iter()
        .map(|e| json!({"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}))
        .collect();
    // At either end the token given comes back, as the API reference says.
    Ok(json!({
        "events": page,
        "nextForwardToken": stream_token('f', &listing, hi),
        "nextBackwardToken": stream_token('b', &listing, lo),
    }))
}

fn describe_log_streams(state_dir: &Path, groups: &[String], body: &Value) -> Result<Value, ApiError> {
    let group = group_of(groups, body)?;
    check_limit(body, 50)?;
    let prefix = body.get("logStreamNamePrefix").and_then(Value::as_str);
    let by_time = match body.get("orderBy").and_then(Value::as_str) {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => true,
        Some(other) => {
            return Err(invalid(format!(
                "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
            )))
        }
    };
    if by_time && prefix.is_some() {
        return Err(invalid("Cannot order by LastEventTime with a logStreamNamePrefix."));
    }
    struct Stream {
        first: i64,
        last: i64,
        ingested: i64,
    }
    let mut streams: BTreeMap<String, Stream> = BTreeMap::new();
    for e in read(state_dir, group)? {
        if prefix.is_some_and(|p| !e.log_stream_name.starts_with(p)) {
            continue;
        }
        let s = streams.entry(e.log_stream_name.clone()).or_insert(Stream {
            first: e.timestamp,
            last: e.timestamp,
            ingested: e.ingestion_time,
        });
        s.first = s.first.min(e.timestamp);
        s.last = s.last.max(e.timestamp);
        s.ingested = s.ingested.max(e.ingestion_time);
    }
    let mut list: Vec<(String, Stream)> = streams.into_iter().collect();
    if by_time {
        list.sort_by(|a, b| a.1.last.cmp(&b.1.last).then_with(|| a.0.cmp(&b.0)));
    }
    if body.get("descending").and_then(Value::as_bool) == Some(true) {
        list.reverse();
    }
    let (region, account) = (crate::template::REGION, crate::template::ACCOUNT);
    let items = list
        .into_iter()
        .map(|(name, s)| {
            json!({"logStreamName": name, "creationTime": s.first, "firstEventTimestamp": s.first,
                   "lastEventTimestamp": s.last, "lastIngestionTime": s.ingested, "storedBytes": 0,
                   "arn": format!("arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{name}")})
        })
        .collect();
    page(body, &LOGS_STREAMS_PAGING, "logStreams", items)
}

/// The filter patterns served: none (every event); terms, every one of
/// which must occur in the message (a quoted term may hold spaces); and JSON
/// patterns `{ <cond> }` where a condition is `$.field = "value"` or
/// `$.field != "value"` (a `*` in the value matches any run of characters),
/// or conditions joined by `&&` or `||` and grouped by parentheses.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    All,
    Terms(Vec<String>),
    Json(Cond),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Eq {
        path: Vec<String>,
        value: String,
        negated: bool,
    },
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, ApiError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(Pattern::All);
        }
        let bad = || invalid("Invalid filter pattern");
        if let Some(inner) = t.strip_prefix('{') {
            let inner = inner.strip_suffix('}').ok_or_else(bad)?;
            let tokens = tokenize(inner).ok_or_else(bad)?;
            let mut p = Parser { tokens, at: 0 };
            let cond = p.or().ok_or_else(bad)?;
            if p.at != p.tokens.len() {
                return Err(bad());
            }
            return Ok(Pattern::Json(cond));
        }
        let mut terms = Vec::new();
        let mut rest = t;
        while !rest.is_empty() {
            if let Some(q) = rest.strip_prefix('"') {
                let end = q.find('"').ok_or_else(bad)?;
                terms.push(q[..end].to_string());
                rest = q[end + 1..].trim_start();
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let term = &rest[..end];
                if term.starts_with(['-', '?', '[', '%']) {
                    // Exclusions, OR terms, space-delimited and regex patterns: not served.
                    return Err(bad());
                }
                terms.push(term.to_string());
                rest = rest[end..].trim_start();
            }
        }
        Ok(Pattern::Terms(terms))
    }

    pub fn matches(&self, message: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Terms(terms) => terms.iter().all(|t| message.contains(t.as_str())),
            Pattern::Json(cond) => serde_json::from_str::<Value>(message).is_ok_and(|v| cond.holds(&v)),
        }
    }
}

impl Cond {
    fn holds(&self, v: &Value) -> bool {
        match self {
            Cond::And(a, b) => a.holds(v) && b.holds(v),
            Cond::Or(a, b) => a.holds(v) || b.holds(v),
            Cond::Eq { path, value, negated } => {
                let found = path.iter().try_fold(v, |cur, k| cur.get(k.as_str()));
                let text = match found {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    Some(Value::Bool(b)) => Some(b.to_string()),
                    _ => None,
                };
                let equal = text.is_some_and(|t| wildcard(value, &t));
                equal != *negated
            }
        }
    }
}

/// `*` matches any run of characters; everything else is literal.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Eq,
    Ne,
    Path(Vec<String>),
    Str(String),
}

fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '&' if chars.get(i + 1) == Some(&'&') => {
                out.push(Tok::And);
                i += 2;
            }
            '|' if chars.get(i + 1) == Some(&'|') => {
                out.push(Tok::Or);
                i += 2;
            }
            '=' => {
                out.push(Tok::Eq);
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Ne);
                i += 2;
            }
            '"' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i)? {
                        '\\' => {
                            value.push(*chars.get(i + 1)?);
                            i += 2;
                        }
                        '"' => {
                            i += 1;
                            break;
                        }
                        other => {
                            value.push(*other);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(value));
            }
            '$' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '$' | '.' | '_' | '-')) {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let path: Vec<String> = text.strip_prefix("$.")?.split('.').map(str::to_string).collect();
                if path.iter().any(String::is_empty) {
                    return None;
                }
                out.push(Tok::Path(path));
            }
            _ => return None,
        }
    }
    Some(out)
}

struct Parser {
    tokens: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }
    fn or(&mut self) -> Option<Cond> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Some(left)
    }
    fn and(&mut self) -> Option<Cond> {
        let mut left = self.atom()?;
        while self.peek() == Some(&Tok::And) {
            self.at += 1;
            left = Cond::And(Box::new(left), Box::new(self.atom()?));
        }
        Some(left)
    }
    fn atom(&mut self) -> Option<Cond> {
        match self.next()? {
            Tok::Open => {
                let c = self.or()?;
                (self.next()? == Tok::Close).then_some(c)
            }
            Tok::Path(path) => {
                let negated = match self.next()? {
                    Tok::Eq => false,
                    Tok::Ne => true,
                    _ => return None,
                };
                match self.next()? {
                    Tok::Str(value) => Some(Cond::Eq { path, value, negated }),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The JSON and term patterns of
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
    #[test]
    fn filter_patterns_parse_and_match() {
        let line = r#"{"type":"ExecutionStarted","execution_arn":"arn:x:express:sm:n:1","id":"1"}"#;
        let p = |s: &str| Pattern::parse(s).unwrap_or_else(|e| panic!("{s}: {}", e.message));
        assert!(p("").matches(line));
        assert!(p(r#"{ $.type = "ExecutionStarted" }"#).matches(line));
        assert!(!p(r#"{ $.type = "ExecutionFailed" }"#).matches(line));
        assert!(p(r#"{ ($.type = "ExecutionFailed") || ($.type = "ExecutionStarted") }"#).matches(line));
        assert!(p(r#"{ $.type = "Execution*" && $.id = "1" }"#).matches(line));
        assert!(p(r#"{ $.type != "ExecutionFailed" }"#).matches(line));
        assert!(p(r#"{ $.execution_arn = "arn:x:express:sm:n:1" }"#).matches(line));
        assert!(!p(r#"{ $.missing = "x" }"#).matches(line));
        assert!(p("ExecutionStarted express").matches(line));
        assert!(p(r#""arn:x:express""#).matches(line));
        assert!(!p("REPORT").matches(line));
        assert!(!p(r#"{ $.type = "ExecutionStarted" }"#).matches("not json"));
        for bad in [
            r#"{ $.type = }"#,
            r#"{ $.type = "x""#,
            r#"{ type = "x" }"#,
            "?a ?b",
            "-x",
            "[a, b]",
            "%re%",
        ] {
            let e = Pattern::parse(bad).err().map(|e| e.kind);
            assert_eq!(e, Some("InvalidParameterException"), "{bad}");
        }
    }

    #[test]
    fn stream_tokens_are_bound_to_their_stream() {
        let t = stream_token('f', "abc", 2);
        assert_eq!(parse_stream_token(&t, "abc", 5).ok(), Some(('f', 2)));
        assert!(parse_stream_token(&t, "abd", 5).is_err());
        assert!(parse_stream_token(&t, "abc", 1).is_err());
        assert!(parse_stream_token("x/abc", "abc", 5).is_err());
        assert!(parse_stream_token("f/!!", "abc", 5).is_err());
    }
}
