//! Helpers shared by the end-to-end tests: build the network directory, start and kill real
//! node processes, call the CLI, read the API.
#![allow(dead_code)]

use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_civitas");
pub const VALIDATORS: usize = 4;

pub struct Nodes {
    pub dir: PathBuf,
    pub children: Vec<Option<Child>>,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Nodes {
    pub fn start(&mut self, i: usize) {
        let node_dir = self.dir.join(format!("node{i}"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node_dir.join("node.log"))
            .unwrap();
        let child = Command::new(BIN)
            .args(["node", "start", "--config"])
            .arg(node_dir.join("node.toml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[i] = Some(child);
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            child.kill().unwrap(); // SIGKILL: no chance to clean up
            child.wait().unwrap();
        }
    }
}

/// A base port P such that P..P+6 and P+1000..P+1006 are all free (room for two nodes beyond
/// the validators). `salt` separates tests running in the same process.
pub fn free_base_port(salt: u16) -> u16 {
    let seed = (std::process::id() as u16).wrapping_add(salt * 211);
    for attempt in 0..200u16 {
        let base = 20_000 + ((seed.wrapping_add(attempt * 37)) % 400) * 10;
        let all_free = (0..VALIDATORS as u16 + 2)
            .flat_map(|i| [base + i, base + 1000 + i])
            .all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no free port range found");
}

/// Runs the independent Python verifier (tools/verify_bundle.py) on `bundle`.
pub fn python_verify(bundle: &std::path::Path, genesis: &std::path::Path) -> Output {
    let reference =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/verify_bundle.py");
    Command::new("python3")
        .arg(reference)
        .arg(bundle)
        .arg("--genesis")
        .arg(genesis)
        .output()
        .expect("python3 runs the reference verifier")
}

/// `civitas devnet --init-only` (with `extra` arguments) in a fresh temporary directory named
/// after `name`; returns (that directory, the devnet directory inside it, the base port).
pub fn init_devnet(name: &str, salt: u16, extra: &[&str]) -> (PathBuf, PathBuf, u16) {
    let tmp = std::env::temp_dir().join(format!("civitas-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let dir = tmp.join("devnet");
    let base = free_base_port(salt);
    let base_arg = base.to_string();
    let mut args = vec![
        "devnet",
        "--init-only",
        "--dir",
        dir.to_str().unwrap(),
        "--base-port",
        &base_arg,
    ];
    args.extend_from_slice(extra);
    ok(civitas(&args));
    (tmp, dir, base)
}

/// This machine's clock, in milliseconds since 1970.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub fn civitas(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

pub fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn get(url: &str) -> Option<Value> {
    let output = Command::new("curl")
        .args(["-sf", "--max-time", "5", url])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

pub fn height(api: &str) -> u64 {
    get(&format!("{api}/v1/status"))
        .and_then(|s| s["height"].as_u64())
        .unwrap_or(0)
}

/// Waits until every node has reached the height the highest has now: a transaction made
/// final through one agency's node is final at the others a block or so later, and a command
/// that reads a node first (approving a proposal) must not ask it before.
pub fn settle(apis: &[String]) {
    let target = apis.iter().map(|api| height(api)).max().unwrap_or(0);
    wait_for(
        "every node at the same height",
        Duration::from_secs(30),
        || apis.iter().all(|api| height(api) >= target),
    );
}

pub fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Nodes {
    /// The process id of node `i`, if it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.children[i].as_ref().map(Child::id)
    }
}

/// A running network of `validators` node processes in a fresh temporary directory.
pub struct TestNetwork {
    /// Temporary directory (removed on drop).
    pub tmp: PathBuf,
    /// The devnet directory inside it.
    pub dir: PathBuf,
    /// Node i's API URL.
    pub apis: Vec<String>,
    /// The base port (node i: API on base + i, peers on base + 1000 + i).
    pub base: u16,
    /// The processes.
    pub nodes: Nodes,
}

impl TestNetwork {
    /// Creates the directory with `civitas devnet --init-only`, starts every node and waits for
    /// the first finalized block. `name` and `salt` keep concurrent tests apart.
    pub fn start(name: &str, salt: u16, validators: usize) -> Self {
        Self::start_with(name, salt, validators, &[])
    }

    /// Like [`TestNetwork::start`], passing `extra` to `civitas devnet --init-only`.
    pub fn start_with(name: &str, salt: u16, validators: usize, extra: &[&str]) -> Self {
        let validators_arg = validators.to_string();
        let mut args = vec!["--validators", &validators_arg];
        args.extend_from_slice(extra);
        let (tmp, dir, base) = init_devnet(name, salt, &args);
        let apis: Vec<String> = (0..validators)
            .map(|i| format!("http://127.0.0.1:{}", base + i as u16))
            .collect();
        let mut nodes = Nodes {
            dir: dir.clone(),
            children: (0..validators).map(|_| None).collect(),
        };
        for i in 0..validators {
            nodes.start(i);
        }
        wait_for(
            "the first finalized block",
            Duration::from_secs(120),
            || apis.iter().all(|api| height(api) >= 1),
        );
        Self {
            tmp,
            dir,
            apis,
            base,
            nodes,
        }
    }
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        for child in self.nodes.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            print_log_tails(&self.dir, self.nodes.children.len());
        }
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Prints the last lines of every node's log (a failed test's output is all CI keeps).
pub fn print_log_tails(dir: &std::path::Path, nodes: usize) {
    const LINES: usize = 40;
    for i in 0..nodes {
        let path = dir.join(format!("node{i}/node.log"));
        let Ok(log) = std::fs::read_to_string(&path) else {
            continue;
        };
        let lines: Vec<&str> = log.lines().collect();
        eprintln!("--- last {LINES} lines of {} ---", path.display());
        for line in &lines[lines.len().saturating_sub(LINES)..] {
            eprintln!("{line}");
        }
    }
}

/// A `civitas devnet` process with its directory, stopped (SIGTERM, so it stops its nodes)
/// and removed when dropped.
pub struct Devnet {
    pub tmp: PathBuf,
    pub dir: PathBuf,
    pub api: String,
    child: Child,
}

impl Devnet {
    /// Starts `civitas devnet` on a fresh directory and waits until its sample data (identity,
    /// documents, public money) is seeded.
    pub fn start(name: &str, salt: u16) -> Self {
        let tmp = std::env::temp_dir().join(format!("civitas-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let dir = tmp.join("devnet");
        let base = free_base_port(salt);
        let child = Command::new(BIN)
            .args(["devnet", "--dir", dir.to_str().unwrap(), "--base-port"])
            .arg(base.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut devnet = Self {
            tmp,
            dir,
            api: format!("http://127.0.0.1:{base}"),
            child,
        };
        let start = Instant::now();
        while !devnet.dir.join("sample-data.done").exists() {
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "the sample data was not seeded within 5 minutes"
            );
            if let Ok(Some(status)) = devnet.child.try_wait() {
                panic!("civitas devnet exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        devnet
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// The workspace's root.
pub fn workspace() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Node.js tools of the tests (`tests/browser`: the portal's browser suite and the
/// independent OpenAPI validator), installed from the lock file if they are not yet.
pub fn node_suite() -> PathBuf {
    let suite = workspace().join("tests/browser");
    let installed = ["playwright-core", "axe-core", "@apidevtools/swagger-parser"]
        .iter()
        .all(|package| suite.join("node_modules").join(package).exists());
    if !installed {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&suite)
            .status()
            .expect("npm (Node.js) is needed for these tests: install Node.js 20 or later");
        assert!(
            status.success(),
            "npm ci in tests/browser failed; run it by hand to see why"
        );
    }
    suite
}

/// Runs the CLI with `args` and gives its standard output; panics, showing both streams, if it
/// fails.
pub fn run_ok(args: &[&str]) -> String {
    ok(civitas(args))
}

/// Runs the CLI with `args`, which must fail, and gives its standard error.
pub fn run_fails(args: &[&str]) -> String {
    let output = civitas(args);
    assert!(
        !output.status.success(),
        "expected a failure: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `text` as JSON; panics, showing it, if it is not.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A vault process, killed when dropped.
pub struct VaultProcess(Child);

impl Drop for VaultProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `civitas vault serve` on `port` for the vault account `key`, following `node`; waits
/// until it answers. Its log is `dir` with the extension `log`.
pub fn start_vault(
    dir: &std::path::Path,
    key: &std::path::Path,
    node: &str,
    port: u16,
) -> VaultProcess {
    let log = std::fs::File::create(dir.with_extension("log")).unwrap();
    let child = Command::new(BIN)
        .args(["vault", "serve", "--dir"])
        .arg(dir)
        .arg("--key")
        .arg(key)
        .args(["--node", node, "--listen", &format!("127.0.0.1:{port}")])
        .args(["--follow-ms", "300"])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/v1/vault");
    wait_for("the vault to listen", Duration::from_secs(30), || {
        get(&url).is_some()
    });
    VaultProcess(child)
}
