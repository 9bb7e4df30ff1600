//! A small, seedable pseudo-random generator.
//!
//! The engine owns its generator rather than depending on an external crate so that
//! the same seed gives the same labels across dependency upgrades, in the GUI and the CLI.

/// xoshiro256** seeded through SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let mut st = seed;
        Self { s: [splitmix64(&mut st), splitmix64(&mut st), splitmix64(&mut st), splitmix64(&mut st)] }
    }

    /// An independent generator for sub-task `index` (restart number, sample, ...).
    #[must_use]
    pub fn derive(seed: u64, index: u64) -> Self {
        Self::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03).rotate_left(17))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn next_f64(&mut self) -> f64 {
        // Top 53 bits scaled by 2^-53: exact and uniform.
        let v = (self.next_u64() >> 11) as f64;
        v * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A standard normal draw (Box–Muller, one of the pair).
    pub fn next_gaussian(&mut self) -> f64 {
        let u = self.next_f64().max(1e-300);
        let v = self.next_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Uniform integer in `0..n` (n > 0), without modulo bias.
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        let n = n as u64;
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                // The value is < n, which came from a usize.
                #[expect(clippy::cast_possible_truncation, reason = "v % n < n, which is a usize")]
                return (v % n) as usize;
            }
        }
    }

    /// `m` distinct indices from `0..n`, in random order (partial Fisher-Yates; m ≤ n).
    pub fn sample_indices(&mut self, n: usize, m: usize) -> Vec<usize> {
        let m = m.min(n);
        if m * 4 >= n {
            let mut all: Vec<usize> = (0..n).collect();
            for i in 0..m {
                let j = i + self.below(n - i);
                all.swap(i, j);
            }
            all.truncate(m);
            all
        } else {
            // Sparse variant: a hash map of displaced positions keeps memory O(m).
            let mut moved = std::collections::HashMap::with_capacity(m * 2);
            let mut out = Vec::with_capacity(m);
            for i in 0..m {
                let j = i + self.below(n - i);
                let vj = *moved.get(&j).unwrap_or(&j);
                let vi = *moved.get(&i).unwrap_or(&i);
                moved.insert(j, vi);
                out.push(vj);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_stream() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn sample_indices_are_distinct_and_in_range() {
        let mut r = Rng::new(7);
        for &(n, m) in &[(10, 10), (1000, 10), (1000, 900), (5, 0)] {
            let s = r.sample_indices(n, m);
            assert_eq!(s.len(), m);
            let set: std::collections::HashSet<_> = s.iter().copied().collect();
            assert_eq!(set.len(), m);
            assert!(s.iter().all(|&i| i < n));
        }
    }

    #[test]
    fn uniform_floats_stay_in_unit_interval() {
        let mut r = Rng::new(3);
        let mean: f64 = (0..10_000).map(|_| r.next_f64()).inspect(|v| assert!((0.0..1.0).contains(v))).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02);
    }
}
