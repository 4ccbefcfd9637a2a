//! Text for people and for machine formats alike, made from raw values: numbers with
//! thousands separators, plurals, rates of growth, UTC timestamps, and the escaping of raw bytes
//! ([`escape`]). A leaf: it knows nothing of the data model.

pub mod escape;

use std::time::{SystemTime, UNIX_EPOCH};

/// `1,234` for 1234.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount of bytes in the unit that reads best, with one decimal past KiB: `512 B`,
/// `12 KiB`, `1.2 MiB`.
fn human_bytes(v: f64) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if v < 1024.0 {
        return format!("{v:.0} B");
    }
    let mut scaled = v / 1024.0;
    let mut i = 0;
    while scaled >= 1024.0 && i + 1 < units.len() {
        scaled /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{scaled:.0} {}", units[i])
    } else {
        format!("{scaled:.1} {}", units[i])
    }
}

/// A rate in bytes per hour, per second, minute or hour, whichever gives a figure of at
/// least 1 MiB (or per hour): `+1.2 MiB/min`, `+2.5 MiB/s`, `-300 KiB/h`, `0`.
pub fn format_rate(per_hour: i64) -> String {
    if per_hour == 0 {
        return "0".to_string();
    }
    let sign = if per_hour < 0 { '-' } else { '+' };
    let h = per_hour.unsigned_abs() as f64;
    let mib = 1024.0 * 1024.0;
    let (v, per) = if h / 3600.0 >= mib {
        (h / 3600.0, "s")
    } else if h / 60.0 >= mib {
        (h / 60.0, "min")
    } else {
        (h, "h")
    };
    format!("{sign}{}/{per}", human_bytes(v))
}

pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `2026-11-24T17:50:13Z`.
pub fn utc_timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(268_138), "268,138");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn rates_read_in_a_unit_that_fits() {
        let mib_h = 1024 * 1024;
        assert_eq!(format_rate(60 * mib_h * 12 / 10), "+1.2 MiB/min");
        assert_eq!(format_rate(3600 * mib_h * 5 / 2), "+2.5 MiB/s");
        assert_eq!(format_rate(-300 * 1024), "-300 KiB/h");
        assert_eq!(format_rate(512), "+512 B/h");
        assert_eq!(format_rate(0), "0");
        assert_eq!(format_rate(i64::MIN).chars().next(), Some('-'));
    }

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_542_613);
        assert_eq!(utc_timestamp(t), "2026-11-24T17:50:13Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_timestamp(leap), "2000-02-29T00:00:00Z");
    }
}
