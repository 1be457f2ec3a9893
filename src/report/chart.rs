//! Inline SVG charts drawn in Rust: the page needs no JavaScript and no network. Only numbers
//! and dates reach the SVG (never customer text), and labels are escaped anyway.

use std::fmt::Write;

/// One x position of a chart: a label and stacked values (bottom first).
pub struct Bar {
    pub label: String,
    pub values: Vec<f64>,
}

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;
const PLOT_W: f64 = WIDTH - LEFT - 8.0;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

/// Stacked bars (one series per colour) with a labelled y axis. `unit` is shown in tooltips.
pub fn stacked_bars(title: &str, bars: &[Bar], series: &[(&str, &str)], unit: &str) -> String {
    let max = bars.iter().map(|b| b.values.iter().sum::<f64>()).fold(0.0, f64::max);
    let (mut s, top) = frame(title, max);
    let step = PLOT_W / bars.len().max(1) as f64;
    for (i, bar) in bars.iter().enumerate() {
        let x = LEFT + i as f64 * step + step * 0.15;
        let mut y = TOP + PLOT_H;
        for (value, (name, colour)) in bar.values.iter().zip(series) {
            let h = if top > 0.0 { value / top * PLOT_H } else { 0.0 };
            y -= h;
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{colour}"><title>{} · {}: {} {}</title></rect>"#,
                step * 0.7,
                escape(&bar.label),
                escape(name),
                value,
                escape(unit)
            );
        }
        if bars.len() <= 16 || i % 2 == 0 {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#5b6675">{}</text>"##,
                x + step * 0.35,
                HEIGHT - 10.0,
                escape(&bar.label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A line over the bars' x positions (one value each).
pub fn line(title: &str, points: &[Bar], colour: &str, unit: &str) -> String {
    let max = points
        .iter()
        .filter_map(|p| p.values.first())
        .copied()
        .fold(0.0, f64::max);
    let (mut s, top) = frame(title, max);
    let step = PLOT_W / points.len().max(1) as f64;
    let xy = |i: usize, v: f64| {
        let x = LEFT + i as f64 * step + step * 0.5;
        let y = TOP + PLOT_H - if top > 0.0 { v / top * PLOT_H } else { 0.0 };
        (x, y)
    };
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = xy(i, p.values.first().copied().unwrap_or(0.0));
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        s,
        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
        path.join(" ")
    );
    for (i, p) in points.iter().enumerate() {
        let v = p.values.first().copied().unwrap_or(0.0);
        let (x, y) = xy(i, v);
        let _ = write!(
            s,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"><title>{}: {v:.2} {}</title></circle>"#,
            escape(&p.label),
            escape(unit)
        );
        if points.len() <= 16 || i % 2 == 0 {
            let _ = write!(
                s,
                r##"<text x="{x:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#5b6675">{}</text>"##,
                HEIGHT - 10.0,
                escape(&p.label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The opening `<svg>` with a y axis rounded up from `max`; returns it and the axis top.
fn frame(title: &str, max: f64) -> (String, f64) {
    let top = nice_ceiling(max);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(title)
    );
    axis(&mut s, top);
    (s, top)
}

/// Horizontal grid lines with their values, four steps up to `top`.
fn axis(s: &mut String, top: f64) {
    for k in 0..=4 {
        let v = top * k as f64 / 4.0;
        let y = TOP + PLOT_H - PLOT_H * k as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#dde3ea"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" fill="#5b6675">{}</text>"##,
            LEFT + PLOT_W,
            LEFT - 6.0,
            y + 3.0,
            compact(v)
        );
    }
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v` (a readable axis top).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let base = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * base)
        .find(|t| *t >= v)
        .unwrap_or(10.0 * base)
}

fn compact(v: f64) -> String {
    match v {
        v if v >= 1e7 => format!("{:.1} cr", v / 1e7),
        v if v >= 1e5 => format!("{:.1} L", v / 1e5),
        v if v >= 1e3 => format!("{:.1}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(4_900.0), 5_000.0);
        assert_eq!(nice_ceiling(5_000.0), 5_000.0);
    }

    #[test]
    fn bars_are_scaled_to_the_axis_and_labels_escaped() {
        let bars = [
            Bar {
                label: "01".into(),
                values: vec![50.0, 50.0],
            },
            Bar {
                label: "<02>".into(),
                values: vec![0.0, 0.0],
            },
        ];
        let svg = stacked_bars("calls", &bars, &[("in", "#111"), ("out", "#222")], "calls");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // Axis top 100; the plot is 200 px high, so each 50-call segment is 100 px.
        assert_eq!(svg.matches(r#"height="100.0""#).count(), 2);
        assert!(svg.contains("&lt;02&gt;") && !svg.contains("<02>"));
    }
}
