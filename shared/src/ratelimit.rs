//! Per-partner rate limits and the IETF RateLimit header fields
//! (draft-ietf-httpapi-ratelimit-headers-11).
//!
//! A partner record carries a sustained `rate` (requests per second) and a
//! `burst`. They are enforced as a fixed-window counter in DynamoDB: the
//! window is `quota / rate` seconds and holds `quota` requests. One
//! conditional UpdateItem per request (ADD 1 if the count is below the
//! quota) is atomic across every concurrent Lambda instance and costs one
//! write request unit whether it admits or refuses.
//!
//! Why a fixed window and not a token bucket or GCRA: both need the stored
//! state *and* the clock to compute the new state (min/max), which an
//! UpdateExpression cannot do, so they cost a read plus a conditional write,
//! or a retry on contention. The price of the fixed window is that a partner
//! can send up to twice its quota across a window boundary; the quota is
//! small relative to what the pipeline absorbs, so that is acceptable.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The policy name in RateLimit-Policy / RateLimit.
pub const POLICY_NAME: &str = "feeds";
/// Limits of a partner whose record names none.
pub const DEFAULT_RATE: u32 = 100;
pub const DEFAULT_BURST: u32 = 200;

/// What a partner record says (`rateLimit: {rate, burst}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Sustained requests per second.
    pub rate: u32,
    /// Requests a partner may send at once.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            rate: DEFAULT_RATE,
            burst: DEFAULT_BURST,
        }
    }
}

impl RateLimit {
    /// The fixed window that enforces this limit: `quota` requests per
    /// `window_secs`. A burst below the rate still allows one second's worth;
    /// the window is rounded up to whole seconds (the header's unit), so the
    /// sustained rate never exceeds `rate`. Zeros are read as 1.
    pub fn policy(self) -> Policy {
        let rate = self.rate.max(1);
        let quota = self.burst.max(rate);
        Policy {
            quota,
            window_secs: quota.div_ceil(rate),
        }
    }
}

/// A quota of `quota` requests per fixed window of `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub quota: u32,
    pub window_secs: u32,
}

/// Where `now` falls in the windows of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Epoch seconds at which the current window started.
    pub start: i64,
    /// Whole seconds until it ends (at least 1).
    pub reset_secs: u32,
}

impl Policy {
    pub fn window(&self, now: DateTime<Utc>) -> Window {
        let len_ms = i64::from(self.window_secs) * 1000;
        let now_ms = now.timestamp_millis();
        let start_ms = now_ms - now_ms.rem_euclid(len_ms);
        let left_ms = start_ms + len_ms - now_ms;
        Window {
            start: start_ms.div_euclid(1000),
            reset_secs: u32::try_from((left_ms + 999) / 1000).unwrap_or(self.window_secs).max(1),
        }
    }

    /// `RateLimit-Policy: "feeds";q=200;w=2`.
    pub fn header(&self) -> String {
        format!("\"{POLICY_NAME}\";q={};w={}", self.quota, self.window_secs)
    }
}

/// The limiter's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests left in the current window after this one.
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_secs: u32,
}

impl Decision {
    /// `RateLimit: "feeds";r=199;t=2`.
    pub fn header(&self) -> String {
        format!("\"{POLICY_NAME}\";r={};t={}", self.remaining, self.reset_secs)
    }

    /// Retry-After for a refused request: the end of the window (the draft
    /// says it must not point earlier than the effective window).
    pub fn retry_after(&self) -> String {
        self.reset_secs.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    #[test]
    fn rate_and_burst_become_a_whole_second_window() {
        assert_eq!(
            RateLimit::default().policy(),
            Policy {
                quota: 200,
                window_secs: 2
            }
        );
        let p = RateLimit { rate: 3, burst: 10 }.policy();
        assert_eq!((p.quota, p.window_secs), (10, 4), "10 per 4 s stays under 3/s");
        let p = RateLimit { rate: 50, burst: 5 }.policy();
        assert_eq!((p.quota, p.window_secs), (50, 1), "at least one second's worth");
        let p = RateLimit { rate: 0, burst: 0 }.policy();
        assert_eq!((p.quota, p.window_secs), (1, 1));
    }

    #[test]
    fn windows_are_aligned_and_reset_counts_whole_seconds() {
        let p = Policy {
            quota: 10,
            window_secs: 4,
        };
        let w = p.window(at(1_767_268_801_500));
        assert_eq!(w.start, 1_767_268_800);
        assert_eq!(w.reset_secs, 3, "2.5 s left rounds up");
        let w = p.window(at(1_767_268_800_000));
        assert_eq!((w.start, w.reset_secs), (1_767_268_800, 4));
        let w = p.window(at(1_767_268_803_999));
        assert_eq!(w.reset_secs, 1);
    }

    #[test]
    fn headers_use_structured_field_syntax() {
        let p = Policy {
            quota: 200,
            window_secs: 2,
        };
        assert_eq!(p.header(), "\"feeds\";q=200;w=2");
        let d = Decision {
            allowed: false,
            remaining: 0,
            reset_secs: 2,
        };
        assert_eq!(d.header(), "\"feeds\";r=0;t=2");
        assert_eq!(d.retry_after(), "2");
    }
}
