//! `zb feeds list|show|redrive`: partners' feeds through the admin API, and
//! a new run of the order pipeline for a FAILED feed (role ops or admin;
//! the redrive is in the audit log).

use crate::admin_api::{self, seg, AdminClient, ApiArgs, ApiError, Column, PageArgs};
use crate::render::Output;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

#[derive(Debug, Args)]
pub struct FeedsArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub command: FeedsCommand,
}

#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Feeds, newest partner by partner, with their order counts
    List(ListArgs),
    /// One feed: status, counts, outcomes and failure
    Show(FeedIdArg),
    /// Run a FAILED feed through the pipeline again (every step is idempotent)
    Redrive(FeedIdArg),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FeedStatusArg {
    Received,
    Completed,
    Failed,
}

impl FeedStatusArg {
    fn query(self) -> &'static str {
        match self {
            Self::Received => "RECEIVED",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub partner: Option<String>,
    #[arg(long, value_enum, ignore_case = true)]
    pub status: Option<FeedStatusArg>,
    /// Received at or after this RFC 3339 time
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Received before this RFC 3339 time
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
pub struct FeedIdArg {
    pub feed_id: String,
}

const FEED_COLUMNS: &[Column] = &[
    ("FEED", "/feedId"),
    ("PARTNER", "/partnerId"),
    ("STATUS", "/status"),
    ("RECEIVED AT", "/receivedAt"),
    ("ORDERS", "/orderCount"),
    ("PERSISTED", "/counts/persisted"),
    ("DUPLICATE", "/counts/duplicate"),
    ("REJECTED", "/counts/rejected"),
    ("FAILURE", "/failure/Error"),
];

pub async fn run(local: bool, output: Output, args: FeedsArgs) -> Result<(), ApiError> {
    let api = AdminClient::connect(&args.api, local).await?;
    match args.command {
        FeedsCommand::List(l) => {
            let q = admin_api::query(&[
                ("partnerId", l.partner),
                ("status", l.status.map(|s| s.query().to_string())),
                ("from", l.from),
                ("to", l.to),
            ]);
            api.print_list(output, "/v1/admin/feeds", &q, &l.page, FEED_COLUMNS)
                .await?;
        }
        FeedsCommand::Show(f) => {
            let feed = api.get(&format!("/v1/admin/feeds/{}", seg(&f.feed_id)), &[]).await?;
            admin_api::print_object(output, &feed)?;
        }
        FeedsCommand::Redrive(f) => {
            let started = api
                .post(&format!("/v1/admin/feeds/{}/redrive", seg(&f.feed_id)), &json!({}))
                .await?;
            admin_api::print_object(output, &started)?;
            eprintln!(
                "redrive {} of feed {} started (execution {}); `zb feeds show {}` follows it.",
                admin_api::cell(&started, "/redriveCount"),
                f.feed_id,
                admin_api::cell(&started, "/executionName"),
                f.feed_id
            );
        }
    }
    Ok(())
}
