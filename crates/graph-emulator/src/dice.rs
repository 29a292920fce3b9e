//! The random decisions behind the fault knobs (latency jitter, hangs, resets, server errors,
//! post-write faults).
//!
//! Without a seed they come from the thread's generator, as before. With the `fault_seed`
//! knob they all come from one seeded generator behind a mutex, so that the same seed and the
//! same sequence of requests give the same faults: a chaos benchmark can be replayed, and a
//! failing test reproduced. Requests sent concurrently still race for the next number, so
//! only requests sent one after another are fully repeatable.

use std::sync::{Mutex, MutexGuard};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

/// The generator the fault layers draw from.
#[derive(Debug)]
pub struct Dice {
    seeded: Mutex<Option<Seeded>>,
}

#[derive(Debug)]
struct Seeded {
    seed: u64,
    rng: StdRng,
}

impl Seeded {
    fn new(seed: u64) -> Self {
        Self {
            seed,
            rng: StdRng::seed_from_u64(seed),
        }
    }
}

impl Dice {
    pub fn new(seed: Option<u64>) -> Self {
        Self {
            seeded: Mutex::new(seed.map(Seeded::new)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Seeded>> {
        // The generator holds no invariant a panic could break.
        self.seeded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows a knob change: a new seed starts its sequence from the beginning, the same seed
    /// keeps its place (changing another knob must not replay the faults), `None` goes back
    /// to the thread's generator.
    pub fn follow(&self, seed: Option<u64>) {
        let mut seeded = self.lock();
        if seeded.as_ref().map(|s| s.seed) != seed {
            *seeded = seed.map(Seeded::new);
        }
    }

    /// Starts the seeded sequence again from its seed (what an emulator reset does).
    pub fn restart(&self) {
        let mut seeded = self.lock();
        if let Some(s) = seeded.as_mut() {
            *s = Seeded::new(s.seed);
        }
    }

    /// Runs one request's decisions. They are drawn under one lock, so a request's draws are
    /// never interleaved with another request's.
    pub fn roll<T>(&self, decide: impl FnOnce(&mut Roll<'_>) -> T) -> T {
        let mut seeded = self.lock();
        match seeded.as_mut() {
            Some(s) => decide(&mut Roll { rng: &mut s.rng }),
            None => {
                drop(seeded);
                decide(&mut Roll {
                    rng: &mut rand::rng(),
                })
            }
        }
    }
}

/// The draws a fault layer makes.
pub struct Roll<'a> {
    rng: &'a mut dyn RngCore,
}

impl Roll<'_> {
    /// True with probability `rate` (clamped to 0..=1). A rate of 0 draws nothing, so knobs
    /// that are off do not move the seeded sequence.
    pub fn chance(&mut self, rate: f64) -> bool {
        if rate.is_nan() || rate <= 0.0 {
            return false;
        }
        self.rng.random::<f64>() < rate
    }

    /// A uniform pick in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        self.rng.random_range(0..n)
    }

    /// A uniform pick in `0..=max`; 0 without drawing when `max` is 0.
    pub fn up_to(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        self.rng.random_range(0..=max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(dice: &Dice) -> Vec<u64> {
        (0..32).map(|_| dice.roll(|r| r.below(1000))).collect()
    }

    #[test]
    fn a_seed_replays_its_sequence() {
        let (a, b) = (Dice::new(Some(7)), Dice::new(Some(7)));
        let first = sequence(&a);
        assert_eq!(first, sequence(&b));
        assert_ne!(first, sequence(&Dice::new(Some(8))));
        a.restart();
        assert_eq!(first, sequence(&a), "restart starts over");
    }

    #[test]
    fn following_the_same_seed_keeps_the_place() {
        let dice = Dice::new(Some(3));
        let first = sequence(&dice);
        dice.follow(Some(3));
        assert_ne!(first, sequence(&dice), "same seed: no replay");
        dice.follow(Some(4));
        dice.follow(Some(3));
        assert_eq!(first, sequence(&dice), "a changed seed starts over");
    }

    #[test]
    fn zero_rates_draw_nothing() {
        let (a, b) = (Dice::new(Some(1)), Dice::new(Some(1)));
        a.roll(|r| (r.chance(0.0), r.up_to(0), r.below(0)));
        assert_eq!(sequence(&a), sequence(&b));
        assert!(Dice::new(None).roll(|r| r.chance(1.0)));
    }
}
