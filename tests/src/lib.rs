//! ZeroBeta's integration-test harness.
//!
//! Tests run against DynamoDB Local (`make test`, or
//! `scripts/with-dynamodb cargo test`), never against mocks. The tables are
//! created from template.yaml itself, so the tests exercise the deployed
//! table design (keys, indexes, TTL) and the template and the code cannot
//! drift apart unnoticed.
//!
//! Panicking with a clear message is the right failure mode here: this is a
//! test harness, and a test that cannot set up must stop and say why.

pub mod adapters;
pub mod api;
pub mod cloud;
pub mod fixtures;
pub mod openapi;
pub mod operators;
pub mod receiver;
pub mod schemathesis;
pub mod template;
pub mod wiring;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::{IndexStatus, TableStatus};
use aws_sdk_dynamodb::Client;
use std::collections::BTreeMap;
use std::time::Duration;
use template::Template;
use zb_shared::apikey::hash_api_key;
use zb_shared::cost::CostMeter;
use zb_shared::partner::{ApiKey, Partner, PartnerStatus};
use zb_shared::store::PartnerStore;

/// The variable scripts/with-dynamodb exports; the AWS SDK sends every
/// DynamoDB call to it.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// How long a new table may take to become ACTIVE.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// A DynamoDB client for DynamoDB Local, configured from the environment
/// like the functions' own (aws-config honours AWS_ENDPOINT_URL_DYNAMODB).
///
/// Panics when AWS_ENDPOINT_URL_DYNAMODB is not set: without it the tests
/// would talk to real AWS with whatever credentials happen to be around.
pub async fn dynamodb() -> Client {
    match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.trim().is_empty() => {}
        _ => panic!(
            "{ENDPOINT_VAR} is not set, so there is no DynamoDB Local to test against. \
             Run the tests with `make test` or `scripts/with-dynamodb cargo test` \
             (add `-p zb-tests --test <name>` to run one test file)."
        ),
    }
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    Client::new(&config)
}

/// The physical names of the template's tables, as created in DynamoDB Local.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub partners: String,
    pub feeds: String,
    pub orders: String,
    pub errors: String,
    pub idempotency: String,
    pub rate_limits: String,
    pub deliveries: String,
    pub outbox: String,
    pub formats: String,
    pub metrics: String,
    pub privacy_index: String,
}

/// Creates every `AWS::DynamoDB::Table` of template.yaml under a unique name
/// (`<LogicalId>-<uuid>`), exactly as the template declares it (keys,
/// attribute definitions, indexes, billing mode, TTL), and waits until each
/// is ACTIVE. Each call makes a fresh set, so tests never share data.
pub async fn create_tables(client: &Client) -> Tables {
    let template = Template::load();
    let mut names = create_template_tables(client, &template).await;
    let mut take = |logical_id: &str| {
        names.remove(logical_id).unwrap_or_else(|| {
            panic!(
                "template.yaml has no AWS::DynamoDB::Table named {logical_id}; \
                 the pipeline contract (and these tests) need it"
            )
        })
    };
    Tables {
        partners: take("PartnersTable"),
        feeds: take("FeedsTable"),
        orders: take("OrdersTable"),
        errors: take("ErrorsTable"),
        idempotency: take("IdempotencyTable"),
        rate_limits: take("RateLimitTable"),
        deliveries: take("DeliveriesTable"),
        outbox: take("OutboxTable"),
        formats: take("FormatsTable"),
        metrics: take("MetricsTable"),
        privacy_index: take("PrivacyIndexTable"),
    }
}

/// Creates every table of `template`; returns logical id -> physical name.
/// The tables are built by the local cloud's own code from the template's
/// properties (one reader of template.yaml, one CreateTable builder), under
/// a unique name per call.
///
/// Without TTL: the handler tests run on a fixed clock (2026-01-01), so
/// every item they write with a TTL (errors 30 days, outbox, idempotency...)
/// is already expired, and DynamoDB Local 3.3 deletes expired items within
/// seconds (measured: an item with a past TTL was gone 10 s after its put),
/// which made those tests fail at random. The end-to-end tests, on the real
/// clock, keep the template's TTL.
pub async fn create_template_tables(client: &Client, template: &Template) -> BTreeMap<String, String> {
    let text = serde_yaml::to_string(&template.doc).unwrap_or_else(|e| panic!("template.yaml: {e}"));
    let model = zb_local::template::parse(&text, &template::repo_root(), "test", &BTreeMap::new())
        .unwrap_or_else(|e| panic!("the local cloud cannot read template.yaml: {e}"));
    let mut tasks = tokio::task::JoinSet::new();
    for mut table in model.tables {
        if let Some(props) = table.properties.as_object_mut() {
            props.remove("TimeToLiveSpecification");
        }
        let client = client.clone();
        tasks.spawn(async move {
            let name = format!("{}-{}", table.logical_id, uuid::Uuid::new_v4().simple());
            zb_local::tables::create(&client, &table, &name)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            wait_until_active(&client, &name).await;
            (table.logical_id, name)
        });
    }
    let mut names = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (logical_id, name) = match joined {
            Ok(created) => created,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("creating a table was cancelled: {e}"),
        };
        names.insert(logical_id, name);
    }
    names
}

/// Polls DescribeTable until the table and its indexes are ACTIVE.
async fn wait_until_active(client: &Client, name: &str) {
    let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
    loop {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "DescribeTable {name} failed: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            });
        let table = out.table.as_ref();
        let table_active = table.and_then(|t| t.table_status.as_ref()) == Some(&TableStatus::Active);
        let indexes_active = table
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .all(|i| i.index_status.as_ref().is_none_or(|s| *s == IndexStatus::Active));
        if table_active && indexes_active {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("table {name} is not ACTIVE after {ACTIVE_TIMEOUT:?}: {table:?}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A partner (PARTNER# item) and one of its API keys (KEY# item) to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerSeed<'a> {
    pub partner_id: &'a str,
    /// `<name>@<version>`, e.g. `partner-a@1`.
    pub format: &'a str,
    /// The plain key a test sends as x-api-key; only its hash is stored.
    pub api_key: &'a str,
    /// (webhook URL, `whsec_...` secret).
    pub webhook: Option<(&'a str, &'a str)>,
    pub partner_status: PartnerStatus,
    pub key_status: PartnerStatus,
}

impl<'a> PartnerSeed<'a> {
    /// An active partner with an active key and no webhook.
    pub fn active(partner_id: &'a str, format: &'a str, api_key: &'a str) -> Self {
        Self {
            partner_id,
            format,
            api_key,
            webhook: None,
            partner_status: PartnerStatus::Active,
            key_status: PartnerStatus::Active,
        }
    }

    pub fn with_webhook(mut self, url: &'a str, secret: &'a str) -> Self {
        self.webhook = Some((url, secret));
        self
    }

    /// The partner itself is disabled (its key is still active).
    pub fn partner_disabled(mut self) -> Self {
        self.partner_status = PartnerStatus::Disabled;
        self
    }

    /// The key is revoked (the partner is still active).
    pub fn key_disabled(mut self) -> Self {
        self.key_status = PartnerStatus::Disabled;
        self
    }

    /// Writes both items through [`PartnerStore`], as the service reads them.
    pub async fn seed(&self, client: &Client, partners_table: &str) -> Partner {
        let store = PartnerStore::new(client.clone(), partners_table);
        let meter = CostMeter::default();
        let partner = Partner {
            partner_id: self.partner_id.to_string(),
            name: format!("Partner {}", self.partner_id),
            status: self.partner_status,
            format: self.format.to_string(),
            webhook_url: self.webhook.map(|(url, _)| url.to_string()),
            webhook_secret: self.webhook.map(|(_, secret)| secret.to_string()),
            rate_limit: None,
        };
        store
            .put_partner(&partner, &meter)
            .await
            .unwrap_or_else(|e| panic!("seeding PARTNER#{} failed: {e}", self.partner_id));
        let key = ApiKey {
            key_hash: hash_api_key(self.api_key),
            partner_id: self.partner_id.to_string(),
            status: self.key_status,
        };
        store
            .put_key(&key, &meter)
            .await
            .unwrap_or_else(|e| panic!("seeding the API key of {} failed: {e}", self.partner_id));
        partner
    }
}

/// Seeds an active partner and its active API key; returns the partner.
pub async fn seed_partner(
    client: &Client,
    partners_table: &str,
    partner_id: &str,
    format: &str,
    api_key: &str,
    webhook: Option<(&str, &str)>,
) -> Partner {
    let mut seed = PartnerSeed::active(partner_id, format, api_key);
    seed.webhook = webhook;
    seed.seed(client, partners_table).await
}

/// [`seed_partner`] into `env`'s partners table: the tests' usual set-up.
pub async fn seed_env_partner(
    env: &wiring::Env,
    partner_id: &str,
    format: &str,
    api_key: &str,
    webhook: Option<(&str, &str)>,
) -> Partner {
    seed_partner(&env.ddb, &env.tables.partners, partner_id, format, api_key, webhook).await
}

/// POSTs `body` to `{api}/v1/feeds` as `key`, as a partner's client does.
pub async fn post_feed_http(
    http: &reqwest::Client,
    api: &str,
    key: &str,
    content_type: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    http.post(format!("{api}/v1/feeds"))
        .header("x-api-key", key)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .expect("POST /v1/feeds")
}

/// GETs `{api}{path}` as `key`; a body that is not JSON reads as null.
pub async fn get_http(http: &reqwest::Client, api: &str, key: &str, path: &str) -> (u16, serde_json::Value) {
    let r = http
        .get(format!("{api}{path}"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("GET");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}
