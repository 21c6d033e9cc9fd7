//! The functions' apps, wired to fresh DynamoDB Local tables the way their
//! `from_env` wires them to the template's tables, with the clock fixed
//! (the stores' too: it says what has expired).
//! Their EventBridge and Step Functions adapters are the real ones, on the
//! test binary's shared local cloud (see [`crate::adapters`]).

use crate::fixtures::clock;
use crate::{create_tables, dynamodb, Tables};
use zb_shared::events::EventBridgeSink;
use zb_shared::format::{FormatRegistry, FormatResolver};
use zb_shared::store::{ErrorLog, FeedStore, FormatStore, IdempotencyStore, OrderStore, PartnerStore, RateLimitStore};

pub struct Env {
    pub ddb: aws_sdk_dynamodb::Client,
    pub tables: Tables,
    /// The formats compiled into the functions: the built-in ones unless a
    /// test onboards its own. Each app also reads the formats table.
    pub formats: FormatRegistry,
}

impl Env {
    /// A private set of tables for one test.
    pub async fn new() -> Self {
        let ddb = dynamodb().await;
        let tables = create_tables(&ddb).await;
        let formats = FormatRegistry::builtin().unwrap_or_else(|e| panic!("built-in formats: {e}"));
        Self { ddb, tables, formats }
    }

    /// The same, with the functions knowing `formats` instead.
    pub async fn with_formats(formats: FormatRegistry) -> Self {
        Self {
            formats,
            ..Self::new().await
        }
    }

    pub fn partners(&self) -> PartnerStore {
        PartnerStore::new(self.ddb.clone(), &self.tables.partners)
    }
    /// The feeds table, counting finished feeds in the metrics table as the
    /// finishing functions' `from_env` wires it.
    pub fn feeds(&self) -> FeedStore {
        FeedStore::new(self.ddb.clone(), &self.tables.feeds)
            .with_metrics(self.metrics())
            .with_clock(clock())
    }
    pub fn metrics(&self) -> zb_shared::store::MetricsStore {
        zb_shared::store::MetricsStore::new(self.ddb.clone(), &self.tables.metrics)
    }
    pub fn orders(&self) -> OrderStore {
        OrderStore::new(self.ddb.clone(), &self.tables.orders).with_clock(clock())
    }
    pub fn errors(&self) -> ErrorLog {
        ErrorLog::new(self.ddb.clone(), &self.tables.errors).with_clock(clock())
    }
    /// The subject index (issue 16), with the fixed clock.
    pub fn privacy_index(&self) -> zb_shared::store::PrivacyIndex {
        zb_shared::store::PrivacyIndex::new(self.ddb.clone(), &self.tables.privacy_index).with_clock(clock())
    }
    pub fn idempotency(&self) -> IdempotencyStore {
        IdempotencyStore::new(self.ddb.clone(), &self.tables.idempotency)
    }
    pub fn rate_limits(&self) -> RateLimitStore {
        RateLimitStore::new(self.ddb.clone(), &self.tables.rate_limits)
    }
    pub fn format_store(&self) -> FormatStore {
        FormatStore::new(self.ddb.clone(), &self.tables.formats)
    }

    /// What a function's `FormatResolver::from_env` builds, with a cache of
    /// its own, as a freshly started Lambda instance has.
    pub fn format_resolver(&self) -> FormatResolver {
        FormatResolver::new(self.formats.clone(), Some(self.format_store()))
    }

    pub fn authorizer(&self) -> authorizer::App {
        authorizer::App {
            partners: self.partners(),
            clock: clock(),
            function_name: "authorizer".into(),
        }
    }

    pub fn ingest(&self, events: EventBridgeSink) -> ingest::App<EventBridgeSink> {
        ingest::App {
            feeds: self.feeds(),
            idempotency: self.idempotency(),
            rate_limits: self.rate_limits(),
            events,
            formats: self.format_resolver(),
            clock: clock(),
            function_name: "ingest".into(),
        }
    }

    pub fn validate(&self) -> validate::App {
        validate::App {
            feeds: self.feeds(),
            formats: self.format_resolver(),
            function_name: "validate".into(),
        }
    }

    pub fn transform(&self) -> transform::App {
        transform::App {
            feeds: self.feeds(),
            formats: self.format_resolver(),
            clock: clock(),
            function_name: "transform".into(),
        }
    }

    pub fn persist(&self, events: EventBridgeSink) -> persist::App<EventBridgeSink> {
        persist::App {
            orders: self.orders(),
            feeds: self.feeds(),
            events,
            privacy: self.privacy_index(),
            formats: self.format_resolver(),
            clock: clock(),
            function_name: "persist".into(),
        }
    }

    pub fn record_error(&self, events: EventBridgeSink) -> record_error::App<EventBridgeSink> {
        record_error::App {
            recorder: zb_shared::record::Recorder {
                errors: self.errors(),
                feeds: self.feeds(),
                events,
                privacy: self.privacy_index(),
                formats: self.format_resolver(),
            },
            clock: clock(),
            function_name: "record-error".into(),
        }
    }

    pub fn outbox(&self) -> zb_shared::store::OutboxStore {
        zb_shared::store::OutboxStore::new(self.ddb.clone(), &self.tables.outbox).with_clock(clock())
    }

    pub fn deliveries(&self) -> zb_shared::store::DeliveryStore {
        zb_shared::store::DeliveryStore::new(self.ddb.clone(), &self.tables.deliveries).with_clock(clock())
    }

    pub fn notify<S: zb_shared::workflow::ExecutionStarter>(&self, starter: S) -> notify::App<S> {
        notify::App {
            partners: self.partners(),
            deliveries: self.deliveries(),
            outbox: self.outbox(),
            starter,
            clock: clock(),
            function_name: "notify".into(),
        }
    }

    /// Deliver with the clock at `now`, the given schedule, loopback URLs
    /// allowed (the receiver is on 127.0.0.1) and jitter pinned to the middle.
    pub fn deliver(
        &self,
        events: EventBridgeSink,
        now: chrono::DateTime<chrono::Utc>,
        schedule: zb_shared::webhook::Schedule,
    ) -> deliver::App<EventBridgeSink> {
        deliver::App {
            partners: self.partners(),
            deliveries: self.deliveries(),
            events,
            clock: std::sync::Arc::new(zb_shared::clock::FixedClock(now)),
            schedule,
            url_policy: zb_shared::ssrf::UrlPolicy::AllowLoopbackHttp,
            jitter: || 0.5,
            function_name: "deliver".into(),
        }
    }

    pub fn query(&self) -> query::App {
        query::App {
            feeds: self.feeds(),
            orders: self.orders(),
            errors: self.errors(),
            rate_limits: self.rate_limits(),
            deliveries: self.deliveries(),
            outbox: self.outbox(),
            clock: clock(),
            function_name: "query".into(),
        }
    }

    /// Counts the items in a table (a full scan: test tables are tiny).
    pub async fn count(&self, table: &str) -> usize {
        let out = self
            .ddb
            .scan()
            .table_name(table)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan {table}: {e}"));
        out.count() as usize
    }
}

/// What one pass through the state machine's steps produced.
pub struct Run {
    pub validated: zb_shared::pipeline::Validated,
    pub transformed: zb_shared::pipeline::Transformed,
    pub persisted: zb_shared::pipeline::Persisted,
    pub recorded: Option<zb_shared::pipeline::ErrorsRecorded>,
    /// Events persist and record-error published, as the bus accepted them.
    pub events: Vec<crate::adapters::Published>,
}

/// Passes a step's output on as JSON, as Step Functions does.
fn hand_over<A: serde::Serialize, B: serde::de::DeserializeOwned>(a: &A) -> B {
    let v = serde_json::to_value(a).unwrap_or_else(|e| panic!("step output does not serialize: {e}"));
    serde_json::from_value(v).unwrap_or_else(|e| panic!("next step cannot read the output: {e}"))
}

impl Env {
    /// Runs Validate → Transform → Persist → (RecordErrors when rejectedCount > 0),
    /// the order statemachines/order-pipeline.asl.json gives, calling each
    /// function's handler with the previous step's JSON output.
    pub async fn run_pipeline(&self, feed: &zb_shared::pipeline::FeedRef) -> Run {
        use crate::api::lambda_event;
        let validated = validate::handler(&self.validate(), lambda_event(hand_over(feed)))
            .await
            .unwrap_or_else(|e| panic!("validate failed: {e}"));
        let transformed = transform::handler(&self.transform(), lambda_event(hand_over(&validated)))
            .await
            .unwrap_or_else(|e| panic!("transform failed: {e}"));
        let (bus, journal) = self.event_bridge().await;
        let persist_app = self.persist(bus.clone());
        let persisted = persist::handler(&persist_app, lambda_event(hand_over(&transformed)))
            .await
            .unwrap_or_else(|e| panic!("persist failed: {e}"));
        let recorded = if persisted.rejected_count > 0 {
            let app = self.record_error(bus);
            let out = record_error::handler(&app, lambda_event(hand_over(&persisted)))
                .await
                .unwrap_or_else(|e| panic!("record-error failed: {e}"));
            Some(out)
        } else {
            None
        };
        let events = journal.events();
        Run {
            validated,
            transformed,
            persisted,
            recorded,
            events,
        }
    }

    /// Posts a feed through ingest and returns the response and the FeedRef
    /// it announced (None when it was not accepted).
    pub async fn ingest_feed(
        &self,
        request: &crate::api::Request,
    ) -> (crate::api::Seen, Option<zb_shared::pipeline::FeedRef>) {
        let (bus, journal) = self.event_bridge().await;
        let app = self.ingest(bus);
        let resp = ingest::handler(&app, request.event())
            .await
            .unwrap_or_else(|e| match e {});
        let announced = journal
            .events()
            .into_iter()
            .find(|e| e.detail_type == zb_shared::events::ORDER_FEED_RECEIVED)
            .map(|e| serde_json::from_value(e.detail).unwrap_or_else(|e| panic!("FeedRef: {e}")));
        (crate::api::seen(resp), announced)
    }
}
