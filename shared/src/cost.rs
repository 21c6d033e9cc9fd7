//! Cost records. Each invocation emits one line in CloudWatch Embedded Metric
//! Format: the cost drivers finance prices later (duration, DynamoDB consumed
//! capacity, EventBridge entries and bytes) as properties, and the order
//! counts as metrics per partner.

use aws_sdk_dynamodb::types::ConsumedCapacity;
use serde_json::{json, Map, Value};
use std::sync::Mutex;
use std::time::Instant;

/// What one invocation consumed. Adapters add to it as they call AWS.
#[derive(Debug, Default)]
pub struct CostMeter {
    inner: Mutex<Counters>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Counters {
    pub dynamodb_read_units: f64,
    pub dynamodb_write_units: f64,
    pub dynamodb_calls: u32,
    pub eventbridge_entries: u32,
    pub eventbridge_bytes: u64,
}

impl CostMeter {
    fn with<F: FnOnce(&mut Counters)>(&self, f: F) {
        // A poisoned lock only means another thread panicked mid-update; the
        // counters are still usable for a best-effort cost record.
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard);
    }

    /// Records the capacity a DynamoDB read consumed (ReturnConsumedCapacity=TOTAL).
    pub fn dynamodb_read(&self, cc: Option<&ConsumedCapacity>) {
        let units = cc.and_then(|c| c.capacity_units).unwrap_or(0.0);
        self.with(|c| {
            c.dynamodb_read_units += units;
            c.dynamodb_calls += 1;
        });
    }

    /// Records the capacity a DynamoDB write consumed.
    pub fn dynamodb_write(&self, cc: Option<&ConsumedCapacity>) {
        let units = cc.and_then(|c| c.capacity_units).unwrap_or(0.0);
        self.with(|c| {
            c.dynamodb_write_units += units;
            c.dynamodb_calls += 1;
        });
    }

    /// Records a batch write's per-table capacities.
    pub fn dynamodb_batch_write(&self, ccs: &[ConsumedCapacity]) {
        let units: f64 = ccs.iter().filter_map(|c| c.capacity_units).sum();
        self.with(|c| {
            c.dynamodb_write_units += units;
            c.dynamodb_calls += 1;
        });
    }

    /// Records EventBridge entries and their billed size.
    pub fn eventbridge(&self, entries: u32, bytes: u64) {
        self.with(|c| {
            c.eventbridge_entries += entries;
            c.eventbridge_bytes += bytes;
        });
    }

    pub fn counters(&self) -> Counters {
        let mut out = Counters::default();
        self.with(|c| out = *c);
        out
    }
}

/// One invocation's cost record.
#[derive(Debug, Clone)]
pub struct CostRecord {
    pub function: String,
    pub feed_id: Option<String>,
    pub partner_id: Option<String>,
    pub request_id: Option<String>,
    /// API Gateway's `requestContext.requestId`, on invocations an API request
    /// caused: it joins the authorizer's invocation to the feed ingest created
    /// for the same request.
    pub api_request_id: Option<String>,
    /// The request body size API Gateway metered (HTTP APIs bill per 512 KB).
    pub api_request_bytes: Option<u64>,
    pub orders: usize,
    pub duration_ms: f64,
    pub counters: Counters,
    /// Order metrics (OrdersReceived, OrdersPersisted, OrdersRejected) for the partner.
    pub metrics: Vec<(&'static str, f64)>,
}

impl CostRecord {
    /// Starts a record; call [`CostRecord::finish`] when the invocation ends.
    pub fn start(function: impl Into<String>) -> (Self, Instant) {
        (
            Self {
                function: function.into(),
                feed_id: None,
                partner_id: None,
                request_id: None,
                api_request_id: None,
                api_request_bytes: None,
                orders: 0,
                duration_ms: 0.0,
                counters: Counters::default(),
                metrics: Vec::new(),
            },
            Instant::now(),
        )
    }

    pub fn finish(mut self, started: Instant, meter: &CostMeter) -> Self {
        self.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        self.counters = meter.counters();
        self
    }

    /// The EMF document. Metrics are dimensioned by PartnerId only: per-feed
    /// dimensions would create a custom metric per feed, which costs money;
    /// the feed id is a property, searchable in Logs Insights.
    pub fn to_emf(&self, namespace: &str, timestamp_ms: i64) -> Value {
        let mut doc = Map::new();
        let with_metrics = !self.metrics.is_empty() && self.partner_id.is_some();
        if with_metrics {
            let names: Vec<Value> = self
                .metrics
                .iter()
                .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
                .collect();
            doc.insert(
                "_aws".into(),
                json!({
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [["PartnerId"]],
                        "Metrics": names,
                    }]
                }),
            );
            for (name, value) in &self.metrics {
                doc.insert((*name).into(), json!(value));
            }
        }
        doc.insert("record".into(), json!("cost"));
        doc.insert("FunctionName".into(), json!(self.function));
        if let Some(p) = &self.partner_id {
            doc.insert("PartnerId".into(), json!(p));
        }
        if let Some(f) = &self.feed_id {
            doc.insert("FeedId".into(), json!(f));
        }
        if let Some(r) = &self.request_id {
            doc.insert("RequestId".into(), json!(r));
        }
        if let Some(a) = &self.api_request_id {
            doc.insert("ApiRequestId".into(), json!(a));
        }
        if let Some(b) = self.api_request_bytes {
            doc.insert("ApiRequestBytes".into(), json!(b));
        }
        let c = &self.counters;
        doc.insert("OrdersHandled".into(), json!(self.orders));
        doc.insert("DurationMs".into(), json!((self.duration_ms * 1000.0).round() / 1000.0));
        doc.insert("DynamoDbReadUnits".into(), json!(c.dynamodb_read_units));
        doc.insert("DynamoDbWriteUnits".into(), json!(c.dynamodb_write_units));
        doc.insert("DynamoDbCalls".into(), json!(c.dynamodb_calls));
        doc.insert("EventBridgeEntries".into(), json!(c.eventbridge_entries));
        doc.insert("EventBridgeBytes".into(), json!(c.eventbridge_bytes));
        Value::Object(doc)
    }

    /// Writes the record to stdout as one line, where Lambda ships it to
    /// CloudWatch Logs and EMF extraction finds it.
    pub fn emit(&self) {
        let now = chrono::Utc::now().timestamp_millis();
        println!("{}", self.to_emf(&crate::config::metrics_namespace(), now));
    }
}

/// The EMF document of platform metrics: no dimension, for figures that
/// concern the platform rather than a partner (the stuck-feed sweeper's).
pub fn platform_metrics_emf(namespace: &str, timestamp_ms: i64, metrics: &[(&str, f64)]) -> Value {
    let names: Vec<Value> = metrics
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [[]], "Metrics": names}],
        }),
    );
    for (name, value) in metrics {
        doc.insert((*name).into(), json!(value));
    }
    Value::Object(doc)
}

/// Writes [`platform_metrics_emf`] to stdout as one line.
pub fn emit_platform_metrics(metrics: &[(&str, f64)]) {
    let now = chrono::Utc::now().timestamp_millis();
    println!(
        "{}",
        platform_metrics_emf(&crate::config::metrics_namespace(), now, metrics)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_carries_metrics_per_partner_and_cost_properties() {
        let meter = CostMeter::default();
        let cc = ConsumedCapacity::builder().capacity_units(1.5).build();
        meter.dynamodb_write(Some(&cc));
        meter.dynamodb_write(Some(&cc));
        meter.dynamodb_read(Some(&ConsumedCapacity::builder().capacity_units(0.5).build()));
        meter.eventbridge(1, 321);
        let (mut rec, started) = CostRecord::start("persist");
        rec.partner_id = Some("partner-a".into());
        rec.feed_id = Some("f-1".into());
        rec.orders = 2;
        rec.api_request_id = Some("api-1".into());
        rec.api_request_bytes = Some(830);
        rec.metrics.push(("OrdersPersisted", 2.0));
        let doc = rec.finish(started, &meter).to_emf("ZeroBeta", 1_700_000_000_000);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "ZeroBeta");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["PartnerId"]])
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "OrdersPersisted"
        );
        assert_eq!(doc["OrdersPersisted"], 2.0);
        assert_eq!(doc["DynamoDbWriteUnits"], 3.0);
        assert_eq!(doc["DynamoDbReadUnits"], 0.5);
        assert_eq!(doc["DynamoDbCalls"], 3);
        assert_eq!(doc["EventBridgeEntries"], 1);
        assert_eq!(doc["EventBridgeBytes"], 321);
        assert_eq!(doc["FeedId"], "f-1");
        assert_eq!(doc["ApiRequestId"], "api-1");
        assert_eq!(doc["ApiRequestBytes"], 830);
    }

    #[test]
    fn a_record_without_order_metrics_has_no_emf_metadata() {
        let (rec, started) = CostRecord::start("authorizer");
        let doc = rec.finish(started, &CostMeter::default()).to_emf("ZeroBeta", 0);
        assert!(doc.get("_aws").is_none());
        assert_eq!(doc["FunctionName"], "authorizer");
        assert!(doc.get("ApiRequestId").is_none() && doc.get("ApiRequestBytes").is_none());
    }
}
