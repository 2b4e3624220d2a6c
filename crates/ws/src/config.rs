//! Connection configuration, validated once when built.

use std::time::Duration;

use crate::error::ConfigError;

/// Limits and timers of a [`Connection`](crate::Connection).
///
/// Built with [`Config::builder`], which checks the values once; `Config::default()` gives
/// the defaults below. Every buffer the peer can grow is bounded by one of these limits.
///
/// | option | default | on excess |
/// |---|---|---|
/// | [`max_frame_size`](ConfigBuilder::max_frame_size) | 16 MiB | close 1009 |
/// | [`max_message_size`](ConfigBuilder::max_message_size) | 64 MiB | close 1009 |
/// | [`max_fragments`](ConfigBuilder::max_fragments) | 131 072 | close 1008 |
/// | [`max_queued_control_frames`](ConfigBuilder::max_queued_control_frames) | 16 | newest ping replaces the last queued pong |
/// | [`high_water_mark`](ConfigBuilder::high_water_mark) | 1 MiB | [`Connection::is_writable`](crate::Connection::is_writable) turns false |
/// | [`close_timeout`](ConfigBuilder::close_timeout) | 10 s | transport closed without the peer's Close |
/// | [`keepalive`](ConfigBuilder::keepalive) | off | close 1011 when a pong is late |
/// | [`auto_pong`](ConfigBuilder::auto_pong) | on | |
///
/// ```
/// use std::time::Duration;
/// let config = sockeye_ws::Config::builder()
///     .max_message_size(1 << 20)
///     .max_frame_size(1 << 20)
///     .keepalive(Duration::from_secs(20), Duration::from_secs(20))
///     .build()?;
/// assert_eq!(config.max_message_size(), 1 << 20);
/// # Ok::<(), sockeye_ws::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    max_frame_size: usize,
    max_message_size: usize,
    max_fragments: usize,
    max_queued_control_frames: usize,
    high_water_mark: usize,
    close_timeout: Duration,
    keepalive: Option<Keepalive>,
    auto_pong: bool,
}

/// Keepalive timing: a ping every `interval`, and the connection fails when its pong has
/// not arrived `timeout` after the ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Time between keepalive pings.
    pub interval: Duration,
    /// How long a pong may take.
    pub timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 131_072,
            max_queued_control_frames: 16,
            high_water_mark: 1 << 20,
            close_timeout: Duration::from_secs(10),
            keepalive: None,
            auto_pong: true,
        }
    }
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: Config::default(),
        }
    }

    /// Largest frame payload accepted, in bytes.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Largest message accepted, in bytes, summed over its fragments.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Most frames one message may arrive in, empty fragments included.
    pub fn max_fragments(&self) -> usize {
        self.max_fragments
    }

    /// Most automatic pongs waiting to be sent.
    pub fn max_queued_control_frames(&self) -> usize {
        self.max_queued_control_frames
    }

    /// Outgoing bytes above which [`Connection::is_writable`](crate::Connection::is_writable)
    /// reports false.
    pub fn high_water_mark(&self) -> usize {
        self.high_water_mark
    }

    /// How long to wait for the closing handshake to finish.
    pub fn close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// Keepalive timing, if enabled.
    pub fn keepalive(&self) -> Option<Keepalive> {
        self.keepalive
    }

    /// Whether pings are answered automatically.
    pub fn auto_pong(&self) -> bool {
        self.auto_pong
    }
}

/// Builds a [`Config`]; see there for the options and their defaults.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Largest frame payload accepted; a larger frame fails the connection with 1009 as soon
    /// as its header arrives.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config.max_frame_size = bytes;
        self
    }

    /// Largest message accepted, summed over its fragments; a frame that would exceed it
    /// fails the connection with 1009 as soon as its header arrives.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// Most frames one message may arrive in; one more fails the connection with 1008.
    /// Empty fragments count, so a flood of them cannot grow state without bound.
    pub fn max_fragments(mut self, count: usize) -> Self {
        self.config.max_fragments = count;
        self
    }

    /// Most automatic pongs waiting to be sent. Pings beyond it replace the newest queued
    /// pong, so a ping flood costs bounded memory (RFC 6455 §5.5.3 allows answering only
    /// the most recent ping).
    pub fn max_queued_control_frames(mut self, count: usize) -> Self {
        self.config.max_queued_control_frames = count;
        self
    }

    /// Outgoing bytes above which the connection reports itself not writable, for
    /// backpressure.
    pub fn high_water_mark(mut self, bytes: usize) -> Self {
        self.config.high_water_mark = bytes;
        self
    }

    /// How long to wait, after a Close frame is sent, for the peer's Close (and for a client,
    /// for the server to close the transport).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.config.close_timeout = timeout;
        self
    }

    /// Sends a ping every `interval`; fails the connection with 1011 when its pong has not
    /// arrived `timeout` after the ping.
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.config.keepalive = Some(Keepalive { interval, timeout });
        self
    }

    /// Turns keepalive pings off (the default).
    pub fn no_keepalive(mut self) -> Self {
        self.config.keepalive = None;
        self
    }

    /// Whether to answer pings automatically (default on). Pings are reported as events
    /// either way.
    pub fn auto_pong(mut self, on: bool) -> Self {
        self.config.auto_pong = on;
        self
    }

    /// Checks the values and builds the configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Zero`] for a zero size, fragment count, pong queue, keepalive interval;
    /// [`ConfigError::FrameOverMessage`] when frames may exceed messages.
    pub fn build(self) -> Result<Config, ConfigError> {
        let c = self.config;
        for (name, value) in [
            ("max_frame_size", c.max_frame_size),
            ("max_message_size", c.max_message_size),
            ("max_fragments", c.max_fragments),
            ("max_queued_control_frames", c.max_queued_control_frames),
            ("high_water_mark", c.high_water_mark),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero { name });
            }
        }
        if c.keepalive.is_some_and(|k| k.interval.is_zero()) {
            return Err(ConfigError::Zero {
                name: "keepalive interval",
            });
        }
        if c.max_frame_size > c.max_message_size {
            return Err(ConfigError::FrameOverMessage {
                frame: c.max_frame_size,
                message: c.max_message_size,
            });
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_build() {
        assert_eq!(Config::builder().build(), Ok(Config::default()));
    }

    #[test]
    fn invalid_values_are_refused() {
        assert_eq!(
            Config::builder().max_fragments(0).build(),
            Err(ConfigError::Zero {
                name: "max_fragments"
            })
        );
        assert!(matches!(
            Config::builder()
                .max_frame_size(10)
                .max_message_size(5)
                .build(),
            Err(ConfigError::FrameOverMessage { .. })
        ));
    }
}
