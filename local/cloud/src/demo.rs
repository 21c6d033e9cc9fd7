//! `make demo`: posts every sample feed in local/seed/feeds to a running
//! local cloud through its public endpoints, waits for each feed's
//! execution, and reports feed, partner, orders accepted / duplicate /
//! rejected, execution status and end-to-end milliseconds. It passes only
//! when every outcome is the expected one.

use serde::Deserialize;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("reading {path}: {detail}")]
    Sample { path: String, detail: String },
    #[error("{feed}: {detail}")]
    Feed { feed: String, detail: String },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expect {
    pub accepted: usize,
    pub duplicate: usize,
    pub rejected: usize,
    pub status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sample {
    partner: String,
    content_type: String,
    #[serde(default)]
    body: Value,
    /// Send exactly the body an earlier sample sent (a replay).
    #[serde(default)]
    replay_of: Option<String>,
    expect: Expect,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub feed: String,
    pub partner: String,
    pub accepted: usize,
    pub duplicate: usize,
    pub rejected: usize,
    pub execution: String,
    pub end_to_end_ms: u128,
    pub ok: bool,
}

/// Replaces "NOW" / "NOW-<ms>" placeholders so event times are recent.
fn fill_times(v: &mut Value, now_ms: i64) {
    match v {
        Value::String(s) if s == "NOW" => *v = Value::String(chrono::Utc::now().to_rfc3339()),
        Value::String(s) if s.starts_with("NOW-") => {
            let back: i64 = s[4..].parse().unwrap_or(0);
            *v = Value::from(now_ms - back);
        }
        Value::Array(a) => a.iter_mut().for_each(|x| fill_times(x, now_ms)),
        Value::Object(o) => o.values_mut().for_each(|x| fill_times(x, now_ms)),
        _ => {}
    }
}

/// The sample partners' local-only API keys (local/seed/partners.json).
fn api_key(seed: &Value, partner: &str) -> Option<String> {
    seed.as_array()?
        .iter()
        .find(|p| p.get("partnerId").and_then(Value::as_str) == Some(partner))?
        .get("apiKey")?
        .as_str()
        .map(str::to_string)
}

pub async fn run(
    api_url: &str,
    aws_url: &str,
    samples: &Path,
    seed_file: &Path,
    timeout: Duration,
) -> Result<Vec<Row>, DemoError> {
    let seed: Value = std::fs::read_to_string(seed_file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| DemoError::Sample {
            path: seed_file.display().to_string(),
            detail: "not readable JSON".into(),
        })?;
    let mut files: Vec<_> = std::fs::read_dir(samples)
        .map_err(|e| DemoError::Sample {
            path: samples.display().to_string(),
            detail: e.to_string(),
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let http = reqwest::Client::new();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(aws_url)
        .region(aws_config::Region::new(crate::template::REGION))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "local", "local", None, None, "zb-demo",
        ))
        .load()
        .await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let mut rows = Vec::new();
    let mut sent: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
    for path in files {
        let feed = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let fail = |detail: String| DemoError::Feed {
            feed: feed.clone(),
            detail,
        };
        let mut sample: Sample = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| DemoError::Sample {
                path: path.display().to_string(),
                detail: "not a sample feed".into(),
            })?;
        match &sample.replay_of {
            Some(earlier) => {
                sample.body = sent
                    .get(earlier)
                    .cloned()
                    .ok_or_else(|| fail(format!("replays {earlier}, which was not sent before it")))?;
            }
            None => fill_times(&mut sample.body, chrono::Utc::now().timestamp_millis()),
        }
        sent.insert(feed.clone(), sample.body.clone());
        let key =
            api_key(&seed, &sample.partner).ok_or_else(|| fail(format!("no seeded key for {}", sample.partner)))?;
        let started = Instant::now();
        let resp = http
            .post(format!("{api_url}/v1/feeds"))
            .header("x-api-key", key.clone())
            .header("content-type", sample.content_type.clone())
            .body(sample.body.to_string())
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = resp.status().as_u16();
        let accepted: Value = resp.json().await.map_err(|e| fail(e.to_string()))?;
        if status != 202 {
            return Err(fail(format!("POST /v1/feeds answered {status}: {accepted}")));
        }
        let feed_id = accepted["feedId"].as_str().unwrap_or_default().to_string();
        // Wait for the pipeline to finish with this feed.
        let record = loop {
            let r: Value = http
                .get(format!("{api_url}/v1/feeds/{feed_id}"))
                .header("x-api-key", key.clone())
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?
                .json()
                .await
                .map_err(|e| fail(e.to_string()))?;
            if r["status"] != "RECEIVED" {
                break r;
            }
            if started.elapsed() > timeout {
                return Err(fail(format!("still RECEIVED after {timeout:?}")));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let end_to_end_ms = started.elapsed().as_millis();
        let execution = execution_status(&sfn, &logs, &feed_id, timeout)
            .await
            .unwrap_or_else(|| "NOT FOUND".into());
        let c = &record["counts"];
        let n = |k: &str| c[k].as_u64().unwrap_or(0) as usize;
        let e = &sample.expect;
        let ok = n("persisted") == e.accepted
            && n("duplicate") == e.duplicate
            && n("rejected") == e.rejected
            && execution == e.status;
        rows.push(Row {
            feed,
            partner: sample.partner,
            accepted: n("persisted"),
            duplicate: n("duplicate"),
            rejected: n("rejected"),
            execution,
            end_to_end_ms,
            ok,
        });
    }
    Ok(rows)
}

/// The final status of the execution that processed `feed_id`: from the
/// order pipeline's log group (Express executions are seen only there, on
/// AWS as here), or, for a Standard pipeline, ListExecutions/DescribeExecution.
async fn execution_status(
    sfn: &aws_sdk_sfn::Client,
    logs: &aws_sdk_cloudwatchlogs::Client,
    feed_id: &str,
    timeout: Duration,
) -> Option<String> {
    let started = Instant::now();
    let machines = sfn.list_state_machines().send().await.ok()?;
    let pipeline = machines
        .state_machines()
        .iter()
        .find(|m| m.name().ends_with("order-pipeline"))?
        .clone();
    let express = pipeline.r#type() == &aws_sdk_sfn::types::StateMachineType::Express;
    let group = if express {
        Some(
            crate::express_logs::log_group_of(sfn, pipeline.state_machine_arn())
                .await
                .ok()?,
        )
    } else {
        None
    };
    loop {
        if let Some(group) = &group {
            if let Ok(Some(run)) = crate::express_logs::finished_for_feed(logs, group, feed_id).await {
                return Some(run.status);
            }
        } else {
            let list = sfn
                .list_executions()
                .state_machine_arn(pipeline.state_machine_arn())
                .max_results(100)
                .send()
                .await
                .ok()?;
            for e in list.executions() {
                let d = sfn
                    .describe_execution()
                    .execution_arn(e.execution_arn())
                    .send()
                    .await
                    .ok()?;
                if d.input().unwrap_or_default().contains(feed_id) && d.status().as_str() != "RUNNING" {
                    return Some(d.status().as_str().to_string());
                }
            }
        }
        if started.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The report table.
pub fn render(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<24} {:<10} {:>8} {:>9} {:>8} {:<10} {:>7}  {}\n",
        "feed", "partner", "accepted", "duplicate", "rejected", "execution", "e2e ms", "result"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<24} {:<10} {:>8} {:>9} {:>8} {:<10} {:>7}  {}\n",
            r.feed,
            r.partner,
            r.accepted,
            r.duplicate,
            r.rejected,
            r.execution,
            r.end_to_end_ms,
            if r.ok { "ok" } else { "UNEXPECTED" }
        ));
    }
    out
}
