//! The outbox against DynamoDB Local: appends racing a reader that pages
//! with the cursor lose nothing and repeat nothing; acknowledgements move
//! the default start; the routes answer RFC 9457 problems for bad input.

use serde_json::json;
use std::time::{Duration, Instant};
use zb_shared::cost::CostMeter;
use zb_shared::store::{cursor_of, OutboxEntry, OutboxStore};
use zb_tests::api::{seen, Request, Seen};
use zb_tests::wiring::Env;

const WRITERS: usize = 4;
const PER_WRITER: usize = 15;

fn entry(id: &str) -> OutboxEntry {
    OutboxEntry {
        partner_id: String::new(),
        seq: 0,
        webhook_id: format!("msg_{id}"),
        event_type: "orders.persisted".into(),
        body: json!({"type": "orders.persisted", "data": {"id": id}}).to_string(),
        created_at: "2026-01-01T12:00:00.000Z".into(),
        expires_at: 1_769_860_800,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_are_read_in_order_without_loss_or_repeat() {
    let env = Env::new().await;
    let store = env.outbox();
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let store: OutboxStore = store.clone();
        writers.spawn(async move {
            for i in 0..PER_WRITER {
                let id = format!("w{w}-{i}");
                let seq = store
                    .append("p", &id, entry(&id), &CostMeter::default())
                    .await
                    .expect("append");
                assert!(seq.is_some(), "a fresh event was taken for a duplicate");
            }
        });
    }
    // The reader pages while the writers write, small pages, from the start.
    let total = WRITERS * PER_WRITER;
    let mut seen_ids = Vec::new();
    let mut seqs = Vec::new();
    let mut cursor: Option<String> = None;
    let started = Instant::now();
    while seen_ids.len() < total {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "read {} of {total}",
            seen_ids.len()
        );
        let page = store
            .read("p", cursor.as_deref(), 7, &CostMeter::default())
            .await
            .expect("read")
            .expect("our cursor");
        for e in &page.entries {
            seqs.push(e.seq);
            seen_ids.push(e.webhook_id.clone());
        }
        cursor = Some(page.cursor);
        if page.entries.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }
    assert_eq!(
        seqs,
        (1..=total as u64).collect::<Vec<_>>(),
        "in order, no gap, no repeat"
    );
    let mut unique = seen_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), total, "every event exactly once");
    // Nothing more after the end; a retried event appends nothing.
    let tail = store
        .read("p", cursor.as_deref(), 7, &CostMeter::default())
        .await
        .unwrap()
        .unwrap();
    assert!(tail.entries.is_empty());
    assert_eq!(tail.cursor, cursor.clone().unwrap(), "an empty read keeps the cursor");
    assert_eq!(
        store
            .append("p", "w0-0", entry("w0-0"), &CostMeter::default())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn an_ack_moves_the_default_start_and_bad_cursors_are_refused() {
    let env = Env::new().await;
    let store = env.outbox();
    let m = CostMeter::default();
    for i in 0..5 {
        store
            .append("p", &format!("e{i}"), entry(&format!("e{i}")), &m)
            .await
            .unwrap();
    }
    assert_eq!(store.ack("p", &cursor_of("p", 3), &m).await.unwrap(), Ok(3));
    let page = store.read("p", None, 10, &m).await.unwrap().unwrap();
    assert_eq!(page.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
    // An older ack does not move it back; acknowledged entries are still readable by cursor.
    assert_eq!(store.ack("p", &cursor_of("p", 1), &m).await.unwrap(), Ok(3));
    let again = store
        .read("p", Some(&cursor_of("p", 0)), 10, &m)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.entries.len(), 5, "an ack deletes nothing");
    assert!(
        store.ack("p", &cursor_of("p", 6), &m).await.unwrap().is_err(),
        "past the last entry"
    );
    assert!(store.ack("p", "garbage", &m).await.unwrap().is_err());
    // A read from past the last entry, or with another partner's cursor, is refused.
    assert!(store
        .read("p", Some(&cursor_of("p", 6)), 10, &m)
        .await
        .unwrap()
        .is_err());
    assert!(store.read("p", Some(&cursor_of("p", 5)), 10, &m).await.unwrap().is_ok());
    assert!(store
        .read("p", Some(&cursor_of("q", 1)), 10, &m)
        .await
        .unwrap()
        .is_err());
    assert!(store.ack("p", &cursor_of("q", 1), &m).await.unwrap().is_err());
    // Another partner's outbox is its own.
    assert!(store.read("q", None, 10, &m).await.unwrap().unwrap().entries.is_empty());
}

async fn call(env: &Env, req: Request) -> Seen {
    seen(
        query::handler(&env.query(), req.event())
            .await
            .unwrap_or_else(|e| match e {}),
    )
}

#[tokio::test]
async fn the_routes_page_acknowledge_and_name_the_field_at_fault() {
    let env = Env::new().await;
    let m = CostMeter::default();
    for i in 0..3 {
        env.outbox()
            .append("partner-a", &format!("e{i}"), entry(&format!("e{i}")), &m)
            .await
            .unwrap();
    }
    let page = call(
        &env,
        Request::get("partner-a", "/v1/outbox", "/v1/outbox").query("limit", "2"),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page.body["items"][0]["notification"]["data"]["id"], "e0");
    assert_eq!(page.body["hasMore"], true);
    let next = page.body["nextCursor"].as_str().unwrap().to_string();
    let rest = call(
        &env,
        Request::get("partner-a", "/v1/outbox", "/v1/outbox").query("cursor", &next),
    )
    .await;
    assert_eq!(rest.body["items"][0]["webhookId"], "msg_e2");

    let ack = |body: String| {
        Request::new("POST", "/v1/outbox/ack", "/v1/outbox/ack")
            .partner("partner-a", "")
            .body(body)
    };
    let acked = call(&env, ack(json!({"cursor": next}).to_string())).await;
    assert_eq!(acked.status, 200, "{}", acked.body);
    let after = call(&env, Request::get("partner-a", "/v1/outbox", "/v1/outbox")).await;
    assert_eq!(
        after.body["items"].as_array().map(Vec::len),
        Some(1),
        "starts after the ack"
    );

    let missing = call(&env, ack("{}".into())).await;
    missing.assert_problem(400);
    assert_eq!(missing.fault()["pointer"], "/cursor");
    let bad = call(&env, ack(json!({"cursor": "nope"}).to_string())).await;
    bad.assert_problem(400);
    assert_eq!(bad.fault()["pointer"], "/cursor");
    call(&env, ack("not json".into())).await.assert_problem(400);
    let bad_limit = call(
        &env,
        Request::get("partner-a", "/v1/outbox", "/v1/outbox").query("limit", "0"),
    )
    .await;
    bad_limit.assert_problem(400);
    assert_eq!(bad_limit.fault()["parameter"], "limit");
    let bad_cursor = call(
        &env,
        Request::get("partner-a", "/v1/outbox", "/v1/outbox").query("cursor", "%%"),
    )
    .await;
    bad_cursor.assert_problem(400);
}
