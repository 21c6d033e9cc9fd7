//! What the cost-rollup job stores in the metrics table, and the finance
//! reads over it: each closed hour's cost per partner (`COST#<partnerId>` /
//! `<YYYY-MM-DDTHH>`) and per feed (`FEEDCOST#<feedId>` / `<hour>`), the
//! hour's totals with the unattributed rest (`ROLLUP#cost` /
//! `hour#<hour>`), and how far the job has got (`ROLLUP#cost` /
//! `watermark`, `{lastHour}`).
//!
//! Every hour item is a PutItem of the whole figure, never an ADD, so
//! attributing an hour again (a run that failed before moving the watermark)
//! writes the same items instead of counting twice. Money is kept as decimal
//! strings in USD: the parts of a figure add up to its total exactly.

use super::{batch_write, corrupt, from_item, s, Item, Metered, StoreError};
use crate::cost::CostMeter;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnConsumedCapacity, WriteRequest};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;

const PARTNER_PREFIX: &str = "COST#";
const FEED_PREFIX: &str = "FEEDCOST#";
const ROLLUP_PK: &str = "ROLLUP#cost";
const WATERMARK_SK: &str = "watermark";
const HOUR_SK_PREFIX: &str = "hour#";

/// USD per service, keyed by zb-cost's service names (`apiGateway`,
/// `lambda`, `stepFunctions`, `dynamoDb`, `eventBridge`, `cloudWatchLogs`).
pub type ByService = BTreeMap<String, Decimal>;

/// One partner's cost in one closed hour.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerHour {
    pub partner_id: String,
    /// `YYYY-MM-DDTHH` (UTC).
    pub hour: String,
    pub total_usd: Decimal,
    pub by_service: ByService,
    /// Feeds received in this hour (their POST's ingest ended in it), so
    /// that a feed whose work straddles hours is counted once.
    pub feeds: u64,
    pub orders: u64,
}

/// One feed's cost in one closed hour.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedHour {
    pub feed_id: String,
    /// None when no log line read named the feed's partner.
    pub partner_id: Option<String>,
    pub hour: String,
    pub total_usd: Decimal,
    pub by_service: ByService,
    pub orders: u64,
}

/// One closed hour as a whole: every partner's cost, plus what belongs to no
/// feed (API reads, refused requests, the jobs' own runs).
#[derive(Debug, Clone, PartialEq)]
pub struct HourTotal {
    pub hour: String,
    pub total_usd: Decimal,
    pub unattributed_usd: Decimal,
    pub by_service: ByService,
    pub feeds: u64,
    /// The price list the hour was priced with.
    pub pricing_version: String,
    pub warnings: Vec<String>,
}

/// Cost per partner per day (admin API: `GET /v1/admin/cost`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostDay {
    pub partner_id: String,
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub total_usd: Decimal,
    pub by_service: ByService,
    /// Feeds received that day.
    pub feeds: u64,
}

/// One feed's cost over every hour it used (admin API: `GET /v1/admin/cost/feeds/{feedId}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedCost {
    pub feed_id: String,
    pub partner_id: Option<String>,
    pub total_usd: Decimal,
    pub by_service: ByService,
}

#[derive(Debug, Clone)]
pub struct CostStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn money(v: Decimal) -> AttributeValue {
    // normalize: "0.000125" rather than "0.00012500000" (same value).
    s(v.normalize().to_string())
}

fn services(by: &ByService) -> AttributeValue {
    AttributeValue::M(by.iter().map(|(k, v)| (k.clone(), money(*v))).collect())
}

fn put(item: Item) -> Result<WriteRequest, StoreError> {
    let put = PutRequest::builder().set_item(Some(item)).build().map_err(corrupt)?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// The stored shape of an hour item, as read back.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredHour {
    sk: String,
    #[serde(default)]
    partner_id: Option<String>,
    total_usd: String,
    #[serde(default)]
    by_service: BTreeMap<String, String>,
    #[serde(default)]
    feeds: u64,
}

fn decimal(v: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(v).map_err(|e| StoreError::Corrupt(format!("{v:?} is not a decimal: {e}")))
}

fn add_services(into: &mut ByService, from: &BTreeMap<String, String>) -> Result<(), StoreError> {
    for (k, v) in from {
        *into.entry(k.clone()).or_insert(Decimal::ZERO) += decimal(v)?;
    }
    Ok(())
}

impl CostStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Writes one attributed hour: its partner and feed items and its
    /// totals. Items of the same keys are replaced whole, so writing an hour
    /// twice leaves what writing it once does.
    pub async fn write_hour(
        &self,
        partners: &[PartnerHour],
        feeds: &[FeedHour],
        total: &HourTotal,
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        let mut requests = Vec::with_capacity(partners.len() + feeds.len() + 1);
        for p in partners {
            let mut item = Item::new();
            item.insert("pk".into(), s(format!("{PARTNER_PREFIX}{}", p.partner_id)));
            item.insert("sk".into(), s(&p.hour));
            item.insert("partnerId".into(), s(&p.partner_id));
            item.insert("hour".into(), s(&p.hour));
            item.insert("totalUsd".into(), money(p.total_usd));
            item.insert("byService".into(), services(&p.by_service));
            item.insert("feeds".into(), super::n(p.feeds));
            item.insert("orders".into(), super::n(p.orders));
            item.insert("pricingVersion".into(), s(&total.pricing_version));
            requests.push(put(item)?);
        }
        for f in feeds {
            let mut item = Item::new();
            item.insert("pk".into(), s(format!("{FEED_PREFIX}{}", f.feed_id)));
            item.insert("sk".into(), s(&f.hour));
            item.insert("feedId".into(), s(&f.feed_id));
            if let Some(p) = &f.partner_id {
                item.insert("partnerId".into(), s(p));
            }
            item.insert("hour".into(), s(&f.hour));
            item.insert("totalUsd".into(), money(f.total_usd));
            item.insert("byService".into(), services(&f.by_service));
            item.insert("orders".into(), super::n(f.orders));
            item.insert("pricingVersion".into(), s(&total.pricing_version));
            requests.push(put(item)?);
        }
        let mut item = Item::new();
        item.insert("pk".into(), s(ROLLUP_PK));
        item.insert("sk".into(), s(format!("{HOUR_SK_PREFIX}{}", total.hour)));
        item.insert("hour".into(), s(&total.hour));
        item.insert("totalUsd".into(), money(total.total_usd));
        item.insert("unattributedUsd".into(), money(total.unattributed_usd));
        item.insert("byService".into(), services(&total.by_service));
        item.insert("feeds".into(), super::n(total.feeds));
        item.insert("pricingVersion".into(), s(&total.pricing_version));
        if !total.warnings.is_empty() {
            item.insert(
                "warnings".into(),
                AttributeValue::L(total.warnings.iter().map(s).collect()),
            );
        }
        requests.push(put(item)?);
        batch_write(&self.client, &self.table, requests, meter).await
    }

    /// The last hour attributed, if any (`YYYY-MM-DDTHH`).
    pub async fn watermark(&self, meter: &CostMeter) -> Result<Option<String>, StoreError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Watermark {
            last_hour: String,
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(ROLLUP_PK))
            .key("sk", s(WATERMARK_SK))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        Ok(from_item::<Watermark>(out.item)?.map(|w| w.last_hour))
    }

    /// Records `hour` as attributed. Never moves the watermark back: a run
    /// that overlapped a later one leaves the later one's mark (its hour
    /// items were the same PutItems). Returns whether it moved.
    pub async fn advance_watermark(&self, hour: &str, meter: &CostMeter) -> Result<bool, StoreError> {
        let moved = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(ROLLUP_PK))
            .item("sk", s(WATERMARK_SK))
            .item("lastHour", s(hour))
            .condition_expression("attribute_not_exists(lastHour) OR lastHour < :h")
            .expression_attribute_values(":h", s(hour))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        Ok(moved.is_some())
    }

    /// One Query's pages, every item of `pk` whose sort key lies in [from, to].
    async fn query_all(
        &self,
        pk: &str,
        range: Option<(&str, &str)>,
        meter: &CostMeter,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            q = match range {
                Some((from, to)) => q
                    .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                    .expression_attribute_values(":from", s(from))
                    .expression_attribute_values(":to", s(to)),
                None => q.key_condition_expression("pk = :pk"),
            };
            let out = q.send().await.metered(meter)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// A partner's cost per day from `from_day` to `to_day` (`YYYY-MM-DD`,
    /// both included), oldest first; days without cost are absent. Each
    /// day is the exact sum of its closed hours.
    pub async fn by_day(
        &self,
        partner_id: &str,
        from_day: &str,
        to_day: &str,
        meter: &CostMeter,
    ) -> Result<Vec<CostDay>, StoreError> {
        let pk = format!("{PARTNER_PREFIX}{partner_id}");
        // Hours sort as text: "<from>T00" .. "<to>T23" is every hour of those days.
        let (from, to) = (format!("{from_day}T00"), format!("{to_day}T23"));
        let items = self.query_all(&pk, Some((&from, &to)), meter).await?;
        let mut days: BTreeMap<String, CostDay> = BTreeMap::new();
        for item in items {
            let h: StoredHour = serde_dynamo::from_item(item).map_err(corrupt)?;
            let day = h.sk.get(..10).unwrap_or(&h.sk).to_string();
            let d = days.entry(day.clone()).or_insert_with(|| CostDay {
                partner_id: partner_id.to_string(),
                day,
                total_usd: Decimal::ZERO,
                by_service: ByService::new(),
                feeds: 0,
            });
            d.total_usd += decimal(&h.total_usd)?;
            add_services(&mut d.by_service, &h.by_service)?;
            d.feeds += h.feeds;
        }
        Ok(days
            .into_values()
            .map(|mut d| {
                d.total_usd = d.total_usd.normalize();
                d.by_service.values_mut().for_each(|v| *v = v.normalize());
                d
            })
            .collect())
    }

    /// A feed's cost over every hour attributed so far; None if no hour
    /// holds any of it (unknown feed, or its hours are not closed yet).
    pub async fn feed(&self, feed_id: &str, meter: &CostMeter) -> Result<Option<FeedCost>, StoreError> {
        let items = self.query_all(&format!("{FEED_PREFIX}{feed_id}"), None, meter).await?;
        if items.is_empty() {
            return Ok(None);
        }
        let mut cost = FeedCost {
            feed_id: feed_id.to_string(),
            partner_id: None,
            total_usd: Decimal::ZERO,
            by_service: ByService::new(),
        };
        for item in items {
            let h: StoredHour = serde_dynamo::from_item(item).map_err(corrupt)?;
            cost.total_usd += decimal(&h.total_usd)?;
            add_services(&mut cost.by_service, &h.by_service)?;
            if cost.partner_id.is_none() {
                cost.partner_id = h.partner_id;
            }
        }
        cost.total_usd = cost.total_usd.normalize();
        cost.by_service.values_mut().for_each(|v| *v = v.normalize());
        Ok(Some(cost))
    }
}
