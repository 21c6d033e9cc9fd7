//! Prices one feed's usage: a list of charges, each a billed quantity times a
//! unit price, under chosen options (architecture, workflow type, memory,
//! API type) so the same usage can be repriced.

use crate::billing;
use crate::pricing::{PriceBook, UnitPrice};
use crate::usage::FeedUsage;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Service {
    ApiGateway,
    Lambda,
    StepFunctions,
    DynamoDb,
    EventBridge,
    CloudWatchLogs,
}

impl Service {
    pub const ALL: [Service; 6] = [
        Service::ApiGateway,
        Service::Lambda,
        Service::StepFunctions,
        Service::DynamoDb,
        Service::EventBridge,
        Service::CloudWatchLogs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::ApiGateway => "API Gateway",
            Service::Lambda => "Lambda",
            Service::StepFunctions => "Step Functions",
            Service::DynamoDb => "DynamoDB",
            Service::EventBridge => "EventBridge",
            Service::CloudWatchLogs => "CloudWatch Logs",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{value:?} is not a valid {what}; use one of: {allowed}")]
pub struct ChoiceError {
    what: &'static str,
    value: String,
    allowed: &'static str,
}

macro_rules! choice {
    ($name:ident, $what:literal, $allowed:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ChoiceError;
            fn from_str(s: &str) -> Result<Self, ChoiceError> {
                $(if s.eq_ignore_ascii_case($text) { return Ok($name::$variant); })+
                Err(ChoiceError { what: $what, value: s.to_string(), allowed: $allowed })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

choice!(Arch, "architecture", "x86_64, arm64", { X86_64 => "x86_64", Arm64 => "arm64" });
choice!(Workflow, "workflow type", "EXPRESS, STANDARD", { Express => "EXPRESS", Standard => "STANDARD" });
choice!(ApiKind, "API type", "HTTP, REST", { Http => "HTTP", Rest => "REST" });

/// How to price: as deployed, or repriced under other choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Choices {
    pub arch: Arch,
    /// None: each execution as it ran (its ARN says Express or Standard).
    pub workflow: Option<Workflow>,
    /// None: each invocation's memory from its REPORT line.
    pub memory_mb: Option<u32>,
    pub api: ApiKind,
}

impl Default for Choices {
    fn default() -> Self {
        Choices {
            arch: Arch::X86_64,
            workflow: None,
            memory_mb: None,
            api: ApiKind::Http,
        }
    }
}

/// One priced quantity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Charge {
    pub service: Service,
    pub item: &'static str,
    pub quantity: Decimal,
    pub unit: &'static str,
    pub usd: Decimal,
}

fn charge(service: Service, item: &'static str, quantity: Decimal, unit: &'static str, price: UnitPrice) -> Charge {
    Charge {
        service,
        item,
        quantity,
        unit,
        usd: price.cost(quantity),
    }
}

/// Log ingestion, priced from bytes (bytes x $/GB / 2^30) so no rounded GB
/// figure is multiplied.
pub fn log_charge(item: &'static str, events: u64, message_bytes: u64, price: UnitPrice) -> Charge {
    let bytes = billing::log_ingested_bytes(message_bytes, events);
    Charge {
        service: Service::CloudWatchLogs,
        item,
        quantity: billing::gigabytes(bytes),
        unit: "GB",
        usd: Decimal::from(bytes) * price.usd / (price.per * Decimal::from(billing::GB)),
    }
}

/// The charges of one feed's usage. Quantities of zero are left out, so a
/// service appears only when the feed used it.
pub fn price(u: &FeedUsage, book: &PriceBook, c: &Choices, definition_bytes: u64) -> Vec<Charge> {
    let mut out = Vec::new();
    let dec = Decimal::from;

    // API Gateway: HTTP APIs meter 512 KB units; REST APIs count requests.
    match c.api {
        ApiKind::Http => {
            let units: u64 = u.api_requests.iter().map(|b| billing::http_api_requests(*b)).sum();
            out.push(charge(
                Service::ApiGateway,
                "HTTP API requests",
                dec(units),
                "512 KB request units",
                book.http_api_request,
            ));
        }
        ApiKind::Rest => out.push(charge(
            Service::ApiGateway,
            "REST API requests",
            dec(u.api_requests.len() as u64),
            "requests",
            book.rest_api_request,
        )),
    }

    // Lambda: a request fee per invocation, and billed ms x memory.
    let requests = u.lambda.len() as u64 + u.lambda_unreported;
    out.push(charge(
        Service::Lambda,
        "requests",
        dec(requests),
        "requests",
        book.lambda_request,
    ));
    let gb_s: Decimal = u
        .lambda
        .iter()
        .map(|l| billing::lambda_gb_seconds(l.billed_ms, c.memory_mb.unwrap_or(l.memory_mb)))
        .sum();
    let (item, per_gb_s) = match c.arch {
        Arch::X86_64 => ("compute (x86_64)", book.lambda_gb_second_x86_64),
        Arch::Arm64 => ("compute (arm64)", book.lambda_gb_second_arm64),
    };
    out.push(charge(Service::Lambda, item, gb_s, "GB-seconds", per_gb_s));

    // Step Functions: Express bills requests and rounded GB-seconds,
    // Standard bills state transitions (retries included).
    let (mut express_runs, mut express_gb_s, mut transitions) = (0u64, Decimal::ZERO, 0u64);
    for e in &u.executions {
        let express = match c.workflow {
            Some(w) => w == Workflow::Express,
            None => e.express,
        };
        if express {
            express_runs += 1;
            let mb = billing::express_billed_mb(billing::express_memory_bytes(definition_bytes, e.max_data_bytes, 0));
            express_gb_s += billing::express_gb_seconds(billing::express_billed_ms(e.duration_ms), mb);
        } else {
            transitions += e.state_transitions;
        }
    }
    out.push(charge(
        Service::StepFunctions,
        "Express requests",
        dec(express_runs),
        "requests",
        book.express_request,
    ));
    out.push(charge(
        Service::StepFunctions,
        "Express duration",
        express_gb_s,
        "GB-seconds",
        book.express_gb_second,
    ));
    out.push(charge(
        Service::StepFunctions,
        "Standard state transitions",
        dec(transitions),
        "transitions",
        book.sfn_state_transition,
    ));

    // DynamoDB: the units each call consumed, as DynamoDB reported them
    // (ReturnConsumedCapacity=TOTAL: size, consistency, transactions, GSIs).
    out.push(charge(
        Service::DynamoDb,
        "write request units",
        u.dynamodb_write_units,
        "WRU",
        book.dynamodb_write_unit,
    ));
    out.push(charge(
        Service::DynamoDb,
        "read request units",
        u.dynamodb_read_units,
        "RRU",
        book.dynamodb_read_unit,
    ));

    out.push(charge(
        Service::EventBridge,
        "custom events",
        dec(u.eventbridge_events),
        "64 KB events",
        book.eventbridge_event,
    ));

    // CloudWatch Logs: message bytes + 26 per event.
    let p = book.logs_ingested_gb;
    out.push(log_charge("function logs", u.log_events, u.log_bytes, p));
    out.push(log_charge("execution logs", u.sfn_log_events, u.sfn_log_bytes, p));
    out.push(log_charge(
        "execution logs (estimated from histories)",
        u.sfn_log_events_estimated,
        u.sfn_log_bytes_estimated,
        p,
    ));
    out.push(log_charge(
        "API access logs",
        u.access_log_events,
        u.access_log_bytes,
        p,
    ));

    out.retain(|c| !c.quantity.is_zero());
    out
}

/// The least any design could pay per feed: one API Gateway request, one
/// Lambda request, and one write request unit per order (an order item of at
/// most 1 KB written once, with no index).
pub fn floor(orders: u64, book: &PriceBook, api: ApiKind) -> Vec<Charge> {
    let api_charge = match api {
        ApiKind::Http => charge(
            Service::ApiGateway,
            "HTTP API requests",
            Decimal::ONE,
            "512 KB request units",
            book.http_api_request,
        ),
        ApiKind::Rest => charge(
            Service::ApiGateway,
            "REST API requests",
            Decimal::ONE,
            "requests",
            book.rest_api_request,
        ),
    };
    vec![
        api_charge,
        charge(
            Service::Lambda,
            "requests",
            Decimal::ONE,
            "requests",
            book.lambda_request,
        ),
        charge(
            Service::DynamoDb,
            "write request units",
            Decimal::from(orders * billing::dynamodb_write_units(1024, false)),
            "WRU",
            book.dynamodb_write_unit,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_case_insensitively_and_name_the_allowed_values() {
        assert_eq!("ARM64".parse::<Arch>().unwrap(), Arch::Arm64);
        assert_eq!("standard".parse::<Workflow>().unwrap(), Workflow::Standard);
        assert_eq!("rest".parse::<ApiKind>().unwrap(), ApiKind::Rest);
        let e = "sparc".parse::<Arch>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"sparc\" is not a valid architecture; use one of: x86_64, arm64"
        );
    }
}
