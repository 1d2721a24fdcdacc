//! What the tests that spawn `zkclaim serve` share: a consortium in a temporary DATA folder,
//! a server on 127.0.0.1 at a port of its choosing, signed requests and patients.
#![allow(dead_code, unused_imports)] // each test binary uses its own part

mod etcd;

pub use etcd::*;

pub use rand::rngs::OsRng;
pub use serde_json::{json, Value};
pub use sha2::{Digest, Sha256};
pub use std::{
    ffi::OsStr,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    sync::{Arc, Barrier},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
pub use zkclaim_circuits::{
    field, invoice::Invoice, keys::KeyFile, keys::SecretKey, policy::Policy, sample,
};
pub use zkclaim_ledger::{Genesis, MemberKey, Transaction};
pub use zkclaim_verifier::ClaimPackage;

pub const BIN: &str = env!("CARGO_BIN_EXE_zkclaim");
/// The tests' nodes and `prove` commands prove against the current root at once: a test's
/// patient is usually the last registration, with no other hospital's after it, and would
/// otherwise wait for 64 (docs/protocol.md, "Root choice"). The tests of root choice set
/// their own `--min-root-lag`, which overrides this.
pub const NO_ROOT_LAG: (&str, &str) = ("ZKCLAIM_MIN_ROOT_LAG", "0");
pub const HOSPITAL: u32 = 1;
pub const HOSPITAL_B: u32 = 2;
pub const INSURER_A: u32 = 10;
pub const INSURER_B: u32 = 11;
/// The last claim day of the tests' enrolments: the sample policies cover 2026, and the
/// registry's default (90 days after the period) would make every settling test fail from
/// April 2027 on.
pub const CLAIMS_UNTIL: &str = "2099-12-31";
/// r, the BN254 scalar field modulus: the smallest non-canonical element.
pub const R_HEX: &str = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";

/// A consortium initialised by the binary in a temporary DATA folder.
pub struct Consortium {
    pub data: tempfile::TempDir,
    pub chain_id: String,
    /// The etcd ledger its nodes use when `ZKCLAIM_TEST_ETCD` names a cluster (under a key
    /// prefix of this consortium's own), so that the HTTP tests run on both backends.
    pub ledger: Option<String>,
}

impl Consortium {
    pub fn init() -> Self {
        let data = tempfile::tempdir().unwrap();
        let status = Command::new(BIN)
            .arg("--data")
            .arg(data.path())
            .args(["consortium", "init"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let genesis = Genesis::load(&data.path().join("consortium/genesis.json")).unwrap();
        let ledger = std::env::var("ZKCLAIM_TEST_ETCD")
            .ok()
            .map(|url| format!("{url}/zkclaim-test-{}", rand::random::<u64>()));
        Self {
            chain_id: genesis.chain_id,
            data,
            ledger,
        }
    }

    /// `--ledger URL` where the nodes use etcd: what the command line needs, without
    /// `--server`, to act on the chain they wrote.
    pub fn ledger_args(&self) -> Vec<&str> {
        match &self.ledger {
            Some(url) => vec!["--ledger", url],
            None => vec![],
        }
    }

    /// Runs the command line on this consortium's DATA (root choice off: see
    /// [`NO_ROOT_LAG`]).
    pub fn zkclaim<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        Command::new(BIN)
            .env(NO_ROOT_LAG.0, NO_ROOT_LAG.1)
            .arg("--data")
            .arg(self.data.path())
            .args(args)
            .output()
            .unwrap()
    }

    pub fn key(&self, member: u32) -> MemberKey {
        let path = self
            .data
            .path()
            .join(format!("consortium/keys/member-{member}.json"));
        MemberKey::load(&path).unwrap()
    }

    /// A copy of this consortium's DATA as it is now (genesis, keys, parameters, the insurer
    /// registry; no ledger store) on the same ledger: another organization's folder.
    pub fn replica(&self) -> Consortium {
        fn copy(from: &Path, to: &Path) {
            std::fs::create_dir_all(to).unwrap();
            for entry in std::fs::read_dir(from).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name();
                if name.to_string_lossy().starts_with("ledger.redb") {
                    continue;
                }
                if entry.file_type().unwrap().is_dir() {
                    copy(&entry.path(), &to.join(&name));
                } else {
                    std::fs::copy(entry.path(), to.join(&name)).unwrap();
                }
            }
        }
        let data = tempfile::tempdir().unwrap();
        copy(self.data.path(), data.path());
        Consortium {
            data,
            chain_id: self.chain_id.clone(),
            ledger: self.ledger.clone(),
        }
    }

    /// [`Consortium::serve`] on a [`Consortium::replica`] of DATA, which the server keeps: a
    /// node of its own beside others on a shared ledger, its insurer registry its own.
    pub fn serve_replica(&self, args: &[&str], log: Option<&Path>) -> Server {
        let replica = self.replica();
        let mut server = replica.serve(args, log);
        server.replica = Some(replica);
        server
    }

    /// A node on 127.0.0.1, a port of its choosing; its logs go to `log` at debug level.
    pub fn serve(&self, args: &[&str], log: Option<&Path>) -> Server {
        self.start(&[&["--listen", "127.0.0.1:0"], args].concat(), &[], log)
    }

    /// `zkclaim serve` with these flags and environment variables.
    pub fn start(&self, args: &[&str], env: &[(&str, &str)], log: Option<&Path>) -> Server {
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            None => Stdio::null(),
        };
        let mut child = Command::new(BIN)
            .arg("--data")
            .arg(self.data.path())
            .arg("serve")
            .args(args)
            .args(match &self.ledger {
                Some(url) if !args.contains(&"--ledger") => vec!["--ledger", url],
                _ => vec![],
            })
            .env(NO_ROOT_LAG.0, NO_ROOT_LAG.1)
            .envs(env.iter().copied())
            .env("RUST_LOG", if log.is_some() { "debug" } else { "info" })
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server {
            child,
            base,
            agent: agent(None),
            replica: None,
        }
    }

    pub fn register(&self, invoice: &Invoice) -> String {
        self.register_by(invoice, HOSPITAL)
    }

    /// A new patient whose invoice the hospital registered through `server`.
    pub fn registered_patient(&self, server: &Server) -> Patient {
        let patient = Patient::new();
        let registered = server.post_signed(
            "/v1/invoices",
            &self.register(&patient.invoice),
            &self.key(HOSPITAL),
        );
        assert_eq!(registered.status, 200, "{}", registered.body);
        patient
    }

    /// A new patient enrolled at insurer A through `server`, proving under the policy the
    /// insurer issued, its invoice registered: its claims settle at insurer A.
    pub fn enrolled_patient(&self, server: &Server) -> Patient {
        let mut patient = self.registered_patient(server);
        self.enroll(server, &mut patient, INSURER_A);
        patient
    }

    /// Enrols `patient` at `insurer` through `server` under its policy's terms: the patient
    /// then proves under the policy the insurer issued. The enrolment's answer.
    pub fn enroll(&self, server: &Server, patient: &mut Patient, insurer: u32) -> Value {
        let body = patient.application(insurer, None).to_string();
        let enrolled = server.post_signed("/v1/enrolments", &body, &self.key(insurer));
        assert_eq!(enrolled.status, 200, "{}", enrolled.body);
        patient.policy = serde_json::from_value(enrolled.body["policy"].clone()).unwrap();
        enrolled.body
    }

    /// Enrols `patient` at `insurer` as [`Consortium::enroll`] does, in DATA's registry
    /// itself: while no node serves DATA.
    pub fn enroll_offline(&self, patient: &mut Patient, insurer: u32) {
        let path = self.data.path().join("insurer/registry.redb");
        let registry = zkclaim_insurer::Registry::open(&path).unwrap();
        let application = serde_json::from_value(patient.application(insurer, None)).unwrap();
        patient.policy = registry.enroll(application, &mut OsRng).unwrap().1;
    }

    pub fn register_by(&self, invoice: &Invoice, hospital: u32) -> String {
        let commitment = invoice.commitment(8).unwrap();
        let stx =
            Transaction::RegisterInvoice { commitment }.sign(&self.chain_id, &self.key(hospital));
        serde_json::to_string(&stx).unwrap()
    }

    pub fn settle(&self, claim: &ClaimPackage, insurer: u32) -> String {
        let stx = Transaction::SettleClaim {
            claim: claim.clone(),
        }
        .sign(&self.chain_id, &self.key(insurer));
        serde_json::to_string(&stx).unwrap()
    }
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub agent: ureq::Agent,
    /// The DATA of its own it serves, if not the consortium's.
    pub replica: Option<Consortium>,
}

/// A client; over TLS it trusts `ca` (PEM) alone.
pub fn agent(ca: Option<&str>) -> ureq::Agent {
    let mut builder = ureq::AgentBuilder::new().timeout(Duration::from_secs(120));
    if let Some(ca) = ca {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        builder = builder.tls_config(Arc::new(config));
    }
    builder.build()
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<String>,
}

pub fn reply(result: Result<ureq::Response, ureq::Error>) -> Reply {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = response.status();
    let retry_after = response.header("retry-after").map(str::to_owned);
    let text = response.into_string().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        body,
        retry_after,
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The headers that authenticate one member request (docs/protocol.md, "Request
/// signature"): sent twice, they are a replay.
#[derive(Clone)]
pub struct Auth {
    pub member: u32,
    pub timestamp: u64,
    pub nonce: String,
    pub signature: String,
}

/// A POST of `body` to `path` signed by `key` at `timestamp`, with a fresh random nonce.
pub fn signature(key: &MemberKey, path: &str, body: &str, timestamp: u64) -> Auth {
    signature_of(key, "POST", path, body, timestamp)
}

/// A `method` request of `body` to `path` (its query excluded) signed by `key` at `timestamp`,
/// with a fresh random nonce; a GET signs an empty body.
pub fn signature_of(key: &MemberKey, method: &str, path: &str, body: &str, timestamp: u64) -> Auth {
    let path = path.split('?').next().unwrap();
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    let (member, time) = (key.member_id().to_string(), timestamp.to_string());
    let message = [
        "zkclaim/request/v1",
        method,
        path,
        &digest,
        &member,
        &time,
        &nonce,
    ]
    .join("\n");
    Auth {
        member: key.member_id(),
        timestamp,
        nonce,
        signature: hex::encode(key.sign_bytes(message.as_bytes())),
    }
}

impl Server {
    pub fn get(&self, path: &str) -> Reply {
        reply(self.agent.get(&format!("{}{path}", self.base)).call())
    }

    pub fn post(&self, path: &str, body: &str) -> Reply {
        reply(
            self.agent
                .post(&format!("{}{path}", self.base))
                .set("content-type", "application/json")
                .send_string(body),
        )
    }

    /// Posts a body over the server's limit. The server may answer 413 and close before the
    /// client has finished sending, which the client sees as a broken pipe or a reset; a few
    /// tries make the race harmless while still requiring a real 413 answer.
    pub fn post_oversized(&self, path: &str, body: &str) -> Reply {
        for _ in 0..10 {
            let result = self
                .agent
                .post(&format!("{}{path}", self.base))
                .set("content-type", "application/json")
                .send_string(body);
            if !matches!(result, Err(ureq::Error::Transport(_))) {
                return reply(result);
            }
        }
        panic!("no answer to an oversized body in 10 tries");
    }

    /// Posts with these authentication headers.
    pub fn post_as(&self, path: &str, body: &str, auth: &Auth) -> Reply {
        let request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .set("content-type", "application/json");
        reply(authenticated(request, auth).send_string(body))
    }

    /// A GET signed by `key`, now (over an empty body and the path without its query).
    pub fn get_signed(&self, path: &str, key: &MemberKey) -> Reply {
        let auth = signature_of(key, "GET", path, "", now());
        let request = self.agent.get(&format!("{}{path}", self.base));
        reply(authenticated(request, &auth).call())
    }

    /// Posts signed by `key`, now: a request of its own, even for the same body.
    pub fn post_signed(&self, path: &str, body: &str, key: &MemberKey) -> Reply {
        self.post_as(path, body, &signature(key, path, body, now()))
    }

    /// The claim package the node proves for `patient` (`POST /v1/proofs`).
    pub fn prove(&self, patient: &Patient) -> ClaimPackage {
        let r = self.post("/v1/proofs", &patient.request());
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_value(r.body).unwrap()
    }

    /// Hands a claim package in to the node's insurer (`POST /v1/intake`, not signed).
    pub fn intake(&self, package: &ClaimPackage) -> Reply {
        self.post("/v1/intake", &serde_json::to_string(package).unwrap())
    }

    pub fn height(&self) -> u64 {
        self.get("/v1/roots").body["height"].as_u64().unwrap()
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        self.child.wait().unwrap()
    }
}

/// `request` with the authentication headers of `auth`.
pub fn authenticated(request: ureq::Request, auth: &Auth) -> ureq::Request {
    request
        .set("x-zkclaim-member", &auth.member.to_string())
        .set("x-zkclaim-timestamp", &auth.timestamp.to_string())
        .set("x-zkclaim-nonce", &auth.nonce)
        .set("x-zkclaim-signature", &auth.signature)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A patient with an invoice from hospital 1 and a policy at insurer A.
pub struct Patient {
    pub key: KeyFile,
    pub invoice: Invoice,
    pub policy: Policy,
}

impl Patient {
    pub fn new() -> Self {
        let sk = SecretKey::random(&mut OsRng);
        Self {
            invoice: sample::spec_invoice(&mut OsRng, sk.public_key(), HOSPITAL),
            policy: sample::policy(&mut OsRng, INSURER_A),
            key: KeyFile::new(&sk),
        }
    }

    /// The patient's claimant tag at `insurer`, `0x…`.
    pub fn tag(&self, insurer: u32) -> String {
        let sk = self.key.secret_key();
        field::format(&zkclaim_circuits::keys::claimant_tag(sk.expose(), insurer))
    }

    /// The application enrolling this patient at `insurer` under its policy's terms, until
    /// `claims_until` if given.
    /// The enrolment application for this patient's policy terms at `insurer`, accepting
    /// claims until `claims_until`, or by default until [`CLAIMS_UNTIL`].
    pub fn application(&self, insurer: u32, claims_until: Option<&str>) -> Value {
        let p = &self.policy;
        let application = json!({
            "claimant_tag": self.tag(insurer),
            "terms": {
                "insurer_id": insurer,
                "period_start": zkclaim_circuits::date::format(p.period_start),
                "period_end": zkclaim_circuits::date::format(p.period_end),
                "deductible": p.deductible,
                "rate_bp": p.rate_bp,
                "cap": p.cap,
                "category_mask": p.category_mask,
            },
            "payout_ref": "CN-ACCT-0001",
            "claims_until": claims_until.unwrap_or(CLAIMS_UNTIL),
        });
        application
    }

    pub fn request(&self) -> String {
        json!({"invoice": self.invoice, "key": self.key, "policy": self.policy}).to_string()
    }

    /// Writes `invoice.json`, `key.json` and `policy.json` into `dir`; their paths.
    pub fn write(&self, dir: &Path) -> [PathBuf; 3] {
        let request: Value = serde_json::from_str(&self.request()).unwrap();
        ["invoice", "key", "policy"].map(|name| {
            let path = dir.join(format!("{name}.json"));
            std::fs::write(&path, request[name].to_string()).unwrap();
            path
        })
    }

    /// [`Patient::prove_command`] against a stand-alone tree `dir/tree.json` that holds the
    /// invoice alone (its commitment for a circuit of `items` items), then `extra`.
    pub fn prove_tree_command(&self, dir: &Path, items: usize, extra: &[&str]) -> Vec<String> {
        let leaf = field::format(&self.invoice.commitment(items).unwrap());
        let tree = dir.join("tree.json");
        std::fs::write(&tree, json!({ "leaves": [leaf] }).to_string()).unwrap();
        let mut args = self.prove_command(dir);
        args.extend(["--tree".to_owned(), tree.display().to_string()]);
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    }

    /// Writes the patient's files into `dir` ([`Patient::write`]): the `prove` command that
    /// names them, its claim going to `dir/claim.json`.
    pub fn prove_command(&self, dir: &Path) -> Vec<String> {
        let mut args = vec!["prove".to_owned()];
        for (name, path) in ["invoice", "key", "policy"].iter().zip(self.write(dir)) {
            args.extend([format!("--{name}"), path.display().to_string()]);
        }
        args.extend([
            "--out".to_owned(),
            dir.join("claim.json").display().to_string(),
        ]);
        args
    }
}

pub fn assert_refused(r: &Reply, status: u16, code: &str, says: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message:?} should say {says:?}");
}

/// Whether `program` runs here. Where it does not, the caller skips its test, saying so,
/// except under CI (`CI` set), where the test fails: `.ci/run` installs Debian's `package`.
pub fn installed(program: &str, package: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is not installed; .ci/run installs Debian's {package}"
        );
        eprintln!("skipped: {program} is not installed (apt-get install {package})");
    }
    found
}

/// The npm `package` (`name@version`), installed once under the test target's `dir`: the path
/// of its `file` (relative to `node_modules`), or why npm could not install it.
pub fn npm_install(dir: &str, package: &str, file: &str) -> Result<PathBuf, String> {
    let prefix = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    let path = prefix.join("node_modules").join(file);
    if !path.exists() {
        let status = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&prefix)
            .arg(package)
            .status()
            .map_err(|e| format!("npm (Node.js) is needed to install {package}: {e}"))?;
        if !status.success() {
            return Err(format!("npm install {package} failed"));
        }
    }
    Ok(path)
}

/// `node snarkjs-cli ARGS…` in `dir`: its exit status and everything it printed.
pub fn snarkjs(dir: &Path, args: &[&str]) -> (bool, String) {
    let cli = npm_install("snarkjs", "snarkjs@0.7.6", "snarkjs/build/cli.cjs")
        .unwrap_or_else(|e| panic!("{e}: needed to test snarkjs interoperability"));
    let out = Command::new("node")
        .arg(cli)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The binary run in `dir`, with DATA `dir/data`.
pub fn zkclaim(dir: &Path, args: &[&str]) -> Output {
    // In the environment: `tree add` reads no DATA, and a flag it does not use is refused.
    Command::new(BIN)
        .env("ZKCLAIM_DATA", dir.join("data"))
        .env(NO_ROOT_LAG.0, NO_ROOT_LAG.1)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `tests/evm/verify.mjs` on the verifier contract `source` and a claim's calldata: solc
/// (npm `solc`) compiles it, `@ethereumjs/evm` runs it with the calldata, the calldata with
/// the claim amount plus one, and with the nullifier plus r; its JSON report.
pub fn evm_verify(source: &Path, calldata: &str) -> Value {
    let installed: Vec<PathBuf> = [
        "solc@0.8.28",
        "@ethereumjs/evm@10.1.3",
        "@ethereumjs/util@10.1.3",
    ]
    .iter()
    .map(|package| {
        let name = package.rsplit_once('@').unwrap().0;
        npm_install("evm", package, &format!("{name}/package.json"))
            .unwrap_or_else(|e| panic!("{e}: needed to test the EVM verifier"))
    })
    .collect();
    // PREFIX/node_modules/solc/package.json: the prefix all three went to.
    let prefix = installed[0].ancestors().nth(3).unwrap();
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evm/verify.mjs");
    let out = Command::new("node")
        .arg(harness)
        .arg(prefix)
        .arg(source)
        .arg(calldata)
        .output()
        .unwrap();
    serde_json::from_str(&succeeded(out)).unwrap()
}

/// The 32-byte word a contract returns for a bool, as `0x` and hex.
pub fn evm_word(b: bool) -> String {
    format!("0x{:064x}", u8::from(b))
}

/// The `&str`s of `args`, as the command helpers take them.
pub fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// stdout of a command that must succeed.
pub fn succeeded(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A command refused: exit 1, its `--json` error's code `code`, its message saying `says`.
/// Answers its standard error.
pub fn refused(out: Output, code: &str, says: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let error: Value = serde_json::from_str(&stderr).unwrap_or_else(|_| panic!("{stderr}"));
    assert_eq!(error["error"]["code"], code, "{stderr}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message:?} does not say {says:?}");
    stderr
}

/// The checkout: what `zkclaim serve --web-root` serves the pages from.
pub fn web_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

/// Headless Chromium with puppeteer-core: Debian's `chromium` (or `ZKCLAIM_CHROMIUM`) and
/// the npm prefix puppeteer-core is installed under (once, in the test target). None where
/// either is missing, which fails the test under CI (`.ci/run` installs them).
pub fn browser() -> Option<(String, PathBuf)> {
    let chromium = std::env::var("ZKCLAIM_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !installed(&chromium, "chromium") {
        return None;
    }
    let installed = npm_install(
        "puppeteer",
        "puppeteer-core@24.43.1",
        "puppeteer-core/package.json",
    );
    match installed {
        Ok(path) => Some((chromium, path.ancestors().nth(3).unwrap().to_path_buf())),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{e}: CI tests the pages in Chromium"
            );
            eprintln!("SKIPPED the browser test: {e}");
            None
        }
    }
}

/// Whether the WebAssembly build (`sdk/js/build.sh`) is there; where it is not, the caller
/// skips its test, saying so, except under CI, which builds it first.
pub fn wasm_built() -> bool {
    let built = web_root()
        .join("sdk/js/pkg/zkclaim_wallet_bg.wasm")
        .is_file();
    if !built {
        assert!(
            std::env::var_os("CI").is_none(),
            "no WebAssembly build: .ci/run builds it with sdk/js/build.sh"
        );
        eprintln!("skipped: no WebAssembly build (run sdk/js/build.sh)");
    }
    built
}
