//! Webhook signing secrets at rest (issue 16): onboarding seals them with KMS (the shared local
//! cloud's, on its AWS endpoint, under the template's WebhookSecretsKey), so no partners-table
//! item holds a secret in clear, after a creation or a rotation; deliver opens them and signs with
//! both the new and the retired secret; a legacy clear secret is sealed on the next write; and a
//! sealed secret moved onto another partner does not open (the encryption context binds it).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use zb_shared::clock::FixedClock;
use zb_shared::delivery::DeliveryStep;
use zb_shared::onboarding::{NewPartner, Onboarding};
use zb_shared::secrets::{is_sealed, KmsSecrets, SecretSealer};
use zb_shared::ssrf::UrlPolicy;
use zb_shared::store::PartnerStore;
use zb_shared::webhook::Schedule;
use zb_tests::api::{eventbridge_event, from_json, lambda_event};
use zb_tests::cloud::shared_cloud;
use zb_tests::fixtures::now;
use zb_tests::receiver::Receiver;
use zb_tests::wiring::Env;

/// The KMS sealer of the shared local cloud, as a function's `from_env` builds it.
async fn sealer() -> Arc<dyn SecretSealer> {
    let cloud = shared_cloud().await;
    let key = cloud
        .model
        .kms_keys
        .iter()
        .find(|k| k.logical_id == "WebhookSecretsKey")
        .expect("the template has WebhookSecretsKey");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&cloud.aws_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "AKIDZBTESTKMS",
            "local",
            None,
            None,
            "zb-tests",
        ))
        .load()
        .await;
    Arc::new(KmsSecrets::from_sdk(key.arn.clone(), &sdk))
}

fn store(env: &Env, sealer: &Arc<dyn SecretSealer>) -> PartnerStore {
    env.partners().with_sealer(sealer.clone())
}

fn onboarding(store: PartnerStore) -> Onboarding {
    Onboarding {
        store,
        clock: Arc::new(FixedClock(now())),
        url_policy: UrlPolicy::AllowLoopbackHttp,
        formats: vec!["partner-a@1".into()],
    }
}

/// Every item of the partners table, as DynamoDB returns it (a Scan, raw attribute values).
async fn scan_text(env: &Env) -> Vec<String> {
    let out = env
        .ddb
        .scan()
        .table_name(&env.tables.partners)
        .send()
        .await
        .expect("scan");
    out.items().iter().map(|i| format!("{i:?}")).collect()
}

/// `whsec_<base64>`: the secret and its key bytes' base64 must both be absent.
fn assert_absent(items: &[String], secret: &str) {
    let body = secret.trim_start_matches("whsec_");
    for item in items {
        assert!(!item.contains(body), "an item holds a plaintext secret: {item}");
    }
}

fn persisted(partner: &str) -> EventBridgeEvent<Value> {
    from_json(eventbridge_event(
        "OrdersPersisted",
        &json!({"feedId": "0190b6b0-0000-7000-8000-0000000000aa", "partnerId": partner,
                "correlationId": "corr-kms", "status": "COMPLETED",
                "counts": {"received": 1, "persisted": 1, "duplicate": 0, "rejected": 0}}),
    ))
}

/// notify for the partner's event; returns the input of the run it started.
async fn notified(env: &Env, partner: &str) -> DeliveryStep {
    let before = env.runs().await;
    let app = env.notify(env.starter().await);
    notify::handler(&app, lambda_event(persisted(partner)))
        .await
        .expect("notified");
    let mut runs = env.runs().await;
    runs.retain(|r| !before.contains(r));
    assert_eq!(runs.len(), 1, "one run started");
    serde_json::from_str(&runs[0].1).expect("a DeliveryStep")
}

#[tokio::test]
async fn secrets_are_sealed_in_the_table_and_still_sign_after_a_rotation() {
    let env = Env::new().await;
    let sealer = sealer().await;
    let ob = onboarding(store(&env, &sealer));
    let receiver = Receiver::start(vec![204]).await;
    let issued = ob
        .create(NewPartner {
            partner_id: Some("sealed-a".into()),
            name: "Sealed A".into(),
            format: "partner-a@1".into(),
            webhook_url: Some(receiver.url.clone()),
        })
        .await
        .expect("created");
    let first = issued.webhook_secret.expect("the secret is shown once");
    let rotated = ob
        .rotate_secret("sealed-a", Duration::from_secs(86_400))
        .await
        .expect("rotated")
        .webhook_secret
        .expect("the new secret is shown once");
    assert_ne!(first, rotated);

    // No item holds either secret; the record holds two sealed values.
    let items = scan_text(&env).await;
    assert_absent(&items, &first);
    assert_absent(&items, &rotated);
    let record = env
        .partners()
        .get_record("sealed-a", &Default::default())
        .await
        .expect("read")
        .expect("exists");
    let current = record.partner.webhook_secret.clone().expect("a secret");
    assert!(is_sealed(&current), "{current}");
    assert_eq!(record.state.retired_secrets.len(), 1);
    assert!(is_sealed(&record.state.retired_secrets[0].secret));

    // A delivery is signed with both (the retired one is inside its overlap): the partner can
    // verify with the secret it was given at creation, and with the new one.
    let step = notified(&env, "sealed-a").await;
    let (bus, _) = env.event_bridge().await;
    let mut app = env.deliver(bus, now(), Schedule::default());
    app.partners = store(&env, &sealer);
    let next = deliver::handler(&app, lambda_event(step)).await.expect("attempt ran");
    assert_eq!(next.outcome.as_deref(), Some("delivered"));
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let h = &got[0].headers;
    let ts: i64 = h["webhook-timestamp"].parse().expect("timestamp");
    for secret in [&first, &rotated] {
        zb_shared::signing::verify(
            secret,
            &h["webhook-id"],
            ts,
            &got[0].body,
            &h["webhook-signature"],
            ts,
            300,
        )
        .expect("the signature verifies with the secret the partner holds");
    }

    // Deliver without the key (no WEBHOOK_SECRETS_KEY_ID) cannot open them: it does not sign
    // with the stored form.
    let (bus, _) = env.event_bridge().await;
    let clear = env.deliver(bus, now(), Schedule::default());
    let step = notified_again(&env).await;
    let err = deliver::handler(&clear, lambda_event(step)).await.expect_err("no key");
    assert!(err.to_string().contains("WEBHOOK_SECRETS_KEY_ID"), "{err}");
}

/// A second notification for sealed-a (another feed).
async fn notified_again(env: &Env) -> DeliveryStep {
    let before = env.runs().await;
    let app = env.notify(env.starter().await);
    let mut event = persisted("sealed-a");
    event.detail["feedId"] = json!("0190b6b0-0000-7000-8000-0000000000bb");
    notify::handler(&app, lambda_event(event)).await.expect("notified");
    let mut runs = env.runs().await;
    runs.retain(|r| !before.contains(r));
    serde_json::from_str(&runs[0].1).expect("a DeliveryStep")
}

#[tokio::test]
async fn a_legacy_clear_secret_is_sealed_on_the_next_write() {
    const LEGACY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let env = Env::new().await;
    zb_tests::seed_env_partner(
        &env,
        "legacy-a",
        "partner-a@1",
        "key-legacy",
        Some(("http://127.0.0.1:9/h", LEGACY)),
    )
    .await;
    assert!(scan_text(&env).await.iter().any(|i| i.contains(LEGACY)));
    let sealer = sealer().await;
    // It still opens (as it is) before the migration.
    assert_eq!(sealer.open("legacy-a", LEGACY).await.expect("opens"), LEGACY);
    let ob = onboarding(store(&env, &sealer));
    ob.set_webhook("legacy-a", Some("http://127.0.0.1:9/new".into()))
        .await
        .expect("written");
    assert_absent(&scan_text(&env).await, LEGACY);
    let record = ob.get("legacy-a").await.expect("read");
    let stored = record.partner.webhook_secret.expect("a secret");
    assert!(is_sealed(&stored));
    assert_eq!(sealer.open("legacy-a", &stored).await.expect("opens"), LEGACY);
}

#[tokio::test]
async fn a_sealed_secret_opens_only_for_its_partner() {
    let sealer = sealer().await;
    let sealed = sealer.seal("partner-x", "whsec_c2VjcmV0").await.expect("sealed");
    assert_eq!(
        sealer.open("partner-x", &sealed).await.expect("opens"),
        "whsec_c2VjcmV0"
    );
    let err = sealer.open("partner-y", &sealed).await.expect_err("another partner");
    assert!(err.to_string().contains("InvalidCiphertextException"), "{err}");
    assert!(!err.is_transient());
}
