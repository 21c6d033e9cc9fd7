//! `zb partners create|rotate-key|rotate-secret|set-webhook|disable|list`:
//! onboarding against the partners table of a stack, on AWS or in the local
//! cloud. The work is zb_shared::onboarding's; this parses, finds the table
//! and prints. Keys and secrets are printed once and never stored in clear.

use crate::aws::{Aws, AwsArgs, AwsError, Service, Target};
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
    #[error(transparent)]
    Aws(#[from] AwsError),
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
    /// [default: with --local the local cloud's; else --endpoint-url, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, AWS]
    #[arg(long, global = true, env = "ZB_DYNAMODB_ENDPOINT", value_name = "URL")]
    pub dynamodb_endpoint: Option<String>,
    /// The global --local (DynamoDB at http://127.0.0.1:8000), set by main.
    #[arg(skip)]
    pub local: bool,
}

impl TableArgs {
    /// The global flags with this command's DynamoDB endpoint.
    pub fn aws_args(&self, aws: &AwsArgs) -> AwsArgs {
        let mut args = aws.clone();
        args.local |= self.local;
        if self.dynamodb_endpoint.is_some() {
            args.dynamodb_endpoint = self.dynamodb_endpoint.clone();
        }
        args
    }

    fn target(&self, aws: &AwsArgs) -> Target {
        let args = self.aws_args(aws);
        Target {
            service: Service::DynamoDb,
            endpoint: args.endpoint_for(Service::DynamoDb),
            region: args.region.clone(),
        }
    }

    /// A DynamoDB client for the chosen endpoint (local credentials for an emulator).
    pub async fn client(&self, aws: &AwsArgs) -> aws_sdk_dynamodb::Client {
        let loaded = Aws::load_for(&self.aws_args(aws), Service::DynamoDb).await;
        aws_sdk_dynamodb::Client::new(&loaded.config)
    }

    /// Webhook URLs the local cloud may call: http to loopback too.
    pub fn url_policy(&self) -> UrlPolicy {
        match self.target(&crate::aws::global()).endpoint {
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
                .map_err(|e| AwsError::from_sdk(&self.target(&crate::aws::global()), "ListTables", e))?;
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
    let cache = AuthorizerCache::from_template(&args.tables.stack);
    let now = chrono::Utc::now();
    match args.command {
        PartnersCommand::Create(c) => {
            let issued = onboarding
                .create(NewPartner {
                    partner_id: c.id,
                    name: c.name,
                    format: c.format.clone(),
                    webhook_url: c.webhook_url.clone(),
                })
                .await?;
            print_issued(output, &issued)?;
            note(
                output,
                &format!(
                    "created partner {} (format {}, {}) at {}: its API key works from now on.",
                    issued.partner_id,
                    c.format,
                    match &c.webhook_url {
                        Some(u) => format!("webhook {u}"),
                        None => "no webhook: it pulls from the outbox".to_string(),
                    },
                    rfc3339(now)
                ),
            );
        }
        PartnersCommand::RotateKey(r) => {
            let issued = onboarding.rotate_key(&r.partner_id, r.overlap).await?;
            print_issued(output, &issued)?;
            let old_until = now + chrono::Duration::from_std(r.overlap).unwrap_or_default();
            let text = match &issued.previous_valid_until {
                Some(_) => format!(
                    "rotated the API key of {}: the new key works now; the old key is valid until {} (--overlap {}), \
                     and {} may keep working until {}.",
                    r.partner_id,
                    rfc3339(old_until),
                    humantime(r.overlap),
                    cache.describe(),
                    rfc3339(cache.until(old_until))
                ),
                None => format!("issued the first API key of {}: it works now.", r.partner_id),
            };
            note(output, &text);
        }
        PartnersCommand::RotateSecret(r) => {
            let issued = onboarding.rotate_secret(&r.partner_id, r.overlap).await?;
            print_issued(output, &issued)?;
            let old_until = now + chrono::Duration::from_std(r.overlap).unwrap_or_default();
            let text = match &issued.previous_valid_until {
                Some(_) if !r.overlap.is_zero() => format!(
                    "rotated the webhook secret of {}: from the next delivery on, deliveries carry signatures with the \
                     new and the old secret until {} (--overlap {}), then with the new one only.",
                    r.partner_id,
                    rfc3339(old_until),
                    humantime(r.overlap)
                ),
                _ => format!(
                    "rotated the webhook secret of {}: from the next delivery on, deliveries are signed with the new secret only.",
                    r.partner_id
                ),
            };
            note(output, &text);
        }
        PartnersCommand::SetWebhook(w) => {
            let url = if w.clear { None } else { w.url };
            let record = onboarding.set_webhook(&w.partner_id, url.clone()).await?;
            print_records(output, std::slice::from_ref(&record))?;
            let text = match &url {
                Some(u) => format!(
                    "webhook of {} set to {u} and enabled at {}: from the next notification on, it is POSTed there.",
                    w.partner_id,
                    rfc3339(now)
                ),
                None => format!(
                    "webhook of {} cleared at {}: from the next notification on, the partner pulls from GET /v1/outbox.",
                    w.partner_id,
                    rfc3339(now)
                ),
            };
            note(output, &text);
        }
        PartnersCommand::Disable(d) => {
            let record = onboarding.disable(&d.partner_id).await?;
            print_records(output, std::slice::from_ref(&record))?;
            note(
                output,
                &format!(
                    "disabled partner {} at {}: its API keys are refused and nothing more is delivered to it; \
                     {} may keep working until {}.",
                    d.partner_id,
                    rfc3339(now),
                    cache.describe(),
                    rfc3339(cache.until(now))
                ),
            );
        }
        PartnersCommand::List => print_records(output, &onboarding.list().await?)?,
    }
    Ok(())
}

/// What changed and when it takes effect: after a table, on stdout; after
/// JSON, on stderr (so the JSON stays parseable).
fn note(output: Output, text: &str) {
    match output {
        Output::Table => println!("{text}"),
        Output::Json => eprintln!("{text}"),
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// 90000 s -> "25h", 1800 s -> "30m", 0 -> "0".
fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0".to_string(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// How long API Gateway caches the authorizer's answer for a key: the
/// template's ReauthorizeEvery, else AWS's default of 300 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AuthorizerCache {
    seconds: u64,
    from_template: bool,
}

impl AuthorizerCache {
    fn from_template(stack: &str) -> AuthorizerCache {
        let model = zb_local::template::load(
            std::path::Path::new("template.yaml"),
            stack,
            &std::collections::BTreeMap::new(),
        );
        let seconds = model.ok().and_then(|m| {
            m.http_apis
                .iter()
                .flat_map(|a| a.authorizers.iter().map(|z| z.ttl_secs))
                .max()
        });
        match seconds {
            Some(seconds) => AuthorizerCache {
                seconds,
                from_template: true,
            },
            None => AuthorizerCache {
                seconds: 300,
                from_template: false,
            },
        }
    }

    fn describe(&self) -> String {
        let source = if self.from_template {
            "ReauthorizeEvery in template.yaml"
        } else {
            "AWS's default ReauthorizeEvery; no template.yaml here"
        };
        format!(
            "the authorizer caches keys for up to {} s ({source}): a key used in the last {} s",
            self.seconds, self.seconds
        )
    }

    fn until(&self, t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        t + chrono::Duration::seconds(i64::try_from(self.seconds).unwrap_or(3600))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_print_as_typed() {
        assert_eq!(humantime(Duration::ZERO), "0");
        assert_eq!(humantime(Duration::from_secs(86_400)), "1d");
        assert_eq!(humantime(Duration::from_secs(7_200)), "2h");
        assert_eq!(humantime(Duration::from_secs(1_800)), "30m");
        assert_eq!(humantime(Duration::from_secs(61)), "61s");
    }

    #[test]
    fn the_cache_window_comes_from_the_template_or_aws_default() {
        let default = AuthorizerCache::from_template("zb-no-such-dir-anyway");
        // Run from cli/ (cargo test): no template.yaml here, so AWS's default.
        assert_eq!(default.seconds, 300);
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        assert_eq!(rfc3339(default.until(t)), "2026-01-01T00:05:00Z");
        assert!(default.describe().contains("up to 300 s"), "{}", default.describe());
    }
}
