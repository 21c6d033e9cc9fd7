//! The subject index (issue 16): after a partner-B feed runs through the
//! pipeline's handlers, one buyer's e-mail address finds exactly that
//! buyer's orders, raw orders and errors, and nobody else's; running the
//! steps again writes the same index items.

use std::collections::BTreeSet;
use zb_shared::privacy::{subject_hash, Identifier};
use zb_tests::api::Request;
use zb_tests::fixtures::{b_feed, b_order};
use zb_tests::wiring::Env;

const B: &str = "partner-b";

fn with_buyer(seq: u64, email: &str) -> serde_json::Value {
    let mut o = b_order(seq);
    o["buyer"]["email"] = email.into();
    o
}

async fn refs(env: &Env, id: &Identifier) -> BTreeSet<String> {
    env.privacy_index()
        .refs(B, &subject_hash(B, id), &Default::default())
        .await
        .unwrap_or_else(|e| panic!("refs: {e}"))
        .into_iter()
        .collect()
}

#[tokio::test]
async fn one_buyers_email_finds_exactly_that_buyers_items() {
    let env = Env::new().await;
    let mut rejected = with_buyer(4, "ann@example.com");
    // No currency: refused by the schema, so recorded in the errors table.
    rejected.as_object_mut().map(|o| o.remove("currency_code"));
    let mut ann_again = with_buyer(3, "Ann@Example.com");
    // An address outside the mapped field is found too.
    ann_again["line_items"][0]["description"] = "gift, notify ann@example.com".into();
    let orders = vec![
        with_buyer(1, "ann@example.com"),
        with_buyer(2, "bob@example.org"),
        ann_again,
        rejected,
    ];
    let req = Request::post_feed(B, "partner-b@1", &b_feed(orders));
    let (resp, announced) = env.ingest_feed(&req).await;
    assert_eq!(resp.status, 202, "{}", resp.body);
    let feed = announced.expect("OrderFeedReceived published");
    let run = env.run_pipeline(&feed).await;
    assert_eq!(run.persisted.counts.persisted, 3);
    assert_eq!(run.persisted.rejected_count, 1);
    let f = &feed.feed_id;

    let ann = Identifier::email("ANN@example.com").unwrap();
    let want: BTreeSet<String> = [
        "ORDER#1".to_string(),
        format!("BODY#{f}#0"),
        "ORDER#3".to_string(),
        format!("BODY#{f}#2"),
        format!("ERROR#{f}#3"),
        format!("BODY#{f}#3"),
    ]
    .into();
    assert_eq!(refs(&env, &ann).await, want);

    // The customerRef (partner B maps the buyer's e-mail to it) finds the
    // orders whose mapped field holds it exactly (order 3's is mixed case,
    // and a customerRef is compared as it is), and the rejected order's raw
    // field.
    let ann_ref = Identifier::customer_ref("ann@example.com").unwrap();
    let want: BTreeSet<String> = [
        "ORDER#1".to_string(),
        format!("BODY#{f}#0"),
        format!("ERROR#{f}#3"),
        format!("BODY#{f}#3"),
    ]
    .into();
    assert_eq!(refs(&env, &ann_ref).await, want);

    let bob = Identifier::email("bob@example.org").unwrap();
    assert_eq!(
        refs(&env, &bob).await,
        ["ORDER#2".to_string(), format!("BODY#{f}#1")].into()
    );
    assert!(refs(&env, &Identifier::email("carl@example.net").unwrap())
        .await
        .is_empty());
    // Another partner's subject with the same address is another subject.
    let other = env
        .privacy_index()
        .refs("partner-a", &subject_hash("partner-a", &ann), &Default::default())
        .await
        .unwrap();
    assert!(other.is_empty());

    // Nothing in the index is an identifier in clear.
    let scan = env
        .ddb
        .scan()
        .table_name(&env.tables.privacy_index)
        .send()
        .await
        .unwrap();
    let text = format!("{:?}", scan.items());
    assert!(!text.to_lowercase().contains("example"), "{text}");
    let before = env.count(&env.tables.privacy_index).await;

    // A retried Persist and RecordErrors write the same keys: no new items.
    env.run_pipeline(&feed).await;
    assert_eq!(env.count(&env.tables.privacy_index).await, before);

    // delete() takes refs out of a subject's entry.
    let index = env.privacy_index();
    index
        .delete(B, &subject_hash(B, &bob), &["ORDER#2".to_string()], &Default::default())
        .await
        .unwrap();
    assert_eq!(refs(&env, &bob).await, [format!("BODY#{f}#1")].into());
}

#[tokio::test]
async fn expired_entries_are_not_returned_before_ttl_deletes_them() {
    let env = Env::new().await;
    let index = env.privacy_index();
    let hash = subject_hash(B, &Identifier::email("ann@example.com").unwrap());
    let now = zb_tests::fixtures::now().timestamp();
    let entries = vec![
        (hash.clone(), "ORDER#1".to_string()),
        (hash.clone(), "ORDER#1".to_string()), // a duplicate: BatchWriteItem would refuse it
    ];
    index.put(B, &entries, now + 60, &Default::default()).await.unwrap();
    index
        .put(B, &[(hash.clone(), "ORDER#2".to_string())], now, &Default::default())
        .await
        .unwrap();
    // More than one BatchWriteItem (25 items each).
    let many: Vec<(String, String)> = (100..160).map(|i| (hash.clone(), format!("ORDER#{i}"))).collect();
    index.put(B, &many, now + 60, &Default::default()).await.unwrap();
    let got = index.refs(B, &hash, &Default::default()).await.unwrap();
    assert_eq!(got.len(), 61, "ORDER#2 expired at now");
    assert!(got.contains(&"ORDER#1".to_string()) && !got.contains(&"ORDER#2".to_string()));
}
