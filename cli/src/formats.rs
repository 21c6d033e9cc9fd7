//! `zb formats list|show|publish`: partner formats through the admin API.
//! A publish sends format.json, its JSON Schema and sample orders; the API
//! checks the mapping against the samples and answers what each became
//! (canonical order or rejections) before anything is stored, and with
//! `--dry-run` stores nothing.

use crate::admin_api::{self, seg, AdminClient, ApiArgs, ApiError, Column, PageArgs};
use crate::render::Output;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct FormatsArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub command: FormatsCommand,
}

#[derive(Debug, Subcommand)]
pub enum FormatsCommand {
    /// Built-in and published formats
    List(ListArgs),
    /// One format (`<name>@<version>`): its format.json and schema
    Show(FormatIdArg),
    /// Publish a new format version, checked against sample orders first
    Publish(PublishArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
pub struct FormatIdArg {
    /// e.g. partner-a@1
    pub format_id: String,
}

#[derive(Debug, Args)]
#[command(after_help = "\
PATHS is a format's folder (formats/<name>/<version>/ with format.json and schema.json), or the two files. \
A sample FILE holds one order, an array of orders, or a whole feed (its orders are read from the format's \
`orders` pointer). The format is published only if at least one sample yields a canonical order.")]
pub struct PublishArgs {
    /// A folder with format.json and schema.json, or those two files
    #[arg(required = true, num_args = 1..=2, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// A file of sample orders (repeatable; at least one)
    #[arg(long = "sample", required = true, num_args = 1.., value_name = "FILE")]
    pub samples: Vec<PathBuf>,
    /// Check only: report what each sample becomes, publish nothing
    #[arg(long)]
    pub dry_run: bool,
}

const FORMAT_COLUMNS: &[Column] = &[
    ("FORMAT", "/formatId"),
    ("SOURCE", "/source"),
    ("PUBLISHED AT", "/publishedAt"),
    ("PUBLISHED BY", "/publishedBy"),
    ("DESCRIPTION", "/description"),
];

fn read_json(path: &Path) -> Result<Value, ApiError> {
    let file_error = |detail: String| ApiError::File {
        path: path.display().to_string(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| file_error(format!("not JSON: {e}")))
}

/// format.json and schema.json from a folder or the two files (told apart
/// by name, else by content: a format has a `mapping`).
pub fn read_format(paths: &[PathBuf]) -> Result<(Value, Value), ApiError> {
    let (format_path, schema_path) = match paths {
        [dir] if dir.is_dir() => (dir.join("format.json"), dir.join("schema.json")),
        [a, b] => {
            let is_format =
                |p: &Path, v: &Value| p.file_name().is_some_and(|n| n == "format.json") || v.get("mapping").is_some();
            let (va, vb) = (read_json(a)?, read_json(b)?);
            return match (is_format(a, &va), is_format(b, &vb)) {
                (true, false) => Ok((va, vb)),
                (false, true) => Ok((vb, va)),
                _ => Err(ApiError::Usage(format!(
                    "cannot tell which of {} and {} is format.json (the one with a mapping)",
                    a.display(),
                    b.display()
                ))),
            };
        }
        [one] => {
            return Err(ApiError::Usage(format!(
                "{} is not a folder: pass the format's folder, or format.json and schema.json",
                one.display()
            )))
        }
        _ => {
            return Err(ApiError::Usage(
                "pass a format folder, or format.json and schema.json".into(),
            ))
        }
    };
    Ok((read_json(&format_path)?, read_json(&schema_path)?))
}

/// The orders of a sample file: one order, an array of them, or a feed
/// whose orders are at the format's `orders` pointer.
pub fn sample_orders(format: &Value, sample: Value) -> Vec<Value> {
    let pointer = format["orders"].as_str().unwrap_or("/orders");
    match sample {
        Value::Array(orders) => orders,
        feed if feed.pointer(pointer).is_some_and(Value::is_array) => feed
            .pointer(pointer)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        order => vec![order],
    }
}

/// `#0 canonical`, `#1 rejected: CODE /field message; ...`.
pub fn render_report(report: &Value, dry_run: bool) -> String {
    let id = admin_api::cell(report, "/formatId");
    let mut out = if dry_run {
        format!("{id}: checked, not published (--dry-run)\n")
    } else {
        format!("{id}: published\n")
    };
    for s in report["samples"].as_array().into_iter().flatten() {
        let index = admin_api::cell(s, "/index");
        let outcome = admin_api::cell(s, "/outcome");
        let why: Vec<String> = s["rejections"]
            .as_array()
            .into_iter()
            .flatten()
            .map(
                |r| match (r["code"].as_str(), r["field"].as_str(), r["message"].as_str()) {
                    (Some(c), f, m) => [Some(c), f, m].into_iter().flatten().collect::<Vec<_>>().join(" "),
                    _ => r.to_string(),
                },
            )
            .collect();
        if why.is_empty() {
            out.push_str(&format!("  sample #{index}: {outcome}\n"));
        } else {
            out.push_str(&format!("  sample #{index}: {outcome}: {}\n", why.join("; ")));
        }
    }
    out
}

pub async fn run(local: bool, output: Output, args: FormatsArgs) -> Result<(), ApiError> {
    match args.command {
        FormatsCommand::List(l) => {
            let api = AdminClient::connect(&args.api, local).await?;
            api.print_list(output, "/v1/admin/formats", &[], &l.page, FORMAT_COLUMNS)
                .await?;
        }
        FormatsCommand::Show(f) => {
            let api = AdminClient::connect(&args.api, local).await?;
            let format = api
                .get(&format!("/v1/admin/formats/{}", seg(&f.format_id)), &[])
                .await?;
            admin_api::print_object(output, &format)?;
        }
        FormatsCommand::Publish(p) => {
            // Files first: a typo fails before any sign-in or request.
            let (format, schema) = read_format(&p.paths)?;
            let mut samples = Vec::new();
            for path in &p.samples {
                samples.extend(sample_orders(&format, read_json(path)?));
            }
            let api = AdminClient::connect(&args.api, local).await?;
            let query: Vec<(&str, String)> = if p.dry_run {
                vec![("dryRun", "true".to_string())]
            } else {
                Vec::new()
            };
            let body = json!({"format": format, "schema": schema, "samples": samples});
            let report = api
                .send(reqwest::Method::POST, "/v1/admin/formats", &query, Some(&body))
                .await?;
            match output {
                Output::Json => admin_api::print_object(output, &report)?,
                Output::Table => print!("{}", render_report(&report, p.dry_run)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_orders_arrays_or_feeds() {
        let format = json!({"orders": "/data/orders", "mapping": {}});
        assert_eq!(sample_orders(&format, json!({"a": 1})), vec![json!({"a": 1})]);
        assert_eq!(sample_orders(&format, json!([{"a": 1}, {"a": 2}])).len(), 2);
        assert_eq!(
            sample_orders(&format, json!({"data": {"orders": [{"a": 1}, {"a": 2}, {"a": 3}]}})).len(),
            3
        );
    }

    #[test]
    fn a_built_in_format_folder_reads_and_two_files_are_told_apart() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../formats/partner-a/1");
        let (format, schema) = read_format(std::slice::from_ref(&dir)).unwrap_or_default();
        assert_eq!(format["name"], "partner-a");
        assert!(schema.get("$schema").is_some());
        let swapped = read_format(&[dir.join("schema.json"), dir.join("format.json")]).unwrap_or_default();
        assert_eq!(swapped.0["name"], "partner-a");
        let e = read_format(&[dir.join("format.json")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("not a folder"), "{e}");
    }

    #[test]
    fn the_report_says_what_each_sample_became() {
        let report = json!({"formatId": "partner-c@1", "samples": [
            {"index": 0, "outcome": "canonical", "order": {}},
            {"index": 1, "outcome": "rejected", "rejections": [{"code": "SCHEMA_VIOLATION", "field": "/currency", "message": "is required"}]}
        ]});
        assert_eq!(
            render_report(&report, false),
            "partner-c@1: published\n  sample #0: canonical\n  sample #1: rejected: SCHEMA_VIOLATION /currency is required\n"
        );
        assert!(render_report(&report, true).starts_with("partner-c@1: checked, not published"));
    }
}
