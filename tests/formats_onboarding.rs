//! Onboarding a third partner format from data alone: a JSON Schema and a
//! mapping, either written to a folder and loaded at run time, or published
//! into the formats table (what POST /v1/admin/formats does) and found by
//! functions that were running before it existed; then a feed in that
//! format run through the real pipeline handlers. No Rust code knows
//! "partner-c".

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use std::path::Path;
use zb_shared::cost::CostMeter;
use zb_shared::format::{FormatError, FormatRegistry, FormatResolver, FormatSource, PublishError, SampleOutcome};
use zb_shared::rejection::RejectionCode;
use zb_shared::store::{StoreError, StoredFormat};
use zb_tests::api::{lambda_event, Request};
use zb_tests::fixtures::{partner_c_format, partner_c_schema};
use zb_tests::wiring::Env;

/// Partner C's format.json and schema.json (version 1) into `dir`.
fn write_documents(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("format.json"), partner_c_format(1).to_string()).unwrap();
    std::fs::write(dir.join("schema.json"), partner_c_schema().to_string()).unwrap();
}

fn write_format(root: &Path) {
    write_documents(&root.join("partner-c").join("1"));
}

fn c_order(seq: u64, price: f64, count: u64, total: f64) -> serde_json::Value {
    json!({"Seq": seq, "Ref": format!("C-{seq}"), "PlacedAt": 1_767_268_000,
           "Money": {"Currency": "gbp", "Total": total},
           "Lines": [{"Article": "ART-9", "Count": count, "Price": price}]})
}

#[tokio::test]
async fn a_third_format_is_onboarded_from_files_alone() {
    let root = std::env::temp_dir().join(format!("zb-formats-{}", uuid::Uuid::new_v4()));
    write_format(&root);
    let formats = FormatRegistry::load_dir(&root).expect("the new format loads");
    assert_eq!(formats.ids().collect::<Vec<_>>(), vec!["partner-c@1"]);

    let env = Env::with_formats(formats).await;
    let mut no_ref = c_order(3, 1.5, 1, 1.5);
    no_ref.as_object_mut().unwrap().remove("Ref");
    let body = json!({"Feed": {"Orders": [c_order(1, 12.5, 2, 25.0), c_order(2, 0.99, 3, 2.97), no_ref]}});
    let req =
        Request::post_feed("partner-c", "partner-c@1", &body).header("content-type", "application/x-partner-c+json");
    let (resp, feed) = env.ingest_feed(&req).await;
    assert_eq!(resp.status, 202, "{}", resp.body);
    let run = env.run_pipeline(&feed.expect("announced")).await;

    assert_eq!(run.persisted.counts.persisted, 2);
    let one = env
        .orders()
        .get("partner-c", 1, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.order.currency, "GBP");
    assert_eq!(one.order.lines[0].unit_price_minor, 1250);
    assert_eq!(one.order.total_minor, 2500);
    assert_eq!(
        zb_shared::time::format_utc(one.order.event_time),
        "2026-01-01T11:46:40.000Z"
    );
    let two = env
        .orders()
        .get("partner-c", 2, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(two.order.total_minor, 297);
    // Rejections hold order content, so they are always staged (issue 16).
    let staged = zb_shared::pipeline::open(
        &env.feeds(),
        &run.persisted.feed,
        run.persisted.batch.clone(),
        &Default::default(),
    )
    .await
    .expect("the staged rejections");
    let rejected = &staged.rejections[0];
    assert_eq!(
        (rejected.code, rejected.field.as_str()),
        (RejectionCode::MissingField, "/Feed/Orders/2/Ref")
    );
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn a_format_folder_that_disagrees_with_its_file_is_refused() {
    let root = std::env::temp_dir().join(format!("zb-formats-{}", uuid::Uuid::new_v4()));
    write_documents(&root.join("partner-c").join("2"));
    let err = FormatRegistry::load_dir(&root).unwrap_err().to_string();
    assert!(err.contains("partner-c/2"), "{err}");
    std::fs::remove_dir_all(&root).ok();
}

// ------------------------------------------------------------------ published at run time

/// The publish request's members: format.json and the JSON Schema as JSON.
fn documents() -> (serde_json::Value, serde_json::Value) {
    (partner_c_format(1), partner_c_schema())
}

/// What the admin function builds: the built-in formats and the formats
/// table, on the tests' fixed clock.
fn admin_resolver(env: &Env) -> FormatResolver {
    FormatResolver::with_clock(
        env.formats.clone(),
        Some(env.format_store()),
        zb_tests::fixtures::clock(),
    )
}

/// The no-build, no-restart proof at handler level: apps built from the
/// built-in formats alone, one of them already "warm" (it looked the format
/// up and missed before it existed), take a feed in a format published
/// afterwards through the resolver the admin API uses.
#[tokio::test]
async fn a_format_published_at_run_time_takes_a_feed_without_a_build_or_a_restart() {
    let env = Env::new().await;
    assert_eq!(
        env.formats.ids().collect::<Vec<_>>(),
        vec!["partner-a@1", "partner-b@1"]
    );
    let warm = env.validate();
    let meter = CostMeter::default();
    let missed = warm.formats.get("partner-c@1", &meter).await.unwrap_err();
    assert!(matches!(missed, FormatError::Unknown(_)), "{missed}");

    let (format, schema) = documents();
    let mut no_ref = c_order(3, 1.5, 1, 1.5);
    no_ref.as_object_mut().unwrap().remove("Ref");
    let report = admin_resolver(&env)
        .publish(
            &format,
            &schema,
            &[c_order(1, 12.5, 2, 25.0), no_ref.clone()],
            "admin",
            false,
            &meter,
        )
        .await
        .expect("partner-c@1 is published");
    assert_eq!(report.format_id, "partner-c@1");
    assert!(!report.dry_run);
    match &report.samples[..] {
        [SampleOutcome::Canonical { index: 0, order }, SampleOutcome::Rejected { index: 1, rejections }] => {
            assert_eq!((order.currency.as_str(), order.total_minor), ("GBP", 2500));
            assert_eq!(
                (rejections[0].code, rejections[0].field.as_str()),
                (RejectionCode::MissingField, "/Feed/Orders/1/Ref")
            );
        }
        other => panic!("{other:?}"),
    }

    // A feed in the new format, through ingest and the pipeline's handlers.
    let body = json!({"Feed": {"Orders": [c_order(1, 12.5, 2, 25.0), c_order(2, 0.99, 3, 2.97), no_ref]}});
    let req =
        Request::post_feed("partner-c", "partner-c@1", &body).header("content-type", "application/x-partner-c+json");
    let (resp, feed) = env.ingest_feed(&req).await;
    assert_eq!(resp.status, 202, "{}", resp.body);
    let feed = feed.expect("announced");

    // The warm instance finds it now (a miss is never cached), reads it
    // once, and then serves it from its cache.
    let validated = validate::handler(&warm, lambda_event(feed.clone()))
        .await
        .unwrap_or_else(|e| panic!("validate: {e}"));
    assert_eq!((validated.valid_count, validated.rejected_count), (2, 1));
    let (first, second) = (CostMeter::default(), CostMeter::default());
    warm.formats.get("partner-c@1", &first).await.unwrap();
    assert_eq!(first.counters().dynamodb_calls, 0, "cached after validate's read");
    let fresh = env.transform();
    fresh.formats.get("partner-c@1", &second).await.unwrap();
    assert_eq!(second.counters().dynamodb_calls, 1, "a fresh instance reads it once");

    let run = env.run_pipeline(&feed).await;
    assert_eq!(run.persisted.counts.persisted, 2);
    let one = env
        .orders()
        .get("partner-c", 1, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.order.total_minor, 2500);
    assert_eq!(
        zb_shared::time::format_utc(one.order.event_time),
        "2026-01-01T11:46:40.000Z"
    );
    // Rejections hold order content, so they are always staged (issue 16).
    let staged = zb_shared::pipeline::open(
        &env.feeds(),
        &run.persisted.feed,
        run.persisted.batch.clone(),
        &Default::default(),
    )
    .await
    .expect("the staged rejections");
    let rejected = &staged.rejections[0];
    assert_eq!(
        (rejected.code, rejected.field.as_str()),
        (RejectionCode::MissingField, "/Feed/Orders/2/Ref")
    );
}

#[tokio::test]
async fn a_published_version_never_changes() {
    let env = Env::new().await;
    let (format, schema) = documents();
    let meter = CostMeter::default();
    let sample = [c_order(1, 12.5, 2, 25.0)];

    // A dry run and a refused publish store nothing.
    let dry = admin_resolver(&env)
        .publish(&format, &schema, &sample, "admin", true, &meter)
        .await
        .unwrap();
    assert!(dry.dry_run);
    let mut bad = c_order(1, 12.5, 2, 25.0);
    bad["Lines"][0]["Count"] = json!(0);
    let hopeless = admin_resolver(&env)
        .publish(&format, &schema, &[bad], "admin", false, &meter)
        .await
        .unwrap_err();
    assert!(matches!(hopeless, PublishError::NoCanonicalSample(_)), "{hopeless}");
    assert_eq!(hopeless.to_problem().status, 422);
    assert_eq!(env.count(&env.tables.formats).await, 0);

    admin_resolver(&env)
        .publish(&format, &schema, &sample, "ops-lead", false, &meter)
        .await
        .unwrap();
    // The item, as the contract lays it out.
    let item = env
        .ddb
        .get_item()
        .table_name(&env.tables.formats)
        .key("name", AttributeValue::S("partner-c".into()))
        .key("version", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("stored");
    let mut attrs: Vec<&str> = item.keys().map(String::as_str).collect();
    attrs.sort_unstable();
    assert_eq!(
        attrs,
        vec![
            "formatId",
            "formatJson",
            "name",
            "publishedAt",
            "publishedBy",
            "schemaJson",
            "version"
        ]
    );
    assert_eq!(item["publishedBy"], AttributeValue::S("ops-lead".into()));
    assert_eq!(
        item["publishedAt"],
        AttributeValue::S("2026-01-01T12:00:00.000Z".into())
    );

    // The same version again: refused by a fresh resolver (GetItem) and by
    // the table itself (the conditional put), whatever the samples say.
    let mut changed = format.clone();
    changed["description"] = json!("something else");
    let again = admin_resolver(&env)
        .publish(&changed, &schema, &sample, "admin", false, &meter)
        .await
        .unwrap_err();
    assert!(
        matches!(&again, PublishError::Exists(id) if id == "partner-c@1"),
        "{again}"
    );
    assert_eq!(again.to_problem().status, 409);
    let stored = env.format_store().get("partner-c", 1, &meter).await.unwrap().unwrap();
    let overwrite = StoredFormat {
        format_json: changed.to_string(),
        ..stored.clone()
    };
    let refused = env.format_store().put_new(&overwrite, &meter).await.unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)), "{refused}");
    assert_eq!(
        env.format_store().get("partner-c", 1, &meter).await.unwrap(),
        Some(stored)
    );

    // Listed beside the built-in ones, and shown with its documents.
    let listed = admin_resolver(&env).list(&meter).await.unwrap();
    let ids: Vec<(&str, FormatSource)> = listed.iter().map(|s| (s.format_id.as_str(), s.source)).collect();
    assert_eq!(
        ids,
        vec![
            ("partner-a@1", FormatSource::Builtin),
            ("partner-b@1", FormatSource::Builtin),
            ("partner-c@1", FormatSource::Published)
        ]
    );
    assert_eq!(listed[2].published_by.as_deref(), Some("ops-lead"));
    assert_eq!(
        listed[2].content_types,
        vec!["application/json", "application/x-partner-c+json"]
    );
    let detail = admin_resolver(&env).detail("partner-c@1", &meter).await.unwrap();
    assert_eq!(detail.format["orders"], "/Feed/Orders");
    assert_eq!(detail.schema["required"][0], "Seq");
    assert_eq!(detail.summary.published_at.as_deref(), Some("2026-01-01T12:00:00.000Z"));
}
