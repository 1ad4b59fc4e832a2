//! The plot: time to all Ready (operator and baseline) and peak RSS against N.

use std::path::Path;

use plotters::prelude::*;

use crate::{Result, error::BenchError, process::mib, report::Report};

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

fn register_font() -> Result<()> {
    let bytes = FONT_PATHS
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .ok_or_else(|| {
            BenchError::Failed(
                "no DejaVu Sans font for the plot's labels (apt-get install fonts-dejavu-core)"
                    .into(),
            )
        })?;
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| BenchError::Failed("the font could not be loaded".into()))
}

fn failed<E: std::fmt::Debug>(error: E) -> BenchError {
    BenchError::Failed(format!("drawing the plot: {error:?}"))
}

pub fn draw(report: &Report, path: &Path) -> Result<()> {
    if report.scale.is_empty() {
        return Ok(());
    }
    register_font()?;
    let root = BitMapBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(failed)?;
    let (left, right) = root.split_horizontally(600);
    let max_n = report.scale.iter().map(|r| r.n).max().unwrap_or(1) as f64;
    let max_time = report
        .scale
        .iter()
        .map(|r| r.operator_time.max(r.baseline_time).as_secs_f64())
        .fold(1.0, f64::max);
    let mut time = ChartBuilder::on(&left)
        .caption(
            "Time until all BitbucketTokens are Ready",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_n * 1.05, 0.0..max_time * 1.15)
        .map_err(failed)?;
    time.configure_mesh()
        .x_desc("BitbucketTokens (N)")
        .y_desc("seconds")
        .draw()
        .map_err(failed)?;
    let series = |f: fn(&crate::report::ScaleRun) -> f64| -> Vec<(f64, f64)> {
        report.scale.iter().map(|r| (r.n as f64, f(r))).collect()
    };
    let operator = series(|r| r.operator_time.as_secs_f64());
    let baseline = series(|r| r.baseline_time.as_secs_f64());
    time.draw_series(LineSeries::new(operator.clone(), BLUE.stroke_width(2)))
        .map_err(failed)?
        .label("operator")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    time.draw_series(operator.iter().map(|p| Circle::new(*p, 4, BLUE.filled())))
        .map_err(failed)?;
    time.draw_series(LineSeries::new(baseline.clone(), BLACK.stroke_width(2)))
        .map_err(failed)?
        .label("baseline (writes only)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    time.draw_series(baseline.iter().map(|p| Circle::new(*p, 4, BLACK.filled())))
        .map_err(failed)?;
    time.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(failed)?;

    let memory = series(|r| mib(r.peak_rss));
    let max_mem = memory.iter().map(|p| p.1).fold(100.0, f64::max);
    let mut mem = ChartBuilder::on(&right)
        .caption("Operator peak RSS", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_n * 1.05, 0.0..max_mem * 1.15)
        .map_err(failed)?;
    mem.configure_mesh()
        .x_desc("BitbucketTokens (N)")
        .y_desc("MiB")
        .draw()
        .map_err(failed)?;
    mem.draw_series(LineSeries::new(memory.clone(), RED.stroke_width(2)))
        .map_err(failed)?
        .label("peak RSS")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    mem.draw_series(memory.iter().map(|p| Circle::new(*p, 4, RED.filled())))
        .map_err(failed)?;
    mem.draw_series(LineSeries::new(
        vec![(0.0, 100.0), (max_n * 1.05, 100.0)],
        RED.mix(0.4),
    ))
    .map_err(failed)?
    .label("target 100 MiB")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.mix(0.4)));
    mem.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(failed)?;
    root.present().map_err(failed)?;
    Ok(())
}
