//! Volume and health figures per partner and hour, kept as aggregates the
//! pipeline maintains (the admin API never scans orders or errors to count
//! them). No I/O here: the hour keys, the latency histogram with its
//! documented bounds and the p50/p95 estimate from it, the [`VolumeHour`]
//! the admin API shows, and the [`VolumeDelta`] one finished feed adds.
//!
//! A feed counts once, when it reaches a terminal status, in the hour it
//! was *received* in (so a feed received at 10:59 and finished at 11:00
//! counts at 10). The store writes the delta in the same transaction as the
//! terminal status (see `store/metrics.rs`), and keeps a copy on the feed
//! record, so a redrive can take exactly that contribution back.

use crate::feed::FeedCounts;
use crate::rejection::RejectionCode;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The partition key prefix of the volume items: `VOLUME#<partnerId>`.
pub const VOLUME_PREFIX: &str = "VOLUME#";
/// The attribute prefix of a latency bucket: `lat_00` … `lat_16`.
pub const LATENCY_PREFIX: &str = "lat_";
/// The attribute prefix of a rejection code's count: `rej_MISSING_FIELD`.
pub const REJECTION_PREFIX: &str = "rej_";

/// Upper bounds (inclusive, milliseconds) of the end-to-end latency
/// buckets. Bucket `i` holds latencies in `(BOUNDS[i-1], BOUNDS[i]]`
/// (bucket 0 from 0), and the last bucket, `lat_16`, everything above
/// 15 minutes. Dense below 3 s, where a pipeline that works lands (five
/// short Lambda steps), then coarse up to the stuck-feed sweeper's range
/// (10 min and later) and redrives (hours), which need no precision. A
/// fixed set of buckets is what lets one item per hour hold the
/// distribution with ADDs alone: percentiles cannot be added, counts can.
pub const LATENCY_BOUNDS_MS: [u64; 16] = [
    100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000, 900_000,
];
/// Buckets: one per bound and one open-ended above the last.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("{0:?} is neither an hour (YYYY-MM-DDTHH) nor an RFC 3339 time")]
    BadHour(String),
    #[error("{0:?} is not an RFC 3339 time")]
    BadReceivedAt(String),
}

/// The hour key of an instant: `YYYY-MM-DDTHH`, UTC. Fixed width, so
/// lexical order is time order (the key is the volume items' sort key).
pub fn hour_key(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H").to_string()
}

/// The hour key of a stored timestamp (a feed's receivedAt).
pub fn hour_of(timestamp: &str) -> Result<String, MetricsError> {
    crate::time::parse_rfc3339(timestamp)
        .map(hour_key)
        .map_err(|_| MetricsError::BadReceivedAt(timestamp.to_string()))
}

/// The start of the hour an hour key names.
pub fn parse_hour(key: &str) -> Result<DateTime<Utc>, MetricsError> {
    let bad = || MetricsError::BadHour(key.to_string());
    // Exactly 13 characters: chrono would otherwise accept `2026-1-1T1`,
    // a key that never matches a stored one.
    if key.len() != 13 {
        return Err(bad());
    }
    let t = NaiveDateTime::parse_from_str(&format!("{key}:00:00"), "%Y-%m-%dT%H:%M:%S").map_err(|_| bad())?;
    Ok(Utc.from_utc_datetime(&t))
}

/// An hour given as `YYYY-MM-DDTHH` or as any RFC 3339 time within it
/// (the admin API's `from`/`to`), as the hour key.
pub fn hour_param(text: &str) -> Result<String, MetricsError> {
    if let Ok(t) = parse_hour(text) {
        return Ok(hour_key(t));
    }
    crate::time::parse_rfc3339(text)
        .map(hour_key)
        .map_err(|_| MetricsError::BadHour(text.to_string()))
}

/// A feed's receipt time for its figures. A receivedAt we cannot read
/// (we write it ourselves, so it would be a damaged record) must not stop
/// the feed from finishing: it then counts in the hour it finished, with
/// no latency, and says so in the log.
pub fn receipt_time(received_at: &str, finished_at: DateTime<Utc>) -> DateTime<Utc> {
    crate::time::parse_rfc3339(received_at).unwrap_or_else(|_| {
        tracing::warn!(%received_at, "unreadable receivedAt: counted in the hour the feed finished");
        finished_at
    })
}

/// The bucket of a latency.
pub fn latency_bucket(ms: u64) -> usize {
    LATENCY_BOUNDS_MS.partition_point(|&bound| bound < ms)
}

/// The attribute name of bucket `i`: `lat_07`.
pub fn latency_attr(i: usize) -> String {
    format!("{LATENCY_PREFIX}{i:02}")
}

/// The attribute name of a rejection code's count: `rej_MISSING_FIELD`.
pub fn rejection_attr(code: RejectionCode) -> String {
    format!("{REJECTION_PREFIX}{}", code.as_str())
}

/// The `q` quantile (0 < q ≤ 1) of the latencies a histogram counts, in
/// ms; None for an empty histogram. The estimate: the rank `ceil(q·n)`,
/// the bucket that holds it, and linear interpolation within that bucket's
/// bounds (as Prometheus' histogram_quantile does), so its error is at
/// most the bucket's width. In the open last bucket it answers the
/// bucket's lower bound (900,000 ms): "at least 15 minutes".
pub fn percentile(counts: &[u64; LATENCY_BUCKETS], q: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut below = 0u64;
    for (i, &n) in counts.iter().enumerate() {
        if n > 0 && below + n >= rank {
            let lower = if i == 0 { 0 } else { LATENCY_BOUNDS_MS[i - 1] };
            let Some(&upper) = LATENCY_BOUNDS_MS.get(i) else {
                return Some(lower);
            };
            let within = (rank - below) as f64 / n as f64;
            return Some(lower + ((upper - lower) as f64 * within).round() as u64);
        }
        below += n;
    }
    // Unreachable: the ranks stop at the total.
    Some(LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.len() - 1])
}

/// The orders of one hour, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderVolume {
    /// Orders in finished feeds.
    pub received: u64,
    pub persisted: u64,
    /// Rejected by a check (not PIPELINE_FAILED: those are in `failed`).
    pub rejected: u64,
    pub duplicate: u64,
    /// Orders of FAILED feeds.
    pub failed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p95: u64,
}

/// One partner's hour, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeHour {
    pub partner_id: String,
    /// `YYYY-MM-DDTHH`, the UTC hour the feeds were received in.
    pub hour: String,
    /// Finished feeds.
    pub feeds: u64,
    pub orders: OrderVolume,
    /// End to end (receipt to finish) per feed, from the histogram; None
    /// (null) without feeds.
    pub latency_ms: Option<Latency>,
    /// Rejected orders per code (PIPELINE_FAILED ones are `failed`).
    pub rejection_codes: BTreeMap<String, u64>,
    /// The histogram itself, for a caller that wants other quantiles.
    #[serde(skip)]
    pub latency_histogram: [u64; LATENCY_BUCKETS],
}

impl VolumeHour {
    /// Fills in `latency_ms` from the histogram.
    pub fn with_percentiles(mut self) -> Self {
        self.latency_ms = match (
            percentile(&self.latency_histogram, 0.50),
            percentile(&self.latency_histogram, 0.95),
        ) {
            (Some(p50), Some(p95)) => Some(Latency { p50, p95 }),
            _ => None,
        };
        self
    }
}

/// What one finished feed adds to its partner's hour (or, negated, what a
/// redrive takes back). Stored on the feed record as `volume`, so the
/// redrive subtracts exactly what was added, whatever changed since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeDelta {
    /// The hour key of the feed's receivedAt.
    pub hour: String,
    pub feeds: i64,
    pub received: i64,
    pub persisted: i64,
    pub rejected: i64,
    pub duplicate: i64,
    pub failed: i64,
    /// End to end, finish − receivedAt (0 if the clocks disagree).
    pub latency_ms: u64,
    /// The histogram bucket `latency_ms` falls in.
    pub latency_bucket: usize,
    /// How much the bucket count changes: 1, or −1 for a redrive.
    #[serde(default = "one")]
    pub latency_count: i64,
    /// Rejected orders per code, PIPELINE_FAILED excluded.
    #[serde(default)]
    pub rejection_codes: BTreeMap<String, i64>,
}

fn one() -> i64 {
    1
}

fn signed(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn latency(received_at: DateTime<Utc>, finished_at: DateTime<Utc>) -> (u64, usize) {
    let ms = u64::try_from((finished_at - received_at).num_milliseconds()).unwrap_or(0);
    (ms, latency_bucket(ms))
}

impl VolumeDelta {
    /// A feed finished COMPLETED or COMPLETED_WITH_REJECTIONS: its counts
    /// as Persist recorded them, and the codes of its rejections.
    pub fn completed(
        received_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        counts: &FeedCounts,
        codes: impl IntoIterator<Item = RejectionCode>,
    ) -> Self {
        let (latency_ms, latency_bucket) = latency(received_at, finished_at);
        let mut rejection_codes = BTreeMap::new();
        for code in codes {
            if code != RejectionCode::PipelineFailed {
                *rejection_codes.entry(code.as_str().to_string()).or_insert(0) += 1;
            }
        }
        Self {
            hour: hour_key(received_at),
            feeds: 1,
            received: signed(counts.received),
            persisted: signed(counts.persisted),
            rejected: signed(counts.rejected),
            duplicate: signed(counts.duplicate),
            failed: 0,
            latency_ms,
            latency_bucket,
            latency_count: 1,
            rejection_codes,
        }
    }

    /// A feed finished FAILED: every one of its `orders` counts as failed,
    /// whatever an earlier step did with it (the feed's outcomes say
    /// PIPELINE_FAILED for each; a redrive turns them into real outcomes).
    pub fn failed(received_at: DateTime<Utc>, finished_at: DateTime<Utc>, orders: usize) -> Self {
        let mut delta = Self::completed(received_at, finished_at, &FeedCounts::default(), []);
        delta.received = signed(orders);
        delta.failed = signed(orders);
        delta
    }

    /// The same contribution taken back.
    pub fn negated(&self) -> Self {
        Self {
            hour: self.hour.clone(),
            feeds: -self.feeds,
            received: -self.received,
            persisted: -self.persisted,
            rejected: -self.rejected,
            duplicate: -self.duplicate,
            failed: -self.failed,
            latency_ms: self.latency_ms,
            latency_bucket: self.latency_bucket,
            latency_count: -self.latency_count,
            rejection_codes: self.rejection_codes.iter().map(|(k, v)| (k.clone(), -v)).collect(),
        }
    }

    /// The attributes to ADD, by name: the counters, the latency bucket
    /// and one per rejection code. Every counter is named even when zero,
    /// so each hour item has the same shape.
    pub fn additions(&self) -> Vec<(String, i64)> {
        let mut out = vec![
            ("feeds".to_string(), self.feeds),
            ("received".to_string(), self.received),
            ("persisted".to_string(), self.persisted),
            ("rejected".to_string(), self.rejected),
            ("duplicate".to_string(), self.duplicate),
            ("failed".to_string(), self.failed),
            (
                latency_attr(self.latency_bucket.min(LATENCY_BUCKETS - 1)),
                self.latency_count,
            ),
        ];
        out.extend(
            self.rejection_codes
                .iter()
                .filter(|(_, &n)| n != 0)
                .map(|(code, &n)| (format!("{REJECTION_PREFIX}{code}"), n)),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::time::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn hour_keys_are_the_utc_hour_and_sort_as_time() {
        assert_eq!(hour_key(at("2026-03-01T10:59:59.999+02:00")), "2026-03-01T08");
        assert_eq!(hour_of("2026-12-31T23:00:00.000Z").unwrap(), "2026-12-31T23");
        assert!(hour_key(at("2026-03-01T09:00:00Z")) < hour_key(at("2026-03-01T10:00:00Z")));
        assert!(hour_key(at("2026-09-30T23:00:00Z")) < hour_key(at("2026-10-01T00:00:00Z")));
        assert!(matches!(hour_of("yesterday"), Err(MetricsError::BadReceivedAt(_))));
    }

    #[test]
    fn hour_params_take_a_key_or_a_time_within_the_hour() {
        assert_eq!(hour_param("2026-03-01T08").unwrap(), "2026-03-01T08");
        assert_eq!(hour_param("2026-03-01T08:42:00Z").unwrap(), "2026-03-01T08");
        assert_eq!(hour_param("2026-03-01T10:42:00+02:00").unwrap(), "2026-03-01T08");
        assert_eq!(parse_hour("2026-03-01T08").unwrap(), at("2026-03-01T08:00:00Z"));
        for bad in [
            "2026-3-1T8",
            "2026-03-01T24",
            "2026-03-01",
            "2026-03-01T08x",
            "",
            "2026-02-30T01",
        ] {
            assert!(hour_param(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn buckets_follow_their_documented_bounds() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(100), 0, "bounds are inclusive");
        assert_eq!(latency_bucket(101), 1);
        assert_eq!(latency_bucket(1_000), 5);
        assert_eq!(latency_bucket(1_001), 6);
        assert_eq!(latency_bucket(900_000), 15);
        assert_eq!(latency_bucket(900_001), 16);
        assert_eq!(latency_bucket(u64::MAX), LATENCY_BUCKETS - 1);
        assert_eq!(latency_attr(7), "lat_07");
        assert_eq!(latency_attr(16), "lat_16");
        assert!(LATENCY_BOUNDS_MS.windows(2).all(|w| w[0] < w[1]));
    }

    fn histogram(latencies: &[u64]) -> [u64; LATENCY_BUCKETS] {
        let mut h = [0; LATENCY_BUCKETS];
        for &ms in latencies {
            h[latency_bucket(ms)] += 1;
        }
        h
    }

    #[test]
    fn percentiles_interpolate_within_the_bucket_that_holds_the_rank() {
        assert_eq!(percentile(&[0; LATENCY_BUCKETS], 0.5), None);
        // One feed at 400 ms: bucket (300, 500]; rank 1 of 1 is its top.
        assert_eq!(percentile(&histogram(&[400]), 0.5), Some(500));
        // 100 feeds, 1..=100 ms all in bucket 0: p50 is rank 50 → 50 ms.
        let h = histogram(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&h, 0.5), Some(50));
        assert_eq!(percentile(&h, 0.95), Some(95));
        // 90 fast feeds and 10 slow ones: p50 fast, p95 in the slow bucket.
        let mut lat = vec![150; 90];
        lat.extend([2_500; 10]);
        let h = histogram(&lat);
        let p50 = percentile(&h, 0.5).unwrap();
        assert!((100..=200).contains(&p50), "{p50}");
        let p95 = percentile(&h, 0.95).unwrap();
        assert!((2_000..=3_000).contains(&p95), "{p95}");
        // Beyond the last bound: its lower bound, "at least 15 minutes".
        assert_eq!(percentile(&histogram(&[3_600_000]), 0.95), Some(900_000));
    }

    #[test]
    fn the_estimate_stays_within_its_bucket_of_the_true_percentile() {
        // Latencies spread over every bucket: the estimate and the exact
        // value always fall in the same bucket.
        let lat: Vec<u64> = (0..2_000u64).map(|i| i * i * 7 % 1_000_000).collect();
        let mut sorted = lat.clone();
        sorted.sort_unstable();
        let h = histogram(&lat);
        for q in [0.5, 0.9, 0.95, 0.99] {
            let exact = sorted[((q * sorted.len() as f64).ceil() as usize).max(1) - 1];
            let est = percentile(&h, q).unwrap();
            let b = latency_bucket(exact);
            let lower = if b == 0 { 0 } else { LATENCY_BOUNDS_MS[b - 1] };
            let upper = LATENCY_BOUNDS_MS.get(b).copied().unwrap_or(u64::MAX);
            assert!((lower..=upper).contains(&est), "q={q}: exact {exact}, estimate {est}");
        }
    }

    #[test]
    fn a_completed_feed_adds_its_counts_latency_and_codes() {
        let counts = FeedCounts {
            received: 5,
            persisted: 2,
            duplicate: 1,
            rejected: 2,
        };
        let d = VolumeDelta::completed(
            at("2026-01-01T11:59:59.500Z"),
            at("2026-01-01T12:00:00.700Z"),
            &counts,
            [
                RejectionCode::MissingField,
                RejectionCode::MissingField,
                RejectionCode::PipelineFailed,
            ],
        );
        assert_eq!(d.hour, "2026-01-01T11", "the hour of receipt, not of the finish");
        assert_eq!((d.latency_ms, d.latency_bucket), (1_200, 6));
        assert_eq!(d.rejection_codes, BTreeMap::from([("MISSING_FIELD".to_string(), 2)]));
        let adds: BTreeMap<_, _> = d.additions().into_iter().collect();
        assert_eq!(adds["feeds"], 1);
        assert_eq!(adds["received"], 5);
        assert_eq!(adds["persisted"], 2);
        assert_eq!(adds["duplicate"], 1);
        assert_eq!(adds["rejected"], 2);
        assert_eq!(adds["failed"], 0);
        assert_eq!(adds["lat_06"], 1);
        assert_eq!(adds["rej_MISSING_FIELD"], 2);
        assert_eq!(adds.len(), 8);
    }

    #[test]
    fn a_failed_feed_counts_every_order_failed_and_a_redrive_takes_it_back() {
        let d = VolumeDelta::failed(at("2026-01-01T10:00:00.000Z"), at("2026-01-01T10:12:00.000Z"), 3);
        assert_eq!((d.received, d.failed, d.persisted, d.rejected), (3, 3, 0, 0));
        assert_eq!(d.latency_bucket, 15, "12 minutes: (600 s, 900 s]");
        let back = d.negated();
        let sum: BTreeMap<String, i64> =
            d.additions()
                .into_iter()
                .chain(back.additions())
                .fold(BTreeMap::new(), |mut m, (k, v)| {
                    *m.entry(k).or_insert(0) += v;
                    m
                });
        assert!(sum.values().all(|&v| v == 0), "{sum:?}");
        // The copy stored on the feed record reads back the same.
        let stored: VolumeDelta = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
        assert_eq!(stored, d);
    }

    #[test]
    fn a_finish_before_the_receipt_counts_zero_latency() {
        let d = VolumeDelta::failed(at("2026-01-01T10:00:00.000Z"), at("2026-01-01T09:59:00.000Z"), 1);
        assert_eq!((d.latency_ms, d.latency_bucket), (0, 0));
        let finished = at("2026-01-01T12:30:00.000Z");
        let d = VolumeDelta::failed(receipt_time("not a time", finished), finished, 1);
        assert_eq!((d.hour.as_str(), d.latency_ms), ("2026-01-01T12", 0));
    }
}
