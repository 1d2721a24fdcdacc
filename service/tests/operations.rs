//! The node as an operator runs it: under a supervisor whose log pipe may go away.

mod common;

use common::*;

/// A node whose stderr is a pipe that its reader closed (a log shipper that died) keeps
/// answering, and SIGTERM still stops it, promptly and cleanly: log lines that cannot be
/// written are dropped.
#[test]
fn a_closed_log_pipe_stops_neither_the_node_nor_its_shutdown() {
    let c = Consortium::init();
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(c.data.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(c.ledger_args())
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    // Nothing reads the node's log any more.
    drop(child.stderr.take());

    // Every request logs a line; each is answered all the same.
    let node = agent(None);
    for _ in 0..3 {
        for (path, status) in [("/healthz", 200), ("/v1/roots", 200), ("/v1/nothing", 404)] {
            let r = reply(node.get(&format!("{base}{path}")).call());
            assert_eq!(r.status, status, "{path}: {}", r.body);
        }
    }

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the node ignored SIGTERM once its log pipe had closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}
