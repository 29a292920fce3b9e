//! The benchmark's own seeded random numbers (SplitMix64): where a node is killed, which objects
//! change, when a storm blows. The same seed gives the same choices, so a finding can be replayed.

pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`, in the stream `stream` (one per scenario, so that adding a draw
    /// in one scenario does not move another's choices).
    pub fn new(seed: u64, stream: &str) -> Self {
        let mut state = seed;
        for byte in stream.bytes() {
            state = state.rotate_left(8) ^ u64::from(byte);
        }
        let mut rng = Self(state);
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `[low, high)`.
    pub fn between(&mut self, low: f64, high: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        low + (high - low) * unit
    }

    /// A uniform permutation of `0..n`.
    pub fn permutation(&mut self, n: u64) -> Vec<u64> {
        let mut items: Vec<u64> = (0..n).collect();
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_and_a_stream_replay_their_choices() {
        let draw = |seed, stream| {
            let mut rng = Rng::new(seed, stream);
            (0..8).map(|_| rng.below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, "kill"), draw(1, "kill"));
        assert_ne!(draw(1, "kill"), draw(2, "kill"));
        assert_ne!(draw(1, "kill"), draw(1, "faults"));
    }

    #[test]
    fn permutations_hold_every_index_once() {
        let mut p = Rng::new(3, "p").permutation(100);
        p.sort_unstable();
        assert_eq!(p, (0..100).collect::<Vec<_>>());
        let x = Rng::new(3, "p").between(2.0, 3.0);
        assert!((2.0..3.0).contains(&x));
    }
}
