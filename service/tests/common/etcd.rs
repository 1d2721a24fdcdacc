//! Real etcd clusters on loopback, for the tests of a ledger shared by several nodes.
//!
//! They need the `etcd` binary (Debian's `etcd-server`, which `.ci/run` installs). Without it
//! the tests that use them say so and pass, except under CI (`CI` set), where they fail.

use super::*;
use std::net::TcpListener;

/// One etcd member: a child process with its own data folder and two loopback ports.
pub struct Member {
    pub name: String,
    pub client: String,
    pub args: Vec<String>,
    pub child: Option<Child>,
}

pub struct Etcd {
    pub dir: tempfile::TempDir,
    pub members: Vec<Member>,
    /// `http`, or `https` when the members serve clients over TLS.
    pub scheme: &'static str,
    /// A client that trusts the members' certificate.
    pub agent: ureq::Agent,
}

/// The certificate (PEM) etcd members serve their clients with, and its key.
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Etcd {
    /// Starts an `n`-member cluster with fast elections (50 ms heartbeats, 500 ms election
    /// timeout) and waits until it has a leader.
    pub fn start(n: usize) -> Self {
        Self::launch(n, None)
    }

    /// [`Etcd::start`], serving clients over TLS with `tls`'s certificate when given.
    pub fn launch(n: usize, tls: Option<&Tls>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let cluster = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}"))
            .collect::<Vec<_>>()
            .join(",");
        let token = format!("zkclaim-test-{}", rand::random::<u64>());
        let members = ports
            .iter()
            .enumerate()
            .map(|(i, (client, peer))| {
                let name = format!("m{i}");
                let client = format!("127.0.0.1:{client}");
                let mut args = [
                    "--name",
                    &name,
                    "--data-dir",
                    &dir.path().join(&name).display().to_string(),
                    "--listen-client-urls",
                    &format!("{scheme}://{client}"),
                    "--advertise-client-urls",
                    &format!("{scheme}://{client}"),
                    "--listen-peer-urls",
                    &format!("http://127.0.0.1:{peer}"),
                    "--initial-advertise-peer-urls",
                    &format!("http://127.0.0.1:{peer}"),
                    "--initial-cluster",
                    &cluster,
                    "--initial-cluster-token",
                    &token,
                    "--initial-cluster-state",
                    "new",
                    "--heartbeat-interval",
                    "50",
                    "--election-timeout",
                    "500",
                ]
                .map(String::from)
                .to_vec();
                if let Some(tls) = tls {
                    for (flag, path) in [("--cert-file", &tls.cert), ("--key-file", &tls.key)] {
                        args.extend([flag.into(), path.display().to_string()]);
                    }
                }
                Member {
                    name,
                    client,
                    args,
                    child: None,
                }
            })
            .collect();
        let ca = tls.map(|tls| std::fs::read_to_string(&tls.cert).unwrap());
        let mut etcd = Self {
            dir,
            members,
            scheme,
            agent: agent(ca.as_deref()),
        };
        for i in 0..n {
            etcd.start_member(i);
        }
        etcd.wait_for_leader(None);
        etcd
    }

    pub fn start_member(&mut self, i: usize) {
        let member = &mut self.members[i];
        let log =
            std::fs::File::create(self.dir.path().join(format!("{}.log", member.name))).unwrap();
        member.child = Some(
            Command::new("etcd")
                .args(&member.args)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }

    /// `etcd://` with every member's client address.
    pub fn url(&self) -> String {
        let hosts: Vec<&str> = self.members.iter().map(|m| m.client.as_str()).collect();
        format!("etcd://{}", hosts.join(","))
    }

    pub fn status(&self, i: usize) -> Option<Value> {
        let url = format!(
            "{}://{}/v3/maintenance/status",
            self.scheme, self.members[i].client
        );
        self.agent
            .post(&url)
            .timeout(Duration::from_millis(500))
            .send_string("{}")
            .ok()?
            .into_json()
            .ok()
    }

    /// etcd's JSON gateway on the first member, for writing behind the consortium's back.
    pub fn call(&self, path: &str, body: Value) -> Reply {
        let url = format!("{}://{}{path}", self.scheme, self.members[0].client);
        reply(self.agent.post(&url).send_string(&body.to_string()))
    }

    /// The index of the member that leads, once one that is not `excluded` does.
    pub fn wait_for_leader(&self, excluded: Option<usize>) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            for i in 0..self.members.len() {
                if Some(i) == excluded || self.members[i].child.is_none() {
                    continue;
                }
                if let Some(status) = self.status(i) {
                    if status["leader"].is_string()
                        && status["leader"] == status["header"]["member_id"]
                    {
                        return i;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "the etcd cluster elected no leader"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: a crash, not a clean stop.
    pub fn kill(&mut self, i: usize) {
        let mut child = self.members[i].child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Kills member `i` and starts it again on its data, until the cluster has a leader.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.start_member(i);
        self.wait_for_leader(None);
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(child) = m.child.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// An etcd cluster of `members` and a consortium whose nodes will use it; `None` (the test
/// is skipped) where etcd is not installed.
pub fn cluster(members: usize) -> Option<(Etcd, Consortium)> {
    installed("etcd", "etcd-server").then(|| (Etcd::start(members), Consortium::init()))
}

/// A zkclaim node on the cluster, its blocks signed by `proposer`, on a replica of DATA:
/// each node has its own insurer registry, holding the enrolments DATA's held when it started.
pub fn node(c: &Consortium, etcd: &Etcd, proposer: u32) -> Server {
    c.serve_replica(
        &["--ledger", &etcd.url(), "--proposer", &proposer.to_string()],
        None,
    )
}
