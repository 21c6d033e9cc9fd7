//! `zb partners list|show|create|update|set-webhook|disable|rotate-key|rotate-secret`:
//! onboarding through the admin API (the token of `zb login`; its roles and
//! audit log apply). `--direct` is the break-glass path: the same work
//! (zb_shared::onboarding's) done on the stack's partners table itself, on
//! AWS or in the local cloud. Keys and secrets are printed once and never
//! stored in clear.

use crate::admin_api::{seg, AdminClient, ApiArgs, ApiError, Column};
use crate::aws::{Aws, AwsArgs, AwsError, Service, Target};
use crate::render::Output;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
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
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("`zb partners {0}` goes through the admin API only; drop --direct")]
    NotDirect(&'static str),
}

/// The one line every `--direct` run prints first, on stderr.
pub const DIRECT_WARNING: &str = "zb: warning: --direct reads and writes the stack's tables itself, bypassing the \
     admin API, its roles and its audit log (break-glass use only)";

/// Where the stack's tables are (with --direct): shared by `zb partners` and `zb deliveries`.
#[derive(Debug, Clone, Args)]
pub struct TableArgs {
    /// With --direct: the stack name; tables are found as `<stack>-<LogicalId>[-suffix]`
    #[arg(long, global = true, env = "ZB_STACK", default_value = "zb")]
    pub stack: String,
    /// With --direct: the DynamoDB endpoint, e.g. the local cloud's http://127.0.0.1:8000
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
#[command(after_help = "\
Every subcommand calls the admin API with the token of `zb login` (role admin to change, ops to read); \
each change is in the audit log (`zb audit`).

Break-glass: --direct works on the stack's partners table itself (--stack, --table, \
--dynamodb-endpoint, --local), bypassing the admin API, its roles and its audit log. \
It needs AWS credentials that may write the table, and says so on stderr each time.")]
pub struct PartnersArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Break-glass: work on the partners table directly, bypassing the admin API, its roles and its audit log
    #[arg(long, global = true)]
    pub direct: bool,
    #[command(flatten)]
    pub tables: TableArgs,
    /// With --direct: the partners table [default: found from --stack]
    #[arg(long, global = true, env = "ZB_PARTNERS_TABLE", value_name = "NAME")]
    pub table: Option<String>,
    #[command(subcommand)]
    pub command: PartnersCommand,
}

#[derive(Debug, Subcommand)]
pub enum PartnersCommand {
    /// List partners (never their keys or secrets)
    List(ListArgs),
    /// One partner, as the admin API shows it (no key or secret)
    Show(PartnerIdArg),
    /// Create a partner; prints its API key and webhook secret once
    Create(CreateArgs),
    /// Change a partner's name, format, webhook or rate limit
    Update(UpdateArgs),
    /// Issue a new API key; the current one keeps working for --overlap
    RotateKey(RotateArgs),
    /// Issue a new webhook secret; deliveries carry both signatures for --overlap
    RotateSecret(RotateArgs),
    /// Set (and re-enable) the webhook URL, or --clear it (the partner then pulls from the outbox)
    SetWebhook(SetWebhookArgs),
    /// Disable a partner: its keys are refused and nothing is delivered
    Disable(PartnerIdArg),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub page: crate::admin_api::PageArgs,
}

/// A partner's own request rate: both or neither.
#[derive(Debug, Clone, Args)]
pub struct RateArgs {
    /// Sustained requests per second [default: the API's]
    #[arg(long, requires = "burst", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    /// Requests at once above the rate
    #[arg(long, requires = "rate", value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: Option<u32>,
}

impl RateArgs {
    fn json(&self) -> Option<Value> {
        match (self.rate, self.burst) {
            (Some(rate), Some(burst)) => Some(json!({"rate": rate, "burst": burst})),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("change").required(true).multiple(true)
    .args(["name", "format", "webhook_url", "clear_webhook", "rate"]))]
pub struct UpdateArgs {
    pub partner_id: String,
    #[arg(long)]
    pub name: Option<String>,
    /// `<name>@<version>` of a built-in or published format
    #[arg(long)]
    pub format: Option<String>,
    /// Set (and re-enable) the webhook
    #[arg(long, value_name = "URL", conflicts_with = "clear_webhook")]
    pub webhook_url: Option<String>,
    /// No webhook: the partner pulls from the outbox
    #[arg(long)]
    pub clear_webhook: bool,
    #[command(flatten)]
    pub rate: RateArgs,
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
    #[command(flatten)]
    pub rate: RateArgs,
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

/// `zb partners`: through the admin API, or with `--direct` on the table.
pub async fn run(aws: &AwsArgs, output: Output, args: PartnersArgs) -> Result<(), PartnersError> {
    if args.direct {
        eprintln!("{DIRECT_WARNING}");
        run_direct(aws, output, args).await
    } else {
        run_api(aws.local || args.tables.local, output, args).await
    }
}

async fn run_direct(aws: &AwsArgs, output: Output, args: PartnersArgs) -> Result<(), PartnersError> {
    match &args.command {
        PartnersCommand::Show(_) => return Err(PartnersError::NotDirect("show")),
        PartnersCommand::Update(_) => return Err(PartnersError::NotDirect("update")),
        PartnersCommand::Create(c) if c.rate.rate.is_some() => {
            return Err(PartnersError::NotDirect("create --rate/--burst"))
        }
        _ => {}
    }
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
                &created_note(&issued.partner_id, &c.format, c.webhook_url.as_deref(), now),
            );
        }
        PartnersCommand::RotateKey(r) => {
            let issued = onboarding.rotate_key(&r.partner_id, r.overlap).await?;
            print_issued(output, &issued)?;
            let had_previous = issued.previous_valid_until.is_some();
            note(
                output,
                &rotated_key_note(&r.partner_id, had_previous, r.overlap, cache, now),
            );
        }
        PartnersCommand::RotateSecret(r) => {
            let issued = onboarding.rotate_secret(&r.partner_id, r.overlap).await?;
            print_issued(output, &issued)?;
            let had_previous = issued.previous_valid_until.is_some();
            note(
                output,
                &rotated_secret_note(&r.partner_id, had_previous, r.overlap, now),
            );
        }
        PartnersCommand::SetWebhook(w) => {
            let url = if w.clear { None } else { w.url };
            let record = onboarding.set_webhook(&w.partner_id, url.clone()).await?;
            print_records(output, std::slice::from_ref(&record))?;
            note(output, &webhook_note(&w.partner_id, url.as_deref(), now));
        }
        PartnersCommand::Disable(d) => {
            let record = onboarding.disable(&d.partner_id).await?;
            print_records(output, std::slice::from_ref(&record))?;
            note(output, &disabled_note(&d.partner_id, cache, now));
        }
        PartnersCommand::List(_) => print_records(output, &onboarding.list().await?)?,
        PartnersCommand::Show(_) | PartnersCommand::Update(_) => {}
    }
    Ok(())
}

/// The columns of a partner as the admin API shows it.
const PARTNER_COLUMNS: &[Column] = &[
    ("PARTNER", "/partnerId"),
    ("STATUS", "/status"),
    ("FORMAT", "/format"),
    ("WEBHOOK STATUS", "/webhookStatus"),
    ("WEBHOOK", "/webhookUrl"),
];

/// Each subcommand as an admin API call (ARCHITECTURE.md, "The admin API").
async fn run_api(local: bool, output: Output, args: PartnersArgs) -> Result<(), PartnersError> {
    let api = AdminClient::connect(&args.api, local).await?;
    let cache = AuthorizerCache::from_template(&args.tables.stack);
    let now = chrono::Utc::now();
    let partner_path = |id: &str| format!("/v1/admin/partners/{}", seg(id));
    match args.command {
        PartnersCommand::List(l) => {
            api.print_list(output, "/v1/admin/partners", &[], &l.page, PARTNER_COLUMNS)
                .await?;
        }
        PartnersCommand::Show(p) => {
            let partner = api.get(&partner_path(&p.partner_id), &[]).await?;
            crate::admin_api::print_object(output, &partner)?;
        }
        PartnersCommand::Create(c) => {
            let mut body = json!({"name": c.name, "format": c.format});
            if let Some(id) = &c.id {
                body["partnerId"] = json!(id);
            }
            if let Some(u) = &c.webhook_url {
                body["webhookUrl"] = json!(u);
            }
            if let Some(r) = c.rate.json() {
                body["rateLimit"] = r;
            }
            let created = api.post("/v1/admin/partners", &body).await?;
            print_issued_value(output, &created)?;
            let id = created["partnerId"].as_str().unwrap_or_default();
            note(output, &created_note(id, &c.format, c.webhook_url.as_deref(), now));
        }
        PartnersCommand::Update(u) => {
            let mut body = json!({});
            if let Some(n) = &u.name {
                body["name"] = json!(n);
            }
            if let Some(f) = &u.format {
                body["format"] = json!(f);
            }
            if let Some(w) = &u.webhook_url {
                body["webhookUrl"] = json!(w);
            }
            if u.clear_webhook {
                body["webhookUrl"] = Value::Null;
            }
            if let Some(r) = u.rate.json() {
                body["rateLimit"] = r;
            }
            let updated = api
                .send(reqwest::Method::PATCH, &partner_path(&u.partner_id), &[], Some(&body))
                .await?;
            crate::admin_api::print_list(output, std::slice::from_ref(&updated), PARTNER_COLUMNS)?;
        }
        PartnersCommand::SetWebhook(w) => {
            let url = if w.clear { None } else { w.url };
            let updated = api
                .send(
                    reqwest::Method::PATCH,
                    &partner_path(&w.partner_id),
                    &[],
                    Some(&json!({"webhookUrl": url})),
                )
                .await?;
            crate::admin_api::print_list(output, std::slice::from_ref(&updated), PARTNER_COLUMNS)?;
            note(output, &webhook_note(&w.partner_id, url.as_deref(), now));
        }
        PartnersCommand::Disable(d) => {
            let disabled = api
                .post(&format!("{}/disable", partner_path(&d.partner_id)), &json!({}))
                .await?;
            crate::admin_api::print_list(output, std::slice::from_ref(&disabled), PARTNER_COLUMNS)?;
            note(output, &disabled_note(&d.partner_id, cache, now));
        }
        PartnersCommand::RotateKey(r) => {
            let issued = api
                .post(
                    &format!("{}/rotate-key", partner_path(&r.partner_id)),
                    &json!({"overlapSeconds": r.overlap.as_secs()}),
                )
                .await?;
            print_issued_value(output, &issued)?;
            let had_previous = issued.get("previousValidUntil").is_some_and(|v| !v.is_null());
            note(
                output,
                &rotated_key_note(&r.partner_id, had_previous, r.overlap, cache, now),
            );
        }
        PartnersCommand::RotateSecret(r) => {
            let issued = api
                .post(
                    &format!("{}/rotate-secret", partner_path(&r.partner_id)),
                    &json!({"overlapSeconds": r.overlap.as_secs()}),
                )
                .await?;
            print_issued_value(output, &issued)?;
            let had_previous = issued.get("previousValidUntil").is_some_and(|v| !v.is_null());
            note(
                output,
                &rotated_secret_note(&r.partner_id, had_previous, r.overlap, now),
            );
        }
    }
    Ok(())
}

fn created_note(id: &str, format: &str, webhook: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "created partner {id} (format {format}, {}) at {}: its API key works from now on.",
        match webhook {
            Some(u) => format!("webhook {u}"),
            None => "no webhook: it pulls from the outbox".to_string(),
        },
        rfc3339(now)
    )
}

fn rotated_key_note(
    id: &str,
    had_previous: bool,
    overlap: Duration,
    cache: AuthorizerCache,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let old_until = now + chrono::Duration::from_std(overlap).unwrap_or_default();
    if had_previous {
        format!(
            "rotated the API key of {id}: the new key works now; the old key is valid until {} (--overlap {}), \
             and {} may keep working until {}.",
            rfc3339(old_until),
            humantime(overlap),
            cache.describe(),
            rfc3339(cache.until(old_until))
        )
    } else {
        format!("issued the first API key of {id}: it works now.")
    }
}

fn rotated_secret_note(id: &str, had_previous: bool, overlap: Duration, now: chrono::DateTime<chrono::Utc>) -> String {
    let old_until = now + chrono::Duration::from_std(overlap).unwrap_or_default();
    if had_previous && !overlap.is_zero() {
        format!(
            "rotated the webhook secret of {id}: from the next delivery on, deliveries carry signatures with the \
             new and the old secret until {} (--overlap {}), then with the new one only.",
            rfc3339(old_until),
            humantime(overlap)
        )
    } else {
        format!(
            "rotated the webhook secret of {id}: from the next delivery on, deliveries are signed with the new secret only."
        )
    }
}

fn webhook_note(id: &str, url: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> String {
    match url {
        Some(u) => format!(
            "webhook of {id} set to {u} and enabled at {}: from the next notification on, it is POSTed there.",
            rfc3339(now)
        ),
        None => format!(
            "webhook of {id} cleared at {}: from the next notification on, the partner pulls from GET /v1/outbox.",
            rfc3339(now)
        ),
    }
}

fn disabled_note(id: &str, cache: AuthorizerCache, now: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "disabled partner {id} at {}: its API keys are refused and nothing more is delivered to it; \
         {} may keep working until {}.",
        rfc3339(now),
        cache.describe(),
        rfc3339(cache.until(now))
    )
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
    print_issued_value(output, &serde_json::to_value(issued)?)
}

/// A new key or secret, as onboarding or the admin API returns it (camelCase).
fn print_issued_value(output: Output, issued: &Value) -> Result<(), PartnersError> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(issued)?),
        Output::Table => {
            let field = |k: &str| issued.get(k).and_then(Value::as_str);
            println!("partner          {}", field("partnerId").unwrap_or("-"));
            if let Some(k) = field("apiKey") {
                println!("api key          {k}");
            }
            if let Some(s) = field("webhookSecret") {
                println!("webhook secret   {s}");
            }
            if let Some(t) = field("previousValidUntil") {
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
