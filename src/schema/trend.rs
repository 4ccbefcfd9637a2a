//! The trend statistic in JSON, shared by every command that judges series (`pmaps watch`'s
//! `suspects`, and `pmaps trend` over a history): the thresholds used, and one series'
//! statistic and verdict ([`FitDoc`]), which a command flattens next to the series' own key.

use serde::{Deserialize, Serialize};

use crate::analyze::trend::{Fit, Thresholds, Verdict};

/// The thresholds a verdict was given under.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdsDoc {
    pub min_rate_bytes_per_hour: f64,
    /// Percent of the first value.
    pub min_growth_pct: f64,
    pub min_samples: u64,
    pub min_r_squared: f64,
    /// Consecutive parts whose slopes must each pass the rate floor.
    pub windows: usize,
}

impl ThresholdsDoc {
    pub fn of(th: &Thresholds) -> ThresholdsDoc {
        ThresholdsDoc {
            min_rate_bytes_per_hour: th.min_rate,
            min_growth_pct: th.min_growth * 100.0,
            min_samples: th.min_samples,
            min_r_squared: th.min_r_squared,
            windows: th.windows,
        }
    }
}

/// One series' statistic: first and last value, growth, slope, fit and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitDoc {
    pub samples: u64,
    /// Seconds from the first sample to the last.
    pub span_seconds: f64,
    pub first_bytes: u64,
    pub last_bytes: u64,
    /// Last minus first (negative: it shrank).
    pub growth_bytes: i128,
    /// Growth in percent of the first value (`null` when that was 0).
    pub growth_pct: Option<f64>,
    /// Theil–Sen slope.
    pub slope_bytes_per_hour: f64,
    /// Least-squares R² after dropping outliers.
    pub r_squared: f64,
    /// Share of consecutive samples that went up.
    pub increasing_fraction: f64,
    /// `growing` (a suspect), `too_few_samples`, `below_rate`, `below_growth`,
    /// `not_persistent` or `poor_fit`.
    pub verdict: String,
}

impl FitDoc {
    pub fn of(fit: &Fit, verdict: Verdict) -> FitDoc {
        FitDoc {
            samples: fit.samples,
            span_seconds: fit.span(),
            first_bytes: fit.first.v,
            last_bytes: fit.last.v,
            growth_bytes: fit.growth(),
            growth_pct: fit.growth_fraction().map(|f| f * 100.0),
            slope_bytes_per_hour: finite(fit.slope),
            r_squared: finite(fit.r_squared),
            increasing_fraction: finite(fit.increasing),
            verdict: verdict.as_str().to_string(),
        }
    }
}

/// JSON has no NaN or infinity.
fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}
