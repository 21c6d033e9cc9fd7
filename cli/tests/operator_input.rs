//! Operator input that used to panic (`--time-scale -1`, a huge `--overlap`,
//! counts of zero) is refused with a clear error, before anything starts.

use std::process::Command;

fn zb(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zb"))
        .args(args)
        .env_remove("ZB_DYNAMODB_ENDPOINT")
        .output()
        .expect("zb runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn bad_time_scales_are_refused_with_a_clear_error() {
    for cmd in ["up", "demo", "load"] {
        for bad in ["-1", "0", "NaN", "inf", "1e309"] {
            let (code, stderr) = zb(&[cmd, "--time-scale", bad]);
            assert_eq!(code, 2, "zb {cmd} --time-scale {bad}: {stderr}");
            assert!(
                stderr.contains("--time-scale") && stderr.contains("must be a finite number above 0"),
                "zb {cmd} --time-scale {bad}: {stderr}"
            );
        }
    }
}

#[test]
fn a_huge_overlap_is_refused_with_a_clear_error() {
    for cmd in ["rotate-key", "rotate-secret"] {
        let (code, stderr) = zb(&["partners", "--local", cmd, "acme-co", "--overlap", "99999999999999d"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("--overlap") && stderr.contains("at most 365d"),
            "{stderr}"
        );
    }
}

#[test]
fn counts_of_zero_are_refused_with_a_clear_error() {
    let (code, stderr) = zb(&["load", "--max-in-flight", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("must be a whole number of at least 1"), "{stderr}");
    let (code, stderr) = zb(&["up", "--max-instances", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--max-instances"), "{stderr}");
}

#[test]
fn logs_since_before_dates_go_reads_everything_instead_of_panicking() {
    let dir = std::env::temp_dir().join(format!("zb-logs-since-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (code, stderr) = zb(&["logs", "--state-dir", dir.to_str().unwrap(), "--since", "100000000000d"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(code == 0 || code == 1, "{code}: {stderr}");
}
