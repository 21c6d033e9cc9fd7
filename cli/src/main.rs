//! `zb`: the ZeroBeta operator CLI.
//!
//! One subcommand per concern, each in its own module with its own error
//! type; main only parses, dispatches and turns errors into exit code 1.

mod aws;
mod cost;
mod deliveries;
mod executions;
mod feed_record;
mod history;
mod iam;
mod local;
mod logs;
mod partners;
mod render;
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
    /// Onboard partners: create, rotate keys and secrets, set webhooks, disable, list
    Partners(partners::PartnersArgs),
    /// Webhook deliveries: list them with their attempts, replay dead letters
    Deliveries(deliveries::DeliveriesArgs),
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
            Self::Local(_) | Self::Partners(_) | Self::Deliveries(_) | Self::Iam(_) | Self::Failed(_) => false,
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
        Command::Cost(args) => cost::run(&cli.aws, args).await?,
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
        ] {
            assert!(Cli::try_parse_from(argv).is_err(), "{argv:?}");
        }
    }
}
