//! Logging to standard error, with a filter that `SIGHUP` can change while serving
//! (the `log` setting, `SLUICE_LOG`).

use std::io::IsTerminal as _;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Registry, reload};

static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Parses filter directives (`info,sqlx=warn`), with the error operators see.
pub fn parse_filter(spec: &str) -> anyhow::Result<EnvFilter> {
    EnvFilter::try_new(spec)
        .map_err(|e| anyhow::anyhow!("invalid log filter {spec:?} (SLUICE_LOG): {e}"))
}

/// Installs the process's logger with `spec` as its filter. Once per process.
pub fn init(spec: &str) -> anyhow::Result<()> {
    let (filter, handle) = reload::Layer::new(parse_filter(spec)?);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colours for a terminal only, not for journald or a log file.
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))?;
    let _ = FILTER.set(handle);
    Ok(())
}

/// Replaces the filter of the logger [`init`] installed.
pub fn set_filter(spec: &str) -> anyhow::Result<()> {
    let filter = parse_filter(spec)?;
    match FILTER.get() {
        Some(handle) => handle
            .reload(filter)
            .map_err(|e| anyhow::anyhow!("cannot change the log filter: {e}")),
        None => Ok(()),
    }
}
