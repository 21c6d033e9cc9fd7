//! The versioned price list (`pricing/<region>.json`): loaded, checked, and
//! reduced to one unit price per billed quantity.
//!
//! Each price names its unit, so a file whose unit disagrees with what the
//! code multiplies (a per-GB-hour price read as per-GB-second) is refused
//! instead of silently mispricing; unknown keys are refused too, since a
//! misspelt key would otherwise leave a price out.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("cannot read the price list {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the price list is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the price list has no price {0:?}")]
    Missing(&'static str),
    #[error("the price list has an unknown price {0:?} (a typo would leave a price out)")]
    Unknown(String),
    #[error("price {key:?}: unit {found:?}, expected {expected}")]
    Unit {
        key: &'static str,
        found: String,
        expected: String,
    },
    #[error("price {key:?}: {problem}")]
    Invalid { key: String, problem: String },
    #[error("the price list's {field} is {value:?}: {problem}")]
    Header {
        field: &'static str,
        value: String,
        problem: &'static str,
    },
}

/// One price as the file states it: `usd` for `per` units.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceEntry {
    pub usd: Decimal,
    #[serde(default = "one")]
    pub per: Decimal,
    pub unit: String,
    pub source: String,
    pub retrieved: String,
    #[serde(default)]
    pub note: Option<String>,
}

fn one() -> Decimal {
    Decimal::ONE
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PriceFile {
    version: String,
    region: String,
    currency: String,
    effective_date: String,
    #[serde(default)]
    notes: Vec<String>,
    prices: BTreeMap<String, PriceEntry>,
}

/// `usd` for `per` of the code's base unit. Kept as a fraction so that
/// quantity x usd is multiplied before dividing: $0.06 per GB-hour applied
/// to 0.01875 GB-s is exactly $0.0000003125, not a rounded 1/3600th.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UnitPrice {
    pub usd: Decimal,
    pub per: Decimal,
}

impl UnitPrice {
    pub fn cost(&self, quantity: Decimal) -> Decimal {
        quantity * self.usd / self.per
    }

    /// The price of one base unit (for display; may be rounded).
    pub fn per_unit(&self) -> Decimal {
        self.usd / self.per
    }
}

/// Unit prices in USD, one per billed quantity, from a checked price list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceBook {
    pub version: String,
    pub region: String,
    pub effective_date: NaiveDate,
    pub lambda_request: UnitPrice,
    pub lambda_gb_second_x86_64: UnitPrice,
    pub lambda_gb_second_arm64: UnitPrice,
    pub sfn_state_transition: UnitPrice,
    pub express_request: UnitPrice,
    pub express_gb_second: UnitPrice,
    pub dynamodb_write_unit: UnitPrice,
    pub dynamodb_read_unit: UnitPrice,
    pub eventbridge_event: UnitPrice,
    pub http_api_request: UnitPrice,
    pub rest_api_request: UnitPrice,
    pub logs_ingested_gb: UnitPrice,
    /// The file's notes, shown with a report.
    pub notes: Vec<String>,
}

/// A key the code prices, with the units it accepts and the factor that
/// turns a price per such unit into a price per the code's base unit.
struct Expected {
    key: &'static str,
    units: &'static [(&'static str, u32)],
}

const GB_SECOND: &[(&str, u32)] = &[("GB-second", 1), ("GB-hour", 3600)];

const KEYS: &[Expected] = &[
    Expected {
        key: "lambda.request",
        units: &[("request", 1)],
    },
    Expected {
        key: "lambda.duration.x86_64",
        units: GB_SECOND,
    },
    Expected {
        key: "lambda.duration.arm64",
        units: GB_SECOND,
    },
    Expected {
        key: "stepFunctions.standard.stateTransition",
        units: &[("state transition", 1)],
    },
    Expected {
        key: "stepFunctions.express.request",
        units: &[("request", 1)],
    },
    Expected {
        key: "stepFunctions.express.duration",
        units: GB_SECOND,
    },
    Expected {
        key: "dynamodb.onDemand.writeRequestUnit",
        units: &[("write request unit", 1)],
    },
    Expected {
        key: "dynamodb.onDemand.readRequestUnit",
        units: &[("read request unit", 1)],
    },
    Expected {
        key: "eventBridge.customEvent",
        units: &[("event (64 KB chunk)", 1)],
    },
    Expected {
        key: "apiGateway.httpApi.request",
        units: &[("request (512 KB unit)", 1)],
    },
    Expected {
        key: "apiGateway.restApi.request",
        units: &[("request", 1)],
    },
    Expected {
        key: "cloudWatchLogs.ingestion",
        units: &[("GB", 1)],
    },
];

impl PriceBook {
    /// Reads and checks a price list file.
    pub fn load(path: &Path) -> Result<PriceBook, PricingError> {
        let text = std::fs::read_to_string(path).map_err(|source| PricingError::Io {
            path: path.display().to_string(),
            source,
        })?;
        PriceBook::parse(&text)
    }

    /// Checks a price list and reduces it to unit prices.
    pub fn parse(text: &str) -> Result<PriceBook, PricingError> {
        let file: PriceFile = serde_json::from_str(text)?;
        if file.currency != "USD" {
            return Err(PricingError::Header {
                field: "currency",
                value: file.currency,
                problem: "only USD price lists are supported",
            });
        }
        if file.version.trim().is_empty() {
            return Err(PricingError::Header {
                field: "version",
                value: file.version,
                problem: "must name the version",
            });
        }
        let effective_date = date(&file.effective_date).ok_or_else(|| PricingError::Header {
            field: "effectiveDate",
            value: file.effective_date.clone(),
            problem: "must be a date like 2026-11-25",
        })?;
        if let Some(unknown) = file.prices.keys().find(|k| !KEYS.iter().any(|e| e.key == k.as_str())) {
            return Err(PricingError::Unknown(unknown.clone()));
        }
        let unit_price = |key: &'static str| -> Result<UnitPrice, PricingError> {
            let expected = KEYS.iter().find(|e| e.key == key).ok_or(PricingError::Missing(key))?;
            let entry = file.prices.get(key).ok_or(PricingError::Missing(key))?;
            check_entry(key, entry)?;
            let factor = expected
                .units
                .iter()
                .find(|(u, _)| *u == entry.unit)
                .map(|(_, f)| *f)
                .ok_or_else(|| PricingError::Unit {
                    key,
                    found: entry.unit.clone(),
                    expected: expected
                        .units
                        .iter()
                        .map(|(u, _)| format!("{u:?}"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                })?;
            Ok(UnitPrice {
                usd: entry.usd,
                per: entry.per * Decimal::from(factor),
            })
        };
        Ok(PriceBook {
            lambda_request: unit_price("lambda.request")?,
            lambda_gb_second_x86_64: unit_price("lambda.duration.x86_64")?,
            lambda_gb_second_arm64: unit_price("lambda.duration.arm64")?,
            sfn_state_transition: unit_price("stepFunctions.standard.stateTransition")?,
            express_request: unit_price("stepFunctions.express.request")?,
            express_gb_second: unit_price("stepFunctions.express.duration")?,
            dynamodb_write_unit: unit_price("dynamodb.onDemand.writeRequestUnit")?,
            dynamodb_read_unit: unit_price("dynamodb.onDemand.readRequestUnit")?,
            eventbridge_event: unit_price("eventBridge.customEvent")?,
            http_api_request: unit_price("apiGateway.httpApi.request")?,
            rest_api_request: unit_price("apiGateway.restApi.request")?,
            logs_ingested_gb: unit_price("cloudWatchLogs.ingestion")?,
            version: file.version,
            region: file.region,
            effective_date,
            notes: file.notes,
        })
    }
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn check_entry(key: &str, e: &PriceEntry) -> Result<(), PricingError> {
    let invalid = |problem: String| PricingError::Invalid {
        key: key.to_string(),
        problem,
    };
    if e.usd.is_sign_negative() {
        return Err(invalid(format!("usd {} is negative", e.usd)));
    }
    if e.per <= Decimal::ZERO {
        return Err(invalid(format!("per {} must be greater than zero", e.per)));
    }
    if !e.source.starts_with("https://") {
        return Err(invalid(format!("source {:?} must be an https URL", e.source)));
    }
    if date(&e.retrieved).is_none() {
        return Err(invalid(format!(
            "retrieved {:?} must be a date like 2026-11-25",
            e.retrieved
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::prelude::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn repo_file() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../pricing/us-east-1.json"))
            .expect("pricing/us-east-1.json")
    }

    #[test]
    fn the_repository_price_list_loads_to_unit_prices() {
        let book = PriceBook::parse(&repo_file()).expect("valid");
        assert_eq!(book.region, "us-east-1");
        // $0.20 per 1M requests.
        assert_eq!(book.lambda_request.per_unit(), d("0.0000002"));
        assert_eq!(book.lambda_gb_second_x86_64.per_unit(), d("0.0000166667"));
        assert_eq!(book.lambda_gb_second_arm64.per_unit(), d("0.0000133334"));
        // $0.025 per 1,000 transitions.
        assert_eq!(book.sfn_state_transition.per_unit(), d("0.000025"));
        assert_eq!(book.express_request.per_unit(), d("0.000001"));
        // $0.06 per GB-hour / 3600 s.
        assert_eq!(book.express_gb_second.per_unit().round_dp(16), d("0.0000166666666667"));
        assert_eq!(book.express_gb_second.cost(d("0.01875")), d("0.0000003125"));
        assert_eq!(book.dynamodb_write_unit.per_unit(), d("0.000000625"));
        assert_eq!(book.dynamodb_read_unit.per_unit(), d("0.000000125"));
        assert_eq!(book.eventbridge_event.per_unit(), d("0.000001"));
        assert_eq!(book.http_api_request.per_unit(), d("0.000001"));
        assert_eq!(book.rest_api_request.per_unit(), d("0.0000035"));
        assert_eq!(book.logs_ingested_gb.per_unit(), d("0.5"));
    }

    fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> Result<PriceBook, PricingError> {
        let mut v: serde_json::Value = serde_json::from_str(&repo_file()).unwrap();
        edit(&mut v);
        PriceBook::parse(&v.to_string())
    }

    #[test]
    fn a_wrong_unit_is_refused_by_name() {
        let e = edited(|v| v["prices"]["lambda.duration.arm64"]["unit"] = "GB-minute".into()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "price \"lambda.duration.arm64\": unit \"GB-minute\", expected \"GB-second\" or \"GB-hour\""
        );
    }

    #[test]
    fn missing_unknown_and_malformed_prices_are_refused() {
        let e = edited(|v| {
            v["prices"].as_object_mut().unwrap().remove("eventBridge.customEvent");
        })
        .unwrap_err();
        assert!(matches!(e, PricingError::Missing("eventBridge.customEvent")), "{e}");
        let e = edited(|v| v["prices"]["lambda.requests"] = v["prices"]["lambda.request"].clone()).unwrap_err();
        assert!(
            matches!(e, PricingError::Unknown(ref k) if k == "lambda.requests"),
            "{e}"
        );
        let e = edited(|v| v["prices"]["lambda.request"]["per"] = 0.into()).unwrap_err();
        assert!(e.to_string().contains("per 0 must be greater than zero"), "{e}");
        let e = edited(|v| v["prices"]["lambda.request"]["usd"] = "-1".into()).unwrap_err();
        assert!(e.to_string().contains("negative"), "{e}");
        let e = edited(|v| v["prices"]["lambda.request"]["source"] = "somewhere".into()).unwrap_err();
        assert!(e.to_string().contains("https URL"), "{e}");
        let e = edited(|v| v["prices"]["lambda.request"]["retrieved"] = "last week".into()).unwrap_err();
        assert!(e.to_string().contains("retrieved"), "{e}");
        let e = edited(|v| v["currency"] = "EUR".into()).unwrap_err();
        assert!(e.to_string().contains("only USD"), "{e}");
        let e = edited(|v| v["effectiveDate"] = "soon".into()).unwrap_err();
        assert!(e.to_string().contains("effectiveDate"), "{e}");
        let e = edited(|v| v["prices"]["lambda.request"]["colour"] = "blue".into()).unwrap_err();
        assert!(matches!(e, PricingError::Json(_)), "{e}");
    }
}
