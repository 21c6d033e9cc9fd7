//! The Lambda authorizer against a partners table in DynamoDB Local.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use serde_json::json;
use zb_shared::partner::{ApiKey, PartnerStatus};
use zb_tests::api::{from_json, lambda_event};
use zb_tests::wiring::Env;

fn request(key: Option<&str>) -> ApiGatewayV2CustomAuthorizerV2Request {
    let mut v = json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/POST/v1/feeds",
        "routeKey": "POST /v1/feeds",
        "rawPath": "/v1/feeds",
        "headers": {},
        "requestContext": {"http": {"method": "POST", "path": "/v1/feeds"}, "routeKey": "POST /v1/feeds"}
    });
    if let Some(k) = key {
        v["identitySource"] = json!([k]);
        v["headers"] = json!({"x-api-key": k});
    }
    from_json(v)
}

async fn authorize(env: &Env, key: Option<&str>) -> Result<serde_json::Value, String> {
    authorizer::handler(&env.authorizer(), lambda_event(request(key)))
        .await
        .map(|r| {
            assert!(r.is_authorized);
            r.context
        })
        .map_err(|e| lambda_runtime::Diagnostic::from(e).error_type)
}

/// A fresh environment where partner-a authenticates with "key-a".
async fn env_with_key_a() -> Env {
    let env = Env::new().await;
    zb_tests::seed_env_partner(&env, "partner-a", "partner-a@1", "key-a", None).await;
    env
}

#[tokio::test]
async fn a_known_key_authorizes_its_partner() {
    let env = env_with_key_a().await;
    let ctx = authorize(&env, Some("key-a")).await.expect("authorized");
    // No limit on the record: the defaults travel in the context.
    assert_eq!(
        ctx,
        json!({"partnerId": "partner-a", "format": "partner-a@1", "rate": 100, "burst": 200})
    );
}

#[tokio::test]
async fn unknown_missing_or_disabled_keys_are_unauthorized() {
    let env = env_with_key_a().await;
    assert_eq!(authorize(&env, Some("nope")).await, Err("Unauthorized".into()));
    assert_eq!(authorize(&env, None).await, Err("Unauthorized".into()));
    assert_eq!(authorize(&env, Some("")).await, Err("Unauthorized".into()));

    // A disabled key stops working; the partner's other keys are unaffected.
    let meter = Default::default();
    zb_tests::seed_env_partner(&env, "partner-a", "partner-a@1", "key-a2", None).await;
    env.partners()
        .put_key(
            &ApiKey {
                key_hash: zb_shared::apikey::hash_api_key("key-a"),
                partner_id: "partner-a".into(),
                status: PartnerStatus::Disabled,
            },
            &meter,
        )
        .await
        .unwrap();
    assert_eq!(authorize(&env, Some("key-a")).await, Err("Unauthorized".into()));
    assert!(authorize(&env, Some("key-a2")).await.is_ok());

    // A disabled partner's keys all stop working.
    let mut partner = env.partners().get_partner("partner-a", &meter).await.unwrap().unwrap();
    partner.status = PartnerStatus::Disabled;
    env.partners().put_partner(&partner, &meter).await.unwrap();
    assert_eq!(authorize(&env, Some("key-a2")).await, Err("Unauthorized".into()));
}

#[tokio::test]
async fn only_the_hash_of_a_key_is_stored() {
    let env = Env::new().await;
    zb_tests::seed_env_partner(&env, "partner-a", "partner-a@1", "secret-key-a", None).await;
    let items = env.ddb.scan().table_name(&env.tables.partners).send().await.unwrap();
    let dump = format!("{:?}", items.items());
    assert!(!dump.contains("secret-key-a"), "the plain key is nowhere in the table");
    assert!(dump.contains(&zb_shared::apikey::hash_api_key("secret-key-a")));
}
