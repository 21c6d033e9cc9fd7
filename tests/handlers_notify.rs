//! notify and deliver against DynamoDB Local and a real HTTP receiver on
//! 127.0.0.1. notify records the delivery and starts its run with the real
//! StartExecution on the shared local cloud's webhook-delivery state machine,
//! and the tests read the runs back from it (ListExecutions); those runs'
//! own attempts find no delivery there, as it lives in the test's tables.
//! The tests drive deliver attempt by attempt instead, as the state machine
//! does, with the clock pinned so that "24 h of failures" needs no waiting;
//! what deliver publishes is read back from the cloud's EventBridge.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use zb_shared::delivery::{DeliveryStatus, DeliveryStep};
use zb_shared::partner::{PartnerRecord, WebhookStatus};
use zb_shared::ssrf::UrlPolicy;
use zb_shared::webhook::Schedule;
use zb_tests::adapters::Journal;
use zb_tests::api::{eventbridge_event, from_json, lambda_event};
use zb_tests::fixtures::now;
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
    zb_tests::seed_env_partner(&env, "partner-a", "partner-a@1", "key-a", webhook).await;
    env
}

/// partner-a's record (webhook state included), which must exist.
async fn partner_a_record(env: &Env) -> PartnerRecord {
    env.partners()
        .get_record("partner-a", &Default::default())
        .await
        .unwrap()
        .unwrap()
}

/// A partner whose webhook is `receiver`, notified once; returns the run's input.
async fn first_step(receiver: &Receiver) -> (Env, DeliveryStep) {
    let env = env_with_webhook(Some(&receiver.url)).await;
    let step = notified(&env, persisted_event()).await;
    (env, step)
}

/// The env's webhook-delivery runs that were not among `before`.
async fn started_since(env: &Env, before: &[(String, String)]) -> Vec<(String, String)> {
    let mut runs = env.runs().await;
    runs.retain(|r| !before.contains(r));
    runs
}

/// notify for `event`; returns the input of the run it started.
async fn notified(env: &Env, event: EventBridgeEvent<Value>) -> DeliveryStep {
    let before = env.runs().await;
    let app = env.notify(env.starter().await);
    let outcome = notify::handler(&app, lambda_event(event)).await.expect("notified");
    assert!(
        matches!(outcome, notify::Outcome::DeliveryStarted { .. }),
        "{outcome:?}"
    );
    let started = started_since(env, &before).await;
    assert_eq!(started.len(), 1);
    serde_json::from_str(&started[0].1).expect("the run's input is a DeliveryStep")
}

/// One deliver attempt at `t`, as the state machine's Attempt state runs it.
async fn attempt(env: &Env, step: &DeliveryStep, t: DateTime<Utc>, schedule: &Schedule) -> (DeliveryStep, Journal) {
    let (bus, journal) = env.event_bridge().await;
    let app = env.deliver(bus, t, schedule.clone());
    let next = deliver::handler(&app, lambda_event(step.clone()))
        .await
        .expect("attempt ran");
    (next, journal)
}

#[tokio::test]
async fn notify_records_the_delivery_once_and_starts_one_run_per_event() {
    let env = env_with_webhook(Some("http://127.0.0.1:9/hook")).await;
    let event = persisted_event();
    let event_id = event.id.clone().expect("id");
    let app = env.notify(env.starter().await);
    let first = notify::handler(&app, lambda_event(event.clone())).await.expect("first");
    // EventBridge or Lambda retrying the same event: same delivery, no second run.
    let again = notify::handler(&app, lambda_event(event)).await.expect("retry");
    assert_eq!(first, again);
    let started = env.runs().await;
    assert_eq!(started.len(), 1, "{started:?}");
    let step: DeliveryStep = serde_json::from_str(&started[0].1).expect("input");
    assert_eq!(
        started[0].0, step.delivery_id,
        "the execution is named after the delivery"
    );
    let d = env
        .deliveries()
        .get("partner-a", &step.delivery_id, &Default::default())
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(d.status, DeliveryStatus::Pending);
    assert_eq!(d.webhook_id, format!("msg_{event_id}"));
    let body: Value = serde_json::from_str(&d.body).expect("json body");
    assert_eq!(body["type"], "orders.persisted");
    assert_eq!(body["data"]["counts"]["persisted"], 1);
}

#[tokio::test]
async fn an_attempt_is_signed_and_a_2xx_delivers_it() {
    let receiver = Receiver::start(vec![204]).await;
    let (env, step) = first_step(&receiver).await;
    let (next, _) = attempt(&env, &step, now(), &Schedule::default()).await;
    assert_eq!(next.outcome.as_deref(), Some("delivered"));

    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let h = &got[0].headers;
    let ts: i64 = h["webhook-timestamp"].parse().expect("timestamp");
    assert_eq!(ts, now().timestamp());
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
    let d = env
        .deliveries()
        .get("partner-a", &step.delivery_id, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, DeliveryStatus::Delivered);
    assert_eq!(d.attempts.len(), 1);
    assert_eq!(d.attempts[0].status_code, Some(204));
    assert_eq!(h["webhook-id"], d.webhook_id);
}

#[tokio::test]
async fn failures_wait_on_the_schedule_honour_retry_after_and_keep_the_webhook_id() {
    let receiver = Receiver::start_with(vec![
        (500, ""),
        (503, "retry-after: 1000"),
        (429, "retry-after: 7"),
        (200, ""),
    ])
    .await;
    let (env, step) = first_step(&receiver).await;
    let schedule = Schedule::default();
    let (s1, _) = attempt(&env, &step, now(), &schedule).await;
    assert_eq!((s1.outcome.as_deref(), s1.wait_seconds), (Some("retry"), Some(5)));
    // Still retrying: not a dead letter, so it cannot be replayed alongside its run.
    let reopened = env
        .deliveries()
        .reopen("partner-a", &step.delivery_id, "x", &Default::default())
        .await;
    assert!(reopened.expect("store").is_none());
    let (s2, _) = attempt(&env, &s1, now(), &schedule).await;
    assert_eq!(
        (s2.outcome.as_deref(), s2.wait_seconds),
        (Some("retry"), Some(1000)),
        "Retry-After is longer: it wins"
    );
    let (s3, _) = attempt(&env, &s2, now(), &schedule).await;
    assert_eq!(
        (s3.outcome.as_deref(), s3.wait_seconds),
        (Some("retry"), Some(1800)),
        "the schedule is longer: it wins"
    );
    let (s4, _) = attempt(&env, &s3, now(), &schedule).await;
    assert_eq!(s4.outcome.as_deref(), Some("delivered"));

    let ids: Vec<_> = receiver
        .received()
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|i| i == &ids[0]), "{ids:?}");
    let d = env
        .deliveries()
        .get("partner-a", &step.delivery_id, &Default::default())
        .await
        .unwrap()
        .unwrap();
    let codes: Vec<_> = d.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, vec![Some(500), Some(503), Some(429), Some(200)]);
    assert_eq!(d.attempts[0].error.as_deref(), Some("answered 500"));
    assert_eq!(d.status, DeliveryStatus::Delivered);
}

#[tokio::test]
async fn an_exhausted_schedule_is_a_dead_letter_that_can_be_replayed() {
    let receiver = Receiver::start(vec![500, 500, 500, 204]).await;
    let (env, step) = first_step(&receiver).await;
    let schedule = Schedule(vec![1, 1]);
    let mut s = step.clone();
    for _ in 0..3 {
        s = attempt(&env, &s, now(), &schedule).await.0;
    }
    assert_eq!(s.outcome.as_deref(), Some("dead"));
    let store = env.deliveries();
    let d = store
        .get("partner-a", &step.delivery_id, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.status, d.attempts.len()), (DeliveryStatus::Dead, 3));
    let dead = store
        .list_all("partner-a", Some(DeliveryStatus::Dead), "", &Default::default())
        .await
        .expect("list");
    assert_eq!(dead.len(), 1);

    // Replay: the same delivery, a new run name, the same webhook-id.
    let reopened = store
        .reopen(
            "partner-a",
            &step.delivery_id,
            "2026-01-01T13:00:00.000Z",
            &Default::default(),
        )
        .await
        .unwrap()
        .expect("reopened");
    assert_eq!((reopened.status, reopened.replays), (DeliveryStatus::Pending, 1));
    assert_eq!(reopened.execution_name(), format!("{}-r1", step.delivery_id));
    let (s, _) = attempt(&env, &step, now(), &schedule).await;
    assert_eq!(s.outcome.as_deref(), Some("delivered"));
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].headers["webhook-id"], got[0].headers["webhook-id"]);
    // A delivered notification is never reopened.
    assert!(store
        .reopen("partner-a", &step.delivery_id, "x", &Default::default())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_tells_ops() {
    let receiver = Receiver::start(vec![410]).await;
    let (env, step) = first_step(&receiver).await;
    let (s, events) = attempt(&env, &step, now(), &Schedule::default()).await;
    assert_eq!(s.outcome.as_deref(), Some("dead"));
    let record = partner_a_record(&env).await;
    assert_eq!(record.state.webhook_status, WebhookStatus::Disabled);
    let published = events.events();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].detail_type, "WebhookEndpointDisabled");
    assert_eq!(published[0].detail["partnerId"], "partner-a");

    // Later notifications are dead letters at once: no run, no request.
    let before = env.runs().await;
    let app = env.notify(env.starter().await);
    let outcome = notify::handler(&app, lambda_event(persisted_event()))
        .await
        .expect("handled");
    assert!(matches!(outcome, notify::Outcome::DeadLettered { .. }), "{outcome:?}");
    assert!(started_since(&env, &before).await.is_empty());
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn an_endpoint_failing_for_24_hours_is_disabled() {
    let receiver = Receiver::start(vec![500]).await;
    let env = env_with_webhook(Some(&receiver.url)).await;
    let schedule = Schedule::default();
    let first = notified(&env, persisted_event()).await;
    let (s, events) = attempt(&env, &first, now(), &schedule).await;
    assert_eq!(s.outcome.as_deref(), Some("retry"));
    assert!(events.events().is_empty());
    // Another notification failing just under 24 h later keeps retrying...
    let second = notified(&env, persisted_event()).await;
    let almost = now() + chrono::Duration::hours(24) - chrono::Duration::seconds(1);
    assert_eq!(
        attempt(&env, &second, almost, &schedule).await.0.outcome.as_deref(),
        Some("retry")
    );
    // ...and at 24 h of failures without a success the endpoint is disabled.
    let (s, events) = attempt(&env, &s, now() + chrono::Duration::hours(24), &schedule).await;
    assert_eq!(s.outcome.as_deref(), Some("dead"));
    assert_eq!(events.events().len(), 1);
    assert_eq!(events.events()[0].detail["reason"], "failing continuously for 24 h");
    let record = partner_a_record(&env).await;
    assert_eq!(record.state.webhook_status, WebhookStatus::Disabled);
}

#[tokio::test]
async fn a_success_resets_the_24_hour_clock() {
    let receiver = Receiver::start(vec![500, 200, 500]).await;
    let env = env_with_webhook(Some(&receiver.url)).await;
    let schedule = Schedule::default();
    let a = notified(&env, persisted_event()).await;
    let a1 = attempt(&env, &a, now(), &schedule).await.0;
    assert_eq!(
        attempt(&env, &a1, now() + chrono::Duration::hours(1), &schedule)
            .await
            .0
            .outcome
            .as_deref(),
        Some("delivered")
    );
    let b = notified(&env, persisted_event()).await;
    let (s, events) = attempt(&env, &b, now() + chrono::Duration::hours(25), &schedule).await;
    assert_eq!(
        s.outcome.as_deref(),
        Some("retry"),
        "the run of failures began after the success"
    );
    assert!(events.events().is_empty());
}

#[tokio::test]
async fn the_ssrf_guard_refuses_a_url_before_any_request() {
    let receiver = Receiver::start(vec![204]).await;
    let (env, step) = first_step(&receiver).await;
    let mut app = env.deliver(env.event_bridge().await.0, now(), Schedule::default());
    app.url_policy = UrlPolicy::PublicHttps;
    let s = deliver::handler(&app, lambda_event(step.clone())).await.expect("ran");
    assert_eq!(s.outcome.as_deref(), Some("retry"));
    assert!(receiver.received().is_empty(), "a request went to a refused URL");
    let d = env
        .deliveries()
        .get("partner-a", &step.delivery_id, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.attempts[0].error.as_deref(), Some("the webhook URL must use https"));
}

#[tokio::test]
async fn a_partner_without_a_webhook_gets_each_event_once_in_its_outbox() {
    let env = env_with_webhook(None).await;
    let app = env.notify(env.starter().await);
    let first = persisted_event();
    let outcome = notify::handler(&app, lambda_event(first.clone())).await.unwrap();
    assert_eq!(outcome, notify::Outcome::Outboxed { seq: Some(1) });
    // A retry of the same event appends nothing; the next event comes next.
    let retried = notify::handler(&app, lambda_event(first)).await.unwrap();
    assert_eq!(retried, notify::Outcome::Outboxed { seq: None });
    let next = notify::handler(&app, lambda_event(persisted_event())).await.unwrap();
    assert_eq!(next, notify::Outcome::Outboxed { seq: Some(2) });
    assert!(env.runs().await.is_empty());
    let page = env
        .outbox()
        .read("partner-a", None, 10, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    let body: Value = serde_json::from_str(&page.entries[0].body).unwrap();
    assert_eq!(body["type"], "orders.persisted");
}

#[tokio::test]
async fn an_event_without_a_partner_is_a_named_error() {
    let env = env_with_webhook(None).await;
    let app = env.notify(env.starter().await);
    let event = from_json(eventbridge_event("OrdersPersisted", &json!({"feedId": "f"})));
    let err = notify::handler(&app, lambda_event(event)).await.unwrap_err();
    assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, "InvalidEvent");
}

/// The DeliveriesDead EMF documents (DeadDeliveriesAlarm's metric) among `docs`.
fn dead_metrics(docs: &[Value]) -> Vec<&Value> {
    docs.iter()
        .filter(|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == "DeliveriesDead")
        .collect()
}

#[tokio::test]
async fn a_delivery_that_dies_prints_one_deliveries_dead_document() {
    let receiver = Receiver::start(vec![500, 500, 500]).await;
    let (env, step) = first_step(&receiver).await;
    let schedule = Schedule(vec![1, 1]);
    let (s, docs) = deliver::emf::capture(async {
        let mut s = step.clone();
        for _ in 0..3 {
            s = attempt(&env, &s, now(), &schedule).await.0;
        }
        s
    })
    .await;
    assert_eq!(s.outcome.as_deref(), Some("dead"));
    let dead = dead_metrics(&docs);
    assert_eq!(dead.len(), 1, "{docs:?}");
    assert_eq!(dead[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "ZeroBeta");
    assert_eq!(dead[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
    assert_eq!(dead[0]["DeliveriesDead"], 1);
    assert_eq!(dead[0]["PartnerId"], "partner-a");
    assert_eq!(dead[0]["DeliveryId"], step.delivery_id.as_str());

    // A 410 kills the delivery and disables the endpoint: one of each metric.
    let gone = Receiver::start(vec![410]).await;
    let (env, step) = first_step(&gone).await;
    let (_, docs) = deliver::emf::capture(attempt(&env, &step, now(), &Schedule::default())).await;
    assert_eq!(dead_metrics(&docs).len(), 1, "{docs:?}");
    let disabled = docs.iter().filter(|d| d["WebhookEndpointsDisabled"] == 1).count();
    assert_eq!(disabled, 1, "{docs:?}");

    // A replay while the endpoint is disabled dies without a request: counted too.
    env.deliveries()
        .reopen(
            "partner-a",
            &step.delivery_id,
            "2026-01-01T13:00:00.000Z",
            &Default::default(),
        )
        .await
        .unwrap()
        .expect("reopened");
    let (s, docs) = deliver::emf::capture(attempt(&env, &step, now(), &Schedule::default())).await;
    assert_eq!(s.0.outcome.as_deref(), Some("dead"));
    let dead = dead_metrics(&docs);
    assert_eq!(dead.len(), 1, "{docs:?}");
    assert_eq!(dead[0]["Reason"], "the webhook endpoint is disabled or removed");
    assert_eq!(gone.received().len(), 1);
}
