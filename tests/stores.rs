//! The DynamoDB adapters on their own, against DynamoDB Local: the parts of
//! their contracts the handler tests do not reach.

use zb_shared::cost::CostMeter;
use zb_shared::idempotency::{Claim, StoredResponse, LOCK_SECS, RETENTION_SECS};
use zb_shared::rejection::{RejectionCode, Stage};
use zb_shared::store::{ErrorItem, StoreError};
use zb_tests::wiring::Env;

const T0: i64 = 1_767_268_800;

#[tokio::test]
async fn an_idempotency_key_goes_from_claimed_to_replayed() {
    let env = Env::new().await;
    let store = env.idempotency();
    let m = CostMeter::default();
    assert_eq!(store.claim("p", "k", "h1", T0, &m).await.unwrap(), Claim::Acquired);
    assert_eq!(store.claim("p", "k", "h1", T0 + 1, &m).await.unwrap(), Claim::InFlight);
    assert_eq!(store.claim("p", "k", "h2", T0 + 1, &m).await.unwrap(), Claim::Mismatch);
    let resp = StoredResponse {
        status: 202,
        body: r#"{"feedId":"f"}"#.into(),
    };
    store.complete("p", "k", &resp, &m).await.unwrap();
    assert_eq!(
        store.claim("p", "k", "h1", T0 + 2, &m).await.unwrap(),
        Claim::Replay(resp)
    );
    // Releasing a completed key changes nothing.
    store.release("p", "k", &m).await.unwrap();
    assert!(matches!(
        store.claim("p", "k", "h1", T0 + 3, &m).await.unwrap(),
        Claim::Replay(_)
    ));
}

#[tokio::test]
async fn an_abandoned_claim_frees_itself_and_an_expired_key_is_new_again() {
    let env = Env::new().await;
    let store = env.idempotency();
    let m = CostMeter::default();
    assert_eq!(store.claim("p", "k", "h1", T0, &m).await.unwrap(), Claim::Acquired);
    // The first request died without completing: after its lock, the key is free.
    assert_eq!(
        store.claim("p", "k", "h1", T0 + LOCK_SECS - 1, &m).await.unwrap(),
        Claim::InFlight
    );
    assert_eq!(
        store.claim("p", "k", "h1", T0 + LOCK_SECS + 1, &m).await.unwrap(),
        Claim::Acquired
    );
    store
        .complete(
            "p",
            "k",
            &StoredResponse {
                status: 202,
                body: "{}".into(),
            },
            &m,
        )
        .await
        .unwrap();
    // TTL deletes lazily; a key past its retention counts as unused.
    let later = T0 + LOCK_SECS + 2 + RETENTION_SECS;
    assert_eq!(
        store.claim("p", "k", "other", later, &m).await.unwrap(),
        Claim::Acquired
    );
    // A released claim is free at once.
    assert_eq!(store.claim("p", "k2", "h", T0, &m).await.unwrap(), Claim::Acquired);
    store.release("p", "k2", &m).await.unwrap();
    assert_eq!(store.claim("p", "k2", "h", T0, &m).await.unwrap(), Claim::Acquired);
}

fn error_item(i: usize) -> ErrorItem {
    let received_at = format!("2026-01-01T12:{:02}:00.000Z", i / 10);
    ErrorItem {
        partner_id: "p".into(),
        sk: ErrorItem::sort_key(&received_at, "feed", i),
        feed_id: "feed".into(),
        index: i,
        sequence_number: Some(i as u64),
        code: RejectionCode::InvalidQuantity,
        field: format!("/orders/{i}/items/0/quantity"),
        message: "quantity must be a positive integer".into(),
        stage: Stage::Transform,
        raw_order: Some(format!(r#"{{"sequenceNumber":{i}}}"#)),
        raw_order_ref: None,
        received_at,
        recorded_at: "2026-01-01T12:10:00.000Z".into(),
        expires_at: T0 + 30 * 86400,
    }
}

#[tokio::test]
async fn sixty_errors_are_written_in_batches_and_read_back_page_by_page() {
    let env = Env::new().await;
    let log = env.errors();
    let m = CostMeter::default();
    let items: Vec<_> = (0..60).map(error_item).collect();
    log.record(&items, &m).await.unwrap();
    // Rewriting the same rejections is idempotent.
    log.record(&items, &m).await.unwrap();
    assert_eq!(env.count(&env.tables.errors).await, 60);

    let mut read = Vec::new();
    let mut cursor = None;
    loop {
        let page = log
            .query(
                "p",
                "2026-01-01T12:00:00.000Z",
                "2026-01-01T12:05:00.000Z",
                cursor.as_deref(),
                7,
                &m,
            )
            .await
            .unwrap()
            .unwrap();
        read.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // 12:00 to 12:05 inclusive holds items 0..=59 (minutes 0..=5).
    assert_eq!(read.len(), 60);
    assert_eq!(
        read.iter().map(|e| e.index).collect::<Vec<_>>(),
        (0..60).collect::<Vec<_>>()
    );
    assert_eq!(read[7], items[7]);
    // A narrower window holds only its minute.
    let page = log
        .query(
            "p",
            "2026-01-01T12:03:00.000Z",
            "2026-01-01T12:03:00.000Z",
            None,
            100,
            &m,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        page.items.iter().map(|e| e.index).collect::<Vec<_>>(),
        (30..40).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn every_store_call_reports_the_capacity_it_consumed() {
    let env = Env::new().await;
    let m = CostMeter::default();
    env.errors().record(&[error_item(1)], &m).await.unwrap();
    env.idempotency().claim("p", "k", "h", T0, &m).await.unwrap();
    let _ = env
        .feeds()
        .get_body("p", &uuid::Uuid::now_v7().to_string(), &m)
        .await
        .unwrap();
    let c = m.counters();
    assert_eq!(c.dynamodb_calls, 3);
    assert!(c.dynamodb_write_units >= 2.0, "{c:?}");
    assert!(c.dynamodb_read_units > 0.0, "{c:?}");
}

#[tokio::test]
async fn a_missing_table_is_a_permanent_error_not_a_transient_one() {
    let env = Env::new().await;
    let store = zb_shared::store::OrderStore::new(env.ddb.clone(), "no-such-table");
    let err = store.get("p", 1, &CostMeter::default()).await.unwrap_err();
    assert!(matches!(err, StoreError::Failed(_)), "{err:?}");
}
