//! From log events and execution histories to what each feed consumed.
//!
//! Lambda runs one invocation at a time per execution environment, and each
//! environment writes its own log stream, so the lines of a stream between
//! `START RequestId: X` and `REPORT RequestId: X` are invocation X's (lines
//! before a START, such as INIT_START, belong to the invocation they precede:
//! its init is billed with it). An invocation belongs to the feed its cost
//! record names; the authorizer, which runs before a feed exists, belongs to
//! the feed whose ingest record has the same API Gateway request id. What
//! belongs to no feed (GET routes, refusals, orphan lines) is kept as the
//! unattributed usage, never dropped.

use crate::billing;
use crate::history::{self, ExecutionUse, HistoryEvent};
use crate::lines::{classify, CostRecord, Line, Report};
use crate::logs::LogEvent;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the deployment says about the functions, from template.yaml.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// Functions behind API routes: each of their invocations is one API
    /// Gateway request. (Invocations whose cost record carries
    /// ApiRequestBytes count as requests even without this.)
    pub api_functions: BTreeSet<String>,
    /// Size of the state machine definition, for the Express memory estimate.
    pub definition_bytes: u64,
}

/// One Lambda invocation, priced from its REPORT line.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaUse {
    pub function: String,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub init_ms: Option<f64>,
}

/// Everything one feed (or the unattributed rest) consumed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedUsage {
    /// None for the unattributed usage.
    pub feed_id: Option<String>,
    pub partner_id: Option<String>,
    /// Orders received (ingest's OrdersReceived).
    pub orders: u64,
    pub orders_persisted: u64,
    pub orders_rejected: u64,
    /// Body size of each API Gateway request.
    pub api_requests: Vec<u64>,
    pub lambda: Vec<LambdaUse>,
    /// Invocations seen only by their cost record (no REPORT line read):
    /// their request fee is counted, their duration cannot be.
    pub lambda_unreported: u64,
    pub executions: Vec<ExecutionUse>,
    pub dynamodb_read_units: Decimal,
    pub dynamodb_write_units: Decimal,
    pub eventbridge_entries: u64,
    /// In 64 KB chunks.
    pub eventbridge_events: u64,
    /// The functions' log events and their message bytes.
    pub log_events: u64,
    pub log_bytes: u64,
    /// Step Functions execution log lines read from their log group.
    pub sfn_log_events: u64,
    pub sfn_log_bytes: u64,
    /// Those lines one by one: (event type, bytes, bytes without execution
    /// data), what `what-if` reprices each logging choice from.
    pub sfn_log_lines: Vec<(String, u64, u64)>,
    /// Estimated from the histories of executions whose log lines were not
    /// read (the local cloud writes none; the template logs at level ALL).
    pub sfn_log_events_estimated: u64,
    pub sfn_log_bytes_estimated: u64,
    /// API Gateway access log lines read from their log group.
    pub access_log_events: u64,
    pub access_log_bytes: u64,
    /// Earliest timestamp seen, to list feeds in the order they came.
    pub first_seen_ms: Option<i64>,
}

impl FeedUsage {
    fn seen(&mut self, ms: i64) {
        self.first_seen_ms = Some(self.first_seen_ms.map_or(ms, |f| f.min(ms)));
    }
}

/// The usage of a run: one entry per feed, plus what belongs to none.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub feeds: Vec<FeedUsage>,
    pub unattributed: FeedUsage,
    pub warnings: Vec<String>,
}

impl Usage {
    /// Whether any execution ran as Express (else Standard, or none).
    pub fn measured_express(&self) -> Option<bool> {
        let all = self
            .feeds
            .iter()
            .chain([&self.unattributed])
            .flat_map(|f| &f.executions);
        let (mut express, mut standard) = (0, 0);
        for e in all {
            if e.express {
                express += 1
            } else {
                standard += 1
            }
        }
        match (express, standard) {
            (0, 0) => None,
            (e, s) => Some(e >= s),
        }
    }
}

/// One invocation as read from its stream.
#[derive(Debug, Default)]
struct Invocation {
    function: String,
    request_id: Option<String>,
    report: Option<Report>,
    records: Vec<CostRecord>,
    log_events: u64,
    log_bytes: u64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    /// When its REPORT line was logged: the time the invocation is
    /// attributed to when usage is collected per time window.
    report_ms: Option<i64>,
    /// Still open where its stream ended (no REPORT read).
    open: bool,
}

impl Invocation {
    fn line(&mut self, e: &LogEvent) {
        self.log_events += 1;
        self.log_bytes += e.message.len() as u64;
        self.first_ms = Some(self.first_ms.map_or(e.timestamp, |f| f.min(e.timestamp)));
        self.last_ms = Some(self.last_ms.map_or(e.timestamp, |l| l.max(e.timestamp)));
    }

    /// The time it belongs to: its REPORT line's, else its last line's.
    fn at_ms(&self) -> Option<i64> {
        self.report_ms.or(self.last_ms)
    }
}

/// Lambda names its log group `/aws/lambda/<function>`.
fn function_of(group: &str) -> String {
    group.strip_prefix("/aws/lambda/").unwrap_or(group).to_string()
}

struct Collected {
    invocations: Vec<Invocation>,
    sfn: BTreeMap<String, Vec<HistoryEvent>>,
    /// (API request id, message bytes, timestamp)
    access: Vec<(String, u64, i64)>,
    /// Lines of no invocation: (message bytes, timestamp).
    orphans: Vec<(u64, i64)>,
}

/// Splits each stream into invocations (see the module docs).
fn split(events: &[LogEvent]) -> Collected {
    let mut streams: Vec<((&str, &str), Vec<&LogEvent>)> = Vec::new();
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    for e in events {
        let key = (e.log_group_name.as_str(), e.log_stream_name.as_str());
        let i = *index.entry(key).or_insert_with(|| {
            streams.push((key, Vec::new()));
            streams.len() - 1
        });
        streams[i].1.push(e);
    }
    let mut out = Collected {
        invocations: Vec::new(),
        sfn: BTreeMap::new(),
        access: Vec::new(),
        orphans: Vec::new(),
    };
    let mut loose: Vec<(CostRecord, &LogEvent)> = Vec::new();
    for ((group, _), mut lines) in streams {
        // Stable: lines of the same millisecond keep the order they came in.
        lines.sort_by_key(|e| e.timestamp);
        let mut current: Option<Invocation> = None;
        let mut pending: Vec<&LogEvent> = Vec::new();
        for e in lines {
            match classify(&e.message) {
                Line::Sfn(s) => {
                    let bytes = e.message.len() as u64;
                    let mut ev = history::event_from_log(&s, bytes);
                    ev.nodata_json_bytes = serde_json::from_str::<serde_json::Value>(&e.message)
                        .map_or(bytes, |v| crate::sfn_log::bytes_without_data(&v));
                    out.sfn.entry(s.execution_arn.clone()).or_default().push(ev);
                }
                Line::Access { request_id } => out.access.push((request_id, e.message.len() as u64, e.timestamp)),
                Line::Start { request_id } => {
                    if let Some(mut open) = current.take() {
                        open.open = true;
                        out.invocations.push(open);
                    }
                    let mut inv = Invocation {
                        function: function_of(group),
                        request_id: Some(request_id),
                        ..Invocation::default()
                    };
                    for p in pending.drain(..) {
                        inv.line(p);
                    }
                    inv.line(e);
                    current = Some(inv);
                }
                Line::Report(r) => {
                    let mut inv = match current.take() {
                        Some(inv) if inv.request_id.as_deref() == Some(r.request_id.as_str()) => inv,
                        other => {
                            // A REPORT whose START was not read (a filtered export,
                            // or a read that began while it ran).
                            if let Some(mut open) = other {
                                open.open = true;
                                out.invocations.push(open);
                            }
                            let mut inv = Invocation {
                                function: function_of(group),
                                request_id: Some(r.request_id.clone()),
                                ..Invocation::default()
                            };
                            // The lines read before it, with no START between, are its own.
                            for p in pending.drain(..) {
                                inv.line(p);
                            }
                            inv
                        }
                    };
                    inv.line(e);
                    inv.report_ms = Some(e.timestamp);
                    inv.report = Some(r);
                    out.invocations.push(inv);
                }
                Line::Cost(rec) => match current.as_mut() {
                    Some(inv) => {
                        inv.line(e);
                        inv.records.push(*rec);
                    }
                    None => loose.push((*rec, e)),
                },
                Line::Other => match current.as_mut() {
                    Some(inv) => inv.line(e),
                    None => pending.push(e),
                },
            }
        }
        if let Some(mut open) = current.take() {
            open.open = true;
            out.invocations.push(open);
        }
        for p in pending {
            out.orphans.push((p.message.len() as u64, p.timestamp));
        }
    }
    // Records read without their stream's START (a filtered export): join
    // them to their invocation by Lambda request id, else keep them alone.
    let by_id: HashMap<String, usize> = out
        .invocations
        .iter()
        .enumerate()
        .filter_map(|(i, inv)| inv.request_id.clone().map(|id| (id, i)))
        .collect();
    for (rec, e) in loose {
        match rec.request_id.as_ref().and_then(|id| by_id.get(id)) {
            Some(&i) => {
                out.invocations[i].line(e);
                out.invocations[i].records.push(rec);
            }
            None => {
                let mut inv = Invocation {
                    function: if rec.function_name.is_empty() {
                        function_of(&e.log_group_name)
                    } else {
                        rec.function_name.clone()
                    },
                    request_id: rec.request_id.clone(),
                    ..Invocation::default()
                };
                inv.line(e);
                inv.records.push(rec);
                out.invocations.push(inv);
            }
        }
    }
    out
}

/// Orders counted as whole numbers (the metrics are floats in EMF).
fn whole(v: Option<f64>) -> u64 {
    v.filter(|n| n.is_finite() && *n > 0.0).map_or(0, |n| n.round() as u64)
}

/// Collects a run's usage per feed.
///
/// `histories` are executions read from the Step Functions API or the local
/// cloud's files; Express executions logged to a log group among `events`
/// are read from there too.
pub fn collect(events: &[LogEvent], histories: Vec<(String, Vec<HistoryEvent>)>, topology: &Topology) -> Usage {
    attribute(split(events), histories, topology, None)
}

/// A half-open time range `[start_ms, end_ms)` in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Window {
    pub fn contains(&self, ms: i64) -> bool {
        self.start_ms <= ms && ms < self.end_ms
    }

    /// What must be read to collect this window: the window widened by
    /// [`WINDOW_MARGIN_MS`] on both sides.
    pub fn read_range(&self) -> (i64, i64) {
        (
            self.start_ms.saturating_sub(WINDOW_MARGIN_MS),
            self.end_ms.saturating_add(WINDOW_MARGIN_MS),
        )
    }
}

/// How far before and after a window its events must be read so that every
/// invocation and execution it holds is read whole: a Lambda invocation
/// lasts at most 900 s (Lambda's largest timeout) after an init of at most
/// 10 s, an Express execution at most 5 minutes; one minute more for lines
/// logged out of order. Reading after the window also shows which open
/// invocations end later (and so belong to a later window).
pub const WINDOW_MARGIN_MS: i64 = 16 * 60 * 1000;

/// Collects the usage of one time window, so that consecutive windows add up
/// to what [`collect`] gives for all of them at once. Each invocation
/// belongs to the window of its REPORT line (one without a REPORT, to that
/// of its last line), each execution to the window of its last event, each
/// access log line and orphan line to the window of its own time; feeds are
/// still found through every invocation read (an authorizer joins its
/// ingest's feed across a window's edge). `events` must cover
/// [`Window::read_range`]; events outside the window are read only to see
/// whole invocations.
pub fn collect_window(
    events: &[LogEvent],
    histories: Vec<(String, Vec<HistoryEvent>)>,
    topology: &Topology,
    window: Window,
) -> Usage {
    attribute(split(events), histories, topology, Some(window))
}

/// Ties what `split` found to feeds; with a window, only what belongs to it.
fn attribute(
    c: Collected,
    histories: Vec<(String, Vec<HistoryEvent>)>,
    topology: &Topology,
    window: Option<Window>,
) -> Usage {
    let keep = |ms: Option<i64>| window.is_none_or(|w| ms.is_some_and(|t| w.contains(t)));
    let ended = |evs: &[HistoryEvent]| evs.iter().map(|e| e.timestamp_ms).max();
    let mut usage = Usage::default();
    let mut feeds: HashMap<String, FeedUsage> = HashMap::new();

    // API request id -> feed, from the records that carry both.
    let mut api_feed: HashMap<String, (String, Option<String>)> = HashMap::new();
    for rec in c.invocations.iter().flat_map(|i| &i.records) {
        if let (Some(api), Some(feed)) = (&rec.api_request_id, &rec.feed_id) {
            api_feed.insert(api.clone(), (feed.clone(), rec.partner_id.clone()));
        }
    }

    let (mut without_report, mut unterminated) = (0u64, 0u64);
    for inv in &c.invocations {
        if !keep(inv.at_ms()) {
            continue;
        }
        if inv.open {
            unterminated += 1;
        }
        let direct = inv
            .records
            .iter()
            .find_map(|r| r.feed_id.clone().map(|f| (f, r.partner_id.clone())));
        let via_api = || {
            inv.records
                .iter()
                .find_map(|r| r.api_request_id.as_ref().and_then(|a| api_feed.get(a)).cloned())
        };
        let target = match direct.or_else(via_api) {
            Some((feed, partner)) => {
                let f = feeds.entry(feed.clone()).or_insert_with(|| FeedUsage {
                    feed_id: Some(feed),
                    ..FeedUsage::default()
                });
                if f.partner_id.is_none() {
                    f.partner_id = partner;
                }
                f
            }
            None => &mut usage.unattributed,
        };
        if let Some(ms) = inv.first_ms {
            target.seen(ms);
        }
        match &inv.report {
            Some(r) => target.lambda.push(LambdaUse {
                function: inv.function.clone(),
                billed_ms: r.billed_ms,
                memory_mb: r.memory_mb,
                init_ms: r.init_ms,
            }),
            None => {
                target.lambda_unreported += 1;
                without_report += 1;
            }
        }
        let api_bytes = inv.records.iter().find_map(|r| r.api_request_bytes);
        if topology.api_functions.contains(&inv.function) || api_bytes.is_some() {
            target.api_requests.push(api_bytes.unwrap_or(0));
        }
        for r in &inv.records {
            target.dynamodb_read_units += r.dynamodb_read_units;
            target.dynamodb_write_units += r.dynamodb_write_units;
            target.eventbridge_entries += r.event_bridge_entries;
            target.eventbridge_events +=
                billing::eventbridge_events_of_batch(r.event_bridge_entries, r.event_bridge_bytes);
            target.orders += whole(r.orders_received);
            target.orders_persisted += whole(r.orders_persisted);
            target.orders_rejected += whole(r.orders_rejected);
        }
        target.log_events += inv.log_events;
        target.log_bytes += inv.log_bytes;
    }

    // Executions: histories first, then those only their log lines tell of.
    let logged: BTreeMap<String, (u64, u64)> = c
        .sfn
        .iter()
        .map(|(arn, evs)| (arn.clone(), (evs.len() as u64, evs.iter().map(|e| e.json_bytes).sum())))
        .collect();
    let mut seen_arns = BTreeSet::new();
    let mut executions: Vec<ExecutionUse> = Vec::new();
    for (arn, evs) in histories {
        if seen_arns.insert(arn.clone()) && keep(ended(&evs)) {
            executions.push(history::execution_use(&arn, &evs));
        }
    }
    for (arn, evs) in &c.sfn {
        if seen_arns.insert(arn.clone()) && keep(ended(evs)) {
            executions.push(history::execution_use(arn, evs));
        }
    }
    let mut unfed_executions = 0;
    for exec in executions {
        let target = match &exec.feed_id {
            Some(feed) => feeds.entry(feed.clone()).or_insert_with(|| FeedUsage {
                feed_id: Some(feed.clone()),
                partner_id: exec.partner_id.clone(),
                ..FeedUsage::default()
            }),
            None => {
                unfed_executions += 1;
                &mut usage.unattributed
            }
        };
        match logged.get(&exec.execution_arn) {
            Some((n, bytes)) => {
                target.sfn_log_events += n;
                target.sfn_log_bytes += bytes;
                target.sfn_log_lines.extend(
                    c.sfn
                        .get(&exec.execution_arn)
                        .into_iter()
                        .flatten()
                        .map(|e| (e.event_type.clone(), e.json_bytes, e.nodata_json_bytes)),
                );
            }
            None => {
                target.sfn_log_events_estimated += exec.events;
                target.sfn_log_bytes_estimated += exec.history_json_bytes;
            }
        }
        target.executions.push(exec);
    }

    for (api, bytes, ms) in c.access {
        if !keep(Some(ms)) {
            continue;
        }
        let target = match api_feed.get(&api) {
            Some((feed, _)) => feeds.get_mut(feed).unwrap_or(&mut usage.unattributed),
            None => &mut usage.unattributed,
        };
        target.access_log_events += 1;
        target.access_log_bytes += bytes;
        target.seen(ms);
    }
    for (bytes, ms) in c.orphans {
        if keep(Some(ms)) {
            usage.unattributed.log_events += 1;
            usage.unattributed.log_bytes += bytes;
        }
    }

    if without_report > 0 {
        usage.warnings.push(format!(
            "invocations without a REPORT line in the logs read: {without_report} (their request fee is counted, \
             their duration is not)"
        ));
    }
    if unterminated > 0 {
        usage.warnings.push(format!(
            "invocations still open where their log stream ends: {} (read the logs again once they finish)",
            unterminated
        ));
    }
    if unfed_executions > 0 {
        usage.warnings.push(format!(
            "executions whose input names no feed: {unfed_executions} (unattributed)"
        ));
    }
    let mut feeds: Vec<FeedUsage> = feeds.into_values().collect();
    feeds.sort_by(|a, b| (a.first_seen_ms, &a.feed_id).cmp(&(b.first_seen_ms, &b.feed_id)));
    usage.feeds = feeds;
    usage
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(group: &str, stream: &str, ts: i64, message: &str) -> LogEvent {
        LogEvent {
            log_group_name: group.into(),
            log_stream_name: stream.into(),
            timestamp: ts,
            message: message.into(),
            ingestion_time: None,
        }
    }

    fn report(id: &str, billed: u64) -> String {
        format!("REPORT RequestId: {id}\tDuration: 1.00 ms\tBilled Duration: {billed} ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\t")
    }

    #[test]
    fn two_environments_interleaved_in_time_stay_apart() {
        let g = "/aws/lambda/zb-validate";
        let rec = |feed: &str, id: &str| {
            format!(
                r#"{{"record":"cost","FunctionName":"zb-validate","FeedId":"{feed}","RequestId":"{id}","DynamoDbReadUnits":1.0}}"#
            )
        };
        let events = vec![
            ev(g, "a", 1, "START RequestId: r1 Version: $LATEST"),
            ev(g, "b", 2, "START RequestId: r2 Version: $LATEST"),
            ev(g, "b", 3, &rec("f2", "r2")),
            ev(g, "a", 4, &rec("f1", "r1")),
            ev(g, "a", 5, &report("r1", 7)),
            ev(g, "b", 6, &report("r2", 9)),
        ];
        let u = collect(&events, Vec::new(), &Topology::default());
        assert_eq!(u.feeds.len(), 2);
        let f1 = &u.feeds[0];
        assert_eq!(f1.feed_id.as_deref(), Some("f1"));
        assert_eq!(f1.lambda[0].billed_ms, 7);
        assert_eq!(f1.log_events, 3);
        assert_eq!(u.feeds[1].lambda[0].billed_ms, 9);
        assert!(u.unattributed.lambda.is_empty());
    }

    #[test]
    fn the_authorizer_joins_its_feed_through_the_api_request_id() {
        let auth = "/aws/lambda/zb-authorizer";
        let ingest = "/aws/lambda/zb-ingest";
        let events = vec![
            ev(auth, "a", 1, "INIT_START Runtime Version: provided:al2023"),
            ev(auth, "a", 2, "START RequestId: l1 Version: $LATEST"),
            ev(
                auth,
                "a",
                3,
                r#"{"record":"cost","FunctionName":"zb-authorizer","RequestId":"l1","ApiRequestId":"api-1","PartnerId":"p","DynamoDbReadUnits":1.0}"#,
            ),
            ev(auth, "a", 4, &report("l1", 30)),
            ev(ingest, "i", 5, "START RequestId: l2 Version: $LATEST"),
            ev(
                ingest,
                "i",
                6,
                r#"{"record":"cost","FunctionName":"zb-ingest","RequestId":"l2","ApiRequestId":"api-1","ApiRequestBytes":900,"FeedId":"f","PartnerId":"p","OrdersReceived":3.0,"DynamoDbWriteUnits":2.0,"EventBridgeEntries":1,"EventBridgeBytes":274}"#,
            ),
            ev(ingest, "i", 7, &report("l2", 12)),
            // A refused request: the authorizer ran, nothing else did.
            ev(auth, "a", 8, "START RequestId: l3 Version: $LATEST"),
            ev(
                auth,
                "a",
                9,
                r#"{"record":"cost","FunctionName":"zb-authorizer","RequestId":"l3","ApiRequestId":"api-2"}"#,
            ),
            ev(auth, "a", 10, &report("l3", 2)),
        ];
        let u = collect(&events, Vec::new(), &Topology::default());
        assert_eq!(u.feeds.len(), 1);
        let f = &u.feeds[0];
        assert_eq!(f.lambda.len(), 2);
        assert_eq!(f.api_requests, vec![900]);
        assert_eq!(f.orders, 3);
        assert_eq!(f.dynamodb_read_units, Decimal::ONE);
        assert_eq!(f.eventbridge_events, 1);
        // INIT_START belongs to the invocation it preceded.
        assert_eq!(f.log_events, 7);
        assert_eq!(u.unattributed.lambda.len(), 1);
        assert!(u.unattributed.api_requests.is_empty());
    }

    #[test]
    fn api_functions_from_the_template_count_requests_without_a_feed() {
        let q = "/aws/lambda/zb-query";
        let events = vec![
            ev(q, "s", 1, "START RequestId: q1 Version: $LATEST"),
            ev(
                q,
                "s",
                2,
                r#"{"record":"cost","FunctionName":"zb-query","RequestId":"q1","DynamoDbReadUnits":1.0}"#,
            ),
            ev(q, "s", 3, &report("q1", 3)),
            ev(q, "s", 4, "a line after the invocation, before no other"),
        ];
        let topology = Topology {
            api_functions: ["zb-query".to_string()].into(),
            definition_bytes: 0,
        };
        let u = collect(&events, Vec::new(), &topology);
        assert!(u.feeds.is_empty());
        assert_eq!(u.unattributed.api_requests, vec![0]);
        assert_eq!(u.unattributed.lambda.len(), 1);
        // The orphan line is kept, unattributed.
        assert_eq!(u.unattributed.log_events, 4);
    }

    /// Hour by hour, the usage adds up to that of the whole run: an
    /// invocation whose REPORT falls after the hour's end belongs to the next
    /// hour, the authorizer finds its feed across the edge, an execution
    /// belongs to the hour it ended in, and a read that begins while an
    /// invocation runs glues none of its lines to the next one.
    #[test]
    fn consecutive_windows_add_up_to_the_whole_run() {
        use crate::price::{self, Choices, Service};
        use crate::pricing::PriceBook;
        const H: i64 = 3_600_000;
        let (auth, ingest, validate) = (
            "/aws/lambda/zb-authorizer",
            "/aws/lambda/zb-ingest",
            "/aws/lambda/zb-validate",
        );
        let rec = |f: &str, body: &str| format!(r#"{{"record":"cost","FunctionName":"{f}",{body}}}"#);
        let sfn = |ts: i64, kind: &str, details: &str| {
            format!(
                r#"{{"id":"1","type":"{kind}","details":{details},"execution_arn":"arn:aws:states:us-east-1:0:express:zb-order-pipeline:e:e","event_timestamp":"{ts}"}}"#
            )
        };
        let input = r#"{"input":"{\"feedId\":\"f\",\"partnerId\":\"p\"}"}"#;
        let events = vec![
            // Long before the second hour's read begins: an invocation of feed g.
            ev(validate, "v", 2_000_000, "START RequestId: v0 Version: $LATEST"),
            ev(
                validate,
                "v",
                2_000_001,
                &rec(
                    "zb-validate",
                    r#""RequestId":"v0","FeedId":"g","PartnerId":"p","DynamoDbReadUnits":3.0"#,
                ),
            ),
            ev(validate, "v", 2_000_002, &report("v0", 40)),
            // Runs across the second hour's read start (H - 16 min = 2_640_000).
            ev(validate, "v", 2_639_000, "START RequestId: v1 Version: $LATEST"),
            ev(
                validate,
                "v",
                2_639_500,
                &rec(
                    "zb-validate",
                    r#""RequestId":"v1","FeedId":"g","PartnerId":"p","DynamoDbReadUnits":1.0"#,
                ),
            ),
            ev(validate, "v", 2_641_000, "a line of v1 after the read start"),
            ev(validate, "v", 2_642_000, &report("v1", 30)),
            // The authorizer ends before the hour's edge, its ingest after it.
            ev(auth, "a", H - 10, "START RequestId: a1 Version: $LATEST"),
            ev(
                auth,
                "a",
                H - 9,
                &rec(
                    "zb-authorizer",
                    r#""RequestId":"a1","ApiRequestId":"api-1","DynamoDbReadUnits":1.0"#,
                ),
            ),
            ev(auth, "a", H - 8, &report("a1", 9)),
            ev(ingest, "i", H - 5, "START RequestId: i1 Version: $LATEST"),
            ev(
                ingest,
                "i",
                H - 4,
                &rec(
                    "zb-ingest",
                    r#""RequestId":"i1","ApiRequestId":"api-1","ApiRequestBytes":700,"FeedId":"f","PartnerId":"p","OrdersReceived":2.0,"DynamoDbWriteUnits":4.0,"EventBridgeEntries":1,"EventBridgeBytes":200"#,
                ),
            ),
            ev(ingest, "i", H + 3, &report("i1", 11)),
            // The execution starts in the first hour and ends in the second.
            ev(
                "/aws/vendedlogs/states/zb-order-pipeline",
                "x",
                H - 2,
                &sfn(H - 2, "ExecutionStarted", input),
            ),
            ev(
                "/aws/vendedlogs/states/zb-order-pipeline",
                "x",
                H + 150,
                &sfn(H + 150, "ExecutionSucceeded", r#"{"output":"{}"}"#),
            ),
            ev(validate, "v", H + 10, "START RequestId: v2 Version: $LATEST"),
            ev(
                validate,
                "v",
                H + 11,
                &rec(
                    "zb-validate",
                    r#""RequestId":"v2","FeedId":"f","PartnerId":"p","DynamoDbReadUnits":2.0"#,
                ),
            ),
            ev(validate, "v", H + 12, &report("v2", 20)),
            ev(validate, "v", H + 13, "an orphan line in the second hour"),
        ];
        let book = PriceBook::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pricing/us-east-1.json"))
            .expect("the price list");
        let topology = Topology::default();
        let priced = |u: &Usage| -> BTreeMap<Option<String>, BTreeMap<Service, Decimal>> {
            u.feeds
                .iter()
                .chain([&u.unattributed])
                .map(|f| {
                    let mut by = BTreeMap::new();
                    for c in price::price(f, &book, &Choices::default(), 8_000) {
                        *by.entry(c.service).or_insert(Decimal::ZERO) += c.usd;
                    }
                    (f.feed_id.clone(), by)
                })
                .collect()
        };
        let whole = collect(&events, Vec::new(), &topology);
        assert!(whole.warnings.is_empty(), "{:?}", whole.warnings);
        let mut hourly: BTreeMap<Option<String>, BTreeMap<Service, Decimal>> = BTreeMap::new();
        for hour in 0..2 {
            let window = Window {
                start_ms: hour * H,
                end_ms: (hour + 1) * H,
            };
            let (from, to) = window.read_range();
            // Only what a FilterLogEvents over the read range returns.
            let read: Vec<LogEvent> = events
                .iter()
                .filter(|e| from <= e.timestamp && e.timestamp <= to)
                .cloned()
                .collect();
            let u = collect_window(&read, Vec::new(), &topology, window);
            assert!(u.warnings.is_empty(), "hour {hour}: {:?}", u.warnings);
            for (feed, by) in priced(&u) {
                for (s, usd) in by {
                    *hourly
                        .entry(feed.clone())
                        .or_default()
                        .entry(s)
                        .or_insert(Decimal::ZERO) += usd;
                }
            }
        }
        let whole = priced(&whole);
        assert_eq!(hourly, whole);
        // The authorizer went with feed f, and the glued line with v1 (feed g).
        assert!(whole[&Some("f".to_string())].contains_key(&Service::StepFunctions));
        let read = |hour: i64| {
            let window = Window {
                start_ms: hour * H,
                end_ms: (hour + 1) * H,
            };
            let (from, to) = window.read_range();
            let read: Vec<LogEvent> = events
                .iter()
                .filter(|e| from <= e.timestamp && e.timestamp <= to)
                .cloned()
                .collect();
            collect_window(&read, Vec::new(), &topology, window)
        };
        let (first, second) = (read(0), read(1));
        let f_first = first
            .feeds
            .iter()
            .find(|f| f.feed_id.as_deref() == Some("f"))
            .expect("f in hour 0");
        assert_eq!(f_first.lambda.len(), 1, "the authorizer ended in hour 0");
        let f_second = second
            .feeds
            .iter()
            .find(|f| f.feed_id.as_deref() == Some("f"))
            .expect("f in hour 1");
        assert_eq!(f_second.lambda.len(), 2, "ingest and validate ended in hour 1");
        assert_eq!(f_second.executions.len(), 1);
        assert!(second.feeds.iter().all(|f| f.feed_id.as_deref() != Some("g")));
        assert_eq!(second.unattributed.log_events, 1);
    }

    #[test]
    fn records_without_their_start_join_by_request_id_or_stand_alone() {
        let g = "/aws/lambda/zb-persist";
        let events = vec![
            ev(
                g,
                "s",
                1,
                r#"{"record":"cost","FunctionName":"zb-persist","RequestId":"p1","FeedId":"f","DynamoDbWriteUnits":2.0}"#,
            ),
            ev(g, "s", 2, &report("p1", 5)),
            ev(
                g,
                "t",
                3,
                r#"{"record":"cost","FunctionName":"zb-persist","RequestId":"p9","FeedId":"f"}"#,
            ),
        ];
        let u = collect(&events, Vec::new(), &Topology::default());
        let f = &u.feeds[0];
        assert_eq!(f.lambda.len(), 1);
        assert_eq!(f.lambda[0].billed_ms, 5);
        assert_eq!(f.lambda_unreported, 1);
        assert_eq!(f.dynamodb_write_units, Decimal::TWO);
        assert!(
            u.warnings
                .iter()
                .any(|w| w.contains("without a REPORT line in the logs read: 1 ")),
            "{:?}",
            u.warnings
        );
    }
}
