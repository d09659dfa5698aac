//! SVG charts with `plotters` (SVG backend only), drawn to be read at a glance:
//!
//! * every axis has its own ticks, chosen here: whole numbers on count axes ([`Scale::Count`],
//!   [`Scale::LogCount`]), 1-2-5 ticks on log axes so that labels fall inside the data even
//!   when it spans less than a decade, and numbers without a useless ".0";
//! * a series is a line ([`Mark::Line`], for a quantity measured along a numeric axis) or
//!   points ([`Mark::Points`], for separate cases, nudged sideways so that equal values do not
//!   hide each other); no line is drawn through categorical cases;
//! * a target ([`Target`]) is drawn only when the data reaches the point where it applies;
//! * the legend sits to the right of the plotting area, never over the data.

use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use std::path::Path;

/// Width and height of a chart (pixels); the legend takes the right part.
const SIZE: (u32, u32) = (980, 540);
/// Width of the legend column.
const LEGEND_W: u32 = 250;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// A line through the points, with the points marked.
    Line,
    /// Points only (separate cases).
    Points,
}

/// One named series.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points (x, y).
    pub points: Vec<(f64, f64)>,
    /// Line or points.
    pub mark: Mark,
}

impl Series {
    /// A line.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            mark: Mark::Line,
        }
    }

    /// Points only.
    pub fn points(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            mark: Mark::Points,
        }
    }
}

/// The scale of an axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear, real numbers.
    Linear,
    /// Linear, whole numbers only (counts).
    Count,
    /// Logarithmic, real numbers (1-2-5 ticks).
    Log,
    /// Logarithmic, whole numbers only (counts spanning orders of magnitude).
    LogCount,
}

impl Scale {
    fn is_log(self) -> bool {
        matches!(self, Scale::Log | Scale::LogCount)
    }
    fn is_count(self) -> bool {
        matches!(self, Scale::Count | Scale::LogCount)
    }
}

/// A horizontal target line (`y`), drawn only if the data reaches `applies_at` (an x value),
/// or always if `applies_at` is `None`.
#[derive(Clone, Debug)]
pub struct Target {
    /// Legend text.
    pub name: String,
    /// The target value.
    pub y: f64,
    /// The x value at which the target applies (e.g. 10,000 messages).
    pub applies_at: Option<f64>,
}

/// A chart.
#[derive(Clone, Debug)]
pub struct Chart<'a> {
    /// Title.
    pub title: &'a str,
    /// X axis description.
    pub x_label: &'a str,
    /// Y axis description.
    pub y_label: &'a str,
    /// X scale.
    pub x: Scale,
    /// Y scale.
    pub y: Scale,
    /// The series.
    pub series: Vec<Series>,
    /// Target lines.
    pub targets: Vec<Target>,
}

/// A number as a tick label: whole numbers without decimals (and with thousands separators
/// from 10,000 on), others with at most three significant digits.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    if (v - v.round()).abs() < 1e-9 * a.max(1.0) {
        let r = v.round();
        if a >= 10_000.0 {
            let digits = format!("{:.0}", a);
            let mut out = String::new();
            for (i, ch) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(ch);
            }
            return if r < 0.0 { format!("-{out}") } else { out };
        }
        return format!("{r:.0}");
    }
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        // three significant digits
        (2 - a.log10().floor() as i32).clamp(0, 12) as usize
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Finite values on one axis (positive only for a log axis).
fn values(series: &[Series], pick: impl Fn(&(f64, f64)) -> f64, log: bool) -> Vec<f64> {
    series
        .iter()
        .flat_map(|s| s.points.iter().map(&pick))
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .collect()
}

fn min_max(vals: &[f64]) -> Option<(f64, f64)> {
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}

/// The axis range for data in [lo, hi].
fn range(lo: f64, hi: f64, scale: Scale) -> (f64, f64) {
    if scale.is_log() {
        // Round outwards to a 1-2-5 step, with a little room.
        let lo = lo / 1.3;
        let hi = hi * 1.3;
        let down = |v: f64| {
            let e = 10f64.powf(v.log10().floor());
            [5.0, 2.0, 1.0]
                .iter()
                .map(|m| m * e)
                .find(|c| *c <= v)
                .unwrap_or(e)
        };
        let up = |v: f64| {
            let e = 10f64.powf(v.log10().floor());
            [1.0, 2.0, 5.0, 10.0]
                .iter()
                .map(|m| m * e)
                .find(|c| *c >= v)
                .unwrap_or(10.0 * e)
        };
        let (mut a, b) = (down(lo), up(hi));
        if scale == Scale::LogCount {
            a = a.max(if lo >= 1.0 / 1.3 { 1.0 } else { a });
        }
        (a, b)
    } else if scale == Scale::Count {
        // Whole cases: half a step of room either side, so nudged points stay inside.
        let pad = ((hi - lo) * 0.08).max(0.5);
        (lo - pad, hi + pad)
    } else if (hi - lo).abs() < f64::EPSILON {
        (lo - 1.0, hi + 1.0)
    } else {
        let pad = (hi - lo) * 0.08;
        (
            (lo - pad).min(if lo >= 0.0 { 0.0 } else { lo - pad }),
            hi + pad,
        )
    }
}

/// Tick values for an axis over [lo, hi].
fn ticks(lo: f64, hi: f64, scale: Scale) -> Vec<f64> {
    if scale.is_log() {
        let mut out = Vec::new();
        let e = 10f64.powf(lo.log10().floor());
        for steps in [&[1.0, 2.0, 5.0][..], &[1.0, 3.0][..], &[1.0][..]] {
            out.clear();
            let mut d = e;
            while d <= hi * 1.000_001 {
                for m in steps {
                    let v = m * d;
                    if v >= lo * 0.999_999 && v <= hi * 1.000_001 {
                        out.push(v);
                    }
                }
                d *= 10.0;
            }
            if out.len() <= 12 {
                break;
            }
        }
        if scale == Scale::LogCount {
            out.retain(|v| (v - v.round()).abs() < 1e-9);
        }
        return out;
    }
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = span / 7.0;
    let mag = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    if scale.is_count() {
        step = step.max(1.0).round();
    }
    let first = (lo / step).ceil() * step;
    let mut out = Vec::new();
    let mut v = first;
    while v <= hi + step * 1e-9 && out.len() < 100 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

/// Sideways nudge of points series `j` of `m`, in x units, so that equal values stay visible.
fn nudge(j: usize, m: usize, scale: Scale, lo: f64, hi: f64) -> f64 {
    if m <= 1 || scale.is_log() {
        return 0.0;
    }
    let width = if scale == Scale::Count {
        0.5
    } else {
        (hi - lo) * 0.04
    };
    width * (j as f64 / (m - 1) as f64 - 0.5)
}

struct Plan {
    x: (f64, f64),
    y: (f64, f64),
    x_ticks: Vec<f64>,
    y_ticks: Vec<f64>,
    targets: Vec<Target>,
}

fn plan(chart: &Chart<'_>) -> Plan {
    let xs = values(&chart.series, |p| p.0, chart.x.is_log());
    let (x_lo, x_hi) = min_max(&xs).unwrap_or((1.0, 10.0));
    // Targets that apply to the data shown, and nothing else.
    let targets: Vec<Target> = chart
        .targets
        .iter()
        .filter(|t| match t.applies_at {
            None => true,
            Some(at) => at >= x_lo * (1.0 - 1e-9) && at <= x_hi * (1.0 + 1e-9),
        })
        .filter(|t| t.y.is_finite() && (!chart.y.is_log() || t.y > 0.0))
        .cloned()
        .collect();
    let mut ys = values(&chart.series, |p| p.1, chart.y.is_log());
    ys.extend(targets.iter().map(|t| t.y));
    let (y_lo, y_hi) = min_max(&ys).unwrap_or(if chart.y.is_log() {
        (1.0, 10.0)
    } else {
        (0.0, 1.0)
    });
    let x = range(x_lo, x_hi, chart.x);
    let y = range(y_lo, y_hi, chart.y);
    // A few measured counts (n = 3, 5, 10; 1 or 2 threads): tick exactly those.
    let mut distinct: Vec<f64> = xs.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    let x_ticks = if chart.x.is_count()
        && distinct.len() <= 10
        && distinct.iter().all(|v| v.fract() == 0.0)
    {
        distinct
    } else {
        ticks(x.0, x.1, chart.x)
    };
    Plan {
        x_ticks,
        y_ticks: ticks(y.0, y.1, chart.y),
        x,
        y,
        targets,
    }
}

type Backend<'b> = SVGBackend<'b>;

/// An axis (linear or log) whose ticks are the ones chosen here.
struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }
    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }
    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

fn ticked<A: AsRangedCoord<Value = f64>>(a: A, ticks: Vec<f64>) -> Ticked<A::CoordDescType> {
    Ticked {
        inner: A::CoordDescType::from(a),
        ticks,
    }
}

fn draw<X, Y>(
    area: &DrawingArea<Backend<'_>, Shift>,
    legend: &DrawingArea<Backend<'_>, Shift>,
    chart: &Chart<'_>,
    plan: &Plan,
    x: Ticked<X>,
    y: Ticked<Y>,
) -> std::result::Result<(), String>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let mut c = ChartBuilder::on(area)
        .margin(16)
        .x_label_area_size(52)
        .y_label_area_size(78)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())?;
    c.configure_mesh()
        .x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .x_labels(plan.x_ticks.len().max(2))
        .y_labels(plan.y_ticks.len().max(2))
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .light_line_style(WHITE.mix(0.0))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| e.to_string())?;
    let mut legend_rows: Vec<(String, RGBAColor, Mark, bool)> = Vec::new();
    let n_points = chart
        .series
        .iter()
        .filter(|s| s.mark == Mark::Points)
        .count();
    let mut j_points = 0;
    for (i, s) in chart.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let dx = if s.mark == Mark::Points {
            let d = nudge(j_points, n_points, chart.x, plan.x.0, plan.x.1);
            j_points += 1;
            d
        } else {
            0.0
        };
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(a, b)| {
                a.is_finite()
                    && b.is_finite()
                    && (!chart.y.is_log() || *b > 0.0)
                    && (!chart.x.is_log() || *a > 0.0)
            })
            .map(|(a, b)| (a + dx, b))
            .collect();
        if s.mark == Mark::Line {
            c.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(|e| e.to_string())?;
            c.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))
                .map_err(|e| e.to_string())?;
        } else {
            c.draw_series(pts.iter().map(|p| Circle::new(*p, 5, color.filled())))
                .map_err(|e| e.to_string())?;
        }
        legend_rows.push((s.name.clone(), color, s.mark, false));
    }
    for t in &plan.targets {
        let color = RGBAColor(120, 120, 120, 1.0);
        c.draw_series(DashedLineSeries::new(
            vec![(plan.x.0, t.y), (plan.x.1, t.y)],
            8,
            5,
            color.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
        legend_rows.push((t.name.clone(), color, Mark::Line, true));
    }
    // The legend, beside the data.
    let font = ("sans-serif", 13).into_font();
    for (r, (name, color, mark, dashed)) in legend_rows.iter().enumerate() {
        let y = 60 + 22 * r as i32;
        if *dashed {
            legend
                .draw(&PathElement::new(
                    vec![(8, y), (16, y)],
                    color.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?;
            legend
                .draw(&PathElement::new(
                    vec![(22, y), (30, y)],
                    color.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?;
        } else if *mark == Mark::Line {
            legend
                .draw(&PathElement::new(
                    vec![(8, y), (30, y)],
                    color.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?;
            legend
                .draw(&Circle::new((19, y), 3, color.filled()))
                .map_err(|e| e.to_string())?;
        } else {
            legend
                .draw(&Circle::new((19, y), 5, color.filled()))
                .map_err(|e| e.to_string())?;
        }
        legend
            .draw(&Text::new(name.clone(), (38, y - 7), font.clone()))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Draw `chart` as an SVG file at `path`.
pub fn line_chart(path: &Path, chart: &Chart<'_>) -> Result<()> {
    let plan = plan(chart);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    let res = (|| {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root
            .titled(chart.title, ("sans-serif", 19))
            .map_err(|e| e.to_string())?;
        let (area, legend) = root.split_horizontally(SIZE.0 - LEGEND_W);
        let (x0, x1) = plan.x;
        let (y0, y1) = plan.y;
        let xk = plan.x_ticks.clone();
        let yk = plan.y_ticks.clone();
        match (chart.x.is_log(), chart.y.is_log()) {
            (false, false) => draw(
                &area,
                &legend,
                chart,
                &plan,
                ticked(x0..x1, xk),
                ticked(y0..y1, yk),
            ),
            (false, true) => draw(
                &area,
                &legend,
                chart,
                &plan,
                ticked(x0..x1, xk),
                ticked((y0..y1).log_scale(), yk),
            ),
            (true, false) => draw(
                &area,
                &legend,
                chart,
                &plan,
                ticked((x0..x1).log_scale(), xk),
                ticked(y0..y1, yk),
            ),
            (true, true) => draw(
                &area,
                &legend,
                chart,
                &plan,
                ticked((x0..x1).log_scale(), xk),
                ticked((y0..y1).log_scale(), yk),
            ),
        }?;
        root.present().map_err(|e| e.to_string())
    })();
    drop(root);
    res.map_err(|why| Error::Plot {
        path: path.display().to_string(),
        why,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn svg(chart: &Chart<'_>) -> String {
        let dir = std::env::temp_dir().join(format!(
            "escrow-research-plot-{}-{}",
            std::process::id(),
            chart.title
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.svg");
        line_chart(&p, chart).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(s.starts_with("<svg") && s.contains("</svg>"));
        s
    }

    fn chart(x: Scale, y: Scale, series: Vec<Series>, targets: Vec<Target>) -> Chart<'static> {
        Chart {
            title: "t",
            x_label: "x",
            y_label: "y",
            x,
            y,
            series,
            targets,
        }
    }

    #[test]
    fn numbers_read_as_numbers() {
        assert_eq!(fmt_num(10_000.0), "10,000");
        assert_eq!(fmt_num(1_000.0), "1000");
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(12.5), "12.5");
        assert_eq!(fmt_num(0.00123), "0.00123");
        assert_eq!(fmt_num(-2.0), "-2");
    }

    #[test]
    fn count_axes_have_whole_ticks_only() {
        let t = ticks(-0.5, 2.5, Scale::Count);
        assert_eq!(t, vec![0.0, 1.0, 2.0]);
        let t = ticks(-0.5, 1000.0, Scale::Count);
        assert!(t.iter().all(|v| v.fract() == 0.0), "{t:?}");
        let t = ticks(1.0, 20_000.0, Scale::LogCount);
        assert!(t.iter().all(|v| v.fract() == 0.0), "{t:?}");
    }

    #[test]
    fn log_axes_have_ticks_inside_less_than_a_decade() {
        // Data from 0.02 to 0.09: no power of ten inside, 1-2-5 ticks are.
        let (lo, hi) = range(0.02, 0.09, Scale::Log);
        let t = ticks(lo, hi, Scale::Log);
        assert!(
            t.iter().filter(|v| **v >= 0.02 && **v <= 0.09).count() >= 2,
            "{t:?}"
        );
        // Over many decades the ticks thin out.
        let t = ticks(1.0, 1e9, Scale::Log);
        assert!(t.len() <= 12, "{t:?}");
    }

    #[test]
    fn a_target_is_drawn_only_where_it_applies() {
        let target = Target {
            name: "target: 10 s for 10,000".into(),
            y: 10.0,
            applies_at: Some(10_000.0),
        };
        let small = chart(
            Scale::LogCount,
            Scale::Log,
            vec![Series::line("t", vec![(5.0, 0.1), (20.0, 0.4)])],
            vec![target.clone()],
        );
        let p = plan(&small);
        assert!(p.targets.is_empty());
        assert!(p.x.1 < 100.0 && p.y.1 < 10.0, "{:?} {:?}", p.x, p.y);
        assert!(!svg(&small).contains("target: 10 s"));
        let big = chart(
            Scale::LogCount,
            Scale::Log,
            vec![Series::line("t", vec![(10.0, 0.1), (10_000.0, 8.0)])],
            vec![target],
        );
        assert_eq!(plan(&big).targets.len(), 1);
        assert!(svg(&big).contains("target: 10 s"));
    }

    #[test]
    fn points_series_draw_no_lines_and_the_legend_is_outside_the_data() {
        let c = chart(
            Scale::Count,
            Scale::Linear,
            vec![
                Series::points("a", vec![(0.0, 100.0), (1.0, 100.0), (2.0, 0.0)]),
                Series::points("b", vec![(0.0, 100.0), (1.0, 0.0), (2.0, 0.0)]),
            ],
            vec![],
        );
        let s = svg(&c);
        let mut as_lines = c.clone();
        for x in &mut as_lines.series {
            x.mark = Mark::Line;
        }
        let lines = svg(&as_lines);
        // The axes are polylines too: the line version has two more per series (the line
        // and its legend sample).
        assert_eq!(
            lines.matches("<polyline").count(),
            s.matches("<polyline").count() + 4,
            "points series drew a line"
        );
        // The legend entries are to the right of the plotting area.
        let legend_x = |name: &str| -> f64 {
            let chunk = s
                .split("<text ")
                .find(|t| t.contains(&format!(">\n{name}\n</text>")))
                .unwrap();
            let x = chunk.split("x=\"").nth(1).unwrap();
            x.split('"').next().unwrap().parse().unwrap()
        };
        for name in ["a", "b"] {
            assert!(legend_x(name) >= f64::from(SIZE.0 - LEGEND_W), "{name}");
        }
        // No tick label with a fraction on the count axis.
        assert!(!s.contains(">\n0.5\n<") && !s.contains(">\n1.0\n<"));
        assert!(s.contains(">\n1\n<") && s.contains(">\n2\n<"));
    }
}
