//! `zb partners create|rotate-key|rotate-secret|set-webhook|disable|list`:
//! onboarding against the partners table of a stack, on AWS or in the local
//! cloud. The work is zb_shared::onboarding's; this parses, finds the table
//! and prints. Keys and secrets are printed once and never stored in clear.

use crate::aws::{Aws, AwsArgs};
use crate::render::Output;
use clap::{Args, Subcommand};
use std::sync::Arc;
use std::time::Duration;
use zb_shared::clock::SystemClock;
use zb_shared::onboarding::{NewPartner, Onboarding, OnboardingError};
use zb_shared::partner::{PartnerRecord, PartnerStatus, WebhookStatus};
use zb_shared::ssrf::UrlPolicy;
use zb_shared::store::PartnerStore;

#[derive(Debug, thiserror::Error)]
pub enum PartnersError {
    #[error(transparent)]
    Onboarding(#[from] OnboardingError),
    #[error("{0}")]
    Table(String),
    #[error("the built-in formats do not load: {0}")]
    Formats(String),
    #[error("writing the output: {0}")]
    Output(#[from] serde_json::Error),
}

/// Where the stack's tables are: shared by `zb partners` and `zb deliveries`.
#[derive(Debug, Clone, Args)]
pub struct TableArgs {
    /// Stack name: tables are found as `<stack>-<LogicalId>[-suffix]`
    #[arg(long, global = true, env = "ZB_STACK", default_value = "zb")]
    pub stack: String,
    /// DynamoDB endpoint, e.g. the local cloud's http://127.0.0.1:8000
    /// [default: AWS_ENDPOINT_URL_DYNAMODB, then AWS]
    #[arg(long, global = true, env = "ZB_DYNAMODB_ENDPOINT", value_name = "URL")]
    pub dynamodb_endpoint: Option<String>,
    /// Shorthand for --dynamodb-endpoint http://127.0.0.1:8000 (`make run`)
    #[arg(long, global = true, conflicts_with = "dynamodb_endpoint")]
    pub local: bool,
}

impl TableArgs {
    fn endpoint(&self) -> Option<String> {
        if self.local {
            return Some("http://127.0.0.1:8000".into());
        }
        self.dynamodb_endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok())
            .filter(|u| !u.trim().is_empty())
    }

    /// A DynamoDB client for the chosen endpoint (local credentials for an emulator).
    pub async fn client(&self, aws: &AwsArgs) -> aws_sdk_dynamodb::Client {
        let mut args = aws.clone();
        args.endpoint_url = self.endpoint();
        let loaded = Aws::load(&args).await;
        aws_sdk_dynamodb::Client::new(&loaded.config)
    }

    /// Webhook URLs the local cloud may call: http to loopback too.
    pub fn url_policy(&self) -> UrlPolicy {
        match self.endpoint() {
            Some(u) if zb_shared::ssrf::is_loopback_url(&u) => UrlPolicy::AllowLoopbackHttp,
            _ => UrlPolicy::PublicHttps,
        }
    }

    /// The physical name of the stack's table `logical_id`: CloudFormation
    /// names it `<stack>-<LogicalId>-<suffix>`, the local cloud `<stack>-<LogicalId>`.
    pub async fn table(
        &self,
        client: &aws_sdk_dynamodb::Client,
        explicit: Option<&str>,
        logical_id: &str,
    ) -> Result<String, PartnersError> {
        if let Some(t) = explicit {
            return Ok(t.to_string());
        }
        let prefix = format!("{}-{logical_id}", self.stack);
        let mut found = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let out = client
                .list_tables()
                .set_exclusive_start_table_name(start.clone())
                .send()
                .await
                .map_err(|e| {
                    PartnersError::Table(format!(
                        "ListTables failed: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                    ))
                })?;
            for name in out.table_names() {
                if name == &prefix || name.starts_with(&format!("{prefix}-")) {
                    found.push(name.clone());
                }
            }
            start = out.last_evaluated_table_name;
            if start.is_none() {
                break;
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(PartnersError::Table(format!(
                "no table named {prefix}[-…]: is the stack name right (--stack), and the endpoint (--local, --dynamodb-endpoint)?"
            ))),
            _ => Err(PartnersError::Table(format!(
                "several tables match {prefix}: {}; pick one with --table",
                found.join(", ")
            ))),
        }
    }
}

/// The longest --overlap: a year. Far longer ones overflow the dates the
/// old credential's end is written as.
pub const MAX_OVERLAP: Duration = Duration::from_secs(365 * 86_400);

/// `0` (no overlap: the old one stops now) or a duration like 30m, 24h, 7d,
/// at most [`MAX_OVERLAP`].
pub fn parse_overlap(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    let overlap = crate::executions::parse_since(s)?;
    if overlap > MAX_OVERLAP {
        return Err(format!("{s:?} is too long: the overlap is at most 365d"));
    }
    Ok(overlap)
}

#[derive(Debug, Args)]
pub struct PartnersArgs {
    #[command(flatten)]
    pub tables: TableArgs,
    /// The partners table [default: found from --stack]
    #[arg(long, global = true, env = "ZB_PARTNERS_TABLE", value_name = "NAME")]
    pub table: Option<String>,
    #[command(subcommand)]
    pub command: PartnersCommand,
}

#[derive(Debug, Subcommand)]
pub enum PartnersCommand {
    /// Create a partner; prints its API key and webhook secret once
    Create(CreateArgs),
    /// Issue a new API key; the current one keeps working for --overlap
    RotateKey(RotateArgs),
    /// Issue a new webhook secret; deliveries carry both signatures for --overlap
    RotateSecret(RotateArgs),
    /// Set (and re-enable) the webhook URL, or --clear it (the partner then pulls from the outbox)
    SetWebhook(SetWebhookArgs),
    /// Disable a partner: its keys are refused and nothing is delivered
    Disable(PartnerIdArg),
    /// List partners (never their keys or secrets)
    List,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub name: String,
    /// `<name>@<version>` of a format under formats/, e.g. partner-a@1
    #[arg(long)]
    pub format: String,
    /// Partner id [default: the name as a slug]
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    pub partner_id: String,
    /// How long the replaced key or secret keeps working: 0, 30m, 24h, 7d
    #[arg(long, default_value = "24h", value_parser = parse_overlap)]
    pub overlap: Duration,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["url", "clear"]))]
pub struct SetWebhookArgs {
    pub partner_id: String,
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    #[arg(long)]
    pub clear: bool,
}

#[derive(Debug, Args)]
pub struct PartnerIdArg {
    pub partner_id: String,
}

pub async fn run(aws: &AwsArgs, output: Output, args: PartnersArgs) -> Result<(), PartnersError> {
    let client = args.tables.client(aws).await;
    let table = args
        .tables
        .table(&client, args.table.as_deref(), "PartnersTable")
        .await?;
    let formats = zb_shared::format::FormatRegistry::builtin().map_err(|e| PartnersError::Formats(e.to_string()))?;
    let onboarding = Onboarding {
        store: PartnerStore::new(client, table),
        clock: Arc::new(SystemClock),
        url_policy: args.tables.url_policy(),
        formats: formats.ids().map(str::to_string).collect(),
    };
    match args.command {
        PartnersCommand::Create(c) => {
            let issued = onboarding
                .create(NewPartner {
                    partner_id: c.id,
                    name: c.name,
                    format: c.format,
                    webhook_url: c.webhook_url,
                })
                .await?;
            print_issued(output, &issued)?;
        }
        PartnersCommand::RotateKey(r) => print_issued(output, &onboarding.rotate_key(&r.partner_id, r.overlap).await?)?,
        PartnersCommand::RotateSecret(r) => {
            print_issued(output, &onboarding.rotate_secret(&r.partner_id, r.overlap).await?)?
        }
        PartnersCommand::SetWebhook(w) => {
            let url = if w.clear { None } else { w.url };
            print_records(output, &[onboarding.set_webhook(&w.partner_id, url).await?])?;
        }
        PartnersCommand::Disable(d) => print_records(output, &[onboarding.disable(&d.partner_id).await?])?,
        PartnersCommand::List => print_records(output, &onboarding.list().await?)?,
    }
    Ok(())
}

fn print_issued(output: Output, issued: &zb_shared::onboarding::Issued) -> Result<(), PartnersError> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(issued)?),
        Output::Table => {
            println!("partner          {}", issued.partner_id);
            if let Some(k) = &issued.api_key {
                println!("api key          {k}");
            }
            if let Some(s) = &issued.webhook_secret {
                println!("webhook secret   {s}");
            }
            if let Some(t) = &issued.previous_valid_until {
                println!("previous valid until {t}");
            }
            println!("Shown once: only the key's hash is stored. Keep them in your secret store now.");
        }
    }
    Ok(())
}

/// What `list` shows of a partner: no secrets.
fn summary(r: &PartnerRecord) -> serde_json::Value {
    serde_json::json!({
        "partnerId": r.partner.partner_id,
        "name": r.partner.name,
        "status": r.partner.status,
        "format": r.partner.format,
        "webhookUrl": r.partner.webhook_url,
        "webhookStatus": r.state.webhook_status,
        "disabledReason": r.state.disabled_reason,
        "retiredSecrets": r.state.retired_secrets.len(),
        "createdAt": r.state.created_at,
    })
}

fn print_records(output: Output, records: &[PartnerRecord]) -> Result<(), PartnersError> {
    match output {
        Output::Json => {
            let rows: Vec<_> = records.iter().map(summary).collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        Output::Table => {
            println!(
                "{:<24} {:<9} {:<14} {:<9} WEBHOOK",
                "PARTNER", "STATUS", "FORMAT", "PUSH"
            );
            for r in records {
                let status = match r.partner.status {
                    PartnerStatus::Active => "active",
                    PartnerStatus::Disabled => "disabled",
                };
                let push = match (&r.partner.webhook_url, r.state.webhook_status) {
                    (None, _) => "outbox",
                    (Some(_), WebhookStatus::Enabled) => "webhook",
                    (Some(_), WebhookStatus::Disabled) => "DISABLED",
                };
                println!(
                    "{:<24} {:<9} {:<14} {:<9} {}{}",
                    r.partner.partner_id,
                    status,
                    r.partner.format,
                    push,
                    r.partner.webhook_url.as_deref().unwrap_or("-"),
                    r.state
                        .disabled_reason
                        .as_deref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
