//! The metrics table's volume items: `VOLUME#<partnerId>` / `<YYYY-MM-DDTHH>`
//! with counters `feeds`, `received`, `persisted`, `rejected`, `duplicate`,
//! `failed`, latency buckets `lat_NN` and rejection counts `rej_<CODE>`
//! (see [`crate::metrics`]). Written only by ADD, one update per finished
//! feed inside the transaction that finishes it ([`MetricsStore::add`]
//! builds it; `FeedStore::finish` sends it), so concurrent feeds of one
//! partner and hour never lose an update and a retried finish never counts
//! twice. Read by one Query per partner and range of hours.

use super::{num_attr, s, str_attr, Item, Metered, StoreError};
use crate::cost::CostMeter;
use crate::metrics::{
    OrderVolume, VolumeDelta, VolumeHour, LATENCY_BUCKETS, LATENCY_PREFIX, REJECTION_PREFIX, VOLUME_PREFIX,
};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, Update};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct MetricsStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn count(item: &Item, name: &str) -> u64 {
    // ADD keeps numbers; a negative one could only come from a redrive
    // taken back twice, which the feed's condition prevents: read as 0.
    num_attr::<i64>(item, name).map_or(0, |n| u64::try_from(n).unwrap_or(0))
}

fn volume_hour(partner_id: &str, item: &Item) -> Option<VolumeHour> {
    let hour = str_attr(item, "sk")?.to_string();
    let mut histogram = [0u64; LATENCY_BUCKETS];
    let mut rejection_codes = BTreeMap::new();
    for (name, value) in item {
        let AttributeValue::N(_) = value else { continue };
        if let Some(i) = name.strip_prefix(LATENCY_PREFIX).and_then(|i| i.parse::<usize>().ok()) {
            if let Some(slot) = histogram.get_mut(i) {
                *slot = count(item, name);
            }
        } else if let Some(code) = name.strip_prefix(REJECTION_PREFIX) {
            let n = count(item, name);
            if n > 0 {
                rejection_codes.insert(code.to_string(), n);
            }
        }
    }
    Some(
        VolumeHour {
            partner_id: partner_id.to_string(),
            hour,
            feeds: count(item, "feeds"),
            orders: OrderVolume {
                received: count(item, "received"),
                persisted: count(item, "persisted"),
                rejected: count(item, "rejected"),
                duplicate: count(item, "duplicate"),
                failed: count(item, "failed"),
            },
            latency_ms: None,
            rejection_codes,
            latency_histogram: histogram,
        }
        .with_percentiles(),
    )
}

impl MetricsStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The update that adds `delta` to `partner_id`'s hour, for a
    /// TransactWriteItems. ADD creates the item and each attribute on first
    /// use, so no hour needs to exist beforehand.
    pub(crate) fn add(&self, partner_id: &str, delta: &VolumeDelta) -> Result<Update, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(format!("{VOLUME_PREFIX}{partner_id}")))
            .key("sk", s(&delta.hour));
        let mut terms = Vec::new();
        for (i, (name, n)) in delta.additions().into_iter().enumerate() {
            terms.push(format!("#a{i} :v{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), super::n(n));
        }
        update
            .update_expression(format!("ADD {}", terms.join(", ")))
            .build()
            .map_err(super::corrupt)
    }

    /// `partner_id`'s hours from `from_hour` to `to_hour` (both inclusive,
    /// `YYYY-MM-DDTHH`), oldest first; hours whose feeds were all taken back
    /// by a redrive (and not finished again yet) are left out. One Query
    /// (an hour item is well under 1 KB, so a page of 1 MB holds more than
    /// a month of hours; a longer range goes on page by page).
    pub async fn volume(
        &self,
        partner_id: &str,
        from_hour: &str,
        to_hour: &str,
        meter: &CostMeter,
    ) -> Result<Vec<VolumeHour>, StoreError> {
        let mut hours = Vec::new();
        if from_hour > to_hour {
            return Ok(hours);
        }
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(format!("{VOLUME_PREFIX}{partner_id}")))
                .expression_attribute_values(":from", s(from_hour))
                .expression_attribute_values(":to", s(to_hour))
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .metered(meter)?;
            hours.extend(
                out.items()
                    .iter()
                    .filter_map(|item| volume_hour(partner_id, item))
                    .filter(|h| h.feeds > 0),
            );
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(hours),
            }
        }
    }
}
