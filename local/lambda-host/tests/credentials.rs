//! Per-instance credentials (`HostOptions::mint_credentials`): what a function sees in its environment, and what
//! a local AWS endpoint learns from `LambdaHost::identify` when the function calls it. The functions are the real
//! test bootstrap (src/bin/test_bootstrap.rs); its `"call"` op sends a request carrying its access key to a small
//! server the test runs, which answers with what `identify` said about that key.
#![cfg(feature = "test-bootstrap")]

use std::collections::BTreeSet;
use std::time::Duration;

use regex::Regex;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use zb_lambda_host::{Caller, FunctionSpec, HostOptions, Invocation, InvokeContext, LambdaHost};

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_zb-lambda-host-test-bootstrap");

fn spec(name: &str, max_instances: usize) -> FunctionSpec {
    let mut spec = FunctionSpec::new(name, BOOTSTRAP);
    spec.timeout = Duration::from_secs(5);
    spec.max_instances = max_instances;
    // What the local cloud writes into every function's environment today; minting must win over it.
    spec.env.insert("AWS_ACCESS_KEY_ID".into(), "local".into());
    spec.env.insert("AWS_SECRET_ACCESS_KEY".into(), "local".into());
    spec
}

fn start(functions: Vec<FunctionSpec>, mint_credentials: bool) -> LambdaHost {
    let (sink, logs) = mpsc::unbounded_channel();
    // Log lines are not under test here; dropping the receiver makes the host discard them.
    drop(logs);
    let options = HostOptions {
        mint_credentials,
        ..HostOptions::default()
    };
    LambdaHost::with_options(functions, sink, options)
}

async fn call(host: &LambdaHost, function: &str, payload: Value) -> Invocation {
    host.invoke(function, payload.to_string().into_bytes()).await.unwrap()
}

fn body(invocation: &Invocation) -> Value {
    match &invocation.result {
        Ok(bytes) => serde_json::from_slice(bytes).unwrap(),
        Err(e) => panic!("invocation failed: {e}"),
    }
}

fn env_of(invocation: &Invocation) -> Value {
    body(invocation)["env"].clone()
}

fn key_of(invocation: &Invocation) -> String {
    env_of(invocation)["AWS_ACCESS_KEY_ID"].as_str().unwrap().to_owned()
}

fn caller_json(caller: Option<Caller>) -> Value {
    caller.map_or(
        Value::Null,
        |c| json!({ "function": c.function, "instance": c.instance, "requestId": c.request_id }),
    )
}

/// A stand-in for the local AWS endpoint: takes the access key out of each request's `Authorization` header and
/// answers with what the host says about it. Returns the address to give the functions.
async fn endpoint(host: LambdaHost) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let key_in = Regex::new(r"(?im)^authorization:.*\bCredential=([^/]+)/").unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let caller = key_in.captures(&head).and_then(|c| host.identify(&c[1]));
            let answer = caller_json(caller).to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    addr
}

#[tokio::test]
async fn each_instance_has_its_own_keys_and_its_calls_are_attributed_to_it() {
    let host = start(vec![spec("alpha", 2), spec("beta", 1)], true);
    let addr = endpoint(host.clone()).await;
    // Two overlapping invocations of alpha need two instances; beta runs alongside.
    let slow_call = json!({"op": "call", "ms": 300, "addr": addr});
    let (a1, a2, b) = tokio::join!(
        call(&host, "alpha", slow_call.clone()),
        call(&host, "alpha", slow_call.clone()),
        call(&host, "beta", slow_call.clone()),
    );
    assert_ne!(a1.instance, a2.instance, "two concurrent invocations, two instances");

    let sts_key = Regex::new(r"^ASIA[A-Z2-7]{16}$").unwrap();
    let mut keys = BTreeSet::new();
    for (function, inv) in [("alpha", &a1), ("alpha", &a2), ("beta", &b)] {
        let out = body(inv);
        let key = out["accessKeyId"].as_str().unwrap();
        assert!(sts_key.is_match(key), "{key}");
        keys.insert(key.to_owned());
        // What the endpoint learnt from the key while the call was being made.
        assert_eq!(
            out["answer"],
            json!({"function": function, "instance": inv.instance, "requestId": inv.request_id}),
            "{function}"
        );
    }
    assert_eq!(keys.len(), 3, "every instance has a key of its own: {keys:?}");

    // Between invocations the key still names its instance, with no request running.
    let beta_key = body(&b)["accessKeyId"].as_str().unwrap().to_owned();
    assert_eq!(
        host.identify(&beta_key),
        Some(Caller {
            function: "beta".into(),
            instance: b.instance,
            request_id: None,
        })
    );
    // Keys the host never minted are nobody's.
    assert_eq!(host.identify("local"), None);
    assert_eq!(host.identify("ASIAAAAAAAAAAAAAAAAA"), None);
    host.shutdown().await;
}

#[tokio::test]
async fn identify_names_the_request_an_instance_is_running_while_it_runs() {
    let host = start(vec![spec("worker", 1)], true);
    let warm = call(&host, "worker", json!({"op": "whoami"})).await;
    let key = key_of(&warm);

    // A long invocation with a request id of our choosing, looked up from this task while it runs.
    let running = tokio::spawn({
        let host = host.clone();
        async move {
            let context = InvokeContext {
                request_id: Some("req-during".into()),
                ..InvokeContext::default()
            };
            let payload = json!({"op": "sleep", "ms": 1000}).to_string().into_bytes();
            host.invoke_with("worker", payload, context).await
        }
    });
    let seen = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(caller) = host.identify(&key).filter(|c| c.request_id.is_some()) {
                return caller;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the running request never showed up in identify()");
    assert_eq!(
        seen,
        Caller {
            function: "worker".into(),
            instance: warm.instance,
            request_id: Some("req-during".into()),
        }
    );
    let done = running.await.unwrap().unwrap();
    assert_eq!(done.instance, warm.instance, "the warm instance ran it");
    assert_eq!(host.identify(&key).and_then(|c| c.request_id), None, "finished");
    host.shutdown().await;
}

#[tokio::test]
async fn a_warm_instance_keeps_its_keys_and_a_new_one_gets_new_keys() {
    let host = start(vec![spec("crashy", 1)], true);
    let first = call(&host, "crashy", json!({"op": "whoami"})).await;
    let again = call(&host, "crashy", json!({"op": "whoami"})).await;
    assert_eq!(again.instance, first.instance);
    assert_eq!(
        key_of(&again),
        key_of(&first),
        "same execution environment, same credentials"
    );

    let crashed = call(&host, "crashy", json!({"op": "crash", "code": 2})).await;
    assert!(crashed.result.is_err());
    let after = call(&host, "crashy", json!({"op": "whoami"})).await;
    assert_ne!(after.instance, first.instance);
    assert_ne!(key_of(&after), key_of(&first), "a fresh instance, fresh credentials");

    // The dead instance's key is still attributed, so a call that arrives late is not anonymous.
    assert_eq!(
        host.identify(&key_of(&first)),
        Some(Caller {
            function: "crashy".into(),
            instance: first.instance,
            request_id: None,
        })
    );
    host.shutdown().await;
    assert_eq!(
        host.identify(&key_of(&after)).map(|c| (c.function, c.instance)),
        Some(("crashy".to_owned(), after.instance)),
        "still known after shutdown"
    );
}

#[tokio::test]
async fn the_functions_environment_cannot_replace_minted_credentials() {
    let mut f = spec("spoofer", 1);
    f.env.insert("AWS_SESSION_TOKEN".into(), "spoofed".into());
    f.env.insert("ORDERS_TABLE".into(), "orders-local".into());
    let host = start(vec![f], true);
    let inv = call(&host, "spoofer", json!({"op": "whoami"})).await;
    let env = env_of(&inv);
    assert!(env["AWS_ACCESS_KEY_ID"].as_str().unwrap().starts_with("ASIA"), "{env}");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"].as_str().unwrap().len(), 40, "{env}");
    assert_ne!(env["AWS_SECRET_ACCESS_KEY"], "local");
    let token = env["AWS_SESSION_TOKEN"].as_str().unwrap();
    assert!(!token.is_empty() && token != "spoofed", "{env}");
    // Ordinary variables still come through.
    assert_eq!(env["ORDERS_TABLE"], "orders-local");
    assert_eq!(
        host.identify(env["AWS_ACCESS_KEY_ID"].as_str().unwrap())
            .map(|c| c.function),
        Some("spoofer".to_owned())
    );
    host.shutdown().await;
}

#[tokio::test]
async fn without_minting_the_function_keeps_the_credentials_it_was_given() {
    let host = start(vec![spec("plain", 2)], false);
    let addr = endpoint(host.clone()).await;
    let slow_call = json!({"op": "call", "ms": 200, "addr": addr});
    let (one, two) = tokio::join!(
        call(&host, "plain", slow_call.clone()),
        call(&host, "plain", slow_call.clone())
    );
    assert_ne!(one.instance, two.instance);
    for inv in [&one, &two] {
        let out = body(inv);
        assert_eq!(out["accessKeyId"], "local");
        assert_eq!(out["answer"], Value::Null, "nobody is identified by \"local\"");
    }
    let env = env_of(&call(&host, "plain", json!({"op": "whoami"})).await);
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "local");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "local");
    assert!(env.get("AWS_SESSION_TOKEN").is_none(), "{env}");
    host.shutdown().await;
}
