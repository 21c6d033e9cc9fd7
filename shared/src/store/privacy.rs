//! The privacy tables: the subject index (PrivacyIndexTable), which lets an
//! erasure or an export find one person's items without scanning a table,
//! and the erasure requests (ErasuresTable).
//!
//! Index item: `subject` (pk) = `<partnerId>#<subject hash>`, `ref` (sk) =
//! `ORDER#<seq>` | `BODY#<feedId>#<index>` | `ERROR#<feedId>#<index>`
//! (`crate::privacy::IndexRef`), `expiresAt` (TTL). Keys are deterministic,
//! so writing a feed's entries again (a retried step) rewrites the same
//! items. The identifiers themselves are never stored here, only hashes.

use super::{corrupt, from_item, n, s, to_item, Item, Metered, StoreError, Ttl};
use crate::cost::CostMeter;
use crate::privacy::Identifier;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, ReturnConsumedCapacity, WriteRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The subject index's partition key of a subject.
pub fn subject_key(partner_id: &str, hash: &str) -> String {
    format!("{partner_id}#{hash}")
}

#[derive(Debug, Clone)]
pub struct PrivacyIndex {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Entries are kept as long as orders (`order_days`: an entry must
    /// outlive nothing it points at, and orders live longest); reads leave
    /// expired ones out.
    ttl: Ttl,
}

impl PrivacyIndex {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: Ttl::default(),
        }
    }

    /// The same index, with `ttl`'s retention and clock (tests pin both).
    pub fn with_ttl(mut self, ttl: Ttl) -> Self {
        self.ttl = ttl;
        self
    }

    /// The same index, reading "now" from `clock`.
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Self {
        self.ttl.clock = clock;
        self
    }

    /// The `expiresAt` of an entry written at `now`: the orders' retention.
    pub fn expires_at(&self, now: chrono::DateTime<chrono::Utc>) -> i64 {
        crate::config::Retention::expires_at(now, self.ttl.retention.order_days)
    }

    /// Writes `(hash, ref)` entries of `partner_id`, each expiring at
    /// `expires_at` (epoch seconds): BatchWriteItem, 25 per call, what
    /// DynamoDB leaves unprocessed sent again. Duplicates are dropped first
    /// (BatchWriteItem refuses a request naming one key twice).
    pub async fn put(
        &self,
        partner_id: &str,
        entries: &[(String, String)],
        expires_at: i64,
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        let unique: BTreeSet<&(String, String)> = entries.iter().collect();
        let mut requests = Vec::with_capacity(unique.len());
        for (hash, r) in unique {
            let put = PutRequest::builder()
                .item("subject", s(subject_key(partner_id, hash)))
                .item("ref", s(r))
                .item("expiresAt", n(expires_at))
                .build()
                .map_err(corrupt)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        super::batch_write(&self.client, &self.table, requests, meter).await
    }

    /// Every ref of one subject (a Query, all pages), leaving out entries
    /// whose `expiresAt` has passed: DynamoDB deletes expired items only
    /// within a few days (AWS "Time to Live" docs), so a read must not
    /// count on them being gone.
    pub async fn refs(&self, partner_id: &str, hash: &str, meter: &CostMeter) -> Result<Vec<String>, StoreError> {
        let now = self.ttl.now_secs();
        let mut refs = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#s = :s")
                .filter_expression("attribute_not_exists(#e) OR #e > :now")
                .projection_expression("#r")
                .expression_attribute_names("#s", "subject")
                .expression_attribute_names("#e", "expiresAt")
                .expression_attribute_names("#r", "ref")
                .expression_attribute_values(":s", s(subject_key(partner_id, hash)))
                .expression_attribute_values(":now", n(now))
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .metered(meter)?;
            for item in out.items.unwrap_or_default() {
                let r = super::str_attr(&item, "ref").ok_or_else(|| corrupt("an index item without a ref"))?;
                refs.push(r.to_string());
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(refs)
    }

    /// Deletes the given refs of one subject (what an erasure has erased).
    pub async fn delete(
        &self,
        partner_id: &str,
        hash: &str,
        refs: &[String],
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        let subject = subject_key(partner_id, hash);
        let unique: BTreeSet<&String> = refs.iter().collect();
        let mut requests = Vec::with_capacity(unique.len());
        for r in unique {
            let delete = DeleteRequest::builder()
                .key("subject", s(&subject))
                .key("ref", s(r))
                .build()
                .map_err(corrupt)?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        super::batch_write(&self.client, &self.table, requests, meter).await
    }
}

/// Where an erasure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErasureStatus {
    Running,
    Succeeded,
    Failed,
}

impl ErasureStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }
}

/// How many items of each kind an erasure erased or redacted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasedCounts {
    #[serde(default)]
    pub orders: u64,
    #[serde(default)]
    pub raw_orders: u64,
    #[serde(default)]
    pub errors: u64,
    #[serde(default)]
    pub deliveries: u64,
    #[serde(default)]
    pub outbox: u64,
}

/// One erasure request, as ErasuresTable holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasureRecord {
    pub erasure_id: String,
    pub partner_id: String,
    pub status: ErasureStatus,
    /// The operator's username.
    pub requested_by: String,
    /// RFC 3339, UTC.
    pub requested_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The subject hashes of the request (`crate::privacy::subject_hash`).
    pub subjects: Vec<String>,
    /// The identifiers in clear, for the workflow to find and redact them;
    /// only while RUNNING: [`ErasureStore::finish`] removes them, leaving
    /// the hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub erased: ErasedCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// Why a FAILED erasure failed (an error name and cause; never an
    /// identifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl ErasureRecord {
    /// The admin API's answer (GET /v1/admin/privacy/erasures/{id}): never
    /// the identifiers.
    pub fn view(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "erasureId": self.erasure_id,
            "partnerId": self.partner_id,
            "status": self.status,
            "requestedBy": self.requested_by,
            "requestedAt": self.requested_at,
            "subjects": self.subjects,
            "erased": self.erased,
        });
        if let (Some(at), Some(map)) = (&self.finished_at, v.as_object_mut()) {
            map.insert("finishedAt".into(), serde_json::Value::String(at.clone()));
        }
        v
    }
}

#[derive(Debug, Clone)]
pub struct ErasureStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl ErasureStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Stores a new request; [`StoreError::Conflict`] if its id exists.
    pub async fn create(&self, record: &ErasureRecord, meter: &CostMeter) -> Result<(), StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(record)?))
            .condition_expression("attribute_not_exists(erasureId)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        match written {
            Some(_) => Ok(()),
            None => Err(StoreError::Conflict(format!("erasure {}", record.erasure_id))),
        }
    }

    /// A consistent read: the workflow reads what the API just wrote.
    pub async fn get(&self, erasure_id: &str, meter: &CostMeter) -> Result<Option<ErasureRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("erasureId", s(erasure_id))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        from_item(out.item)
    }

    /// Records the execution that runs a request.
    pub async fn set_execution(&self, erasure_id: &str, arn: &str, meter: &CostMeter) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("erasureId", s(erasure_id))
            .update_expression("SET executionArn = :a")
            .condition_expression("attribute_exists(erasureId)")
            .expression_attribute_values(":a", s(arn))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        out.map(|_| ())
            .ok_or_else(|| StoreError::Missing(format!("erasure {erasure_id}")))
    }

    /// Saves the counts so far of a RUNNING erasure (a step's progress);
    /// false if it is no longer running.
    pub async fn progress(
        &self,
        erasure_id: &str,
        erased: &ErasedCounts,
        meter: &CostMeter,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("erasureId", s(erasure_id))
            .update_expression("SET erased = :e")
            .condition_expression("#st = :running")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":e", super::to_value(erased)?)
            .expression_attribute_values(":running", s(ErasureStatus::Running.as_str()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        Ok(out.is_some())
    }

    /// Finishes a RUNNING erasure: its status, counts and time, and its
    /// identifiers removed (the hashes in `subjects` stay), in one
    /// conditional update. True if this call finished it; false if it was
    /// finished already (a retried step), which leaves it as it was.
    pub async fn finish(
        &self,
        erasure_id: &str,
        status: ErasureStatus,
        erased: &ErasedCounts,
        finished_at: &str,
        failure: Option<&str>,
        meter: &CostMeter,
    ) -> Result<bool, StoreError> {
        let mut update = "SET #st = :st, erased = :e, finishedAt = :at".to_string();
        if failure.is_some() {
            update.push_str(", failure = :f");
        }
        update.push_str(" REMOVE identifiers");
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("erasureId", s(erasure_id))
            .update_expression(update)
            .condition_expression("#st = :running")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":st", s(status.as_str()))
            .expression_attribute_values(":e", super::to_value(erased)?)
            .expression_attribute_values(":at", s(finished_at))
            .expression_attribute_values(":running", s(ErasureStatus::Running.as_str()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        if let Some(f) = failure {
            req = req.expression_attribute_values(":f", s(f));
        }
        let out = req.send().await.metered_conditional(meter)?;
        if out.is_some() {
            return Ok(true);
        }
        match self.get(erasure_id, meter).await? {
            Some(_) => Ok(false),
            None => Err(StoreError::Missing(format!("erasure {erasure_id}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_never_holds_identifiers() {
        let record = ErasureRecord {
            erasure_id: "e-1".into(),
            partner_id: "partner-b".into(),
            status: ErasureStatus::Running,
            requested_by: "alice".into(),
            requested_at: "2026-01-01T00:00:00Z".into(),
            finished_at: None,
            subjects: vec!["ab".into()],
            identifiers: vec![Identifier::email("ann@example.com").unwrap()],
            erased: ErasedCounts::default(),
            execution_arn: None,
            failure: None,
        };
        let text = record.view().to_string();
        assert!(!text.contains("ann@example.com"), "{text}");
        assert!(!text.contains("finishedAt"));
        assert_eq!(record.view()["erased"]["rawOrders"], 0);
        assert_eq!(record.view()["status"], "RUNNING");
        // The stored item round-trips.
        let item = to_item(&record).unwrap();
        let back: ErasureRecord = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back, record);
    }
}
