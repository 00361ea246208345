//! Guesses at a secret (a password, a second-factor code, an order's proof), counted *before*
//! they are checked: a guess takes its place in the count in the same step that decides
//! whether it may be made, so a thousand guesses sent at once are counted as a thousand, not
//! checked first and counted after the slow check.
//!
//! A key gets a few guesses free; after that each further guess must wait a delay that
//! doubles with every guess (1 s, 2 s, 4 s, … up to a ceiling) rather than a fixed lock
//! that anyone could set off to keep the owner out for a quarter of an hour. A key that goes
//! quiet long enough is forgotten.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many guesses a key gets, and how the wait grows after them.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    /// Guesses made without waiting.
    pub free: u32,
    /// The wait before the first guess past the free ones; it doubles with each further one.
    pub first_wait: Duration,
    /// The longest wait.
    pub longest_wait: Duration,
}

impl Allowance {
    /// The wait before the `n`th guess past the free ones (n ≥ 1).
    fn wait_after(&self, n: u32) -> Duration {
        let doublings = n.saturating_sub(1).min(30);
        self.first_wait
            .saturating_mul(1u32 << doublings)
            .min(self.longest_wait)
    }
}

/// A key is forgotten once it has been free to guess again for this long.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Keys tracked at most; past it, forgotten keys are swept out first.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Tally {
    guesses: u32,
    /// No guess before this.
    not_before: Instant,
}

/// Guesses counted per key.
#[derive(Debug)]
pub struct Guesses<K> {
    tallies: Mutex<HashMap<K, Tally>>,
}

impl<K> Default for Guesses<K> {
    fn default() -> Self {
        Guesses {
            tallies: Mutex::default(),
        }
    }
}

impl<K: Hash + Eq + Clone> Guesses<K> {
    /// Counts one guess against every key, each with its allowance, if every one of them may
    /// guess now; otherwise counts nothing and says how many whole seconds the caller must
    /// wait. Checking and counting are one step, so guesses made at the same moment are
    /// counted one after the other.
    pub fn guess(&self, keys: &[(K, Allowance)]) -> Result<(), u64> {
        self.guess_at(keys, Instant::now())
    }

    fn guess_at(&self, keys: &[(K, Allowance)], now: Instant) -> Result<(), u64> {
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        if tallies.len() >= MAX_TRACKED {
            tallies.retain(|_, t| !forgotten(t, now));
        }
        let mut wait = Duration::ZERO;
        for (key, _) in keys {
            if let Some(t) = tallies.get(key).filter(|t| !forgotten(t, now)) {
                wait = wait.max(t.not_before.saturating_duration_since(now));
            }
        }
        if !wait.is_zero() {
            return Err(whole_seconds(wait));
        }
        for (key, allowance) in keys {
            let tally = tallies.entry(key.clone()).or_insert(Tally {
                guesses: 0,
                not_before: now,
            });
            if forgotten(tally, now) {
                tally.guesses = 0;
            }
            tally.guesses += 1;
            // The last free guess already starts the wait for the next one.
            tally.not_before = match (tally.guesses + 1).checked_sub(allowance.free) {
                Some(past) if past > 0 => now + allowance.wait_after(past),
                _ => now,
            };
        }
        Ok(())
    }

    /// Forgets a key's guesses (its owner proved the secret).
    pub fn forget(&self, key: &K) {
        self.tallies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// How many guesses a key has made since it was last forgotten.
    #[cfg(test)]
    fn count(&self, key: &K) -> u32 {
        let now = Instant::now();
        self.tallies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .filter(|t| !forgotten(t, now))
            .map_or(0, |t| t.guesses)
    }
}

fn forgotten(tally: &Tally, now: Instant) -> bool {
    now.saturating_duration_since(tally.not_before) >= FORGET_AFTER
}

fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_FREE: Allowance = Allowance {
        free: 5,
        first_wait: Duration::from_secs(1),
        longest_wait: Duration::from_secs(15 * 60),
    };

    #[test]
    fn the_free_guesses_then_a_wait() {
        let g = Guesses::default();
        let now = Instant::now();
        for _ in 0..5 {
            assert_eq!(g.guess_at(&[("ann", FIVE_FREE)], now), Ok(()));
        }
        assert_eq!(g.guess_at(&[("ann", FIVE_FREE)], now), Err(1));
        // Another key is not held up.
        assert_eq!(g.guess_at(&[("bob", FIVE_FREE)], now), Ok(()));
    }

    #[test]
    fn the_wait_doubles_up_to_its_ceiling() {
        let g = Guesses::default();
        let mut now = Instant::now();
        for _ in 0..5 {
            g.guess_at(&[("ann", FIVE_FREE)], now).unwrap();
        }
        let mut waits = Vec::new();
        for _ in 0..14 {
            let wait = g.guess_at(&[("ann", FIVE_FREE)], now).unwrap_err();
            waits.push(wait);
            now += Duration::from_secs(wait);
            g.guess_at(&[("ann", FIVE_FREE)], now).unwrap();
        }
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]
        );
    }

    #[test]
    fn a_refused_guess_is_not_counted_against_any_key() {
        let g = Guesses::default();
        let now = Instant::now();
        let tight = Allowance {
            free: 1,
            ..FIVE_FREE
        };
        g.guess_at(&[("pair", tight)], now).unwrap();
        assert!(g
            .guess_at(&[("pair", tight), ("address", FIVE_FREE)], now)
            .is_err());
        assert_eq!(g.count(&"address"), 0);
    }

    #[test]
    fn forgetting_a_key_gives_its_guesses_back_and_quiet_keys_are_forgotten() {
        let g = Guesses::default();
        let now = Instant::now();
        for _ in 0..5 {
            g.guess_at(&[("ann", FIVE_FREE)], now).unwrap();
        }
        g.forget(&"ann");
        assert_eq!(g.guess_at(&[("ann", FIVE_FREE)], now), Ok(()));
        for _ in 0..6 {
            let _ = g.guess_at(&[("bob", FIVE_FREE)], now);
        }
        let later = now + Duration::from_secs(2) + FORGET_AFTER;
        assert_eq!(g.guess_at(&[("bob", FIVE_FREE)], later), Ok(()));
    }
}
