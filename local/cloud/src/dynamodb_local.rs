//! DynamoDB Local, started as a child process from the jar the Makefile
//! installs (scripts/dynamodb-local install), or a developer's own endpoint.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum DynamoError {
    #[error("DynamoDB Local is not installed at {0}; run `scripts/dynamodb-local install` (make run does it)")]
    NotInstalled(String),
    #[error("starting DynamoDB Local: {0}")]
    Spawn(std::io::Error),
    #[error("DynamoDB Local did not answer on port {0} within 30 s")]
    NoAnswer(u16),
}

/// A running DynamoDB Local; killed on drop.
pub struct DynamoLocal {
    pub endpoint: String,
    _child: Child,
}

/// `.cache/dynamodb-local` under the repo.
pub fn default_dir(repo: &Path) -> PathBuf {
    repo.join(".cache").join("dynamodb-local")
}

/// Where DynamoDB Local keeps its tables under a state folder: the same
/// lifetime as the execution histories and logs beside it (`zb reset`
/// deletes the whole folder).
pub fn data_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("dynamodb")
}

/// The arguments that make DynamoDB Local keep its data in `data` (one
/// shared database file, `shared-local-instance.db`, whatever the
/// credentials and region of the caller), or in memory when `data` is None.
pub fn storage_args(data: Option<&Path>) -> Vec<String> {
    match data {
        Some(dir) => vec!["-dbPath".into(), dir.display().to_string(), "-sharedDb".into()],
        None => vec!["-inMemory".into()],
    }
}

/// Starts DynamoDB Local on `port`, its tables kept in `<state_dir>/dynamodb`
/// so that they survive a restart on the same state folder.
pub async fn start(dir: &Path, port: u16, state_dir: &Path) -> Result<DynamoLocal, DynamoError> {
    let jar = dir.join("DynamoDBLocal.jar");
    if !jar.exists() {
        return Err(DynamoError::NotInstalled(jar.display().to_string()));
    }
    let work = data_dir(state_dir);
    std::fs::create_dir_all(&work).map_err(DynamoError::Spawn)?;
    // An absolute path: the child runs in `work`, so a relative one would nest.
    let work = work.canonicalize().unwrap_or(work);
    let child = Command::new("java")
        // C1 only: on a 2-core laptop C2's compiler threads compete with the
        // engine itself; `make load` held ~95 feeds/s with it against 58-104
        // without (BENCHMARKS.md), with a steadier p99.
        .arg("-XX:TieredStopAtLevel=1")
        .arg(format!(
            "-Djava.library.path={}",
            dir.join("DynamoDBLocal_lib").display()
        ))
        .arg("-jar")
        .arg(&jar)
        .args(storage_args(Some(&work)))
        .args(["-disableTelemetry", "-port", &port.to_string()])
        // DynamoDB Local writes a metadata file into its working directory.
        .current_dir(&work)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(DynamoError::Spawn)?;
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(DynamoLocal {
                endpoint: format!("http://127.0.0.1:{port}"),
                _child: child,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(DynamoError::NoAnswer(port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_kept_in_the_state_folder() {
        let state = Path::new("/tmp/zb-state");
        assert_eq!(data_dir(state), Path::new("/tmp/zb-state/dynamodb"));
        assert_eq!(
            storage_args(Some(&data_dir(state))),
            ["-dbPath", "/tmp/zb-state/dynamodb", "-sharedDb"]
        );
        assert_eq!(storage_args(None), ["-inMemory"]);
    }
}
