//! Comparisons over time, pure and shared by the commands that make them: [`diff`] matches
//! the rows of two reports by identity and says what changed; [`trend`] says whether a
//! series of samples grows steadily (`pmaps watch`, and `pmaps trend` over a history).
//!
//! Data in, data out: no I/O, no formats. The metrics compared are named by [`Metric`].

pub mod diff;
pub mod trend;

use crate::model::Counters;

/// A quantity of a report row that can be compared: the byte columns and the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    Processes,
    Mappings,
    Size,
    Rss,
    Pss,
    Uss,
    Shared,
    Swap,
    SwapPss,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::Processes,
        Metric::Mappings,
        Metric::Size,
        Metric::Rss,
        Metric::Pss,
        Metric::Uss,
        Metric::Shared,
        Metric::Swap,
        Metric::SwapPss,
    ];

    /// The amounts of memory: every metric but the counts.
    pub fn bytes() -> &'static [Metric] {
        &Metric::ALL[2..]
    }

    /// The stable name, as the report's columns name it.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Processes => "processes",
            Metric::Mappings => "mappings",
            Metric::Size => "size",
            Metric::Rss => "rss",
            Metric::Pss => "pss",
            Metric::Uss => "uss",
            Metric::Shared => "shared",
            Metric::Swap => "swap",
            Metric::SwapPss => "swap_pss",
        }
    }

    /// The table header, as the report's columns name it.
    pub fn header(self) -> &'static str {
        match self {
            Metric::Processes => "Procs",
            Metric::Mappings => "Maps",
            Metric::Size => "VSZ",
            Metric::Rss => "RSS",
            Metric::Pss => "PSS",
            Metric::Uss => "USS",
            Metric::Shared => "Shared",
            Metric::Swap => "Swap",
            Metric::SwapPss => "SwapPSS",
        }
    }

    pub fn is_bytes(self) -> bool {
        !matches!(self, Metric::Processes | Metric::Mappings)
    }

    /// Accepts the name or the JSON/CSV name (`pss`, `pss_bytes`).
    pub fn parse(s: &str) -> Option<Metric> {
        let s = s.strip_suffix("_bytes").unwrap_or(s);
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The value of a byte metric in `c`; `None` when the kernel did not give it (and for
    /// the counts, which counters do not hold).
    pub fn of(self, c: &Counters) -> Option<u64> {
        use crate::model::field as f;
        let (bits, v) = match self {
            Metric::Processes | Metric::Mappings => return None,
            Metric::Size => (f::SIZE, c.size),
            Metric::Rss => (f::RSS, c.rss),
            Metric::Pss => (f::PSS, c.pss),
            Metric::Uss => (f::PRIVATE_CLEAN | f::PRIVATE_DIRTY, c.uss()),
            Metric::Shared => (f::SHARED_CLEAN | f::SHARED_DIRTY, c.shared()),
            Metric::Swap => (f::SWAP, c.swap),
            Metric::SwapPss => (f::SWAP_PSS, c.swap_pss),
        };
        c.is_known(bits).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.name()), Some(m));
            assert_eq!(Metric::parse(&format!("{}_bytes", m.name())), Some(m));
        }
        assert_eq!(Metric::parse("vsz"), None);
        assert_eq!(Metric::bytes().len(), 7);
        assert!(Metric::bytes().iter().all(|m| m.is_bytes()));
    }

    #[test]
    fn unknown_counters_are_unknown_metrics() {
        let c = Counters {
            private_clean: 4096,
            private_dirty: 8192,
            ..Counters::unknown()
        };
        assert_eq!(Metric::Uss.of(&c), None);
        let c = Counters {
            known: crate::model::field::ALL,
            ..c
        };
        assert_eq!(Metric::Uss.of(&c), Some(12288));
        assert_eq!(Metric::Mappings.of(&c), None);
    }
}
