//! The admin API's read-only figures: `zb errors` (rejected orders),
//! `zb volume` (orders per partner and hour), `zb audit` (who changed what)
//! and `zb cost daily|feed` (the hourly cost roll-up, per day or per feed).

use crate::admin_api::{self, seg, AdminClient, ApiArgs, ApiError, Column, PageArgs};
use crate::render::Output;
use clap::Args;

#[derive(Debug, Args)]
pub struct ErrorsArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[arg(long)]
    pub partner: Option<String>,
    /// A rejection code, e.g. SCHEMA_VIOLATION
    #[arg(long)]
    pub code: Option<String>,
    /// Recorded at or after this RFC 3339 time
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Recorded before this RFC 3339 time
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
pub struct VolumeArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[arg(long)]
    pub partner: Option<String>,
    /// First hour, e.g. 2026-01-31T00 (or an RFC 3339 time)
    #[arg(long, value_name = "HOUR")]
    pub from: Option<String>,
    /// Last hour
    #[arg(long, value_name = "HOUR")]
    pub to: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Only this user's changes (username or sub)
    #[arg(long)]
    pub actor: Option<String>,
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
pub struct CostDailyArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[arg(long)]
    pub partner: Option<String>,
    /// First day, e.g. 2026-01-01
    #[arg(long, value_name = "DAY")]
    pub from: Option<String>,
    /// Last day
    #[arg(long, value_name = "DAY")]
    pub to: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
pub struct CostFeedArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    pub feed_id: String,
}

const ERROR_COLUMNS: &[Column] = &[
    ("RECEIVED AT", "/receivedAt"),
    ("PARTNER", "/partnerId"),
    ("FEED", "/feedId"),
    ("#", "/index"),
    ("SEQUENCE", "/sequenceNumber"),
    ("CODE", "/code"),
    ("FIELD", "/field"),
    ("MESSAGE", "/message"),
];

const VOLUME_COLUMNS: &[Column] = &[
    ("PARTNER", "/partnerId"),
    ("HOUR", "/hour"),
    ("FEEDS", "/feeds"),
    ("RECEIVED", "/orders/received"),
    ("PERSISTED", "/orders/persisted"),
    ("DUPLICATE", "/orders/duplicate"),
    ("REJECTED", "/orders/rejected"),
    ("FAILED", "/orders/failed"),
    ("P50 MS", "/latencyMs/p50"),
    ("P95 MS", "/latencyMs/p95"),
];

const AUDIT_COLUMNS: &[Column] = &[
    ("AT", "/at"),
    ("ACTOR", "/actor/username"),
    ("ACTION", "/action"),
    ("TARGET", "/target"),
    ("REQUEST", "/requestId"),
];

const COST_COLUMNS: &[Column] = &[
    ("PARTNER", "/partnerId"),
    ("DAY", "/day"),
    ("FEEDS", "/feeds"),
    ("TOTAL USD", "/totalUsd"),
    ("BY SERVICE", "/byService"),
];

async fn list(
    api: &ApiArgs,
    local: bool,
    output: Output,
    path: &str,
    query: &[(&'static str, Option<String>)],
    page: &PageArgs,
    columns: &[Column],
) -> Result<(), ApiError> {
    let client = AdminClient::connect(api, local).await?;
    client
        .print_list(output, path, &admin_api::query(query), page, columns)
        .await
}

pub async fn errors(local: bool, output: Output, a: ErrorsArgs) -> Result<(), ApiError> {
    let q = [
        ("partnerId", a.partner),
        ("code", a.code),
        ("from", a.from),
        ("to", a.to),
    ];
    list(&a.api, local, output, "/v1/admin/errors", &q, &a.page, ERROR_COLUMNS).await
}

pub async fn volume(local: bool, output: Output, a: VolumeArgs) -> Result<(), ApiError> {
    let q = [("partnerId", a.partner), ("from", a.from), ("to", a.to)];
    list(&a.api, local, output, "/v1/admin/volume", &q, &a.page, VOLUME_COLUMNS).await
}

pub async fn audit(local: bool, output: Output, a: AuditArgs) -> Result<(), ApiError> {
    let q = [("actor", a.actor), ("from", a.from), ("to", a.to)];
    list(&a.api, local, output, "/v1/admin/audit", &q, &a.page, AUDIT_COLUMNS).await
}

pub async fn cost_daily(local: bool, output: Output, a: CostDailyArgs) -> Result<(), ApiError> {
    let q = [("partnerId", a.partner), ("from", a.from), ("to", a.to)];
    list(&a.api, local, output, "/v1/admin/cost", &q, &a.page, COST_COLUMNS).await
}

pub async fn cost_feed(local: bool, output: Output, a: CostFeedArgs) -> Result<(), ApiError> {
    let client = AdminClient::connect(&a.api, local).await?;
    let cost = client
        .get(&format!("/v1/admin/cost/feeds/{}", seg(&a.feed_id)), &[])
        .await?;
    admin_api::print_object(output, &cost)
}
