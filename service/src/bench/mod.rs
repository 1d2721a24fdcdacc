//! `zkclaim bench`: the researchers' report. For both circuits (primary and continuation)
//! and a matrix of tree depths, items per invoice and thread counts it measures key
//! generation, proving (warm: in this process; cold, for the primary circuit: whole `zkclaim
//! prove` processes) and verification, and writes a Markdown table, a CSV file and an SVG
//! plot of prove time against constraint count. With `--peers`, zkclaim against snarkjs and
//! rapidsnark instead ([`peers`]).

pub mod browser;
pub mod measure;
pub mod peers;
mod report;

use crate::error::Error;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use rand::{rngs::StdRng, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};
use zkclaim_circuits::Circuit;
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    continuation::ContinuationWitness,
    sample,
};
use zkclaim_prover::{prove, prove_continuation, ClaimParams, ProveError};
use zkclaim_verifier::VerifyError;

pub struct Options {
    pub quick: bool,
    pub out: std::path::PathBuf,
}

struct Row {
    circuit: Circuit,
    shape: Shape,
    threads: usize,
    constraints: usize,
    setup: Duration,
    /// Whole `zkclaim prove` processes (primary circuit, all threads), or `None`.
    cold: Option<Stats>,
    /// One proof in this process.
    prove: Stats,
    verify: Stats,
    pk_bytes: usize,
    vk_bytes: usize,
}

/// Median and spread (min–max) of repeated runs.
#[derive(Clone)]
struct Stats {
    median: Duration,
    min: Duration,
    max: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        Stats {
            median: samples[samples.len() / 2],
            min: samples[0],
            max: samples[samples.len() - 1],
        }
    }

    /// `median (min–max)` in milliseconds, with `decimals` places: a report's cell.
    fn ms(&self, decimals: usize) -> String {
        let [median, min, max] = [self.median, self.min, self.max].map(ms);
        format!("{median:.decimals$} ({min:.decimals$}–{max:.decimals$})")
    }
}

/// The npm `package` (`name@version`) installed under `prefix` once: the path of its `file`
/// (relative to `node_modules`).
fn npm_package(prefix: &Path, package: &str, file: &str) -> Result<std::path::PathBuf, Error> {
    let path = prefix.join("node_modules").join(file);
    if !path.exists() {
        eprintln!("installing {package} into {}", prefix.display());
        let status = std::process::Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(prefix)
            .arg(package)
            // Its messages with the bench's own, off the report on stdout.
            .stdout(std::io::stderr())
            .status()
            .map_err(|e| {
                Error::Bench(format!("npm (Node.js) is needed to install {package}: {e}"))
            })?;
        if !status.success() || !path.exists() {
            return Err(Error::Bench(format!("npm install {package} failed")));
        }
    }
    Ok(path)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The witness proved for one circuit's rows: a sample claim, the continuation's of rank 1.
enum Sample {
    Primary(ClaimWitness),
    Continuation(ContinuationWitness),
}

impl Sample {
    fn new(circuit: Circuit, shape: Shape, rng: &mut StdRng) -> Self {
        match circuit {
            Circuit::Primary => Sample::Primary(sample::claim(rng, shape, 16)),
            Circuit::Continuation => Sample::Continuation(sample::continuation(rng, shape, 1, 16)),
        }
    }

    /// One proof under `params` (of the sample's circuit): how long proving and then
    /// verifying it took.
    fn time(&self, params: &ClaimParams, rng: &mut StdRng) -> Result<[Duration; 2], Error> {
        match self {
            Sample::Primary(w) => timed(
                || prove(params, w.clone(), rng),
                |p| p.verify(&params.prepared),
            ),
            Sample::Continuation(w) => timed(
                || prove_continuation(params, w.clone(), rng),
                |p| p.verify(&params.prepared),
            ),
        }
    }
}

fn timed<P>(
    prove: impl FnOnce() -> Result<P, ProveError>,
    verify: impl FnOnce(&P) -> Result<(), VerifyError>,
) -> Result<[Duration; 2], Error> {
    let start = Instant::now();
    let package = prove()?;
    let proved = start.elapsed();
    let start = Instant::now();
    verify(&package).map_err(Error::Rejected)?;
    Ok([proved, start.elapsed()])
}

pub fn run(opts: &Options) -> Result<(), Error> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (depths, items, proofs): (&[usize], &[usize], usize) = if opts.quick {
        (&[16, 32], &[4, 8, 16], 3)
    } else {
        (&[16, 20, 24, 32], &[4, 8, 16], 5)
    };
    let mut threads = vec![1, 2, all];
    threads.sort();
    threads.dedup();
    threads.retain(|t| *t <= all);
    let shapes: Vec<Shape> = depths
        .iter()
        .flat_map(|d| {
            items.iter().map(move |i| Shape {
                items: *i,
                depth: *d,
            })
        })
        .collect();

    let exe = std::env::current_exe().map_err(|e| Error::Bench(format!("own binary: {e}")))?;
    let cold_dir = opts.out.join("cold");
    let bar = ProgressBar::new((Circuit::ALL.len() * shapes.len() * threads.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} configurations, {elapsed} elapsed {msg}",
        )
        .expect("valid template"),
    );
    let mut rng = StdRng::seed_from_u64(2026);
    let mut rows = Vec::new();
    for (shape, circuit) in shapes
        .iter()
        .flat_map(|s| Circuit::ALL.map(move |c| (s, c)))
    {
        bar.set_message(format!(
            "({circuit}, items {}, depth {})",
            shape.items, shape.depth
        ));
        let start = Instant::now();
        let params = ClaimParams::setup(circuit, *shape, &mut rng)?;
        let setup = start.elapsed();
        let pk_bytes = params.proving_key.uncompressed_size();
        let vk_bytes = params.verifying_key.to_bytes().len();
        let witness = Sample::new(circuit, *shape, &mut rng);
        let cold = match circuit {
            Circuit::Primary => Some(cold_prove(&exe, &cold_dir, &params, proofs)?),
            Circuit::Continuation => None,
        };
        for &t in &threads {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .expect("thread pool");
            let (prove_times, verify_times) = pool.install(|| -> Result<_, Error> {
                let mut p = Vec::new();
                let mut v = Vec::new();
                for _ in 0..proofs {
                    let [proved, verified] = witness.time(&params, &mut rng)?;
                    p.push(proved);
                    v.push(verified);
                }
                Ok((p, v))
            })?;
            rows.push(Row {
                circuit,
                shape: *shape,
                threads: t,
                constraints: params.matrices.num_constraints(),
                setup,
                cold: cold.as_ref().filter(|_| t == all).cloned(),
                prove: Stats::of(prove_times),
                verify: Stats::of(verify_times),
                pk_bytes,
                vk_bytes,
            });
            bar.inc(1);
        }
    }
    bar.finish_and_clear();

    std::fs::create_dir_all(&opts.out).map_err(|source| Error::Io {
        path: opts.out.clone(),
        source,
    })?;
    let table = markdown(&rows, proofs);
    println!("{table}");
    write_csv(&opts.out.join("bench.csv"), &rows)?;
    plot(&opts.out.join("bench.svg"), &rows, &threads)?;
    println!(
        "\nWrote {0}/bench.csv and {0}/bench.svg",
        opts.out.display()
    );
    Ok(())
}

/// Whole `zkclaim prove` processes, as a user runs them, on `params` saved in `dir` (made
/// afresh, removed after) and a sample claim of their shape, after one warm-up: their wall
/// times.
fn cold_prove(exe: &Path, dir: &Path, params: &ClaimParams, proofs: usize) -> Result<Stats, Error> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|source| Error::Io {
            path: dir.into(),
            source,
        })?;
    }
    std::fs::create_dir_all(dir.join("data")).map_err(|source| Error::Io {
        path: dir.into(),
        source,
    })?;
    params.save(&dir.join("params"))?;
    peers::write_claim(dir, params.shape)?;
    let mut cmd = std::process::Command::new(exe);
    cmd.env("ZKCLAIM_DATA", dir.join("data"))
        .args(peers::PROVE)
        .arg("params")
        .current_dir(dir);
    let mut walls = Vec::new();
    for i in 0..=proofs {
        let usage = measure::child("zkclaim prove", &mut cmd, &dir.join("prove.log"))?;
        if i > 0 {
            walls.push(usage.wall);
        }
    }
    std::fs::remove_dir_all(dir).map_err(|source| Error::Io {
        path: dir.into(),
        source,
    })?;
    Ok(Stats::of(walls))
}

/// The commit this binary was built from (`build.rs`: `git rev-parse` at build time,
/// "unknown" outside a git checkout).
pub const COMMIT: &str = env!("ZKCLAIM_COMMIT");

/// The build profile: "debug" or "release".
pub fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// CPU, cores and memory: which machine a report's figures come from.
pub fn hardware() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or("?".into(), |kb| format!("{:.0}", kb / 1024.0 / 1024.0));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores, {mem_gib} GiB")
}

/// [`hardware`], commit and build profile.
pub fn machine() -> String {
    format!("{}, commit {COMMIT}, {} build", hardware(), profile())
}

fn markdown(rows: &[Row], proofs: usize) -> String {
    let mut s = format!(
        "Machine: {}. Medians of {proofs} runs, spread min–max.\n\n\
         Cold: a whole `zkclaim prove` process (primary circuit, all threads: parameters \
         read from disk, witness built); warm: one proof in this process.\n\n\
         | circuit | items | depth | constraints | threads | setup ms | cold prove ms (min–max) | warm prove ms (min–max) | verify ms (min–max) | proof B | pk MB | vk B |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        machine()
    );
    for r in rows {
        s += &format!(
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | 128 | {:.1} | {} |\n",
            r.circuit,
            r.shape.items,
            r.shape.depth,
            r.constraints,
            r.threads,
            ms(r.setup),
            r.cold.as_ref().map_or("–".into(), |c| c.ms(0)),
            r.prove.ms(0),
            r.verify.ms(2),
            r.pk_bytes as f64 / 1e6,
            r.vk_bytes
        );
    }
    s
}

fn write_csv(path: &Path, rows: &[Row]) -> Result<(), Error> {
    csv_file(
        path,
        &[
            "circuit",
            "items",
            "depth",
            "constraints",
            "threads",
            "setup_ms",
            "cold_prove_median_ms",
            "cold_prove_min_ms",
            "cold_prove_max_ms",
            "prove_median_ms",
            "prove_min_ms",
            "prove_max_ms",
            "verify_median_ms",
            "verify_min_ms",
            "verify_max_ms",
            "proof_bytes",
            "pk_bytes",
            "vk_bytes",
        ],
        rows.iter().map(|r| {
            let cold = |f: fn(&Stats) -> Duration| {
                r.cold
                    .as_ref()
                    .map_or(String::new(), |c| format!("{:.3}", ms(f(c))))
            };
            vec![
                r.circuit.to_string(),
                r.shape.items.to_string(),
                r.shape.depth.to_string(),
                r.constraints.to_string(),
                r.threads.to_string(),
                format!("{:.3}", ms(r.setup)),
                cold(|c| c.median),
                cold(|c| c.min),
                cold(|c| c.max),
                format!("{:.3}", ms(r.prove.median)),
                format!("{:.3}", ms(r.prove.min)),
                format!("{:.3}", ms(r.prove.max)),
                format!("{:.4}", ms(r.verify.median)),
                format!("{:.4}", ms(r.verify.min)),
                format!("{:.4}", ms(r.verify.max)),
                "128".into(),
                r.pk_bytes.to_string(),
                r.vk_bytes.to_string(),
            ]
        }),
    )
}

/// Writes the CSV file `path`: `header`, then `rows`.
pub(crate) fn csv_file(
    path: &Path,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<(), Error> {
    let err = |e: csv::Error| Error::BadFile {
        path: path.into(),
        reason: e.to_string(),
    };
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    w.write_record(header).map_err(err)?;
    for row in rows {
        w.write_record(row).map_err(err)?;
    }
    w.flush().map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

fn plot(path: &Path, rows: &[Row], threads: &[usize]) -> Result<(), Error> {
    let err = |e: String| Error::BadFile {
        path: path.into(),
        reason: e,
    };
    let max_x = rows.iter().map(|r| r.constraints).max().unwrap_or(1) as f64 * 1.1;
    let max_y = rows.iter().map(|r| ms(r.prove.median)).fold(1.0, f64::max) * 1.1;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "zkclaim prove time vs constraint count (median)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_x, 0.0..max_y)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("constraints")
        .y_desc("prove ms")
        .draw()
        .map_err(|e| err(e.to_string()))?;
    // A colour a thread count; a line a circuit and thread count, the continuation's dashed.
    for (i, t) in threads.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        for circuit in Circuit::ALL {
            let mut points: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.threads == *t && r.circuit == circuit)
                .map(|r| (r.constraints as f64, ms(r.prove.median)))
                .collect();
            if points.is_empty() {
                continue;
            }
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))
                .map_err(|e| err(e.to_string()))?
                .label(format!("{circuit}, {t} thread(s)"))
                .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
            match circuit {
                Circuit::Primary => chart.draw_series(LineSeries::new(points, color)),
                Circuit::Continuation => {
                    chart.draw_series(DashedLineSeries::new(points, 6, 4, color.into()))
                }
            }
            .map_err(|e| err(e.to_string()))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(circuit: Circuit, depth: usize, threads: usize, prove_ms: u64) -> Row {
        let d = |ms: u64| Duration::from_millis(ms);
        Row {
            circuit,
            shape: Shape { items: 8, depth },
            threads,
            constraints: 1000 * depth,
            setup: d(700),
            cold: (threads == 2 && circuit == Circuit::Primary).then(|| {
                Stats::of(vec![
                    d(prove_ms + 200),
                    d(prove_ms + 250),
                    d(prove_ms + 240),
                ])
            }),
            prove: Stats::of(vec![d(prove_ms + 5), d(prove_ms), d(prove_ms - 5)]),
            verify: Stats::of(vec![d(2), d(1), d(3)]),
            pk_bytes: 4_500_000,
            vk_bytes: 424,
        }
    }

    #[test]
    fn stats_take_the_median_and_spread() {
        let s = Stats::of([9, 1, 5, 3, 7].map(Duration::from_millis).to_vec());
        assert_eq!(
            (s.median, s.min, s.max),
            (
                Duration::from_millis(5),
                Duration::from_millis(1),
                Duration::from_millis(9)
            )
        );
    }

    #[test]
    fn writes_table_csv_and_plot() {
        let (p, c) = (Circuit::Primary, Circuit::Continuation);
        let rows = vec![
            row(p, 16, 1, 300),
            row(p, 32, 1, 500),
            row(p, 16, 2, 170),
            row(p, 32, 2, 280),
            row(c, 32, 2, 700),
        ];
        let table = markdown(&rows, 3);
        assert!(
            table.contains(
                "| primary | 8 | 32 | 32000 | 2 | 700 | 520 (480–530) | 280 (275–285) | 2.00 (1.00–3.00) | 128 | 4.5 | 424 |"
            ) && table.contains("| continuation | 8 | 32 | 32000 | 2 | 700 | – | 700 (695–705) |")
                && table.contains("| primary | 8 | 32 | 32000 | 1 | 700 | – | 500 (495–505) |"),
            "{table}"
        );
        let dir = std::env::temp_dir().join(format!("zkclaim-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_csv(&dir.join("b.csv"), &rows).unwrap();
        let csv = std::fs::read_to_string(dir.join("b.csv")).unwrap();
        assert_eq!(csv.lines().count(), 6);
        assert!(csv.starts_with("circuit,items,"), "{csv}");
        assert!(csv
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("primary,8,32,32000,1,700.000,,,,500.000,495.000,505.000,"));
        assert!(csv
            .lines()
            .nth(4)
            .unwrap()
            .starts_with("primary,8,32,32000,2,700.000,520.000,480.000,530.000,280.000,"));
        assert!(csv
            .lines()
            .nth(5)
            .unwrap()
            .starts_with("continuation,8,32,"));
        plot(&dir.join("b.svg"), &rows, &[1, 2]).unwrap();
        let svg = std::fs::read_to_string(dir.join("b.svg")).unwrap();
        assert!(
            svg.contains("<svg")
                && svg.contains("primary, 2 thread(s)")
                && svg.contains("continuation, 2 thread(s)")
                && !svg.contains("continuation, 1 thread(s)")
                && svg.matches("<circle").count() >= 5,
            "{svg}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
