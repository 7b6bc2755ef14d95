//! The devnet's vaults: one beside the first two agencies' nodes (finance and land), and the
//! sample personal data a newcomer sees on the portal's "My data" page: a citizen with a record
//! in each vault, one shared on the citizen's consent, and an access log with entries.
//!
//! Everything goes through the same commands an operator and an official would run
//! (`civitas tx identity ...`, `civitas tx sharing ...`, `civitas vault ...`), as processes of
//! this executable, so the sample exercises what users use.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A vault listens on its node's API port plus this (8080 gives 9580: browsers refuse some
/// ports, 10080 among them).
pub(crate) const VAULT_PORT_OFFSET: u16 = 1500;
/// Marker: the vaults' accounts are registered and named on the ledger.
const NAMED: &str = "sample-vaults-named.done";
/// Marker: the sample personal data is in the vaults and on the ledger.
const SEEDED: &str = "sample-vaults.done";
/// The agencies with a vault: (agency, index of its node).
const VAULTS: [(&str, usize); 2] = [("finance", 0), ("land", 1)];
/// The sample citizen's key file (in `keys/`), whose records "My data" shows.
pub(crate) const CITIZEN: &str = "citizen-ana";
/// The sample citizen's birth certificate, held by land. Made-up data: it lives in a vault,
/// never on the ledger.
const BIRTH: &str = r#"{"name":"Ana Example","born":"1990-04-01","place":"Northfield","parents":["Maria Example","Jon Example"]}"#;
/// Her income statement, held by finance.
const INCOME: &str =
    r#"{"name":"Ana Example","year":2025,"income":{"amount":4250000,"currency":"EUR"}}"#;

/// The vaults' addresses, by agency.
pub(crate) fn urls(base_ports: &[u16]) -> Vec<(String, String)> {
    VAULTS
        .iter()
        .filter_map(|(agency, node)| {
            let port = base_ports.get(*node)?.checked_add(VAULT_PORT_OFFSET)?;
            Some((agency.to_string(), format!("http://127.0.0.1:{port}")))
        })
        .collect()
}

/// Runs this executable with `args`, and its standard output if it succeeded.
pub(crate) fn civitas(args: &[&str]) -> Result<String> {
    let exe = std::env::current_exe().context("cannot find the civitas executable")?;
    let output = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run civitas {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "civitas {} failed: {}",
            args.iter().take(3).copied().collect::<Vec<_>>().join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The devnet's vaults: what names them, starts them and seeds them.
pub(crate) struct Vaults<'a> {
    pub(crate) dir: &'a Path,
    /// Each node's API, by node index.
    apis: Vec<String>,
}

impl<'a> Vaults<'a> {
    pub(crate) fn new(dir: &'a Path, apis: Vec<String>) -> Self {
        Self { dir, apis }
    }

    pub(crate) fn key(&self, name: &str) -> String {
        self.dir
            .join("keys")
            .join(format!("{name}.json"))
            .to_string_lossy()
            .into_owned()
    }

    pub(crate) fn account(&self, name: &str) -> Result<String> {
        let shown: serde_json::Value =
            serde_json::from_str(&civitas(&["keys", "show", &self.key(name), "--json"])?)?;
        shown["account"]
            .as_str()
            .map(str::to_string)
            .context("keys show gave no account")
    }

    pub(crate) fn api(&self, node: usize) -> &str {
        &self.apis[node.min(self.apis.len() - 1)]
    }

    /// Registers the vaults' accounts and the officials and citizen of the sample, and names
    /// the vaults on the ledger (once per network).
    pub(crate) fn name(&self, ports: &[u16]) -> Result<()> {
        if self.dir.join(NAMED).exists() || self.apis.len() < 2 {
            return Ok(());
        }
        let api = self.api(0).to_string();
        let officials = [
            ("land", "land-records", "records"),
            ("land", "land-vault", "vault"),
            ("finance", "finance-records", "records"),
            ("finance", "finance-caseworker", "caseworker"),
            ("finance", "finance-vault", "vault"),
        ];
        for (_, name, _) in officials {
            self.new_key(name)?;
        }
        self.new_key(CITIZEN)?;
        // What a run that stopped half way registered is not registered again.
        let registered = |name: &str| -> Result<bool> {
            let account = self.account(name)?;
            Ok(civitas_client::Client::new(&api)
                .get_json(&format!("/v1/accounts/{account}"))
                .is_ok())
        };
        for (agency, name, roles) in officials {
            if registered(name)? {
                continue;
            }
            civitas(&[
                "tx",
                "identity",
                "register-official",
                "--key",
                &self.key(agency),
                "--node",
                &api,
                "--official-key",
                &self.key(name),
                "--agency",
                agency,
                "--name",
                name,
                "--roles",
                roles,
            ])?;
        }
        if !registered(CITIZEN)? {
            civitas(&[
                "tx",
                "identity",
                "register-citizen",
                "--key",
                &self.key("land"),
                "--node",
                &api,
                "--citizen-key",
                &self.key(CITIZEN),
            ])?;
        }
        for name in ["land-vault", "finance-vault", CITIZEN] {
            civitas(&[
                "tx",
                "identity",
                "set-encryption-key",
                "--key",
                &self.key(name),
                "--node",
                &api,
                "--encryption-key",
                &self.key(name),
            ])?;
        }
        for (agency, url) in urls(ports) {
            civitas(&[
                "tx",
                "sharing",
                "set-vault",
                "--key",
                &self.key(&agency),
                "--node",
                &api,
                "--account",
                &self.account(&format!("{agency}-vault"))?,
                "--url",
                &url,
            ])?;
        }
        std::fs::write(self.dir.join(NAMED), "the devnet's vaults are named\n")?;
        Ok(())
    }

    pub(crate) fn new_key(&self, name: &str) -> Result<()> {
        if Path::new(&self.key(name)).exists() {
            return Ok(());
        }
        civitas(&["keys", "new", "--out", &self.key(name), "--label", name])?;
        Ok(())
    }

    /// Starts the vaults named (each beside its agency's node), and waits until they listen.
    /// Each started vault is pushed to `children` as soon as it runs, so the caller stops it
    /// whatever happens next.
    pub(crate) fn start(&self, ports: &[u16], children: &mut Vec<Child>) -> Result<()> {
        if !self.dir.join(NAMED).exists() {
            return Ok(());
        }
        let exe = std::env::current_exe().context("cannot find the civitas executable")?;
        for ((agency, node), (_, url)) in VAULTS.iter().zip(urls(ports)) {
            let folder: PathBuf = self.dir.join(format!("vault-{agency}"));
            std::fs::create_dir_all(&folder)?;
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(folder.join("vault.log"))?;
            let listen = url.trim_start_matches("http://").to_string();
            let child = Command::new(&exe)
                .args(["vault", "serve", "--dir"])
                .arg(folder.join("data"))
                .args(["--key", &self.key(&format!("{agency}-vault"))])
                .args(["--node", self.api(*node), "--listen", &listen])
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("cannot start the vault of {agency}"))?;
            children.push(child);
            let status = civitas_client::Client::new(&url);
            let started = Instant::now();
            // Ready when this vault answers for its agency (another process on the port would
            // not, and this one may have exited instead: its log says why).
            loop {
                if let Some(child) = children.last_mut()
                    && let Ok(Some(exit)) = child.try_wait()
                {
                    bail!(
                        "the vault of {agency} exited ({exit}); see {}",
                        folder.join("vault.log").display()
                    );
                }
                let answered = status.get_json("/v1/vault").ok();
                if answered.is_some_and(|a| a["agency"] == *agency) {
                    break;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    bail!(
                        "the vault of {agency} did not answer at {url} within 30 s; see {}",
                        folder.join("vault.log").display()
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(())
    }

    /// Whether the vaults are named and their sample data seeded.
    pub(crate) fn seeded(&self) -> bool {
        self.dir.join(NAMED).exists() && self.dir.join(SEEDED).exists()
    }

    /// Seals the sample records, shares one on consent and reads both (once per network).
    pub(crate) fn seed(&self) -> Result<()> {
        if self.dir.join(SEEDED).exists() || !self.dir.join(NAMED).exists() {
            return Ok(());
        }
        let samples = self.dir.join("samples");
        std::fs::create_dir_all(&samples)?;
        let citizen = self.account(CITIZEN)?;
        let mut records = Vec::new();
        for (officer, node, schema, data, file) in [
            (
                "land-records",
                1,
                "civil.birth-certificate",
                BIRTH,
                "birth.json",
            ),
            (
                "finance-records",
                0,
                "tax.income-statement",
                INCOME,
                "income.json",
            ),
        ] {
            let path = samples.join(file);
            std::fs::write(&path, data)?;
            let put: serde_json::Value = serde_json::from_str(&civitas(&[
                "vault",
                "put",
                "--subject",
                &citizen,
                "--schema",
                schema,
                "--data",
                &path.to_string_lossy(),
                "--basis",
                "records-held-for-a-public-task",
                "--key",
                &self.key(officer),
                "--node",
                self.api(node),
                "--json",
            ])?)?;
            // The data was only needed to seal it; the vault has it now.
            let _ = std::fs::remove_file(&path);
            records.push(
                put["record"]
                    .as_str()
                    .context("vault put gave no record")?
                    .to_string(),
            );
        }
        let birth = &records[0];
        // The citizen consents to finance receiving her birth certificate for a permit
        // application (her tools open it from land's vault for the proof it is about her).
        civitas(&[
            "vault",
            "consent",
            birth,
            "--recipient",
            "finance",
            "--purpose",
            "permit-application",
            "--days",
            "30",
            "--key",
            &self.key(CITIZEN),
            "--node",
            self.api(0),
        ])?;
        let consent = self.latest_consent(birth)?;
        civitas(&[
            "tx",
            "sharing",
            "request",
            "--record",
            birth,
            "--purpose",
            "permit-application",
            "--basis",
            "data-subject-consent",
            "--consent",
            &consent.to_string(),
            "--key",
            &self.key("finance-caseworker"),
            "--node",
            self.api(0),
        ])?;
        // Finance's caseworker reads the copy, which finance's vault fetches from land's once
        // land's node has the share too; land's records officer reads the original: two
        // entries in the citizen's log.
        self.wait_for_share(birth, "finance")?;
        civitas(&[
            "vault",
            "read",
            birth,
            "--purpose",
            "permit-application",
            "--basis",
            "recipient-uses-shared-copy",
            "--key",
            &self.key("finance-caseworker"),
            "--node",
            self.api(0),
            "--json",
        ])?;
        civitas(&[
            "vault",
            "read",
            birth,
            "--purpose",
            "case-handling",
            "--basis",
            "holder-case-handling",
            "--key",
            &self.key("land-records"),
            "--node",
            self.api(1),
            "--json",
        ])?;
        std::fs::write(
            self.dir.join(SEEDED),
            "the vaults' sample data was seeded\n",
        )?;
        Ok(())
    }

    /// Waits until every node of the sample's vaults records `record`'s copy for `agency`
    /// (each vault follows its own node, and the holder's answers only shares it has seen).
    fn wait_for_share(&self, record: &str, agency: &str) -> Result<()> {
        let started = Instant::now();
        for (_, node) in VAULTS {
            let client = civitas_client::Client::new(self.api(node));
            loop {
                let copies = client
                    .get_json(&format!("/v1/sharing/records/{record}"))
                    .ok()
                    .and_then(|entry| entry["value"]["copies"].as_array().cloned())
                    .unwrap_or_default();
                if copies.iter().any(|c| c == agency) {
                    break;
                }
                if started.elapsed() > Duration::from_secs(30) {
                    bail!("node {node} did not show the share of {record} within 30 s");
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        Ok(())
    }

    /// The number of the newest consent given for `record` (from its log, which the node's
    /// read model may show a moment after the block).
    fn latest_consent(&self, record: &str) -> Result<u64> {
        let client = civitas_client::Client::new(self.api(0));
        let path = format!("/v1/sharing/records/{record}/log?order=newest&limit=20");
        let started = Instant::now();
        loop {
            let found = client.get_json(&path).ok().and_then(|log| {
                log["items"].as_array().and_then(|items| {
                    items
                        .iter()
                        .find(|e| e["kind"] == "consent_given")
                        .and_then(|e| e["consent"].as_u64())
                })
            });
            match found {
                Some(consent) => return Ok(consent),
                None if started.elapsed() > Duration::from_secs(30) => {
                    bail!("the consent is not in the record's log after 30 s")
                }
                None => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }
}
