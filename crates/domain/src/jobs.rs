//! The schedule of durable background work: when a failed job runs again and when it gives up.

use chrono::Duration;

/// How many times a job is tried before it is dead-lettered, unless its kind says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// How long a claimed job is leased to one worker; a worker that dies loses the lease and the
/// job is claimed again after it runs out.
pub fn lease() -> Duration {
    Duration::seconds(60)
}

/// Delay before attempt `attempt + 1` after `attempt` failures (1-based): exponential from
/// five seconds, capped at an hour, so a transient outage is retried quickly and a long one
/// does not spin.
pub fn retry_delay(attempts_so_far: i32) -> Duration {
    let exp = attempts_so_far.clamp(1, 20) - 1;
    let secs = 5i64.saturating_mul(1i64 << exp.min(12));
    Duration::seconds(secs.min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps() {
        assert_eq!(retry_delay(1), Duration::seconds(5));
        assert_eq!(retry_delay(2), Duration::seconds(10));
        assert_eq!(retry_delay(3), Duration::seconds(20));
        assert_eq!(retry_delay(30), Duration::seconds(3600));
        assert!(retry_delay(0) > Duration::zero());
    }
}
