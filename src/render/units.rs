//! Byte amounts and percentages in human units, for the table (and the treemap's labels)
//! alone: a unit per cell (`4K`, `1.5M`, `16G`, like `du -h`; the report's default), one
//! fixed unit for every cell (`--units`; `show` uses KiB, the unit of smaps and of
//! `pmap -x`), or each value with its unit beside it (`24.0 GiB`, `712 KiB`: the summary).
//! Units are binary: K, M, G, T are KiB, MiB, GiB, TiB. Percentages have one decimal.

use crate::model::Percent;
use crate::text::thousands;
use crate::view::{ByteUnit, UnitRule};

const KIB: u64 = 1024;

/// A fixed unit: divisor, name, decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unit {
    divisor: u64,
    name: &'static str,
    decimals: usize,
}

fn unit_of(u: ByteUnit) -> Unit {
    match u {
        ByteUnit::Kib => Unit {
            divisor: KIB,
            name: "KiB",
            decimals: 0,
        },
        ByteUnit::Mib => Unit {
            divisor: KIB.pow(2),
            name: "MiB",
            decimals: 1,
        },
        ByteUnit::Gib => Unit {
            divisor: KIB.pow(3),
            name: "GiB",
            decimals: 1,
        },
    }
}

/// The unit a value is written in beside it: the largest that leaves at most 5 digits
/// before the point (KiB below 10 MiB, then MiB, GiB, TiB).
fn own_unit(v: u64) -> Unit {
    if v < 10 * KIB.pow(2) {
        unit_of(ByteUnit::Kib)
    } else if v < 10 * KIB.pow(3) {
        unit_of(ByteUnit::Mib)
    } else if v < 10 * KIB.pow(4) {
        unit_of(ByteUnit::Gib)
    } else {
        Unit {
            divisor: KIB.pow(4),
            name: "TiB",
            decimals: 1,
        }
    }
}

/// A value with its own unit beside it: `0 KiB`, `712 KiB`, `24.0 GiB`.
pub fn with_unit(v: u64) -> String {
    let unit = own_unit(v);
    format!("{} {}", fixed(v, unit), unit.name)
}

/// The unit a byte column's header names (`PSS MiB`), when every cell has the same.
pub fn header_unit(rule: UnitRule) -> Option<&'static str> {
    match rule {
        UnitRule::PerCell | UnitRule::PerValue => None,
        UnitRule::Fixed(u) => Some(unit_of(u).name),
    }
}

/// A byte value as the table shows it under `rule`; `-` when unknown.
pub fn format_bytes(v: Option<u64>, rule: UnitRule) -> String {
    let Some(v) = v else {
        return "-".to_string();
    };
    match rule {
        UnitRule::PerCell => per_cell(v),
        UnitRule::Fixed(u) => fixed(v, unit_of(u)),
        UnitRule::PerValue if v == 0 => "0".into(),
        UnitRule::PerValue => with_unit(v),
    }
}

/// A percentage with one decimal: `<0.1` for a share too small to show but not zero, `-`
/// unknown.
pub fn format_percent(p: Option<Percent>) -> String {
    let Some(p) = p else {
        return "-".to_string();
    };
    match p.scaled(1) {
        0 if p.part == 0 => "0".to_string(),
        0 => "<0.1".to_string(),
        tenths => format!(
            "{}.{}",
            thousands(u64::try_from(tenths / 10).unwrap_or(u64::MAX)),
            tenths % 10
        ),
    }
}

/// `0`, `<1K`, `4K`, `1023K`, `1.0M`, `9.9M`, `10M`, `748M`, `16G`: whole KiB, then three
/// significant digits at most (one decimal below 10), the unit switching before 1024.
fn per_cell(v: u64) -> String {
    if v == 0 {
        return "0".into();
    }
    if v < KIB {
        return "<1K".into();
    }
    let names = ["K", "M", "G", "T", "P", "E"];
    let mut divisor = KIB;
    for (i, name) in names.iter().enumerate() {
        let scaled = v as f64 / divisor as f64;
        let decimals = if i == 0 || scaled >= 9.95 { 0 } else { 1 };
        let shown = format!("{scaled:.decimals$}");
        if shown.parse::<f64>().unwrap_or(f64::MAX) < 1024.0 || i + 1 == names.len() {
            return format!("{shown}{name}");
        }
        divisor = divisor.saturating_mul(KIB);
    }
    unreachable!("the last unit always returns")
}

/// A value in a fixed unit, with thousands separators: `0` for zero, `<0.1` (`<1` in KiB)
/// for a value too small to show.
fn fixed(v: u64, unit: Unit) -> String {
    if v == 0 {
        return "0".to_string();
    }
    let scaled = v as f64 / unit.divisor as f64;
    let smallest = 0.5 / 10f64.powi(unit.decimals as i32);
    if scaled < smallest {
        return if unit.decimals == 0 {
            "<1".into()
        } else {
            "<0.1".into()
        };
    }
    let s = format!("{scaled:.*}", unit.decimals);
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let int = thousands(int.parse().unwrap_or(0));
    if frac.is_empty() {
        int
    } else {
        format!("{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_per_cell() {
        let f = |v| format_bytes(Some(v), UnitRule::PerCell);
        assert_eq!(f(0), "0");
        assert_eq!(f(100), "<1K");
        assert_eq!(f(4096), "4K");
        assert_eq!(f(1023 * KIB), "1023K");
        // 1023.9 KiB would round to 1024K: the next unit says it.
        assert_eq!(f(1023 * KIB + 1000), "1.0M");
        assert_eq!(f(KIB.pow(2)), "1.0M");
        assert_eq!(f(1_572_864), "1.5M");
        assert_eq!(f(10_433_331), "9.9M");
        assert_eq!(f(10_433_332), "10M");
        assert_eq!(f(748 * KIB.pow(2)), "748M");
        assert_eq!(f(16 * KIB.pow(3)), "16G");
        assert_eq!(f(3 * KIB.pow(4) / 2), "1.5T");
        assert_eq!(f(u64::MAX), "16E");
        assert_eq!(format_bytes(None, UnitRule::PerCell), "-");
    }

    #[test]
    fn a_fixed_unit() {
        let mib = UnitRule::Fixed(ByteUnit::Mib);
        assert_eq!(format_bytes(Some(2_202_010), mib), "2.1");
        assert_eq!(format_bytes(Some(4096), mib), "<0.1");
        assert_eq!(format_bytes(Some(0), mib), "0");
        assert_eq!(format_bytes(None, mib), "-");
        assert_eq!(format_bytes(Some(7_000 * KIB * KIB), mib), "7,000.0");
        let kib = UnitRule::Fixed(ByteUnit::Kib);
        assert_eq!(format_bytes(Some(12 * KIB), kib), "12");
        assert_eq!(format_bytes(Some(16 * KIB.pow(3)), kib), "16,777,216");
        let gib = UnitRule::Fixed(ByteUnit::Gib);
        assert_eq!(format_bytes(Some(16 * KIB.pow(3)), gib), "16.0");
        assert_eq!(header_unit(gib), Some("GiB"));
        assert_eq!(header_unit(UnitRule::PerCell), None);
    }

    #[test]
    fn a_unit_beside_each_value() {
        let f = |v| format_bytes(Some(v), UnitRule::PerValue);
        assert_eq!(f(0), "0");
        assert_eq!(f(712 * KIB), "712 KiB");
        assert_eq!(f(24 * KIB.pow(3)), "24.0 GiB");
        assert_eq!(f(3 * KIB.pow(2)), "3,072 KiB");
        assert_eq!(f(20 * KIB.pow(4)), "20.0 TiB");
        assert_eq!(format_bytes(None, UnitRule::PerValue), "-");
        assert_eq!(with_unit(0), "0 KiB");
        assert_eq!(header_unit(UnitRule::PerValue), None);
    }

    #[test]
    fn percentages_show_one_decimal() {
        let p = |part| {
            Some(Percent {
                part,
                whole: 10_000,
            })
        };
        assert_eq!(format_percent(p(1234)), "12.3");
        assert_eq!(format_percent(p(1235)), "12.4");
        assert_eq!(format_percent(p(10_000)), "100.0");
        assert_eq!(format_percent(p(4)), "<0.1");
        assert_eq!(format_percent(Percent::of(1, Some(u64::MAX))), "<0.1");
        assert_eq!(format_percent(p(0)), "0");
        assert_eq!(format_percent(None), "-");
    }
}
