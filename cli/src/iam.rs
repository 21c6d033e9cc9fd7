//! `zb iam report`: what the local cloud's IAM saw, per function and role: the calls it denied and
//! the permissions template.yaml grants that no call used, since the state folder was last reset.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct IamArgs {
    #[command(subcommand)]
    command: IamCommand,
}

#[derive(Debug, Subcommand)]
enum IamCommand {
    /// Per function and role: the calls denied, and the permissions granted but never used
    Report(ReportArgs),
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// The repository root (template.yaml, .state/).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// The template the roles come from [default: <repo>/template.yaml].
    #[arg(long)]
    template: Option<PathBuf>,
    /// Stack name: the prefix of every local resource name.
    #[arg(long, default_value = "zb")]
    stack: String,
    /// Template parameter override, e.g. --param WorkflowType=STANDARD.
    #[arg(long = "param", value_parser = parse_kv)]
    params: Vec<(String, String)>,
    /// The local cloud's state folder [default: <repo>/.state].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Merge the ledgers of the runs this file lists (`stack<TAB>state folder` per line, as
    /// `make test` writes target/iam-runs.tsv) instead of reading one state folder.
    #[arg(long, conflicts_with = "state_dir")]
    runs: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error(transparent)]
    Template(#[from] zb_local::template::TemplateError),
    #[error("writing the report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("reading {path}: {source}")]
    Runs { path: String, source: std::io::Error },
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

pub fn run(args: IamArgs) -> Result<(), IamError> {
    match args.command {
        IamCommand::Report(args) => report(args),
    }
}

fn report(args: ReportArgs) -> Result<(), IamError> {
    let template = args.template.unwrap_or_else(|| args.repo.join("template.yaml"));
    let params: BTreeMap<String, String> = args.params.into_iter().collect();
    let model = zb_local::template::load(&template, &args.stack, &params)?;
    let ledger = match &args.runs {
        Some(path) => {
            let list = std::fs::read_to_string(path).map_err(|source| IamError::Runs {
                path: path.display().to_string(),
                source,
            })?;
            zb_local::iam::merge_runs(&list, &args.stack)
        }
        None => zb_local::iam::read_ledger(&args.state_dir.unwrap_or_else(|| args.repo.join(".state"))),
    };
    let report = zb_local::iam::report(&model, &ledger);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}
