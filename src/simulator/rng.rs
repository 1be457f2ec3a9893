//! A tiny, stable PRNG. The simulator's output must never change with a dependency upgrade,
//! so it owns its generator: SplitMix64, keyed by hashing (seed, account, row, …).

/// SplitMix64's output function: a strong 64-bit mixer (a bijection).
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A key for an independent random stream, derived from several coordinates.
pub fn key(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x005E_ED0F_B111_u64, |acc, &p| mix(acc.rotate_left(23) ^ p))
}

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(key: u64) -> Self {
        Self(key)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A random (version 4) UUID.
    pub fn uuid(&mut self) -> uuid::Uuid {
        let hi = self.next_u64();
        let lo = self.next_u64();
        uuid::Builder::from_random_bytes(((hi as u128) << 64 | lo as u128).to_be_bytes()).into_uuid()
    }

    /// `n` characters from `alphabet` (ASCII).
    pub fn string(&mut self, n: usize, alphabet: &[u8]) -> String {
        let mut s = String::with_capacity(n);
        self.push_chars(&mut s, n, alphabet);
        s
    }

    /// Append `n` characters from `alphabet` (ASCII) to `out`: the same draws as `string`.
    pub fn push_chars(&mut self, out: &mut String, n: usize, alphabet: &[u8]) {
        assert!(alphabet.is_ascii(), "alphabets are ASCII");
        out.reserve(n);
        for _ in 0..n {
            out.push(self.pick(alphabet) as char);
        }
    }

    pub fn digits(&mut self, n: usize) -> String {
        self.string(n, b"0123456789")
    }

    pub fn push_digits(&mut self, out: &mut String, n: usize) {
        self.push_chars(out, n, b"0123456789");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_across_releases() {
        // Pinned: the simulator's data depends on these exact values.
        let mut r = Rng::new(key(&[7, 1, 2]));
        let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        let mut again = Rng::new(key(&[7, 1, 2]));
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        assert_eq!(mix(0), 0xE220_A839_7B1D_CDAF);
        assert_ne!(key(&[1, 2]), key(&[2, 1]));
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(1);
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..200 {
                assert!(r.below(n) < n);
            }
        }
    }
}
