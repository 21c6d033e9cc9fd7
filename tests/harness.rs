//! The harness itself: tables come from template.yaml, each call gets its
//! own set, and the seeded partners are what the service reads.
//! Runs against DynamoDB Local: `scripts/with-dynamodb cargo test -p zb-tests --test harness`.

use aws_sdk_dynamodb::types::{IndexStatus, KeyType, ProjectionType, TableStatus, TimeToLiveStatus};
use aws_sdk_dynamodb::Client;
use zb_shared::apikey::hash_api_key;
use zb_shared::cost::CostMeter;
use zb_shared::partner::PartnerStatus;
use zb_shared::store::PartnerStore;
use zb_tests::{create_tables, dynamodb, seed_partner, PartnerSeed, Tables};

fn names(t: &Tables) -> [&str; 5] {
    [&t.partners, &t.feeds, &t.orders, &t.errors, &t.idempotency]
}

async fn ttl_status(client: &Client, table: &str) -> (Option<TimeToLiveStatus>, Option<String>) {
    let out = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .expect("DescribeTimeToLive");
    let d = out.time_to_live_description;
    (
        d.as_ref().and_then(|d| d.time_to_live_status.clone()),
        d.and_then(|d| d.attribute_name),
    )
}

#[tokio::test]
async fn concurrent_calls_create_separate_tables_with_the_template_design() {
    let client = dynamodb().await;
    let (a, b) = tokio::join!(create_tables(&client), create_tables(&client));

    // Two tests running at once never share a table.
    for (x, y) in names(&a).iter().zip(names(&b)) {
        assert_ne!(*x, y, "two create_tables calls returned the same table name");
    }
    let mut all: Vec<&str> = names(&a).into_iter().chain(names(&b)).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 10, "ten distinct tables expected: {all:?}");
    assert!(
        a.orders.starts_with("OrdersTable-"),
        "names are <LogicalId>-<uuid>: {}",
        a.orders
    );

    for name in names(&a).into_iter().chain(names(&b)) {
        let table = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .expect("DescribeTable")
            .table
            .expect("a table description");
        assert_eq!(table.table_status, Some(TableStatus::Active), "{name} is not ACTIVE");
    }

    // The orders table has the template's keys and the byEventTime index.
    let orders = client
        .describe_table()
        .table_name(&a.orders)
        .send()
        .await
        .expect("DescribeTable orders")
        .table
        .expect("a table description");
    let keys: Vec<(&str, KeyType)> = orders
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().clone()))
        .collect();
    assert_eq!(keys, [("partnerId", KeyType::Hash), ("sequenceNumber", KeyType::Range)]);
    let gsi = orders
        .global_secondary_indexes()
        .iter()
        .find(|i| i.index_name() == Some("byEventTime"))
        .expect("the orders table has the byEventTime GSI");
    let gsi_keys: Vec<(&str, KeyType)> = gsi
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().clone()))
        .collect();
    assert_eq!(gsi_keys, [("partnerId", KeyType::Hash), ("eventTime", KeyType::Range)]);
    assert_eq!(
        gsi.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::All)
    );
    assert_eq!(gsi.index_status(), Some(&IndexStatus::Active));

    // The handler tests' tables leave TTL off: their fixed clock would make
    // every item DynamoDB Local deletes at once (see create_template_tables).
    for table in names(&a) {
        let (status, _) = ttl_status(&client, table).await;
        assert_ne!(
            status,
            Some(TimeToLiveStatus::Enabled),
            "{table}: TTL on a fixed-clock table"
        );
    }
    // What the local cloud creates from the template: TTL on expiresAt where
    // the table's items have a retention (PRIVACY.md).
    let text = std::fs::read_to_string(zb_tests::template::repo_root().join("template.yaml")).expect("template.yaml");
    let model = zb_local::template::parse(&text, &zb_tests::template::repo_root(), "ttl", &Default::default())
        .expect("the local cloud reads template.yaml");
    for table in &model.tables {
        let name = format!("{}-{}", table.logical_id, uuid::Uuid::new_v4().simple());
        zb_local::tables::create(&client, table, &name)
            .await
            .expect("CreateTable");
        let (status, attribute) = ttl_status(&client, &name).await;
        // Issue 16: everything that may hold personal data expires (PRIVACY.md);
        // partners, formats, the audit log and the erasure records never.
        let expires = [
            "ErrorsTable",
            "IdempotencyTable",
            "FeedsTable",
            "OrdersTable",
            "DeliveriesTable",
            "OutboxTable",
            "PrivacyIndexTable",
        ]
        .contains(&table.logical_id.as_str());
        let never =
            ["PartnersTable", "FormatsTable", "AuditTable", "ErasuresTable"].contains(&table.logical_id.as_str());
        if expires {
            assert_eq!(status, Some(TimeToLiveStatus::Enabled), "TTL of {name}");
            assert_eq!(attribute.as_deref(), Some("expiresAt"), "TTL attribute of {name}");
        }
        if never {
            assert_ne!(status, Some(TimeToLiveStatus::Enabled), "{name} must not expire items");
        }
    }
}

#[tokio::test]
async fn seeded_partners_are_found_by_their_api_key() {
    let client = dynamodb().await;
    let tables = create_tables(&client).await;
    let store = PartnerStore::new(client.clone(), &tables.partners);
    let meter = CostMeter::default();

    seed_partner(
        &client,
        &tables.partners,
        "acme",
        "partner-a@1",
        "zb_test_acme",
        Some(("https://hooks.acme.example/zerobeta", "whsec_c2VjcmV0")),
    )
    .await;
    PartnerSeed::active("globex", "partner-b@1", "zb_test_globex")
        .key_disabled()
        .seed(&client, &tables.partners)
        .await;

    let key = store
        .get_key(&hash_api_key("zb_test_acme"), &meter)
        .await
        .expect("GetItem")
        .expect("the key is stored under its hash");
    assert_eq!(key.partner_id, "acme");
    assert_eq!(key.status, PartnerStatus::Active);
    let partner = store
        .get_partner("acme", &meter)
        .await
        .expect("GetItem")
        .expect("the partner is stored");
    assert_eq!(partner.format, "partner-a@1");
    assert_eq!(partner.status, PartnerStatus::Active);
    assert_eq!(
        partner.webhook_url.as_deref(),
        Some("https://hooks.acme.example/zerobeta")
    );
    assert_eq!(partner.webhook_secret.as_deref(), Some("whsec_c2VjcmV0"));

    let revoked = store
        .get_key(&hash_api_key("zb_test_globex"), &meter)
        .await
        .expect("GetItem")
        .expect("the revoked key is stored");
    assert_eq!(revoked.status, PartnerStatus::Disabled);
    assert!(
        store
            .get_key(&hash_api_key("zb_test_unknown"), &meter)
            .await
            .expect("GetItem")
            .is_none(),
        "an unknown key finds nothing"
    );

    // Another test's tables hold nothing of this one's.
    let other = create_tables(&client).await;
    let other_store = PartnerStore::new(client.clone(), &other.partners);
    assert!(other_store
        .get_partner("acme", &meter)
        .await
        .expect("GetItem")
        .is_none());
}
