//! `zb cost report|what-if`: what each partner request costs, from the local
//! cloud's logs and histories (the default), from CloudWatch Logs (plus the
//! Step Functions API for Standard histories), or from a file of exported
//! log events. The arithmetic lives in the zb-cost crate; this module only
//! reads the sources and prints.

use crate::aws::{Aws, AwsArgs, AwsError, Service as AwsService, Target};
use crate::source::{Clients, SourceError};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zb_cost::history::{self, HistoryEvent};
use zb_cost::render::{self, Format};
use zb_cost::{ApiKind, Arch, Choices, LogEvent, PriceBook, Topology};

#[derive(Debug, Args)]
pub struct CostArgs {
    #[command(subcommand)]
    pub command: CostCommand,
}

#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// Cost, cost per order and share of the total, per feed, partner and service
    Report(ReportArgs),
    /// The same measured run priced under other choices, per million orders
    WhatIf(WhatIfArgs),
    /// Cost per partner per day, from the stack's hourly roll-up (admin API; roles finance, ops, admin)
    Daily(crate::reports::CostDailyArgs),
    /// One feed's cost by service, from the roll-up (admin API)
    Feed(crate::reports::CostFeedArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// The local cloud's state folder: logs/*.jsonl and executions/*.json
    Local,
    /// CloudWatch Logs (FilterLogEvents) and, for Standard workflows, the Step Functions API
    Cloudwatch,
    /// Files of exported log events (`aws logs filter-log-events` output or JSON lines)
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    Csv,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Where the run's usage is read from
    #[arg(long, value_enum, default_value_t = SourceKind::Local)]
    pub source: SourceKind,
    /// The local cloud's state folder (`zb up` keeps .state/; `zb demo --state-dir DIR` keeps DIR)
    #[arg(long, default_value = ".state")]
    pub state_dir: PathBuf,
    /// A file of exported log events (source file); repeatable
    #[arg(long = "events-file", value_name = "FILE")]
    pub events_files: Vec<PathBuf>,
    /// The log group of exported events that do not name theirs (source file)
    #[arg(long, value_name = "GROUP")]
    pub events_group: Option<String>,
    /// An execution history, `ARN=FILE` with FILE the output of `aws stepfunctions
    /// get-execution-history` (source file); repeatable
    #[arg(long = "history", value_name = "ARN=FILE", value_parser = parse_history_arg)]
    pub histories: Vec<(String, PathBuf)>,
    /// A log group to read (source cloudwatch); repeatable
    /// [default: the stack's function, state machine and API access log groups]
    #[arg(long = "log-group", value_name = "GROUP")]
    pub log_groups: Vec<String>,
    /// Start of the time range, RFC 3339 [default: --since before --end; locally, everything kept]
    #[arg(long)]
    pub start: Option<DateTime<Utc>>,
    /// End of the time range, RFC 3339 [default: now]
    #[arg(long)]
    pub end: Option<DateTime<Utc>>,
    /// How far back from --end to read, e.g. 30m, 1h, 2d [default: 1h from CloudWatch; locally, everything kept]
    #[arg(long, value_parser = crate::executions::parse_since)]
    pub since: Option<Duration>,
    /// Price only this state machine's executions (name or ARN)
    /// [default: the template's state machines of the stack]
    #[arg(long, value_name = "NAME_OR_ARN", conflicts_with = "all_state_machines")]
    pub state_machine: Option<String>,
    /// Price every state machine's executions, also those created through the API outside the template
    #[arg(long)]
    pub all_state_machines: bool,
    /// Stop reading after this many log events (source cloudwatch)
    #[arg(long, default_value_t = 2_000_000)]
    pub max_events: usize,
    /// The repository root (template.yaml, pricing/)
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Stack name: the prefix of the deployed function names
    #[arg(long, default_value = "zb")]
    pub stack: String,
    /// Price list [default: <repo>/pricing/us-east-1.json]
    #[arg(long, value_name = "FILE")]
    pub pricing: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Lambda architecture to price (template.yaml's Architecture; x86_64 by default)
    #[arg(long, default_value = "x86_64", value_parser = parse_choice::<Arch>)]
    pub arch: Arch,
    /// API Gateway type to price
    #[arg(long, default_value = "HTTP", value_parser = parse_choice::<ApiKind>)]
    pub api: ApiKind,
}

#[derive(Debug, Args)]
pub struct WhatIfArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Architecture of the memory-size and REST rows
    #[arg(long, default_value = "x86_64", value_parser = parse_choice::<Arch>)]
    pub arch: Arch,
    /// Lambda memory sizes to reprice at, in MB
    #[arg(long, value_delimiter = ',', default_value = "128,256,512,1024",
          value_parser = clap::value_parser!(u32).range(128..=10_240))]
    pub memory: Vec<u32>,
}

fn parse_choice<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| e.to_string())
}

fn parse_history_arg(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((arn, file)) if arn.starts_with("arn:") && !file.is_empty() => Ok((arn.to_string(), PathBuf::from(file))),
        _ => Err(format!(
            "expected ARN=FILE (an execution ARN, then the history file), got {s:?}"
        )),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error(transparent)]
    Template(#[from] zb_local::template::TemplateError),
    #[error(transparent)]
    Pricing(#[from] zb_cost::PricingError),
    #[error("{path}: {detail}")]
    File { path: String, detail: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error("cannot write the output: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Usage(String),
    #[error("no usage found: {0}")]
    Empty(String),
}

impl CostError {
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

fn file_error(path: &Path, detail: impl std::fmt::Display) -> CostError {
    CostError::File {
        path: path.display().to_string(),
        detail: detail.to_string(),
    }
}

/// What template.yaml says costing needs: the API route functions, the
/// state machine's definition size and names for the default log groups.
struct Deployment {
    topology: Topology,
    functions: Vec<String>,
    state_machines: Vec<String>,
}

fn deployment(s: &SourceArgs) -> Result<Deployment, CostError> {
    let model = zb_local::template::load(&s.repo.join("template.yaml"), &s.stack, &BTreeMap::new())?;
    let api_functions = model
        .http_apis
        .iter()
        .flat_map(|a| a.routes.iter().map(|r| r.function.clone()))
        .collect();
    let definition_bytes = model
        .state_machines
        .iter()
        .map(|m| m.definition.len() as u64)
        .max()
        .unwrap_or(0);
    Ok(Deployment {
        topology: Topology {
            api_functions,
            definition_bytes,
        },
        functions: model.functions.iter().map(|f| f.name.clone()).collect(),
        state_machines: model.state_machines.iter().map(|m| m.name.clone()).collect(),
    })
}

type Histories = Vec<(String, Vec<HistoryEvent>)>;

/// How far back CloudWatch is read without --since or --start.
const DEFAULT_CLOUDWATCH_SINCE: Duration = Duration::from_secs(3600);

/// The time window asked for: (start, end). Without --start or --since the
/// start is `default_since` before the end, or open (None: everything kept).
fn window(
    s: &SourceArgs,
    default_since: Option<Duration>,
) -> Result<(Option<DateTime<Utc>>, DateTime<Utc>), CostError> {
    let end = s.end.unwrap_or_else(Utc::now);
    let start = match (s.start, s.since.or(default_since)) {
        (Some(t), _) => Some(t),
        // Capped at the epoch: `--since 999999999d` reads everything instead of overflowing.
        (None, Some(since)) => Some(crate::executions::since_start(end, since)),
        (None, None) => None,
    };
    if let Some(start) = start {
        if start >= end {
            return Err(CostError::Usage(format!("--start {start} is not before --end {end}")));
        }
    }
    Ok((start, end))
}

/// The state machine an execution ARN names:
/// `arn:aws:states:<region>:<account>:execution|express:<machine>:<name>[:<id>]`.
fn machine_of(execution_arn: &str) -> &str {
    execution_arn.split(':').nth(6).unwrap_or_default()
}

/// Which state machines' executions are priced: None for all of them.
fn machines_priced(s: &SourceArgs, d: &Deployment) -> Option<Vec<String>> {
    if s.all_state_machines {
        return None;
    }
    match &s.state_machine {
        // An ARN names its machine in the seventh field.
        Some(m) if m.starts_with("arn:") => Some(vec![m.split(':').nth(6).unwrap_or(m).to_string()]),
        Some(m) => Some(vec![m.clone()]),
        None => Some(d.state_machines.clone()),
    }
}

/// Keeps what a local run read within the window and of the machines priced:
/// log events by time (and a state machine's lines by the machine their
/// execution ARN names), histories by their start.
fn scope_local(
    events: Vec<LogEvent>,
    histories: Histories,
    start: Option<DateTime<Utc>>,
    end: DateTime<Utc>,
    machines: Option<&[String]>,
) -> (Vec<LogEvent>, Histories) {
    let in_window = |ms: i64| start.is_none_or(|t| ms >= t.timestamp_millis()) && ms <= end.timestamp_millis();
    let wanted = |arn: &str| machines.is_none_or(|m| m.iter().any(|name| name == machine_of(arn)));
    let events = events
        .into_iter()
        .filter(|e| in_window(e.timestamp))
        .filter(|e| {
            // A state machine's log line names its execution; anything else is kept.
            serde_json::from_str::<Value>(&e.message)
                .ok()
                .and_then(|v| v.get("execution_arn").and_then(Value::as_str).map(wanted))
                .unwrap_or(true)
        })
        .collect();
    let histories = histories
        .into_iter()
        .filter(|(arn, evs)| wanted(arn) && evs.first().is_none_or(|e| in_window(e.timestamp_ms)))
        .collect();
    (events, histories)
}

/// The local cloud's logs and execution files.
fn read_local(state_dir: &Path) -> Result<(Vec<LogEvent>, Histories), CostError> {
    let events: Vec<LogEvent> = zb_local::logs::read(state_dir, None)
        .map_err(|e| file_error(&zb_local::logs::dir(state_dir), e))?
        .into_iter()
        .map(LogEvent::from)
        .collect();
    if events.is_empty() {
        return Err(CostError::Empty(format!(
            "{} holds no function logs; run the local cloud with this state folder first (`zb up`, or `zb demo \
             --state-dir {}`)",
            zb_local::logs::dir(state_dir).display(),
            state_dir.display()
        )));
    }
    let mut histories = Vec::new();
    let dir = state_dir.join("executions");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((events, histories)),
        Err(e) => return Err(file_error(&dir, e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, e))?;
        let record: zb_local::sfn::ExecutionRecord =
            serde_json::from_str(&text).map_err(|e| file_error(&path, format!("not an execution record: {e}")))?;
        let events = history::events_from_api_json(&record.history).map_err(|e| file_error(&path, e))?;
        histories.push((record.execution_arn, events));
    }
    Ok((events, histories))
}

/// Exported events and histories from files.
fn read_files(s: &SourceArgs) -> Result<(Vec<LogEvent>, Histories), CostError> {
    if s.events_files.is_empty() {
        return Err(CostError::Usage(
            "--source file needs at least one --events-file".into(),
        ));
    }
    let mut events = Vec::new();
    for path in &s.events_files {
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        events.extend(zb_cost::logs::parse_export(&text, s.events_group.as_deref()).map_err(|e| file_error(path, e))?);
    }
    let mut histories = Vec::new();
    for (arn, path) in &s.histories {
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| file_error(path, e))?;
        let list = v
            .get("events")
            .and_then(Value::as_array)
            .ok_or_else(|| file_error(path, "not GetExecutionHistory output: no \"events\" array"))?;
        let evs = history::events_from_api_json(list).map_err(|e| file_error(path, e))?;
        histories.push((arn.clone(), evs));
    }
    Ok((events, histories))
}

/// CloudWatch Logs through the SDK, and Standard histories through the API.
async fn read_cloudwatch(
    aws_args: &AwsArgs,
    s: &SourceArgs,
    d: &Deployment,
    warnings: &mut Vec<String>,
) -> Result<(Vec<LogEvent>, Histories), CostError> {
    let (start, end) = window(s, Some(DEFAULT_CLOUDWATCH_SINCE))?;
    let start = start.unwrap_or(DateTime::<Utc>::MIN_UTC);
    let groups: Vec<String> = if s.log_groups.is_empty() {
        d.functions
            .iter()
            .map(|f| format!("/aws/lambda/{f}"))
            .chain(d.state_machines.iter().map(|m| format!("/aws/vendedlogs/states/{m}")))
            .chain([format!("/aws/vendedlogs/apigateway/{}-partner-api", s.stack)])
            .collect()
    } else {
        s.log_groups.clone()
    };
    let aws = Aws::load(aws_args).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&aws.config);
    let target = aws.target(AwsService::CloudWatchLogs);
    let mut events = Vec::new();
    for group in &groups {
        let left = s.max_events.saturating_sub(events.len());
        match read_group(&logs, &target, group, start, end, left).await {
            Ok((mut got, truncated)) => {
                if truncated {
                    warnings.push(format!(
                        "stopped after {} events (--max-events); narrow the time range",
                        s.max_events
                    ));
                }
                events.append(&mut got);
            }
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                warnings.push(format!("log group {group} does not exist; skipped"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let histories = standard_histories(&aws, s, d, start, end, warnings).await?;
    Ok((events, histories))
}

/// One log group, every page within [start, end], at most `max` events.
async fn read_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    target: &Target,
    group: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    max: usize,
) -> Result<(Vec<LogEvent>, bool), AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start.timestamp_millis())
            .end_time(end.timestamp_millis())
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(target, "FilterLogEvents", e))?;
        for e in page.events() {
            if out.len() >= max {
                return Ok((out, true));
            }
            out.push(LogEvent {
                log_group_name: group.to_string(),
                log_stream_name: e.log_stream_name().unwrap_or_default().to_string(),
                timestamp: e.timestamp().unwrap_or_default(),
                message: e.message().unwrap_or_default().to_string(),
                ingestion_time: e.ingestion_time(),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok((out, false)),
        }
    }
}

/// Standard executions keep a history the API serves; Express ones do not
/// (their log group, read above, stands in).
async fn standard_histories(
    aws: &Aws,
    s: &SourceArgs,
    d: &Deployment,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    warnings: &mut Vec<String>,
) -> Result<Histories, CostError> {
    const MAX_EXECUTIONS: usize = 10_000;
    let clients = Clients::new(aws);
    let wanted = s.state_machine.clone().or_else(|| d.state_machines.first().cloned());
    let Some(wanted) = wanted else {
        return Ok(Vec::new());
    };
    let arn = if wanted.starts_with("arn:") {
        wanted.clone()
    } else {
        match clients
            .list_state_machines()
            .await?
            .into_iter()
            .find(|(name, _)| *name == wanted)
        {
            Some((_, arn)) => arn,
            None => {
                warnings.push(format!(
                    "no state machine {wanted}: no execution histories read (pass --state-machine)"
                ));
                return Ok(Vec::new());
            }
        }
    };
    let machine = clients.describe_state_machine(&arn).await?;
    if machine.express {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let listed = clients.list_executions(&arn, None, MAX_EXECUTIONS).await?;
    if listed.len() == MAX_EXECUTIONS {
        warnings.push(format!(
            "read the newest {MAX_EXECUTIONS} executions only; narrow the time range"
        ));
    }
    for x in listed {
        if x.started.is_none_or(|t| t < start || t > end) {
            continue;
        }
        let events = clients.execution_history(&x.execution_arn).await?;
        let converted = events
            .iter()
            .map(|e| {
                let details = json!({"input": e.details.input, "output": e.details.output});
                // The log line's size is estimated from what the event carries.
                let bytes =
                    serde_json::to_string(&details).map_or(0, |t| t.len() as u64) + e.event_type.len() as u64 + 64;
                history::event(e.timestamp.timestamp_millis(), &e.event_type, Some(&details), bytes)
            })
            .collect();
        out.push((x.execution_arn.clone(), converted));
    }
    Ok(out)
}

fn price_book(s: &SourceArgs) -> Result<PriceBook, CostError> {
    let path = s
        .pricing
        .clone()
        .unwrap_or_else(|| s.repo.join("pricing").join("us-east-1.json"));
    Ok(PriceBook::load(&path)?)
}

async fn usage(aws: &AwsArgs, s: &SourceArgs) -> Result<(zb_cost::Usage, Deployment), CostError> {
    let d = deployment(s)?;
    let mut warnings = Vec::new();
    let (events, histories) = match s.source {
        SourceKind::Local => {
            let (events, histories) = read_local(&s.state_dir)?;
            let (start, end) = window(s, None)?;
            let (events, histories) = scope_local(events, histories, start, end, machines_priced(s, &d).as_deref());
            if events.is_empty() {
                return Err(CostError::Empty(format!(
                    "no function log in {} within the time window asked for",
                    s.state_dir.display()
                )));
            }
            (events, histories)
        }
        SourceKind::File => read_files(s)?,
        SourceKind::Cloudwatch => read_cloudwatch(aws, s, &d, &mut warnings).await?,
    };
    let mut usage = zb_cost::collect(&events, histories, &d.topology);
    let known: Vec<&String> = d.functions.iter().collect();
    let any_known = usage
        .feeds
        .iter()
        .chain([&usage.unattributed])
        .flat_map(|f| &f.lambda)
        .any(|l| known.contains(&&l.function));
    if !any_known && !events.is_empty() {
        warnings.push(format!(
            "no invocation of the stack {}'s functions was read; pass --stack if the functions are named \
             <stack>-<function>",
            s.stack
        ));
    }
    usage.warnings.extend(warnings);
    Ok((usage, d))
}

fn emit(text: &str) -> Result<(), CostError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub async fn run(aws: &AwsArgs, args: CostArgs) -> Result<(), CostError> {
    match args.command {
        CostCommand::Report(a) => {
            let book = price_book(&a.source)?;
            let (usage, d) = usage(aws, &a.source).await?;
            let choices = Choices {
                arch: a.arch,
                workflow: None,
                memory_mb: None,
                api: a.api,
            };
            let report = zb_cost::report::build(&usage, &book, &choices, d.topology.definition_bytes);
            emit(&render::report(&report, a.source.format.into())?)
        }
        CostCommand::WhatIf(a) => {
            let book = price_book(&a.source)?;
            let (usage, d) = usage(aws, &a.source).await?;
            if usage.feeds.iter().all(|f| f.orders == 0) {
                return Err(CostError::Empty(
                    "no feed with orders in the run read; what-if prices per million orders".into(),
                ));
            }
            let scenarios = zb_cost::whatif::default_scenarios(a.arch, &a.memory);
            let w = zb_cost::whatif::what_if(&usage, &book, &scenarios, d.topology.definition_bytes);
            for warning in &usage.warnings {
                eprintln!("zb: warning: {warning}");
            }
            emit(&render::what_if(&w, a.source.format.into())?)
        }
        // main sends these to the admin API (crate::reports) before calling here.
        CostCommand::Daily(_) | CostCommand::Feed(_) => {
            Err(CostError::Usage("`zb cost daily|feed` go through the admin API".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(subcommand)]
        command: CostCommand,
    }

    fn parse(args: &[&str]) -> Result<CostCommand, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("cost").chain(args.iter().copied())).map(|w| w.command)
    }

    #[test]
    fn parses_the_documented_forms() {
        let CostCommand::Report(r) = parse(&["report", "--format", "json", "--state-dir", "/tmp/s"]).unwrap() else {
            panic!("report")
        };
        assert_eq!(r.source.source, SourceKind::Local);
        assert_eq!(r.source.format, FormatArg::Json);
        assert_eq!(r.source.state_dir, PathBuf::from("/tmp/s"));
        assert_eq!((r.arch, r.api), (Arch::X86_64, ApiKind::Http));

        let CostCommand::Report(r) = parse(&[
            "report",
            "--source",
            "cloudwatch",
            "--log-group",
            "/aws/lambda/zb-ingest",
            "--log-group",
            "/aws/vendedlogs/states/zb-order-pipeline",
            "--start",
            "2026-11-25T00:00:00Z",
            "--end",
            "2026-11-25T01:00:00Z",
            "--arch",
            "arm64",
            "--format",
            "csv",
        ])
        .unwrap() else {
            panic!("report")
        };
        assert_eq!(r.source.log_groups.len(), 2);
        assert_eq!(r.arch, Arch::Arm64);
        assert!(r.source.start.unwrap() < r.source.end.unwrap());

        let CostCommand::Report(r) = parse(&[
            "report",
            "--source",
            "file",
            "--events-file",
            "export.json",
            "--history",
            "arn:aws:states:us-east-1:1:execution:sm:e1=h1.json",
        ])
        .unwrap() else {
            panic!("report")
        };
        assert_eq!(
            r.source.histories,
            vec![(
                "arn:aws:states:us-east-1:1:execution:sm:e1".to_string(),
                PathBuf::from("h1.json")
            )]
        );

        let CostCommand::WhatIf(w) = parse(&["what-if", "--memory", "128,512,2048"]).unwrap() else {
            panic!("what-if")
        };
        assert_eq!(w.memory, vec![128, 512, 2048]);
    }

    #[test]
    fn rejects_bad_values_with_the_allowed_ones() {
        for argv in [
            &["report", "--arch", "sparc"][..],
            &["report", "--api", "grpc"],
            &["report", "--format", "xml"],
            &["report", "--source", "s3"],
            &["report", "--history", "h1.json"],
            &["report", "--start", "yesterday"],
            &["what-if", "--memory", "64"],
        ] {
            assert!(parse(argv).is_err(), "{argv:?}");
        }
        let e = parse(&["report", "--arch", "sparc"]).unwrap_err().to_string();
        assert!(e.contains("x86_64, arm64"), "{e}");
    }

    #[test]
    fn local_runs_are_scoped_to_the_window_and_the_pipeline_machines() {
        let ev = |ms: i64, message: &str| LogEvent {
            log_group_name: "/aws/lambda/zb-ingest".into(),
            log_stream_name: "s".into(),
            timestamp: ms,
            message: message.into(),
            ingestion_time: None,
        };
        let pipeline = "arn:aws:states:us-east-1:0:express:zb-order-pipeline:e1:e1";
        let other = "arn:aws:states:us-east-1:0:execution:scratch:x";
        let sfn_line = |arn: &str| format!(r#"{{"type":"ExecutionStarted","execution_arn":"{arn}"}}"#);
        let events = vec![
            ev(1_000, "START RequestId: old"),
            ev(5_000, "START RequestId: new"),
            ev(5_001, &sfn_line(pipeline)),
            ev(5_002, &sfn_line(other)),
        ];
        let h = |arn: &str, ms: i64| (arn.to_string(), vec![history::event(ms, "ExecutionStarted", None, 10)]);
        let histories = vec![h(pipeline, 5_000), h(other, 5_000), h(pipeline, 1_000)];
        let at = |ms: i64| chrono::TimeZone::timestamp_millis_opt(&Utc, ms).single();
        let machines = vec!["zb-order-pipeline".to_string()];
        let (e, hs) = scope_local(
            events.clone(),
            histories.clone(),
            at(2_000),
            at(9_000).unwrap(),
            Some(&machines),
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(hs.len(), 1);
        assert_eq!(hs[0].0, pipeline);
        let (e, hs) = scope_local(events, histories, None, at(9_000).unwrap(), None);
        assert_eq!((e.len(), hs.len()), (4, 3));
        assert_eq!(machine_of(other), "scratch");
        let CostCommand::Report(r) = parse(&["report", "--since", "10m", "--all-state-machines"]).unwrap() else {
            panic!("report")
        };
        assert!(r.source.all_state_machines);
        assert_eq!(r.source.since, Some(Duration::from_secs(600)));
        assert!(parse(&["report", "--state-machine", "x", "--all-state-machines"]).is_err());
    }

    #[test]
    fn an_empty_state_folder_says_what_to_run() {
        let dir = std::env::temp_dir().join(format!("zb-cost-empty-{}", std::process::id()));
        let e = read_local(&dir).unwrap_err();
        assert!(matches!(e, CostError::Empty(_)), "{e}");
        assert!(e.to_string().contains("zb demo --state-dir"), "{e}");
    }
}
