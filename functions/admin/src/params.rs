//! Query parameters and bodies, checked: every refusal is a 400 naming the
//! parameter or the body member (JSON Pointer) at fault.

use crate::{bad_member, bad_parameter, Ctx, Fail};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use zb_shared::problem::{FieldError, Problem, ProblemKind};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;
/// Stored timestamps are fixed-width UTC text, so these bound any range.
pub const EARLIEST: &str = "0000-01-01T00:00:00.000Z";
pub const LATEST: &str = "9999-12-31T23:59:59.999Z";

/// `?limit=` (1..=100, default 50).
pub fn limit(ctx: &Ctx<'_>) -> Result<usize, Fail> {
    match ctx.query("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(bad_parameter("limit", format!("must be an integer from 1 to {MAX_LIMIT}")).into()),
        },
    }
}

/// `?cursor=` as given (each listing checks it).
pub fn cursor<'a>(ctx: &'a Ctx<'_>) -> Option<&'a str> {
    ctx.query("cursor")
}

/// An RFC 3339 parameter; empty is the same as absent.
pub fn time(ctx: &Ctx<'_>, name: &str) -> Result<Option<DateTime<Utc>>, Fail> {
    match ctx.query(name) {
        None | Some("") => Ok(None),
        Some(v) => zb_shared::time::parse_rfc3339(v).map(Some).map_err(|_| {
            bad_parameter(name, format!("{v:?} is not an RFC 3339 time like 2026-01-31T00:00:00Z")).into()
        }),
    }
}

/// A time range; either end may be open.
pub type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `from` and `to` (RFC 3339), `from` not after `to`.
pub fn window(ctx: &Ctx<'_>) -> Result<Window, Fail> {
    let from = time(ctx, "from")?;
    let to = time(ctx, "to")?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(bad_parameter("from", "must not be after to").into());
        }
    }
    Ok((from, to))
}

/// `window` as the stored fixed-width text, open ends filled in.
pub fn window_text(ctx: &Ctx<'_>) -> Result<(String, String), Fail> {
    let (from, to) = window(ctx)?;
    Ok((
        from.map(zb_shared::time::format_utc).unwrap_or_else(|| EARLIEST.into()),
        to.map(zb_shared::time::format_utc).unwrap_or_else(|| LATEST.into()),
    ))
}

/// Partner ids are 1-64 characters of a-z, 0-9 and '-' (onboarding's rule).
pub fn is_partner_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `?partnerId=`, checked; empty is the same as absent.
pub fn partner_filter(ctx: &Ctx<'_>) -> Result<Option<String>, Fail> {
    match ctx.query("partnerId") {
        None | Some("") => Ok(None),
        Some(p) if is_partner_id(p) => Ok(Some(p.to_string())),
        Some(p) => Err(bad_parameter("partnerId", format!("{p:?} is not a partner id (a-z, 0-9, '-')")).into()),
    }
}

/// The `{partnerId}` of the path, checked.
pub fn partner_path(ctx: &Ctx<'_>) -> Result<String, Fail> {
    let p = ctx.path_param("partnerId");
    if is_partner_id(p) {
        Ok(p.to_string())
    } else {
        Err(bad_parameter("partnerId", format!("{p:?} is not a partner id (a-z, 0-9, '-')")).into())
    }
}

/// A path id of another kind (feed, delivery): non-empty, printable, bounded.
pub fn id_path(ctx: &Ctx<'_>, name: &str, max: usize) -> Result<String, Fail> {
    let v = ctx.path_param(name);
    if !v.is_empty() && v.len() <= max && v.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(v.to_string())
    } else {
        Err(bad_parameter(name, format!("must be 1 to {max} printable characters")).into())
    }
}

/// The body as a JSON object. Unknown members are ignored (the documented
/// schemas allow them), every known one is checked by the route.
pub fn body_object(ctx: &Ctx<'_>) -> Result<Map<String, Value>, Fail> {
    let malformed = |detail: String| -> Fail {
        Problem::new(ProblemKind::MalformedBody, "the request body is not a JSON object")
            .with_error(FieldError::pointer("", detail))
            .into()
    };
    let bytes = zb_shared::http::body_bytes(ctx.req).map_err(|e| malformed(format!("not base64: {e}")))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(malformed("must be a JSON object".into())),
    }
}

/// An optional string member, `min..=max` characters (after trimming).
pub fn string_member(body: &Map<String, Value>, name: &str, max: usize) -> Result<Option<String>, Fail> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => Ok(Some(s.clone())),
        Some(_) => Err(bad_member(
            &format!("/{name}"),
            format!("must be a string of 1 to {max} characters"),
        )
        .into()),
    }
}

/// `{"rate": n, "burst": n}`, both whole numbers from 1 to `max`.
pub fn rate_limit_member(body: &Map<String, Value>) -> Result<Option<zb_shared::ratelimit::RateLimit>, Fail> {
    // One partition takes about 1,000 writes a second, and each request is
    // one write on the partner's counter item (ARCHITECTURE.md, limits).
    const MAX: u64 = 10_000;
    let Some(v) = body.get("rateLimit") else {
        return Ok(None);
    };
    let Value::Object(m) = v else {
        return Err(bad_member("/rateLimit", "must be an object {\"rate\": n, \"burst\": n}").into());
    };
    let field = |name: &str| -> Result<u32, Fail> {
        match m.get(name).and_then(Value::as_u64) {
            Some(n) if (1..=MAX).contains(&n) => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
            _ => Err(bad_member(
                &format!("/rateLimit/{name}"),
                format!("must be a whole number from 1 to {MAX}"),
            )
            .into()),
        }
    };
    Ok(Some(zb_shared::ratelimit::RateLimit {
        rate: field("rate")?,
        burst: field("burst")?,
    }))
}
