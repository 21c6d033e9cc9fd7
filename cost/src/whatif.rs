//! What the same measured run would cost under other choices, as cost per
//! million orders: Express vs Standard, x86_64 vs arm64, other memory sizes,
//! HTTP vs REST API.
//!
//! Assumptions, stated with every result: billed durations do not change
//! with the architecture or the memory size (arm64 and more memory are
//! often faster, so those rows are upper bounds); an execution repriced as
//! the other workflow type makes the same transitions and takes as long.

use crate::price::{self, ApiKind, Arch, Choices, Service, Workflow};
use crate::pricing::PriceBook;
use crate::report::{ratio, PricingInfo};
use crate::usage::Usage;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

const MILLION: u64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    pub name: String,
    pub choices: Choices,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatIfRow {
    pub scenario: String,
    pub choices: Choices,
    pub usd_per_million_orders: Decimal,
    pub by_service: BTreeMap<Service, Decimal>,
    /// This row over the floor.
    pub times_floor: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatIf {
    pub pricing: PricingInfo,
    pub feeds: u64,
    pub orders: u64,
    /// The workflow type the executions ran as, if any ran.
    pub measured_workflow: Option<Workflow>,
    pub rows: Vec<WhatIfRow>,
    /// One API Gateway request + one Lambda request per feed + one WRU per order.
    pub floor: WhatIfRow,
    /// Per million orders, for information: not part of any row.
    pub unattributed_usd_per_million_orders: Option<Decimal>,
    pub assumptions: Vec<String>,
}

/// The scenarios `zb cost what-if` shows by default: each workflow type on
/// each architecture at the measured memory, then each memory size and the
/// REST API with the measured workflow on `arch`.
pub fn default_scenarios(arch: Arch, memories: &[u32]) -> Vec<Scenario> {
    let mut out = Vec::new();
    for workflow in [Workflow::Express, Workflow::Standard] {
        for a in [Arch::X86_64, Arch::Arm64] {
            out.push(Scenario {
                name: format!("{workflow} {a}"),
                choices: Choices {
                    arch: a,
                    workflow: Some(workflow),
                    memory_mb: None,
                    api: ApiKind::Http,
                },
            });
        }
    }
    for m in memories {
        out.push(Scenario {
            name: format!("{m} MB {arch}"),
            choices: Choices {
                arch,
                workflow: None,
                memory_mb: Some(*m),
                api: ApiKind::Http,
            },
        });
    }
    out.push(Scenario {
        name: format!("REST API {arch}"),
        choices: Choices {
            arch,
            workflow: None,
            memory_mb: None,
            api: ApiKind::Rest,
        },
    });
    out
}

fn per_million(usd: Decimal, orders: u64) -> Decimal {
    ratio(usd * Decimal::from(MILLION), Decimal::from(orders)).unwrap_or(Decimal::ZERO)
}

fn row_of(name: &str, choices: Choices, charges: &[price::Charge], orders: u64, floor: Option<Decimal>) -> WhatIfRow {
    let mut by_service: BTreeMap<Service, Decimal> = BTreeMap::new();
    for c in charges {
        *by_service.entry(c.service).or_insert(Decimal::ZERO) += c.usd;
    }
    let total: Decimal = by_service.values().copied().sum();
    let usd_per_million_orders = per_million(total, orders);
    WhatIfRow {
        scenario: name.to_string(),
        choices,
        by_service: by_service
            .into_iter()
            .map(|(s, usd)| (s, per_million(usd, orders)))
            .collect(),
        times_floor: floor.and_then(|f| ratio(usd_per_million_orders, f).map(|r| r.round_dp(2))),
        usd_per_million_orders,
    }
}

/// Reprices the feeds of a run under each scenario.
pub fn what_if(usage: &Usage, book: &PriceBook, scenarios: &[Scenario], definition_bytes: u64) -> WhatIf {
    let orders: u64 = usage.feeds.iter().map(|f| f.orders).sum();
    let floor_charges: Vec<price::Charge> = usage
        .feeds
        .iter()
        .flat_map(|f| price::floor(f.orders, book, ApiKind::Http))
        .collect();
    let floor = row_of("floor", Choices::default(), &floor_charges, orders, None);
    let floor_usd = (!floor.usd_per_million_orders.is_zero()).then_some(floor.usd_per_million_orders);
    let rows = scenarios
        .iter()
        .map(|s| {
            let charges: Vec<price::Charge> = usage
                .feeds
                .iter()
                .flat_map(|f| price::price(f, book, &s.choices, definition_bytes))
                .collect();
            row_of(&s.name, s.choices, &charges, orders, floor_usd)
        })
        .collect();
    let unattributed: Decimal = price::price(&usage.unattributed, book, &Choices::default(), definition_bytes)
        .iter()
        .map(|c| c.usd)
        .sum();
    WhatIf {
        pricing: PricingInfo::of(book),
        feeds: usage.feeds.len() as u64,
        orders,
        measured_workflow: usage
            .measured_express()
            .map(|e| if e { Workflow::Express } else { Workflow::Standard }),
        rows,
        floor,
        unattributed_usd_per_million_orders: (orders > 0).then(|| per_million(unattributed, orders)),
        assumptions: vec![
            "Billed durations are the measured ones under every architecture and memory size (arm64 and more \
             memory are often faster: those rows are upper bounds)."
                .to_string(),
            "An execution repriced as the other workflow type makes the same state transitions (retries included) \
             and takes as long; Express memory is 50 MB + definition + largest state, in 64 MB chunks."
                .to_string(),
            "Floor: per feed one HTTP API request and one Lambda request, plus one write request unit per order \
             (an order item of at most 1 KB, written once, no index)."
                .to_string(),
            "Only feeds' costs are in the rows; usage that belongs to no feed (status polling, refused requests) \
             is shown apart."
                .to_string(),
        ],
    }
}
