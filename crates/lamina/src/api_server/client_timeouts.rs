//! How long a client connection may keep the server waiting: the `lamina serve` options.

use std::time::Duration;

/// Longest a client may take over a request's headers, from their first byte (as hyper's default).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest a client may leave a request body or a response without progress (AWS's load
/// balancers close a connection after 60 s with no data either way).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest an idle keep-alive connection is kept (AWS's load balancers: 60 s).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Slowest average rate a request body may arrive at once its grace period is over, in bytes
/// per second: a 50 MB ZIP may take 14 hours, a client trickling a byte a minute may not.
pub const DEFAULT_BODY_MIN_RATE: u64 = 1024;

/// The timeouts of every API client connection.
#[derive(clap::Args, Clone, Debug, PartialEq)]
pub struct ClientTimeouts {
    /// Seconds a client has to send a request's headers, counted from their first byte; then
    /// the connection is closed.
    #[arg(
        long = "client-header-timeout-secs",
        value_name = "SECS",
        default_value = "30",
        value_parser = parse_secs
    )]
    pub header: Duration,
    /// Seconds a client may send nothing of a request body the server is reading, or take
    /// nothing of a response the server is writing; then the connection is closed.
    #[arg(
        long = "client-body-timeout-secs",
        value_name = "SECS",
        default_value = "60",
        value_parser = parse_secs
    )]
    pub body: Duration,
    /// Slowest average rate, in bytes per second, at which a request body may arrive once
    /// the first body timeout has passed (0: no minimum).
    #[arg(
        long = "client-body-min-rate",
        value_name = "BYTES_PER_SEC",
        default_value_t = DEFAULT_BODY_MIN_RATE
    )]
    pub body_min_rate: u64,
    /// Seconds an idle keep-alive connection (or a new one that has sent nothing) is kept.
    #[arg(
        long = "client-idle-timeout-secs",
        value_name = "SECS",
        default_value = "60",
        value_parser = parse_secs
    )]
    pub idle: Duration,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        Self {
            header: DEFAULT_HEADER_TIMEOUT,
            body: DEFAULT_BODY_TIMEOUT,
            body_min_rate: DEFAULT_BODY_MIN_RATE,
            idle: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// A positive number of seconds, fractions allowed (tests use short timeouts).
fn parse_secs(raw: &str) -> Result<Duration, String> {
    let secs: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("{raw:?} must be a number of seconds above 0")),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        timeouts: ClientTimeouts,
    }

    #[test]
    fn the_options_default_to_the_constants() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.timeouts, ClientTimeouts::default());
    }

    #[test]
    fn the_options_take_fractions_and_refuse_zero_and_words() {
        let cli = Cli::try_parse_from([
            "x",
            "--client-header-timeout-secs",
            "0.5",
            "--client-body-timeout-secs",
            "2",
            "--client-idle-timeout-secs",
            "3",
            "--client-body-min-rate",
            "0",
        ])
        .unwrap();
        assert_eq!(cli.timeouts.header, Duration::from_millis(500));
        assert_eq!(cli.timeouts.body, Duration::from_secs(2));
        assert_eq!(cli.timeouts.idle, Duration::from_secs(3));
        assert_eq!(cli.timeouts.body_min_rate, 0);
        for bad in ["0", "-1", "soon", "NaN", "inf"] {
            assert!(
                Cli::try_parse_from(["x", "--client-header-timeout-secs", bad]).is_err(),
                "{bad}"
            );
        }
    }
}
