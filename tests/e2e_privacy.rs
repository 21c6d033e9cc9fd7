//! Issue 16, erasure and export of one data subject, end to end: the real
//! binaries behind a local cloud (partner API, pipeline, admin API with the
//! local Cognito, the Standard privacy-erasure machine), reached over HTTP,
//! and every table of the template scanned beside them.
//!
//! Partner B sends two feeds whose orders carry the e-mails of two buyers;
//! one of buyer 1's orders is rejected (an upper-case currency), so the
//! errors table holds a copy of it. Then:
//! 1. an export for buyer 1 returns their orders, raw orders and error;
//! 2. an erasure for buyer 1 runs to SUCCEEDED;
//! 3. buyer 1's e-mail is in no item of any table (the erasure's own item
//!    included), buyer 2's data is as it was, every order kept its amounts;
//! 4. an export for buyer 1 returns nothing; the audit log shows
//!    privacy.erase and privacy.export by the admin, with hashes only.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use zb_local::Running;
use zb_tests::cloud::{repo, sdk, start, Options};
use zb_tests::fixtures::{b_feed, b_order};
use zb_tests::operators::{login, AdminApi, Endpoints, ADMIN, OPS};

const WAIT: Duration = Duration::from_secs(120);
/// Written in mixed case once: e-mail addresses are one subject in any case.
const BUYER_1: &str = "ada.zb16-erase@example.org";
const BUYER_2: &str = "grace.zb16-keep@example.net";

fn order(seq: u64, email: &str) -> Value {
    let mut o = b_order(seq);
    o["created_at"] = json!(chrono::Utc::now().to_rfc3339());
    o["buyer"] = json!({"email": email, "name": format!("Name of {email}")});
    o
}

/// Validates `instance` against a schema of openapi-admin.yaml.
fn conforms(schema: &str, instance: &Value) {
    let text = std::fs::read_to_string(repo().join("openapi-admin.yaml")).expect("openapi-admin.yaml");
    let mut root: Value = serde_yaml::from_str(&text).expect("openapi-admin.yaml parses");
    root["$ref"] = json!(format!("#/components/schemas/{schema}"));
    let v = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{schema}: {e}"));
    let errors: Vec<String> = v.iter_errors(instance).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "not an openapi-admin.yaml {schema}: {errors:?}\n{instance}"
    );
}

/// Every item of every table of the stack, lower-cased DynamoDB JSON text, by table.
async fn every_item(cloud: &Running) -> BTreeMap<String, Vec<String>> {
    let ddb = aws_sdk_dynamodb::Client::new(&sdk(&cloud.dynamodb_url).await);
    let mut all = BTreeMap::new();
    for table in &cloud.model.tables {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = ddb
                .scan()
                .table_name(&table.name)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .unwrap_or_else(|e| panic!("scan {}: {e:?}", table.name));
            items.extend(out.items().iter().map(|i| format!("{i:?}").to_lowercase()));
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        all.insert(table.logical_id.clone(), items);
    }
    all
}

fn holding<'a>(items: &'a BTreeMap<String, Vec<String>>, needle: &str) -> Vec<(&'a str, &'a str)> {
    let needle = needle.to_lowercase();
    items
        .iter()
        .flat_map(|(t, items)| items.iter().map(move |i| (t.as_str(), i.as_str())))
        .filter(|(_, i)| i.contains(&needle))
        .collect()
}

/// seq → (totalMinor, lines) of every stored order, through the admin API.
async fn amounts(api: &AdminApi, token: &str) -> BTreeMap<u64, (Value, Value)> {
    api.all("/v1/admin/orders?partnerId=partner-b&limit=100", token)
        .await
        .into_iter()
        .map(|o| {
            let seq = o["sequenceNumber"].as_u64().expect("sequenceNumber");
            (seq, (o["totalMinor"].clone(), o["lines"].clone()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_erased_buyer_is_nowhere_and_everyone_else_is_intact() {
    let cloud = start(Options::default()).await;
    let endpoints = Endpoints::read(cloud.state_dir());
    let http = reqwest::Client::new();
    let admin = login(&http, &endpoints, ADMIN).await.access;
    let ops = login(&http, &endpoints, OPS).await.access;
    let api = AdminApi::new(&endpoints.admin_api);

    // Two feeds: buyer 1 in both (once in mixed case, once rejected), buyer 2 in the first.
    let mut rejected = order(1604, BUYER_1);
    rejected["currency_code"] = json!("USD");
    let feeds = [
        b_feed(vec![
            order(1601, BUYER_1),
            order(1602, BUYER_2),
            order(1603, &BUYER_1.to_uppercase()),
        ]),
        b_feed(vec![order(1605, BUYER_1), rejected, order(1606, BUYER_2)]),
    ];
    for body in &feeds {
        let r = zb_tests::post_feed_http(&http, &cloud.api_url, "key-b", "application/json", body).await;
        let status = r.status().as_u16();
        let answer: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 202, "{answer}");
        let feed_id = answer["feedId"].as_str().expect("feedId").to_string();
        let started = Instant::now();
        loop {
            let (_, feed) = zb_tests::get_http(&http, &cloud.api_url, "key-b", &format!("/v1/feeds/{feed_id}")).await;
            if feed["status"] != "RECEIVED" {
                break;
            }
            assert!(started.elapsed() < WAIT, "feed {feed_id} never finished: {feed}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let before = amounts(&api, &admin).await;
    assert_eq!(before.len(), 5, "five orders stored: {before:?}");

    // 1. The export before: buyer 1's three orders, their raw orders and the error.
    let subject = json!({"partnerId": "partner-b", "emails": [BUYER_1]});
    let r = api
        .call("POST", "/v1/admin/privacy/exports", Some(&admin), Some(&subject))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    conforms("SubjectExport", &r.body);
    let seqs: Vec<u64> = r.body["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .filter_map(|o| o["sequenceNumber"].as_u64())
        .collect();
    assert_eq!(seqs, [1601, 1603, 1605], "{}", r.body);
    assert_eq!(r.body["rawOrders"].as_array().map(Vec::len), Some(4), "{}", r.body);
    assert_eq!(r.body["errors"].as_array().map(Vec::len), Some(1), "{}", r.body);
    assert!(!r.body.to_string().to_lowercase().contains(BUYER_2), "{}", r.body);
    // Ops may not export or erase.
    let r = api
        .call("POST", "/v1/admin/privacy/exports", Some(&ops), Some(&subject))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Bad input: a problem naming the member, never a 500, never the value.
    let bad = json!({"partnerId": "partner-b", "emails": ["not-an-address-zb16"]});
    let r = api
        .call("POST", "/v1/admin/privacy/erasures", Some(&admin), Some(&bad))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.to_string().contains("/emails/0"), "{}", r.body);
    assert!(!r.body.to_string().contains("not-an-address-zb16"), "{}", r.body);
    let r = api
        .call(
            "POST",
            "/v1/admin/privacy/erasures",
            Some(&admin),
            Some(&json!({"partnerId": "no-such-partner", "emails": [BUYER_1]})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // 2. The erasure.
    let r = api
        .call("POST", "/v1/admin/privacy/erasures", Some(&admin), Some(&subject))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    conforms("ErasureAccepted", &r.body);
    let erasure_id = r.body["erasureId"].as_str().expect("erasureId").to_string();
    assert!(r.body["executionArn"]
        .as_str()
        .unwrap_or_default()
        .ends_with(&erasure_id));
    let started = Instant::now();
    let erasure = loop {
        let e = api
            .get_ok(&format!("/v1/admin/privacy/erasures/{erasure_id}"), &admin)
            .await;
        if e["status"] != "RUNNING" {
            break e;
        }
        assert!(started.elapsed() < WAIT, "the erasure is still running: {e}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    conforms("Erasure", &erasure);
    assert_eq!(erasure["status"], "SUCCEEDED", "{erasure}");
    assert_eq!(erasure["requestedBy"], ADMIN.username, "{erasure}");
    assert_eq!(erasure["erased"]["orders"], 3, "{erasure}");
    assert_eq!(erasure["erased"]["rawOrders"], 4, "{erasure}");
    assert_eq!(erasure["erased"]["errors"], 1, "{erasure}");
    assert!(erasure["finishedAt"].is_string(), "{erasure}");
    let r = api
        .call("GET", "/v1/admin/privacy/erasures/no-such-erasure", Some(&admin), None)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // 3. Buyer 1 nowhere, buyer 2 untouched, amounts intact.
    let items = every_item(&cloud).await;
    let left = holding(&items, BUYER_1);
    assert!(left.is_empty(), "buyer 1's e-mail is still in: {left:#?}");
    let name_left = holding(&items, &format!("Name of {BUYER_1}"));
    assert!(name_left.is_empty(), "buyer 1's name is still in: {name_left:#?}");
    // Buyer 2: two canonical orders (customerRef), a raw order in each body.
    let kept = holding(&items, BUYER_2);
    let in_table = |t: &str| kept.iter().filter(|(table, _)| *table == t).count();
    assert_eq!(in_table("OrdersTable"), 2, "{kept:#?}");
    assert_eq!(
        in_table("FeedsTable"),
        2,
        "buyer 2's raw orders stay in both bodies: {kept:#?}"
    );
    assert_eq!(
        holding(&items, &format!("Name of {BUYER_2}")).len(),
        2,
        "in both bodies"
    );
    let after = amounts(&api, &admin).await;
    assert_eq!(after, before, "every order keeps its amounts and lines");
    let orders = api.all("/v1/admin/orders?partnerId=partner-b&limit=100", &admin).await;
    for o in &orders {
        let seq = o["sequenceNumber"].as_u64().unwrap_or_default();
        let erased = [1601, 1603, 1605].contains(&seq);
        assert_eq!(o["customerRef"].is_null(), erased, "order {seq}: {o}");
    }

    // 4. Nothing left to export; the audit log holds both requests by the admin.
    let r = api
        .call("POST", "/v1/admin/privacy/exports", Some(&admin), Some(&subject))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for kind in ["orders", "errors", "rawOrders"] {
        assert_eq!(r.body[kind], json!([]), "{kind}: {}", r.body);
    }
    let audit = api.all("/v1/admin/audit?limit=100", &admin).await;
    let erase = audit
        .iter()
        .find(|e| e["action"] == "privacy.erase")
        .unwrap_or_else(|| panic!("no privacy.erase entry: {audit:#?}"));
    assert_eq!(erase["actor"]["username"], ADMIN.username);
    assert_eq!(erase["target"], format!("privacy/{erasure_id}"));
    assert_eq!(erase["after"]["subjects"], erasure["subjects"]);
    assert_eq!(audit.iter().filter(|e| e["action"] == "privacy.export").count(), 2);
    let audit_text = serde_json::to_string(&audit).unwrap_or_default().to_lowercase();
    assert!(!audit_text.contains(BUYER_1), "the audit log names the buyer");

    // 5. Nor in any log line, execution history or message the run produced:
    // everything the local cloud wrote into its state folder (function and
    // execution logs, histories, the access and DLQ logs), except DynamoDB
    // Local's own database file, whose tables were scanned through the API
    // above (SQLite keeps deleted bytes in free pages, which is storage, not
    // data a reader can get back).
    let mut files = vec![cloud.state_dir().to_path_buf()];
    let mut read = 0;
    let mut found = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "dynamodb") {
                continue;
            }
            for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                files.push(entry.path());
            }
        } else if let Ok(bytes) = std::fs::read(&path) {
            read += 1;
            let text = String::from_utf8_lossy(&bytes).to_lowercase();
            if text.contains(BUYER_1) || text.contains(&format!("name of {BUYER_1}")) {
                found.push(path.display().to_string());
            }
        }
    }
    assert!(read > 5, "the state folder holds the run's logs ({read} files)");
    assert!(found.is_empty(), "buyer 1 is still in: {found:#?}");

    cloud.shutdown().await;
}
