//! Partner onboarding (zb_shared::onboarding, what `zb partners` runs)
//! against DynamoDB Local, checked through the real authorizer handler with
//! the clock pinned: rotation overlaps are crossed by moving the clock, not
//! by sleeping. The last test runs the `zb` binary itself.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use zb_shared::clock::FixedClock;
use zb_shared::onboarding::{NewPartner, Onboarding, OnboardingError};
use zb_shared::partner::PartnerStatus;
use zb_shared::signing;
use zb_shared::ssrf::{SsrfError, UrlPolicy};
use zb_tests::api::{from_json, lambda_event};
use zb_tests::fixtures::now;
use zb_tests::wiring::Env;

fn at(env: &Env, t: DateTime<Utc>) -> Onboarding {
    Onboarding {
        store: env.partners(),
        clock: Arc::new(FixedClock(t)),
        url_policy: UrlPolicy::PublicHttps,
        formats: vec!["partner-a@1".into(), "partner-b@1".into()],
    }
}

fn request(key: &str) -> ApiGatewayV2CustomAuthorizerV2Request {
    from_json(json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/v1/orders",
        "routeKey": "GET /v1/orders",
        "rawPath": "/v1/orders",
        "identitySource": [key],
        "headers": {"x-api-key": key},
        "requestContext": {"http": {"method": "GET", "path": "/v1/orders"}, "routeKey": "GET /v1/orders"}
    }))
}

/// The partner id the authorizer lets `key` through as, at instant `t`.
async fn authorized_as(env: &Env, key: &str, t: DateTime<Utc>) -> Option<String> {
    let mut app = env.authorizer();
    app.clock = Arc::new(FixedClock(t));
    authorizer::handler(&app, lambda_event(request(key)))
        .await
        .ok()
        .filter(|r| r.is_authorized)
        .and_then(|r| r.context.get("partnerId").and_then(|v| v.as_str()).map(str::to_string))
}

fn acme(webhook: Option<&str>) -> NewPartner {
    NewPartner {
        partner_id: None,
        name: "Acme Co.".into(),
        format: "partner-a@1".into(),
        webhook_url: webhook.map(str::to_string),
    }
}

#[tokio::test]
async fn a_created_partner_authenticates_and_only_the_key_hash_is_stored() {
    let env = Env::new().await;
    let issued = at(&env, now())
        .create(acme(Some("https://hooks.example.com/zb")))
        .await
        .expect("created");
    assert_eq!(issued.partner_id, "acme-co");
    let key = issued.api_key.expect("a key is shown once");
    let secret = issued.webhook_secret.expect("a secret is shown once");
    assert!(secret.starts_with("whsec_"));
    assert_eq!(authorized_as(&env, &key, now()).await.as_deref(), Some("acme-co"));

    // Nothing in the table holds the plain key.
    let scan = env
        .ddb
        .scan()
        .table_name(&env.tables.partners)
        .send()
        .await
        .expect("scan");
    let dump = format!("{:?}", scan.items());
    assert!(!dump.contains(&key), "the plain key is stored");
    assert!(dump.contains(&zb_shared::apikey::hash_api_key(&key)));

    // The same id twice is refused, not overwritten.
    let again = at(&env, now()).create(acme(None)).await;
    assert!(matches!(again, Err(OnboardingError::Store(_))), "{again:?}");
    assert_eq!(authorized_as(&env, &key, now()).await.as_deref(), Some("acme-co"));
}

#[tokio::test]
async fn bad_input_is_refused_with_the_reason() {
    let env = Env::new().await;
    let o = at(&env, now());
    let mut bad_format = acme(None);
    bad_format.format = "nope@9".into();
    assert!(matches!(
        o.create(bad_format).await,
        Err(OnboardingError::UnknownFormat(..))
    ));
    assert!(matches!(
        o.create(acme(Some("http://hooks.example.com/zb"))).await,
        Err(OnboardingError::WebhookUrl(SsrfError::NotHttps))
    ));
    assert!(matches!(
        o.create(acme(Some("https://169.254.169.254/latest"))).await,
        Err(OnboardingError::WebhookUrl(SsrfError::Forbidden { .. }))
    ));
    assert!(matches!(
        o.rotate_key("nobody", Duration::from_secs(60)).await,
        Err(OnboardingError::UnknownPartner(_))
    ));
}

#[tokio::test]
async fn both_keys_work_through_the_overlap_then_only_the_new_one() {
    let env = Env::new().await;
    let t0 = now();
    let old = at(&env, t0)
        .create(acme(None))
        .await
        .expect("created")
        .api_key
        .expect("key");
    let rotated = at(&env, t0)
        .rotate_key("acme-co", Duration::from_secs(3600))
        .await
        .expect("rotated");
    let new = rotated.api_key.expect("new key");
    assert_ne!(old, new);
    assert_eq!(
        rotated.previous_valid_until.as_deref(),
        Some("2026-01-01T13:00:00.000Z")
    );

    let during = t0 + chrono::Duration::minutes(59);
    let after = t0 + chrono::Duration::minutes(60);
    for t in [t0, during] {
        assert_eq!(
            authorized_as(&env, &old, t).await.as_deref(),
            Some("acme-co"),
            "old key at {t}"
        );
        assert_eq!(
            authorized_as(&env, &new, t).await.as_deref(),
            Some("acme-co"),
            "new key at {t}"
        );
    }
    assert_eq!(
        authorized_as(&env, &old, after).await,
        None,
        "the old key outlived its overlap"
    );
    assert_eq!(authorized_as(&env, &new, after).await.as_deref(), Some("acme-co"));

    // A second rotation with no overlap retires the second key at once.
    let newest = at(&env, after)
        .rotate_key("acme-co", Duration::ZERO)
        .await
        .expect("rotated")
        .api_key
        .expect("key");
    assert_eq!(authorized_as(&env, &new, after).await, None);
    assert_eq!(authorized_as(&env, &newest, after).await.as_deref(), Some("acme-co"));
}

#[tokio::test]
async fn a_rotated_secret_keeps_signing_through_its_overlap() {
    let env = Env::new().await;
    let t0 = now();
    let first = at(&env, t0)
        .create(acme(Some("https://hooks.example.com/zb")))
        .await
        .expect("created")
        .webhook_secret
        .expect("secret");
    let second = at(&env, t0)
        .rotate_secret("acme-co", Duration::from_secs(600))
        .await
        .expect("rotated")
        .webhook_secret
        .expect("secret");
    let record = env
        .partners()
        .get_record("acme-co", &Default::default())
        .await
        .expect("read")
        .expect("exists");
    let ts = t0.timestamp();
    let header = signing::sign_all(&record.signing_secrets(ts), "msg_1", ts, b"{}").expect("signs");
    // A receiver holding either secret verifies the same delivery.
    assert_eq!(signing::verify(&first, "msg_1", ts, b"{}", &header, ts, 300), Ok(()));
    assert_eq!(signing::verify(&second, "msg_1", ts, b"{}", &header, ts, 300), Ok(()));
    // After the overlap only the new secret signs.
    let later = ts + 600;
    let header = signing::sign_all(&record.signing_secrets(later), "msg_2", later, b"{}").expect("signs");
    assert_eq!(header.split(' ').count(), 1);
    assert!(signing::verify(&first, "msg_2", later, b"{}", &header, later, 300).is_err());
    assert_eq!(
        signing::verify(&second, "msg_2", later, b"{}", &header, later, 300),
        Ok(())
    );
}

#[tokio::test]
async fn a_disabled_partner_is_refused_and_set_webhook_checks_the_url() {
    let env = Env::new().await;
    let o = at(&env, now());
    let key = o.create(acme(None)).await.expect("created").api_key.expect("key");
    assert!(matches!(
        o.set_webhook("acme-co", Some("https://10.0.0.8/hook".into())).await,
        Err(OnboardingError::WebhookUrl(SsrfError::Forbidden { .. }))
    ));
    let r = o
        .set_webhook("acme-co", Some("https://hooks.example.com/v2".into()))
        .await
        .expect("set");
    assert_eq!(r.partner.webhook_url.as_deref(), Some("https://hooks.example.com/v2"));
    let r = o.disable("acme-co").await.expect("disabled");
    assert_eq!(r.partner.status, PartnerStatus::Disabled);
    assert_eq!(authorized_as(&env, &key, now()).await, None);
    let listed = o.list().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].partner.status, PartnerStatus::Disabled);
}

/// `zb partners` itself, against DynamoDB Local: what an operator runs.
#[tokio::test]
async fn the_cli_creates_rotates_and_lists() {
    let env = Env::new().await;
    let zb = zb_tests::cloud::binaries().join("zb");
    let endpoint = std::env::var(zb_tests::ENDPOINT_VAR).expect("endpoint");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&zb)
            .args([
                "partners",
                "--direct",
                "--dynamodb-endpoint",
                &endpoint,
                "--table",
                &env.tables.partners,
            ])
            .args(args)
            .args(["--output", "json"])
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", zb.display()));
        assert!(
            out.status.success(),
            "zb partners {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("zb partners {args:?} printed no JSON ({e})"))
    };
    let created = run(&[
        "create",
        "--name",
        "Beta Shop",
        "--format",
        "partner-b@1",
        "--webhook-url",
        "http://127.0.0.1:9/hook",
    ]);
    let key = created["apiKey"].as_str().expect("apiKey").to_string();
    assert_eq!(created["partnerId"], "beta-shop");
    assert!(created["webhookSecret"]
        .as_str()
        .is_some_and(|s| s.starts_with("whsec_")));
    let real_now = Utc::now();
    assert_eq!(authorized_as(&env, &key, real_now).await.as_deref(), Some("beta-shop"));

    let rotated = run(&["rotate-key", "beta-shop", "--overlap", "1h"]);
    let new_key = rotated["apiKey"].as_str().expect("apiKey").to_string();
    assert_eq!(authorized_as(&env, &key, real_now).await.as_deref(), Some("beta-shop"));
    assert_eq!(
        authorized_as(&env, &new_key, real_now).await.as_deref(),
        Some("beta-shop")
    );
    assert_eq!(
        authorized_as(&env, &key, real_now + chrono::Duration::hours(2)).await,
        None
    );

    let listed = run(&["list"]);
    let text = listed.to_string();
    assert!(
        !text.contains(&new_key) && !text.contains("whsec_"),
        "list leaks credentials: {text}"
    );
    assert_eq!(listed[0]["partnerId"], "beta-shop");
    assert_eq!(listed[0]["webhookUrl"], "http://127.0.0.1:9/hook");
}
