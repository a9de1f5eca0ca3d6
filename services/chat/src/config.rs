//! The `[chat]` section of the configuration. Every key has the default `onetime.toml`
//! documents, so a missing section or key reads as that default.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// Messages each user may send per second, REST and socket together.
    pub send_per_second: u32,
    /// How many messages a user may send at once before `send_per_second` applies.
    pub send_burst: u32,
    /// How often the server pings each socket.
    pub ping_interval_seconds: u64,
    /// A socket that has sent nothing (not even a pong) for this long is closed.
    pub idle_timeout_seconds: u64,
    /// Frames waiting to be written to one socket; a socket whose queue is full cannot keep up
    /// and is closed with 1013.
    pub send_queue_frames: usize,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            send_per_second: 20,
            send_burst: 50,
            ping_interval_seconds: 30,
            idle_timeout_seconds: 90,
            send_queue_frames: 256,
        }
    }
}

impl ChatConfig {
    /// Checks what the types cannot; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        if self.send_per_second == 0 || self.send_burst == 0 {
            return Err("`chat.send_per_second` and `chat.send_burst` must be at least 1".to_owned());
        }
        if self.ping_interval_seconds == 0 || self.idle_timeout_seconds <= self.ping_interval_seconds {
            return Err(
                "`chat.ping_interval_seconds` must be at least 1 and below `chat.idle_timeout_seconds`".to_owned(),
            );
        }
        if self.send_queue_frames == 0 {
            return Err("`chat.send_queue_frames` must be at least 1".to_owned());
        }
        Ok(())
    }

    pub fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.ping_interval_seconds)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_check_and_bad_values_name_their_key() {
        assert!(ChatConfig::default().check().is_ok());
        let no_pings = ChatConfig {
            idle_timeout_seconds: 30,
            ..ChatConfig::default()
        };
        assert!(no_pings.check().unwrap_err().contains("chat.ping_interval_seconds"));
        let no_queue = ChatConfig {
            send_queue_frames: 0,
            ..ChatConfig::default()
        };
        assert!(no_queue.check().unwrap_err().contains("chat.send_queue_frames"));
    }
}
