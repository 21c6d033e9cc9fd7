//! Cognito's access and ID token claim sets.
//!
//! Access token: "Understanding the access token",
//! docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
//! (sub, cognito:groups, iss, version, client_id, origin_jti, event_id,
//! token_use, scope, auth_time, exp, iat, jti, username). ID token:
//! "Understanding the identity (ID) token",
//! docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
//! (sub, cognito:groups, email_verified, iss, cognito:username, origin_jti,
//! aud, event_id, token_use, auth_time, exp, iat, jti, email).
//! `cognito:groups` is a JSON array and is absent for a user in no group.
//! Claims are written in the order the pages show them (serde_json keeps
//! insertion order in this workspace).

use serde_json::{Map, Value};

use super::{ClientConfig, PoolConfig, Session, User};

/// The scope a USER_PASSWORD_AUTH access token carries (the API-based
/// sign-in grants only this one; the admin API's routes require it). Hosted
/// UI tokens carry the scopes granted at /oauth2/authorize instead.
pub(crate) const SIGNIN_SCOPE: &str = "aws.cognito.signin.user.admin";

fn groups(claims: &mut Map<String, Value>, user: &User) {
    if !user.groups.is_empty() {
        claims.insert(
            "cognito:groups".into(),
            Value::Array(user.groups.iter().cloned().map(Value::String).collect()),
        );
    }
}

pub(crate) fn access(pool: &PoolConfig, client: &ClientConfig, user: &User, session: &Session, now: i64) -> Value {
    let mut c = Map::new();
    c.insert("sub".into(), user.sub.clone().into());
    groups(&mut c, user);
    c.insert("iss".into(), pool.issuer.clone().into());
    c.insert("version".into(), 2.into());
    c.insert("client_id".into(), client.client_id.clone().into());
    c.insert("origin_jti".into(), session.origin_jti.clone().into());
    c.insert("event_id".into(), session.event_id.clone().into());
    c.insert("token_use".into(), "access".into());
    c.insert("scope".into(), session.scope.clone().into());
    c.insert("auth_time".into(), session.auth_time.into());
    c.insert("exp".into(), (now + secs(client.access_token_validity_secs)).into());
    c.insert("iat".into(), now.into());
    c.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
    c.insert("username".into(), user.username.clone().into());
    Value::Object(c)
}

pub(crate) fn id(pool: &PoolConfig, client: &ClientConfig, user: &User, session: &Session, now: i64) -> Value {
    let mut c = Map::new();
    c.insert("sub".into(), user.sub.clone().into());
    groups(&mut c, user);
    // Seeded operators count as verified (the pool auto-verifies email).
    c.insert("email_verified".into(), true.into());
    c.insert("iss".into(), pool.issuer.clone().into());
    c.insert("cognito:username".into(), user.username.clone().into());
    c.insert("origin_jti".into(), session.origin_jti.clone().into());
    c.insert("aud".into(), client.client_id.clone().into());
    c.insert("event_id".into(), session.event_id.clone().into());
    c.insert("token_use".into(), "id".into());
    c.insert("auth_time".into(), session.auth_time.into());
    c.insert("exp".into(), (now + secs(client.id_token_validity_secs)).into());
    c.insert("iat".into(), now.into());
    c.insert("jti".into(), uuid::Uuid::new_v4().to_string().into());
    c.insert("email".into(), user.email.clone().into());
    Value::Object(c)
}

/// Validities are at most days; anything beyond i64 is a configuration error
/// that is better clamped than wrapped into the past.
pub(crate) fn secs(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX / 2)
}
