//! Issue 16: logs, state payloads and messages carry no order contents.
//!
//! A local cloud runs every seed feed (`make demo`'s local/seed/feeds, among
//! them 06-partner-b-buyers.json, whose buyers carry e-mails, names, phones
//! and street addresses, and whose third order is rejected, so a rejection
//! would quote a personal value) with partner B on a webhook, so deliveries
//! run as well as partner A's outbox. Then every file the cloud persisted in
//! its state folder (function logs and the order pipeline's execution logs
//! in logs/*.jsonl, the Standard executions' histories, the access log, the
//! IAM ledger, anything else), every webhook body the partner received and
//! every delivery and outbox item (the notifications as stored) is searched
//! for each buyer's personal values; none may hold one.
//!
//! The pipeline logs at level ALL with execution data (zb-cost needs the
//! logged input's feedId), so this passes only because a batch holding any
//! order content is staged in the feeds table, never carried in a state.
//!
//! The search proves it can fail: the same function finds a value planted in
//! a copy of one of the run's log files. And with the previous rule (inline
//! up to 32 KiB) this test failed, naming the pipeline's execution log and
//! its executions/ histories for every buyer's e-mail, name, phone and street,
//! and the rejected buyer's e-mail quoted by the rejection's message.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zb_tests::cloud::{repo, sdk, start, Options};
use zb_tests::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(120);
const BUYERS_FEED: &str = "local/seed/feeds/06-partner-b-buyers.json";
/// A rejection quotes at most 64 characters of a value: a needle this long
/// is found in an excerpt too.
const NEEDLE_CHARS: usize = 40;

/// Every personal value of the buyers' feed: each string under each order's
/// `buyer` (e-mail, name, phone, every address line), lowercased, cut to
/// [`NEEDLE_CHARS`]. Values too short to be told from other text (a country
/// code, a postcode) are left out: they are not distinctive.
fn personal_values() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join(BUYERS_FEED)).expect("the buyers' seed feed");
    let sample: Value = serde_json::from_str(&text).expect("the buyers' seed feed is JSON");
    let orders = sample["body"]["data"]["orders"].as_array().expect("orders").clone();
    let mut values = Vec::new();
    for order in &orders {
        collect_strings(&order["buyer"], &mut values);
    }
    let mut needles: Vec<String> = values
        .into_iter()
        .filter(|v| v.len() >= 8)
        .map(|v| v.to_lowercase().chars().take(NEEDLE_CHARS).collect())
        .collect();
    needles.sort();
    needles.dedup();
    // E-mail, name, phone and street of three buyers, two cities.
    assert!(needles.len() >= 14, "the buyers carry their personal data: {needles:?}");
    needles
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Each (where, needle) such that the text holds the needle. The text is
/// searched as it is and with JSON string escapes undone, so a value
/// inside a JSON-encoded log message (`\"`, `\u0040`, ...) is found too.
fn findings(where_: &str, text: &str, needles: &[String]) -> Vec<String> {
    let plain = text.to_lowercase();
    let unescaped = unescape_json(text).to_lowercase();
    needles
        .iter()
        .filter(|n| plain.contains(n.as_str()) || unescaped.contains(n.as_str()))
        .map(|n| format!("{where_}: {n}"))
        .collect()
}

/// Undoes JSON string escapes, repeatedly (a log line's message is a JSON
/// string that may itself hold JSON).
fn unescape_json(text: &str) -> String {
    let mut t = text.to_string();
    for _ in 0..3 {
        let next = t
            .replace("\\\\", "\\")
            .replace("\\\"", "\"")
            .replace("\\u0040", "@")
            .replace("\\u002b", "+")
            .replace("\\/", "/");
        if next == t {
            break;
        }
        t = next;
    }
    t
}

/// Every finding in every file under `dir`.
fn scan_dir(dir: &Path, needles: &[String]) -> (usize, Vec<String>) {
    let files = files_under(dir);
    let mut found = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        found.extend(findings(&f.display().to_string(), &text, needles));
    }
    (files.len(), found)
}

fn table(cloud: &zb_local::Running, logical_id: &str) -> String {
    cloud
        .model
        .tables
        .iter()
        .find(|t| t.logical_id == logical_id)
        .map(|t| t.name.clone())
        .unwrap_or_else(|| panic!("no {logical_id} in the model"))
}

/// Every item of a table, as DynamoDB JSON text (small tables: one run's).
async fn scan_table(ddb: &aws_sdk_dynamodb::Client, name: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut start: Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> = None;
    loop {
        let out = ddb
            .scan()
            .table_name(name)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan {name}: {e:?}"));
        items.extend(out.items().iter().map(|i| format!("{i:?}")));
        match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return items,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_log_line_history_or_message_of_a_demo_run_holds_a_buyers_personal_data() {
    let needles = personal_values();
    let receiver = Receiver::start(vec![200]).await;
    let seed_file = repo().join("local/seed/partners.json");
    let mut seed: Value = serde_json::from_str(&std::fs::read_to_string(&seed_file).expect("seed")).expect("seed JSON");
    let b = seed
        .as_array_mut()
        .and_then(|a| a.iter_mut().find(|p| p["partnerId"] == "partner-b"))
        .expect("partner-b is seeded");
    // Partner B is notified through its webhook (deliveries run), partner A
    // through its outbox.
    b["webhookUrl"] = json!(receiver.url);
    b["webhookSecret"] = json!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let cloud = start(Options {
        seed,
        ..Options::default()
    })
    .await;

    let rows = zb_local::demo::run(
        &cloud.api_url,
        &cloud.aws_url,
        &repo().join("local/seed/feeds"),
        &seed_file,
        WAIT,
    )
    .await
    .expect("the demo runs");
    assert!(rows.iter().all(|r| r.ok), "every seed feed ends as expected: {rows:#?}");
    let buyers = rows
        .iter()
        .find(|r| r.feed == "06-partner-b-buyers")
        .expect("the buyers' feed ran");
    assert_eq!((buyers.accepted, buyers.rejected), (2, 1), "{buyers:?}");
    assert!(rows.iter().any(|r| r.rejected > 0 && r.partner == "partner-a"));

    // Partner B's notifications: 04 persisted; 05 and 06 persisted and
    // rejected. Wait for all five, so their delivery runs have finished.
    let started = Instant::now();
    while receiver.received().len() < 5 {
        assert!(
            started.elapsed() < WAIT,
            "partner B got {} webhooks",
            receiver.received().len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The delivery executions record their last events after the POST.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut found = Vec::new();
    // Messages: what partner B was sent, what the deliveries and outbox keep.
    for (i, r) in receiver.received().iter().enumerate() {
        let body = String::from_utf8_lossy(&r.body).into_owned();
        let notification: Value = serde_json::from_str(&body).expect("a webhook body is JSON");
        assert!(notification["data"]["feedId"].is_string(), "{notification}");
        found.extend(findings(&format!("webhook body {i}"), &body, &needles));
        let headers = format!("{:?}", r.headers);
        found.extend(findings(&format!("webhook headers {i}"), &headers, &needles));
    }
    let rejected = receiver
        .received()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .find(|n| n["type"] == "orders.rejected" && n["data"]["rejected"] == 1)
        .expect("an orders.rejected notification");
    let listed = &rejected["data"]["rejections"][0];
    assert!(listed["code"].is_string() && listed["field"].is_string(), "{rejected}");
    assert!(listed.get("message").is_none(), "no rejection message: {rejected}");
    let ddb = aws_sdk_dynamodb::Client::new(&sdk(&cloud.dynamodb_url).await);
    for logical in ["DeliveriesTable", "OutboxTable"] {
        let items = scan_table(&ddb, &table(&cloud, logical)).await;
        assert!(!items.is_empty(), "{logical} holds the run's notifications");
        for (i, item) in items.iter().enumerate() {
            found.extend(findings(&format!("{logical} item {i}"), item, &needles));
        }
    }

    // Everything the cloud persisted: logs, execution histories, the rest.
    let state = cloud.state_dir().to_path_buf();
    let (files, in_state) = scan_dir(&state, &needles);
    found.extend(in_state);
    assert!(
        found.is_empty(),
        "personal data of the buyers' feed reached logs, histories or messages:\n{}",
        found.join("\n")
    );
    let logs = files_under(&state.join("logs"));
    let all_logs: String = logs
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect();
    // The scan saw the run: the buyers' feed's executions logged their
    // (staged) state payloads, and the functions their lines.
    assert!(
        files >= 10 && logs.len() >= 5,
        "{files} files, {} log files",
        logs.len()
    );
    for must in [
        "ExecutionStarted",
        "TaskStateExited",
        "\"staged\"",
        "\"record\":\"cost\"",
    ] {
        assert!(
            unescape_json(&all_logs).contains(&unescape_json(must)),
            "the logs hold {must}"
        );
    }
    assert!(
        files_under(&state.join("executions")).len() >= 5,
        "the delivery runs' histories are persisted"
    );

    // The search can fail: a value planted in a copy of a log file is found.
    let planted = std::env::temp_dir().join(format!("zb-privacy-plant-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&planted).expect("plant folder");
    let a_log = logs.first().expect("a log file");
    let mut text = std::fs::read_to_string(a_log).unwrap_or_default();
    text.push_str(&format!(
        "{}\n",
        json!({"timestamp": 0, "message": json!({"customerRef": "Ada.Lovelace.ZB16@example.org"}).to_string()})
    ));
    std::fs::write(planted.join("planted.jsonl"), text).expect("plant");
    let (_, caught) = scan_dir(&planted, &needles);
    assert!(
        caught.iter().any(|c| c.ends_with("ada.lovelace.zb16@example.org")),
        "the planted e-mail is found: {caught:?}"
    );
    std::fs::remove_dir_all(&planted).ok();

    cloud.shutdown().await;
    std::fs::remove_dir_all(&state).ok();
}

/// What staging every batch that holds order content costs (BENCHMARKS.md,
/// "Privacy: no order content in state payloads"): the write units of each
/// staged batch and the read units of reading it back, per feed, measured
/// on DynamoDB Local through the real handlers. Before issue 16 these feeds'
/// batches (under 32 KiB) travelled inline and cost nothing.
#[tokio::test]
async fn what_staging_every_batch_costs() {
    use zb_shared::claim::Carried;
    use zb_shared::cost::CostMeter;
    use zb_shared::pipeline::{open, CanonicalBatch, FeedRef, RejectionBatch, ValidBatch};
    use zb_tests::api::Request;
    use zb_tests::fixtures::{a_feed, a_order};
    use zb_tests::wiring::Env;

    /// Bytes staged, write units, read units.
    type Staging = (usize, f64, f64);
    /// What staging one step's batch cost, or None when it travelled inline.
    async fn cost_of<T: serde::de::DeserializeOwned + serde::Serialize>(
        env: &Env,
        feed: &FeedRef,
        batch: &Carried<T>,
    ) -> Option<Staging> {
        let Carried::Staged(stage) = batch else { return None };
        let read = CostMeter::default();
        let opened: T = open(&env.feeds(), feed, batch_clone(batch), &read).await.expect("open");
        let text = serde_json::to_string(&opened).expect("json");
        // A retried step rewrites the same items: the same units as the first write.
        let write = CostMeter::default();
        env.feeds()
            .stage(&feed.partner_id, &feed.feed_id, &stage.step, &text, &write)
            .await
            .expect("stage");
        Some((
            stage.bytes,
            write.counters().dynamodb_write_units,
            read.counters().dynamodb_read_units,
        ))
    }
    fn batch_clone<T: serde::de::DeserializeOwned + serde::Serialize>(b: &Carried<T>) -> Carried<T> {
        serde_json::from_value(serde_json::to_value(b).expect("json")).expect("json")
    }

    let env = Env::new().await;
    let mut next_seq = 1u64;
    let mut rows = Vec::new();
    for (valid, invalid) in [(1usize, 0usize), (100, 0), (1, 1)] {
        let mut orders: Vec<Value> = (0..valid)
            .map(|_| {
                next_seq += 1;
                a_order(next_seq)
            })
            .collect();
        orders.extend((0..invalid).map(|_| json!({"orderId": "no sequence number"})));
        let (resp, feed) = env
            .ingest_feed(&Request::post_feed("partner-a", "partner-a@1", &a_feed(orders)))
            .await;
        assert_eq!(resp.status, 202, "{}", resp.body);
        let feed = feed.expect("announced");
        let run = env.run_pipeline(&feed).await;
        assert_eq!(run.persisted.counts.persisted, valid);
        let steps: [(&str, Option<Staging>); 3] = [
            (
                "validate",
                cost_of::<ValidBatch>(&env, &feed, &run.validated.batch).await,
            ),
            (
                "transform",
                cost_of::<CanonicalBatch>(&env, &feed, &run.transformed.batch).await,
            ),
            (
                "persist",
                cost_of::<RejectionBatch>(&env, &feed, &run.persisted.batch).await,
            ),
        ];
        assert!(steps[0].1.is_some() && steps[1].1.is_some(), "order content is staged");
        assert_eq!(
            steps[2].1.is_some(),
            invalid > 0,
            "only rejections are staged after persist"
        );
        let (bytes, wcu, rcu) = steps
            .iter()
            .filter_map(|(_, c)| *c)
            .fold((0, 0.0, 0.0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
        let detail: Vec<String> = steps
            .iter()
            .map(|(s, c)| match c {
                Some((b, w, r)) => format!("{s} {b} B {w} WCU {r} RCU"),
                None => format!("{s} inline"),
            })
            .collect();
        rows.push(format!(
            "{valid} valid + {invalid} rejected: staged {bytes} B, +{wcu} WCU, +{rcu} RCU ({})",
            detail.join("; ")
        ));
    }
    eprintln!("staging every batch with order content:\n{}", rows.join("\n"));
}
