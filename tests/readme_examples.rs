//! README's shell examples, run as a newcomer runs them, so README cannot
//! drift from what `zb` and the local cloud do.
//!
//! Every ```sh / ```bash block in README.md runs, in order, under
//! `bash -euo pipefail` against one local cloud this test starts, unless its
//! first line is a visible mark: `# <reason>: not run by tests/readme_examples.rs`,
//! with one of the reasons in [`REASONS`]. A mark with another reason is a
//! failure, and so is a block that fails: the failure names the block's line
//! in README.md and its output.
//!
//! The blocks are written for `make run`: the fixed ports 3000 (partner API),
//! 3001 (admin API), 9229 (the local Cognito), 4000 (AWS endpoint) and 8000
//! (DynamoDB Local), stack `zb`, the partners of
//! `local/seed/partners.json`, `target/local/zb`, the repository root as the
//! working directory and `.state/` as the cloud's state folder. The test maps
//! each of these to its own cloud and nothing else:
//! - `127.0.0.1:3000`, `:3001`, `:9229`, `:4000`, `:8000` in a block's text become the test
//!   cloud's ports, and `--local` (the AWS endpoint on 127.0.0.1:4000 and
//!   DynamoDB on 127.0.0.1:8000) becomes `--endpoint-url` and
//!   `--dynamodb-endpoint` with the test cloud's;
//! - the blocks run in a copy of the repository root made of symbolic links,
//!   whose `.state/` is the test cloud's state folder and whose
//!   `target/local/zb` is the debug `zb` (`cargo build --workspace --bins`).
//!   No `zb` is put on PATH, and a bare `zb` in a block that runs is refused:
//!   README writes `target/local/zb`, which is what a newcomer has;
//! - the environment has AWS_REGION and dummy credentials but no
//!   AWS_DEFAULT_REGION (the AWS CLI v1 in `.venv/` reads only that one, so
//!   README's blocks must set it), no AWS config files and no endpoint
//!   variables.
//!
//! As in one terminal, shell variables a block sets (lower-case names, e.g.
//! `feed=$(curl ...)`) are seen by the blocks after it.
//!
//! Run: `cargo build --workspace --bins && scripts/with-dynamodb cargo test -p zb-tests --test readme_examples`

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zb_tests::cloud::{binaries, repo, start, Options};

/// What a skipped block's first line ends with.
const MARK: &str = "not run by tests/readme_examples.rs";

/// The reasons a block may be skipped for: `# <reason>: not run by tests/readme_examples.rs`.
const REASONS: &[&str] = &[
    // sam deploy, the AWS CLI against AWS, Logs Insights, CloudWatch sources.
    "needs AWS",
    // `make run`: it serves until Ctrl-C.
    "starts the local cloud in the foreground",
    // make fuzz, make load, make test, cargo install cargo-lambda, make sam-build...
    "too long for CI",
];

/// A block may run this long (`zb demo` on debug binaries is the slowest).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Block {
    /// The line of the opening fence in README.md (1-based).
    line: usize,
    text: String,
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Run,
    Skip(&'static str),
}

/// Every ```sh and ```bash block of `markdown`.
fn shell_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, bool, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = fence.strip_prefix("```") {
                    let lang = info.split_whitespace().next().unwrap_or("");
                    open = Some((i + 1, matches!(lang, "sh" | "bash" | "shell"), String::new()));
                }
            }
            Some((start, shell, text)) => {
                if fence.starts_with("```") {
                    if *shell {
                        blocks.push(Block {
                            line: *start,
                            text: std::mem::take(text),
                        });
                    }
                    open = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "README.md: a code block opened at line {} never closes",
        open.map_or(0, |o| o.0)
    );
    blocks
}

/// Run or skip, from the block's first line; an unknown reason is an error.
fn verdict(block: &Block) -> Result<Verdict, String> {
    let first = block.text.lines().next().unwrap_or("").trim();
    for (n, line) in block.text.lines().enumerate().skip(1) {
        if line.contains(MARK) {
            return Err(format!(
                "README.md line {}: the mark {MARK:?} must be the block's first line, found on line {}",
                block.line,
                block.line + 1 + n
            ));
        }
    }
    if !first.contains(MARK) {
        return Ok(Verdict::Run);
    }
    let reason = first
        .strip_prefix('#')
        .and_then(|r| r.strip_suffix(MARK))
        .map(|r| r.trim().trim_end_matches(':').trim())
        .ok_or_else(|| {
            format!(
                "README.md line {}: write the mark as `# <reason>: {MARK}`, got {first:?}",
                block.line
            )
        })?;
    REASONS
        .iter()
        .find(|r| **r == reason)
        .map(|r| Verdict::Skip(r))
        .ok_or_else(|| {
            format!(
                "README.md line {}: {reason:?} is not a reason to skip a block; one of {REASONS:?}",
                block.line
            )
        })
}

/// Lines that call a bare `zb`, which nothing puts on PATH.
fn bare_zb(block: &Block) -> Vec<String> {
    block
        .text
        .lines()
        .filter(|line| {
            let line = line.split(" #").next().unwrap_or("");
            line.trim_start().starts_with("zb ")
                || ["$(zb ", "| zb ", "; zb ", "&& zb ", "|| zb ", "`zb "]
                    .iter()
                    .any(|p| line.contains(p))
        })
        .map(str::to_string)
        .collect()
}

/// `--local` (the fixed local ports) as a whole word, replaced.
fn replace_flag(text: &str, flag: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(flag) {
        let after = &rest[i + flag.len()..];
        let before_ok = i == 0 || rest[..i].ends_with(char::is_whitespace);
        let after_ok = after.chars().next().is_none_or(char::is_whitespace);
        out.push_str(&rest[..i]);
        out.push_str(if before_ok && after_ok { with } else { flag });
        rest = after;
    }
    out.push_str(rest);
    out
}

fn host_port(url: &str) -> &str {
    url.trim_start_matches("http://").trim_end_matches('/')
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).unwrap_or_else(|e| panic!("README.md: {e}"))
}

/// No cloud needed: every block is runnable or visibly marked, and no
/// block that runs calls a bare `zb`.
#[test]
fn every_readme_block_runs_or_carries_a_recognised_mark() {
    let blocks = shell_blocks(&readme());
    assert!(
        blocks.len() >= 5,
        "README.md has {} shell blocks; the parser is broken",
        blocks.len()
    );
    let mut problems = Vec::new();
    let mut runs = 0;
    for block in &blocks {
        match verdict(block) {
            Err(e) => problems.push(e),
            Ok(Verdict::Skip(_)) => {}
            Ok(Verdict::Run) => {
                runs += 1;
                for line in bare_zb(block) {
                    problems.push(format!(
                        "README.md line {}: `zb` is not on PATH after `make run`; write target/local/zb: {line}",
                        block.line
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(runs > 0, "no README block runs");
}

#[test]
fn marks_and_bare_zb_are_recognised() {
    let block = |text: &str| Block {
        line: 7,
        text: text.into(),
    };
    assert_eq!(verdict(&block("curl -s x\n")), Ok(Verdict::Run));
    assert_eq!(
        verdict(&block("# needs AWS: not run by tests/readme_examples.rs\nsam deploy\n")),
        Ok(Verdict::Skip("needs AWS"))
    );
    assert!(verdict(&block("# flaky: not run by tests/readme_examples.rs\nx\n")).is_err());
    assert!(verdict(&block("x\n# needs AWS: not run by tests/readme_examples.rs\n")).is_err());
    assert_eq!(bare_zb(&block("zb logs\ntarget/local/zb logs\nx=$(zb y)\n")).len(), 2);
    assert_eq!(
        replace_flag("zb p --local list --local-x --local", "--local", "--d u"),
        "zb p --d u list --local-x --d u"
    );
    let parsed = shell_blocks("a\n```sh\none\n```\n```python\nx\n```\n```bash\ntwo\n```\n");
    assert_eq!(parsed.len(), 2);
    assert_eq!((parsed[0].line, parsed[0].text.as_str()), (2, "one\n"));
    assert_eq!((parsed[1].line, parsed[1].text.as_str()), (8, "two\n"));
}

/// A view of the repository root: a link to every entry but `.state` and
/// `target`; `.state` is `state` and `target/local/zb` the debug zb.
fn repository_view(dir: &Path, state: &Path) {
    let root = repo();
    std::fs::create_dir_all(dir.join("target/local")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", root.display()));
        let name = entry.file_name();
        if name == ".state" || name == "target" {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), dir.join(&name))
            .unwrap_or_else(|e| panic!("linking {}: {e}", entry.path().display()));
    }
    std::os::unix::fs::symlink(state, dir.join(".state")).unwrap_or_else(|e| panic!("linking .state: {e}"));
    let debug = binaries();
    std::os::unix::fs::symlink(debug.join("zb"), dir.join("target/local/zb"))
        .unwrap_or_else(|e| panic!("linking target/local/zb: {e}"));
    std::os::unix::fs::symlink(&debug, dir.join("target/debug"))
        .unwrap_or_else(|e| panic!("linking target/debug: {e}"));
}

struct Ran {
    ok: bool,
    status: String,
    output: String,
    seconds: f64,
}

/// Runs `script` with bash in `dir`, output (stdout and stderr interleaved) kept.
fn run_bash(dir: &Path, script: &str, vars: &Path, log: &Path) -> Ran {
    let out = std::fs::File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let err = out.try_clone().unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(script)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .env("ZB_README_VARS", vars)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_CONFIG_FILE", dir.join(".no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join(".no-aws-credentials"))
        .env("NO_COLOR", "1");
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("AWS_ENDPOINT_URL")
            || name.starts_with("ZB_")
            || matches!(
                name.as_str(),
                "AWS_DEFAULT_REGION" | "AWS_PROFILE" | "AWS_SESSION_TOKEN"
            )
        {
            cmd.env_remove(&name);
        }
    }
    // `zb login` keeps tokens in the user's config folder: a newcomer's is
    // empty, and the test must not write into the real one.
    cmd.env("ZB_CONFIG_DIR", dir.join(".zb-config"));
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("bash: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("bash: {e}")) {
            break Some(status);
        }
        if started.elapsed() > BLOCK_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    Ran {
        ok: status.is_some_and(|s| s.success()),
        status: status.map_or_else(
            || format!("killed after {} s", BLOCK_TIMEOUT.as_secs()),
            |s| s.to_string(),
        ),
        output,
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_shell_examples_run_against_a_local_cloud() {
    let blocks = shell_blocks(&readme());
    let id = uuid::Uuid::new_v4().simple().to_string();
    let work = std::env::temp_dir().join(format!("zb-readme-{}", &id[..12]));
    let view = work.join("repo");
    let state = work.join("state");
    std::fs::create_dir_all(&state).unwrap_or_else(|e| panic!("{}: {e}", state.display()));
    repository_view(&view, &state);

    let seed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("local/seed/partners.json"))
            .unwrap_or_else(|e| panic!("local/seed/partners.json: {e}")),
    )
    .unwrap_or_else(|e| panic!("local/seed/partners.json: {e}"));
    let cloud = start(Options {
        // README's commands use the default stack name, as `make run` does.
        stack: Some("zb".into()),
        state_dir: Some(state.clone()),
        seed,
        ..Options::default()
    })
    .await;
    let rewrite = |text: &str| {
        let text = text
            .replace("127.0.0.1:3000", host_port(&cloud.api_url))
            .replace("127.0.0.1:3001", host_port(&cloud.admin_api_url))
            .replace("127.0.0.1:9229", host_port(&cloud.cognito_url))
            .replace("127.0.0.1:4000", host_port(&cloud.aws_url))
            .replace("127.0.0.1:8000", host_port(&cloud.dynamodb_url));
        replace_flag(
            &text,
            "--local",
            &format!(
                "--endpoint-url {} --dynamodb-endpoint {}",
                cloud.aws_url, cloud.dynamodb_url
            ),
        )
    };

    let vars = work.join("vars.sh");
    std::fs::write(&vars, "").unwrap_or_else(|e| panic!("{}: {e}", vars.display()));
    let mut ran = 0;
    let mut skipped: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut failures = Vec::new();
    for block in &blocks {
        match verdict(block) {
            Err(e) => failures.push(e),
            Ok(Verdict::Skip(reason)) => skipped.entry(reason).or_default().push(block.line),
            Ok(Verdict::Run) => {
                ran += 1;
                let bare = bare_zb(block);
                if !bare.is_empty() {
                    failures.push(format!(
                        "README.md line {}: `zb` is not on PATH after `make run`; write target/local/zb:\n{}",
                        block.line,
                        bare.join("\n")
                    ));
                    continue;
                }
                let script = format!(
                    "set -euo pipefail\n. \"$ZB_README_VARS\"\n\
                     trap '__zb_vars=$(compgen -v | grep -E \"^[a-z][a-z0-9_]*$\" || true); \
                     if [ -n \"$__zb_vars\" ]; then declare -p $__zb_vars > \"$ZB_README_VARS\"; fi' EXIT\n{}",
                    rewrite(&block.text)
                );
                let log = work.join(format!("block-{}.log", block.line));
                let dir = view.clone();
                let vars = vars.clone();
                let r = tokio::task::spawn_blocking(move || run_bash(&dir, &script, &vars, &log))
                    .await
                    .unwrap_or_else(|e| panic!("running a block: {e}"));
                eprintln!(
                    "README.md line {}: {} in {:.1} s",
                    block.line,
                    if r.ok { "ok" } else { "FAILED" },
                    r.seconds
                );
                if !r.ok {
                    failures.push(format!(
                        "README.md line {}: the block failed ({}):\n{}--- output ---\n{}",
                        block.line, r.status, block.text, r.output
                    ));
                }
            }
        }
    }
    cloud.shutdown().await;

    let skips: usize = skipped.values().map(Vec::len).sum();
    eprintln!("README.md: {} shell blocks, {ran} ran, {skips} skipped", blocks.len());
    for (reason, lines) in &skipped {
        eprintln!("  skipped, {reason}: lines {lines:?}");
    }
    assert!(
        failures.is_empty(),
        "{} README block(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(ran > 0, "no README block ran");
    let _ = std::fs::remove_dir_all(&work);
}
