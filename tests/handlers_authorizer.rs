//! The Lambda authorizer against a partners table in DynamoDB Local.
//!
//! It answers with simple responses (payload 2.0): a key it does not accept
//! is `{"isAuthorized": false}` (API Gateway's 403), and it raises an error
//! only when it cannot decide, since API Gateway turns any error an HTTP API
//! Lambda authorizer raises into a 500, not a 401.
//! https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html

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

/// What the authorizer answers for `key`.
#[derive(Debug, PartialEq)]
enum Answer {
    /// `isAuthorized: true` with this context.
    Authorized(serde_json::Value),
    /// `isAuthorized: false`: API Gateway answers 403.
    Refused,
    /// An error of this type: API Gateway answers 500.
    Failed(String),
}

async fn answer(app: &authorizer::App, key: Option<&str>) -> Answer {
    match authorizer::handler(app, lambda_event(request(key))).await {
        Ok(r) if r.is_authorized => Answer::Authorized(r.context),
        Ok(r) => {
            // The wire shape API Gateway reads: a boolean isAuthorized.
            let wire = serde_json::to_value(&r).unwrap();
            assert_eq!(wire["isAuthorized"], json!(false), "{wire}");
            Answer::Refused
        }
        Err(e) => Answer::Failed(lambda_runtime::Diagnostic::from(e).error_type),
    }
}

async fn authorize(env: &Env, key: Option<&str>) -> Answer {
    answer(&env.authorizer(), key).await
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
    // No limit on the record: the defaults travel in the context.
    assert_eq!(
        authorize(&env, Some("key-a")).await,
        Answer::Authorized(json!({"partnerId": "partner-a", "format": "partner-a@1", "rate": 100, "burst": 200}))
    );
}

#[tokio::test]
async fn unknown_missing_or_disabled_keys_are_refused_not_errors() {
    let env = env_with_key_a().await;
    assert_eq!(authorize(&env, Some("nope")).await, Answer::Refused);
    // API Gateway never invokes it without the key (it answers 401 itself);
    // should it be, the answer is still a refusal.
    assert_eq!(authorize(&env, None).await, Answer::Refused);
    assert_eq!(authorize(&env, Some("")).await, Answer::Refused);

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
    assert_eq!(authorize(&env, Some("key-a")).await, Answer::Refused);
    assert!(matches!(authorize(&env, Some("key-a2")).await, Answer::Authorized(_)));

    // A disabled partner's keys all stop working.
    let mut partner = env.partners().get_partner("partner-a", &meter).await.unwrap().unwrap();
    partner.status = PartnerStatus::Disabled;
    env.partners().put_partner(&partner, &meter).await.unwrap();
    assert_eq!(authorize(&env, Some("key-a2")).await, Answer::Refused);
}

#[tokio::test]
async fn a_key_rotated_out_is_refused_once_its_overlap_ends() {
    let env = env_with_key_a().await;
    // What `zb partners rotate-key` leaves on the old key: the end of its
    // overlap (here long past).
    let pk = format!("KEY#{}", zb_shared::apikey::hash_api_key("key-a"));
    env.ddb
        .update_item()
        .table_name(&env.tables.partners)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .update_expression("SET expiresAt = :t")
        .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(authorize(&env, Some("key-a")).await, Answer::Refused);
}

#[tokio::test]
async fn only_a_failure_to_decide_is_an_error() {
    let env = env_with_key_a().await;
    // The partners table cannot be read: the authorizer cannot tell a good
    // key from a bad one, so it fails (API Gateway: 500) rather than refuse.
    let mut app = env.authorizer();
    app.partners = zb_shared::store::PartnerStore::new(env.ddb.clone(), "no-such-table");
    assert!(
        matches!(answer(&app, Some("key-a")).await, Answer::Failed(_)),
        "an unreadable table is not a refusal"
    );
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
