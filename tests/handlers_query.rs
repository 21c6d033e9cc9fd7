//! The read routes through the query handler, against DynamoDB Local.

use serde_json::json;
use zb_tests::api::{seen, Request, Seen};
use zb_tests::fixtures::{a_feed, a_order};
use zb_tests::wiring::Env;

const A: &str = "partner-a";
const B: &str = "partner-b";

async fn get(env: &Env, req: Request) -> Seen {
    seen(
        query::handler(&env.query(), req.event())
            .await
            .unwrap_or_else(|e| match e {}),
    )
}

/// Partner A with orders 1..=n persisted (event times 1..n minutes before now)
/// and one rejected order; returns the feed id.
async fn seeded(env: &Env, n: u64) -> String {
    let mut orders: Vec<_> = (1..=n).map(a_order).collect();
    let mut bad = a_order(100);
    bad["currency"] = json!("XYZ");
    orders.push(bad);
    let (resp, feed) = env
        .ingest_feed(&Request::post_feed(A, "partner-a@1", &a_feed(orders)))
        .await;
    assert_eq!(resp.status, 202);
    let feed = feed.expect("announced");
    env.run_pipeline(&feed).await;
    feed.feed_id
}

fn feed_req(partner: &str, feed_id: &str) -> Request {
    Request::get(partner, "/v1/feeds/{feedId}", &format!("/v1/feeds/{feed_id}")).path_param("feedId", feed_id)
}

fn order_req(partner: &str, seq: &str) -> Request {
    Request::get(partner, "/v1/orders/{sequenceNumber}", &format!("/v1/orders/{seq}")).path_param("sequenceNumber", seq)
}

#[tokio::test]
async fn a_partner_cannot_read_another_partners_data() {
    let env = Env::new().await;
    let feed_id = seeded(&env, 2).await;

    let own = get(&env, feed_req(A, &feed_id)).await;
    assert_eq!(own.status, 200);
    let theirs = get(&env, feed_req(B, &feed_id)).await;
    theirs.assert_problem(404);
    assert!(!theirs.body.to_string().contains("EUR"), "nothing of the feed leaks");

    assert_eq!(get(&env, order_req(A, "1")).await.status, 200);
    get(&env, order_req(B, "1")).await.assert_problem(404);

    let orders_b = get(&env, Request::get(B, "/v1/orders", "/v1/orders")).await;
    assert_eq!(orders_b.status, 200);
    assert_eq!(orders_b.body["items"], json!([]));
    let errors_b = get(&env, Request::get(B, "/v1/errors", "/v1/errors")).await;
    assert_eq!(errors_b.body["items"], json!([]));
    let errors_a = get(&env, Request::get(A, "/v1/errors", "/v1/errors")).await;
    assert_eq!(errors_a.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(errors_a.body["items"][0]["code"], "UNKNOWN_CURRENCY");
    assert_eq!(errors_a.body["items"][0]["field"], "/orders/2/currency");
}

#[tokio::test]
async fn unknown_ids_are_404_and_a_malformed_sequence_number_is_400() {
    let env = Env::new().await;
    seeded(&env, 1).await;
    get(&env, feed_req(A, &uuid::Uuid::now_v7().to_string()))
        .await
        .assert_problem(404);
    // The raw-body sibling item is never served as a feed.
    let feed_id = seeded(&env, 1).await;
    get(&env, feed_req(A, &format!("{feed_id}#body")))
        .await
        .assert_problem(404);
    get(&env, order_req(A, "999")).await.assert_problem(404);
    let bad = get(&env, order_req(A, "abc")).await;
    bad.assert_problem(400);
    assert_eq!(bad.fault()["parameter"], "sequenceNumber");
}

#[tokio::test]
async fn orders_are_listed_by_event_time_page_by_page() {
    let env = Env::new().await;
    seeded(&env, 5).await;
    let mut seen_seqs = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut req = Request::get(A, "/v1/orders", "/v1/orders").query("limit", "2");
        if let Some(c) = &cursor {
            req = req.query("cursor", c);
        }
        let page = get(&env, req).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            seen_seqs.push(item["sequenceNumber"].as_u64().unwrap());
        }
        pages += 1;
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    // Oldest first: order n is n minutes before now.
    assert_eq!(seen_seqs, vec![5, 4, 3, 2, 1]);

    // A time window: orders 2..=4 have event times 11:56..11:58.
    let page = get(
        &env,
        Request::get(A, "/v1/orders", "/v1/orders")
            .query("from", "2026-01-01T11:56:00Z")
            .query("to", "2026-01-01T13:58:00+02:00"),
    )
    .await;
    let seqs: Vec<_> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["sequenceNumber"].clone())
        .collect();
    assert_eq!(seqs, vec![json!(4), json!(3), json!(2)]);
    assert!(
        page.body["items"][0].get("orderHash").is_none(),
        "internal fields stay internal"
    );
}

#[tokio::test]
async fn a_bad_cursor_or_time_range_is_400_naming_the_parameter() {
    let env = Env::new().await;
    seeded(&env, 3).await;
    for (name, value) in [
        ("cursor", "not-a-cursor"),
        ("from", "yesterday"),
        ("to", "2026-13-01T00:00:00Z"),
        ("limit", "0"),
    ] {
        let resp = get(&env, Request::get(A, "/v1/orders", "/v1/orders").query(name, value)).await;
        resp.assert_problem(400);
        assert_eq!(resp.fault()["parameter"], name, "{}", resp.body);
    }
    let resp = get(
        &env,
        Request::get(A, "/v1/errors", "/v1/errors")
            .query("from", "2026-02-01T00:00:00Z")
            .query("to", "2026-01-01T00:00:00Z"),
    )
    .await;
    resp.assert_problem(400);
    assert_eq!(resp.fault()["parameter"], "from");
    // A well-formed cursor that was issued for another range is refused too.
    let first = get(&env, Request::get(A, "/v1/orders", "/v1/orders").query("limit", "1")).await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_string();
    let resp = get(
        &env,
        Request::get(A, "/v1/orders", "/v1/orders")
            .query("from", "2030-01-01T00:00:00Z")
            .query("cursor", &cursor),
    )
    .await;
    resp.assert_problem(400);
    assert_eq!(resp.fault()["parameter"], "cursor");
}

#[tokio::test]
async fn reads_without_the_authorizer_context_are_401() {
    let env = Env::new().await;
    get(&env, Request::get(A, "/v1/orders", "/v1/orders").anonymous())
        .await
        .assert_problem(401);
}
