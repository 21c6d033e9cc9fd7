//! DynamoDB's Time to Live, which DynamoDB Local does not do: it accepts
//! UpdateTimeToLive but never deletes an expired item (its usage notes list
//! no TTL process, and `tests/retention.rs` shows an expired item staying
//! put until a sweep). So the local cloud sweeps every table whose template
//! `TimeToLiveSpecification` is enabled, the way AWS describes TTL
//! ("How Time to Live works", Amazon DynamoDB Developer Guide, and the
//! UpdateTimeToLive API reference):
//!
//! - an item whose TTL attribute is a Number of epoch seconds before now is
//!   expired; a TTL attribute of any other type (a String, a list, ...) or
//!   no attribute at all is ignored, and the item is kept;
//! - expired items are deleted in the background, "typically within two
//!   days": until then they are still returned by reads, queries and
//!   scans, which is why the functions filter them out themselves;
//! - the delete is a system delete (in a stream its record names the
//!   service principal `dynamodb.amazonaws.com`; DynamoDB Local has no
//!   streams here, so nothing more is emulated), conditional on the item
//!   still being expired, so an item whose TTL was moved meanwhile stays;
//! - it costs the table's owner no write capacity: these calls go straight
//!   to DynamoDB Local, not through the IAM proxy, as AWS's own deletes
//!   need no grant of the stack's.
//!
//! Every period (60 s × the time scale by default) one sweep Scans each
//! table (paginated, a bounded number of pages per table and sweep; the
//! next sweep resumes where this one stopped) for expired items and
//! deletes them. [`TtlSweeper::sweep`] runs one sweep now, for tests.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// Items a Scan page reads at most.
const PAGE_LIMIT: i32 = 100;
/// Pages one sweep reads per table at most (so a sweep stays short on a
/// big table; the next one goes on from there).
const MAX_PAGES_PER_SWEEP: usize = 50;

/// The default sweep period, in the local cloud's seconds (× time scale).
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum TtlError {
    #[error("TTL sweep of table {table}: {detail}")]
    Call { table: String, detail: String },
}

/// One table with TTL enabled: its name, TTL attribute and key attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlTable {
    pub name: String,
    pub attribute: String,
    pub keys: Vec<String>,
}

/// The template's tables whose `TimeToLiveSpecification` has `Enabled: true`.
pub fn ttl_tables(tables: &[crate::template::Table]) -> Vec<TtlTable> {
    tables
        .iter()
        .filter_map(|t| {
            let spec = t.properties.get("TimeToLiveSpecification")?;
            if spec.get("Enabled") != Some(&Value::Bool(true)) {
                return None;
            }
            let attribute = spec.get("AttributeName").and_then(Value::as_str)?.to_string();
            let keys = t
                .properties
                .get("KeySchema")
                .and_then(Value::as_array)?
                .iter()
                .filter_map(|k| k.get("AttributeName").and_then(Value::as_str).map(str::to_string))
                .collect();
            Some(TtlTable {
                name: t.name.clone(),
                attribute,
                keys,
            })
        })
        .collect()
}

/// What one sweep did: items deleted per table (tables with none omitted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub deleted: BTreeMap<String, usize>,
}

impl SweepReport {
    pub fn total(&self) -> usize {
        self.deleted.values().sum()
    }
}

/// "Now" in epoch seconds: the real clock, or a test's.
pub type Now = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_now() -> Now {
    Arc::new(|| chrono::Utc::now().timestamp())
}

pub struct TtlSweeper {
    client: aws_sdk_dynamodb::Client,
    tables: Vec<TtlTable>,
    now: Now,
    /// Where each table's scan stopped when a sweep hit its page bound.
    resume: Mutex<HashMap<String, Item>>,
    /// One sweep at a time (the background task and a test's).
    running: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TtlSweeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlSweeper").field("tables", &self.tables).finish()
    }
}

impl TtlSweeper {
    pub fn new(client: aws_sdk_dynamodb::Client, tables: Vec<TtlTable>, now: Now) -> Self {
        Self {
            client,
            tables,
            now,
            resume: Mutex::new(HashMap::new()),
            running: tokio::sync::Mutex::new(()),
        }
    }

    pub fn tables(&self) -> &[TtlTable] {
        &self.tables
    }

    /// One sweep of every table: deletes the expired items it finds. A
    /// table that fails is reported after the others were swept.
    pub async fn sweep(&self) -> Result<SweepReport, TtlError> {
        let _one = self.running.lock().await;
        let mut report = SweepReport::default();
        let mut first_error = None;
        for table in &self.tables {
            match self.sweep_table(table).await {
                Ok(0) => {}
                Ok(n) => {
                    report.deleted.insert(table.name.clone(), n);
                }
                Err(e) => {
                    tracing::warn!(table = %table.name, error = %e, "TTL sweep failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    async fn sweep_table(&self, table: &TtlTable) -> Result<usize, TtlError> {
        let call = |e: String| TtlError::Call {
            table: table.name.clone(),
            detail: e,
        };
        let now = (self.now)();
        let mut start = self.resume.lock().map_err(|e| call(e.to_string()))?.remove(&table.name);
        let mut names = HashMap::from([("#ttl".to_string(), table.attribute.clone())]);
        let mut projection = vec!["#ttl".to_string()];
        for (i, key) in table.keys.iter().enumerate() {
            names.insert(format!("#k{i}"), key.clone());
            projection.push(format!("#k{i}"));
        }
        let mut deleted = 0;
        for _ in 0..MAX_PAGES_PER_SWEEP {
            // `<` against a Number: an attribute of another type never
            // compares, so it is never taken for expired (AWS ignores it).
            let out = self
                .client
                .scan()
                .table_name(&table.name)
                .filter_expression("#ttl < :now")
                .projection_expression(projection.join(", "))
                .set_expression_attribute_names(Some(names.clone()))
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .limit(PAGE_LIMIT)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| call(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string()))?;
            for item in out.items.unwrap_or_default() {
                if self.delete_if_expired(table, item, now).await.map_err(call)? {
                    deleted += 1;
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(deleted),
            }
        }
        // Bounded: the next sweep goes on from here.
        if let Some(key) = start {
            self.resume
                .lock()
                .map_err(|e| call(e.to_string()))?
                .insert(table.name.clone(), key);
        }
        Ok(deleted)
    }

    /// Deletes one item if it is still expired; false when it no longer is
    /// (its TTL was moved or removed, or someone deleted it first).
    async fn delete_if_expired(&self, table: &TtlTable, item: Item, now: i64) -> Result<bool, String> {
        let key: Item = item.into_iter().filter(|(name, _)| table.keys.contains(name)).collect();
        let out = self
            .client
            .delete_item()
            .table_name(&table.name)
            .set_key(Some(key))
            .condition_expression("#ttl < :now")
            .expression_attribute_names("#ttl", &table.attribute)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string()),
        }
    }
}

/// Sweeps every `period` until aborted.
pub fn spawn(sweeper: Arc<TtlSweeper>, period: Duration) -> tokio::task::JoinHandle<()> {
    tracing::info!(tables = sweeper.tables.len(), ?period, "TTL sweeper");
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate: skip it, items written at start are fresh.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match sweeper.sweep().await {
                Ok(report) if report.total() > 0 => {
                    tracing::info!(deleted = ?report.deleted, "TTL sweep deleted expired items");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "TTL sweep"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(name: &str, properties: Value) -> crate::template::Table {
        crate::template::Table {
            logical_id: name.into(),
            name: name.into(),
            properties,
        }
    }

    #[test]
    fn only_tables_with_ttl_enabled_are_swept() {
        let keys = json!([{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]);
        let tables = [
            table(
                "on",
                json!({"KeySchema": keys, "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": true}}),
            ),
            table(
                "off",
                json!({"KeySchema": keys, "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": false}}),
            ),
            table("none", json!({"KeySchema": keys})),
        ];
        assert_eq!(
            ttl_tables(&tables),
            vec![TtlTable {
                name: "on".into(),
                attribute: "expiresAt".into(),
                keys: vec!["pk".into(), "sk".into()],
            }]
        );
    }
}
