//! The outbox table: notifications for partners without a webhook, which
//! they pull in order. Key (partnerId, seq): seq is dense per partner (1, 2,
//! 3, …), taken from a meta item (seq 0: lastSeq, ackedSeq) in the same
//! transaction that writes the entry. So entry n becomes visible only with
//! entry n-1 already committed: a reader never sees a gap that a slower
//! writer fills later, and a cursor (a seq) never skips or repeats an
//! entry, however writes and reads interleave. A marker item per event
//! (`EVENT#…`) makes a retried notify a no-op. Entries live OutboxRetentionDays (TTL);
//! acknowledging only moves ackedSeq, it never deletes.

use super::{
    classify, corrupt, from_items, n, num_attr, s, to_item, BadCursor, CursorKeys, KeyType, Metered, StoreError, Ttl,
};
use crate::cost::CostMeter;
use aws_sdk_dynamodb::types::{Put, ReturnConsumedCapacity, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

/// Optimistic rounds against concurrent writers of the same partner.
const WRITE_ROUNDS: u32 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    pub partner_id: String,
    pub seq: u64,
    /// The same id a webhook would carry, so a partner that later moves to
    /// a webhook can deduplicate across both.
    pub webhook_id: String,
    pub event_type: String,
    /// The notification JSON, exactly as a webhook would send it.
    pub body: String,
    pub created_at: String,
    pub expires_at: i64,
}

/// A page read from the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxPage {
    pub entries: Vec<OutboxEntry>,
    /// Where the next read starts: after the last entry returned, or where
    /// this read started when there was nothing new. Always present.
    pub cursor: String,
    /// More entries were already there past this page.
    pub has_more: bool,
}

/// An outbox cursor carries a position: the seq of the last entry read.
const CURSOR: CursorKeys = CursorKeys {
    listing: "outbox",
    keys: &[("s", "seq", KeyType::N)],
};

/// The opaque cursor of a position in `partner_id`'s outbox.
pub fn cursor_of(partner_id: &str, seq: u64) -> String {
    CURSOR.encode(partner_id, [seq.into()])
}

/// The position of a cursor issued for `partner_id`'s outbox. Whether the
/// partner could have been given it (not past its last entry) is for the
/// caller to check against the meta item.
pub fn seq_of(partner_id: &str, cursor: &str) -> Result<u64, BadCursor> {
    num_attr(&CURSOR.decode(cursor, partner_id)?, "seq").ok_or(BadCursor)
}

#[derive(Debug, Clone)]
pub struct OutboxStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Entries, acknowledged or not, are kept `outbox_days` (the writer
    /// sets `expiresAt` from [`OutboxStore::expires_at`]); reads leave
    /// expired ones out.
    ttl: Ttl,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Meta {
    last_seq: u64,
    acked_seq: u64,
}

impl OutboxStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: Ttl::default(),
        }
    }

    ttl_builders!();

    /// The `expiresAt` of an entry appended at `now`.
    pub fn expires_at(&self, now: chrono::DateTime<chrono::Utc>) -> i64 {
        crate::config::Retention::expires_at(now, self.ttl.retention.outbox_days)
    }

    async fn meta(&self, partner_id: &str, meter: &CostMeter) -> Result<Meta, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("partnerId", s(partner_id))
            .key("seq", n(0))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        Ok(out.item.map_or(Meta::default(), |i| Meta {
            last_seq: num_attr(&i, "lastSeq").unwrap_or(0),
            acked_seq: num_attr(&i, "ackedSeq").unwrap_or(0),
        }))
    }

    /// Appends a notification for `event_key` (unique per event); returns its
    /// seq, or None when that event was already appended (a retried notify).
    pub async fn append(
        &self,
        partner_id: &str,
        event_key: &str,
        mut entry: OutboxEntry,
        meter: &CostMeter,
    ) -> Result<Option<u64>, StoreError> {
        for _ in 0..WRITE_ROUNDS {
            let meta = self.meta(partner_id, meter).await?;
            let seq = meta.last_seq + 1;
            entry.partner_id = partner_id.to_string();
            entry.seq = seq;
            let mut advance = Update::builder()
                .table_name(&self.table)
                .key("partnerId", s(partner_id))
                .key("seq", n(0))
                .update_expression("SET lastSeq = :next")
                .expression_attribute_values(":next", n(seq));
            advance = if meta.last_seq == 0 {
                advance.condition_expression("attribute_not_exists(lastSeq)")
            } else {
                advance
                    .condition_expression("lastSeq = :prev")
                    .expression_attribute_values(":prev", n(meta.last_seq))
            };
            let advance = advance.build().map_err(corrupt)?;
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&entry)?))
                .build()
                .map_err(corrupt)?;
            let marker = Put::builder()
                .table_name(&self.table)
                .item("partnerId", s(format!("EVENT#{partner_id}#{event_key}")))
                .item("seq", n(0))
                .item("entrySeq", n(seq))
                .item("expiresAt", n(entry.expires_at))
                .condition_expression("attribute_not_exists(partnerId)")
                .build()
                .map_err(corrupt)?;
            let out = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(advance).build())
                .transact_items(TransactWriteItem::builder().put(put).build())
                .transact_items(TransactWriteItem::builder().put(marker).build())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .record_consumed(meter);
            match out {
                Ok(_) => return Ok(Some(seq)),
                Err(e) => {
                    let Some(cancelled) = e.as_service_error().and_then(|se| match se {
                        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
                        _ => None,
                    }) else {
                        return Err(classify(e));
                    };
                    let failed = |i: usize| {
                        cancelled
                            .cancellation_reasons()
                            .get(i)
                            .and_then(|r| r.code())
                            .is_some_and(|c| c == "ConditionalCheckFailed")
                    };
                    if failed(2) {
                        return Ok(None);
                    }
                    if !failed(0) {
                        // Not our conditions: a conflict with another transaction, or throttling.
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    // Another writer took this seq: read the meta again.
                }
            }
        }
        Err(StoreError::Transient(format!(
            "the outbox of {partner_id} is contended: no seq after {WRITE_ROUNDS} rounds"
        )))
    }

    /// Up to `limit` entries after `cursor` (after the last acknowledged
    /// entry when there is none), in order, leaving out entries past their
    /// retention. A cursor past the partner's last entry was never issued:
    /// refused.
    pub async fn read(
        &self,
        partner_id: &str,
        cursor: Option<&str>,
        limit: i32,
        meter: &CostMeter,
    ) -> Result<Result<OutboxPage, BadCursor>, StoreError> {
        let Ok(seq) = cursor.map(|c| seq_of(partner_id, c)).transpose() else {
            return Ok(Err(BadCursor));
        };
        let meta = self.meta(partner_id, meter).await?;
        let after = match seq {
            Some(s) if s > meta.last_seq => return Ok(Err(BadCursor)),
            Some(s) => s,
            None => meta.acked_seq,
        };
        let query = self.client.query().table_name(&self.table);
        let out = self
            .ttl
            .filter_query(query, None)
            .key_condition_expression("partnerId = :p AND seq > :after")
            .expression_attribute_values(":p", s(partner_id))
            .expression_attribute_values(":after", n(after))
            .limit(limit)
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        let entries: Vec<OutboxEntry> = from_items(out.items)?;
        // Past what was read, expired entries included: a page whose
        // entries all expired must still move the reader on.
        let evaluated = out.last_evaluated_key.as_ref().and_then(|k| num_attr::<u64>(k, "seq"));
        let last = evaluated
            .into_iter()
            .chain(entries.last().map(|e| e.seq))
            .max()
            .unwrap_or(after);
        Ok(Ok(OutboxPage {
            cursor: cursor_of(partner_id, last),
            has_more: out.last_evaluated_key.is_some(),
            entries,
        }))
    }

    /// Acknowledges every entry up to and including `cursor`'s position;
    /// returns the acknowledged seq. Acknowledging an older position is a
    /// no-op; a position past the last entry is refused.
    pub async fn ack(
        &self,
        partner_id: &str,
        cursor: &str,
        meter: &CostMeter,
    ) -> Result<Result<u64, BadCursor>, StoreError> {
        let Ok(seq) = seq_of(partner_id, cursor) else {
            return Ok(Err(BadCursor));
        };
        let meta = self.meta(partner_id, meter).await?;
        if seq > meta.last_seq {
            return Ok(Err(BadCursor));
        }
        if seq <= meta.acked_seq {
            return Ok(Ok(meta.acked_seq));
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("partnerId", s(partner_id))
            .key("seq", n(0))
            .update_expression("SET ackedSeq = :s")
            .condition_expression("attribute_not_exists(ackedSeq) OR ackedSeq < :s")
            .expression_attribute_values(":s", n(seq))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        match out {
            Some(_) => Ok(Ok(seq)),
            // A concurrent ack went further: that one stands.
            None => Ok(Ok(self.meta(partner_id, meter).await?.acked_seq)),
        }
    }
}
