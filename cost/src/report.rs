//! The cost report: per feed, per partner and per service, each with its
//! cost, cost per order and share of the total. Sums are exact decimals, so
//! a feed's charges add up to its total to the last digit.

use crate::price::{self, Charge, Choices, Service};
use crate::pricing::PriceBook;
use crate::usage::{FeedUsage, Usage};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// Ratios (cost per order, share) are rounded to this many decimals; sums
/// are never rounded.
const RATIO_DP: u32 = 12;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingInfo {
    pub version: String,
    pub region: String,
    pub effective_date: String,
}

impl PricingInfo {
    pub fn of(book: &PriceBook) -> Self {
        PricingInfo {
            version: book.version.clone(),
            region: book.region.clone(),
            effective_date: book.effective_date.to_string(),
        }
    }
}

/// One row: a feed, a partner, the unattributed rest, or the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    pub orders: u64,
    pub orders_persisted: u64,
    pub orders_rejected: u64,
    pub usd: Decimal,
    /// None when the row has no orders.
    pub usd_per_order: Option<Decimal>,
    /// Fraction of the report's total (0..1).
    pub share: Decimal,
    pub by_service: BTreeMap<Service, Decimal>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub charges: Vec<Charge>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRow {
    pub service: Service,
    pub usd: Decimal,
    pub usd_per_order: Option<Decimal>,
    pub share: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostReport {
    pub pricing: PricingInfo,
    pub choices: Choices,
    pub total: Row,
    pub feeds: Vec<Row>,
    /// Usage that belongs to no feed (GET routes, refused requests, orphan log lines).
    pub unattributed: Row,
    pub partners: Vec<Row>,
    pub services: Vec<ServiceRow>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

pub(crate) fn ratio(a: Decimal, b: Decimal) -> Option<Decimal> {
    (!b.is_zero()).then(|| (a / b).round_dp(RATIO_DP))
}

fn by_service(charges: &[Charge]) -> BTreeMap<Service, Decimal> {
    let mut m = BTreeMap::new();
    for c in charges {
        *m.entry(c.service).or_insert(Decimal::ZERO) += c.usd;
    }
    m
}

fn row(u: &FeedUsage, charges: Vec<Charge>) -> Row {
    let usd = charges.iter().map(|c| c.usd).sum();
    Row {
        feed_id: u.feed_id.clone(),
        partner_id: u.partner_id.clone(),
        orders: u.orders,
        orders_persisted: u.orders_persisted,
        orders_rejected: u.orders_rejected,
        usd,
        usd_per_order: ratio(usd, Decimal::from(u.orders)),
        share: Decimal::ZERO,
        by_service: by_service(&charges),
        charges,
    }
}

/// Adds rows up (charges are merged by service and item).
fn sum_rows<'a>(rows: impl IntoIterator<Item = &'a Row>, keep_charges: bool) -> Row {
    let mut total = Row {
        feed_id: None,
        partner_id: None,
        orders: 0,
        orders_persisted: 0,
        orders_rejected: 0,
        usd: Decimal::ZERO,
        usd_per_order: None,
        share: Decimal::ZERO,
        by_service: BTreeMap::new(),
        charges: Vec::new(),
    };
    let mut charges: BTreeMap<(Service, &'static str), Charge> = BTreeMap::new();
    for r in rows {
        total.orders += r.orders;
        total.orders_persisted += r.orders_persisted;
        total.orders_rejected += r.orders_rejected;
        total.usd += r.usd;
        for (s, v) in &r.by_service {
            *total.by_service.entry(*s).or_insert(Decimal::ZERO) += *v;
        }
        for c in &r.charges {
            charges
                .entry((c.service, c.item))
                .and_modify(|t| {
                    t.quantity += c.quantity;
                    t.usd += c.usd;
                })
                .or_insert_with(|| c.clone());
        }
    }
    total.usd_per_order = ratio(total.usd, Decimal::from(total.orders));
    if keep_charges {
        total.charges = charges.into_values().collect();
    }
    total
}

/// Prices a run's usage and lays it out per feed, partner and service.
pub fn build(usage: &Usage, book: &PriceBook, choices: &Choices, definition_bytes: u64) -> CostReport {
    let feeds: Vec<Row> = usage
        .feeds
        .iter()
        .map(|u| row(u, price::price(u, book, choices, definition_bytes)))
        .collect();
    let unattributed = row(
        &usage.unattributed,
        price::price(&usage.unattributed, book, choices, definition_bytes),
    );
    let mut total = sum_rows(feeds.iter().chain([&unattributed]), true);
    // The report's orders are the feeds' orders.
    total.usd_per_order = ratio(total.usd, Decimal::from(total.orders));
    let share = |usd: Decimal| ratio(usd, total.usd).unwrap_or(Decimal::ZERO);

    let mut partner_ids: Vec<String> = feeds.iter().filter_map(|r| r.partner_id.clone()).collect();
    partner_ids.sort();
    partner_ids.dedup();
    let mut partners: Vec<Row> = partner_ids
        .into_iter()
        .map(|p| {
            let mut r = sum_rows(
                feeds.iter().filter(|f| f.partner_id.as_deref() == Some(p.as_str())),
                false,
            );
            r.partner_id = Some(p);
            r
        })
        .collect();
    for p in &mut partners {
        p.share = share(p.usd);
    }
    let feeds = feeds
        .into_iter()
        .map(|mut r| {
            r.share = share(r.usd);
            r
        })
        .collect();
    let mut unattributed = unattributed;
    unattributed.share = share(unattributed.usd);
    let services = Service::ALL
        .iter()
        .filter_map(|s| total.by_service.get(s).map(|usd| (*s, *usd)))
        .map(|(service, usd)| ServiceRow {
            service,
            usd,
            usd_per_order: ratio(usd, Decimal::from(total.orders)),
            share: share(usd),
        })
        .collect();
    total.share = if total.usd.is_zero() {
        Decimal::ZERO
    } else {
        Decimal::ONE
    };
    let mut notes = vec![
        format!(
            "Prices: {} {} (effective {}), first volume tier, no free tier.",
            book.region, book.version, book.effective_date
        ),
        format!(
            "Lambda priced for {}; memory {}; API Gateway {} API.",
            choices.arch,
            choices
                .memory_mb
                .map_or("as each REPORT line states".to_string(), |m| format!("{m} MB")),
            choices.api
        ),
        "Cost per order divides by the orders each feed carried (received), whatever their outcome.".to_string(),
    ];
    if usage
        .feeds
        .iter()
        .chain([&usage.unattributed])
        .any(|f| f.sfn_log_events_estimated > 0)
    {
        notes.push(
            "Step Functions execution logs (level ALL with execution data, as template.yaml configures) were not \
             read; their size is estimated from the execution histories' JSON."
                .to_string(),
        );
    }
    CostReport {
        pricing: PricingInfo::of(book),
        choices: *choices,
        total,
        feeds,
        unattributed,
        partners,
        services,
        notes,
        warnings: usage.warnings.clone(),
    }
}
