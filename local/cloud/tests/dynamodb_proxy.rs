//! The DynamoDB proxy against the real DynamoDB Local (run with
//! `scripts/with-dynamodb cargo test -p zb-local --test dynamodb_proxy`):
//! the Rust SDK pointed at the proxy, a gate that refuses PutItem to one
//! access key.
//!
//! What a refusal must look like follows "Error handling with DynamoDB"
//! (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
//! HTTP 400, `Content-Type: application/x-amz-json-1.0`, `x-amzn-RequestId`,
//! a JSON body naming the exception in `__type`, and AccessDeniedException
//! listed under HTTP 400 as not to be retried.
//!
//! scripts/with-dynamodb runs DynamoDB Local with `-inMemory` but without
//! `-sharedDb`, and then it keeps one database per access key and region,
//! as it does on disk ("If you omit -sharedDb, the database file is named
//! myaccesskeyid_region.db",
//! https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DynamoDBLocal.UsageNotes.html;
//! the denial test creates one table name under both keys, which only
//! succeeds that way): a test that looks for what one key wrote reads with
//! that same key.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use zb_local::dynamodb_proxy::{self, Denied, Gate, Proxy};

const ALLOWED: &str = "AKIDALLOWED";
const DENIED: &str = "AKIDDENIED";

/// DynamoDB Local's URL, from scripts/with-dynamodb.
fn upstream() -> String {
    match std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set, so there is no DynamoDB Local to test against: \
             run `scripts/with-dynamodb cargo test -p zb-local --test dynamodb_proxy`"
        ),
    }
}

/// One call the gate was asked about.
#[derive(Debug, Clone)]
struct Call {
    access_key: Option<String>,
    operation: String,
    body: Value,
}

/// Refuses PutItem to [`DENIED`], allows everything else, and remembers every question.
#[derive(Default)]
struct TestGate {
    calls: Mutex<Vec<Call>>,
}

impl TestGate {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn denial(table: &str) -> String {
    format!(
        "User: arn:aws:sts::000000000000:assumed-role/test/denied is not authorized to perform: \
         dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/{table} \
         because no identity-based policy allows the dynamodb:PutItem action"
    )
}

impl Gate for TestGate {
    fn check(&self, access_key: Option<&str>, operation: &str, body: &Value) -> Result<(), Denied> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).push(Call {
            access_key: access_key.map(str::to_string),
            operation: operation.to_string(),
            body: body.clone(),
        });
        if access_key == Some(DENIED) && operation == "PutItem" {
            let table = body.get("TableName").and_then(Value::as_str).unwrap_or_default();
            return Err(Denied { message: denial(table) });
        }
        Ok(())
    }
}

async fn start() -> (Proxy, Arc<TestGate>) {
    let gate = Arc::new(TestGate::default());
    let proxy = dynamodb_proxy::start(upstream(), gate.clone())
        .await
        .unwrap_or_else(|e| panic!("starting the proxy: {e}"));
    (proxy, gate)
}

fn client(endpoint: &str, access_key: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key, "secret", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

fn table_name() -> String {
    format!("proxy-{}", uuid::Uuid::new_v4().simple())
}

async fn create_table(client: &Client, table: &str) {
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateTable {table}: {e:?}"));
}

async fn get(client: &Client, table: &str, pk: &str) -> Option<std::collections::HashMap<String, AttributeValue>> {
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetItem {table}/{pk}: {e:?}"))
        .item
}

#[tokio::test]
async fn allowed_calls_go_through_and_the_gate_sees_each_operation_and_key() {
    let (proxy, gate) = start().await;
    let db = client(&proxy.url, ALLOWED);
    let table = table_name();
    create_table(&db, &table).await;
    db.put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("a".into()))
        .item("n", AttributeValue::N("42".into()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem: {e:?}"));
    let item = get(&db, &table, "a")
        .await
        .unwrap_or_else(|| panic!("the item put through the proxy is not there"));
    assert_eq!(item.get("n"), Some(&AttributeValue::N("42".into())));

    // Written where DynamoDB Local keeps it, not only echoed by the proxy.
    let direct = client(&upstream(), ALLOWED);
    assert_eq!(get(&direct, &table, "a").await, Some(item));

    let seen: Vec<(Option<String>, String, Option<String>)> = gate
        .calls()
        .into_iter()
        .map(|c| {
            let table = c.body.get("TableName").and_then(Value::as_str).map(str::to_string);
            (c.access_key, c.operation, table)
        })
        .collect();
    let key = Some(ALLOWED.to_string());
    assert_eq!(
        seen,
        [
            (key.clone(), "CreateTable".to_string(), Some(table.clone())),
            (key.clone(), "PutItem".to_string(), Some(table.clone())),
            (key, "GetItem".to_string(), Some(table.clone())),
        ]
    );
    let put = &gate.calls()[1];
    assert_eq!(put.body["Item"]["n"], serde_json::json!({"N": "42"}));
    proxy.stop().await;
}

#[tokio::test]
async fn a_denied_put_is_an_access_denied_exception_and_writes_nothing() {
    let (proxy, gate) = start().await;
    let table = table_name();
    let denied = client(&proxy.url, DENIED);
    // The table in the denied key's own database too (see the module doc):
    // a PutItem that got past the gate would land there, and be found below.
    create_table(&denied, &table).await;
    create_table(&client(&proxy.url, ALLOWED), &table).await;

    let err = denied
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("x".into()))
        .send()
        .await
        .err()
        .unwrap_or_else(|| panic!("PutItem with {DENIED} went through"));
    let service = err
        .as_service_error()
        .unwrap_or_else(|| panic!("not a service error: {err:?}"));
    assert_eq!(service.code(), Some("AccessDeniedException"), "{err:?}");
    assert_eq!(service.message(), Some(denial(&table).as_str()));
    let raw = err.raw_response().unwrap_or_else(|| panic!("no raw response: {err:?}"));
    assert_eq!(raw.status().as_u16(), 400);

    // Asked once: the SDK does not retry an AccessDeniedException.
    let puts = gate.calls().into_iter().filter(|c| c.operation == "PutItem").count();
    assert_eq!(puts, 1);

    assert_eq!(get(&denied, &table, "x").await, None);
    assert_eq!(get(&client(&upstream(), DENIED), &table, "x").await, None);

    // The same call with the other key is allowed.
    client(&proxy.url, ALLOWED)
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("x".into()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem with {ALLOWED}: {e:?}"));
    proxy.stop().await;
}

/// An item near DynamoDB's 400 KB item limit
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html, "Item size")
/// goes through both ways unchanged.
#[tokio::test]
async fn a_large_item_passes_through_intact() {
    let (proxy, _gate) = start().await;
    let db = client(&proxy.url, ALLOWED);
    let table = table_name();
    create_table(&db, &table).await;
    // Not one repeated byte: a truncation or reordering would show.
    let text: String = (0..350_000u32)
        .map(|i| char::from(b'a' + (i.wrapping_mul(7919) % 26) as u8))
        .collect();
    let blob: Vec<u8> = (0..20_000u32).map(|i| (i.wrapping_mul(31) % 251) as u8).collect();
    db.put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("big".into()))
        .item("text", AttributeValue::S(text.clone()))
        .item("blob", AttributeValue::B(blob.clone().into()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem of a large item: {e:?}"));
    for (via, reader) in [("proxy", db.clone()), ("DynamoDB Local", client(&upstream(), ALLOWED))] {
        let item = get(&reader, &table, "big")
            .await
            .unwrap_or_else(|| panic!("the large item is not there (read via {via})"));
        assert!(
            item.get("text") == Some(&AttributeValue::S(text.clone())),
            "text differs via {via}"
        );
        assert!(
            item.get("blob") == Some(&AttributeValue::B(blob.clone().into())),
            "blob differs via {via}"
        );
    }
    proxy.stop().await;
}

/// A raw request, signed in form only: DynamoDB Local reads the access key
/// from the Authorization header but does not check the signature.
fn raw(endpoint: &str, access_key: &str, operation: &str, body: &str) -> reqwest::RequestBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .post(endpoint)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
        .header("x-amz-date", "20240101T000000Z")
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={access_key}/20240101/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00"
            ),
        )
        .body(body.to_string())
}

/// The refusal on the wire, as in the low-level error response of
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html.
#[tokio::test]
async fn a_refusal_is_dynamodb_s_low_level_error_response() {
    let (proxy, _gate) = start().await;
    let resp = raw(
        &proxy.url,
        DENIED,
        "PutItem",
        r#"{"TableName":"t","Item":{"pk":{"S":"x"}}}"#,
    )
    .send()
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 400);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("content-type").as_deref(), Some("application/x-amz-json-1.0"));
    assert!(header("x-amzn-requestid").is_some_and(|id| !id.is_empty()));
    let body: Value = resp.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        body,
        serde_json::json!({
            "__type": "com.amazon.coral.service#AccessDeniedException",
            "Message": denial("t"),
        })
    );
    proxy.stop().await;
}

/// Status, body and the headers the SDK reads (x-amz-crc32, x-amzn-RequestId,
/// content-type) are DynamoDB Local's own: the same answer as without the
/// proxy. A body that is not JSON reaches the gate as null (the local cloud's
/// IAM refuses it from a function); allowed, DynamoDB Local answers it.
#[tokio::test]
async fn answers_are_dynamodb_local_s_unchanged() {
    let (proxy, gate) = start().await;
    let table = table_name();
    create_table(&client(&proxy.url, ALLOWED), &table).await;
    let describe = format!(r#"{{"TableName":"{table}"}}"#);
    for (operation, body) in [("DescribeTable", describe.as_str()), ("PutItem", "not json")] {
        let mut answers = Vec::new();
        for endpoint in [proxy.url.as_str(), upstream().as_str()] {
            let resp = raw(endpoint, ALLOWED, operation, body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{operation} via {endpoint}: {e}"));
            let status = resp.status().as_u16();
            let header = |name: &str| resp.headers().get(name).map(|v| v.as_bytes().to_vec());
            let crc = header("x-amz-crc32");
            let content_type = header("content-type");
            let request_id = header("x-amzn-requestid");
            let bytes = resp.bytes().await.unwrap_or_else(|e| panic!("{e}"));
            // DynamoDB Local sends no checksum with its SerializationException.
            if status == 200 {
                assert!(crc.is_some(), "{operation} via {endpoint}: no x-amz-crc32");
            }
            assert!(request_id.is_some(), "{operation} via {endpoint}: no x-amzn-requestid");
            answers.push((status, crc, content_type, bytes));
        }
        assert_eq!(answers[0], answers[1], "{operation}: proxy vs DynamoDB Local");
    }
    let operations: Vec<String> = gate.calls().into_iter().map(|c| c.operation).collect();
    assert_eq!(operations, ["CreateTable", "DescribeTable", "PutItem"]);
    proxy.stop().await;
}

#[tokio::test]
async fn a_stopped_proxy_refuses_connections() {
    let (proxy, _gate) = start().await;
    let url = proxy.url.clone();
    client(&url, ALLOWED)
        .list_tables()
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListTables: {e:?}"));
    proxy.stop().await;
    let after = raw(&url, ALLOWED, "ListTables", "{}").send().await;
    assert!(after.is_err(), "the stopped proxy still answered: {after:?}");
}
