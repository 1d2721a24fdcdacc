//! What one measured run cost, and whether the machine was busy meanwhile: a child's own wall
//! time, CPU time and peak memory (`wait4`, which reports that child alone, where
//! `RUSAGE_CHILDREN` is a maximum over every child reaped so far), and the CPU time that
//! the rest of the machine used over the same window (`/proc/stat`).

use crate::error::Error;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One run's cost: `others` is the CPU time the rest of the machine used over the window
/// (every CPU's busy time less the run's own), when `/proc/stat` could be read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Usage {
    pub wall: Duration,
    pub cpu: Duration,
    pub max_rss_kib: u64,
    pub others: Option<Duration>,
}

impl Usage {
    /// The share of the machine's capacity over the run that other processes took (0–1).
    pub fn others_share(&self, cores: usize) -> Option<f64> {
        let capacity = self.wall.as_secs_f64() * cores as f64;
        self.others
            .map(|o| (o.as_secs_f64() / capacity.max(f64::EPSILON)).min(1.0))
    }
}

/// Every CPU's busy time so far (`/proc/stat`'s first line: user, nice, system, irq, softirq
/// and steal; steal is time a hypervisor gave to other guests), or `None` off Linux.
pub fn busy() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    busy_of(&stat)
}

/// [`busy`] from the text of `/proc/stat`.
pub fn busy_of(stat: &str) -> Option<Duration> {
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let &[user, nice, system, _idle, _iowait, irq, softirq, steal, ..] = fields.as_slice() else {
        return None;
    };
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|t| *t > 0)?;
    let busy = user + nice + system + irq + softirq + steal;
    Some(Duration::from_nanos(busy * 1_000_000_000 / ticks))
}

/// This process's own CPU time (user + system, all its threads) and peak memory so far.
pub fn own() -> (Duration, u64) {
    let usage = rusage(libc::RUSAGE_SELF);
    (cpu_of(&usage), usage.ru_maxrss as u64)
}

fn rusage(who: libc::c_int) -> libc::rusage {
    // SAFETY: getrusage fills the zeroed struct it is given.
    unsafe {
        let mut usage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    }
}

fn cpu_of(u: &libc::rusage) -> Duration {
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// The 1-minute load average (`/proc/loadavg`).
pub fn load() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Runs `cmd` to its end, its output into `log`, and measures it alone: an error naming
/// `what` and the log when it fails.
pub fn child(what: &str, cmd: &mut Command, log: &Path) -> Result<Usage, Error> {
    let io = |source| Error::Io {
        path: log.into(),
        source,
    };
    let file = std::fs::File::create(log).map_err(io)?;
    cmd.stdout(file.try_clone().map_err(io)?).stderr(file);
    let before = busy();
    let start = Instant::now();
    let spawned = cmd
        .spawn()
        .map_err(|e| Error::Bench(format!("cannot start {what}: {e}")))?;
    let pid = spawned.id() as libc::pid_t;
    let mut status = 0;
    let usage = loop {
        // SAFETY: waits for our own child, filling the zeroed struct it is given. The child
        // is reaped here, so `spawned` is never waited on (dropping it does not wait).
        let (reaped, usage) = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            (libc::wait4(pid, &mut status, 0, &mut usage), usage)
        };
        if reaped == pid {
            break usage;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::Bench(format!("waiting for {what}: {e}")));
        }
    };
    let wall = start.elapsed();
    let after = busy();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let said = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = said.lines().rev().take(5).collect();
        return Err(Error::Bench(format!(
            "{what} failed ({}): {}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        )));
    }
    let cpu = cpu_of(&usage);
    Ok(Usage {
        wall,
        cpu,
        max_rss_kib: usage.ru_maxrss as u64,
        others: before
            .zip(after)
            .map(|(b, a)| a.saturating_sub(b).saturating_sub(cpu)),
    })
}

/// Runs `f` in this process and measures it: wall and CPU time (this process's, all
/// threads), the process's peak memory so far, and the others' CPU time meanwhile.
pub fn inline<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<(T, Usage), Error> {
    let before = busy();
    let (cpu0, _) = own();
    let start = Instant::now();
    let value = f()?;
    let wall = start.elapsed();
    let (cpu1, max_rss_kib) = own();
    let after = busy();
    let cpu = cpu1.saturating_sub(cpu0);
    let others = before
        .zip(after)
        .map(|(b, a)| a.saturating_sub(b).saturating_sub(cpu));
    Ok((
        value,
        Usage {
            wall,
            cpu,
            max_rss_kib,
            others,
        },
    ))
}

/// Whether other work shared the machine with the runs, and how much.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Contention {
    /// The median share of the machine's CPU capacity that other processes took during a
    /// run (0–1), and the largest; `None` where `/proc/stat` could not be read.
    pub others_median: Option<f64>,
    pub others_max: Option<f64>,
    /// The 1-minute load average before and after all the runs.
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    pub cores: usize,
}

impl Contention {
    /// Other processes' typical share above which the figures are not to be trusted: a
    /// tenth of the machine is enough to move a parallel prover's time by as much.
    pub const OTHERS_LIMIT: f64 = 0.10;

    /// Judged from the runs' usages and the load around them.
    pub fn of(
        runs: &[Usage],
        cores: usize,
        load_before: Option<f64>,
        load_after: Option<f64>,
    ) -> Self {
        let mut shares: Vec<f64> = runs.iter().filter_map(|u| u.others_share(cores)).collect();
        shares.sort_by(f64::total_cmp);
        Contention {
            others_median: shares.get(shares.len() / 2).copied(),
            others_max: shares.last().copied(),
            load_before,
            load_after,
            cores,
        }
    }

    /// Other processes took more than [`Self::OTHERS_LIMIT`] of the machine during a typical
    /// run. The load average is reported, not judged: it trails by a minute and counts the
    /// bench's own preparation (a quiet machine read 2.0 before the runs, others taking 1%).
    pub fn contended(&self) -> bool {
        self.others_median.is_some_and(|s| s > Self::OTHERS_LIMIT)
    }

    /// One line for the top of a report.
    pub fn verdict(&self) -> String {
        let pct = |s: Option<f64>| s.map_or("?".into(), |s| format!("{:.0}%", s * 100.0));
        let load = |l: Option<f64>| l.map_or("?".into(), |l| format!("{l:.2}"));
        let measured = format!(
            "other processes took {} of the machine's CPU during a typical run (worst {}); \
             load {} before, {} after, on {} cores",
            pct(self.others_median),
            pct(self.others_max),
            load(self.load_before),
            load(self.load_after),
            self.cores
        );
        if self.contended() {
            format!(
                "**Contended: these figures are not trustworthy; measure again on a quiet \
                 machine.** {measured}."
            )
        } else {
            format!("No contention detected: {measured}.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(wall_ms: u64, others_ms: Option<u64>) -> Usage {
        Usage {
            wall: Duration::from_millis(wall_ms),
            cpu: Duration::from_millis(wall_ms * 2),
            max_rss_kib: 1,
            others: others_ms.map(Duration::from_millis),
        }
    }

    #[test]
    fn a_quiet_machine_is_not_contended() {
        // 2 cores, 1 s runs: others took 10–30 ms of the 2 s capacity.
        let runs = [
            run(1000, Some(20)),
            run(1000, Some(10)),
            run(1000, Some(30)),
        ];
        let c = Contention::of(&runs, 2, Some(0.3), Some(1.8));
        assert_eq!(c.others_median, Some(0.01));
        assert_eq!(c.others_max, Some(0.015));
        assert!(!c.contended());
        assert!(c
            .verdict()
            .starts_with("No contention detected: other processes took 1%"));
    }

    #[test]
    fn others_taking_cpu_is_contention_and_a_prior_load_alone_is_not() {
        // Others took 0.9 s of 2 s in a typical run.
        let runs = [
            run(1000, Some(900)),
            run(1000, Some(50)),
            run(1000, Some(1500)),
        ];
        let busy = Contention::of(&runs, 2, Some(0.2), Some(0.4));
        assert_eq!(busy.others_median, Some(0.45));
        assert!(busy.contended());
        assert!(
            busy.verdict().contains("not trustworthy"),
            "{}",
            busy.verdict()
        );
        // Quiet runs after a load the bench's own preparation made: found in a quiet run
        // that the old rule (a load above half the cores) called contended.
        let loaded = Contention::of(&[run(1000, Some(20))], 2, Some(2.02), Some(1.87));
        assert!(!loaded.contended());
        assert!(loaded.verdict().contains("load 2.02 before"));
        // Nothing known: not claimed contended, and said so.
        let unknown = Contention::of(&[run(1000, None)], 2, None, None);
        assert!(!unknown.contended());
        assert!(
            unknown.verdict().contains("took ? of"),
            "{}",
            unknown.verdict()
        );
    }

    #[test]
    fn busy_time_is_read_from_proc_stat() {
        // SAFETY: as in busy_of.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        let stat = format!("cpu  {hz} 0 {hz} 999999 77 0 0 {hz} 0 0\ncpu0 1 2 3 4\n");
        assert_eq!(busy_of(&stat), Some(Duration::from_secs(3)));
        assert_eq!(busy_of("intr 1 2 3\n"), None);
    }

    #[test]
    fn a_child_is_measured_alone_and_its_failure_reported() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        // A shell that spins ~0.2 s of CPU, then exits.
        let spin = "i=0; while [ $i -lt 40000 ]; do i=$((i+1)); done";
        let u = child("spin", Command::new("sh").args(["-c", spin]), &log).unwrap();
        assert!(u.cpu > Duration::ZERO && u.cpu <= u.wall + Duration::from_millis(20));
        assert!(u.max_rss_kib > 0);
        let err = child(
            "false",
            Command::new("sh").args(["-c", "echo nope >&2; exit 3"]),
            &log,
        )
        .unwrap_err();
        assert!(err.to_string().contains("false failed") && err.to_string().contains("nope"));
    }
}
