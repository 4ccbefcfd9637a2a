//! The trend statistic: is a series of (time, bytes) samples growing steadily? Shared by
//! `pmaps watch` (samples taken seconds apart) and `pmaps trend` (snapshots of a history).
//! Pure arithmetic over points; no I/O, no formats.
//!
//! # The statistic
//! - **Slope**: Theil–Sen, the median of the slopes between every pair of points, in bytes
//!   per hour. A single spike or a single step moves it little, unlike least squares.
//! - **R²**: the share of the variance that a straight line explains (least squares, the
//!   square of Pearson's r; 0 for a series that never moves), after dropping outliers: the
//!   points whose distance to the Theil–Sen line is more than 3 robust standard deviations
//!   (1.4826 × the median absolute deviation) from the median distance, at most a tenth of
//!   the points. A leak is close to 1, a spike on it is dropped; a sawtooth seen over k of
//!   its periods is about 1/k², so at most 0.25 over two periods.
//! - **Increasing fraction**: the share of consecutive samples that went up.
//! - **Window slopes**: the series cut into [`Thresholds::windows`] consecutive parts, the
//!   Theil–Sen slope of each: persistence. A one-off step (a cache warming up) leaves at
//!   least one part flat.
//!
//! # The verdict
//! A series is a suspect ([`Verdict::Growing`]) only when all of these hold, checked in this
//! order (the first that fails is the verdict):
//! 1. at least [`Thresholds::min_samples`] samples (10: a clear leak is flagged from ten);
//! 2. slope ≥ [`Thresholds::min_rate`] (1 MiB per hour);
//! 3. it grew (last > first), and the slope over the series, or over an hour when the series
//!    is shorter, is at least [`Thresholds::min_growth`] of the first value (5 %): a big
//!    process's slow drift is no leak, and a short watch of a fast leak is not held to the
//!    growth an hour would show;
//! 4. every window's slope ≥ the rate floor too (persistence: not a step);
//! 5. R² ≥ [`Thresholds::min_r_squared`] (0.6: not a sawtooth, not noise).
//!
//! # Bounded memory
//! A [`Series`] keeps at most [`CAPACITY`] points however many samples it is given, and the
//! latest sample: when full, every other point is dropped and from then on only every second
//! sample is kept (decimation: the kept points stay evenly spaced over the whole series). The
//! sample count and the increasing fraction are counted exactly on every sample. That is 1 KiB
//! per series.

/// Seconds in an hour: slopes are given per hour.
pub const HOUR: f64 = 3600.0;

/// The most points a [`Series`] keeps (plus the latest sample).
pub const CAPACITY: usize = 64;

/// One sample: seconds since some origin, and a value in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: f64,
    pub v: u64,
}

/// What makes a series a suspect (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// The least slope called growth, in bytes per hour.
    pub min_rate: f64,
    /// The least growth over the series (or over an hour, for a shorter series) at the
    /// slope's rate, as a fraction of the first value.
    pub min_growth: f64,
    /// The fewest samples a verdict is given on.
    pub min_samples: u64,
    /// The least R² of the straight line.
    pub min_r_squared: f64,
    /// Consecutive parts whose slopes must each pass the rate floor.
    pub windows: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_rate: 1024.0 * 1024.0,
            min_growth: 0.05,
            min_samples: 10,
            min_r_squared: 0.6,
            windows: 3,
        }
    }
}

/// Why a series is, or is not, a suspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Steady growth: a suspect.
    Growing,
    /// Fewer samples than the minimum.
    TooFewSamples,
    /// Slope below the rate floor (flat or shrinking included).
    BelowRate,
    /// Grew less than the relative floor.
    BelowGrowth,
    /// Some window did not grow: a step, or growth that stopped.
    NotPersistent,
    /// A straight line explains too little: a sawtooth, or noise.
    PoorFit,
}

impl Verdict {
    /// The stable name (JSON, CSV).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Growing => "growing",
            Verdict::TooFewSamples => "too_few_samples",
            Verdict::BelowRate => "below_rate",
            Verdict::BelowGrowth => "below_growth",
            Verdict::NotPersistent => "not_persistent",
            Verdict::PoorFit => "poor_fit",
        }
    }
}

/// The statistic of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Samples the series had (not only the points kept).
    pub samples: u64,
    pub first: Point,
    pub last: Point,
    /// Theil–Sen slope, bytes per hour.
    pub slope: f64,
    /// Least-squares R² after dropping outliers (0 when the series never moved).
    pub r_squared: f64,
    /// Share of consecutive samples that went up (0 with a single sample).
    pub increasing: f64,
    /// Theil–Sen slope of each consecutive part, bytes per hour.
    pub window_slopes: Vec<f64>,
}

impl Fit {
    /// The fit of `points` (in time order; points at the same time as the one before are
    /// ignored by the slopes). `None` without any point.
    pub fn of(points: &[Point], windows: usize) -> Option<Fit> {
        let first = *points.first()?;
        let last = *points.last()?;
        let steps = points.len().saturating_sub(1);
        let ups = points.windows(2).filter(|w| w[1].v > w[0].v).count();
        let windows = windows.max(1);
        let window_slopes = if points.len() >= 2 * windows {
            (0..windows)
                .map(|i| {
                    let lo = i * points.len() / windows;
                    let hi = (i + 1) * points.len() / windows;
                    theil_sen(&points[lo..hi])
                })
                .collect()
        } else {
            Vec::new()
        };
        let slope = theil_sen(points);
        Some(Fit {
            samples: points.len() as u64,
            first,
            last,
            slope,
            r_squared: r_squared(&without_outliers(points, slope)),
            increasing: if steps == 0 {
                0.0
            } else {
                ups as f64 / steps as f64
            },
            window_slopes,
        })
    }

    /// Growth from the first sample to the last, in bytes (negative: it shrank).
    pub fn growth(&self) -> i128 {
        i128::from(self.last.v) - i128::from(self.first.v)
    }

    /// Growth as a fraction of the first value; `None` when the first value is 0.
    pub fn growth_fraction(&self) -> Option<f64> {
        (self.first.v > 0).then(|| self.growth() as f64 / self.first.v as f64)
    }

    /// Seconds from the first sample to the last.
    pub fn span(&self) -> f64 {
        self.last.t - self.first.t
    }

    /// The verdict under `th` (see the module documentation for the order of the checks).
    pub fn verdict(&self, th: &Thresholds) -> Verdict {
        if self.samples < th.min_samples.max(2) {
            return Verdict::TooFewSamples;
        }
        if !at_least(self.slope, th.min_rate) || self.slope <= 0.0 {
            return Verdict::BelowRate;
        }
        let over = self.span().max(HOUR);
        let projected = self.slope * over / HOUR;
        let enough = at_least(projected, th.min_growth * self.first.v as f64);
        if self.growth() <= 0 || !enough {
            return Verdict::BelowGrowth;
        }
        let flat = |s: &f64| !at_least(*s, th.min_rate);
        if self.window_slopes.is_empty() || self.window_slopes.iter().any(flat) {
            return Verdict::NotPersistent;
        }
        if !at_least(self.r_squared, th.min_r_squared) {
            return Verdict::PoorFit;
        }
        Verdict::Growing
    }
}

/// `x ≥ floor`, and never for a NaN.
fn at_least(x: f64, floor: f64) -> bool {
    x >= floor
}

/// The median of the pairwise slopes, in bytes per hour (0 with fewer than two distinct
/// times).
pub fn theil_sen(points: &[Point]) -> f64 {
    let mut slopes = Vec::with_capacity(points.len() * points.len().saturating_sub(1) / 2);
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            let dt = b.t - a.t;
            if dt > 0.0 {
                slopes.push((b.v as f64 - a.v as f64) / dt * HOUR);
            }
        }
    }
    median(&mut slopes)
}

fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    let cmp = |a: &f64, b: &f64| a.total_cmp(b);
    let (_, hi, _) = values.select_nth_unstable_by(n / 2, cmp);
    let hi = *hi;
    if n % 2 == 1 {
        return hi;
    }
    // The lower middle is the largest of the lower half.
    let lo = values[..n / 2].iter().copied().max_by(cmp).unwrap_or(hi);
    (lo + hi) / 2.0
}

/// The points but the outliers around the line of `slope` (bytes per hour) through the
/// median intercept: those more than 3 robust standard deviations from the median residual,
/// the farthest first, at most a tenth of the points.
pub fn without_outliers(points: &[Point], slope: f64) -> Vec<Point> {
    let per_second = slope / HOUR;
    let line = |p: &Point| p.v as f64 - per_second * p.t;
    let mut intercepts: Vec<f64> = points.iter().map(line).collect();
    let intercept = median(&mut intercepts);
    let residuals: Vec<f64> = points.iter().map(|p| line(p) - intercept).collect();
    let mut sorted = residuals.clone();
    let mid = median(&mut sorted);
    let deviations: Vec<f64> = residuals.iter().map(|r| (r - mid).abs()).collect();
    let scale = 1.4826 * median(&mut deviations.clone());
    let mut far: Vec<(f64, usize)> = deviations
        .iter()
        .enumerate()
        .map(|(i, d)| (*d, i))
        .filter(|&(d, _)| d > 3.0 * scale)
        .collect();
    far.sort_by(|a, b| b.0.total_cmp(&a.0));
    far.truncate(points.len() / 10);
    let far: Vec<usize> = far.into_iter().map(|(_, i)| i).collect();
    let kept = points.iter().enumerate().filter(|(i, _)| !far.contains(i));
    kept.map(|(_, p)| *p).collect()
}

/// Least-squares R²: the square of Pearson's correlation of value with time; 0 when either
/// never varies.
pub fn r_squared(points: &[Point]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mt = points.iter().map(|p| p.t).sum::<f64>() / n;
    let mv = points.iter().map(|p| p.v as f64).sum::<f64>() / n;
    let (mut stt, mut svv, mut stv) = (0.0, 0.0, 0.0);
    for p in points {
        let (dt, dv) = (p.t - mt, p.v as f64 - mv);
        stt += dt * dt;
        svv += dv * dv;
        stv += dt * dv;
    }
    if stt <= 0.0 || svv <= 0.0 {
        return 0.0;
    }
    (stv * stv / (stt * svv)).clamp(0.0, 1.0)
}

/// A series of samples kept in bounded memory (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Every `stride`-th sample from the first.
    points: Vec<Point>,
    stride: u64,
    /// Samples given.
    seen: u64,
    /// Consecutive samples that went up.
    ups: u64,
    /// The latest sample.
    latest: Option<Point>,
    min: u64,
    max: u64,
}

impl Series {
    pub fn new() -> Series {
        Series {
            stride: 1,
            ..Series::default()
        }
    }

    /// Adds the next sample (times should not go backwards).
    pub fn push(&mut self, p: Point) {
        match self.latest {
            Some(prev) => {
                if p.v > prev.v {
                    self.ups += 1;
                }
                self.min = self.min.min(p.v);
                self.max = self.max.max(p.v);
            }
            None => (self.min, self.max) = (p.v, p.v),
        }
        self.stride = self.stride.max(1);
        if self.seen.is_multiple_of(self.stride) {
            if self.points.len() == CAPACITY {
                // Full: keep every other point (those on a grid twice as wide, which this
                // sample is on too), so the buffer never grows past its capacity.
                let mut i = 0;
                self.points.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                self.stride *= 2;
            }
            self.points.push(p);
        }
        self.latest = Some(p);
        self.seen += 1;
    }

    /// Samples given.
    pub fn samples(&self) -> u64 {
        self.seen
    }

    /// The first sample.
    pub fn first(&self) -> Option<Point> {
        self.points.first().copied()
    }

    /// The latest sample.
    pub fn latest(&self) -> Option<Point> {
        self.latest
    }

    /// Whether every sample had the same value.
    pub fn is_constant(&self) -> bool {
        self.min == self.max
    }

    /// The points kept, in time order, the latest sample last.
    pub fn points(&self) -> Vec<Point> {
        let mut out = self.points.clone();
        if let Some(l) = self.latest
            && out.last().is_none_or(|p| p.t < l.t)
        {
            out.push(l);
        }
        out
    }

    /// The statistic over the points kept, with the exact sample count and increasing
    /// fraction.
    pub fn fit(&self, windows: usize) -> Option<Fit> {
        let mut fit = Fit::of(&self.points(), windows)?;
        fit.samples = self.seen;
        fit.increasing = if self.seen > 1 {
            self.ups as f64 / (self.seen - 1) as f64
        } else {
            0.0
        };
        Some(fit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;

    /// Equal but for floating-point rounding.
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// Samples every 10 s from t = 0 of `f(i)`.
    fn series(n: usize, f: impl Fn(usize) -> u64) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                t: i as f64 * 10.0,
                v: f(i),
            })
            .collect()
    }

    fn verdict(points: &[Point]) -> (Fit, Verdict) {
        let th = Thresholds::default();
        let fit = Fit::of(points, th.windows).expect("points");
        let v = fit.verdict(&th);
        (fit, v)
    }

    #[test]
    fn a_steady_leak_is_flagged_with_its_exact_rate() {
        // 100 MiB, +1 MiB every 10 s: 360 MiB per hour.
        let points = series(10, |i| (100 + i as u64) << 20);
        let (fit, v) = verdict(&points);
        assert_eq!(v, Verdict::Growing);
        assert!(close(fit.slope, 360.0 * MIB), "{fit:?}");
        assert!(close(fit.r_squared, 1.0), "{fit:?}");
        assert_eq!(fit.increasing, 1.0);
        assert_eq!(fit.growth(), 9 << 20);
        assert_eq!(fit.window_slopes.len(), 3);
        assert!(fit.window_slopes.iter().all(|s| close(*s, 360.0 * MIB)));
    }

    #[test]
    fn nine_samples_are_too_few_ten_are_enough() {
        let leak = |n| series(n, |i| (10 + i as u64) << 20);
        assert_eq!(verdict(&leak(9)).1, Verdict::TooFewSamples);
        assert_eq!(verdict(&leak(10)).1, Verdict::Growing);
    }

    #[test]
    fn a_stable_series_is_not_growing() {
        let (fit, v) = verdict(&series(30, |_| 50 << 20));
        assert_eq!(v, Verdict::BelowRate);
        assert_eq!(fit.slope, 0.0);
        assert_eq!(fit.r_squared, 0.0);
        assert_eq!(fit.increasing, 0.0);
        // Shrinking is not growing either.
        let (fit, v) = verdict(&series(30, |i| (80 - i as u64) << 20));
        assert_eq!(v, Verdict::BelowRate);
        assert!(fit.slope < 0.0);
    }

    #[test]
    fn a_sawtooth_is_not_a_leak() {
        // Allocate 1 MiB per sample for 5 samples, free it all, again: 6 teeth in 36 samples.
        let points = series(36, |i| (20 + (i % 6) as u64) << 20);
        let (fit, v) = verdict(&points);
        // The slope, the growth and every window's slope are fooled (a window holds two
        // teeth, and more of its pairs rise than fall); the fit is not.
        assert_eq!(v, Verdict::PoorFit, "{fit:?}");
        assert!(fit.slope > Thresholds::default().min_rate, "{fit:?}");
        assert!(fit.r_squared < 0.05, "{fit:?}");
        // Most steps go up: the increasing fraction alone would be fooled too.
        assert!((fit.increasing - 30.0 / 35.0).abs() < 1e-12, "{fit:?}");
        // Sampled out of phase with the teeth, the same: never a suspect.
        let points = series(40, |i| (20 + (i * 7 % 6) as u64) << 20);
        assert_ne!(verdict(&points).1, Verdict::Growing);
    }

    #[test]
    fn one_step_is_not_a_leak() {
        // A cache warming up once: 10 samples at 100 MiB, then 10 at 300 MiB.
        let points = series(20, |i| if i < 10 { 100 << 20 } else { 300 << 20 });
        let (fit, v) = verdict(&points);
        assert_eq!(v, Verdict::NotPersistent, "{fit:?}");
        // Half the pairs straddle the step: the overall slope alone would be fooled.
        assert!(fit.slope > 0.0);
        assert_eq!(fit.window_slopes[0], 0.0);
        assert_eq!(fit.window_slopes[2], 0.0);
        // Early or late in the series, most pairs are on one side of it: the robust slope is
        // flat.
        for at in [2, 17] {
            let points = series(20, |i| if i < at { 100 << 20 } else { 300 << 20 });
            let (fit, v) = verdict(&points);
            assert_eq!(v, Verdict::BelowRate, "step at {at}: {fit:?}");
            assert_eq!(fit.slope, 0.0);
        }
    }

    #[test]
    fn a_noisy_leak_is_flagged_and_its_slope_survives_a_spike() {
        // +100 KiB per 10 s (36,000 KiB/h) with ±150 KiB of deterministic noise, and one
        // spike of +50 MiB.
        let mut state = 12345u64;
        let mut noise = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % 301
        };
        let mut points = series(60, |i| (50_000 + 100 * i as u64) * 1024);
        for p in &mut points {
            p.v = p.v + noise() * 1024 - 150 * 1024;
        }
        points[30].v += 50 << 20;
        let (fit, v) = verdict(&points);
        assert_eq!(v, Verdict::Growing, "{fit:?}");
        let truth = 36_000.0 * 1024.0;
        assert!(
            (fit.slope - truth).abs() < 0.05 * truth,
            "slope {} vs {truth}",
            fit.slope
        );
    }

    #[test]
    fn thresholds_on_rate_and_relative_growth() {
        // 0.5 MiB per hour: steady, but below the 1 MiB/h floor.
        let slow = series(20, |i| (1 << 30) + i as u64 * 1456);
        assert_eq!(verdict(&slow).1, Verdict::BelowRate);
        // 36 MiB/h on 100 GiB: far below 5 % in an hour.
        let small = series(20, |i| (100 << 30) + ((i as u64) << 20) / 10);
        assert_eq!(verdict(&small).1, Verdict::BelowGrowth);
        // 900 MiB/h on 2 GiB, seen for 190 s: 2.3 % in the watch, but 44 % in an hour.
        let fast = series(20, |i| (2 << 30) + i as u64 * 2_621_440);
        let (fit, v) = verdict(&fast);
        assert!(fit.growth_fraction().is_some_and(|f| f < 0.05), "{fit:?}");
        assert_eq!(v, Verdict::Growing, "{fit:?}");
        // Over a week of hourly samples of 100 GiB, 4 % in all is below 5 %; 6 % is not.
        let week = |pct: u64| {
            (0..168)
                .map(|i| Point {
                    t: i as f64 * HOUR,
                    v: (100 << 30) + (100u64 << 30) * pct * i / 100 / 167,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(verdict(&week(4)).1, Verdict::BelowGrowth);
        assert_eq!(verdict(&week(6)).1, Verdict::Growing);
        // From nothing, any steady growth above the floor counts.
        let fresh = series(20, |i| (i as u64) << 20);
        assert_eq!(verdict(&fresh).1, Verdict::Growing);
    }

    #[test]
    fn growth_that_stops_is_not_persistent() {
        let points = series(30, |i| (10 + i.min(12) as u64) << 20);
        assert_eq!(verdict(&points).1, Verdict::NotPersistent);
    }

    #[test]
    fn a_series_keeps_bounded_memory_and_its_exact_counts() {
        let mut s = Series::new();
        for i in 0..100_000u64 {
            s.push(Point {
                t: i as f64,
                v: 1000 + 2 * i,
            });
            assert!(s.points.len() <= CAPACITY);
            assert!(s.points.capacity() <= CAPACITY);
        }
        assert_eq!(s.samples(), 100_000);
        let pts = s.points();
        assert!(pts.len() <= CAPACITY + 1);
        assert_eq!(pts.first().map(|p| p.v), Some(1000));
        assert_eq!(pts.last().map(|p| p.v), Some(1000 + 2 * 99_999));
        // The kept points are evenly spaced (one stride) but for the latest sample.
        let gaps: Vec<f64> = pts.windows(2).map(|w| w[1].t - w[0].t).collect();
        let stride = gaps[0];
        assert!(gaps[..gaps.len() - 1].iter().all(|g| *g == stride));
        let fit = s.fit(3).expect("fit");
        assert_eq!(fit.samples, 100_000);
        assert_eq!(fit.increasing, 1.0);
        assert!(close(fit.slope, 2.0 * HOUR), "{fit:?}");
        assert!(!s.is_constant());
    }

    #[test]
    fn degenerate_series_never_panic() {
        assert_eq!(Fit::of(&[], 3), None);
        let one = [Point { t: 5.0, v: 7 }];
        let (fit, v) = (Fit::of(&one, 3).expect("fit"), Verdict::TooFewSamples);
        assert_eq!(fit.verdict(&Thresholds::default()), v);
        assert_eq!(fit.slope, 0.0);
        // Every sample at the same instant, and values at the ends of u64.
        let same_t: Vec<Point> = (0..20).map(|i| Point { t: 1.0, v: i }).collect();
        assert_eq!(Fit::of(&same_t, 3).expect("fit").slope, 0.0);
        let extremes = series(20, |i| if i % 2 == 0 { 0 } else { u64::MAX });
        let fit = Fit::of(&extremes, 3).expect("fit");
        assert!(fit.slope.is_finite());
        assert_ne!(fit.verdict(&Thresholds::default()), Verdict::Growing);
        let mut s = Series::new();
        s.push(Point { t: 0.0, v: 1 });
        assert_eq!(s.fit(3).expect("fit").increasing, 0.0);
    }
}
