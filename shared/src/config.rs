//! Configuration that the template passes to functions through the environment.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set; template.yaml sets it for every function that needs it")]
    Missing(&'static str),
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
