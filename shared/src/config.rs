//! Configuration that the template passes to functions through the environment.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set; template.yaml sets it for every function that needs it")]
    Missing(&'static str),
    #[error("environment variable {name} is {value:?}; it must be a whole number of days from 1 to 36500")]
    Invalid { name: &'static str, value: String },
}

/// Reads a required environment variable.
pub fn required_env(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// The CloudWatch namespace for EMF metrics (METRICS_NAMESPACE, default "ZeroBeta").
pub fn metrics_namespace() -> String {
    std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "ZeroBeta".to_string())
}

/// The function's name as Lambda reports it, or a fallback for local runs.
pub fn function_name(fallback: &str) -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| fallback.to_string())
}

/// How long each kind of item is kept, in days: the template's retention
/// parameters, which reach every function that writes or reads these items
/// as environment variables. The defaults are the template's (PRIVACY.md
/// says why each is what it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Raw feed bodies, staged step batches and outcome pages (RAW_FEED_RETENTION_DAYS).
    pub raw_feed_days: u32,
    /// The errors table (ERROR_RETENTION_DAYS).
    pub error_days: u32,
    /// The deliveries table (DELIVERY_RETENTION_DAYS).
    pub delivery_days: u32,
    /// The outbox table (OUTBOX_RETENTION_DAYS).
    pub outbox_days: u32,
    /// Orders and feed records: financial records (ORDER_RETENTION_DAYS).
    pub order_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            raw_feed_days: 30,
            error_days: 30,
            delivery_days: 30,
            outbox_days: 30,
            order_days: 2555,
        }
    }
}

/// The retention environment variables, in the order of [`Retention`]'s fields.
pub const RETENTION_ENV: [&str; 5] = [
    "RAW_FEED_RETENTION_DAYS",
    "ERROR_RETENTION_DAYS",
    "DELIVERY_RETENTION_DAYS",
    "OUTBOX_RETENTION_DAYS",
    "ORDER_RETENTION_DAYS",
];

/// The longest retention accepted (100 years): keeps `now + days` far from
/// overflowing and catches a value in the wrong unit.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

const SECS_PER_DAY: i64 = 24 * 60 * 60;

impl Retention {
    /// The retention the environment sets, each unset variable at its
    /// default. A value that is not a whole number of days in
    /// 1..=[`MAX_RETENTION_DAYS`] is an error: the template's MinValue and
    /// MaxValue keep such a value out of a deployment, so it means a broken
    /// environment, and keeping data for a guessed time is worse than failing.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Retention::from_env`] for constructors that cannot fail (the
    /// stores): a broken value is logged and the default used.
    pub fn from_env_or_default() -> Self {
        Self::from_env().unwrap_or_else(|e| {
            tracing::error!(error = %e, "retention from the environment refused; using the defaults");
            Self::default()
        })
    }

    fn from_lookup(lookup: impl Fn(&'static str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let defaults = [
            d.raw_feed_days,
            d.error_days,
            d.delivery_days,
            d.outbox_days,
            d.order_days,
        ];
        let mut days = [0u32; 5];
        for (i, name) in RETENTION_ENV.into_iter().enumerate() {
            days[i] = match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => defaults[i],
                Some(v) => match v.trim().parse::<u32>() {
                    Ok(n) if (1..=MAX_RETENTION_DAYS).contains(&n) => n,
                    _ => return Err(ConfigError::Invalid { name, value: v }),
                },
            };
        }
        let [raw_feed_days, error_days, delivery_days, outbox_days, order_days] = days;
        Ok(Self {
            raw_feed_days,
            error_days,
            delivery_days,
            outbox_days,
            order_days,
        })
    }

    /// The epoch second an item written at `now` and kept `days` expires:
    /// the value of its `expiresAt` TTL attribute.
    pub fn expires_at(now: chrono::DateTime<chrono::Utc>, days: u32) -> i64 {
        now.timestamp().saturating_add(i64::from(days) * SECS_PER_DAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&'static str, &str)]) -> Result<Retention, ConfigError> {
        let vars: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        Retention::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn unset_variables_take_the_documented_defaults() {
        let r = from(&[]).unwrap();
        assert_eq!(
            (
                r.raw_feed_days,
                r.error_days,
                r.delivery_days,
                r.outbox_days,
                r.order_days
            ),
            (30, 30, 30, 30, 2555)
        );
    }

    #[test]
    fn each_variable_sets_its_own_retention() {
        let r = from(&[
            ("RAW_FEED_RETENTION_DAYS", "7"),
            ("ERROR_RETENTION_DAYS", "14"),
            ("DELIVERY_RETENTION_DAYS", "21"),
            ("OUTBOX_RETENTION_DAYS", "3"),
            ("ORDER_RETENTION_DAYS", "3650"),
        ])
        .unwrap();
        assert_eq!(
            (
                r.raw_feed_days,
                r.error_days,
                r.delivery_days,
                r.outbox_days,
                r.order_days
            ),
            (7, 14, 21, 3, 3650)
        );
    }

    #[test]
    fn a_value_out_of_range_or_not_a_number_is_refused() {
        for bad in ["0", "-1", "1.5", "thirty", "36501"] {
            let err = from(&[("OUTBOX_RETENTION_DAYS", bad)]).unwrap_err();
            assert!(err.to_string().contains("OUTBOX_RETENTION_DAYS"), "{err}");
        }
    }

    #[test]
    fn expiry_is_days_after_now_in_epoch_seconds() {
        let now = chrono::DateTime::from_timestamp(1_767_268_800, 0).unwrap();
        assert_eq!(Retention::expires_at(now, 30), 1_767_268_800 + 30 * 86_400);
    }
}
