//! AWS SDK configuration shared by every `zb` subcommand, and SDK errors
//! turned into messages an operator can act on.
//!
//! One model for every subcommand, as LocalStack users know it:
//! - `--local` aims at the local cloud `make run` starts: the AWS APIs at
//!   http://127.0.0.1:4000 and DynamoDB at http://127.0.0.1:8000;
//! - `--endpoint-url URL` is the endpoint of every AWS call (it beats
//!   `--local` for the AWS APIs; DynamoDB keeps :8000 under `--local`), and
//!   `--dynamodb-endpoint URL` that of DynamoDB;
//! - without flags, AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then AWS.
//!
//! A local endpoint gets region us-east-1 (unless --region or AWS_REGION
//! names one) and dummy credentials, so no profile or IMDS lookup happens.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use clap::Args;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Where `make run` serves the AWS APIs (Step Functions, EventBridge, Lambda, CloudWatch Logs).
pub const LOCAL_AWS_ENDPOINT: &str = "http://127.0.0.1:4000";
/// Where `make run` serves DynamoDB Local.
pub const LOCAL_DYNAMODB_ENDPOINT: &str = "http://127.0.0.1:8000";

static VERBOSE: AtomicBool = AtomicBool::new(false);
static GLOBAL: std::sync::OnceLock<AwsArgs> = std::sync::OnceLock::new();

/// The global flags as parsed, for code that is handed only a client.
pub fn set_global(args: &AwsArgs) {
    let _ = GLOBAL.set(args.clone());
}

pub fn global() -> AwsArgs {
    GLOBAL.get().cloned().unwrap_or_default()
}

/// `-v`: errors carry the SDK's whole error chain and debug form.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Options every subcommand that talks to AWS accepts.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// Use the local cloud (`make run`): AWS APIs at http://127.0.0.1:4000, DynamoDB at http://127.0.0.1:8000
    #[arg(long, global = true)]
    pub local: bool,
    /// Endpoint for every AWS call, e.g. http://127.0.0.1:4000 for the local cloud
    /// [default: with --local the local cloud's; else AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then AWS]
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region [default: AWS_REGION or the profile's; us-east-1 for a local endpoint]
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Show error details (the AWS SDK's full error chain)
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
    /// DynamoDB's endpoint, from a subcommand's --dynamodb-endpoint.
    #[arg(skip)]
    pub dynamodb_endpoint: Option<String>,
}

impl AwsArgs {
    /// The endpoint the flags and the environment give `service`, None for AWS itself.
    pub fn endpoint_for(&self, service: Service) -> Option<String> {
        self.flag_endpoint(service)
            .or_else(|| env(service.env_var()))
            .or_else(|| env("AWS_ENDPOINT_URL"))
    }

    /// The endpoint the flags alone give `service` (they beat the environment).
    fn flag_endpoint(&self, service: Service) -> Option<String> {
        let explicit = |u: &Option<String>| u.clone().filter(|u| !u.trim().is_empty());
        if service == Service::DynamoDb {
            explicit(&self.dynamodb_endpoint)
                .or_else(|| self.local.then(|| LOCAL_DYNAMODB_ENDPOINT.to_string()))
                .or_else(|| explicit(&self.endpoint_url))
        } else {
            explicit(&self.endpoint_url).or_else(|| self.local.then(|| LOCAL_AWS_ENDPOINT.to_string()))
        }
    }
}

/// The services `zb` calls, with the names their endpoint variables use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    StepFunctions,
    CloudWatchLogs,
    DynamoDb,
    Lambda,
}

impl Service {
    pub fn display_name(self) -> &'static str {
        match self {
            Self::StepFunctions => "Step Functions",
            Self::CloudWatchLogs => "CloudWatch Logs",
            Self::DynamoDb => "DynamoDB",
            Self::Lambda => "Lambda",
        }
    }

    /// AWS_ENDPOINT_URL_<service id>, as aws-config reads it.
    fn env_var(self) -> &'static str {
        match self {
            Self::StepFunctions => "AWS_ENDPOINT_URL_SFN",
            Self::CloudWatchLogs => "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
            Self::DynamoDb => "AWS_ENDPOINT_URL_DYNAMODB",
            Self::Lambda => "AWS_ENDPOINT_URL_LAMBDA",
        }
    }
}

/// Where a service's calls go, for messages and for the Express decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub service: Service,
    /// None: the SDK's AWS endpoint for the region.
    pub endpoint: Option<String>,
    pub region: Option<String>,
}

impl Target {
    /// True for anything that is not AWS itself (the local cloud, an
    /// emulator): decides the hints of unreachable-endpoint messages.
    pub fn is_emulator(&self) -> bool {
        self.endpoint.as_deref().is_some_and(is_emulator_url)
    }

    pub fn describe(&self) -> String {
        match (&self.endpoint, &self.region) {
            (Some(url), _) => format!("the {} endpoint {url}", self.service.display_name()),
            (None, Some(r)) => format!("AWS {} in {r}", self.service.display_name()),
            (None, None) => format!("AWS {}", self.service.display_name()),
        }
    }

    /// "the local cloud at http://127.0.0.1:4000", "DynamoDB at http://127.0.0.1:8000".
    fn describe_unreachable(&self) -> String {
        match &self.endpoint {
            Some(url) if self.is_emulator() && self.service == Service::DynamoDb => format!("DynamoDB at {url}"),
            Some(url) if self.is_emulator() => format!("the local cloud at {url}"),
            _ => self.describe(),
        }
    }
}

/// `http://127.0.0.1:4000` -> true; `https://states.us-east-1.amazonaws.com` -> false.
pub fn is_emulator_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    let host = host.to_ascii_lowercase();
    !(host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn") || host.ends_with(".api.aws"))
}

/// Loaded SDK configuration plus what it resolved to.
pub struct Aws {
    pub config: SdkConfig,
    pub args: AwsArgs,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Aws {
    /// The configuration for the AWS APIs (Step Functions, CloudWatch Logs, Lambda).
    pub async fn load(args: &AwsArgs) -> Aws {
        Self::load_for(args, Service::StepFunctions).await
    }

    /// The configuration for `service`'s client.
    pub async fn load_for(args: &AwsArgs, service: Service) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = args.flag_endpoint(service) {
            loader = loader.endpoint_url(url);
        }
        // Local when the endpoint this service's calls go to is not AWS; for
        // the shared config of Step Functions and Logs, when either is.
        let local = args.endpoint_for(service).as_deref().is_some_and(is_emulator_url)
            || (service == Service::StepFunctions
                && args
                    .endpoint_for(Service::CloudWatchLogs)
                    .as_deref()
                    .is_some_and(is_emulator_url));
        if let Some(r) = &args.region {
            loader = loader.region(Region::new(r.clone()));
        } else if local {
            // The local cloud does not care about the region, but the SDK
            // refuses to run without one; no profile or IMDS lookup for it.
            let region = env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".to_string());
            loader = loader.region(Region::new(region));
        }
        if local {
            // Emulators ignore signatures, but the SDK will not send a request
            // unsigned; dummy keys keep it from looking in profiles or IMDS.
            loader = loader
                .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                    "local", "local", None, None, "zb-local",
                ))
                // A stopped local cloud refuses at once: say so without seconds of back-off.
                .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(50)));
        }
        Aws {
            config: loader.load().await,
            args: args.clone(),
        }
    }

    pub fn target(&self, service: Service) -> Target {
        Target {
            service,
            endpoint: self.args.endpoint_for(service),
            region: self.config.region().map(|r| r.to_string()),
        }
    }
}

/// An SDK call that did not succeed, as the operator should read it.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("cannot reach {target}: {reason}{hint}{details}")]
    Unreachable {
        target: String,
        reason: String,
        hint: &'static str,
        /// `-v`'s error chain, else empty.
        details: String,
    },
    #[error("{service} {operation} failed: {code}: {message}")]
    Service {
        service: &'static str,
        operation: &'static str,
        code: String,
        message: String,
    },
    #[error("{service} {operation} failed: {detail}")]
    Other {
        service: &'static str,
        operation: &'static str,
        detail: String,
    },
}

/// With `-v`: the whole error chain and the debug form, on lines of their own.
fn details<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if verbose() {
        format!("\n  details: {}\n  debug: {err:?}", DisplayErrorContext(err))
    } else {
        String::new()
    }
}

impl AwsError {
    /// The service's error code (e.g. `StateMachineTypeNotSupported`), if it answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn from_sdk<E, R>(target: &Target, operation: &'static str, err: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let service = target.service.display_name();
        let details = details(&err);
        match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                let chain = DisplayErrorContext(&err).to_string();
                if chain.contains("credentials") {
                    return AwsError::Other {
                        service,
                        operation,
                        detail: format!(
                            "no usable AWS credentials; set AWS_PROFILE or AWS_ACCESS_KEY_ID, or use --local for the local cloud{details}"
                        ),
                    };
                }
                let hint = if target.is_emulator() {
                    " (is `make run` running?)"
                } else {
                    " (check your network, region and credentials; --local for the local cloud)"
                };
                AwsError::Unreachable {
                    target: target.describe_unreachable(),
                    reason: network_reason(&err),
                    hint,
                    details,
                }
            }
            SdkError::ServiceError(_) => AwsError::Service {
                service,
                operation,
                code: err.code().unwrap_or("UnknownError").to_string(),
                message: format!("{}{details}", one_line(err.message().unwrap_or("(no message)"))),
            },
            _ => AwsError::Other {
                service,
                operation,
                detail: format!("{}{details}", one_line(&network_reason(&err))),
            },
        }
    }
}

/// The first line of a message, at most 300 characters: never a dump.
fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() > 300 {
        format!("{}…", line.chars().take(300).collect::<String>())
    } else {
        line.to_string()
    }
}
/// The most specific reason in an error's source chain: "connection refused"
/// rather than "dispatch failure".
fn network_reason(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut last = err.to_string();
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                std::io::ErrorKind::TimedOut => "connection timed out".to_string(),
                _ => io.to_string(),
            };
        }
        last = e.to_string();
        cur = e.source();
    }
    let lower = last.to_ascii_lowercase();
    if lower.contains("connection refused") {
        "connection refused".to_string()
    } else if lower.contains("dns") || lower.contains("failed to lookup") {
        format!("name resolution failed ({last})")
    } else {
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_urls() {
        for url in [
            "http://127.0.0.1:4000",
            "http://localhost:4000/",
            "http://[::1]:4000",
            "http://host.docker.internal:4566",
            "http://sfn-local:8083",
        ] {
            assert!(is_emulator_url(url), "{url}");
        }
        for url in [
            "https://states.us-east-1.amazonaws.com",
            "https://logs.eu-west-1.amazonaws.com/",
            "https://states.cn-north-1.amazonaws.com.cn",
            "https://states.us-east-1.api.aws",
        ] {
            assert!(!is_emulator_url(url), "{url}");
        }
    }

    #[test]
    fn target_descriptions() {
        let local = Target {
            service: Service::StepFunctions,
            endpoint: Some("http://127.0.0.1:4000".into()),
            region: Some("us-east-1".into()),
        };
        assert!(local.is_emulator());
        assert_eq!(local.describe(), "the Step Functions endpoint http://127.0.0.1:4000");
        let aws = Target {
            service: Service::CloudWatchLogs,
            endpoint: None,
            region: Some("eu-west-1".into()),
        };
        assert!(!aws.is_emulator());
        assert_eq!(aws.describe(), "AWS CloudWatch Logs in eu-west-1");
        assert_eq!(local.describe_unreachable(), "the local cloud at http://127.0.0.1:4000");
    }

    #[test]
    fn local_fills_in_what_the_flags_do_not_name() {
        let local = AwsArgs {
            local: true,
            ..Default::default()
        };
        assert_eq!(
            local.flag_endpoint(Service::StepFunctions).as_deref(),
            Some(LOCAL_AWS_ENDPOINT)
        );
        assert_eq!(
            local.flag_endpoint(Service::Lambda).as_deref(),
            Some(LOCAL_AWS_ENDPOINT)
        );
        assert_eq!(
            local.flag_endpoint(Service::DynamoDb).as_deref(),
            Some(LOCAL_DYNAMODB_ENDPOINT)
        );
        let ports = AwsArgs {
            local: true,
            endpoint_url: Some("http://127.0.0.1:4100".into()),
            dynamodb_endpoint: Some("http://127.0.0.1:8100".into()),
            ..Default::default()
        };
        assert_eq!(
            ports.flag_endpoint(Service::CloudWatchLogs).as_deref(),
            Some("http://127.0.0.1:4100")
        );
        assert_eq!(
            ports.flag_endpoint(Service::DynamoDb).as_deref(),
            Some("http://127.0.0.1:8100")
        );
        // Without --local, --endpoint-url is every call's, DynamoDB's too (as in the AWS CLI).
        let one = AwsArgs {
            endpoint_url: Some("http://127.0.0.1:4000".into()),
            ..Default::default()
        };
        assert_eq!(
            one.flag_endpoint(Service::DynamoDb).as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(AwsArgs::default().flag_endpoint(Service::StepFunctions), None);
    }

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\nb"), "a");
        assert!(one_line(&"x".repeat(1000)).chars().count() <= 301);
    }

    #[test]
    fn unreachable_message() {
        let e = AwsError::Unreachable {
            target: "the Step Functions endpoint http://127.0.0.1:4000".into(),
            reason: "connection refused".into(),
            hint: " (is `make run` running?)",
            details: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "cannot reach the Step Functions endpoint http://127.0.0.1:4000: connection refused (is `make run` running?)"
        );
    }

    #[test]
    fn io_reason_is_found_in_the_chain() {
        #[derive(Debug)]
        struct Wrap(std::io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("dispatch failure")
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Wrap(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(network_reason(&e), "connection refused");
    }
}
