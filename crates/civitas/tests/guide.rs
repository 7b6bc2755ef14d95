//! `docs/OPERATIONS.md`, run as written: every block marked `<!-- tested: NAME -->` is read
//! from the guide and its commands are run, one folder per host, on 127.0.0.1.
//!
//! Four agencies each create their keys in their own folder; a coordinator assembles genesis;
//! each agency writes the guide's `node.toml`, starts the guide's systemd `ExecStart` line and
//! waits for `/readyz`; finance registers a notary who notarises a document and rotates its
//! key; a fifth agency joins with its validator by vote; it is renamed; a founding agency
//! retires and its validator leaves at the next epoch; a node is backed up, restored from the
//! backup and catches up. If the guide's commands drift from the CLI, this test fails.
//!
//! What a test on one machine cannot do literally, it maps, and only this: `/var/lib/civitas`,
//! `/var/backups` and `~` are the host's folder; `sudo useradd` is skipped (the service user is
//! the machine's business), `sudo -u civitas` and `sudo` are dropped; `systemctl start|stop`
//! starts the unit's `ExecStart` line or sends it SIGTERM; the guide's example addresses and
//! ports are each host's own on 127.0.0.1; the guide's example keys and numbers are the real
//! ones; a `civitas tx|query` command reaches the host's own node, as the default
//! `http://127.0.0.1:8080` does on a real host; `approve` gets `--yes` (no terminal here);
//! epochs are 20 blocks instead of 1,000.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The guide's tested blocks, by name.
struct Guide(BTreeMap<String, String>);

impl Guide {
    fn load() -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/OPERATIONS.md");
        let text = std::fs::read_to_string(path).unwrap();
        let mut blocks = BTreeMap::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let Some(name) = line
                .trim()
                .strip_prefix("<!-- tested: ")
                .and_then(|rest| rest.strip_suffix(" -->"))
            else {
                continue;
            };
            let fence = lines.next().expect("a fenced block after the marker");
            let indent = fence.len() - fence.trim_start().len();
            assert!(
                fence.trim().starts_with("```"),
                "{name}: no fence after the marker"
            );
            let mut body = String::new();
            for line in lines.by_ref() {
                if line.trim() == "```" {
                    break;
                }
                body.push_str(line.get(indent..).unwrap_or(line.trim_start()));
                body.push('\n');
            }
            blocks.insert(name.to_string(), body);
        }
        Self(blocks)
    }

    fn block(&self, name: &str) -> &str {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("docs/OPERATIONS.md has no block marked tested: {name}"))
    }

    /// The commands of a shell block: continuation lines joined, comments and blank lines
    /// dropped.
    fn commands(&self, name: &str) -> Vec<String> {
        let mut commands = Vec::new();
        let mut current = String::new();
        for line in self.block(name).lines() {
            let line = strip_comment(line);
            let (line, continues) = match line.trim_end().strip_suffix('\\') {
                Some(start) => (start.to_string(), true),
                None => (line.trim_end().to_string(), false),
            };
            current.push_str(line.trim_start());
            if continues {
                current.push(' ');
            } else if !current.trim().is_empty() {
                commands.push(std::mem::take(&mut current));
            }
        }
        commands
    }
}

/// A shell line without its `# comment` (a `#` outside quotes, at the start or after a space).
fn strip_comment(line: &str) -> String {
    let mut quoted = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quoted, c) {
            (None, '"' | '\'') => quoted = Some(c),
            (Some(q), c) if c == q => quoted = None,
            (None, '#') if previous.is_whitespace() => return line[..i].to_string(),
            _ => {}
        }
        previous = c;
    }
    line.to_string()
}

/// One agency's machine: a folder standing for its validator host and its admins' homes.
struct Host {
    id: String,
    root: PathBuf,
    api_port: u16,
    p2p_port: u16,
    node: Option<Child>,
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.node.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Host {
    fn new(tmp: &Path, id: &str, api_port: u16, p2p_port: u16) -> Self {
        let root = tmp.join(id);
        std::fs::create_dir_all(root.join("home")).unwrap();
        Self {
            id: id.to_string(),
            root,
            api_port,
            p2p_port,
            node: None,
        }
    }

    fn var_lib(&self) -> PathBuf {
        self.root.join("var/lib/civitas")
    }

    fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    fn p2p(&self) -> String {
        format!("127.0.0.1:{}", self.p2p_port)
    }

    /// The host's own paths and ports in place of the guide's.
    fn localize(&self, text: &str) -> String {
        text.replace("/var/lib/civitas", self.var_lib().to_str().unwrap())
            .replace(
                "/var/backups",
                self.root.join("var/backups").to_str().unwrap(),
            )
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", self.api_port))
            .replace("0.0.0.0:9000", &self.p2p())
    }

    /// Runs one of the guide's commands on this host, in `cwd`; returns its standard output.
    fn run(&mut self, command: &str, cwd: &Path, guide: &Guide) -> String {
        let mut command = self.localize(command);
        if command.starts_with("sudo useradd") {
            return String::new();
        }
        match command.as_str() {
            "sudo systemctl enable --now civitas" | "sudo systemctl start civitas" => {
                self.start(guide);
                return String::new();
            }
            "sudo systemctl stop civitas" => {
                self.stop();
                return String::new();
            }
            _ => {}
        }
        for prefix in ["sudo -u civitas ", "sudo "] {
            if let Some(rest) = command.strip_prefix(prefix) {
                command = rest.to_string();
            }
        }
        let reaches_node = command.starts_with("civitas tx ")
            || command.starts_with("civitas query ")
            || command.starts_with("civitas node catch-up");
        if reaches_node && !command.contains("--node ") {
            command.push_str(&format!(" --node {}", self.api()));
        }
        if command.starts_with("civitas tx governance approve") {
            command.push_str(" --yes");
        }
        let bin_dir = Path::new(BIN).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &command])
            .current_dir(cwd)
            .env("HOME", self.home())
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: `{command}` failed: {}\n{}{}",
            self.id,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs a whole shell block of the guide, each command in `cwd`.
    fn run_block(&mut self, guide: &Guide, name: &str, cwd: &Path, edits: &[(&str, &str)]) {
        for command in guide.commands(name) {
            self.run(&edit(&command, edits), cwd, guide);
        }
    }

    /// The systemd unit's `ExecStart`, in its `WorkingDirectory`, logging to `node.log`.
    fn start(&mut self, guide: &Guide) {
        assert!(self.node.is_none(), "{}: already running", self.id);
        let unit = guide.block("systemd");
        let field = |name: &str| {
            unit.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("the unit has no {name}"))
                .to_string()
        };
        let exec = self.localize(&field("ExecStart="));
        let exec = exec.replace("/usr/local/bin/civitas", BIN);
        let mut words = exec.split_whitespace();
        let program = words.next().unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("node.log"))
            .unwrap();
        let child = Command::new(program)
            .args(words)
            .current_dir(self.localize(&field("WorkingDirectory=")))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.node = Some(child);
    }

    /// `systemctl stop`: SIGTERM, then wait for the node to exit.
    fn stop(&mut self) {
        let Some(mut child) = self.node.take() else {
            panic!("{}: not running", self.id);
        };
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        assert!(exit.success(), "{}: node exited with {exit}", self.id);
    }

    fn ready(&self) -> bool {
        Command::new("curl")
            .args(["-sf", "--max-time", "5", &format!("{}/readyz", self.api())])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

/// `command` with each of the guide's example values replaced by the real one.
fn edit(command: &str, edits: &[(&str, &str)]) -> String {
    let mut command = command.to_string();
    for (example, real) in edits {
        command = command.replace(example, real);
    }
    command
}

/// The `public key:` line of `civitas keys show`.
fn public_key(shown: &str) -> String {
    shown
        .lines()
        .find_map(|l| l.strip_prefix("public key:"))
        .map(|k| k.trim().to_string())
        .unwrap_or_else(|| panic!("no public key in {shown}"))
}

/// The `hash` line of `civitas genesis show`.
fn genesis_hash(shown: &str) -> String {
    shown
        .lines()
        .find(|l| l.trim_start().starts_with("hash"))
        .map(|l| l.split_whitespace().last().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no hash in {shown}"))
}

fn status(host: &Host) -> Value {
    get(&format!("{}/v1/status", host.api())).unwrap_or_default()
}

#[test]
fn the_operations_guide_works_as_written() {
    let guide = Guide::load();
    let tmp = std::env::temp_dir().join(format!("civitas-guide-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let base = free_base_port(11);
    let ids = ["finance", "land", "health", "audit", "justice"];
    let mut hosts: Vec<Host> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Host::new(&tmp, id, base + i as u16, base + 1000 + i as u16))
        .collect();
    let founders = 0..4;

    // 1. Every agency creates its keys on its own host and sends the public keys.
    let mut keys = BTreeMap::new();
    for host in &mut hosts[founders.clone()] {
        let (id, home) = (host.id.clone(), host.home());
        host.run_block(&guide, "keys", &home, &[("finance", &id)]);
        let validator = public_key(&host.run(
            "civitas keys show /var/lib/civitas/validator.json",
            &home,
            &guide,
        ));
        let admin = public_key(&host.run(
            &format!("civitas keys show ~/{id}-admin.json"),
            &home,
            &guide,
        ));
        keys.insert(id, (validator, admin));
    }

    // 2. The coordinator assembles genesis; every agency checks the hash it publishes.
    let coordinator = tmp.join("coordinator");
    std::fs::create_dir_all(&coordinator).unwrap();
    let mut clerk = Host::new(&tmp, "coordinator-host", 0, 0);
    let commands = guide.commands("genesis");
    let [init, add, show] = commands.as_slice() else {
        panic!("the genesis block changed: {commands:?}");
    };
    clerk.run(&format!("{init} --epoch-length 20"), &coordinator, &guide);
    for host in &hosts[founders.clone()] {
        let (validator, admin) = &keys[&host.id];
        let name = format!("Ministry of {}", host.id);
        let add = add
            .replacen("<hex>", validator, 1)
            .replacen("<hex>", admin, 1)
            .replace("--id finance", &format!("--id {}", host.id))
            .replace("\"Ministry of Finance\"", &format!("{name:?}"))
            .replace("10.0.0.1:9000", &host.p2p());
        clerk.run(&add, &coordinator, &guide);
    }
    let published = genesis_hash(&clerk.run(show, &coordinator, &guide));
    for host in &mut hosts[founders.clone()] {
        std::fs::copy(
            coordinator.join("genesis.json"),
            host.var_lib().join("genesis.json"),
        )
        .unwrap();
        let var_lib = host.var_lib();
        let shown = host.run("civitas genesis show genesis.json", &var_lib, &guide);
        assert_eq!(genesis_hash(&shown), published, "{}", host.id);
    }

    // 3. and 4. Every agency writes node.toml and starts its service; each node becomes ready.
    let node_toml = guide.block("node-toml").to_string();
    let start = guide.commands("start");
    let [enable, readyz] = start.as_slice() else {
        panic!("the start block changed: {start:?}");
    };
    for host in &mut hosts[founders.clone()] {
        std::fs::write(host.var_lib().join("node.toml"), host.localize(&node_toml)).unwrap();
        let home = host.home();
        host.run(enable, &home, &guide);
    }
    for host in &mut hosts[founders.clone()] {
        wait_for(
            &format!("{} ready", host.id),
            Duration::from_secs(120),
            || host.ready(),
        );
        // The guide's own check, until it says ready (the probe above may see a block just
        // before the guide's line runs).
        let home = host.home();
        wait_for(
            &format!("{} ready by the guide's curl", host.id),
            Duration::from_secs(60),
            || {
                let answer = host.run(readyz, &home, &guide);
                serde_json::from_str::<Value>(&answer).is_ok_and(|a| a["ready"] == true)
            },
        );
    }

    // 5. Finance's admin registers a notary, who notarises a document.
    let finance_home = hosts[0].home();
    std::fs::write(finance_home.join("deed.pdf"), b"%PDF-1.7 deed 2026/114").unwrap();
    let commands = guide.commands("officials");
    let [notary_key, notary_show, register, anchor] = commands.as_slice() else {
        panic!("the officials block changed: {commands:?}");
    };
    hosts[0].run(notary_key, &finance_home, &guide);
    let notary = public_key(&hosts[0].run(notary_show, &finance_home, &guide));
    let register = register.replace("<the notary's public key>", &notary);
    hosts[0].run(&register, &finance_home, &guide);
    hosts[0].run(anchor, &finance_home, &guide);

    // The notary rotates its key: the old key is refused, the new one signs.
    hosts[0].run_block(&guide, "rotate", &finance_home, &[]);
    let again = anchor.replace("deed.pdf", "deed-2.pdf");
    std::fs::write(finance_home.join("deed-2.pdf"), b"%PDF-1.7 deed 2026/115").unwrap();
    let old_key = Command::new(BIN)
        .args([
            "tx",
            "notary",
            "anchor",
            "deed-2.pdf",
            "--title",
            "Deed",
            "--key",
        ])
        .arg(finance_home.join("notary.json"))
        .args(["--node", &hosts[0].api()])
        .current_dir(&finance_home)
        .output()
        .unwrap();
    assert!(!old_key.status.success(), "the rotated-out key still signs");
    hosts[0].run(
        &again.replace("--key notary.json", "--key notary-2027.json"),
        &finance_home,
        &guide,
    );

    // A fifth agency, justice, joins with its validator: its keys on its own hosts, its node
    // started as the others were (waiting until the vote), finance proposes, land approves,
    // health's approval executes it (3 of 4).
    let commands = guide.commands("join");
    let [admin_new, validator_new, admin_show, propose, open, approve] = commands.as_slice() else {
        panic!("the join block changed: {commands:?}");
    };
    let justice_home = hosts[4].home();
    let justice_lib = hosts[4].var_lib();
    std::fs::create_dir_all(&justice_lib).unwrap();
    hosts[4].run(admin_new, &justice_home, &guide);
    hosts[4].run(validator_new, &justice_lib, &guide);
    let justice_admin = public_key(&hosts[4].run(admin_show, &justice_home, &guide));
    let justice_validator =
        public_key(&hosts[4].run("civitas keys show validator.json", &justice_lib, &guide));
    std::fs::copy(
        coordinator.join("genesis.json"),
        justice_lib.join("genesis.json"),
    )
    .unwrap();
    std::fs::write(justice_lib.join("node.toml"), hosts[4].localize(&node_toml)).unwrap();
    hosts[4].run(enable, &justice_home, &guide);
    let justice_p2p = hosts[4].p2p();
    let propose = edit(
        propose,
        &[
            ("5f0c…a1", &justice_admin),
            ("9a41…7c", &justice_validator),
            ("10.0.0.12:9000", &justice_p2p),
        ],
    );
    let out = hosts[0].run(&propose, &finance_home, &guide);
    assert!(out.contains("proposal_opened #1"), "{out}");
    let land_home = hosts[1].home();
    let url = format!("{}/v1/governance/proposals/1", hosts[1].api());
    wait_for("proposal 1 on land's node", Duration::from_secs(30), || {
        get(&url).is_some()
    });
    let listed = hosts[1].run(open, &land_home, &guide);
    assert!(listed.contains("add agency justice"), "{listed}");
    let approve_as = |host: &mut Host, number: &str| {
        // A proposal made through another agency's node is final there first: wait until
        // this host's node has it (a person would see it in `query governance --open`).
        let url = format!("{}/v1/governance/proposals/{number}", host.api());
        wait_for("the proposal on this node", Duration::from_secs(30), || {
            get(&url).is_some()
        });
        let command = approve
            .replace("approve 4", &format!("approve {number}"))
            .replace("land-admin.json", &format!("{}-admin.json", host.id));
        let home = host.home();
        host.run(&command, &home, &guide)
    };
    approve_as(&mut hosts[1], "1");
    let out = approve_as(&mut hosts[2], "1");
    assert!(out.contains("proposal_executed #1"), "{out}");

    // At the next epoch the newcomer validates: five validators.
    wait_for(
        "justice's validator in the set",
        Duration::from_secs(180),
        || {
            hosts.iter().all(|h| {
                status(h)["validators"].as_array().is_some_and(|v| {
                    v.len() == 5 && v.iter().any(|k| k == justice_validator.as_str())
                })
            })
        },
    );

    // Justice is renamed (justice proposes; land, health approve) and audit retires (finance
    // proposes; land, health approve).
    let commands = guide.commands("rename-retire");
    let [rename, retire] = commands.as_slice() else {
        panic!("the rename-retire block changed: {commands:?}");
    };
    let out = hosts[4].run(rename, &justice_home, &guide);
    assert!(out.contains("proposal_opened #2"), "{out}");
    approve_as(&mut hosts[1], "2");
    approve_as(&mut hosts[2], "2");
    let out = hosts[0].run(retire, &finance_home, &guide);
    assert!(out.contains("proposal_opened #3"), "{out}");
    approve_as(&mut hosts[1], "3");
    let out = approve_as(&mut hosts[2], "3");
    assert!(out.contains("proposal_executed #3"), "{out}");
    // Finance's node lists the agencies in force once it has the block that retired audit.
    let expected = [
        ("finance", "Ministry of finance"),
        ("health", "Ministry of health"),
        ("justice", "Ministry of Justice and Law"),
        ("land", "Ministry of land"),
    ];
    let names = || -> Vec<(String, String)> {
        get(&format!("{}/v1/agencies", hosts[0].api()))
            .and_then(|a| a["agencies"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|a| {
                let text = |f: &str| a[f].as_str().unwrap_or_default().to_string();
                (text("id"), text("name"))
            })
            .collect()
    };
    let wanted: Vec<(String, String)> = expected
        .iter()
        .map(|(id, name)| (id.to_string(), name.to_string()))
        .collect();
    wait_for("the agencies in force", Duration::from_secs(30), || {
        names() == wanted
    });
    // Audit's validator leaves at the next epoch; then its service is stopped.
    let audit_validator = keys["audit"].0.clone();
    wait_for(
        "audit's validator to leave",
        Duration::from_secs(180),
        || {
            [0, 1, 2, 4].iter().all(|&i| {
                status(&hosts[i])["validators"].as_array().is_some_and(|v| {
                    v.len() == 4 && v.iter().all(|k| k != audit_validator.as_str())
                })
            })
        },
    );
    let audit_home = hosts[3].home();
    hosts[3].run("sudo systemctl stop civitas", &audit_home, &guide);

    // Land backs up its node, keeps running, then restores from the backup and catches up.
    hosts[1].run_block(&guide, "backup", &land_home, &[]);
    let before = height(&hosts[0].api());
    wait_for("blocks after the backup", Duration::from_secs(60), || {
        height(&hosts[0].api()) > before + 5
    });
    let today = hosts[1].run("date +%F", &land_home, &guide);
    hosts[1].run_block(
        &guide,
        "restore",
        &land_home,
        &[("2026-12-01", today.trim())],
    );
    // `catch-up` returned once land had the blocks it missed; it keeps up from then on.
    wait_for("land to keep up", Duration::from_secs(60), || {
        height(&hosts[1].api()) + 2 >= height(&hosts[0].api())
    });

    // Every node in force agrees on the chain, with four validators, of which three must sign:
    // stopping one more still leaves progress only if the newcomer signs.
    let target = height(&hosts[0].api()) + 3;
    wait_for("all nodes past the target", Duration::from_secs(60), || {
        [0, 1, 2, 4]
            .iter()
            .all(|&i| height(&hosts[i].api()) >= target)
    });
    let block = |i: usize| get(&format!("{}/v1/blocks/{target}", hosts[i].api())).unwrap();
    for i in [1, 2, 4] {
        assert_eq!(block(i)["hash"], block(0)["hash"], "{}", hosts[i].id);
    }
    let health_home = hosts[2].home();
    hosts[2].run("sudo systemctl stop civitas", &health_home, &guide);
    let before = height(&hosts[0].api());
    wait_for(
        "progress with finance, land and justice",
        Duration::from_secs(120),
        || height(&hosts[0].api()) >= before + 5,
    );
    drop(hosts);
    let _ = std::fs::remove_dir_all(&tmp);
}
