//! `zb logs --feed/--request` on a fixture state folder, and `zb reset`:
//! refused while something answers on the cloud's ports, else it deletes
//! the state folder.

use std::path::{Path, PathBuf};
use std::process::Command;

fn zb(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zb"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("zb runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        stderr,
    )
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zb-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("logs")).expect("temp folder");
    dir
}

fn write_log(state: &Path, function: &str, messages: &[&str]) {
    let lines: Vec<String> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            serde_json::json!({
                "logGroupName": format!("/aws/lambda/{function}"),
                "logStreamName": "2026/01/01/[$LATEST]00000001",
                "timestamp": 1_767_225_600_000i64 + i as i64,
                "message": m,
                "ingestionTime": 1_767_225_600_000i64 + i as i64,
            })
            .to_string()
        })
        .collect();
    std::fs::write(
        state.join("logs").join(format!("{function}.jsonl")),
        lines.join("\n") + "\n",
    )
    .expect("fixture");
}

#[test]
fn logs_filter_by_feed_and_by_request() {
    let state = temp("logs-feed");
    write_log(
        &state,
        "zb-ingest",
        &[
            r#"{"type":"platform.start","record":{"requestId":"L1","version":"$LATEST"}}"#,
            r#"{"level":"INFO","message":"feed accepted","span":{"feedId":"F-1","partnerId":"partner-a","requestId":"L1"}}"#,
            r#"{"type":"platform.report","record":{"requestId":"L1","metrics":{"durationMs":2.0,"billedDurationMs":2,"memorySizeMB":128,"maxMemoryUsedMB":20},"status":"success"}}"#,
            r#"{"type":"platform.start","record":{"requestId":"L2","version":"$LATEST"}}"#,
            r#"{"level":"INFO","message":"feed accepted","span":{"feedId":"F-2","partnerId":"partner-b","requestId":"L2"}}"#,
        ],
    );
    let dir = state.to_str().expect("utf-8 path");
    let (code, out, err) = zb(&["logs", "--state-dir", dir, "--feed", "F-1"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("START RequestId: L1"), "{out}");
    assert!(lines[1].contains("F-1"), "{out}");
    assert!(lines[2].contains("REPORT RequestId: L1"), "{out}");
    assert!(!out.contains("F-2"), "{out}");

    let (code, out, err) = zb(&["logs", "--state-dir", dir, "--request", "L2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("F-2") && !out.contains("F-1"), "{out}");

    // The help names functions that exist.
    let (_, help, _) = zb(&["logs", "--help"]);
    assert!(
        help.contains("zb-ingest") && !help.contains("zb-IngestFunction"),
        "{help}"
    );
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn reset_refuses_while_a_cloud_answers_and_else_deletes_the_state_folder() {
    let state = temp("reset");
    std::fs::create_dir_all(state.join("dynamodb")).expect("fixture");
    std::fs::write(state.join("dynamodb").join("shared-local-instance.db"), b"x").expect("fixture");
    let dir = state.to_str().expect("utf-8 path");
    // Three free ports, one of them held as a running cloud would.
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let held_port = held.local_addr().expect("addr").port().to_string();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port().to_string())
            .expect("free port")
    };
    let (api, ddb) = (free(), free());
    let args = |aws: &str| {
        vec![
            "reset".to_string(),
            "--state-dir".into(),
            dir.into(),
            "--api-port".into(),
            api.clone(),
            "--aws-port".into(),
            aws.into(),
            "--dynamodb-port".into(),
            ddb.clone(),
        ]
    };
    let refused = args(&held_port);
    let refused: Vec<&str> = refused.iter().map(String::as_str).collect();
    let (code, _, err) = zb(&refused);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("a local cloud is running") && err.contains(&held_port),
        "{err}"
    );
    assert!(state.join("dynamodb").exists(), "nothing deleted while refused");

    drop(held);
    let ok = args(&held_port);
    let ok: Vec<&str> = ok.iter().map(String::as_str).collect();
    let (code, out, err) = zb(&ok);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deleted"), "{out}");
    assert!(!state.exists());
    // Again: nothing left, still fine.
    let (code, out, _) = zb(&ok);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to delete"), "{out}");
}
