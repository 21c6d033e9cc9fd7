//! `zb cost report` end to end: a local cloud runs the demo's sample feeds
//! through the real function binaries, then the real `zb` binary prices the
//! run from the cloud's state folder (its logs and execution histories).

use serde_json::Value;
use std::str::FromStr;
use std::time::{Duration, Instant};
use zb_cost::Decimal;
use zb_tests::cloud::{published_cost_events, repo, run_demo, Demo};

const WAIT: Duration = Duration::from_secs(60);

fn dec(v: &Value) -> Decimal {
    let s = v.as_str().unwrap_or_else(|| panic!("a decimal string, got {v}"));
    Decimal::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// The platform.start and platform.report lines of a function's log file.
fn starts_and_reports(state: &std::path::Path, function: &str) -> (usize, usize) {
    let events = zb_local::logs::read(state, Some(function)).expect("log file");
    let count = |kind: &str| {
        events
            .iter()
            .filter(|e| e.message.contains(&format!("\"type\":\"{kind}\"")))
            .count()
    };
    (count("platform.start"), count("platform.report"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_run_is_priced_per_feed_and_every_feed_adds_up() {
    let Demo {
        cloud,
        state,
        stack,
        rows,
    } = run_demo("zb-cost-e2e", "cost", WAIT).await;
    assert!(rows.iter().all(|r| r.ok), "{}", zb_local::demo::render(&rows));

    // Notify runs after the execution, asynchronously: wait until every
    // event persist and record-error published has been delivered to it.
    let published = published_cost_events(&state, &stack);
    assert!(published >= rows.len() as u64, "{published} events published");
    let notify = format!("{stack}-notify");
    let started = Instant::now();
    loop {
        let (starts, reports) = starts_and_reports(&state, &notify);
        if reports as u64 >= published && starts == reports {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "notify: {starts} started, {reports} reported of {published}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cloud.shutdown().await;

    let out = std::process::Command::new(zb_tests::cloud::binaries().join("zb"))
        .args(["cost", "report", "--format", "json", "--stack", &stack, "--state-dir"])
        .arg(&state)
        .current_dir(repo())
        .output()
        .expect("zb runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");

    // One row per feed, in the order the demo posted them.
    let feeds = report["feeds"].as_array().expect("feeds");
    assert_eq!(feeds.len(), rows.len(), "{report:#}");
    for (feed, row) in feeds.iter().zip(&rows) {
        let name = &row.feed;
        assert_eq!(feed["partnerId"], row.partner.as_str(), "{name}");
        assert_eq!(
            feed["orders"].as_u64(),
            Some((row.accepted + row.duplicate + row.rejected) as u64),
            "{name}"
        );
        assert_eq!(feed["ordersPersisted"].as_u64(), Some(row.accepted as u64), "{name}");

        // The parts add up to the total, by service and by charge.
        let total = dec(&feed["usd"]);
        assert!(total > Decimal::ZERO, "{name}");
        let by_service = feed["byService"].as_object().expect("byService");
        assert_eq!(by_service.values().map(dec).sum::<Decimal>(), total, "{name}");
        let charges = feed["charges"].as_array().expect("charges");
        assert_eq!(charges.iter().map(|c| dec(&c["usd"])).sum::<Decimal>(), total, "{name}");

        // Every service the feed used is priced.
        for service in [
            "apiGateway",
            "lambda",
            "stepFunctions",
            "dynamoDb",
            "eventBridge",
            "cloudWatchLogs",
        ] {
            assert!(by_service.contains_key(service), "{name}: no {service} in {feed:#}");
        }
        let quantity = |item: &str| {
            charges
                .iter()
                .find(|c| c["item"] == item)
                .map_or(Decimal::ZERO, |c| dec(&c["quantity"]))
        };
        // Each persisted order was written at least once.
        assert!(
            quantity("write request units") >= Decimal::from(row.accepted as u64),
            "{name}: {feed:#}"
        );
        // One POST per feed; ingest, validate, transform, persist at least.
        assert_eq!(quantity("HTTP API requests"), Decimal::ONE, "{name}");
        assert!(quantity("requests") >= Decimal::from(4u32), "{name}: {feed:#}");
        assert_eq!(quantity("Express requests"), Decimal::ONE, "{name}");
    }
    // Every invocation is priced once: the REPORT lines of all functions
    // are the Lambda requests of the feeds and of the unattributed rest.
    let lambda_requests = |f: &Value| {
        f["charges"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["service"] == "lambda" && c["item"] == "requests"))
            .map(|c| dec(&c["quantity"]))
            .unwrap_or_default()
    };
    let reports = zb_local::logs::read(&state, None)
        .expect("log files")
        .iter()
        .filter(|e| e.message.contains("\"type\":\"platform.report\""))
        .count();
    let priced: Decimal = feeds.iter().map(lambda_requests).sum::<Decimal>() + lambda_requests(&report["unattributed"]);
    assert_eq!(priced, Decimal::from(reports as u64), "{report:#}");
    // Each partner's first request ran the authorizer (later ones may be
    // answered from API Gateway's cache); it is priced with that feed:
    // authorizer, ingest, validate, transform, persist, notify.
    for partner in ["partner-a", "partner-b"] {
        let first = feeds.iter().find(|f| f["partnerId"] == partner).expect("a feed");
        assert_eq!(lambda_requests(first), Decimal::from(6u32), "{first:#}");
    }

    // The demo's status polls belong to no feed: they are unattributed, not lost.
    let unattributed = &report["unattributed"];
    assert!(
        dec(&unattributed["byService"]["apiGateway"]) > Decimal::ZERO,
        "{unattributed:#}"
    );
    let parts: Decimal = feeds.iter().map(|f| dec(&f["usd"])).sum::<Decimal>() + dec(&unattributed["usd"]);
    assert_eq!(parts, dec(&report["total"]["usd"]));
    let partners: Decimal = report["partners"]
        .as_array()
        .expect("partners")
        .iter()
        .map(|p| dec(&p["usd"]))
        .sum();
    assert_eq!(partners, feeds.iter().map(|f| dec(&f["usd"])).sum::<Decimal>());
    let _ = std::fs::remove_dir_all(&state);
}

/// What a newcomer runs (README): `zb demo`, then `zb cost report` on its
/// state folder. A finished run leaves no invocation open and no other
/// warning.
#[test]
fn a_finished_demo_is_reported_without_warnings() {
    let state = std::env::temp_dir().join(format!("zb-demo-cost-{}", uuid::Uuid::new_v4().simple()));
    let zb = zb_tests::cloud::binaries().join("zb");
    let demo = std::process::Command::new(&zb)
        .args(["demo", "--binaries"])
        .arg(zb_tests::cloud::binaries())
        .arg("--state-dir")
        .arg(&state)
        .current_dir(repo())
        .output()
        .expect("zb demo runs");
    assert!(
        demo.status.success(),
        "zb demo: {}{}",
        String::from_utf8_lossy(&demo.stdout),
        String::from_utf8_lossy(&demo.stderr)
    );
    let report = std::process::Command::new(&zb)
        .args(["cost", "report", "--state-dir"])
        .arg(&state)
        .current_dir(repo())
        .output()
        .expect("zb cost report runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&report.stdout),
        String::from_utf8_lossy(&report.stderr),
    );
    assert!(report.status.success(), "{stdout}{stderr}");
    assert!(!stderr.to_lowercase().contains("warning"), "{stderr}");
    let _ = std::fs::remove_dir_all(&state);
}
