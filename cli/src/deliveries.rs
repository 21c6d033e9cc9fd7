//! `zb deliveries list|replay`: a partner's webhook deliveries (every
//! attempt's status code, latency and error), and replays of dead letters:
//! the delivery goes back to PENDING and a new run of the webhook-delivery
//! state machine starts, with the same webhook-id (so a receiver that did
//! get it after all deduplicates it). Through the admin API; `--direct`
//! (break-glass) reads the deliveries table and starts the run itself.

use crate::admin_api::{seg, AdminClient, ApiArgs, ApiError, PageArgs};
use crate::aws::{Aws, AwsArgs, AwsError, Service};
use crate::partners::TableArgs;
use crate::render::Output;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use zb_shared::cost::CostMeter;
use zb_shared::delivery::{Delivery, DeliveryStatus};
use zb_shared::store::{DeliveryStore, StoreError};
use zb_shared::workflow::{SfnStarter, StartError, Started};

#[derive(Debug, thiserror::Error)]
pub enum DeliveriesError {
    #[error(transparent)]
    Table(#[from] crate::partners::PartnersError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Replay(#[from] zb_shared::workflow::ReplayError),
    #[error("{0}")]
    StateMachine(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "delivery {0} of partner {1} does not exist, or was delivered (a delivered notification is not sent again)"
    )]
    NotReplayable(String, String),
    #[error("writing the output: {0}")]
    Output(#[from] serde_json::Error),
    #[error(transparent)]
    Api(#[from] ApiError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Pending,
    Failed,
    Delivered,
    Dead,
}

impl From<StatusArg> for DeliveryStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Pending => Self::Pending,
            StatusArg::Failed => Self::Failed,
            StatusArg::Delivered => Self::Delivered,
            StatusArg::Dead => Self::Dead,
        }
    }
}

impl StatusArg {
    /// As the API's `status` query parameter takes it.
    fn query(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Both subcommands call the admin API with the token of `zb login` (role ops or admin); replays are in \
the audit log.

Break-glass: --direct reads the deliveries table and starts the webhook-delivery state machine itself \
(--stack, --table, --dynamodb-endpoint, --local), bypassing the admin API, its roles and its audit log.")]
pub struct DeliveriesArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Break-glass: use the deliveries table and Step Functions directly, bypassing the admin API, its roles and its audit log
    #[arg(long, global = true)]
    pub direct: bool,
    #[command(flatten)]
    pub tables: TableArgs,
    /// With --direct: the deliveries table [default: found from --stack]
    #[arg(long, global = true, env = "ZB_DELIVERIES_TABLE", value_name = "NAME")]
    pub table: Option<String>,
    #[command(subcommand)]
    pub command: DeliveriesCommand,
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// Deliveries (all, or a partner's), oldest first, with their attempts
    List(ListArgs),
    /// Send dead letters again: one delivery, or all of a partner's since a time
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this partner's deliveries [default: every partner's, by a scan of the table]
    #[arg(long)]
    pub partner: Option<String>,
    #[arg(long, value_enum, ignore_case = true)]
    pub status: Option<StatusArg>,
    /// Only deliveries created at or after this RFC 3339 time
    #[arg(long, value_parser = parse_time)]
    pub since: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["delivery_id", "dead_since"]))]
pub struct ReplayArgs {
    #[arg(long)]
    pub partner: String,
    /// One dead delivery
    pub delivery_id: Option<String>,
    /// Every dead letter of the partner created at or after this RFC 3339 time
    #[arg(long, value_parser = parse_time)]
    pub dead_since: Option<DateTime<Utc>>,
    /// With --direct: the webhook-delivery state machine [default: `<stack>-webhook-delivery`]
    #[arg(long, value_name = "NAME_OR_ARN")]
    pub state_machine: Option<String>,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    zb_shared::time::parse_rfc3339(s).map_err(|_| format!("{s:?} is not an RFC 3339 time like 2026-01-31T00:00:00Z"))
}

fn id_prefix(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y%m%dT%H%M%SZ").to_string()).unwrap_or_default()
}

/// `zb deliveries`: through the admin API, or with `--direct` on the table.
pub async fn run(aws: &AwsArgs, output: Output, args: DeliveriesArgs) -> Result<(), DeliveriesError> {
    if args.direct {
        eprintln!("{}", crate::partners::DIRECT_WARNING);
        run_direct(aws, output, args).await
    } else {
        run_api(aws.local || args.tables.local, output, args).await
    }
}

/// Created at or after `since` (RFC 3339 `createdAt`; kept when unreadable, so nothing is hidden by a format change).
fn created_since(d: &Value, since: Option<DateTime<Utc>>) -> bool {
    match (since, d["createdAt"].as_str().map(zb_shared::time::parse_rfc3339)) {
        (Some(since), Some(Ok(at))) => at >= since,
        _ => true,
    }
}

/// A delivery of the API as the table shows it: attempts counted, the last code.
fn row(d: &Value) -> Value {
    let attempts = d["attempts"].as_array();
    json!({
        "partnerId": d["partnerId"],
        "deliveryId": d["deliveryId"],
        "status": d["status"],
        "attempts": attempts.map_or(0, Vec::len),
        "code": attempts.and_then(|a| a.last()).map(|a| a["statusCode"].clone()),
        "lastError": d["lastError"],
    })
}

const DELIVERY_COLUMNS: &[crate::admin_api::Column] = &[
    ("PARTNER", "/partnerId"),
    ("DELIVERY", "/deliveryId"),
    ("STATUS", "/status"),
    ("ATTEMPTS", "/attempts"),
    ("CODE", "/code"),
    ("LAST ERROR", "/lastError"),
];

fn print_api(output: Output, items: &[Value]) -> Result<(), DeliveriesError> {
    match output {
        Output::Json => crate::admin_api::print_list(output, items, DELIVERY_COLUMNS)?,
        Output::Table => {
            let rows: Vec<Value> = items.iter().map(row).collect();
            crate::admin_api::print_list(output, &rows, DELIVERY_COLUMNS)?
        }
    }
    Ok(())
}

async fn run_api(local: bool, output: Output, args: DeliveriesArgs) -> Result<(), DeliveriesError> {
    let api = AdminClient::connect(&args.api, local).await?;
    match args.command {
        DeliveriesCommand::List(l) => {
            let q = crate::admin_api::query(&[
                ("partnerId", l.partner.clone()),
                ("status", l.status.map(|s| s.query().to_string())),
            ]);
            let page = api.list("/v1/admin/deliveries", &q, &l.page).await?;
            let items: Vec<Value> = page
                .items
                .iter()
                .filter(|d| created_since(d, l.since))
                .cloned()
                .collect();
            print_api(output, &items)?;
            crate::admin_api::note_more(&page);
        }
        DeliveriesCommand::Replay(r) => {
            let ids: Vec<String> = match (&r.delivery_id, r.dead_since) {
                (Some(id), _) => vec![id.clone()],
                (None, since) => {
                    let q = vec![("partnerId", r.partner.clone()), ("status", "dead".to_string())];
                    let all = PageArgs {
                        max: usize::MAX,
                        all: true,
                        cursor: None,
                    };
                    api.list("/v1/admin/deliveries", &q, &all)
                        .await?
                        .items
                        .iter()
                        .filter(|d| created_since(d, since))
                        .filter_map(|d| d["deliveryId"].as_str().map(str::to_string))
                        .collect()
                }
            };
            let mut replayed = Vec::new();
            for id in ids {
                let path = format!("/v1/admin/partners/{}/deliveries/{}/replay", seg(&r.partner), seg(&id));
                let d = api.post(&path, &json!({})).await?;
                eprintln!("replaying {id}");
                replayed.push(d);
            }
            print_api(output, &replayed)?;
        }
    }
    Ok(())
}

async fn run_direct(aws: &AwsArgs, output: Output, args: DeliveriesArgs) -> Result<(), DeliveriesError> {
    let client = args.tables.client(aws).await;
    let table = args
        .tables
        .table(&client, args.table.as_deref(), "DeliveriesTable")
        .await?;
    let store = DeliveryStore::new(client, table);
    let meter = CostMeter::default();
    match args.command {
        DeliveriesCommand::List(l) => {
            let status = l.status.map(Into::into);
            let items = match &l.partner {
                Some(p) => store.list_all(p, status, &id_prefix(l.since), &meter).await?,
                None => store.scan_all(status, &id_prefix(l.since), &meter).await?,
            };
            print(output, &items, l.partner.is_none())?;
        }
        DeliveriesCommand::Replay(r) => {
            let starter = starter(aws, &args.tables, r.state_machine.as_deref()).await?;
            let ids: Vec<String> = match (&r.delivery_id, r.dead_since) {
                (Some(id), _) => vec![id.clone()],
                (None, since) => store
                    .list_all(&r.partner, Some(DeliveryStatus::Dead), &id_prefix(since), &meter)
                    .await?
                    .into_iter()
                    .map(|d| d.delivery_id)
                    .collect(),
            };
            let now = zb_shared::time::format_utc(Utc::now());
            let mut replayed = Vec::new();
            for id in ids {
                let (d, started) =
                    zb_shared::workflow::replay_delivery(&store, &starter, &r.partner, &id, &now, &meter)
                        .await?
                        .ok_or_else(|| DeliveriesError::NotReplayable(id.clone(), r.partner.clone()))?;
                if let Started::New(arn) = &started {
                    eprintln!("replaying {} ({arn})", d.delivery_id);
                }
                replayed.push(d);
            }
            print(output, &replayed, false)?;
        }
    }
    Ok(())
}

/// The webhook-delivery state machine, found like `zb executions` finds the pipeline.
async fn starter(aws: &AwsArgs, tables: &TableArgs, explicit: Option<&str>) -> Result<SfnStarter, DeliveriesError> {
    let loaded = Aws::load(&tables.aws_args(aws)).await;
    let target = loaded.target(Service::StepFunctions);
    let client = aws_sdk_sfn::Client::new(&loaded.config);
    if let Some(arn) = explicit.filter(|a| a.starts_with("arn:")) {
        return Ok(SfnStarter::new(client, arn));
    }
    let wanted = explicit
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}-webhook-delivery", tables.stack));
    let mut token = None;
    loop {
        let out = client
            .list_state_machines()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&target, "ListStateMachines", e))?;
        if let Some(m) = out.state_machines().iter().find(|m| m.name() == wanted) {
            return Ok(SfnStarter::new(client, m.state_machine_arn()));
        }
        token = out.next_token;
        if token.is_none() {
            return Err(DeliveriesError::StateMachine(format!(
                "no state machine named {wanted} at {}; pass --state-machine, and --local for the local cloud",
                target.describe()
            )));
        }
    }
}

/// `with_partner`: a listing across partners shows whose each delivery is.
fn print(output: Output, items: &[Delivery], with_partner: bool) -> Result<(), DeliveriesError> {
    match output {
        Output::Json => {
            let rows: Vec<_> = items.iter().map(Delivery::view).collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        Output::Table => {
            let partner = |p: &str| {
                if with_partner {
                    format!("{p:<24} ")
                } else {
                    String::new()
                }
            };
            println!(
                "{}{:<58} {:<9} {:>8} {:>5}  LAST ERROR",
                partner("PARTNER"),
                "DELIVERY",
                "STATUS",
                "ATTEMPTS",
                "CODE"
            );
            for d in items {
                let last = d.attempts.last();
                println!(
                    "{}{:<58} {:<9} {:>8} {:>5}  {}",
                    partner(&d.partner_id),
                    d.delivery_id,
                    d.status.as_str(),
                    d.attempts.len(),
                    last.and_then(|a| a.status_code)
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into()),
                    d.last_error.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}
