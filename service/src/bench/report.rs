//! The peers' report (`zkclaim bench --peers`): zkclaim's prove beside snarkjs's and
//! rapidsnark's, cold and warm, with ratios, in Markdown, CSV and an SVG plot; each says
//! whether the machine was busy, and which machine, commit and build it measured.

use super::{measure::Contention, measure::Usage, ms, Stats};
use crate::error::Error;
use plotters::prelude::*;
use std::path::Path;
use std::time::Duration;
use zkclaim_circuits::claim::Shape;

/// A whole process per proof, or one proof inside a process that keeps running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Cold,
    Warm,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Cold => "cold",
            Mode::Warm => "warm",
        })
    }
}

/// One prover's runs in one mode.
pub struct Measured {
    pub prover: &'static str,
    pub mode: Mode,
    pub runs: Vec<Usage>,
}

/// The figures one row reports.
struct Summary {
    wall: Stats,
    cpu: Stats,
    /// The median of the runs' peak memory.
    rss_kib: u64,
    /// The median share of the machine other processes took during a run.
    others: Option<f64>,
}

impl Measured {
    fn summary(&self, cores: usize) -> Summary {
        let mut rss: Vec<u64> = self.runs.iter().map(|u| u.max_rss_kib).collect();
        rss.sort();
        let mut others: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|u| u.others_share(cores))
            .collect();
        others.sort_by(f64::total_cmp);
        Summary {
            wall: Stats::of(self.runs.iter().map(|u| u.wall).collect()),
            cpu: Stats::of(self.runs.iter().map(|u| u.cpu).collect()),
            rss_kib: rss[rss.len() / 2],
            others: others.get(others.len() / 2).copied(),
        }
    }
}

/// Everything a peers' report says.
pub struct Report {
    pub shape: Shape,
    pub constraints: usize,
    pub domain_power: u32,
    pub runs: usize,
    pub warmup: usize,
    pub measured: Vec<Measured>,
    pub contention: Contention,
    /// Which machine (CPU, cores, memory), commit and build profile.
    pub hardware: String,
    pub commit: String,
    pub profile: &'static str,
    /// Lines said under the table: the peers found or not, what the preparation cost.
    pub notes: Vec<String>,
}

impl Report {
    fn summaries(&self) -> Vec<(&Measured, Summary)> {
        self.measured
            .iter()
            .map(|m| (m, m.summary(self.contention.cores)))
            .collect()
    }

    /// zkclaim's summary in `mode`, which the peers' ratios divide.
    fn zkclaim(&self, mode: Mode) -> Option<Summary> {
        self.measured
            .iter()
            .find(|m| m.prover == "zkclaim" && m.mode == mode)
            .map(|m| m.summary(self.contention.cores))
    }

    /// zkclaim's median over the peer's, of wall time, CPU time and peak memory; `None` for
    /// zkclaim's own rows.
    fn ratios(&self, m: &Measured, s: &Summary) -> Option<[f64; 3]> {
        let z = self
            .zkclaim(m.mode)
            .filter(|_| !m.prover.starts_with("zkclaim"))?;
        let r = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(f64::EPSILON);
        Some([
            r(z.wall.median, s.wall.median),
            r(z.cpu.median, s.cpu.median),
            z.rss_kib as f64 / s.rss_kib.max(1) as f64,
        ])
    }
}

/// The name of zkclaim's warm proofs with its proving key's fixed-base tables.
pub const TABLES: &str = "zkclaim (tables)";

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn pct(share: Option<f64>) -> String {
    share.map_or("?".into(), |s| format!("{:.0}%", s * 100.0))
}

pub fn markdown(r: &Report) -> String {
    let mut s = format!(
        "## zkclaim against its peers: the same proof, same proving key and witness\n\n\
         {}\n\n\
         Machine: {}; commit {}; {} build. Statement: the primary circuit of {} items, depth \
         {} ({} constraints, a domain of 2^{}); one proving key for all (a phase-2 ceremony's \
         key, imported into zkclaim) and one witness (`.wtns`). Medians of {} runs after {} \
         warm-up runs, spread min–max; the cold runs alternate between the provers.\n\n\
         | mode | prover | wall ms (min–max) | CPU ms (min–max) | CPU/wall | peak RSS MiB | \
         others' CPU | zkclaim/peer wall | zkclaim/peer CPU | zkclaim/peer RSS |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        r.contention.verdict(),
        r.hardware,
        r.commit,
        r.profile,
        r.shape.items,
        r.shape.depth,
        r.constraints,
        r.domain_power,
        r.runs,
        r.warmup,
    );
    for (m, sum) in r.summaries() {
        let ratios = r.ratios(m, &sum).map_or("– | – | –".into(), |[w, c, m]| {
            format!("{w:.2} | {c:.2} | {m:.2}")
        });
        s += &format!(
            "| {} | {} | {} | {} | {:.2} | {:.1} | {} | {ratios} |\n",
            m.mode,
            m.prover,
            sum.wall.ms(0),
            sum.cpu.ms(0),
            sum.cpu.median.as_secs_f64() / sum.wall.median.as_secs_f64().max(f64::EPSILON),
            mib(sum.rss_kib),
            pct(sum.others),
        );
    }
    s += "\n";
    // The warm goal's measure: a proof in a running process against a peer's whole process.
    if let Some(cold) = r
        .summaries()
        .into_iter()
        .find(|(m, _)| m.prover == "rapidsnark" && m.mode == Mode::Cold)
    {
        let warm: Vec<String> = r
            .summaries()
            .into_iter()
            .filter(|(m, _)| m.prover.starts_with("zkclaim") && m.mode == Mode::Warm)
            .map(|(m, sum)| {
                let ratio = sum.wall.median.as_secs_f64() / cold.1.wall.median.as_secs_f64();
                format!("{} {ratio:.2}x", m.prover)
            })
            .collect();
        s += &format!(
            "Warm zkclaim against rapidsnark's whole process (cold), wall medians: {}.\n\n",
            warm.join(", ")
        );
    }
    for note in &r.notes {
        s += &format!("- {note}\n");
    }
    s
}

pub fn write_csv(path: &Path, r: &Report) -> Result<(), Error> {
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
    super::csv_file(
        path,
        &[
            "mode",
            "prover",
            "items",
            "depth",
            "constraints",
            "runs",
            "wall_median_ms",
            "wall_min_ms",
            "wall_max_ms",
            "cpu_median_ms",
            "cpu_min_ms",
            "cpu_max_ms",
            "peak_rss_kib",
            "ratio_wall",
            "ratio_cpu",
            "ratio_rss",
            "others_cpu_share",
            "contended",
            "load_before",
            "load_after",
            "machine",
            "commit",
            "profile",
        ],
        r.summaries().into_iter().map(|(m, sum)| {
            let ratios = r.ratios(m, &sum);
            let ratio = |i: usize| opt(ratios.map(|r| r[i]));
            vec![
                m.mode.to_string(),
                m.prover.into(),
                r.shape.items.to_string(),
                r.shape.depth.to_string(),
                r.constraints.to_string(),
                m.runs.len().to_string(),
                format!("{:.3}", ms(sum.wall.median)),
                format!("{:.3}", ms(sum.wall.min)),
                format!("{:.3}", ms(sum.wall.max)),
                format!("{:.3}", ms(sum.cpu.median)),
                format!("{:.3}", ms(sum.cpu.min)),
                format!("{:.3}", ms(sum.cpu.max)),
                sum.rss_kib.to_string(),
                ratio(0),
                ratio(1),
                ratio(2),
                opt(sum.others),
                r.contention.contended().to_string(),
                opt(r.contention.load_before),
                opt(r.contention.load_after),
                r.hardware.clone(),
                r.commit.clone(),
                r.profile.into(),
            ]
        }),
    )
}

/// The colour of the spread's bars, which nothing else in the plot uses.
const SPREAD: RGBColor = RGBColor(0x40, 0x40, 0x40);

fn color(prover: &str) -> RGBColor {
    match prover {
        "zkclaim" => RGBColor(0x1f, 0x77, 0xb4),
        TABLES => RGBColor(0x17, 0xbe, 0xcf),
        "rapidsnark" => RGBColor(0x2c, 0xa0, 0x2c),
        _ => RGBColor(0xff, 0x7f, 0x0e),
    }
}

/// Each prover's median wall time a point, cold then warm, with its min–max as an error bar;
/// the machine, commit, build and contention written under the title.
pub fn plot(path: &Path, r: &Report) -> Result<(), Error> {
    let err = |e: String| Error::BadFile {
        path: path.into(),
        reason: e,
    };
    let rows = r.summaries();
    let labels: Vec<String> = rows
        .iter()
        .map(|(m, _)| format!("{} {}", m.mode, m.prover))
        .collect();
    let max_y = rows.iter().map(|(_, s)| ms(s.wall.max)).fold(1.0, f64::max) * 1.15;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let (top, chart_area) = root.split_vertically(90);
    let lines = [
        format!(
            "prove, wall time: median, min–max bars ({} runs); primary circuit, items {}, depth {}",
            r.runs, r.shape.items, r.shape.depth
        ),
        format!("{}; commit {}; {} build", r.hardware, r.commit, r.profile),
        match r.contention.contended() {
            true => format!(
                "CONTENDED: others took {} of the CPU in a typical run",
                pct(r.contention.others_median)
            ),
            false => format!(
                "no contention detected (others took {} of the CPU)",
                pct(r.contention.others_median)
            ),
        },
    ];
    for (i, line) in lines.iter().enumerate() {
        let size = if i == 0 { 18 } else { 14 };
        top.draw(&Text::new(
            line.clone(),
            (15, 10 + 25 * i as i32),
            ("sans-serif", size),
        ))
        .map_err(|e| err(e.to_string()))?;
    }
    let n = rows.len();
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..max_y)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.max(1))
        .x_label_formatter(&|x| {
            let i = x.round();
            match (i - x).abs() < 1e-6 && i >= 0.0 {
                true => labels.get(i as usize).cloned().unwrap_or_default(),
                false => String::new(),
            }
        })
        .y_desc("prove wall ms")
        .draw()
        .map_err(|e| err(e.to_string()))?;
    for (i, (m, s)) in rows.iter().enumerate() {
        let x = i as f64;
        chart
            .draw_series(std::iter::once(ErrorBar::new_vertical(
                x,
                ms(s.wall.min),
                ms(s.wall.median),
                ms(s.wall.max),
                SPREAD.stroke_width(2),
                12,
            )))
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(std::iter::once(Circle::new(
                (x, ms(s.wall.median)),
                6,
                color(m.prover).filled(),
            )))
            .map_err(|e| err(e.to_string()))?;
    }
    root.present().map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(wall_ms: &[u64], cpu_factor: u64, rss_kib: u64) -> Vec<Usage> {
        wall_ms
            .iter()
            .map(|&w| Usage {
                wall: Duration::from_millis(w),
                cpu: Duration::from_millis(w * cpu_factor),
                max_rss_kib: rss_kib,
                others: Some(Duration::from_millis(w / 10)),
            })
            .collect()
    }

    fn report() -> Report {
        let measured = |prover, mode, wall: &[u64], cpu, rss| Measured {
            prover,
            mode,
            runs: runs(wall, cpu, rss),
        };
        Report {
            shape: Shape {
                items: 8,
                depth: 32,
            },
            constraints: 12_345,
            domain_power: 14,
            runs: 3,
            warmup: 1,
            measured: vec![
                measured("zkclaim", Mode::Cold, &[290, 300, 330], 2, 102_400),
                measured("rapidsnark", Mode::Cold, &[140, 150, 170], 2, 20_480),
                measured("snarkjs", Mode::Cold, &[1100, 1200, 1500], 1, 409_600),
                measured("zkclaim", Mode::Warm, &[240, 250, 260], 2, 204_800),
                measured(TABLES, Mode::Warm, &[100, 120, 130], 2, 204_800),
                measured("snarkjs", Mode::Warm, &[900, 1000, 1100], 1, 307_200),
            ],
            contention: Contention::of(&runs(&[1000], 2, 1), 2, Some(0.5), Some(2.5)),
            hardware: "Test CPU, 2 cores, 8 GiB".into(),
            commit: "0123456789ab".into(),
            profile: "release",
            notes: vec!["rapidsnark: /usr/bin/rapidsnark (no warm mode)".into()],
        }
    }

    #[test]
    fn the_table_has_ratios_against_each_peer() {
        let md = markdown(&report());
        assert!(
            md.contains("| zkclaim/peer wall | zkclaim/peer CPU | zkclaim/peer RSS |"),
            "{md}"
        );
        // Cold: 300 / 150 ms wall, 600 / 300 ms CPU, 100 / 20 MiB; 300 / 1200 against snarkjs.
        assert!(
            md.contains("| cold | rapidsnark | 150 (140–170) | 300 (280–340) | 2.00 | 20.0 | 5% | 2.00 | 2.00 | 5.00 |"),
            "{md}"
        );
        assert!(
            md.contains("| cold | snarkjs | 1200 (1100–1500) |")
                && md.contains("| 0.25 | 0.50 | 0.25 |"),
            "{md}"
        );
        // Warm: 250 / 1000 ms; zkclaim's own rows have no ratio.
        assert!(md.contains("| warm | snarkjs | 1000 (900–1100) |"), "{md}");
        assert!(md.contains("| 0.25 | 0.50 | 0.67 |"), "{md}");
        assert!(md.contains("| cold | zkclaim | 300 (290–330) | 600 (580–660) | 2.00 | 100.0 | 5% | – | – | – |"), "{md}");
        assert!(md.contains("| warm | zkclaim (tables) | 120 (100–130) | 240 (200–260) | 2.00 | 200.0 | 5% | – | – | – |"), "{md}");
        // The warm goal's ratio: 250 and 120 ms against rapidsnark's cold 150.
        assert!(
            md.contains("against rapidsnark's whole process (cold), wall medians: zkclaim 1.67x, zkclaim (tables) 0.80x."),
            "{md}"
        );
        assert!(
            md.contains("No contention detected")
                && md.contains("commit 0123456789ab; release build"),
            "{md}"
        );
        assert!(
            md.contains("- rapidsnark: /usr/bin/rapidsnark (no warm mode)"),
            "{md}"
        );
    }

    #[test]
    fn the_csv_says_machine_commit_profile_and_contention() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("peers.csv");
        let mut r = report();
        write_csv(&path, &r).unwrap();
        let csv = std::fs::read_to_string(&path).unwrap();
        let mut lines = csv.lines();
        let header = lines.next().unwrap();
        assert!(
            header.ends_with(
                ",others_cpu_share,contended,load_before,load_after,machine,commit,profile"
            ),
            "{header}"
        );
        assert_eq!(lines.clone().count(), 6);
        let snarkjs = lines.nth(2).unwrap();
        assert!(
            snarkjs.starts_with("cold,snarkjs,8,32,12345,3,1200.000,1100.000,1500.000,1200.000,")
                && snarkjs.ends_with(",409600,0.250,0.500,0.250,0.050,false,0.500,2.500,\"Test CPU, 2 cores, 8 GiB\",0123456789ab,release"),
            "{snarkjs}"
        );
        // A contended run (others took 30% of the machine) is said to be so on every row.
        r.contention.others_median = Some(0.3);
        write_csv(&path, &r).unwrap();
        let csv = std::fs::read_to_string(&path).unwrap();
        assert_eq!(csv.matches(",true,0.500,").count(), 6, "{csv}");
    }

    #[test]
    fn the_plot_draws_each_spread_and_says_where_it_was_measured() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("peers.svg");
        plot(&path, &report()).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        // An error bar a row: its vertical line and two caps, in the spread's colour.
        let bar_lines = svg
            .matches("stroke=\"#404040\" stroke-width=\"2\" x1=")
            .count();
        assert_eq!(bar_lines, 18, "{svg}");
        // A dot a row, in its prover's colour.
        let dots = |fill: &str| svg.matches(&format!("fill=\"{fill}\"")).count();
        assert_eq!(
            [dots("#1F77B4"), dots("#2CA02C"), dots("#FF7F0E")],
            [2, 1, 2]
        );
        for text in [
            "cold snarkjs",
            "warm zkclaim",
            "commit 0123456789ab; release build",
            "Test CPU",
            "no contention detected",
        ] {
            assert!(svg.contains(text), "{text}: {svg}");
        }
    }
}
