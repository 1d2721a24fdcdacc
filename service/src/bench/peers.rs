//! `zkclaim bench --peers`: zkclaim's prove against snarkjs's and, when a `rapidsnark` binary
//! is on PATH, rapidsnark's, on the same statement with the same proving key and witness.
//!
//! Preparation, in a work folder the bench owns: snarkjs from npm (cached there); a phase-1
//! file of the power the circuit needs (snarkjs `powersoftau new`, one `contribute` and
//! `prepare phase2`: minutes, so cached there too, or `--ptau`); then, each run afresh,
//! through zkclaim's own command line (so that the bench follows its formats): the circuit
//! (`export r1cs`), the ceremony's key (`ceremony new`, one `contribute`), zkclaim's
//! parameters from it (`ceremony import`), and a claim proved once (`prove --tree … --wtns`)
//! for the witness the peers read.

use super::measure::{self, Contention, Usage};
use super::report::{self, Measured, Mode, Report, TABLES};
use crate::commands::{prove::tree_witness, setup::load_or_setup};
use crate::{consortium::DataDir, error::Error, files};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::OsRng;
use rand::RngCore;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use zkclaim_circuits::{
    claim::Shape,
    keys::{KeyFile, SecretKey},
    sample,
    tree::TreeFile,
};

/// The snarkjs release measured (the one the tests check interoperability with).
pub const SNARKJS: &str = "snarkjs@0.7.6";

pub struct Options {
    pub quick: bool,
    pub out: PathBuf,
    /// Where snarkjs, phase-1 files and each run's keys and proofs go.
    pub work: PathBuf,
    pub shape: Shape,
    /// A phase-1 file to use instead of making one.
    pub ptau: Option<PathBuf>,
}

/// The work folder's files for one run.
struct Run {
    dir: PathBuf,
    exe: PathBuf,
}

impl Run {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `zkclaim ARGS…` as a child, with DATA inside the work folder (a user's genesis
    /// there would pin other parameters), measured.
    fn zkclaim(&self, what: &str, args: &[&str]) -> Result<Usage, Error> {
        let mut cmd = Command::new(&self.exe);
        cmd.env("ZKCLAIM_DATA", self.path("data"))
            .args(args)
            .current_dir(&self.dir);
        measure::child(what, &mut cmd, &self.path(&format!("logs/{what}.log")))
    }
}

/// `program` found on PATH.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.into(),
        source,
    }
}

/// The circuit's constraints and the power of its evaluation domain, from circom's `.r1cs`
/// header (section 1: n8, the prime, wires, public outputs, public inputs, private inputs,
/// labels, constraints). The domain is snarkjs's: constraints plus public inputs plus one,
/// to the next power of two.
fn r1cs_dimensions(bytes: &[u8]) -> Option<(usize, u32)> {
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    if bytes.get(..4)? != b"r1cs" {
        return None;
    }
    let mut at = 12;
    loop {
        let kind = u32_at(at)?;
        let size = u64::from_le_bytes(bytes.get(at + 4..at + 12)?.try_into().ok()?) as usize;
        if kind == 1 {
            let h = at + 12;
            let n8 = u32_at(h)? as usize;
            let counts = h + 4 + n8;
            let (outputs, inputs) = (u32_at(counts + 4)?, u32_at(counts + 8)?);
            let constraints = u32_at(counts + 24)? as usize;
            let domain = (constraints + (outputs + inputs) as usize + 1).next_power_of_two();
            return Some((constraints, domain.trailing_zeros()));
        }
        at += 12 + size;
    }
}

/// The phase-1 power a circuit of a domain of 2^`power` needs: snarkjs's circuit hash reads
/// the H points in chunks of 2^14, one chunk past a file of the domain's power when the
/// domain is larger (`zkclaim_prover::ceremony::init`).
fn ptau_power(power: u32) -> u32 {
    if power > 14 {
        power + 1
    } else {
        power
    }
}

/// A phase-1 file of `power`, prepared for phase 2, under `dir`: made once with snarkjs (a
/// random contribution: with none, tau is 1 and the keys' points degenerate to a few
/// distinct ones), then reused. Its path, and how long making it took now.
fn phase1(dir: &Path, power: u32, snarkjs: &Command) -> Result<(PathBuf, Option<Duration>), Error> {
    let name = format!("pot{power}.ptau");
    let path = dir.join(&name);
    if path.exists() {
        return Ok((path, None));
    }
    eprintln!(
        "making a phase-1 file of 2^{power} with snarkjs (once; kept as {})",
        path.display()
    );
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let work = dir.join(format!("making-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(io(&work))?;
    let mut entropy = [0u8; 32];
    OsRng.fill_bytes(&mut entropy);
    let start = Instant::now();
    let power_arg = power.to_string();
    let entropy = format!("-e={}", hex::encode(entropy));
    for (what, args) in [
        (
            "powersoftau new",
            vec!["new", "bn128", &power_arg, "0.ptau"],
        ),
        (
            "powersoftau contribute",
            vec!["contribute", "0.ptau", "1.ptau", &entropy, "--name=bench"],
        ),
        (
            "powersoftau prepare phase2",
            vec!["prepare", "phase2", "1.ptau", &name],
        ),
    ] {
        let mut cmd = clone_command(snarkjs);
        cmd.arg("powersoftau").args(args).current_dir(&work);
        measure::child(what, &mut cmd, &work.join("log"))?;
    }
    let took = start.elapsed();
    // Renamed into place whole: a concurrent run never reads half a file.
    std::fs::rename(work.join(&name), &path).map_err(io(&path))?;
    std::fs::remove_dir_all(&work).map_err(io(&work))?;
    Ok((path, Some(took)))
}

fn clone_command(cmd: &Command) -> Command {
    let mut c = Command::new(cmd.get_program());
    c.args(cmd.get_args());
    c
}

/// A claim for `shape` as `zkclaim prove --tree` reads it, in `dir`'s invoice.json, key.json,
/// policy.json and tree.json: a sample invoice among up to 16 others'
/// in a tree, the patient's key and a typical policy.
pub(super) fn write_claim(dir: &Path, shape: Shape) -> Result<(), Error> {
    let rng = &mut OsRng;
    let sk = SecretKey::random(rng);
    let invoice = sample::invoice(rng, sk.public_key(), sample::PERIOD.0 + 300, shape.items);
    // Up to 16 others, as many as the tree holds beside ours.
    let others = ((1usize << shape.depth.min(5)) - 1).min(16);
    let mut leaves = (0..others)
        .map(|_| {
            let other = SecretKey::random(rng).public_key();
            sample::invoice(rng, other, sample::PERIOD.0 + 100, shape.items).commitment(shape.items)
        })
        .collect::<Result<Vec<_>, _>>()?;
    leaves.insert(others / 2, invoice.commitment(shape.items)?);
    files::write(Some(&dir.join("invoice.json")), &invoice)?;
    files::write_secret(&dir.join("key.json"), &KeyFile::new(&sk))?;
    files::write(Some(&dir.join("policy.json")), &sample::policy(rng, 2))?;
    files::write(Some(&dir.join("tree.json")), &TreeFile { leaves })
}

/// `zkclaim prove` of [`write_claim`]'s claim, run in its folder, as a user runs it: the
/// tree given, and the parameters on disk (`--params`, which follows).
pub(super) const PROVE: [&str; 12] = [
    "prove",
    "--tree",
    "tree.json",
    "--invoice",
    "invoice.json",
    "--key",
    "key.json",
    "--policy",
    "policy.json",
    "--out",
    "proof.json",
    "--params",
];

/// The warm snarkjs run: one node process proving the same key and witness again and again
/// (held in memory), each proof's wall and CPU time and `/proc/stat` around it as JSON.
const WARM_SNARKJS: &str = r#"// zkclaim bench --peers: warm snarkjs proofs.
const fs = require("fs");
const [prefix, zkeyPath, wtnsPath, warmup, runs] = process.argv.slice(2);
const snarkjs = require(require.resolve("snarkjs", { paths: [prefix] }));
const stat = () => { try { return fs.readFileSync("/proc/stat", "utf8").split("\n")[0] + "\n"; } catch { return null; } };
(async () => {
  const zkey = { type: "mem", data: fs.readFileSync(zkeyPath) };
  const wtns = { type: "mem", data: fs.readFileSync(wtnsPath) };
  const out = [];
  for (let i = 0; i < Number(warmup) + Number(runs); i++) {
    const before = stat(), cpu0 = process.cpuUsage(), t0 = process.hrtime.bigint();
    await snarkjs.groth16.prove(zkey, wtns);
    const wall_ns = Number(process.hrtime.bigint() - t0), cpu = process.cpuUsage(cpu0), after = stat();
    if (i >= Number(warmup)) out.push({ wall_ns, cpu_us: cpu.user + cpu.system, before, after });
  }
  console.log(JSON.stringify({ runs: out, max_rss_kib: process.resourceUsage().maxRSS }));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
"#;

#[derive(serde::Deserialize)]
struct WarmRuns {
    runs: Vec<WarmRun>,
    max_rss_kib: u64,
}

#[derive(serde::Deserialize)]
struct WarmRun {
    wall_ns: u64,
    cpu_us: u64,
    before: Option<String>,
    after: Option<String>,
}

pub fn run(opts: &Options) -> Result<(), Error> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (runs, warmup) = if opts.quick { (3, 1) } else { (9, 2) };
    let shape = opts.shape;
    let work = &opts.work;
    std::fs::create_dir_all(work).map_err(io(work))?;
    let node = on_path("node")
        .ok_or_else(|| Error::Bench("node (Node.js) is not on PATH: snarkjs needs it".into()))?;
    let cli = super::npm_package(&work.join("npm"), SNARKJS, "snarkjs/build/cli.cjs")?;
    let mut snarkjs = Command::new(&node);
    snarkjs.arg(&cli);
    let rapidsnark = on_path("rapidsnark");
    let run = Run {
        dir: work.join(format!("items{}-depth{}", shape.items, shape.depth)),
        exe: std::env::current_exe().map_err(|e| Error::Bench(format!("own binary: {e}")))?,
    };
    // Afresh each run: the keys and parameters follow this zkclaim's formats.
    if run.dir.exists() {
        std::fs::remove_dir_all(&run.dir).map_err(io(&run.dir))?;
    }
    std::fs::create_dir_all(run.path("logs")).map_err(io(&run.dir))?;
    let sa = [
        "--items".to_owned(),
        shape.items.to_string(),
        "--depth".to_owned(),
        shape.depth.to_string(),
    ];
    let sa: Vec<&str> = sa.iter().map(String::as_str).collect();

    eprintln!("preparing in {}", run.dir.display());
    let prep = Instant::now();
    run.zkclaim(
        "export r1cs",
        &[&["export", "r1cs", "--out", "claim.r1cs"], &sa[..]].concat(),
    )?;
    let r1cs = run.path("claim.r1cs");
    let bytes = std::fs::read(&r1cs).map_err(io(&r1cs))?;
    let (constraints, domain_power) = r1cs_dimensions(&bytes).ok_or_else(|| Error::BadFile {
        path: r1cs.clone(),
        reason: "not a circom .r1cs with a header".into(),
    })?;
    let (ptau, made) = match &opts.ptau {
        Some(p) => (p.clone(), None),
        None => phase1(&work.join("ptau"), ptau_power(domain_power), &snarkjs)?,
    };
    let ptau_arg = std::path::absolute(&ptau).map_err(io(&ptau))?;
    let ptau_arg = ptau_arg.to_string_lossy();
    let keyed = Instant::now();
    run.zkclaim(
        "ceremony new",
        &[
            &[
                "ceremony",
                "new",
                "--ptau",
                &ptau_arg,
                "--out",
                "claim_0000.zkey",
            ],
            &sa[..],
        ]
        .concat(),
    )?;
    run.zkclaim(
        "ceremony contribute",
        &[
            "ceremony",
            "contribute",
            "claim_0000.zkey",
            "claim.zkey",
            "--name",
            "bench",
        ],
    )?;
    run.zkclaim(
        "ceremony import",
        &[
            &["ceremony", "import", "claim.zkey", "--params", "params"],
            &sa[..],
        ]
        .concat(),
    )?;
    let keyed = keyed.elapsed();
    write_claim(&run.dir, shape)?;
    let prove = [&PROVE[..], &["params"]].concat();
    run.zkclaim(
        "prove --wtns",
        &[&prove[..], &["--wtns", "claim.wtns"]].concat(),
    )?;
    let warm_js = run.path("warm-snarkjs.cjs");
    std::fs::write(&warm_js, WARM_SNARKJS).map_err(io(&warm_js))?;
    let prep = prep.elapsed();

    let load_before = measure::load();
    // Cold: whole processes, alternated round by round, the first rounds not counted.
    let mut provers: Vec<(&'static str, Command)> = vec![("zkclaim", {
        let mut c = Command::new(&run.exe);
        c.env("ZKCLAIM_DATA", run.path("data"))
            .args(&prove)
            .current_dir(&run.dir);
        c
    })];
    if let Some(bin) = &rapidsnark {
        let mut c = Command::new(bin);
        c.args([
            "claim.zkey",
            "claim.wtns",
            "rapidsnark-proof.json",
            "rapidsnark-public.json",
        ])
        .current_dir(&run.dir);
        provers.push(("rapidsnark", c));
    }
    let mut c = clone_command(&snarkjs);
    c.args([
        "groth16",
        "prove",
        "claim.zkey",
        "claim.wtns",
        "snarkjs-proof.json",
        "snarkjs-public.json",
    ])
    .current_dir(&run.dir);
    provers.push(("snarkjs", c));
    let bar = ProgressBar::new(((warmup + runs) * provers.len() + warmup + runs) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} proofs, {elapsed} elapsed {msg}")
            .expect("valid template"),
    );
    let mut cold: Vec<Vec<Usage>> = vec![Vec::new(); provers.len()];
    for round in 0..warmup + runs {
        for (i, (name, cmd)) in provers.iter_mut().enumerate() {
            bar.set_message(format!("(cold {name})"));
            let usage = measure::child(name, cmd, &run.path(&format!("logs/cold-{name}.log")))?;
            if round >= warmup {
                cold[i].push(usage);
            }
            bar.inc(1);
        }
    }
    if rapidsnark.is_some() {
        same_public_inputs(&run)?;
    }

    // Warm zkclaim: in this process, the witness built from the same files each time; its
    // parameters without and with the fixed-base tables of a process that proves again and
    // again, alternated.
    bar.set_message("(warm zkclaim)");
    let params = load_or_setup(&DataDir(run.path("data")), &run.path("params"))?;
    let mut tabled = params.clone();
    let started = Instant::now();
    let table_bytes = tabled.proving_key.precompute_tables();
    let table_time = started.elapsed();
    let inputs = ["invoice.json", "key.json", "policy.json", "tree.json"].map(|f| run.path(f));
    let (mut warm_zkclaim, mut warm_tables) = (Vec::new(), Vec::new());
    for i in 0..warmup + runs {
        for (params, usages) in [(&params, &mut warm_zkclaim), (&tabled, &mut warm_tables)] {
            let ((), usage) = measure::inline(|| {
                let witness = tree_witness(params.shape, inputs.each_ref().map(PathBuf::as_path))?;
                zkclaim_prover::prove(params, witness, &mut OsRng)?;
                Ok(())
            })?;
            if i >= warmup {
                usages.push(usage);
            }
        }
        bar.inc(1);
    }
    drop((params, tabled));

    // Warm snarkjs: one node process.
    bar.set_message("(warm snarkjs)");
    let mut cmd = Command::new(&node);
    cmd.arg(&warm_js)
        .arg(work.join("npm"))
        .args([
            "claim.zkey",
            "claim.wtns",
            &warmup.to_string(),
            &runs.to_string(),
        ])
        .current_dir(&run.dir);
    let log = run.path("logs/warm-snarkjs.log");
    measure::child("warm snarkjs", &mut cmd, &log)?;
    let warm_snarkjs = warm_runs(&log)?;
    bar.inc((warmup + runs) as u64);
    bar.finish_and_clear();
    let load_after = measure::load();

    let all: Vec<Usage> = cold
        .iter()
        .flatten()
        .chain(&warm_zkclaim)
        .chain(&warm_tables)
        .chain(&warm_snarkjs)
        .copied()
        .collect();
    let mut measured: Vec<Measured> = provers
        .iter()
        .zip(cold)
        .map(|((prover, _), runs)| Measured {
            prover,
            mode: Mode::Cold,
            runs,
        })
        .collect();
    measured.push(Measured {
        prover: "zkclaim",
        mode: Mode::Warm,
        runs: warm_zkclaim,
    });
    measured.push(Measured {
        prover: TABLES,
        mode: Mode::Warm,
        runs: warm_tables,
    });
    measured.push(Measured {
        prover: "snarkjs",
        mode: Mode::Warm,
        runs: warm_snarkjs,
    });
    let node_version = Command::new(&node)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let mut notes = vec![
        "cold: a whole process per proof, as a user runs it. zkclaim's (`zkclaim prove \
         --params … --tree …`) reads its parameters and builds its witness from the invoice, \
         key, policy and tree; snarkjs's (`groth16 prove`) and rapidsnark's read the zkey and \
         the `.wtns`. Wall and CPU time (user + system) and peak RSS are each child's own \
         (`wait4`)."
            .to_owned(),
        "warm: one proof inside a running process. zkclaim: `prove` in this process, its \
         witness built from the same files each time (its peak RSS is this bench process's); \
         snarkjs: `groth16.prove` in one node process, the zkey and `.wtns` held in memory."
            .to_owned(),
        format!(
            "{TABLES}: the same, its proving key's fixed-base tables made first (as `zkclaim \
             serve` does at start: {:.0} MB, made in {} ms), alternated with the plain warm \
             proofs",
            table_bytes as f64 / 1e6,
            table_time.as_millis()
        ),
        match &rapidsnark {
            Some(bin) => format!(
                "rapidsnark: {} (its command line has no warm mode: cold only; its public \
                 inputs equal snarkjs's)",
                bin.display()
            ),
            None => "rapidsnark: not on PATH (build it with build-rapidsnark.sh, see README's \
                     benchmark section, and put its `prover` on PATH as `rapidsnark`)"
                .to_owned(),
        },
        format!(
            "snarkjs: {SNARKJS} on node {node_version}, installed in {}",
            work.join("npm").display()
        ),
        format!(
            "others' CPU: the share of the machine's CPU ({cores} cores) that other processes \
             used during a run (`/proc/stat` busy time less the run's own); a typical run's \
             above {:.0}% marks the run contended (the load average is shown, not judged: \
             it trails and counts the bench's own preparation).",
            Contention::OTHERS_LIMIT * 100.0
        ),
        format!(
            "preparation {:.1} s: phase 1 {} ({}); ceremony key and import {:.1} s",
            prep.as_secs_f64(),
            ptau.display(),
            match (&opts.ptau, made) {
                (Some(_), _) => "given".to_owned(),
                (None, Some(t)) => format!(
                    "made now by snarkjs powersoftau new, contribute, prepare phase2 in {:.1} s; \
                     kept for later runs",
                    t.as_secs_f64()
                ),
                (None, None) => "made by an earlier run".to_owned(),
            },
            keyed.as_secs_f64()
        ),
    ];
    notes.sort_by_key(|n| !n.starts_with("rapidsnark"));
    let report = Report {
        shape,
        constraints,
        domain_power,
        runs,
        warmup,
        measured,
        contention: Contention::of(&all, cores, load_before, load_after),
        hardware: super::hardware(),
        commit: super::COMMIT.into(),
        profile: super::profile(),
        notes,
    };
    std::fs::create_dir_all(&opts.out).map_err(io(&opts.out))?;
    let md = report::markdown(&report);
    println!("{md}");
    let md_path = opts.out.join("peers.md");
    std::fs::write(&md_path, &md).map_err(io(&md_path))?;
    report::write_csv(&opts.out.join("peers.csv"), &report)?;
    report::plot(&opts.out.join("peers.svg"), &report)?;
    println!(
        "Wrote {0}/peers.md, {0}/peers.csv and {0}/peers.svg",
        opts.out.display()
    );
    Ok(())
}

/// rapidsnark and snarkjs proved the same statement: their public inputs are equal.
fn same_public_inputs(run: &Run) -> Result<(), Error> {
    let read = |name: &str| -> Result<serde_json::Value, Error> { files::read(&run.path(name)) };
    if read("rapidsnark-public.json")? != read("snarkjs-public.json")? {
        return Err(Error::Bench(
            "rapidsnark's and snarkjs's public inputs differ for the same key and witness".into(),
        ));
    }
    Ok(())
}

/// The warm snarkjs script's runs, from its log's last line.
fn warm_runs(log: &Path) -> Result<Vec<Usage>, Error> {
    let text = std::fs::read_to_string(log).map_err(io(log))?;
    let bad = |reason: String| Error::BadFile {
        path: log.into(),
        reason,
    };
    let last = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| bad("no result".into()))?;
    let warm: WarmRuns = serde_json::from_str(last).map_err(|e| bad(e.to_string()))?;
    Ok(warm
        .runs
        .into_iter()
        .map(|r| {
            let cpu = Duration::from_micros(r.cpu_us);
            let busy = |s: &Option<String>| s.as_deref().and_then(measure::busy_of);
            Usage {
                wall: Duration::from_nanos(r.wall_ns),
                cpu,
                max_rss_kib: warm.max_rss_kib,
                others: busy(&r.before)
                    .zip(busy(&r.after))
                    .map(|(b, a)| a.saturating_sub(b).saturating_sub(cpu)),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_r1cs_header_gives_constraints_and_domain() {
        // Magic, version 1, two sections: a constraints section (2) first, then the header.
        let mut r1cs = b"r1cs".to_vec();
        r1cs.extend(1u32.to_le_bytes());
        r1cs.extend(2u32.to_le_bytes());
        r1cs.extend(2u32.to_le_bytes());
        r1cs.extend(3u64.to_le_bytes());
        r1cs.extend([0; 3]);
        r1cs.extend(1u32.to_le_bytes());
        r1cs.extend(64u64.to_le_bytes());
        r1cs.extend(32u32.to_le_bytes());
        r1cs.extend([0xff; 32]);
        // wires, public outputs, public inputs, private inputs, labels (u64), constraints.
        for v in [9000u32, 0, 6, 8000] {
            r1cs.extend(v.to_le_bytes());
        }
        r1cs.extend(9000u64.to_le_bytes());
        r1cs.extend(16_377u32.to_le_bytes());
        // 16,377 + 6 + 1 = 2^14: a domain of 2^14; one more constraint, 2^15.
        assert_eq!(r1cs_dimensions(&r1cs), Some((16_377, 14)));
        let n = r1cs.len();
        r1cs[n - 4..].copy_from_slice(&16_378u32.to_le_bytes());
        assert_eq!(r1cs_dimensions(&r1cs), Some((16_378, 15)));
        assert_eq!(r1cs_dimensions(&r1cs[..n - 2]), None);
        assert_eq!(r1cs_dimensions(b"wtns\x01\0\0\0"), None);
        assert_eq!((ptau_power(14), ptau_power(15)), (14, 16));
    }
}
