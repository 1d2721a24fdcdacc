//! `zkclaim bench --browser`: proving in Chromium with the SDK's WebAssembly build (what the
//! patient's page runs, single-threaded) against the native prover with 1 and 2 threads, on
//! the same parameters and witness, alternated in one run. Also what a patient's browser
//! downloads: the parameter files, the WebAssembly module and the page's own files.
//!
//! Chromium is driven by `browser.mjs` (puppeteer-core from npm, installed once under the
//! work folder), which serves the SDK (`sdk/js`, with its `pkg/` from `sdk/js/build.sh`) and
//! the parameter files to a blank page from 127.0.0.1, loads the prover there as the
//! patient's page does, and proves once per request.

use super::{machine, ms, npm_package, Stats};
use crate::error::Error;
use rand::{rngs::StdRng, SeedableRng};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use zkclaim_circuits::{claim::Shape, keys::KeyFile, sample, Circuit};
use zkclaim_prover::{prove, ClaimParams};

/// The puppeteer-core release the driver runs (the pages' tests use the same).
pub const PUPPETEER: &str = "puppeteer-core@24.43.1";

const DRIVER: &str = include_str!("browser.mjs");

pub struct Options {
    pub quick: bool,
    pub out: PathBuf,
    /// Where puppeteer-core, the parameters and the witness go.
    pub work: PathBuf,
    /// The checkout or release whose `sdk/js` and `web/` are measured.
    pub web_root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.into(),
        source,
    }
}

/// The files directly in `dir` (not below).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect()
}

/// A file's size, and its size gzipped at the fastest level (the node's).
fn sizes(file: &Path) -> Result<(u64, u64), Error> {
    use flate2::{write::GzEncoder, Compression};
    let bytes = std::fs::read(file).map_err(io(file))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&bytes).map_err(io(file))?;
    let gzipped = gz.finish().map_err(io(file))?;
    Ok((bytes.len() as u64, gzipped.len() as u64))
}

/// The driver: Chromium with the prover loaded, one proof per [`Driver::prove`].
struct Driver {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    load: Duration,
}

impl Driver {
    fn start(
        script: &Path,
        prefix: &Path,
        chromium: &str,
        sdk: &Path,
        params: &Path,
        witness: &Path,
    ) -> Result<Self, Error> {
        let mut child = Command::new("node")
            .arg(script)
            .args([prefix, Path::new(chromium), sdk, params, witness])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::Bench(format!("node (Node.js) is needed to drive Chromium: {e}"))
            })?;
        let stdout = child.stdout.take().expect("piped");
        let mut driver = Driver {
            child,
            lines: BufReader::new(stdout).lines(),
            load: Duration::ZERO,
        };
        driver.load = driver.answer("ready")?;
        Ok(driver)
    }

    /// The driver's next line, which must be `word MS`.
    fn answer(&mut self, word: &str) -> Result<Duration, Error> {
        let line = self
            .lines
            .next()
            .transpose()
            .ok()
            .flatten()
            .unwrap_or_default();
        line.strip_prefix(word)
            .and_then(|ms| ms.trim().parse::<f64>().ok())
            .map(|ms| Duration::from_secs_f64(ms / 1e3))
            .ok_or_else(|| Error::Bench(format!("the browser driver said {line:?}")))
    }

    fn prove(&mut self) -> Result<Duration, Error> {
        let stdin = self.child.stdin.as_mut().expect("piped");
        writeln!(stdin, "prove")
            .and_then(|()| stdin.flush())
            .map_err(|e| Error::Bench(format!("the browser driver stopped: {e}")))?;
        self.answer("proved")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Closing stdin ends the driver's loop; it closes Chromium.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

pub fn run(opts: &Options) -> Result<(), Error> {
    let sdk = std::fs::canonicalize(opts.web_root.join("sdk/js")).map_err(io(&opts.web_root))?;
    let wasm = sdk.join("pkg/zkclaim_wallet_bg.wasm");
    if !wasm.is_file() {
        return Err(Error::Bench(format!(
            "no WebAssembly build at {}: run sdk/js/build.sh",
            wasm.display()
        )));
    }
    let chromium = std::env::var("ZKCLAIM_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).is_file() {
        return Err(Error::Bench(format!(
            "no Chromium at {chromium} (Debian's `chromium`, or set ZKCLAIM_CHROMIUM)"
        )));
    }
    let work = &opts.work;
    std::fs::create_dir_all(work).map_err(io(work))?;
    let prefix = work.join("npm");
    npm_package(&prefix, PUPPETEER, "puppeteer-core/package.json")?;

    // Development parameters of the default shape (made once, kept in the work folder) and
    // one sample claim: the same for every contender.
    let shape = Shape::default();
    let params_dir = work.join("params");
    let params = match ClaimParams::load(&params_dir, Circuit::Primary) {
        Ok(params) if params.shape == shape => params,
        _ => {
            eprintln!("making development parameters in {}", params_dir.display());
            let _ = std::fs::remove_dir_all(&params_dir);
            let params = ClaimParams::setup(Circuit::Primary, shape, &mut StdRng::from_entropy())?;
            params.save(&params_dir)?;
            params
        }
    };
    let mut rng = StdRng::seed_from_u64(15);
    let witness = sample::claim(&mut rng, shape, 16);
    let witness_file = work.join("witness.json");
    // Each file as its JSON text, as the page hands them to the prover.
    let text = serde_json::json!({
        "key": json(&KeyFile::new(&witness.sk)),
        "invoice": json(&witness.invoice),
        "policy": json(&witness.policy),
        "path": json(&witness.path),
    });
    std::fs::write(&witness_file, text.to_string()).map_err(io(&witness_file))?;
    let script = work.join("browser.mjs");
    std::fs::write(&script, DRIVER).map_err(io(&script))?;

    let pools = [1, 2].map(|n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("a thread pool")
    });
    let native = |pool: &rayon::ThreadPool, rng: &mut StdRng| -> Result<Duration, Error> {
        let start = std::time::Instant::now();
        pool.install(|| prove(&params, witness.clone(), rng))?;
        Ok(start.elapsed())
    };
    let (warmups, runs) = if opts.quick { (1, 3) } else { (2, 9) };
    let mut driver = Driver::start(
        &script,
        &prefix,
        &chromium,
        &sdk,
        &std::fs::canonicalize(&params_dir).map_err(io(&params_dir))?,
        &witness_file,
    )?;
    let load_before = super::measure::load();
    let mut times: [Vec<Duration>; 3] = Default::default();
    for round in 0..warmups + runs {
        eprintln!("round {} of {}", round + 1, warmups + runs);
        let browser = driver.prove()?;
        let one = native(&pools[0], &mut rng)?;
        let two = native(&pools[1], &mut rng)?;
        if round >= warmups {
            for (t, d) in times.iter_mut().zip([browser, one, two]) {
                t.push(d);
            }
        }
    }
    let load_after = super::measure::load();
    let [browser, one, two] = times.map(Stats::of);

    let page: Vec<PathBuf> = ["web/app", "web/assets"]
        .iter()
        .flat_map(|d| files_in(&opts.web_root.join(d)))
        .collect();
    let glue: Vec<PathBuf> = [sdk.join("src"), sdk.join("pkg")]
        .iter()
        .flat_map(|d| files_in(d))
        .filter(|f| *f != wasm)
        .collect();
    let downloads = [
        ("proving key (claim.pk)", vec![params_dir.join("claim.pk")]),
        (
            "prover file (claim.prover)",
            vec![params_dir.join("claim.prover")],
        ),
        ("WebAssembly module", vec![wasm.clone()]),
        ("the patient's page (HTML, JS, CSS)", page),
        ("the SDK's JavaScript (with the wasm-bindgen glue)", glue),
        (
            "the console (HTML, JS)",
            files_in(&opts.web_root.join("web/console")),
        ),
        (
            "the explorer (HTML, JS)",
            files_in(&opts.web_root.join("web/explorer")),
        ),
    ]
    .map(|(name, files)| {
        let sizes = files
            .iter()
            .map(|f| sizes(f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, Error>((
            name,
            sizes.iter().map(|s| s.0).sum::<u64>(),
            sizes.iter().map(|s| s.1).sum::<u64>(),
        ))
    });
    let chrome = Command::new(&chromium)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let ratio = |s: &Stats| ms(s.median) / ms(two.median);
    let mut md = format!(
        "Machine: {}. {chrome}. Medians of {runs} rounds after {warmups} warm-up, the three \
         alternated in each round; spread min–max. One primary claim of the default shape \
         (8 items, depth 32), the same parameters and witness for all; the time of the proof \
         alone (parameters loaded: {:.0} ms in Chromium). One-minute load average before {} and \
         after {} (it counts this bench's own start-up and runs).\n\n\
         | prover | prove ms (min–max) | vs native, 2 threads |\n|---|---|---|\n",
        machine(),
        ms(driver.load),
        load_before.map_or("?".into(), |l| format!("{l:.2}")),
        load_after.map_or("?".into(), |l| format!("{l:.2}")),
    );
    let rows = [
        ("Chromium, WebAssembly, 1 thread", &browser),
        ("native, 1 thread", &one),
        ("native, 2 threads", &two),
    ];
    for (name, s) in rows {
        md += &format!("| {name} | {} | {:.2}x |\n", s.ms(0), ratio(s));
    }
    md +=
        "\n| what a browser downloads | bytes | gzipped, as the node serves it |\n|---|---|---|\n";
    for download in downloads {
        let (name, bytes, gzipped) = download?;
        md += &format!("| {name} | {bytes} | {gzipped} |\n");
    }
    print!("{md}");
    std::fs::create_dir_all(&opts.out).map_err(io(&opts.out))?;
    let path = opts.out.join("browser.md");
    std::fs::write(&path, &md).map_err(io(&path))?;
    super::csv_file(
        &opts.out.join("browser.csv"),
        &[
            "prover",
            "median_ms",
            "min_ms",
            "max_ms",
            "vs_native_2",
            "machine",
        ],
        rows.map(|(name, s)| {
            vec![
                name.to_string(),
                format!("{:.1}", ms(s.median)),
                format!("{:.1}", ms(s.min)),
                format!("{:.1}", ms(s.max)),
                format!("{:.2}", ratio(s)),
                machine(),
            ]
        }),
    )
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("the crates' types serialize")
}
