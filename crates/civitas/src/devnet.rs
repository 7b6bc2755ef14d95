//! `civitas devnet`: a local network of agency validators on 127.0.0.1, with the HTTP API and
//! sample data, resumable from its directory.

use crate::keys::write_new_key;
use crate::output::read_genesis;
use anyhow::{Context, Result, bail};
use civitas_client::Client;
use civitas_core::genesis::{Genesis, GenesisAgency};
use civitas_core::time::TimestampMs;
use civitas_kit::samples::AGENCIES;
use clap::Args as ClapArgs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// P2P ports are the API base port plus this offset.
const P2P_PORT_OFFSET: u16 = 1000;
/// Blocks per epoch on a devnet: short, so validator-set changes show within a minute or two.
const DEVNET_EPOCH_LENGTH: u64 = 200;
/// How long to wait for the network to finalize its first block.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(ClapArgs)]
pub struct Args {
    /// Number of validators (one per agency) when creating a new network.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Directory holding genesis.json, keys/ and one folder per node; reused if present.
    #[arg(long, default_value = "devnet")]
    dir: PathBuf,
    /// Node i serves its API on 127.0.0.1:(P+i) and listens for peers on P+1000+i.
    #[arg(long, default_value_t = 8080)]
    base_port: u16,
    /// Do not seed sample data (officials, documents, a budget, payments, tenders) on first start.
    #[arg(long)]
    no_sample_data: bool,
    /// Only create the directory (keys, genesis, node configurations), then exit.
    #[arg(long)]
    init_only: bool,
    /// Blocks per consensus epoch when creating a new network (validator-set changes take
    /// effect at the next epoch).
    #[arg(long, default_value_t = DEVNET_EPOCH_LENGTH)]
    epoch_length: u64,
}

/// Restarts allowed per node before the devnet gives up on it.
const RESTARTS_MAX: u32 = 5;

fn agency(i: usize) -> (String, String) {
    match AGENCIES.get(i) {
        Some((id, name)) => (id.to_string(), name.to_string()),
        None => (format!("agency{i}"), format!("Agency {i}")),
    }
}

/// The wall clock in milliseconds (what tools put in a genesis time or an expiry).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Creates keys, genesis and node configurations for a new devnet.
pub(crate) fn create(
    dir: &Path,
    validators: usize,
    base_port: u16,
    epoch_length: u64,
) -> Result<Genesis> {
    if !(1..=32).contains(&validators) {
        bail!("--validators must be between 1 and 32");
    }
    if usize::from(base_port) + usize::from(P2P_PORT_OFFSET) + validators > 65_535 {
        bail!("--base-port {base_port} leaves no room for {validators} nodes");
    }
    std::fs::create_dir_all(dir.join("keys"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut agencies = Vec::new();
    for i in 0..validators {
        let (id, name) = agency(i);
        let node_dir = dir.join(format!("node{i}"));
        std::fs::create_dir_all(&node_dir)?;
        let validator =
            write_new_key(&node_dir.join("validator.json"), &format!("{id} validator"))?;
        let admin = write_new_key(
            &dir.join("keys").join(format!("{id}.json")),
            &format!("{id} admin"),
        )?;
        let p2p = format!("127.0.0.1:{}", base_port + P2P_PORT_OFFSET + i as u16);
        agencies.push(GenesisAgency {
            id,
            name,
            validator_key: validator.public_key,
            admin_keys: vec![admin.public_key],
            p2p_address: p2p.clone(),
        });
        let config = format!(
            "# Node {i} of the devnet. See docs/OPERATIONS.md for every setting.\n\
             genesis = \"../genesis.json\"\n\
             key = \"validator.json\"\n\
             data_dir = \"data\"\n\
             p2p_listen = \"{p2p}\"\n\
             api_listen = \"127.0.0.1:{}\"\n\
             allow_private_ips = true\n\
             # Served over plain HTTP on this machine: the session cookie cannot be Secure.\n\
             api.secure_cookies = false\n\
             # Tools and tests on this machine share one address: allow them more.\n\
             api.requests_per_second = 1000\n\
             api.burst = 2000\n\
             # Webhook receivers on this machine are on the loopback network.\n\
             webhooks.allow_private_targets = true\n",
            base_port + i as u16
        );
        std::fs::write(node_dir.join("node.toml"), config)?;
    }
    // A new network starts at the newest protocol version this release runs.
    let genesis =
        civitas_modules::examples::devnet_genesis(agencies, TimestampMs(now_ms()), epoch_length);
    genesis.validate()?;
    std::fs::write(dir.join("genesis.json"), genesis.to_json() + "\n")?;
    Ok(genesis)
}

fn api_port(dir: &Path, i: usize) -> Result<u16> {
    let text = std::fs::read_to_string(dir.join(format!("node{i}/node.toml")))?;
    let value: toml::Value = toml::from_str(&text)?;
    let listen = value
        .get("api_listen")
        .and_then(|v| v.as_str())
        .context("node.toml has no api_listen")?;
    let address: std::net::SocketAddr = listen.parse()?;
    Ok(address.port())
}

pub(crate) fn spawn(dir: &Path, i: usize) -> Result<Child> {
    let exe = std::env::current_exe().context("cannot find the civitas executable")?;
    let node_dir = dir.join(format!("node{i}"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(node_dir.join("node.log"))?;
    let child = Command::new(exe)
        .args(["node", "start", "--config"])
        .arg(node_dir.join("node.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start node {i}"))?;
    Ok(child)
}

pub(crate) fn wait_until_final(
    clients: &[Client],
    children: &mut [Child],
    dir: &Path,
) -> Result<()> {
    let start = Instant::now();
    loop {
        for (i, child) in children.iter_mut().enumerate() {
            if let Some(status) = child.try_wait()? {
                let log = dir.join(format!("node{i}/node.log"));
                // The node's own last words usually say what to do (a full disk, data of
                // another release); show them rather than only pointing at the log.
                let last = std::fs::read_to_string(&log)
                    .ok()
                    .and_then(|text| {
                        text.lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .map(|l| l.trim_start_matches("error: ").to_string())
                    })
                    .unwrap_or_default();
                bail!(
                    "node {i} exited ({status}) while starting: {last}\n(full log: {})",
                    log.display()
                );
            }
        }
        let ready = clients.iter().all(|c| {
            c.status()
                .ok()
                .and_then(|s| s["height"].as_u64())
                .unwrap_or(0)
                >= 1
        });
        if ready {
            return Ok(());
        }
        if start.elapsed() > STARTUP_TIMEOUT {
            bail!(
                "the network did not finalize a block within {STARTUP_TIMEOUT:?}; see the node logs in {}",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

pub(crate) fn stop(children: &mut [Child]) {
    for child in children.iter() {
        // Quietly: a node that already exited is no error here.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stderr(std::process::Stdio::null())
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for child in children.iter_mut() {
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

pub fn run(args: Args) -> Result<()> {
    let dir = args.dir;
    let genesis_path = dir.join("genesis.json");
    let (genesis, created) = if genesis_path.exists() {
        let genesis = read_genesis(&genesis_path)?;
        if genesis.agencies.len() != args.validators && args.validators != 4 {
            eprintln!(
                "note: {} already holds a {}-validator network; reusing it (delete the directory for a new one)",
                dir.display(),
                genesis.agencies.len()
            );
        }
        (genesis, false)
    } else {
        (
            create(&dir, args.validators, args.base_port, args.epoch_length)?,
            true,
        )
    };
    if args.init_only {
        println!(
            "{} {} ({} validators, genesis {}); start the nodes with `civitas node start --config {}/node<i>/node.toml`",
            if created { "created" } else { "kept existing" },
            dir.display(),
            genesis.agencies.len(),
            genesis.hash(),
            dir.display()
        );
        return Ok(());
    }
    let count = genesis.agencies.len();
    let mut children = Vec::new();
    let mut clients = Vec::new();
    for i in 0..count {
        children.push(spawn(&dir, i)?);
        clients.push(Client::new(&format!(
            "http://127.0.0.1:{}",
            api_port(&dir, i)?
        )));
    }
    println!(
        "{} {count} validators in {} (chain {}, genesis {})",
        if created {
            "created and started"
        } else {
            "resumed"
        },
        dir.display(),
        genesis.chain_id,
        genesis.hash()
    );
    if let Err(e) = wait_until_final(&clients, &mut children, &dir) {
        stop(&mut children);
        return Err(e);
    }
    let ports = (0..count)
        .map(|i| api_port(&dir, i))
        .collect::<Result<Vec<u16>>>()?;
    let vaults = crate::devnet_vaults::Vaults::new(
        &dir,
        clients.iter().map(|c| c.base().to_string()).collect(),
    );
    let mut vault_children = Vec::new();
    // A network seeded by an earlier release (the marker is there) gets no vaults: its
    // protocol may predate them.
    let seeding = !args.no_sample_data && !dir.join(crate::samples::ALL_SEEDED).exists();
    if seeding
        && let Err(e) =
            crate::samples::seed(&dir, &clients[0], &genesis).and_then(|()| vaults.name(&ports))
    {
        eprintln!("warning: could not seed sample data: {e:#}");
    }
    if let Err(e) = vaults.start(&ports, &mut vault_children) {
        eprintln!("warning: could not start the vaults: {e:#}");
    }
    if seeding {
        match vaults
            .seed()
            .and_then(|()| crate::devnet_permits::seed(&vaults))
        {
            // Marked only once everything is: a devnet started again retries what failed.
            Ok(()) if vaults.seeded() && crate::devnet_permits::seeded(&vaults) => {
                crate::samples::mark_seeded(&dir)?
            }
            Ok(()) => {}
            Err(e) => eprintln!("warning: could not seed the vaults' sample data: {e:#}"),
        }
    }
    println!();
    println!(
        "{:<10} {:<28} {:<24} {:<22} admin key",
        "agency", "name", "API", "p2p"
    );
    for (i, agency) in genesis.agencies.iter().enumerate() {
        println!(
            "{:<10} {:<28} {:<24} {:<22} {}",
            agency.id,
            agency.name,
            clients[i].base(),
            agency.p2p_address,
            dir.join("keys")
                .join(format!("{}.json", agency.id))
                .display()
        );
    }
    println!();
    if !vault_children.is_empty() {
        println!();
        for (agency, url) in crate::devnet_vaults::urls(&ports) {
            println!(
                "vault of {agency:<10} {url}   (data and log in {})",
                dir.join(format!("vault-{agency}")).display()
            );
        }
    }
    println!();
    println!(
        "logs: {}/node<i>/node.log   genesis: {}",
        dir.display(),
        genesis_path.display()
    );
    println!(
        "portal: {}/ in a browser (sign in with a key file from {}, such as {}-notary.json)",
        clients[0].base(),
        dir.join("keys").display(),
        genesis.agencies[0].id
    );
    if !vault_children.is_empty() {
        println!(
            "my data: {}/my-data, signed in with {} (a citizen with records in two vaults)",
            clients[0].base(),
            dir.join("keys")
                .join(format!("{}.json", crate::devnet_vaults::CITIZEN))
                .display()
        );
    }
    println!("try:  curl {}/v1/status", clients[0].base());
    println!("Press Ctrl-C to stop all nodes; run the same command again to resume.");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut restarts = vec![0u32; count];
    runtime.block_on(async {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        use tokio::signal::unix::{SignalKind, signal};
        // One listener each for the whole run: one made per turn of the loop would miss a
        // signal that arrives while the nodes are checked.
        let mut terminate =
            signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut interrupt =
            signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        loop {
            tokio::select! {
                _ = interrupt.recv() => return Ok::<(), anyhow::Error>(()),
                _ = terminate.recv() => return Ok(()),
                _ = tick.tick() => {
                    for i in 0..count {
                        let Ok(Some(status)) = children[i].try_wait() else { continue };
                        let log = dir.join(format!("node{i}/node.log"));
                        if restarts[i] > RESTARTS_MAX {
                            continue;
                        }
                        if status.code() == Some(civitas_core::protocol::EXIT_UPGRADE_REQUIRED) {
                            // Restarting the same release would only stop again.
                            restarts[i] = RESTARTS_MAX + 1;
                            eprintln!(
                                "node {i} stopped: this release does not know the protocol \
                                 version the chain activated; not restarting it. See {}",
                                log.display()
                            );
                            continue;
                        }
                        if restarts[i] == RESTARTS_MAX {
                            restarts[i] += 1;
                            eprintln!("node {i} exited again ({status}); not restarting it. See {}", log.display());
                            continue;
                        }
                        restarts[i] += 1;
                        eprintln!("node {i} exited ({status}); restarting it from its data (see {})", log.display());
                        children[i] = spawn(&dir, i)?;
                    }
                }
            }
        }
    })?;
    println!("stopping {count} nodes...");
    stop(&mut vault_children);
    stop(&mut children);
    println!("stopped; data kept in {}", dir.display());
    Ok(())
}
