//! Server configuration, validated once by [`ServerConfigBuilder::build`].

use std::time::Duration;

/// Which transports a server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transports {
    /// HTTP long-polling.
    pub polling: bool,
    /// WebSocket (direct, and as an upgrade from polling).
    pub websocket: bool,
}

impl Default for Transports {
    fn default() -> Self {
        Self {
            polling: true,
            websocket: true,
        }
    }
}

/// A configuration value out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A timer of zero length.
    #[error("{0} must be greater than zero")]
    ZeroDuration(&'static str),
    /// A size limit of zero.
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
    /// Neither transport is enabled.
    #[error("at least one transport must be enabled")]
    NoTransport,
}

/// Engine.IO server options, named after the reference server's `ServerOptions`. Defaults
/// are the reference defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) max_http_buffer_size: usize,
    pub(crate) max_packets_per_poll: usize,
    pub(crate) transports: Transports,
    pub(crate) allow_eio3: bool,
    pub(crate) jsonp: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            close_timeout: Duration::from_millis(30_000),
            max_http_buffer_size: 1_000_000,
            max_packets_per_poll: 16,
            transports: Transports::default(),
            allow_eio3: false,
            jsonp: false,
        }
    }
}

impl ServerConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> ServerConfigBuilder {
        ServerConfigBuilder {
            config: Self::default(),
        }
    }

    /// Interval between server pings (v4) and the base of the v3 timeout; default 25 000 ms.
    pub fn ping_interval(&self) -> Duration {
        self.ping_interval
    }

    /// How long a pong may take (v4); default 20 000 ms.
    pub fn ping_timeout(&self) -> Duration {
        self.ping_timeout
    }

    /// How long an upgrade may take; default 10 000 ms.
    pub fn upgrade_timeout(&self) -> Duration {
        self.upgrade_timeout
    }

    /// How long a server-side close waits for a poll to carry the close packet; default
    /// 30 000 ms.
    pub fn close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// Largest POST body and WebSocket message, in bytes (sent to clients as `maxPayload`);
    /// default 1 000 000.
    pub fn max_http_buffer_size(&self) -> usize {
        self.max_http_buffer_size
    }

    /// Most packets in one poll response; default 16 (python-engineio clients drop larger
    /// responses).
    pub fn max_packets_per_poll(&self) -> usize {
        self.max_packets_per_poll
    }

    /// Enabled transports; default both.
    pub fn transports(&self) -> Transports {
        self.transports
    }

    /// Whether v3 clients are accepted; default off.
    pub fn allow_eio3(&self) -> bool {
        self.allow_eio3
    }

    /// Whether JSONP polling (`j` query parameter) is accepted; default off.
    pub fn jsonp(&self) -> bool {
        self.jsonp
    }
}

/// Builds a [`ServerConfig`].
#[derive(Debug, Clone)]
pub struct ServerConfigBuilder {
    config: ServerConfig,
}

impl ServerConfigBuilder {
    /// See [`ServerConfig::ping_interval`].
    pub fn ping_interval(mut self, value: Duration) -> Self {
        self.config.ping_interval = value;
        self
    }

    /// See [`ServerConfig::ping_timeout`].
    pub fn ping_timeout(mut self, value: Duration) -> Self {
        self.config.ping_timeout = value;
        self
    }

    /// See [`ServerConfig::upgrade_timeout`].
    pub fn upgrade_timeout(mut self, value: Duration) -> Self {
        self.config.upgrade_timeout = value;
        self
    }

    /// See [`ServerConfig::close_timeout`].
    pub fn close_timeout(mut self, value: Duration) -> Self {
        self.config.close_timeout = value;
        self
    }

    /// See [`ServerConfig::max_http_buffer_size`].
    pub fn max_http_buffer_size(mut self, value: usize) -> Self {
        self.config.max_http_buffer_size = value;
        self
    }

    /// See [`ServerConfig::max_packets_per_poll`].
    pub fn max_packets_per_poll(mut self, value: usize) -> Self {
        self.config.max_packets_per_poll = value;
        self
    }

    /// See [`ServerConfig::transports`].
    pub fn transports(mut self, value: Transports) -> Self {
        self.config.transports = value;
        self
    }

    /// See [`ServerConfig::allow_eio3`].
    pub fn allow_eio3(mut self, value: bool) -> Self {
        self.config.allow_eio3 = value;
        self
    }

    /// See [`ServerConfig::jsonp`].
    pub fn jsonp(mut self, value: bool) -> Self {
        self.config.jsonp = value;
        self
    }

    /// Validates and returns the configuration.
    pub fn build(self) -> Result<ServerConfig, ConfigError> {
        let c = self.config;
        for (name, d) in [
            ("ping_interval", c.ping_interval),
            ("ping_timeout", c.ping_timeout),
            ("upgrade_timeout", c.upgrade_timeout),
            ("close_timeout", c.close_timeout),
        ] {
            if d.is_zero() {
                return Err(ConfigError::ZeroDuration(name));
            }
        }
        if c.max_http_buffer_size == 0 {
            return Err(ConfigError::ZeroLimit("max_http_buffer_size"));
        }
        if c.max_packets_per_poll == 0 {
            return Err(ConfigError::ZeroLimit("max_packets_per_poll"));
        }
        if !c.transports.polling && !c.transports.websocket {
            return Err(ConfigError::NoTransport);
        }
        Ok(c)
    }
}
