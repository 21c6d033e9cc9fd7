//! Text and JSON output for `zb executions`. Pure: every function returns a
//! String, so the exact output is unit-tested; main decides where it goes.
//!
//! Failure marks (✓ ✗ …) are part of the text, not of the colour, so they
//! survive `NO_COLOR`, pipes and CI logs.

use crate::history::{
    ExecutionDetail, ExecutionStatus, ExecutionSummary, FeedView, HistorySource, StateRun, StateStatus,
};
use crate::watch::WatchEvent;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use zb_shared::feed::FeedStatus;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot encode the output as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// `--output`: a table for people, JSON for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    #[default]
    Table,
    Json,
}

/// How text output looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours (only on a terminal, and never with NO_COLOR).
    pub color: bool,
    /// Longest input/output/cause shown in text mode; None shows them whole.
    pub max_payload: Option<usize>,
}

impl Style {
    pub const PLAIN: Style = Style {
        color: false,
        max_payload: Some(160),
    };

    /// Colour only on a terminal and when NO_COLOR is unset or empty (no-color.org).
    pub fn detect(stdout_is_terminal: bool, no_color: Option<&str>, full: bool) -> Style {
        Style {
            color: stdout_is_terminal && no_color.is_none_or(str::is_empty),
            max_payload: if full { None } else { Style::PLAIN.max_payload },
        }
    }
}

#[derive(Clone, Copy)]
enum Tone {
    Good,
    Bad,
    Warn,
    Dim,
}

fn paint(style: &Style, tone: Tone, text: &str) -> String {
    if !style.color {
        return text.to_string();
    }
    let code = match tone {
        Tone::Good => "32",
        Tone::Bad => "1;31",
        Tone::Warn => "33",
        Tone::Dim => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

pub fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".to_string(), |t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
}

fn ms(d: Option<i64>) -> String {
    d.map_or_else(|| "-".to_string(), |d| d.to_string())
}

fn execution_mark(s: ExecutionStatus) -> (&'static str, Tone) {
    match s {
        ExecutionStatus::Succeeded => ("✓", Tone::Good),
        ExecutionStatus::Running | ExecutionStatus::PendingRedrive => ("…", Tone::Warn),
        ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted => ("✗", Tone::Bad),
    }
}

fn state_mark(s: StateStatus) -> (&'static str, Tone) {
    match s {
        StateStatus::Succeeded => ("✓", Tone::Good),
        StateStatus::Running => ("…", Tone::Warn),
        StateStatus::Caught | StateStatus::Failed | StateStatus::Interrupted => ("✗", Tone::Bad),
    }
}

/// One-line payload for text mode: newlines folded, long values cut.
fn payload(style: &Style, s: &str) -> String {
    let Some(max) = style.max_payload else {
        return s.to_string();
    };
    let one_line: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    if width(&one_line) <= max {
        return one_line;
    }
    let cut: String = one_line.chars().take(max).collect();
    format!("{cut}… ({} chars, --full shows all)", width(s))
}

/// `executions list`: a table with NAME, STATUS, START, STOP, DURATION_MS.
pub fn executions_table(rows: &[ExecutionSummary], style: &Style) -> String {
    if rows.is_empty() {
        return "no executions\n".to_string();
    }
    let headers = ["NAME", "STATUS", "START (UTC)", "STOP (UTC)", "DURATION_MS"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let (mark, _) = execution_mark(r.status);
            [
                r.name.clone(),
                format!("{mark} {}", r.status.as_str()),
                time(r.started),
                time(r.stopped),
                ms(r.duration_ms),
            ]
        })
        .collect();
    // FEED and PARTNER (from each execution's input) when any row has them.
    let fed = rows.iter().any(|r| r.feed_id.is_some() || r.partner_id.is_some());
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let feeds: Vec<String> = rows.iter().map(|r| dash(&r.feed_id)).collect();
    let partners: Vec<String> = rows.iter().map(|r| dash(&r.partner_id)).collect();
    let feed_w = feeds.iter().map(|f| width(f)).chain([width("FEED")]).max().unwrap_or(0);
    let partner_w = partners
        .iter()
        .map(|p| width(p))
        .chain([width("PARTNER")])
        .max()
        .unwrap_or(0);
    let mut widths = headers.map(width);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(c));
        }
    }
    let mut out = String::new();
    let mut head: Vec<String> = headers.iter().zip(widths).map(|(h, w)| pad(h, w)).collect();
    if fed {
        head.push(pad("FEED", feed_w));
        head.push(pad("PARTNER", partner_w));
    }
    out.push_str(head.join("  ").trim_end());
    out.push('\n');
    for (i, (row, r)) in cells.iter().zip(rows).enumerate() {
        let (_, tone) = execution_mark(r.status);
        let mut line = vec![
            pad(&row[0], widths[0]),
            // Pad before painting: escape codes have no width.
            paint(style, tone, &pad(&row[1], widths[1])),
            pad(&row[2], widths[2]),
            pad(&row[3], widths[3]),
            format!("{:>w$}", row[4], w = widths[4]),
        ];
        if fed {
            line.push(pad(&feeds[i], feed_w));
            line.push(pad(&partners[i], partner_w));
        }
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, RenderError> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// The widest a `changed` line gets in text mode.
const CHANGES_WIDTH: usize = 240;
/// The widest one value gets inside a `changed` line.
const VALUE_WIDTH: usize = 60;

fn cut(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{head}…")
}

/// A value's shape in a few characters: scalars as JSON, arrays as their
/// length, objects as their keys with the shapes below them (two levels):
/// a batch reads `{inline:{valid:[2],rejections:[1]}}`.
fn brief(v: &Value, depth: usize) -> String {
    match v {
        Value::Array(a) => format!("[{}]", a.len()),
        Value::Object(o) if depth >= 2 => format!("{{{} keys}}", o.len()),
        Value::Object(o) => {
            let parts: Vec<String> = o.iter().map(|(k, v)| format!("{k}:{}", brief(v, depth + 1))).collect();
            format!("{{{}}}", parts.join(","))
        }
        other => cut(&other.to_string(), VALUE_WIDTH),
    }
}

/// What a step changed in the data, when its input and output are both
/// JSON objects: `+key=value` added, `~key=value` changed, `-key` removed,
/// or `nothing`. None when either is not an object (then the output is printed).
pub fn changes(input: &str, output: &str) -> Option<String> {
    let (Ok(Value::Object(before)), Ok(Value::Object(after))) = (
        serde_json::from_str::<Value>(input),
        serde_json::from_str::<Value>(output),
    ) else {
        return None;
    };
    let mut parts = Vec::new();
    for (k, v) in &after {
        match before.get(k) {
            None => parts.push(format!("+{k}={}", cut(&brief(v, 0), VALUE_WIDTH))),
            Some(old) if old != v => parts.push(format!("~{k}={}", cut(&brief(v, 0), VALUE_WIDTH))),
            Some(_) => {}
        }
    }
    parts.extend(
        before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .map(|k| format!("-{k}")),
    );
    Some(if parts.is_empty() {
        "nothing".to_string()
    } else {
        parts.join(" ")
    })
}

fn state_block(out: &mut String, s: &StateRun, previous: Option<&str>, name_w: usize, style: &Style) {
    let (mark, tone) = state_mark(s.status);
    let mut head = format!(
        "{} {}  {}",
        paint(style, tone, mark),
        pad(&s.name, name_w),
        paint(style, Tone::Dim, &format!("{:<8}", s.kind))
    );
    head.push_str(&format!(
        "{:>9}",
        s.duration_ms.map_or_else(|| "-".to_string(), |d| format!("{d} ms"))
    ));
    if s.retries > 0 {
        let what = summarize_errors(&s.retry_errors);
        let word = if s.retries == 1 { "retry" } else { "retries" };
        head.push_str(&format!(
            "  {}",
            paint(style, Tone::Warn, &format!("{} {word}{what}", s.retries))
        ));
    }
    match s.status {
        StateStatus::Caught => {
            let to = s.next.as_deref().map(|n| format!(" → {n}")).unwrap_or_default();
            head.push_str(&format!("  {}", paint(style, Tone::Bad, &format!("caught{to}"))));
        }
        StateStatus::Failed => head.push_str(&format!("  {}", paint(style, Tone::Bad, "failed"))),
        StateStatus::Interrupted => head.push_str(&format!("  {}", paint(style, Tone::Bad, "interrupted"))),
        StateStatus::Running => head.push_str(&format!("  {}", paint(style, Tone::Warn, "running"))),
        StateStatus::Succeeded => {}
    }
    if let Some(r) = &s.resource {
        head.push_str(&format!("  {}", paint(style, Tone::Dim, r)));
    }
    out.push_str(head.trim_end());
    out.push('\n');
    if style.max_payload.is_some() {
        // What the step did, not a prefix that repeats the same
        // `{"feedId":…` start: its input only when it is not what the
        // previous step handed on, its output as the keys it added or changed.
        if let Some(input) = s.input.as_deref().filter(|i| Some(*i) != previous) {
            out.push_str(&format!("      input  {}\n", payload(style, input)));
        }
        if let Some(output) = &s.output {
            let text = match s.input.as_deref().and_then(|i| changes(i, output)) {
                Some(c) => format!("      changed {}\n", cut(&c, CHANGES_WIDTH)),
                None => format!("      output {}\n", payload(style, output)),
            };
            out.push_str(&text);
        }
        for (label, value) in [("error", &s.error), ("cause", &s.cause)] {
            if let Some(v) = value {
                out.push_str(&format!(
                    "      {label:<7}{}\n",
                    paint(style, Tone::Bad, &payload(style, v))
                ));
            }
        }
        return;
    }
    let fields = [
        ("input", &s.input),
        ("output", &s.output),
        ("error", &s.error),
        ("cause", &s.cause),
    ];
    for (label, value) in fields {
        if let Some(v) = value {
            let text = payload(style, v);
            let text = if matches!(label, "error" | "cause") {
                paint(style, Tone::Bad, &text)
            } else {
                text
            };
            out.push_str(&format!("      {label:<7}{text}\n"));
        }
    }
}

/// ` (TransientDependencyError ×2)` for the retried attempts' errors.
fn summarize_errors(errors: &[String]) -> String {
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for e in errors {
        match groups.iter_mut().find(|(n, _)| *n == e.as_str()) {
            Some(g) => g.1 += 1,
            None => groups.push((e.as_str(), 1)),
        }
    }
    if groups.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(n, c)| if *c > 1 { format!("{n} ×{c}") } else { n.to_string() })
        .collect();
    format!(" ({})", parts.join(", "))
}

/// `executions show`: the execution header, each state in order, the result.
pub fn execution_detail(d: &ExecutionDetail, style: &Style) -> String {
    let o = &d.outcome;
    let (mark, tone) = execution_mark(o.status);
    let mut out = String::new();
    out.push_str(&format!("Execution  {}\n", d.name));
    out.push_str(&format!("ARN        {}\n", d.execution_arn));
    out.push_str(&format!("Source     {}\n", d.source.as_str()));
    out.push_str(&format!("Started    {} UTC\n", time(o.started)));
    match &o.input {
        Some(input) => out.push_str(&format!("Input      {}\n", payload(style, input))),
        None if d.source == HistorySource::CloudWatchLogs => out.push_str(
            "Input      not logged (the log group carries no execution data); `zb executions show <feedId>` \
             reads the feed's record\n",
        ),
        None => {}
    }
    out.push('\n');
    if d.states.is_empty() {
        out.push_str("  (no state events)\n");
    }
    let name_w = d.states.iter().map(|s| width(&s.name)).max().unwrap_or(0);
    // What the previous step handed on (the execution's input for the first).
    let mut previous = o.input.as_deref();
    for s in &d.states {
        state_block(&mut out, s, previous, name_w, style);
        if s.output.is_some() {
            previous = s.output.as_deref();
        }
    }
    out.push('\n');
    let status = paint(style, tone, &format!("{mark} {}", o.status.as_str()));
    let took = o.duration_ms.map(|d| format!(" in {d} ms")).unwrap_or_default();
    let stopped = o
        .stopped
        .map(|_| format!(" (stopped {} UTC)", time(o.stopped)))
        .unwrap_or_default();
    out.push_str(&format!("Result     {status}{took}{stopped}\n"));
    if let Some(e) = &o.error {
        out.push_str(&format!("Error      {}\n", paint(style, Tone::Bad, e)));
    }
    if let Some(c) = &o.cause {
        out.push_str(&format!("Cause      {}\n", paint(style, Tone::Bad, &payload(style, c))));
    }
    if let Some(output) = &o.output {
        let changed = o
            .input
            .as_deref()
            .filter(|_| style.max_payload.is_some())
            .and_then(|i| changes(i, output));
        match changed {
            Some(c) => out.push_str(&format!("Output     the input, changed: {}\n", cut(&c, CHANGES_WIDTH))),
            None => out.push_str(&format!("Output     {}\n", payload(style, output))),
        }
    }
    out
}

fn feed_mark(s: FeedStatus) -> (&'static str, Tone, &'static str) {
    match s {
        FeedStatus::Received => ("…", Tone::Warn, "RECEIVED"),
        FeedStatus::Completed => ("✓", Tone::Good, "COMPLETED"),
        FeedStatus::CompletedWithRejections => ("✓", Tone::Warn, "COMPLETED_WITH_REJECTIONS"),
        FeedStatus::Failed => ("✗", Tone::Bad, "FAILED"),
    }
}

/// `executions show <feedId>`: where the feed went and why, from its record,
/// then its executions and the newest one state by state.
pub fn feed_view(v: &FeedView, style: &Style) -> String {
    let mut out = String::new();
    match &v.feed {
        Some(f) => {
            let (mark, tone, status) = feed_mark(f.status);
            out.push_str(&format!(
                "Feed       {}  partner {}  format {}\n",
                f.feed_id, f.partner_id, f.format
            ));
            out.push_str(&format!(
                "Status     {}  (updated {})\n",
                paint(style, tone, &format!("{mark} {status}")),
                f.updated_at
            ));
            out.push_str(&format!(
                "Received   {}  request {}  correlation {}\n",
                f.received_at, f.request_id, f.correlation_id
            ));
            let c = &f.counts;
            out.push_str(&format!(
                "Orders     {} in the feed: {} persisted, {} duplicate, {} rejected\n",
                f.order_count, c.persisted, c.duplicate, c.rejected
            ));
            if let Some(failure) = &f.failure {
                out.push_str(&format!("Failure    {}\n", paint(style, Tone::Bad, &failure.error)));
                out.push_str(&format!(
                    "Cause      {}\n",
                    paint(style, Tone::Bad, &payload(style, &failure.cause))
                ));
            }
            if f.sweep_attempts > 0 {
                out.push_str(&format!(
                    "Sweeps     restarted {} time(s) by the stuck-feed sweeper\n",
                    f.sweep_attempts
                ));
            }
        }
        None => {
            out.push_str(&format!("Feed       {}\n", v.feed_id));
            let why = v.feed_error.as_deref().unwrap_or("no such feed in the feeds table");
            out.push_str(&format!("Record     not read: {why}\n"));
        }
    }
    if v.feed.is_some() {
        if let Some(e) = &v.feed_error {
            out.push_str(&format!("Record     {e}\n"));
        }
    }
    if v.executions.len() > 1 {
        out.push_str(&format!(
            "\nExecutions {} for this feed, newest first:\n",
            v.executions.len()
        ));
        for x in &v.executions {
            let (mark, tone) = execution_mark(x.status);
            out.push_str(&format!(
                "  {}  {}  {}\n",
                paint(style, tone, &format!("{mark} {:<9}", x.status.as_str())),
                time(x.started),
                x.name
            ));
        }
    }
    for note in &v.notes {
        out.push_str(&format!("Note       {note}\n"));
    }
    if let Some(d) = &v.execution {
        out.push('\n');
        out.push_str(&execution_detail(d, style));
    }
    out
}

/// `executions watch`, text mode: one line per start or end.
pub fn watch_line(e: &WatchEvent, style: &Style) -> String {
    match e {
        WatchEvent::Started(s) => format!(
            "{}  {} {:<10} {}{}\n",
            time(s.started),
            paint(style, Tone::Warn, "▶"),
            "STARTED",
            s.name,
            feed_and_partner(s)
        ),
        WatchEvent::Ended(s) => {
            let (mark, tone) = execution_mark(s.status);
            let took = s.duration_ms.map(|d| format!("  {d} ms")).unwrap_or_default();
            format!(
                "{}  {} {}{}{}\n",
                time(s.stopped.or(s.started)),
                paint(style, tone, &format!("{mark} {:<10}", s.status.as_str())),
                s.name,
                took,
                feed_and_partner(s)
            )
        }
    }
}

/// `  feed=<id> partner=<id>` for a watch line, as far as known.
fn feed_and_partner(s: &ExecutionSummary) -> String {
    let mut out = String::new();
    if let Some(feed) = &s.feed_id {
        out.push_str(&format!("  feed={feed}"));
    }
    if let Some(partner) = &s.partner_id {
        out.push_str(&format!("  partner={partner}"));
    }
    out
}

/// `executions watch`, JSON mode: one compact object per line (NDJSON).
pub fn watch_json(e: &WatchEvent) -> Result<String, RenderError> {
    #[derive(Serialize)]
    struct Line<'a> {
        event: &'static str,
        #[serde(flatten)]
        execution: &'a ExecutionSummary,
    }
    let (event, execution) = match e {
        WatchEvent::Started(s) => ("started", s),
        WatchEvent::Ended(s) => ("ended", s),
    };
    Ok(serde_json::to_string(&Line { event, execution })? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{fold_history, Event, HistorySource};
    use chrono::TimeZone;

    fn at(ms: i64) -> Option<DateTime<Utc>> {
        Utc.timestamp_millis_opt(ms).single()
    }

    fn rows() -> Vec<ExecutionSummary> {
        vec![
            ExecutionSummary::new(
                "arn:aws:states:us-east-1:1:execution:sm:feed-b",
                "feed-b",
                ExecutionStatus::Failed,
                at(1_772_442_928_600),
                at(1_772_442_929_112),
            ),
            ExecutionSummary::new(
                "arn:aws:states:us-east-1:1:execution:sm:feed-a",
                "feed-a",
                ExecutionStatus::Succeeded,
                at(1_772_442_928_000),
                at(1_772_442_929_013),
            ),
            ExecutionSummary::new(
                "arn:aws:states:us-east-1:1:execution:sm:feed-c-long-name",
                "feed-c-long-name",
                ExecutionStatus::Running,
                at(1_772_442_930_000),
                None,
            ),
        ]
    }

    fn detail(fixture: &str) -> ExecutionDetail {
        let v: serde_json::Value = serde_json::from_str(fixture).expect("fixture is JSON");
        let events: Vec<Event> = v["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| Event::from_api_json(e).expect("parses"))
            .collect();
        ExecutionDetail::new(
            "arn:aws:states:us-east-1:123456789012:execution:zb-prod-order-pipeline:feed-019cadd4",
            HistorySource::GetExecutionHistory,
            fold_history(&events),
        )
    }

    #[test]
    fn list_table_has_aligned_columns_and_marks() {
        let text = executions_table(&rows(), &Style::PLAIN);
        let expected = "\
NAME              STATUS       START (UTC)              STOP (UTC)               DURATION_MS
feed-b            ✗ FAILED     2026-03-02 09:15:28.600  2026-03-02 09:15:29.112          512
feed-a            ✓ SUCCEEDED  2026-03-02 09:15:28.000  2026-03-02 09:15:29.013         1013
feed-c-long-name  … RUNNING    2026-03-02 09:15:30.000  -                                  -
";
        assert_eq!(text, expected);
    }

    #[test]
    fn empty_list_says_so() {
        assert_eq!(executions_table(&[], &Style::PLAIN), "no executions\n");
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = executions_table(&rows(), &Style::PLAIN);
        assert!(!plain.contains('\x1b'));
        let coloured = executions_table(
            &rows(),
            &Style {
                color: true,
                ..Style::PLAIN
            },
        );
        assert!(coloured.contains("\x1b[1;31m✗ FAILED   \x1b[0m"));
        assert!(coloured.contains("\x1b[32m✓ SUCCEEDED\x1b[0m"));
    }

    #[test]
    fn style_detection_honours_no_color_and_tty() {
        assert!(Style::detect(true, None, false).color);
        assert!(
            Style::detect(true, Some(""), false).color,
            "an empty NO_COLOR does not count"
        );
        assert!(!Style::detect(true, Some("1"), false).color);
        assert!(!Style::detect(false, None, false).color);
        assert_eq!(Style::detect(false, None, true).max_payload, None);
    }

    #[test]
    fn list_json_is_an_array_of_summaries() {
        let json = to_json(&rows()).expect("encodes");
        let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(v[0]["name"], "feed-b");
        assert_eq!(v[0]["status"], "FAILED");
        assert_eq!(v[0]["duration_ms"], 512);
        assert_eq!(v[0]["started"], "2026-03-02T09:15:28.600Z");
        assert_eq!(v[2]["stopped"], serde_json::Value::Null);
    }

    #[test]
    fn show_marks_failed_states_and_prints_the_result() {
        let d = detail(include_str!("../fixtures/pipeline-retried-caught.json"));
        let text = execution_detail(&d, &Style::PLAIN);
        assert!(text.starts_with("Execution  feed-019cadd4\n"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let line = |prefix: &str| {
            lines
                .iter()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no line starting {prefix:?} in\n{text}"))
                .to_string()
        };
        assert_eq!(
            line("✓ Transform"),
            "✓ Transform          Task       356 ms  2 retries (TransientDependencyError ×2)  lambda:invoke zb-transform"
        );
        assert_eq!(
            line("✗ Persist"),
            "✗ Persist            Task       252 ms  caught → RecordErrors  lambda:invoke zb-persist"
        );
        assert_eq!(line("✗ FeedFailed"), "✗ FeedFailed         Fail         1 ms  failed");
        assert!(text.contains("      error  StoreError\n"));
        assert!(text.contains("\nResult     ✗ FAILED in 963 ms (stopped 2026-03-02 09:15:28.963 UTC)\n"));
        assert!(text.contains("Error      FeedFailed\n"));
        assert!(text.contains("Cause      The order pipeline failed for this feed"));
        // States print in the execution's order.
        let positions: Vec<usize> = [
            "Validate",
            "Transform",
            "Persist",
            "RecordErrors",
            "AfterRecordErrors",
            "FeedFailed",
        ]
        .iter()
        .map(|n| {
            // A state's own line: its mark, then its name.
            lines
                .iter()
                .position(|l| (l.starts_with('✓') || l.starts_with('✗')) && l.split_whitespace().nth(1) == Some(n))
                .unwrap_or(usize::MAX)
        })
        .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}\n{text}");
    }

    #[test]
    fn long_payloads_are_cut_unless_full() {
        let d = detail(include_str!("../fixtures/pipeline-succeeded.json"));
        let cut = execution_detail(&d, &Style::PLAIN);
        assert!(cut.contains("… ("), "{cut}");
        let full = execution_detail(
            &d,
            &Style {
                max_payload: None,
                ..Style::PLAIN
            },
        );
        assert!(!full.contains("--full shows all"));
        assert!(full.contains("\"rejections\""));
    }

    #[test]
    fn each_step_prints_what_it_changed_not_the_same_prefix() {
        let d = detail(include_str!("../fixtures/pipeline-succeeded.json"));
        let text = execution_detail(&d, &Style::PLAIN);
        // The steps hand the same object on: its start is printed once (the execution's input).
        assert_eq!(text.matches("{\"feedId\"").count(), 1, "{text}");
        assert!(text.contains("      changed "), "{text}");
        assert!(
            !text.contains("      input  "),
            "no input repeats the previous output:\n{text}"
        );
        assert_eq!(
            changes(
                r#"{"feedId":"f","n":1,"gone":true}"#,
                r#"{"feedId":"f","n":2,"batch":{"inline":{"valid":[1,2],"rejections":[3]}}}"#
            )
            .as_deref(),
            Some("~n=2 +batch={inline:{valid:[2],rejections:[1]}} -gone")
        );
        assert_eq!(changes(r#"{"a":1}"#, r#"{"a":1}"#).as_deref(), Some("nothing"));
        assert_eq!(changes("[1]", r#"{"a":1}"#), None);
    }

    #[test]
    fn a_feed_view_shows_the_record_when_no_execution_is_named() {
        let record: zb_shared::feed::FeedRecord = serde_json::from_value(serde_json::json!({
            "partnerId": "partner-a", "feedId": "019cadd4-c179-7b3e-9c41-5d8e2f6a0b17", "status": "FAILED",
            "format": "partner-a@1", "receivedAt": "2026-03-02T09:15:27.481Z", "requestId": "r-1",
            "correlationId": "c-1", "contentType": "application/json", "bodyBytes": 10, "orderCount": 2,
            "counts": {"received": 2, "persisted": 0, "duplicate": 0, "rejected": 2},
            "failure": {"Error": "InvalidPipelineInput", "Cause": "the batch is not a batch"},
            "updatedAt": "2026-03-02T09:15:28.001Z"
        }))
        .expect("a record");
        let view = FeedView {
            feed_id: record.feed_id.clone(),
            feed: Some(record),
            feed_error: None,
            executions: Vec::new(),
            execution: None,
            notes: vec!["execution not identified: no execution data".into()],
        };
        let text = feed_view(&view, &Style::PLAIN);
        assert_eq!(
            text,
            "\
Feed       019cadd4-c179-7b3e-9c41-5d8e2f6a0b17  partner partner-a  format partner-a@1
Status     ✗ FAILED  (updated 2026-03-02T09:15:28.001Z)
Received   2026-03-02T09:15:27.481Z  request r-1  correlation c-1
Orders     2 in the feed: 0 persisted, 0 duplicate, 2 rejected
Failure    InvalidPipelineInput
Cause      the batch is not a batch
Note       execution not identified: no execution data
"
        );
        let v: serde_json::Value = serde_json::from_str(&to_json(&view).expect("encodes")).expect("JSON");
        assert_eq!(v["feed"]["failure"]["Error"], "InvalidPipelineInput");
        assert_eq!(v["execution"], serde_json::Value::Null);
    }

    #[test]
    fn show_json_carries_every_state_field() {
        let d = detail(include_str!("../fixtures/pipeline-retried-caught.json"));
        let v: serde_json::Value = serde_json::from_str(&to_json(&d).expect("encodes")).expect("valid JSON");
        assert_eq!(v["name"], "feed-019cadd4");
        assert_eq!(v["source"], "GetExecutionHistory");
        assert_eq!(v["outcome"]["status"], "FAILED");
        assert_eq!(v["states"][1]["retries"], 2);
        assert_eq!(v["states"][2]["status"], "CAUGHT");
        assert_eq!(v["states"][2]["next"], "RecordErrors");
        assert_eq!(v["states"][2]["error"], "StoreError");
        assert_eq!(v["states"].as_array().map(Vec::len), Some(6));
    }

    #[test]
    fn watch_lines_and_json() {
        let r = rows();
        assert_eq!(
            watch_line(&WatchEvent::Started(r[2].clone()), &Style::PLAIN),
            "2026-03-02 09:15:30.000  ▶ STARTED    feed-c-long-name\n"
        );
        assert_eq!(
            watch_line(&WatchEvent::Ended(r[0].clone()), &Style::PLAIN),
            "2026-03-02 09:15:29.112  ✗ FAILED     feed-b  512 ms\n"
        );
        let json = watch_json(&WatchEvent::Ended(r[1].clone())).expect("encodes");
        assert!(
            json.ends_with('\n') && !json.trim_end().contains('\n'),
            "one line per event"
        );
        let fed = r[0]
            .clone()
            .with_input(Some(r#"{"feedId":"f-9","partnerId":"partner-a","correlationId":"c"}"#));
        assert_eq!(
            watch_line(&WatchEvent::Ended(fed.clone()), &Style::PLAIN),
            "2026-03-02 09:15:29.112  ✗ FAILED     feed-b  512 ms  feed=f-9  partner=partner-a\n"
        );
        let table = executions_table(&[fed, r[1].clone()], &Style::PLAIN);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].ends_with("DURATION_MS  FEED  PARTNER"), "{table}");
        assert!(lines[1].ends_with("512  f-9   partner-a"), "{table}");
        assert!(lines[2].ends_with("1013  -     -"), "{table}");
        let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(v["event"], "ended");
        assert_eq!(v["status"], "SUCCEEDED");
        assert_eq!(v["duration_ms"], 1013);
    }
}
