//! One way to aim `zb` at the local cloud: `--local` (and `--endpoint-url`,
//! `--dynamodb-endpoint`) accepted by every subcommand that talks to AWS; a
//! stopped cloud answered in one line that names the fix, without SDK
//! debug dumps; `-v` shows them. `zb partners` and `zb deliveries` reach the
//! tables only with `--direct`, which first warns, on one line of its own,
//! that it bypasses the admin API; without it they call the admin API.

use std::process::{Command, Output};

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn zb(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zb"));
    cmd.args(args).current_dir(repo()).env("NO_COLOR", "1");
    // Only the flags decide where the calls go.
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("ZB_") {
            cmd.env_remove(k);
        }
    }
    cmd.output().unwrap_or_else(|e| panic!("zb runs: {e}"))
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("addr: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

const DUMPS: [&str; 5] = ["DispatchFailure", "ConnectError", "ConnectorError", "hyper", "Os {"];

#[test]
fn a_stopped_cloud_gets_one_line_naming_the_fix() {
    let aws = format!("http://127.0.0.1:{}", closed_port());
    let ddb = format!("http://127.0.0.1:{}", closed_port());
    let at = ["--local", "--endpoint-url", &aws, "--dynamodb-endpoint", &ddb];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["partners", "list"], ddb.as_str()),
        (vec!["partners", "disable", "acme-co"], ddb.as_str()),
        (vec!["deliveries", "list"], ddb.as_str()),
        (vec!["executions", "list"], aws.as_str()),
        (
            vec!["invoke", "IngestFunction", "-e", "events/ingest-partner-a.json"],
            aws.as_str(),
        ),
        (
            vec![
                "test-state",
                "OrderPipelineStateMachine",
                "Transform",
                "--input-file",
                "events/transform.json",
            ],
            aws.as_str(),
        ),
    ];
    for (command, url) in cases {
        let mut args: Vec<&str> = command.clone();
        let direct = command[0] == "partners" || command[0] == "deliveries";
        if direct {
            args.splice(1..1, at);
            args.insert(1, "--direct");
        } else if command[0] == "executions" {
            args.splice(1..1, at);
        } else {
            // invoke and test-state take the AWS endpoint only.
            args.splice(1..1, at[..3].iter().copied());
        }
        let out = zb(&args);
        let full = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "zb {args:?}: {full}");
        let stderr = if direct {
            let (warning, rest) = full.split_once('\n').unwrap_or_default();
            assert!(
                warning.contains("--direct")
                    && warning.contains("bypassing the admin API, its roles and its audit log"),
                "zb {args:?}: no break-glass warning first:\n{full}"
            );
            rest.to_string()
        } else {
            full
        };
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "zb {args:?}: not one line:\n{stderr}"
        );
        assert!(
            stderr.contains("cannot reach") && stderr.contains(url) && stderr.contains("`make run`"),
            "zb {args:?}: {stderr}"
        );
        for dump in DUMPS {
            assert!(!stderr.contains(dump), "zb {args:?} printed {dump}: {stderr}");
        }
    }
}

#[test]
fn verbose_shows_the_details() {
    let ddb = format!("http://127.0.0.1:{}", closed_port());
    let out = zb(&[
        "-v",
        "partners",
        "--direct",
        "--local",
        "--dynamodb-endpoint",
        &ddb,
        "list",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.lines().nth(1).is_some_and(|l| l.contains("cannot reach")),
        "{stderr}"
    );
    assert!(
        stderr.contains("details:") && stderr.contains("DispatchFailure"),
        "{stderr}"
    );
}

#[test]
fn local_is_accepted_by_every_subcommand_that_talks_to_aws() {
    for command in [
        &["executions", "list"][..],
        &["executions", "show", "x"],
        &["executions", "watch"],
        &["invoke", "IngestFunction"],
        &["test-state", "OrderPipelineStateMachine", "Transform"],
        &["test-pattern", "NotifyRule"],
        &["partners", "list"],
        &["partners", "create", "--name", "n", "--format", "partner-a@1"],
        &["partners", "rotate-key", "p"],
        &["partners", "rotate-secret", "p"],
        &["partners", "set-webhook", "p", "--clear"],
        &["partners", "disable", "p"],
        &["deliveries", "list"],
        &["deliveries", "replay", "--partner", "p", "d"],
        &["cost", "report"],
        &["logs"],
    ] {
        // Before the subcommand, after it, and with the endpoints spelled out.
        let placements: [Vec<&str>; 3] = [
            [&["--local"][..], command, &["--help"]].concat(),
            [command, &["--local", "--help"]].concat(),
            [
                command,
                &[
                    "--endpoint-url",
                    "http://127.0.0.1:4100",
                    "--region",
                    "eu-west-1",
                    "-v",
                    "--help",
                ],
            ]
            .concat(),
        ];
        for args in placements {
            let out = zb(&args);
            assert_eq!(out.status.code(), Some(0), "zb {args:?}: {}", text(&out.stderr));
        }
    }
}

#[test]
fn deliveries_list_needs_no_partner() {
    let ddb = format!("http://127.0.0.1:{}", closed_port());
    // Parses without --partner: it fails only because nothing listens.
    let out = zb(&["deliveries", "--direct", "--dynamodb-endpoint", &ddb, "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot reach"), "{}", text(&out.stderr));
}

/// Without --direct the same commands call the admin API: a stopped one is
/// one line naming it, and nobody signed in is told to run `zb login`.
#[test]
fn the_admin_api_path_names_the_api_and_the_login() {
    let config = std::env::temp_dir().join(format!("zb-local-flags-{}", std::process::id()));
    let admin = format!("http://127.0.0.1:{}", closed_port());
    for command in [
        &["partners", "list"][..],
        &["deliveries", "list"],
        &["feeds", "list"],
        &["whoami"],
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zb"));
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("ZB_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(command).current_dir(repo()).env("ZB_CONFIG_DIR", &config);
        let out = cmd.output().unwrap_or_else(|e| panic!("zb runs: {e}"));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "zb {command:?}: {stderr}");
        assert!(
            stderr.contains("not signed in") && stderr.contains("zb login"),
            "zb {command:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "zb {command:?} printed on stdout");

        let out = cmd
            .args(["--admin-url", &admin])
            .env("ZB_ACCESS_TOKEN", "t")
            .output()
            .unwrap_or_else(|e| panic!("zb runs: {e}"));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "zb {command:?}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!("zb: error: cannot reach the admin API at {admin}: connection refused (is `make run` running?)"),
            "zb {command:?}"
        );
    }
}
