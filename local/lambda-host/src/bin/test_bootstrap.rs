//! A real lambda_runtime bootstrap for zb-lambda-host's integration tests.
//!
//! Per function, `ZB_TEST_MODE` picks how init goes:
//! * unset: a normal runtime;
//! * `exit-on-start`: exits with status 3 before asking for an invocation;
//! * `init-error`: reports `POST /runtime/init/error` through a hand-written HTTP request, then exits 1.
//!
//! Per invocation, the payload's `"op"` picks what the handler does; anything else is echoed back. `"call"` plays a
//! function calling an AWS API: after `"ms"` milliseconds it sends one request signed (in form only) with its
//! `AWS_ACCESS_KEY_ID` to the `"addr"` the test listens on, and returns what that server answered.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    match std::env::var("ZB_TEST_MODE").as_deref() {
        Ok("exit-on-start") => {
            eprintln!("test bootstrap: exiting during init");
            std::process::exit(3);
        }
        Ok("init-error") => {
            post_init_error()?;
            std::process::exit(1);
        }
        _ => {}
    }
    println!("test bootstrap: init pid {}", std::process::id());
    lambda_runtime::run(service_fn(handle)).await
}

fn number(payload: &Value, key: &str) -> u64 {
    payload.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn text<'a>(payload: &'a Value, key: &str, default: &'a str) -> &'a str {
    payload.get(key).and_then(Value::as_str).unwrap_or(default)
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    let pid = std::process::id();
    match payload.get("op").and_then(Value::as_str) {
        Some("whoami") => {
            let env: serde_json::Map<String, Value> = std::env::vars().map(|(k, v)| (k, Value::String(v))).collect();
            Ok(json!({
                "pid": pid,
                "requestId": context.request_id,
                "invokedFunctionArn": context.invoked_function_arn,
                "deadline": context.deadline,
                "xrayTraceId": context.xray_trace_id,
                "cwd": std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default(),
                "env": env,
            }))
        }
        Some("fail") => Err(Diagnostic {
            error_type: text(&payload, "errorType", "TestError").to_owned(),
            error_message: text(&payload, "errorMessage", "the test asked for an error").to_owned(),
        }),
        Some("sleep") => {
            let ms = number(&payload, "ms");
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(json!({ "pid": pid, "slept": ms }))
        }
        Some("alloc") => {
            let mb = usize::try_from(number(&payload, "mb")).unwrap_or(0);
            let mut block = vec![0u8; mb * 1024 * 1024];
            // Touch every page so it is resident, not just reserved.
            for (i, byte) in block.iter_mut().enumerate().step_by(4096) {
                *byte = (i % 251) as u8 + 1;
            }
            tokio::time::sleep(Duration::from_millis(number(&payload, "holdMs"))).await;
            let checksum: u64 = block.iter().step_by(4096).map(|b| u64::from(*b)).sum();
            Ok(json!({ "pid": pid, "mb": mb, "checksum": checksum }))
        }
        Some("call") => {
            tokio::time::sleep(Duration::from_millis(number(&payload, "ms"))).await;
            let addr = text(&payload, "addr", "").to_owned();
            let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_default();
            let signed_with = key.clone();
            let answer = tokio::task::spawn_blocking(move || signed_request(&addr, &signed_with))
                .await
                .map_err(|e| diagnostic("CallFailed", e))?
                .map_err(|e| diagnostic("CallFailed", e))?;
            Ok(json!({ "pid": pid, "accessKeyId": key, "answer": answer }))
        }
        Some("crash") => {
            eprintln!("test bootstrap: crashing");
            std::process::exit(i32::try_from(number(&payload, "code")).unwrap_or(1));
        }
        Some("print") => {
            for line in payload.get("stdout").and_then(Value::as_array).into_iter().flatten() {
                println!("{}", line.as_str().unwrap_or_default());
            }
            for line in payload.get("stderr").and_then(Value::as_array).into_iter().flatten() {
                eprintln!("{}", line.as_str().unwrap_or_default());
            }
            Ok(json!({ "pid": pid }))
        }
        _ => Ok(payload),
    }
}

fn diagnostic(error_type: &str, error: impl std::fmt::Display) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: error.to_string(),
    }
}

/// One HTTP/1.1 request carrying the access key the way SigV4 does (`Credential=<key>/<scope>`); the signature is a
/// placeholder, as the test server only reads the key. Returns the response body as JSON.
fn signed_request(addr: &str, access_key: &str) -> Result<Value, Error> {
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={access_key}/20240101/us-east-1/events/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Ok(serde_json::from_str(body)?)
}

/// What a runtime does when its own initialisation fails, without lambda_runtime (which only reports init errors
/// for SnapStart): one HTTP/1.1 request on a plain socket.
fn post_init_error() -> Result<(), Error> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
    let body = r#"{"errorMessage":"CONFIG_TABLE is not set","errorType":"Runtime.ConfigError"}"#;
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: Runtime.ConfigError\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(&api)?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    eprintln!(
        "test bootstrap: init error reported: {}",
        response.lines().next().unwrap_or_default()
    );
    Ok(())
}
