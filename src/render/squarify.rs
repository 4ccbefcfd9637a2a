//! Treemap layout: the squarified algorithm of Bruls, Huizing and van Wijk (2000). Boxes are
//! laid in rows along the shorter side of the space left, a row growing while that makes its
//! worst aspect ratio better; each box's area is exactly its share of the whole. Pure
//! arithmetic, no drawing.

/// A rectangle: top-left corner, width and height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn area(&self) -> f64 {
        self.w * self.h
    }
}

/// The worst aspect ratio of a row of areas (sum `sum`, extremes `min`/`max`) laid along a
/// side of length `side`.
fn worst(sum: f64, min: f64, max: f64, side: f64) -> f64 {
    let (s2, w2) = (sum * sum, side * side);
    (w2 * max / s2).max(s2 / (w2 * min))
}

/// Lays `values` (largest first, each > 0) out in `space`: one rectangle per value, in the
/// same order, with areas proportional to the values and filling `space`.
pub fn squarify(values: &[u64], space: Rect) -> Vec<Rect> {
    let sum: f64 = values.iter().map(|&v| v as f64).sum();
    if values.is_empty() || sum <= 0.0 || space.area() <= 0.0 {
        return Vec::new();
    }
    let scale = space.area() / sum;
    let areas: Vec<f64> = values.iter().map(|&v| v as f64 * scale).collect();
    let mut out = Vec::with_capacity(areas.len());
    let mut free = space;
    let mut start = 0;
    while start < areas.len() {
        let side = free.w.min(free.h);
        // Grow the row while the worst aspect ratio improves.
        let mut end = start + 1;
        let (mut sum, mut min, mut max) = (areas[start], areas[start], areas[start]);
        while end < areas.len() {
            let a = areas[end];
            let before = worst(sum, min, max, side);
            let after = worst(sum + a, min.min(a), max.max(a), side);
            if after > before {
                break;
            }
            (sum, min, max) = (sum + a, min.min(a), max.max(a));
            end += 1;
        }
        // The last row takes whatever is left, so rounding never leaves a gap.
        let last = end == areas.len();
        if free.w >= free.h {
            // A column on the left, as tall as the space.
            let w = if last { free.w } else { sum / free.h };
            let mut y = free.y;
            for &a in &areas[start..end] {
                let h = a / sum * free.h;
                out.push(Rect { x: free.x, y, w, h });
                y += h;
            }
            free = Rect {
                x: free.x + w,
                w: free.w - w,
                ..free
            };
        } else {
            // A row along the top, as wide as the space.
            let h = if last { free.h } else { sum / free.w };
            let mut x = free.x;
            for &a in &areas[start..end] {
                let w = a / sum * free.w;
                out.push(Rect { x, y: free.y, w, h });
                x += w;
            }
            free = Rect {
                y: free.y + h,
                h: free.h - h,
                ..free
            };
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPACE: Rect = Rect {
        x: 10.0,
        y: 20.0,
        w: 600.0,
        h: 400.0,
    };

    #[test]
    fn the_paper_example_areas_are_exact_and_tile_the_space() {
        // Bruls et al.'s example: 6, 6, 4, 3, 2, 2, 1 in a 6 × 4 rectangle.
        let values = [6, 6, 4, 3, 2, 2, 1];
        let rects = squarify(&values, SPACE);
        assert_eq!(rects.len(), values.len());
        let scale = SPACE.area() / 24.0;
        for (r, &v) in rects.iter().zip(&values) {
            assert!((r.area() - v as f64 * scale).abs() < 1e-6, "{r:?} for {v}");
            assert!(r.x >= SPACE.x - 1e-9 && r.y >= SPACE.y - 1e-9);
            assert!(r.x + r.w <= SPACE.x + SPACE.w + 1e-9);
            assert!(r.y + r.h <= SPACE.y + SPACE.h + 1e-9);
        }
        let total: f64 = rects.iter().map(Rect::area).sum();
        assert!((total - SPACE.area()).abs() < 1e-6);
        // The first row is the two 6s side by side along the short side: squares-ish.
        let worst = rects
            .iter()
            .map(|r| (r.w / r.h).max(r.h / r.w))
            .fold(0.0, f64::max);
        assert!(worst < 3.0, "aspect ratios stay moderate: {worst}");
    }

    #[test]
    fn boxes_do_not_overlap() {
        let values: Vec<u64> = (1..=30).rev().map(|v| v * v).collect();
        let rects = squarify(&values, SPACE);
        for (i, a) in rects.iter().enumerate() {
            for b in &rects[i + 1..] {
                let ox = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
                let oy = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
                assert!(ox <= 1e-6 || oy <= 1e-6, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn nothing_to_lay_out() {
        assert!(squarify(&[], SPACE).is_empty());
        assert!(squarify(&[0, 0], SPACE).is_empty());
        assert_eq!(squarify(&[5], SPACE), vec![SPACE]);
    }
}
