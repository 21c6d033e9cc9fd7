//! `zb executions list|show|watch`: the order pipeline's Step Functions
//! executions, from the Step Functions API (Standard) or, for Express
//! workflows (which keep no history the API can return, on AWS as on the
//! local cloud), from the state machine's CloudWatch Logs group. Both sources end in the same model (history.rs)
//! and the same output (render.rs).

use crate::aws::{Aws, AwsArgs, AwsError};
use crate::feed_record::{self, looks_like_feed_id};
use crate::history::{
    feed_of_input, fold_history, summaries_from_log_events, ExecutionDetail, ExecutionStatus, ExecutionSummary,
    FeedView, HistoryError, HistorySource,
};
use crate::partners::TableArgs;
use crate::render::{self, Output, RenderError, Style};
use crate::source::{execution_pattern, Clients, LogRead, Machine, SourceError, EXECUTION_EVENTS_PATTERN};
use crate::watch::Tracker;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Upper bounds on what one command reads from a log group.
const LIST_EVENT_CAP: usize = 20_000;
const SHOW_EVENT_CAP: usize = 10_000;
/// Executions `watch` remembers (it forgets the oldest beyond this).
const WATCH_MEMORY: usize = 1_000;
/// Executions `watch` lists per poll, and looks up directly when they fall off that page.
const WATCH_PAGE: usize = 100;
const WATCH_DESCRIBE_CAP: usize = 20;
/// The longest `watch --max-seconds`: a year.
const MAX_WATCH_SECONDS: u64 = 365 * 86_400;
/// Executions `show <feedId>` describes to find a Standard feed's executions.
const FEED_DESCRIBE_CAP: usize = 200;
/// How far back `watch` re-reads a log group each poll: log delivery lags,
/// so lines can land after later ones were already read.
const WATCH_LOG_LOOKBACK: Duration = Duration::from_secs(120);

#[derive(Debug, Args)]
pub struct ExecutionsArgs {
    /// State machine name or ARN [default: the one whose name ends with "order-pipeline", else the only one]
    #[arg(
        long,
        global = true,
        env = "ZB_STATE_MACHINE",
        hide_env_values = true,
        value_name = "NAME_OR_ARN"
    )]
    pub state_machine: Option<String>,
    /// How far back to read the log group of an Express workflow on AWS (e.g. 30m, 1h, 2d)
    #[arg(long, global = true, value_name = "DURATION", default_value = "1h", value_parser = parse_since)]
    pub since: Duration,
    /// Stack name, to find the feeds table `show <feedId>` reads
    /// [default: from the state machine's name, `<stack>-order-pipeline`]
    #[arg(long, global = true, env = "ZB_STACK", hide_env_values = true)]
    pub stack: Option<String>,
    /// DynamoDB endpoint of the feeds table, e.g. the local cloud's http://127.0.0.1:8000
    /// [default: AWS_ENDPOINT_URL_DYNAMODB, then AWS]
    #[arg(long, global = true, env = "ZB_DYNAMODB_ENDPOINT", value_name = "URL")]
    pub dynamodb_endpoint: Option<String>,
    /// The global --local (zb --local: DynamoDB at http://127.0.0.1:8000), set by main.
    #[arg(skip)]
    pub local: bool,
    /// The feeds table [default: found from --stack]
    #[arg(long, global = true, env = "ZB_FEEDS_TABLE", value_name = "NAME")]
    pub feeds_table: Option<String>,
    #[command(subcommand)]
    pub command: ExecutionsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExecutionsCommand {
    /// List recent executions, newest first
    List(ListArgs),
    /// Show one execution state by state: input, output, error, retries, duration
    Show(ShowArgs),
    /// Print executions as they start and end, until Ctrl-C
    Watch(WatchArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only executions with this status
    #[arg(long, value_enum, ignore_case = true)]
    pub status: Option<StatusArg>,
    /// At most this many executions
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max: u32,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Execution ARN, execution name, or feed id (the feed's record and its executions)
    #[arg(value_name = "EXECUTION_OR_FEED_ID")]
    pub id: String,
    /// The feed's partner: reads the feed record by its key instead of scanning for it
    #[arg(long, value_name = "PARTNER_ID")]
    pub partner: Option<String>,
    /// Print inputs, outputs and causes whole instead of cutting them at 160 characters
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Time between two polls
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(100..=86_400_000))]
    pub interval_ms: u64,
    /// Stop after this many seconds [default: run until Ctrl-C]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_WATCH_SECONDS))]
    pub max_seconds: Option<u64>,
}

/// ListExecutions' statusFilter values, spelled as the API spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    #[value(name = "RUNNING")]
    Running,
    #[value(name = "SUCCEEDED")]
    Succeeded,
    #[value(name = "FAILED")]
    Failed,
    #[value(name = "TIMED_OUT")]
    TimedOut,
    #[value(name = "ABORTED")]
    Aborted,
}

impl From<StatusArg> for ExecutionStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Running => Self::Running,
            StatusArg::Succeeded => Self::Succeeded,
            StatusArg::Failed => Self::Failed,
            StatusArg::TimedOut => Self::TimedOut,
            StatusArg::Aborted => Self::Aborted,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("cannot write the output: {0}")]
    Io(#[from] std::io::Error),
    #[error("no state machines in {0}; is the stack deployed (or `make run` running) and is the region right?")]
    NoStateMachines(String),
    #[error("no state machine named {wanted}; there are: {found}")]
    UnknownStateMachine { wanted: String, found: String },
    #[error("cannot tell which state machine to use; pass --state-machine (or set ZB_STATE_MACHINE) to one of: {0}")]
    AmbiguousStateMachine(String),
    #[error("no execution {id} of {machine}{hint}")]
    ExecutionNotFound { id: String, machine: String, hint: String },
    #[error(
        "{0} is an EXPRESS state machine: AWS keeps no execution history for it, and it logs to no CloudWatch \
         Logs group; enable its logging (level ALL, include execution data) to inspect executions"
    )]
    NoLogGroup(String),
}

impl From<SourceError> for ExecError {
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::Aws(e) => Self::Aws(e),
            SourceError::History(e) => Self::History(e),
        }
    }
}

impl ExecError {
    /// `zb executions list | head`: the reader went away, nothing went wrong.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// `30m`, `1h`, `2d`, `90s`.
pub fn parse_since(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30m, 1h or 2d"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{s:?} is not a duration like 30m, 1h or 2d (units: s, m, h, d)"
            ))
        }
    };
    match n.checked_mul(secs) {
        Some(total) if total > 0 => Ok(Duration::from_secs(total)),
        _ => Err(format!("{s:?} must be greater than zero and reasonable")),
    }
}

/// The start of a window `since` long that ends at `end`, never before the
/// epoch: a --since longer than the time since 1970 (`999999999d`) reads
/// everything instead of overflowing the date.
pub fn since_start(end: DateTime<Utc>, since: Duration) -> DateTime<Utc> {
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    chrono::Duration::from_std(since)
        .ok()
        .and_then(|back| end.checked_sub_signed(back))
        .filter(|start| *start > epoch)
        .unwrap_or(epoch)
}

/// Chooses the state machine: an ARN as given, a name exactly, else the one
/// whose name ends with "order-pipeline" (the stack names it
/// `<stack>-order-pipeline`), else the only one.
pub fn pick_state_machine(machines: &[(String, String)], wanted: Option<&str>) -> Result<(String, String), ExecError> {
    let names = || machines.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
    if let Some(w) = wanted {
        return machines.iter().find(|(n, a)| n == w || a == w).cloned().ok_or_else(|| {
            ExecError::UnknownStateMachine {
                wanted: w.to_string(),
                found: names(),
            }
        });
    }
    let pipelines: Vec<&(String, String)> = machines.iter().filter(|(n, _)| n.ends_with("order-pipeline")).collect();
    match (pipelines.as_slice(), machines) {
        ([one], _) => Ok((*one).clone()),
        ([], [only]) => Ok(only.clone()),
        _ => Err(ExecError::AmbiguousStateMachine(names())),
    }
}

fn is_arn(s: &str) -> bool {
    s.starts_with("arn:")
}

/// The ARN an execution named `name` gets: `...:stateMachine:<m>` ->
/// `...:execution:<m>:<name>` (`express` for Express: the local cloud's shape;
/// AWS adds an id to those, which is why Express on AWS is looked up by name).
pub fn execution_arn_for(machine_arn: &str, express: bool, name: &str) -> Option<String> {
    let mut parts: Vec<&str> = machine_arn.split(':').collect();
    if parts.len() != 7 || parts[5] != "stateMachine" {
        return None;
    }
    parts[5] = if express { "express" } else { "execution" };
    Some(format!("{}:{name}", parts.join(":")))
}

/// Where executions are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Backend {
    Api,
    Logs(String),
}

fn log_group(machine: &Machine) -> Result<String, ExecError> {
    machine
        .log_group
        .clone()
        .ok_or_else(|| ExecError::NoLogGroup(machine.name.clone()))
}

/// An API refusing an Express state machine (AWS answers
/// StateMachineTypeNotSupported): read the log group instead.
fn is_express_refusal(machine: &Machine, e: &AwsError) -> bool {
    match e {
        AwsError::Service { code, message, .. } => {
            code == "StateMachineTypeNotSupported"
                || (machine.express && message.to_ascii_lowercase().contains("express"))
        }
        _ => false,
    }
}

struct Ctx {
    clients: Clients,
    machine: Machine,
    since: Duration,
    output: Output,
    aws_args: AwsArgs,
    tables: TableArgs,
    feeds_table: Option<String>,
}

impl Ctx {
    fn window(&self, since: Duration) -> (DateTime<Utc>, DateTime<Utc>) {
        let end = Utc::now();
        (since_start(end, since), end)
    }

    fn warn_about(&self, read: &LogRead, group: &str) {
        if read.truncated {
            eprintln!(
                "zb: warning: stopped reading {group} after {} events; narrow --since to see the newest",
                read.events.len()
            );
        }
        if read.skipped > 0 {
            eprintln!(
                "zb: warning: skipped {} lines of {group} that are not Step Functions events",
                read.skipped
            );
        }
    }
}

fn emit(text: &str) -> Result<(), ExecError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub async fn run(aws_args: &AwsArgs, output: Output, args: ExecutionsArgs) -> Result<(), ExecError> {
    let aws = Aws::load(aws_args).await;
    let clients = Clients::new(&aws);
    let arn = match args.state_machine.as_deref() {
        Some(a) if is_arn(a) => a.to_string(),
        wanted => {
            let machines = clients.list_state_machines().await?;
            if machines.is_empty() {
                return Err(ExecError::NoStateMachines(clients.sfn_target.describe()));
            }
            pick_state_machine(&machines, wanted)?.1
        }
    };
    let machine = clients.describe_state_machine(&arn).await?;
    // AWS serves no execution API for Express (nor does the local cloud): its log group is the source.
    let backend = if machine.express {
        Backend::Logs(log_group(&machine)?)
    } else {
        Backend::Api
    };
    // The stack names the machine `<stack>-order-pipeline`.
    let stack = args.stack.clone().unwrap_or_else(|| {
        machine
            .name
            .strip_suffix("-order-pipeline")
            .filter(|s| !s.is_empty())
            .unwrap_or("zb")
            .to_string()
    });
    let ctx = Ctx {
        clients,
        machine,
        since: args.since,
        output,
        aws_args: aws_args.clone(),
        tables: TableArgs {
            stack,
            dynamodb_endpoint: args.dynamodb_endpoint.clone(),
            local: args.local,
        },
        feeds_table: args.feeds_table.clone(),
    };
    match args.command {
        ExecutionsCommand::List(a) => list(&ctx, backend, a).await,
        ExecutionsCommand::Show(a) => show(&ctx, backend, a).await,
        ExecutionsCommand::Watch(a) => watch(&ctx, backend, a).await,
    }
}

fn style(full: bool) -> Style {
    let no_color = std::env::var("NO_COLOR").ok();
    Style::detect(std::io::stdout().is_terminal(), no_color.as_deref(), full)
}

async fn list(ctx: &Ctx, backend: Backend, a: ListArgs) -> Result<(), ExecError> {
    let status = a.status.map(ExecutionStatus::from);
    let max = a.max as usize;
    let rows = match backend {
        Backend::Api => match ctx.clients.list_executions(&ctx.machine.arn, status, max).await {
            Ok(rows) => rows,
            Err(e) if is_express_refusal(&ctx.machine, &e) => {
                list_from_logs(ctx, &log_group(&ctx.machine)?, status, max).await?
            }
            Err(e) => return Err(e.into()),
        },
        Backend::Logs(group) => list_from_logs(ctx, &group, status, max).await?,
    };
    let text = match ctx.output {
        Output::Table => render::executions_table(&rows, &style(false)),
        Output::Json => render::to_json(&rows)?,
    };
    emit(&text)
}

async fn list_from_logs(
    ctx: &Ctx,
    group: &str,
    status: Option<ExecutionStatus>,
    max: usize,
) -> Result<Vec<ExecutionSummary>, ExecError> {
    let read = execution_events(ctx, group).await?;
    let mut rows = summaries_from_log_events(read.events);
    rows.retain(|r| status.is_none_or(|s| r.status == s));
    rows.truncate(max);
    Ok(rows)
}

async fn show(ctx: &Ctx, backend: Backend, a: ShowArgs) -> Result<(), ExecError> {
    let detail = match show_execution(ctx, backend.clone(), &a.id).await {
        // Not an execution's name: a feed id names the feed's record and executions.
        Err(ExecError::ExecutionNotFound { .. }) if !is_arn(&a.id) && looks_like_feed_id(&a.id) => {
            let view = show_feed(ctx, backend, &a.id, a.partner.as_deref()).await?;
            let text = match ctx.output {
                Output::Table => render::feed_view(&view, &style(a.full)),
                Output::Json => render::to_json(&view)?,
            };
            return emit(&text);
        }
        other => other?,
    };
    let text = match ctx.output {
        Output::Table => render::execution_detail(&detail, &style(a.full)),
        Output::Json => render::to_json(&detail)?,
    };
    emit(&text)
}

/// One execution by ARN or name.
async fn show_execution(ctx: &Ctx, backend: Backend, id: &str) -> Result<ExecutionDetail, ExecError> {
    Ok(match backend {
        Backend::Api => match show_from_api(ctx, id).await {
            Err(ExecError::Aws(e)) if is_express_refusal(&ctx.machine, &e) => {
                show_from_logs(ctx, &log_group(&ctx.machine)?, id).await?
            }
            // An endpoint that lists Express executions it does not describe: its log group may know.
            Err(ExecError::ExecutionNotFound { .. }) if ctx.machine.express && ctx.machine.log_group.is_some() => {
                show_from_logs(ctx, &log_group(&ctx.machine)?, id).await?
            }
            other => other?,
        },
        Backend::Logs(group) => show_from_logs(ctx, &group, id).await?,
    })
}

/// The executions whose input names feed `feed_id`, newest first, and the
/// partner that input names.
struct FeedExecutions {
    rows: Vec<ExecutionSummary>,
    partner: Option<String>,
    notes: Vec<String>,
}

/// `show <feedId>`: the feed's record, and its executions (found through
/// their input, which names the feed), the newest state by state.
async fn show_feed(ctx: &Ctx, backend: Backend, feed_id: &str, partner: Option<&str>) -> Result<FeedView, ExecError> {
    let found = match &backend {
        Backend::Api => match feed_executions_from_api(ctx, feed_id).await {
            Err(ExecError::Aws(e)) if is_express_refusal(&ctx.machine, &e) => {
                feed_executions_from_logs(ctx, &log_group(&ctx.machine)?, feed_id).await?
            }
            other => other?,
        },
        Backend::Logs(group) => feed_executions_from_logs(ctx, group, feed_id).await?,
    };
    let partner = partner.map(str::to_string).or(found.partner.clone());
    let (feed, feed_error) = match feed_record::read(
        &ctx.aws_args,
        &ctx.tables,
        ctx.feeds_table.as_deref(),
        partner.as_deref(),
        feed_id,
    )
    .await
    {
        Ok(f) => (f, None),
        Err(e) => (None, Some(e)),
    };
    let execution = match found.rows.first() {
        Some(newest) => Some(show_execution(ctx, backend, &newest.execution_arn).await?),
        None => None,
    };
    if feed.is_none() && execution.is_none() {
        let why = feed_error.map(|e| format!("; {e}")).unwrap_or_default();
        let notes = found.notes.iter().map(|n| format!("; {n}")).collect::<String>();
        return Err(not_found(
            ctx,
            feed_id,
            format!(
                " in the last {} and no feed {feed_id} in the feeds table{why}{notes}",
                humantime(ctx.since)
            ),
        ));
    }
    Ok(FeedView {
        feed_id: feed_id.to_string(),
        feed,
        feed_error,
        executions: found.rows,
        execution,
        notes: found.notes,
    })
}

/// The execution-level events of an Express machine's log group in the
/// `--since` window, with a warning when the read stopped at its cap.
async fn execution_events(ctx: &Ctx, group: &str) -> Result<LogRead, ExecError> {
    let (start, end) = ctx.window(ctx.since);
    let read = ctx
        .clients
        .read_log_group(group, EXECUTION_EVENTS_PATTERN, start, end, LIST_EVENT_CAP)
        .await?;
    ctx.warn_about(&read, group);
    Ok(read)
}

/// Express: the ExecutionStarted lines of the log group carry the input
/// (with IncludeExecutionData true, at level ALL), which names the feed.
async fn feed_executions_from_logs(ctx: &Ctx, group: &str, feed_id: &str) -> Result<FeedExecutions, ExecError> {
    let read = execution_events(ctx, group).await?;
    let mut arns = Vec::new();
    let mut partner = None;
    let (mut starts, mut with_input) = (0usize, 0usize);
    for e in &read.events {
        if e.event.event_type != "ExecutionStarted" {
            continue;
        }
        starts += 1;
        let Some(input) = e.event.details.input.as_deref() else {
            continue;
        };
        with_input += 1;
        if let Some((feed, p)) = feed_of_input(input) {
            if feed == feed_id {
                arns.push(e.execution_arn.clone());
                partner = partner.or(p);
            }
        }
    }
    let mut notes = Vec::new();
    if arns.is_empty() {
        let reason = if !read.events.is_empty() && starts == 0 {
            Some(
                "its log group holds no ExecutionStarted lines (log level ERROR, FATAL or OFF), so no execution \
                 names this feed",
            )
        } else if starts > 0 && with_input == 0 {
            Some(
                "its log group carries no execution data (IncludeExecutionData false), so no execution names \
                 this feed",
            )
        } else {
            None
        };
        if let Some(r) = reason {
            notes.push(format!(
                "execution not identified: {r}; the feed record is what the pipeline wrote"
            ));
        } else {
            notes.push(format!(
                "no execution of {} in the last {} names this feed (a larger --since may find it)",
                ctx.machine.name,
                humantime(ctx.since)
            ));
        }
    }
    let mut rows = summaries_from_log_events(read.events);
    rows.retain(|r| arns.contains(&r.execution_arn));
    Ok(FeedExecutions { rows, partner, notes })
}

/// Standard: DescribeExecution gives each recent execution's input.
async fn feed_executions_from_api(ctx: &Ctx, feed_id: &str) -> Result<FeedExecutions, ExecError> {
    let (start, _) = ctx.window(ctx.since);
    let listed = ctx.clients.list_executions(&ctx.machine.arn, None, 1_000).await?;
    let recent: Vec<_> = listed
        .into_iter()
        .filter(|x| x.started.is_none_or(|t| t >= start))
        .collect();
    let mut notes = Vec::new();
    if recent.len() > FEED_DESCRIBE_CAP {
        notes.push(format!(
            "looked at the newest {FEED_DESCRIBE_CAP} of {} executions in the last {}; narrow --since to look further",
            recent.len(),
            humantime(ctx.since)
        ));
    }
    let mut rows = Vec::new();
    let mut partner = None;
    for x in recent.into_iter().take(FEED_DESCRIBE_CAP) {
        let (summary, outcome) = ctx.clients.describe_execution(&x.execution_arn).await?;
        if let Some((feed, p)) = outcome.input.as_deref().and_then(feed_of_input) {
            if feed == feed_id {
                rows.push(summary);
                partner = partner.or(p);
            }
        }
    }
    if rows.is_empty() {
        notes.push(format!(
            "no execution of {} in the last {} names this feed",
            ctx.machine.name,
            humantime(ctx.since)
        ));
    }
    Ok(FeedExecutions { rows, partner, notes })
}

fn not_found(ctx: &Ctx, id: &str, hint: String) -> ExecError {
    ExecError::ExecutionNotFound {
        id: id.to_string(),
        machine: ctx.machine.name.clone(),
        hint,
    }
}

async fn show_from_api(ctx: &Ctx, id: &str) -> Result<ExecutionDetail, ExecError> {
    let guessed = if is_arn(id) {
        Some(id.to_string())
    } else {
        execution_arn_for(&ctx.machine.arn, ctx.machine.express, id)
    };
    let described = match guessed {
        Some(arn) => match ctx.clients.describe_execution(&arn).await {
            Ok(d) => Some(d),
            Err(e) if e.code() == Some("ExecutionDoesNotExist") && !is_arn(id) => None,
            Err(e) if e.code() == Some("ExecutionDoesNotExist") => return Err(not_found(ctx, id, String::new())),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let (summary, outcome) = match described {
        Some(d) => d,
        // A name whose ARN is not the guessed one: find it in the listing.
        None => {
            let rows = ctx.clients.list_executions(&ctx.machine.arn, None, 1_000).await?;
            let found = rows
                .into_iter()
                .find(|r| r.name == id)
                .ok_or_else(|| not_found(ctx, id, " among its latest 1000 executions".to_string()))?;
            ctx.clients.describe_execution(&found.execution_arn).await?
        }
    };
    let events = ctx.clients.execution_history(&summary.execution_arn).await?;
    let mut history = fold_history(&events);
    history.outcome = history.outcome.merged_with(outcome);
    Ok(ExecutionDetail::new(
        &summary.execution_arn,
        HistorySource::GetExecutionHistory,
        history,
    ))
}

async fn show_from_logs(ctx: &Ctx, group: &str, id: &str) -> Result<ExecutionDetail, ExecError> {
    let (start, end) = ctx.window(ctx.since);
    let hint = || format!(" in the last {} of {group}; try a larger --since", humantime(ctx.since));
    let arn = if is_arn(id) {
        id.to_string()
    } else {
        let read = ctx
            .clients
            .read_log_group(group, EXECUTION_EVENTS_PATTERN, start, end, LIST_EVENT_CAP)
            .await?;
        ctx.warn_about(&read, group);
        summaries_from_log_events(read.events)
            .into_iter()
            .find(|r| r.name == id)
            .map(|r| r.execution_arn)
            .ok_or_else(|| not_found(ctx, id, hint()))?
    };
    let read = ctx
        .clients
        .read_log_group(group, &execution_pattern(&arn), start, end, SHOW_EVENT_CAP)
        .await?;
    ctx.warn_about(&read, group);
    let events: Vec<_> = read
        .events
        .into_iter()
        .filter(|e| e.execution_arn == arn)
        .map(|e| e.event)
        .collect();
    if events.is_empty() {
        return Err(not_found(ctx, id, hint()));
    }
    Ok(ExecutionDetail::new(
        &arn,
        HistorySource::CloudWatchLogs,
        fold_history(&events),
    ))
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// One poll: the newest executions, plus those known to be running that
/// are no longer on the first page (API only: the log window covers them).
async fn poll(ctx: &Ctx, backend: &Backend, running: &[String]) -> Result<Vec<ExecutionSummary>, ExecError> {
    match backend {
        Backend::Api => {
            let mut rows = ctx.clients.list_executions(&ctx.machine.arn, None, WATCH_PAGE).await?;
            let missing: Vec<&String> = running
                .iter()
                .filter(|arn| !rows.iter().any(|r| &r.execution_arn == *arn))
                .collect();
            for arn in missing.into_iter().take(WATCH_DESCRIBE_CAP) {
                rows.push(ctx.clients.describe_execution(arn).await?.0);
            }
            Ok(rows)
        }
        Backend::Logs(group) => {
            let lookback = WATCH_LOG_LOOKBACK.min(ctx.since);
            let (start, end) = ctx.window(lookback);
            let read = ctx
                .clients
                .read_log_group(group, EXECUTION_EVENTS_PATTERN, start, end, LIST_EVENT_CAP)
                .await?;
            Ok(summaries_from_log_events(read.events))
        }
    }
}

async fn watch(ctx: &Ctx, mut backend: Backend, a: WatchArgs) -> Result<(), ExecError> {
    let style = style(false);
    let mut tracker = Tracker::new(WATCH_MEMORY);
    let first = match poll(ctx, &backend, &[]).await {
        Err(ExecError::Aws(e)) if backend == Backend::Api && is_express_refusal(&ctx.machine, &e) => {
            backend = Backend::Logs(log_group(&ctx.machine)?);
            poll(ctx, &backend, &[]).await?
        }
        other => other?,
    };
    tracker.baseline(&first);
    let source = match &backend {
        Backend::Api => "ListExecutions".to_string(),
        Backend::Logs(g) => format!("log group {g}"),
    };
    eprintln!("zb: watching {} ({source}); Ctrl-C to stop", ctx.machine.name);

    let stop = async {
        let ctrl_c = async {
            // Without a signal handler, run until --max-seconds (or forever).
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        match a.max_seconds {
            Some(s) => tokio::select! {
                _ = ctrl_c => {}
                _ = tokio::time::sleep(Duration::from_secs(s)) => {}
            },
            None => ctrl_c.await,
        }
    };
    let work = async {
        let mut last_error: Option<String> = None;
        loop {
            tokio::time::sleep(Duration::from_millis(a.interval_ms)).await;
            let rows = match poll(ctx, &backend, &tracker.running()).await {
                Ok(rows) => rows,
                Err(e) => {
                    // A watch outlives network blips: say it once, keep polling.
                    let msg = e.to_string();
                    if last_error.as_ref() != Some(&msg) {
                        eprintln!("zb: warning: {msg}");
                        last_error = Some(msg);
                    }
                    continue;
                }
            };
            last_error = None;
            for event in tracker.observe(&rows) {
                let line = match ctx.output {
                    Output::Table => render::watch_line(&event, &style),
                    Output::Json => render::watch_json(&event)?,
                };
                emit(&line)?;
            }
        }
    };
    tokio::select! {
        _ = stop => Ok(()),
        r = work => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machines(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    format!("arn:aws:states:us-east-1:123456789012:stateMachine:{n}"),
                )
            })
            .collect()
    }

    #[test]
    fn since_durations() {
        assert_eq!(parse_since("1h"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse_since("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_since("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_since(" 90s "), Ok(Duration::from_secs(90)));
        for bad in ["", "h", "1", "1w", "-1h", "0m", "99999999999999999999d", "1.5h"] {
            assert!(parse_since(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn default_state_machine_is_the_order_pipeline() {
        let ms = machines(&["zb-prod-notify-fanout", "zb-prod-order-pipeline"]);
        assert_eq!(
            pick_state_machine(&ms, None).map(|m| m.0).ok().as_deref(),
            Some("zb-prod-order-pipeline")
        );
        let only = machines(&["something-else"]);
        assert_eq!(
            pick_state_machine(&only, None).map(|m| m.0).ok().as_deref(),
            Some("something-else")
        );
    }

    #[test]
    fn ambiguity_lists_the_names() {
        let ms = machines(&["zb-dev-order-pipeline", "zb-prod-order-pipeline"]);
        let e = pick_state_machine(&ms, None).expect_err("two pipelines");
        assert_eq!(
            e.to_string(),
            "cannot tell which state machine to use; pass --state-machine (or set ZB_STATE_MACHINE) to one of: \
             zb-dev-order-pipeline, zb-prod-order-pipeline"
        );
        assert!(pick_state_machine(&machines(&["a", "b"]), None).is_err());
    }

    #[test]
    fn explicit_state_machine_by_name_or_arn() {
        let ms = machines(&["zb-dev-order-pipeline", "zb-prod-order-pipeline"]);
        assert_eq!(
            pick_state_machine(&ms, Some("zb-dev-order-pipeline"))
                .map(|m| m.0)
                .ok()
                .as_deref(),
            Some("zb-dev-order-pipeline")
        );
        let e = pick_state_machine(&ms, Some("nope")).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "no state machine named nope; there are: zb-dev-order-pipeline, zb-prod-order-pipeline"
        );
    }

    #[test]
    fn execution_arns_from_names() {
        let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:zb-order-pipeline";
        assert_eq!(
            execution_arn_for(sm, false, "feed-1").as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:execution:zb-order-pipeline:feed-1")
        );
        assert_eq!(
            execution_arn_for(sm, true, "feed-1").as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:express:zb-order-pipeline:feed-1")
        );
        assert_eq!(
            execution_arn_for("arn:aws:states:us-east-1:1:stateMachine:sm:v1", false, "x"),
            None
        );
    }

    #[test]
    fn express_refusals_send_us_to_the_logs() {
        let m = Machine {
            arn: "a".into(),
            name: "m".into(),
            express: true,
            log_group: Some("g".into()),
        };
        let refusal = AwsError::Service {
            service: "Step Functions",
            operation: "ListExecutions",
            code: "StateMachineTypeNotSupported".into(),
            message: "This operation is not supported by this type of state machine".into(),
        };
        assert!(is_express_refusal(&m, &refusal));
        let other = AwsError::Service {
            service: "Step Functions",
            operation: "ListExecutions",
            code: "AccessDeniedException".into(),
            message: "not authorized".into(),
        };
        assert!(!is_express_refusal(&m, &other));
        assert_eq!(log_group(&m).ok().as_deref(), Some("g"));
        let unlogged = Machine { log_group: None, ..m };
        assert!(matches!(log_group(&unlogged), Err(ExecError::NoLogGroup(_))));
    }

    #[test]
    fn a_huge_since_reads_from_the_epoch() {
        let now = Utc::now();
        let huge = parse_since("999999999d").unwrap_or(Duration::MAX);
        assert_eq!(since_start(now, huge), DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(since_start(now, Duration::MAX), DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(
            since_start(now, Duration::from_secs(3_600)),
            now - chrono::Duration::hours(1)
        );
    }

    #[test]
    fn durations_read_back() {
        assert_eq!(humantime(Duration::from_secs(3_600)), "1h");
        assert_eq!(humantime(Duration::from_secs(172_800)), "2d");
        assert_eq!(humantime(Duration::from_secs(90)), "90s");
    }
}
