//! `make load`: a bounded load test against a local cloud on 127.0.0.1.
//! It offers single-order feeds at a fixed rate for a fixed time, then waits
//! for the pipeline to drain and reconciles: every order accepted with a 202
//! must be persisted or recorded as an error. It refuses any target that is
//! not a loopback address.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("load tests only target 127.0.0.1 / localhost, not {0}")]
    NotLoopback(String),
    #[error("{0}")]
    Http(String),
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub api_url: String,
    pub api_key: String,
    pub rate_per_sec: u32,
    pub duration: Duration,
    pub max_in_flight: usize,
    /// How long to wait for the pipeline to drain afterwards.
    pub drain_timeout: Duration,
    /// First sequence number (unique per run, so reruns do not collide).
    pub first_sequence: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub offered: u64,
    pub accepted: u64,
    pub errors: u64,
    pub skipped_backpressure: u64,
    pub seconds: f64,
    pub ingest_ms: Percentiles,
    pub end_to_end_ms: Percentiles,
    pub persisted: u64,
    pub recorded_as_error: u64,
    pub lost: u64,
    pub still_pending: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

pub fn percentiles(mut v: Vec<f64>) -> Percentiles {
    if v.is_empty() {
        return Percentiles::default();
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Percentiles {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: v[v.len() - 1],
    }
}

fn check_loopback(url: &str) -> Result<(), LoadError> {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    if host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host.starts_with("127.") {
        Ok(())
    } else {
        Err(LoadError::NotLoopback(url.to_string()))
    }
}

fn order(seq: u64, now_ms: i64) -> Value {
    json!({"orders": [{
        "sequenceNumber": seq, "orderId": format!("L-{seq}"), "createdAt": now_ms - 1000, "currency": "EUR",
        "totalCents": 1999, "items": [{"sku": "LOAD-1", "quantity": 1, "unitPriceCents": 1999}]
    }]})
}

pub async fn run(plan: &Plan) -> Result<Report, LoadError> {
    check_loopback(&plan.api_url)?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(plan.max_in_flight)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| LoadError::Http(e.to_string()))?;
    let accepted: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let ingest: Arc<Mutex<Vec<f64>>> = Arc::default();
    let errors = Arc::new(AtomicU64::new(0));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(plan.max_in_flight));
    let total = u64::from(plan.rate_per_sec) * plan.duration.as_secs();
    let started = Instant::now();
    let mut skipped = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        // Pace: request i is due at i / rate seconds.
        let due = Duration::from_secs_f64(i as f64 / f64::from(plan.rate_per_sec));
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            skipped += 1;
            continue;
        };
        let seq = plan.first_sequence + i;
        let (http, url, key) = (http.clone(), plan.api_url.clone(), plan.api_key.clone());
        let (accepted, ingest, errors) = (accepted.clone(), ingest.clone(), errors.clone());
        tasks.spawn(async move {
            let body = order(seq, chrono::Utc::now().timestamp_millis()).to_string();
            let t0 = Instant::now();
            let resp = http
                .post(format!("{url}/v1/feeds"))
                .header("x-api-key", key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            match resp {
                Ok(r) if r.status().as_u16() == 202 => {
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    if let Some(id) = v["feedId"].as_str() {
                        if let Ok(mut a) = accepted.lock() {
                            a.push((id.to_string(), seq));
                        }
                    }
                    if let Ok(mut l) = ingest.lock() {
                        l.push(ms);
                    }
                }
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        });
    }
    while tasks.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    let accepted = accepted.lock().map(|a| a.clone()).unwrap_or_default();
    let mut report = Report {
        offered: total,
        accepted: accepted.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        skipped_backpressure: skipped,
        seconds,
        ingest_ms: percentiles(ingest.lock().map(|l| l.clone()).unwrap_or_default()),
        ..Report::default()
    };
    reconcile(&http, plan, &accepted, &mut report).await;
    Ok(report)
}

/// Waits for every accepted feed to leave RECEIVED, then checks each order
/// is persisted or in the errors table.
async fn reconcile(http: &reqwest::Client, plan: &Plan, accepted: &[(String, u64)], report: &mut Report) {
    let deadline = Instant::now() + plan.drain_timeout;
    let mut e2e = Vec::new();
    let mut pending: Vec<(String, u64)> = accepted.to_vec();
    while !pending.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for (feed_id, seq) in pending {
            let r: Value = match http
                .get(format!("{}/v1/feeds/{feed_id}", plan.api_url))
                .header("x-api-key", plan.api_key.clone())
                .send()
                .await
            {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            let status = r["status"].as_str().unwrap_or("RECEIVED");
            if status == "RECEIVED" {
                still.push((feed_id, seq));
                continue;
            }
            let parse = |k: &str| r[k].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
            if let (Some(a), Some(b)) = (parse("receivedAt"), parse("updatedAt")) {
                e2e.push((b - a).num_milliseconds() as f64);
            }
            let persisted =
                r["counts"]["persisted"].as_u64().unwrap_or(0) + r["counts"]["duplicate"].as_u64().unwrap_or(0);
            let rejected = r["counts"]["rejected"].as_u64().unwrap_or(0);
            if persisted == 1 {
                // Confirm in the orders table itself.
                let ok = http
                    .get(format!("{}/v1/orders/{seq}", plan.api_url))
                    .header("x-api-key", plan.api_key.clone())
                    .send()
                    .await
                    .map(|r| r.status().as_u16() == 200)
                    .unwrap_or(false);
                if ok {
                    report.persisted += 1;
                } else {
                    report.lost += 1;
                }
            } else if rejected == 1 {
                report.recorded_as_error += 1;
            } else {
                report.lost += 1;
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    report.still_pending = pending.len() as u64;
    report.end_to_end_ms = percentiles(e2e);
}

pub fn render(r: &Report) -> String {
    format!(
        "offered {} feeds in {:.1} s: accepted {} ({:.0}/s), errors {}, not sent (client backpressure) {}\n\
         ingest latency ms: p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}\n\
         end-to-end ms (received -> outcome written): p50 {:.0}  p99 {:.0}  max {:.0}\n\
         reconciliation: persisted {}, recorded as error {}, lost {}, still pending {}\n",
        r.offered,
        r.seconds,
        r.accepted,
        r.accepted as f64 / r.seconds.max(1e-9),
        r.errors,
        r.skipped_backpressure,
        r.ingest_ms.p50,
        r.ingest_ms.p95,
        r.ingest_ms.p99,
        r.ingest_ms.max,
        r.end_to_end_ms.p50,
        r.end_to_end_ms.p99,
        r.end_to_end_ms.max,
        r.persisted,
        r.recorded_as_error,
        r.lost,
        r.still_pending
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_allowed() {
        assert!(check_loopback("http://127.0.0.1:3000").is_ok());
        assert!(check_loopback("http://localhost:3000/v1").is_ok());
        assert!(check_loopback("http://10.0.0.5:3000").is_err());
        assert!(check_loopback("https://api.example.com").is_err());
    }

    #[test]
    fn report_lines_are_read_into_cold_and_warm_figures() {
        let mut stats = ReportStats::default();
        stats.add("f", "START RequestId: 1 Version: $LATEST");
        stats.add("f", "REPORT RequestId: 1\tDuration: 3.50 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 21 MB\tInit Duration: 12.25 ms\t");
        stats.add("f", "REPORT RequestId: 2\tDuration: 1.25 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 22 MB\t");
        let f = &stats.functions["f"];
        assert_eq!(
            (f.invocations, f.init_ms.clone(), f.warm_ms.clone(), f.max_memory_mb),
            (2, vec![12.25], vec![1.25], 22)
        );
    }

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let p = percentiles((1..=100).map(f64::from).collect());
        assert_eq!((p.p50, p.p95, p.p99, p.max), (51.0, 95.0, 99.0, 100.0));
    }
}

/// Per-function figures read off Lambda REPORT lines: cold starts (Init
/// Duration), warm durations and peak memory.
#[derive(Debug, Default, Clone)]
pub struct ReportStats {
    pub functions: std::collections::BTreeMap<String, FunctionStats>,
}

#[derive(Debug, Default, Clone)]
pub struct FunctionStats {
    pub invocations: u64,
    pub init_ms: Vec<f64>,
    pub warm_ms: Vec<f64>,
    pub max_memory_mb: u64,
}

/// The number after `label` in a REPORT line, e.g. "Duration: 1.23 ms".
fn field(line: &str, label: &str) -> Option<f64> {
    line.split('\t')
        .map(str::trim)
        .find_map(|part| part.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

impl ReportStats {
    /// Reads a text REPORT line, or the JSON `platform.report` event Lambda
    /// writes instead when the function's log format is JSON.
    pub fn add(&mut self, function: &str, line: &str) {
        let (duration, init, memory) = if line.starts_with("REPORT ") {
            (
                field(line, "Duration:"),
                field(line, "Init Duration:"),
                field(line, "Max Memory Used:"),
            )
        } else if line.contains("\"platform.report\"") {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                return;
            };
            let m = &v["record"]["metrics"];
            (
                m["durationMs"].as_f64(),
                m["initDurationMs"].as_f64(),
                m["maxMemoryUsedMB"].as_f64(),
            )
        } else {
            return;
        };
        let s = self.functions.entry(function.to_string()).or_default();
        s.invocations += 1;
        match init {
            Some(init) => s.init_ms.push(init),
            None => s.warm_ms.extend(duration),
        }
        if let Some(m) = memory {
            s.max_memory_mb = s.max_memory_mb.max(m as u64);
        }
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "{:<28} {:>7} {:>6} {:>10} {:>10} {:>10} {:>8}\n",
            "function", "invokes", "cold", "init p50", "warm p50", "warm p99", "max MB"
        );
        for (name, s) in &self.functions {
            let init = percentiles(s.init_ms.clone());
            let warm = percentiles(s.warm_ms.clone());
            out.push_str(&format!(
                "{:<28} {:>7} {:>6} {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8}\n",
                name,
                s.invocations,
                s.init_ms.len(),
                init.p50,
                warm.p50,
                warm.p99,
                s.max_memory_mb
            ));
        }
        out
    }
}
