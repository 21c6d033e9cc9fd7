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
use crate::sfn_log::LogLevel;
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
    /// What the order pipeline's execution logs cost under each
    /// LoggingConfiguration, from the log lines the run wrote.
    pub logging: Logging,
    pub assumptions: Vec<String>,
}

/// Execution logging per choice: the lines written are filtered by each
/// level's event types and stripped of execution data by the same code the
/// local cloud writes them with (sfn_log.rs), then priced. A choice that
/// would log more than was written (a higher level, or data that was not
/// logged) cannot be measured from the run and has no figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Logging {
    /// What the run logged: its level and whether with data (None: no lines read).
    pub measured_level: Option<LogLevel>,
    pub measured_with_data: bool,
    pub rows: Vec<LoggingRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingRow {
    pub level: LogLevel,
    pub include_execution_data: bool,
    /// Per million orders; None when the run cannot tell.
    pub log_events: Option<u64>,
    pub log_bytes: Option<u64>,
    pub usd_per_million_orders: Option<Decimal>,
}

fn logging(usage: &Usage, book: &PriceBook, orders: u64) -> Logging {
    let lines: Vec<&(String, u64, u64)> = usage.feeds.iter().flat_map(|f| f.sfn_log_lines.iter()).collect();
    let measured_level = if lines.is_empty() {
        None
    } else if lines.iter().any(|(t, _, _)| !LogLevel::Error.logs(t)) {
        Some(LogLevel::All)
    } else if lines.iter().any(|(t, _, _)| !LogLevel::Fatal.logs(t)) {
        Some(LogLevel::Error)
    } else {
        Some(LogLevel::Fatal)
    };
    let measured_with_data = lines.iter().any(|(_, bytes, bare)| bare < bytes);
    let scale = |n: u64| {
        ratio(Decimal::from(n) * Decimal::from(MILLION), Decimal::from(orders))
            .and_then(|d| u64::try_from(d.round()).ok())
    };
    let mut rows = Vec::new();
    for level in LogLevel::EVERY {
        for data in [true, false] {
            if level == LogLevel::Off && data {
                continue;
            }
            // ALL > ERROR > FATAL > OFF: a level logs a subset of every level before it.
            let derivable = orders > 0 && measured_level.is_some_and(|m| m <= level) && (!data || measured_with_data);
            let (events, bytes) = lines
                .iter()
                .filter(|(t, _, _)| level.logs(t))
                .fold((0u64, 0u64), |(n, b), (_, with, bare)| {
                    (n + 1, b + if data { *with } else { *bare })
                });
            let usd = price::log_charge("execution logs", events, bytes, book.logs_ingested_gb).usd;
            rows.push(LoggingRow {
                level,
                include_execution_data: data,
                log_events: derivable.then(|| scale(events)).flatten(),
                log_bytes: derivable.then(|| scale(bytes)).flatten(),
                usd_per_million_orders: derivable.then(|| per_million(usd, orders)),
            });
        }
    }
    Logging {
        measured_level,
        measured_with_data,
        rows,
    }
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
        logging: logging(usage, book, orders),
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
