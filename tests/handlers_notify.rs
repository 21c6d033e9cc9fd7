//! notify against a real HTTP receiver on 127.0.0.1 and a partners table
//! in DynamoDB Local.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::{json, Value};
use zb_tests::api::{eventbridge_event, from_json, lambda_event};
use zb_tests::receiver::Receiver;
use zb_tests::wiring::Env;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn persisted_event() -> EventBridgeEvent<Value> {
    from_json(eventbridge_event(
        "OrdersPersisted",
        &json!({"feedId": "0190b6b0-0000-7000-8000-000000000001", "partnerId": "partner-a",
                "correlationId": "corr-1", "status": "COMPLETED",
                "counts": {"received": 1, "persisted": 1, "duplicate": 0, "rejected": 0}}),
    ))
}

async fn env_with_webhook(url: Option<&str>) -> Env {
    let env = Env::new().await;
    let webhook = url.map(|u| (u, SECRET));
    zb_tests::seed_partner(
        &env.ddb,
        &env.tables.partners,
        "partner-a",
        "partner-a@1",
        "key-a",
        webhook,
    )
    .await;
    env
}

#[tokio::test]
async fn a_partner_with_a_webhook_gets_a_signed_notification() {
    let receiver = Receiver::start(vec![204]).await;
    let env = env_with_webhook(Some(&receiver.url)).await;
    let event = persisted_event();
    let event_id = event.id.clone().unwrap();
    let app = env.notify(notify::http_client().unwrap());
    let delivery = notify::handler(&app, lambda_event(event)).await.expect("delivered");
    assert_eq!(
        delivery,
        notify::Delivery::Delivered {
            webhook_id: format!("msg_{event_id}"),
            status: 204
        }
    );

    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let h = &got[0].headers;
    assert_eq!(h["webhook-id"], format!("msg_{event_id}"));
    assert_eq!(h["content-type"], "application/json");
    let ts: i64 = h["webhook-timestamp"].parse().unwrap();
    assert_eq!(ts, zb_tests::fixtures::now().timestamp());
    // The receiver verifies as a partner would: HMAC over id.timestamp.body.
    zb_shared::signing::verify(
        SECRET,
        &h["webhook-id"],
        ts,
        &got[0].body,
        &h["webhook-signature"],
        ts,
        300,
    )
    .expect("the signature verifies");
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["type"], "orders.persisted");
    assert_eq!(body["data"]["feedId"], "0190b6b0-0000-7000-8000-000000000001");
    assert_eq!(body["data"]["counts"]["persisted"], 1);
}

#[tokio::test]
async fn a_non_2xx_answer_fails_the_invocation_so_the_platform_retries() {
    let receiver = Receiver::start(vec![503, 200]).await;
    let env = env_with_webhook(Some(&receiver.url)).await;
    let app = env.notify(notify::http_client().unwrap());
    let event = persisted_event();
    let err = notify::handler(&app, lambda_event(event.clone())).await.unwrap_err();
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "WebhookDeliveryFailed"
    );
    // The platform's retry of the same event carries the same webhook-id.
    notify::handler(&app, lambda_event(event))
        .await
        .expect("second attempt delivered");
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"]);
}

#[tokio::test]
async fn an_unreachable_or_slow_endpoint_fails_the_invocation() {
    // A port nothing listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = env_with_webhook(Some(&format!("http://127.0.0.1:{port}/hook"))).await;
    let app = env.notify(notify::http_client().unwrap());
    let err = notify::handler(&app, lambda_event(persisted_event()))
        .await
        .unwrap_err();
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "WebhookDeliveryFailed"
    );

    // An endpoint that accepts but never answers hits the client timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", silent.local_addr().unwrap());
    let env = env_with_webhook(Some(&url)).await;
    let quick = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let err = notify::handler(&env.notify(quick), lambda_event(persisted_event()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not be reached"), "{err}");
    drop(silent);
}

#[tokio::test]
async fn a_partner_without_a_webhook_is_left_for_the_outbox() {
    let env = env_with_webhook(None).await;
    let app = env.notify(notify::http_client().unwrap());
    let delivery = notify::handler(&app, lambda_event(persisted_event())).await.unwrap();
    assert_eq!(delivery, notify::Delivery::NoWebhook);
}

#[tokio::test]
async fn an_event_without_a_partner_is_a_named_error() {
    let env = env_with_webhook(None).await;
    let app = env.notify(notify::http_client().unwrap());
    let event = from_json(eventbridge_event("OrdersPersisted", &json!({"feedId": "f"})));
    let err = notify::handler(&app, lambda_event(event)).await.unwrap_err();
    assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, "InvalidEvent");
}
