//! What each partner request costs, end to end, for finance.
//!
//! Inputs are what AWS (or the local cloud) already writes: each function's
//! log lines (Lambda's REPORT lines and our EMF cost records), Step
//! Functions execution histories, and a versioned price list. [`usage`]
//! ties every invocation and execution to the feed it worked on, [`price`]
//! turns usage into charges under the list's prices, [`report`] lays them
//! out per feed, partner and service, and [`whatif`] reprices the same usage
//! under other deployment choices.

pub mod billing;
pub mod history;
pub mod lines;
pub mod logs;
pub mod price;
pub mod pricing;
pub mod render;
pub mod report;
pub mod sfn_log;
pub mod usage;
pub mod whatif;

pub use logs::LogEvent;
pub use price::{ApiKind, Arch, Choices, Service, Workflow};
pub use pricing::{PriceBook, PricingError};
pub use report::CostReport;
pub use rust_decimal::Decimal;
pub use usage::{collect, collect_window, Topology, Usage, Window};
pub use whatif::WhatIf;
