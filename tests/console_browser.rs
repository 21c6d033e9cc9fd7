//! The ops console in a real browser (issue 15).
//!
//! A local cloud serves the console at `<partner API>/console/` (standing in
//! for CloudFront + S3), its admin API and its Cognito hosted UI. This test
//! prepares a world through the public endpoints only - a finished demo feed,
//! a feed FAILED by an injected fault, a DEAD webhook delivery - then runs
//! `node console/tests/console.mjs`, which drives Debian's Chromium through
//! playwright-core as three operators (ops, admin, finance) signed in through
//! the hosted UI, with axe-core on every main page. Afterwards the effects of
//! what the browser clicked are checked on the server side: the failed feed
//! was redriven and completed, the dead delivery was replayed, the partner
//! onboarded in the browser exists and the feed posted with its new key was
//! stored, and the audit log names the operators who did each.
//!
//! A second test runs the console's Node unit tests (`console/tests/*.test.mjs`).
//!
//! Neither skips: without Chromium or console/node_modules they fail and say
//! to run `make browser` (which `make test` runs first).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zb_tests::cloud::{repo, start, Options};
use zb_tests::operators::{login, urlencode, AdminApi, Endpoints, ADMIN, OPS};
use zb_tests::receiver::Receiver;

/// How long a feed, a redrive or a replay may take to finish.
const WAIT: Duration = Duration::from_secs(120);
/// One browser step (a page, a click and what it shows) in console.mjs.
const STEP_MS: u64 = 20_000;
/// The whole browser run; console.mjs stops itself at this bound...
const BROWSER_MS: u64 = 360_000;
/// ...and this test kills it a little later if it did not.
const BROWSER_KILL: Duration = Duration::from_secs(390);
const CHROMIUM: &str = "/usr/bin/chromium";
const SECRET_B: &str = "whsec_c2Vjb25kIHNlY3JldCBmb3IgdGhlIHRlc3Q=";
/// The partner the admin onboards in the browser; the admin API slugs its id from the name.
const NEW_PARTNER: &str = "Browser Onboarded";
/// A built-in format, the one the demo's Partner A uses.
const NEW_PARTNER_FORMAT: &str = "partner-a@1";

// ------------------------------------------------------------------ tools

/// Chromium, the console's node_modules and node itself, or a panic naming `make browser`.
fn browser_tools() {
    let modules = repo().join("console/node_modules");
    let mut missing: Vec<String> = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(CHROMIUM.to_string());
    }
    for package in ["playwright-core", "axe-core"] {
        let manifest = modules.join(package).join("package.json");
        if !manifest.exists() {
            missing.push(manifest.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "the browser tests need {}: run `make browser` (Debian's chromium via apt-get, `npm ci` in console/)",
        missing.join(" and ")
    );
    node_available();
}

fn node_available() {
    let version = Command::new("node").arg("--version").output();
    match version {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`node --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("no `node` on PATH ({e}): the console's tests run under Node.js 20+"),
    }
}

/// target/console-screenshots (ignored by git), under CARGO_TARGET_DIR when set.
fn screenshot_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target"))
        .join("console-screenshots")
}

/// Runs `node <args>` in the repository, streaming its output line by line
/// (shown with --nocapture, and on failure), killed after `limit`. Its exit
/// status and every line it printed.
fn run_node(args: &[&str], limit: Duration) -> (std::process::ExitStatus, Vec<String>) {
    let mut child = Command::new("node")
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("node {}: {e}", args.join(" ")));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    for (stream, name) in [
        (
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            "out",
        ),
        (
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            "err",
        ),
    ] {
        let Some(stream) = stream else { continue };
        let lines = lines.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                println!("[node {name}] {line}");
                if let Ok(mut all) = lines.lock() {
                    all.push(line);
                }
            }
        }));
    }
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > limit => {
                // node's own watchdog should have ended it first; this is the last resort.
                let _ = child.kill();
                let _ = child.wait();
                panic!("node {} ran longer than {limit:?} and was killed", args.join(" "));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("waiting for node: {e}"),
        }
    };
    for r in readers {
        let _ = r.join();
    }
    let all = lines.lock().map(|l| l.clone()).unwrap_or_default();
    (status, all)
}

// ------------------------------------------------------------------ the world

/// Replaces the demo samples' "NOW" / "NOW-<ms>" placeholders, as `zb demo` does.
fn fill_times(v: &mut Value, now_ms: i64) {
    match v {
        Value::String(s) if s == "NOW" => *v = json!(chrono::Utc::now().to_rfc3339()),
        Value::String(s) if s.starts_with("NOW-") => {
            let back: i64 = s[4..].parse().unwrap_or(0);
            *v = json!(now_ms - back);
        }
        Value::Array(a) => a.iter_mut().for_each(|x| fill_times(x, now_ms)),
        Value::Object(o) => o.values_mut().for_each(|x| fill_times(x, now_ms)),
        _ => {}
    }
}

struct World {
    http: reqwest::Client,
    api_url: String,
    api: AdminApi,
    seed: Value,
}

impl World {
    fn key_of(&self, partner: &str) -> String {
        self.seed
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["partnerId"] == partner))
            .and_then(|p| p["apiKey"].as_str())
            .unwrap_or_else(|| panic!("no seeded key for {partner}"))
            .to_string()
    }

    /// Posts the demo sample local/seed/feeds/<file> as its partner; (feedId, partnerId).
    async fn post_sample(&self, file: &str) -> (String, String) {
        let path = repo().join("local/seed/feeds").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let sample: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let partner = sample["partner"].as_str().expect("partner").to_string();
        let content_type = sample["contentType"].as_str().expect("contentType");
        let mut body = sample["body"].clone();
        fill_times(&mut body, chrono::Utc::now().timestamp_millis());
        let key = self.key_of(&partner);
        let r = zb_tests::post_feed_http(&self.http, &self.api_url, &key, content_type, &body).await;
        let status = r.status().as_u16();
        let answer: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 202, "POST /v1/feeds ({file}): {answer}");
        let feed_id = answer["feedId"].as_str().expect("feedId").to_string();
        (feed_id, partner)
    }

    /// Polls the partner API until the feed has left RECEIVED.
    async fn finished(&self, partner: &str, feed_id: &str) -> Value {
        let key = self.key_of(partner);
        let started = Instant::now();
        loop {
            let (status, feed) =
                zb_tests::get_http(&self.http, &self.api_url, &key, &format!("/v1/feeds/{feed_id}")).await;
            assert_eq!(status, 200, "{feed}");
            if feed["status"] != "RECEIVED" {
                return feed;
            }
            assert!(started.elapsed() < WAIT, "feed {feed_id} still RECEIVED: {feed}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls the admin API until the feed's status satisfies `done`.
    async fn admin_feed_until(&self, token: &str, feed_id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let r = self
                .api
                .call("GET", &format!("/v1/admin/feeds/{feed_id}"), Some(token), None)
                .await;
            if r.status == 200 && done(&r.body) {
                return r.body;
            }
            assert!(
                started.elapsed() < WAIT,
                "GET /v1/admin/feeds/{feed_id}: {} {}",
                r.status,
                r.body
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

// ------------------------------------------------------------------ the browser test

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operators_use_the_console_in_a_real_browser_and_its_actions_reach_the_server() {
    browser_tools();

    // The demo's partners; Partner B's webhook answers 410 Gone, so its first
    // notification is DEAD at once. RecordErrors fails once with an error no
    // Retry matches: the mixed demo feed ends FAILED (as in tests/e2e_admin.rs).
    let gone = Receiver::start(vec![410]).await;
    let seed_file = repo().join("local/seed/partners.json");
    let mut seed: Value = serde_json::from_str(&std::fs::read_to_string(&seed_file).expect("partners.json"))
        .expect("partners.json is JSON");
    seed[1]["webhookUrl"] = json!(gone.url);
    seed[1]["webhookSecret"] = json!(SECRET_B);
    let cloud = start(Options {
        seed: seed.clone(),
        faults: vec![("RecordErrorFunction".into(), "StoreError*1".into())],
        parameters: vec![("WebhookRetrySchedule".into(), "1,2,2,2,2,2,2".into())],
        ..Options::default()
    })
    .await;
    let endpoints = Endpoints::read(cloud.state_dir());
    let http = reqwest::Client::new();
    let world = World {
        http: http.clone(),
        api_url: cloud.api_url.clone(),
        api: AdminApi::new(&cloud.admin_api_url),
        seed,
    };
    let ops = login(&http, &endpoints, OPS).await.access;
    let admin = login(&http, &endpoints, ADMIN).await.access;

    // The console is served by the partner API's port; without it the browser has nothing to open.
    let console_url = format!("{}/console/", cloud.api_url);
    let config = http
        .get(format!("{console_url}config.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {console_url}config.json: {e}"));
    let config_status = config.status().as_u16();
    let config: Value = config.json().await.unwrap_or(Value::Null);
    assert_eq!(
        config_status, 200,
        "the local cloud does not serve the console's config.json at {console_url}config.json: {config}"
    );
    assert_eq!(config["adminApi"], json!(cloud.admin_api_url), "{config}");

    // 1. A finished demo feed (every order stored, no rejection: RecordErrors never runs).
    let (demo_feed, demo_partner) = world.post_sample("01-partner-a-good.json").await;
    let demo = world.finished(&demo_partner, &demo_feed).await;
    assert_eq!(demo["status"], "COMPLETED", "{demo}");
    // 2. A FAILED feed: its rejections reach RecordErrors, which fails once.
    let (failed_feed, failed_partner) = world.post_sample("02-partner-a-mixed.json").await;
    let failed = world.finished(&failed_partner, &failed_feed).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");
    // 3. A DEAD delivery: Partner B's notification, answered 410.
    let (b_feed, b_partner) = world.post_sample("04-partner-b-good.json").await;
    world.finished(&b_partner, &b_feed).await;
    let dead_delivery = {
        let started = Instant::now();
        loop {
            let page = world
                .api
                .get_ok("/v1/admin/deliveries?partnerId=partner-b&status=DEAD", &ops)
                .await;
            if let Some(d) = page["items"].as_array().and_then(|i| i.first()) {
                break d["deliveryId"].as_str().expect("deliveryId").to_string();
            }
            assert!(started.elapsed() < WAIT, "no DEAD delivery: {page}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    // The operator fixes the cause before clicking Redrive: no fault is left.
    cloud.services.host.clear_faults();

    // The operators and their passwords, as the local Cognito seeded them.
    let operators: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("local/seed/operators.json")).expect("operators.json"),
    )
    .expect("operators.json is JSON");
    let user = |name: &str| {
        operators["users"]
            .as_array()
            .and_then(|us| us.iter().find(|u| u["username"] == name))
            .map(|u| json!({"username": u["username"], "password": u["password"]}))
            .unwrap_or_else(|| panic!("no {name} in local/seed/operators.json"))
    };

    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("{}: {e}", shots.display()));
    // An old failure-*.png would mislead. The page pictures are not removed:
    // another run of this test may be writing the same folder right now, so
    // each is checked to be newer than this run instead.
    for old in std::fs::read_dir(&shots).into_iter().flatten().flatten() {
        if old.file_name().to_string_lossy().starts_with("failure-") {
            let _ = std::fs::remove_file(old.path());
        }
    }
    let run_started = std::time::SystemTime::now();
    let facts_file = cloud.state_dir().join("console-facts.json");
    let result_file = cloud.state_dir().join("console-result.json");
    let facts = json!({
        "consoleUrl": console_url,
        "partnerApi": cloud.api_url,
        "adminApi": cloud.admin_api_url,
        "cognitoUrl": cloud.cognito_url,
        "users": {"admin": user("admin"), "ops": user("ops"), "finance": user("finance")},
        "demoFeed": {"feedId": demo_feed, "partnerId": demo_partner},
        "failedFeed": {"feedId": failed_feed, "partnerId": failed_partner},
        "deadDelivery": {"partnerId": "partner-b", "deliveryId": dead_delivery},
        "newPartner": {"name": NEW_PARTNER, "format": NEW_PARTNER_FORMAT},
        "screenshotDir": shots,
        "resultFile": result_file,
        "stepTimeoutMs": STEP_MS,
        "totalTimeoutMs": BROWSER_MS,
    });
    std::fs::write(&facts_file, facts.to_string()).unwrap_or_else(|e| panic!("{}: {e}", facts_file.display()));

    // The browser, on a blocking thread: the cloud keeps serving on the runtime's workers.
    let script = repo().join("console/tests/console.mjs");
    let args = [script.display().to_string(), facts_file.display().to_string()];
    let (status, lines) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_node(&args, BROWSER_KILL)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let result: Value = std::fs::read_to_string(&result_file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    assert!(
        status.success(),
        "console.mjs failed ({status}) at step {}:\n{}\n(screenshots in {})",
        result["failure"]["step"],
        lines
            .iter()
            .rev()
            .take(40)
            .rev()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        shots.display()
    );
    for name in [
        "overview.png",
        "feeds.png",
        "execution.png",
        "execution-failed.png",
        "execution-delivery.png",
        "deliveries.png",
        "partners.png",
        "cost.png",
    ] {
        let modified = std::fs::metadata(shots.join(name)).and_then(|m| m.modified());
        assert!(
            modified.is_ok_and(|t| t >= run_started),
            "no screenshot {name} from this run in {}",
            shots.display()
        );
    }

    // The failed feed was redriven from the browser: one redrive, its
    // execution `<feedId>-redrive-1` started by the redrive, and it completed
    // now that the fault is gone (with the mixed feed's rejections).
    let redriven = world
        .admin_feed_until(&ops, &failed_feed, |f| {
            f["status"].as_str().is_some_and(|s| s.starts_with("COMPLETED"))
        })
        .await;
    // redriveCount is optional in AdminFeed (openapi-admin.yaml); when it is there, it is 1.
    if let Some(count) = redriven.get("redriveCount") {
        assert_eq!(count, &json!(1), "{redriven}");
    }
    let started = Instant::now();
    let executions = loop {
        let r = world
            .api
            .call(
                "GET",
                &format!("/v1/admin/feeds/{failed_feed}/executions"),
                Some(&ops),
                None,
            )
            .await;
        assert_eq!(
            r.status, 200,
            "GET /v1/admin/feeds/{failed_feed}/executions: {}",
            r.body
        );
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        let redrive = items
            .iter()
            .find(|e| e["name"] == json!(format!("{failed_feed}-redrive-1")));
        if redrive.is_some_and(|e| e["status"] == "SUCCEEDED") {
            break items;
        }
        assert!(
            started.elapsed() < WAIT,
            "no SUCCEEDED execution {failed_feed}-redrive-1: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let by: Vec<(&str, &str)> = executions
        .iter()
        .map(|e| (e["name"].as_str().unwrap_or(""), e["by"].as_str().unwrap_or("")))
        .collect();
    assert!(
        by.contains(&(format!("{failed_feed}-redrive-1").as_str(), "redrive")),
        "{by:?}"
    );

    // The dead delivery was replayed from the browser (the webhook still
    // answers 410, so it is DEAD again, replayed once).
    let deliveries = world
        .api
        .all("/v1/admin/deliveries?partnerId=partner-b&limit=100", &ops)
        .await;
    let delivery = deliveries
        .iter()
        .find(|d| d["deliveryId"] == json!(dead_delivery))
        .unwrap_or_else(|| panic!("{dead_delivery} is not listed: {}", Value::from(deliveries.clone())));
    assert!(
        delivery["replays"].as_u64().unwrap_or(0) >= 1,
        "the delivery was not replayed: {delivery}"
    );

    // The partner onboarded in the browser exists, and the feed its new key
    // posted was stored in full.
    let partners = world.api.all("/v1/admin/partners?limit=100", &admin).await;
    let onboarded = partners
        .iter()
        .find(|p| p["name"] == NEW_PARTNER)
        .unwrap_or_else(|| panic!("no partner named {NEW_PARTNER}: {}", Value::from(partners.clone())));
    assert_eq!(onboarded["format"], NEW_PARTNER_FORMAT, "{onboarded}");
    assert_eq!(onboarded["status"], "ACTIVE", "{onboarded}");
    let new_partner_id = onboarded["partnerId"].as_str().expect("partnerId").to_string();
    let new_feed = result["newPartner"]["feedId"]
        .as_str()
        .unwrap_or_else(|| panic!("console.mjs reported no feed for the new partner: {result}"))
        .to_string();
    let orders = result["newPartner"]["orders"].as_u64().unwrap_or(0);
    let stored = world
        .admin_feed_until(&admin, &new_feed, |f| f["status"] != "RECEIVED")
        .await;
    assert_eq!(stored["partnerId"], json!(new_partner_id), "{stored}");
    assert_eq!(stored["status"], "COMPLETED", "{stored}");
    assert_eq!(stored["counts"]["persisted"], json!(orders), "{stored}");
    let persisted = world
        .api
        .all(
            &format!("/v1/admin/orders?partnerId={}", urlencode(&new_partner_id)),
            &admin,
        )
        .await;
    assert_eq!(persisted.len() as u64, orders, "{}", Value::from(persisted.clone()));

    // Each change is audited under the operator who clicked it.
    let audit = world.api.all("/v1/admin/audit?limit=100", &admin).await;
    for (action, actor) in [
        ("feed.redrive", "ops"),
        ("delivery.replay", "ops"),
        ("partner.create", "admin"),
    ] {
        assert!(
            audit
                .iter()
                .any(|e| e["action"] == action && e["actor"]["username"] == actor),
            "no {action} by {actor} in the audit log: {}",
            Value::from(audit.clone())
        );
    }

    drop(gone);
    cloud.shutdown().await;
}

// ------------------------------------------------------------------ the console's unit tests

/// `node --test` on console/tests/*.test.mjs (the ASL graph's outcome logic, ...).
#[test]
fn the_consoles_node_unit_tests_pass() {
    let dir = repo().join("console/tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        println!("no *.test.mjs in {}: no console unit tests to run", dir.display());
        return;
    }
    node_available();
    // The files are named one by one: node 20 and 22 read a directory argument differently.
    let mut args = vec!["--test".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, lines) = run_node(&args, Duration::from_secs(120));
    assert!(status.success(), "node --test failed ({status}):\n{}", lines.join("\n"));
}
