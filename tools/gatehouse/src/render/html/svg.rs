//! Hand-built SVG charts for the HTML pages: lines on linear or log axes, horizontal
//! (grouped) bars with reference lines, and timelines. Colours come from CSS classes, so
//! one chart reads in light, dark and print styles; every chart has a `<title>` and a
//! `<desc>`, and its figures are also given as a table beside it (see `figure`).
//!
//! Why not `plotters`: its SVG backend writes fixed colours and fonts into every element
//! (no dark mode, no print style), has no `<title>`/`<desc>`, and it would add a font and
//! image stack to every tool's build; the four chart shapes the pages need are ~400 lines.

use std::fmt::Write as _;

use super::escape;

const W: f64 = 640.0;
const H: f64 = 240.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 42.0;
const RIGHT: f64 = 20.0;

/// One axis: its label, range and ticks; values outside the range are clamped.
#[derive(Debug, Clone)]
pub struct Axis {
    pub label: String,
    pub log: bool,
    pub min: f64,
    pub max: f64,
    pub ticks: Vec<(f64, String)>,
}

impl Axis {
    /// A linear axis from 0 (or `min`) to a round number above `max`.
    pub fn linear(label: impl Into<String>, min: f64, max: f64) -> Axis {
        let max = if max.is_finite() && max > min {
            max
        } else {
            min + 1.0
        };
        let step = nice_step((max - min) / 5.0);
        let top = (max / step).ceil() * step;
        let min = (min / step).floor() * step;
        let mut ticks = Vec::new();
        let mut t = min;
        while t <= top + step / 2.0 && ticks.len() < 12 {
            ticks.push((t, number(t)));
            t += step;
        }
        Axis {
            label: label.into(),
            log: false,
            min,
            max: top,
            ticks,
        }
    }

    /// A log-10 axis over whole decades around `[min, max]` (both > 0).
    pub fn log(label: impl Into<String>, min: f64, max: f64) -> Axis {
        let lo = min.max(1e-6).log10().floor();
        let hi = max.max(min.max(1e-6) * 10.0).log10().ceil();
        let ticks = (lo as i32..=hi as i32)
            .map(|e| {
                let v = 10f64.powi(e);
                (v, number(v))
            })
            .collect();
        Axis {
            label: label.into(),
            log: true,
            min: 10f64.powf(lo),
            max: 10f64.powf(hi),
            ticks,
        }
    }

    /// Where `v` falls, 0.0 at `min` to 1.0 at `max`.
    fn frac(&self, v: f64) -> f64 {
        let f = if self.log {
            let v = v.max(self.min);
            (v.log10() - self.min.log10()) / (self.max.log10() - self.min.log10())
        } else {
            (v - self.min) / (self.max - self.min)
        };
        if f.is_finite() {
            f.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let r = raw / mag;
    let n = if r <= 1.0 {
        1.0
    } else if r <= 2.0 {
        2.0
    } else if r <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * mag
}

/// A number as a person reads it on an axis or in a table: at most 3 decimals, no trailing
/// zeros, thousands as `k`/`M` above 10 000.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    let a = v.abs();
    if a >= 1e7 {
        return format!("{}M", trim(v / 1e6, 1));
    }
    if a >= 1e4 {
        return format!("{}k", trim(v / 1e3, 1));
    }
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        3
    };
    trim(v, decimals)
}

fn trim(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// One line of a line chart. `class` is a CSS class (`s1`…`s4`, `base`).
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub class: &'static str,
    pub points: Vec<(f64, f64)>,
    /// Draw a dot at each point (few points), else only the line.
    pub dots: bool,
}

/// A reference line across the plot at `value` (a threshold, a target, a factor).
#[derive(Debug, Clone)]
pub struct Reference {
    pub value: f64,
    pub label: String,
    /// `limit` (red dashes) or `target` (neutral dashes).
    pub class: &'static str,
}

/// One bar of a bar row: its value, CSS class (`s1`…, `ok`, `fail`) and legend name.
#[derive(Debug, Clone)]
pub struct Bar {
    pub value: f64,
    pub class: &'static str,
    pub name: String,
}

/// One row of a (grouped) horizontal bar chart.
#[derive(Debug, Clone)]
pub struct BarRow {
    pub label: String,
    pub bars: Vec<Bar>,
}

/// One span of a timeline row, from `start` to `end` on the x axis.
#[derive(Debug, Clone)]
pub struct Span {
    pub start: f64,
    pub end: f64,
    pub class: &'static str,
    pub name: String,
}

/// One row of a timeline.
#[derive(Debug, Clone)]
pub struct Lane {
    pub label: String,
    pub spans: Vec<Span>,
}

fn open(out: &mut String, title: &str, desc: &str, height: f64) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {W} {height}\" \
         role=\"img\" aria-label=\"{t}\"><title>{t}</title><desc>{d}</desc>",
        t = escape(title),
        d = escape(desc),
    );
}

fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn legend(out: &mut String, items: &[(&str, &str)], left: f64) {
    let mut x = left;
    for (class, name) in items {
        let _ = write!(
            out,
            "<rect class=\"{class} key\" x=\"{x:.1}\" y=\"6\" width=\"10\" height=\"10\"/>\
             <text x=\"{:.1}\" y=\"15\">{}</text>",
            x + 14.0,
            escape(&short(name, 40))
        );
        x += 24.0 + 6.2 * name.chars().count().min(40) as f64;
    }
}

/// Ticks and gridlines of `axis` along x, between `left` and `W - RIGHT`, under `plot_h`.
fn x_axis(out: &mut String, axis: &Axis, left: f64, plot_bottom: f64) {
    let span = W - RIGHT - left;
    for (v, label) in &axis.ticks {
        let x = left + axis.frac(*v) * span;
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{plot_bottom:.1}\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            plot_bottom + 14.0,
            escape(label)
        );
    }
    let _ = write!(
        out,
        "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        left + span / 2.0,
        plot_bottom + 32.0,
        escape(&axis.label)
    );
}

/// A line chart: `series` over `x` and `y`, with horizontal `references` on y.
pub fn lines(
    title: &str,
    desc: &str,
    x: &Axis,
    y: &Axis,
    series: &[Series],
    references: &[Reference],
) -> String {
    let mut out = String::new();
    let left = 64.0;
    let bottom = H - BOTTOM;
    open(&mut out, title, desc, H);
    let plot_h = bottom - TOP;
    for (v, label) in &y.ticks {
        let py = bottom - y.frac(*v) * plot_h;
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{left}\" y1=\"{py:.1}\" x2=\"{:.1}\" y2=\"{py:.1}\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            left - 4.0,
            py + 4.0,
            escape(label)
        );
    }
    let _ = write!(
        out,
        "<text class=\"axis\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        TOP + plot_h / 2.0,
        escape(&y.label)
    );
    x_axis(&mut out, x, left, bottom);
    let span = W - RIGHT - left;
    let mut label_ys: Vec<f64> = Vec::new();
    for r in references {
        let py = bottom - y.frac(r.value) * plot_h;
        // Above the line, or below it when another label is already there.
        let mut ly = py - 3.0;
        if label_ys.iter().any(|o| (o - ly).abs() < 11.0) {
            ly = py + 11.0;
        }
        label_ys.push(ly);
        let _ = write!(
            out,
            "<g><title>{t}</title><line class=\"ref {c}\" x1=\"{left}\" y1=\"{py:.1}\" x2=\"{:.1}\" y2=\"{py:.1}\"/>\
             <text class=\"reflabel\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{t}</text></g>",
            W - RIGHT,
            W - RIGHT - 2.0,
            ly,
            t = escape(&r.label),
            c = r.class,
        );
    }
    for s in series {
        let pts: Vec<String> = s
            .points
            .iter()
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| {
                format!(
                    "{:.1},{:.1}",
                    left + x.frac(*a) * span,
                    bottom - y.frac(*b) * plot_h
                )
            })
            .collect();
        let _ = write!(out, "<g><title>{}</title>", escape(&s.name));
        if pts.len() > 1 {
            let _ = write!(
                out,
                "<polyline class=\"line {}\" points=\"{}\"/>",
                s.class,
                pts.join(" ")
            );
        }
        if s.dots || pts.len() == 1 {
            for p in &pts {
                if let Some((cx, cy)) = p.split_once(',') {
                    let _ = write!(
                        out,
                        "<circle class=\"dot {}\" cx=\"{cx}\" cy=\"{cy}\" r=\"3.5\"/>",
                        s.class
                    );
                }
            }
        }
        out.push_str("</g>");
    }
    let items: Vec<(&str, &str)> = series.iter().map(|s| (s.class, s.name.as_str())).collect();
    legend(&mut out, &items, left);
    out.push_str("</svg>");
    out
}

/// The x where plots start, right of a column of row labels (at most 30 characters shown).
fn label_column<'a>(labels: impl Iterator<Item = &'a str>) -> f64 {
    let chars = labels
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 30);
    12.0 + 6.6 * chars as f64
}

/// Opens a row's `<g>` (closed by the caller) with its label, whole in the `<title>`.
fn row_label(out: &mut String, label: &str, left: f64, y: f64) {
    let _ = write!(
        out,
        "<g><title>{}</title><text class=\"label\" x=\"{:.1}\" y=\"{y:.1}\" text-anchor=\"end\">{}</text>",
        escape(label),
        left - 6.0,
        escape(&short(label, 30))
    );
}

/// Dashed vertical lines at each reference's value, labelled above the plot (end-anchored
/// near the right edge so the label stays inside).
fn vertical_references(
    out: &mut String,
    references: &[Reference],
    axis: &Axis,
    left: f64,
    bottom: f64,
) {
    let span = W - RIGHT - left;
    for r in references {
        let x = left + axis.frac(r.value) * span;
        let right = x > W * 0.75;
        let _ = write!(
            out,
            "<g><title>{t}</title><line class=\"ref {c}\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\"/>\
             <text class=\"reflabel\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{}\">{t}</text></g>",
            if right { x - 2.0 } else { x + 2.0 },
            TOP - 2.0,
            if right { "end" } else { "start" },
            t = escape(&r.label),
            c = r.class,
        );
    }
}

/// Horizontal bars, one row per label (several bars per row are drawn as a group), with
/// vertical `references` (targets, limits) on the value axis.
pub fn bars(
    title: &str,
    desc: &str,
    axis_label: &str,
    rows: &[BarRow],
    references: &[Reference],
) -> String {
    let max = rows
        .iter()
        .flat_map(|r| r.bars.iter().map(|b| b.value))
        .chain(references.iter().map(|r| r.value))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let axis = Axis::linear(axis_label, 0.0, if max > 0.0 { max } else { 1.0 });
    let per_row = rows.iter().map(|r| r.bars.len()).max().unwrap_or(1).max(1) as f64;
    let row_h = 8.0 + 12.0 * per_row;
    let height = TOP + rows.len() as f64 * row_h + BOTTOM + 4.0;
    let left = label_column(rows.iter().map(|r| r.label.as_str()));
    let span = W - RIGHT - left;
    let bottom = height - BOTTOM;
    let mut out = String::new();
    open(&mut out, title, desc, height);
    x_axis(&mut out, &axis, left, bottom);
    for (i, row) in rows.iter().enumerate() {
        let y0 = TOP + i as f64 * row_h + 4.0;
        row_label(&mut out, &row.label, left, y0 + row_h / 2.0);
        for (j, b) in row.bars.iter().enumerate() {
            let w = axis.frac(b.value) * span;
            let y = y0 + j as f64 * 12.0;
            let _ = write!(
                out,
                "<rect class=\"bar {}\" x=\"{left:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"10\"><title>{}: {}</title></rect>\
                 <text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                b.class,
                w.max(0.5),
                escape(&b.name),
                number(b.value),
                left + w + 3.0,
                y + 9.0,
                number(b.value)
            );
        }
        out.push_str("</g>");
    }
    vertical_references(&mut out, references, &axis, left, bottom);
    let mut items: Vec<(&str, &str)> = Vec::new();
    for b in rows.iter().flat_map(|r| r.bars.iter()) {
        if !items.iter().any(|(c, n)| *c == b.class && *n == b.name) && items.len() < 4 {
            items.push((b.class, b.name.as_str()));
        }
    }
    if items.len() > 1 || references.is_empty() {
        legend(&mut out, &items, left);
    }
    out.push_str("</svg>");
    out
}

/// A timeline: one lane per label, spans on a shared x axis, vertical `references`.
pub fn timeline(
    title: &str,
    desc: &str,
    axis_label: &str,
    lanes: &[Lane],
    references: &[Reference],
) -> String {
    let max = lanes
        .iter()
        .flat_map(|l| l.spans.iter().map(|s| s.end))
        .chain(references.iter().map(|r| r.value))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let min = lanes
        .iter()
        .flat_map(|l| l.spans.iter().map(|s| s.start))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::min);
    let axis = Axis::linear(axis_label, min, if max > min { max } else { min + 1.0 });
    let row_h = 20.0;
    let height = TOP + lanes.len() as f64 * row_h + BOTTOM + 4.0;
    let left = label_column(lanes.iter().map(|l| l.label.as_str()));
    let span = W - RIGHT - left;
    let bottom = height - BOTTOM;
    let mut out = String::new();
    open(&mut out, title, desc, height);
    x_axis(&mut out, &axis, left, bottom);
    for (i, lane) in lanes.iter().enumerate() {
        let y = TOP + i as f64 * row_h + 4.0;
        row_label(&mut out, &lane.label, left, y + 10.0);
        for s in &lane.spans {
            let x0 = left + axis.frac(s.start) * span;
            let x1 = left + axis.frac(s.end) * span;
            let _ = write!(
                out,
                "<rect class=\"bar {}\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"13\"><title>{}: {} to {}</title></rect>",
                s.class,
                (x1 - x0).max(1.0),
                escape(&s.name),
                number(s.start),
                number(s.end)
            );
        }
        out.push_str("</g>");
    }
    vertical_references(&mut out, references, &axis, left, bottom);
    let mut items: Vec<(&str, &str)> = Vec::new();
    for s in lanes.iter().flat_map(|l| l.spans.iter()) {
        if !items.iter().any(|(c, _)| *c == s.class) && items.len() < 6 {
            items.push((s.class, s.name.as_str()));
        }
    }
    // One colour needs no key (each lane's label already names it).
    if references.is_empty() && items.len() > 1 {
        legend(&mut out, &items, left);
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(26.575), "26.6");
        assert_eq!(number(1027.071), "1027");
        assert_eq!(number(15000.0), "15k");
        assert_eq!(number(f64::NAN), "–");
    }

    #[test]
    fn log_axes_cover_whole_decades() {
        let a = Axis::log("ms", 1.3, 140.0);
        assert_eq!(a.min, 1.0);
        assert_eq!(a.max, 1000.0);
        assert!((a.frac(10.0) - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_hostile_title_is_escaped_inside_the_svg() {
        let svg = bars(
            "</svg><script>alert(1)</script>",
            "d",
            "n",
            &[BarRow {
                label: "<b>".into(),
                bars: vec![Bar {
                    value: 1.0,
                    class: "s1",
                    name: "x\"y".into(),
                }],
            }],
            &[],
        );
        assert!(!svg.contains("<script>"));
        assert_eq!(svg.matches("</svg>").count(), 1);
        assert!(svg.contains("&lt;/svg&gt;&lt;script&gt;"));
    }
}
