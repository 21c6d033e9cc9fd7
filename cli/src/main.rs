//! `zb`: the ZeroBeta operator CLI.
//!
//! One subcommand per concern, each in its own module with its own error
//! type; main only parses, dispatches and turns errors into exit code 1.

mod admin_api;
mod aws;
mod cost;
mod deliveries;
mod executions;
mod feed_record;
mod feeds;
mod formats;
mod history;
mod iam;
mod local;
mod login;
mod logs;
mod partners;
mod render;
mod reports;
mod source;
mod test_pattern;
mod test_state;
mod watch;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "zb", version, about = "ZeroBeta operator CLI", propagate_version = true)]
struct Cli {
    #[command(flatten)]
    aws: aws::AwsArgs,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = render::Output::Table)]
    output: render::Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect the order pipeline's Step Functions executions
    Executions(executions::ExecutionsArgs),
    /// Run the local cloud in the foreground (what `make run` calls)
    Up(local::UpArgs),
    /// Run one function on an event file, like `sam local invoke` without Docker
    Invoke(local::InvokeArgs),
    /// Delete the local cloud's state folder (DynamoDB tables, histories, logs); refuses while it runs
    Reset(local::ResetArgs),
    /// Start a local cloud, post every sample feed and check each outcome
    Demo(local::DemoArgs),
    /// Bounded load test against a local cloud on 127.0.0.1
    Load(local::LoadArgs),
    /// Run one state of a state machine on the local cloud (TestState) and show each processing step
    TestState(test_state::TestStateArgs),
    /// Does an event match a rule's pattern, and if not, which field failed
    TestPattern(test_pattern::TestPatternArgs),
    /// The local functions' logs, with the REPORT lines (--follow to keep tailing)
    Logs(logs::LogsArgs),
    /// What each partner request costs: per feed, partner and service, and what-if repricing
    Cost(cost::CostArgs),
    /// Sign in to the admin API (Cognito); the token is kept for the commands below
    Login(login::LoginArgs),
    /// Forget the admin API's tokens on this machine
    Logout(login::LogoutArgs),
    /// Who the admin API sees: user, groups and the routes they open
    Whoami(admin_api::ApiArgs),
    /// Onboard partners (admin API; --direct for break-glass): create, update, rotate keys and secrets, disable, list
    Partners(partners::PartnersArgs),
    /// Webhook deliveries (admin API; --direct for break-glass): list them with their attempts, replay dead letters
    Deliveries(deliveries::DeliveriesArgs),
    /// Partner formats (admin API): list, show, publish a new version checked against samples
    Formats(formats::FormatsArgs),
    /// Feeds (admin API): list, show, redrive a failed one
    Feeds(feeds::FeedsArgs),
    /// Rejected orders, newest first (admin API)
    Errors(reports::ErrorsArgs),
    /// Orders per partner and hour, with latency percentiles (admin API)
    Volume(reports::VolumeArgs),
    /// Who changed what through the admin API (role admin)
    Audit(reports::AuditArgs),
    /// What the local cloud's IAM saw: calls denied and permissions granted but never used
    Iam(iam::IamArgs),
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Executions(#[from] executions::ExecError),
    #[error(transparent)]
    Local(#[from] local::LocalError),
    #[error(transparent)]
    TestState(#[from] test_state::TestStateError),
    #[error(transparent)]
    TestPattern(#[from] test_pattern::TestPatternError),
    #[error(transparent)]
    Logs(#[from] logs::LogsError),
    #[error(transparent)]
    Cost(#[from] cost::CostError),
    #[error(transparent)]
    Partners(#[from] partners::PartnersError),
    #[error(transparent)]
    Deliveries(#[from] deliveries::DeliveriesError),
    #[error(transparent)]
    Iam(#[from] iam::IamError),
    #[error(transparent)]
    Login(#[from] login::LoginError),
    #[error(transparent)]
    Api(#[from] admin_api::ApiError),
    /// A command that ran but whose outcome was a failure (already reported).
    #[error("{0}")]
    Failed(&'static str),
}

impl CliError {
    fn is_broken_pipe(&self) -> bool {
        match self {
            Self::Executions(e) => e.is_broken_pipe(),
            Self::Logs(e) => e.is_broken_pipe(),
            Self::TestState(_) | Self::TestPattern(_) => false,
            Self::Cost(e) => e.is_broken_pipe(),
            Self::Local(_)
            | Self::Partners(_)
            | Self::Deliveries(_)
            | Self::Iam(_)
            | Self::Login(_)
            | Self::Api(_)
            | Self::Failed(_) => false,
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    aws::set_verbose(cli.aws.verbose);
    aws::set_global(&cli.aws);
    match cli.command {
        Command::Executions(mut args) => {
            args.local |= cli.aws.local;
            executions::run(&cli.aws, cli.output, args).await?
        }
        Command::Up(args) => local::up(args).await?,
        Command::Invoke(args) => {
            if !local::invoke(&cli.aws, args).await? {
                return Err(CliError::Failed("the function returned an error"));
            }
        }
        Command::Demo(args) => {
            if !local::demo(args).await? {
                return Err(CliError::Failed("the demo saw unexpected outcomes"));
            }
        }
        Command::Load(args) => local::load(args).await?,
        Command::Reset(args) => local::reset(args)?,
        Command::TestState(args) => {
            if !test_state::run(&cli.aws, cli.output, args).await? {
                return Err(CliError::Failed("the state did not succeed"));
            }
        }
        Command::TestPattern(args) => {
            if !test_pattern::run(cli.output, args)? {
                return Err(CliError::Failed("the event does not match the pattern"));
            }
        }
        Command::Logs(args) => logs::run(cli.output, args).await?,
        Command::Cost(args) => match args.command {
            cost::CostCommand::Daily(a) => reports::cost_daily(cli.aws.local, cli.output, a).await?,
            cost::CostCommand::Feed(a) => reports::cost_feed(cli.aws.local, cli.output, a).await?,
            command => cost::run(&cli.aws, cost::CostArgs { command }).await?,
        },
        Command::Login(args) => login::login(args, cli.aws.local, cli.aws.region.as_deref(), cli.output).await?,
        Command::Logout(args) => login::logout(args, cli.aws.local)?,
        Command::Whoami(args) => login::whoami(&args, cli.aws.local, cli.output).await?,
        Command::Formats(args) => formats::run(cli.aws.local, cli.output, args).await?,
        Command::Feeds(args) => feeds::run(cli.aws.local, cli.output, args).await?,
        Command::Errors(args) => reports::errors(cli.aws.local, cli.output, args).await?,
        Command::Volume(args) => reports::volume(cli.aws.local, cli.output, args).await?,
        Command::Audit(args) => reports::audit(cli.aws.local, cli.output, args).await?,
        Command::Partners(mut args) => {
            args.tables.local |= cli.aws.local;
            partners::run(&cli.aws, cli.output, args).await?
        }
        Command::Deliveries(mut args) => {
            args.tables.local |= cli.aws.local;
            deliveries::run(&cli.aws, cli.output, args).await?
        }
        Command::Iam(args) => iam::run(args)?,
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        // `zb ... | head` closing the pipe early is not a failure.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zb: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_the_documented_forms() {
        let cli = Cli::try_parse_from([
            "zb",
            "executions",
            "--endpoint-url",
            "http://127.0.0.1:4000",
            "list",
            "--status",
            "FAILED",
            "--max",
            "5",
            "--output",
            "json",
        ])
        .expect("parses");
        assert_eq!(cli.aws.endpoint_url.as_deref(), Some("http://127.0.0.1:4000"));
        assert_eq!(cli.output, render::Output::Json);
        let Command::Executions(args) = cli.command else {
            panic!("expected executions")
        };
        match args.command {
            executions::ExecutionsCommand::List(l) => {
                assert_eq!(l.status, Some(executions::StatusArg::Failed));
                assert_eq!(l.max, 5);
            }
            other => panic!("parsed as {other:?}"),
        }

        let cli = Cli::try_parse_from([
            "zb",
            "executions",
            "show",
            "feed-1",
            "--state-machine",
            "sm",
            "--since",
            "2d",
        ])
        .expect("parses");
        let Command::Executions(args) = cli.command else {
            panic!("expected executions")
        };
        assert_eq!(args.state_machine.as_deref(), Some("sm"));
        assert_eq!(args.since, std::time::Duration::from_secs(172_800));

        let cli = Cli::try_parse_from([
            "zb",
            "executions",
            "watch",
            "--interval-ms",
            "250",
            "--max-seconds",
            "3",
        ])
        .expect("parses");
        let Command::Executions(args) = cli.command else {
            panic!("expected executions")
        };
        match args.command {
            executions::ExecutionsCommand::Watch(w) => assert_eq!((w.interval_ms, w.max_seconds), (250, Some(3))),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn parses_the_admin_api_forms() {
        let cli = Cli::try_parse_from(["zb", "login", "--username", "admin", "--password-stdin"]).expect("parses");
        let Command::Login(l) = cli.command else {
            panic!("expected login")
        };
        assert_eq!((l.username.as_deref(), l.password_stdin), (Some("admin"), true));
        assert_eq!(l.callback_url, "http://localhost:8976/callback");

        let cli = Cli::try_parse_from(["zb", "partners", "list", "--direct", "--local"]).expect("parses");
        let Command::Partners(p) = cli.command else {
            panic!("expected partners")
        };
        assert!(p.direct && cli.aws.local);

        let cli = Cli::try_parse_from([
            "zb",
            "partners",
            "update",
            "acme",
            "--rate",
            "5",
            "--burst",
            "10",
            "--admin-url",
            "https://a.example",
        ])
        .expect("parses");
        let Command::Partners(p) = cli.command else {
            panic!("expected partners")
        };
        assert!(!p.direct);
        assert_eq!(p.api.admin_url.as_deref(), Some("https://a.example"));

        for argv in [
            &[
                "zb",
                "formats",
                "publish",
                "formats/partner-a/1",
                "--sample",
                "a.json",
                "b.json",
                "--dry-run",
            ][..],
            &["zb", "feeds", "list", "--status", "failed", "--partner", "p", "--all"],
            &["zb", "feeds", "redrive", "f-1"],
            &["zb", "errors", "--code", "SCHEMA_VIOLATION", "--max", "5"],
            &["zb", "volume", "--partner", "p", "--from", "2026-01-01T00"],
            &["zb", "audit", "--actor", "admin"],
            &["zb", "cost", "daily", "--partner", "p"],
            &["zb", "cost", "feed", "f-1"],
            &["zb", "cost", "report", "--state-dir", "/tmp/s"],
            &["zb", "deliveries", "replay", "--partner", "p", "d-1"],
            &["zb", "whoami", "--local"],
            &["zb", "logout", "--all"],
        ] {
            assert!(Cli::try_parse_from(argv).is_ok(), "{argv:?}");
        }
    }

    #[test]
    fn rejects_bad_values() {
        for argv in [
            &["zb", "executions", "list", "--status", "DONE"][..],
            &["zb", "executions", "list", "--max", "0"],
            &["zb", "executions", "watch", "--interval-ms", "10"],
            &["zb", "executions", "watch", "--interval-ms", "18446744073709551615"],
            &["zb", "executions", "watch", "--max-seconds", "18446744073709551615"],
            &["zb", "executions", "--since", "soon", "list"],
            &["zb", "executions", "show"],
            // Operator input that used to panic: refused with a clear error.
            &["zb", "up", "--time-scale", "-1"],
            &["zb", "up", "--time-scale", "0"],
            &["zb", "up", "--time-scale", "NaN"],
            &["zb", "demo", "--time-scale", "inf"],
            &["zb", "load", "--time-scale", "1e309"],
            &["zb", "up", "--max-instances", "0"],
            &["zb", "load", "--max-in-flight", "0"],
            &["zb", "load", "--rate", "0"],
            &["zb", "partners", "rotate-key", "acme", "--overlap", "99999999999999d"],
            &["zb", "partners", "rotate-secret", "acme", "--overlap", "366d"],
            // Admin API forms: a change names what changes; a password comes with a user.
            &["zb", "partners", "update", "acme"],
            &["zb", "partners", "update", "acme", "--rate", "5"],
            &[
                "zb",
                "partners",
                "update",
                "acme",
                "--webhook-url",
                "https://h.example",
                "--clear-webhook",
            ],
            &["zb", "login", "--password-stdin"],
            &["zb", "login", "--username", "u", "--hosted-ui", "https://d.example"],
            &["zb", "formats", "publish", "formats/partner-a/1"],
            &["zb", "errors", "--max", "0"],
            &["zb", "feeds", "list", "--max", "5", "--all"],
        ] {
            assert!(Cli::try_parse_from(argv).is_err(), "{argv:?}");
        }
    }
}
