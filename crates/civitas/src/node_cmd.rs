//! `civitas node start --config node.toml`.

use crate::output::{read_genesis_checked, read_key};
use anyhow::{Context, Result, bail};
use civitas_consensus::node::NodeParams;
use civitas_core::crypto::PublicKey;
use clap::Subcommand;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Subcommand)]
pub enum Command {
    /// Start a validator node.
    ///
    /// Example: civitas node start --config devnet/node0/node.toml
    Start {
        /// The node's configuration file (see docs/OPERATIONS.md).
        #[arg(long)]
        config: PathBuf,
    },
    /// Follow a node as it catches up with the network, showing progress, until it has.
    ///
    /// Example: civitas node catch-up --node http://127.0.0.1:8082
    CatchUp {
        /// The node's API URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
}

/// Shows catch-up progress until the node is within two blocks of the network's tip.
fn catch_up(node: &str, timeout: u64) -> Result<()> {
    use std::io::Write as _;
    let client = civitas_client::Client::new(node);
    let start = std::time::Instant::now();
    // Right after a restart the node may not answer yet: wait for it, within the timeout.
    let status = |announced: &mut bool| loop {
        match client.status() {
            Ok(status) => return Ok(status),
            Err(e @ civitas_client::ClientError::Unreachable { .. })
                if start.elapsed().as_secs() < timeout =>
            {
                if !*announced {
                    eprintln!("waiting for the node at {node} to answer ({e:#})");
                    *announced = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            Err(e @ civitas_client::ClientError::Unreachable { .. }) => {
                return Err(e).with_context(|| {
                    format!(
                        "the node at {node} did not answer within {timeout} s; is it running, and is --node its api_listen address?"
                    )
                });
            }
            Err(e) => return Err(e.into()),
        }
    };
    let mut announced = false;
    let first = status(&mut announced)?["height"].as_u64().unwrap_or(0);
    loop {
        let status = status(&mut announced)?;
        let height = status["height"].as_u64().unwrap_or(0);
        let network = status["network_height"].as_u64().unwrap_or(height);
        let elapsed = start.elapsed().as_secs_f64().max(0.001);
        let rate = (height.saturating_sub(first)) as f64 / elapsed;
        let remaining = network.saturating_sub(height);
        let eta = if rate > 0.0 {
            format!("{:.0} s", remaining as f64 / rate)
        } else {
            "?".into()
        };
        let percent = if network == 0 {
            100.0
        } else {
            100.0 * height as f64 / network as f64
        };
        eprint!(
            "\rheight {height} of {network} ({percent:5.1}%), {rate:8.0} blocks/s, about {eta} left   "
        );
        let _ = std::io::stderr().flush();
        if status["catching_up"] == false && height > 0 {
            eprintln!();
            println!(
                "caught up at height {height} after {:.1} s",
                start.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if start.elapsed().as_secs() > timeout {
            eprintln!();
            bail!("still {remaining} blocks behind after {timeout} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// `node.toml`. Relative paths are relative to the file's directory.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The genesis document.
    pub genesis: PathBuf,
    /// The validator's key file.
    pub key: PathBuf,
    /// Where the node keeps its data.
    pub data_dir: PathBuf,
    /// Address to listen on for peers.
    pub p2p_listen: SocketAddr,
    /// Address the HTTP API binds to.
    pub api_listen: SocketAddr,
    /// Accept peers on private and loopback addresses (local networks).
    #[serde(default)]
    pub allow_private_ips: bool,
    /// Peer addresses overriding those in genesis, by validator public key.
    #[serde(default)]
    pub peers: BTreeMap<String, String>,
    /// Log filter, such as `info` or `civitas=debug`.
    #[serde(default)]
    pub log: Option<String>,
    /// `text` (default) or `json` (one JSON object per line, for log collectors).
    #[serde(default)]
    pub log_format: Option<String>,
    /// Free space (MiB) the node keeps on the data directory's disk: it refuses to start below
    /// it and stops cleanly when free space falls below it (default 512).
    #[serde(default)]
    pub min_free_disk_mb: Option<u64>,
    /// How long this node, as proposer, waits for transactions before proposing an empty block
    /// (milliseconds, default 300; at most 500, well inside the 1 s leader timeout).
    #[serde(default)]
    pub empty_block_wait_ms: Option<u64>,
    /// Most validators (current epoch plus joining) the p2p layer connects to; default twice
    /// the genesis validators, at least 8.
    #[serde(default)]
    pub max_peers: Option<usize>,
    /// The HTTP API's settings.
    #[serde(default)]
    pub api: ApiSection,
    /// The read model's settings.
    #[serde(default)]
    pub index: IndexSection,
    /// How webhook deliveries are made.
    #[serde(default)]
    pub webhooks: WebhooksSection,
}

/// `[webhooks]` in `node.toml`: how this node posts subscriptions' events (docs/OPERATIONS.md).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct WebhooksSection {
    /// Let subscriptions post to loopback, private and link-local addresses (default false:
    /// on a node the public can reach, this would let anyone make it call its own network).
    #[serde(default)]
    pub allow_private_targets: bool,
    /// The pauses after failed attempts, in seconds (default 5, 300, 1800, 7200, 18000,
    /// 36000); after the last the delivery is dead until replayed.
    #[serde(default)]
    pub retry_delays_s: Option<Vec<u64>>,
    /// Longest an attempt may take, in milliseconds (default 10,000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl WebhooksSection {
    fn config(&self) -> Result<civitas_api::webhooks::WebhookConfig> {
        let defaults = civitas_api::webhooks::WebhookConfig::default();
        let retry_delays = match &self.retry_delays_s {
            Some(delays) => {
                if delays.len() > 20 || delays.iter().any(|&d| d == 0 || d > 7 * 24 * 3600) {
                    bail!(
                        "[webhooks] retry_delays_s takes at most 20 pauses of 1 second to 7 days each"
                    );
                }
                delays
                    .iter()
                    .map(|&d| std::time::Duration::from_secs(d))
                    .collect()
            }
            None => defaults.retry_delays,
        };
        let timeout = match self.timeout_ms {
            Some(ms) if !(100..=60_000).contains(&ms) => {
                bail!("[webhooks] timeout_ms is between 100 and 60000")
            }
            Some(ms) => std::time::Duration::from_millis(ms),
            None => defaults.timeout,
        };
        Ok(civitas_api::webhooks::WebhookConfig {
            retry_delays,
            allow_private_targets: self.allow_private_targets,
            timeout,
        })
    }
}

/// `[index]` in `node.toml`: where the read model behind the API's lists is kept.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct IndexSection {
    /// `sqlite:<file>` (default `sqlite:<data_dir>/index.sqlite`) or a PostgreSQL URL,
    /// `postgres://<user>:<password>@<host>:<port>/<database>` (docs/OPERATIONS.md).
    #[serde(default)]
    pub url: Option<String>,
    /// Keep a read model (default true). A validator that serves no lists can set false: its
    /// lists, inbox and webhooks then answer 503, and it writes nothing beside the ledger.
    #[serde(default = "keeps_index")]
    pub enabled: bool,
}

impl Default for IndexSection {
    fn default() -> Self {
        Self {
            url: None,
            enabled: true,
        }
    }
}

fn keeps_index() -> bool {
    true
}

/// The read model's URL and the chain of the node configured in `config` (`node.toml`).
pub fn index_of(config: &Path) -> Result<(String, civitas_core::hash::Hash32)> {
    let text = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read node configuration {}", config.display()))?;
    let node: NodeConfig = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid node configuration", config.display()))?;
    if !node.index.enabled {
        bail!(
            "{} sets [index] enabled = false: this node keeps no read model",
            config.display()
        );
    }
    let base = config.parent().unwrap_or(Path::new("."));
    let genesis = read_genesis_checked(&resolve(base, &node.genesis))?;
    Ok((node.index_url(base), genesis.hash()))
}

impl NodeConfig {
    /// The read model's URL: the setting, or the SQLite file in the data directory. A relative
    /// SQLite path is relative to the configuration file's directory, as `data_dir` is.
    pub fn index_url(&self, base: &Path) -> String {
        match self.index.url.as_deref() {
            Some(url) => match url.strip_prefix("sqlite:") {
                Some(path) if !path.starts_with('/') => {
                    format!("sqlite:{}", resolve(base, Path::new(path)).display())
                }
                _ => url.to_string(),
            },
            None => format!(
                "sqlite:{}",
                resolve(base, &self.data_dir).join("index.sqlite").display()
            ),
        }
    }
}

/// `[api]` in `node.toml`: what the HTTP API and the portal accept (docs/OPERATIONS.md).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Mark the portal's session cookie `Secure` (default true: serve the API over HTTPS, for
    /// example behind a reverse proxy; set false only for plain HTTP on a local machine).
    #[serde(default)]
    pub secure_cookies: Option<bool>,
    /// Requests a second each client address may make (default 50).
    #[serde(default)]
    pub requests_per_second: Option<u32>,
    /// Requests a client may make at once beyond its rate (default 200).
    #[serde(default)]
    pub burst: Option<u32>,
    /// Requests the API handles at once; more are answered 429 (default 128).
    #[serde(default)]
    pub concurrent_requests: Option<usize>,
    /// Longest a request may take, in milliseconds (default 15,000).
    #[serde(default)]
    pub request_timeout_ms: Option<u64>,
}

impl ApiSection {
    /// The API settings these give, over the defaults.
    fn config(&self) -> Result<civitas_api::ApiConfig> {
        let defaults = civitas_api::Limits::default();
        let limits = civitas_api::Limits {
            requests_per_second: self
                .requests_per_second
                .unwrap_or(defaults.requests_per_second),
            burst: self.burst.unwrap_or(defaults.burst),
            concurrent_requests: self
                .concurrent_requests
                .unwrap_or(defaults.concurrent_requests),
            request_timeout_ms: self
                .request_timeout_ms
                .unwrap_or(defaults.request_timeout_ms),
            ..defaults
        };
        if limits.requests_per_second == 0 || limits.burst == 0 || limits.concurrent_requests == 0 {
            bail!("[api] requests_per_second, burst and concurrent_requests must be at least 1");
        }
        if limits.request_timeout_ms < 1_000 {
            bail!("[api] request_timeout_ms must be at least 1000 (one second)");
        }
        Ok(civitas_api::ApiConfig {
            secure_cookies: self.secure_cookies.unwrap_or(true),
            limits,
            webhooks: civitas_api::webhooks::WebhookConfig::default(),
            keeps_index: true,
        })
    }
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// Checks that `address` is `ip:port` or `host:port`. Host names are resolved when dialling, not
/// here: a name that does not resolve yet must not keep this node from starting.
fn check_p2p_address(address: &str, whose: &str) -> Result<()> {
    if !civitas_consensus::node::is_p2p_address(address) {
        bail!(
            "the p2p address of {whose}, {address:?}, is not host:port or ip:port (for example 10.0.0.1:9000 or node.finance.example:9000)"
        );
    }
    Ok(())
}

/// Private or loopback addresses among `peers` (those written as IP addresses), which the p2p
/// layer neither dials nor accepts unless `allow_private_ips` is set.
fn private_addresses<'a>(peers: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    peers
        .into_iter()
        .filter(|a| {
            a.parse::<SocketAddr>()
                .is_ok_and(|s| !civitas_consensus::node::is_public(&s.ip()))
        })
        .collect()
}

/// The layout of what a node stores. 2: headers with `receipts_root`, receipts beside the
/// blocks instead of in the state, larger journal files. 3: header version 3 (`tx_root` over
/// signed transactions), the history store. 4: agency records with joined and retired
/// heights, the agencies in force in the governance settings. Data of another layout cannot be
/// read.
const STORAGE_FORMAT: &str = "4";

/// Checks that `data_dir` belongs to this chain and holds data this release can read (or claims
/// it for this chain).
fn check_data_dir(data_dir: &Path, genesis_hash: &str) -> Result<()> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let not_writable = || {
        format!(
            "data directory {} is not writable; fix its permissions or choose another",
            data_dir.display()
        )
    };
    let marker = data_dir.join("CHAIN");
    let claimed = match std::fs::read_to_string(&marker) {
        Ok(existing) if existing.trim() == genesis_hash => true,
        Ok(existing) => bail!(
            "data directory {} belongs to another chain (genesis {}), not this genesis ({genesis_hash}); point data_dir elsewhere",
            data_dir.display(),
            existing.trim()
        ),
        Err(_) => false,
    };
    let format_marker = data_dir.join("FORMAT");
    match std::fs::read_to_string(&format_marker)
        .ok()
        .as_deref()
        .map(str::trim)
    {
        Some(STORAGE_FORMAT) => {}
        None if !claimed => std::fs::write(&format_marker, format!("{STORAGE_FORMAT}\n"))
            .with_context(not_writable)?,
        found => bail!(
            "data directory {} holds data in storage format {} from another release of civitas; this release reads format {STORAGE_FORMAT}. Start this node from an empty data_dir (it fetches the chain from its peers; a local devnet can simply be deleted)",
            data_dir.display(),
            found.unwrap_or("1")
        ),
    }
    if !claimed {
        std::fs::write(&marker, format!("{genesis_hash}\n")).with_context(not_writable)?;
    }
    Ok(())
}

/// The log filter when neither `log` nor `CIVITAS_LOG` sets one: the node's own news, and
/// commonware's warnings except two that its storage logs on every normal start (an empty log on
/// first start, a bitmap without pruned chunks on each start), which would teach operators to
/// ignore warnings.
pub const DEFAULT_LOG_FILTER: &str = "info,commonware=warn,commonware_storage::qmdb::any=error,commonware_storage::qmdb::current::db=error";

fn init_logging(filter: Option<&str>, format: Option<&str>) -> Result<()> {
    use std::io::IsTerminal as _;
    let from_env = std::env::var("CIVITAS_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (filter, source) = match (from_env, filter) {
        (Some(env), _) => (env, "CIVITAS_LOG"),
        (None, Some(config)) => (config.to_string(), "log in node.toml"),
        (None, None) => (DEFAULT_LOG_FILTER.to_string(), "the default log filter"),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).with_context(|| {
        format!(
            "{source}, {filter:?}, is not a log filter (such as \"info\" or \"info,civitas=debug\")"
        )
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Colour only for a person at a terminal: a file, a pipe or journald gets plain text.
    let colour = std::io::stderr().is_terminal();
    let _ = match format.unwrap_or("text") {
        "text" => builder.with_ansi(colour).try_init(),
        "json" => builder.json().with_ansi(false).try_init(),
        other => bail!("log_format {other:?} is not one of \"text\" or \"json\""),
    };
    Ok(())
}

pub fn run(command: Command) -> Result<()> {
    let config = match command {
        Command::Start { config } => config,
        Command::CatchUp { node, timeout } => return catch_up(&node, timeout),
    };
    let text = std::fs::read_to_string(&config)
        .with_context(|| format!("cannot read node configuration {}", config.display()))?;
    let node: NodeConfig = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid node configuration", config.display()))?;
    let base = config.parent().unwrap_or(Path::new("."));
    let genesis = Arc::new(read_genesis_checked(&resolve(base, &node.genesis))?);
    let key = read_key(&resolve(base, &node.key))?.private_key()?;
    let founding = genesis.agency_of_validator(&key.public_key()).is_some();
    let empty_block_wait_ms = node
        .empty_block_wait_ms
        .unwrap_or(civitas_consensus::app::EMPTY_BLOCK_WAIT_MS);
    let max_peers = node
        .max_peers
        .unwrap_or_else(|| civitas_consensus::node::default_max_peers(&genesis));
    if !(1..=civitas_core::limits::VALIDATORS_MAX).contains(&max_peers) {
        bail!(
            "max_peers = {max_peers} must be between 1 and {}",
            civitas_core::limits::VALIDATORS_MAX
        );
    }
    if empty_block_wait_ms > 500 {
        bail!(
            "empty_block_wait_ms = {empty_block_wait_ms} is over 500: the other validators would time out waiting for this node's proposals"
        );
    }
    let mut api_config = node.api.config()?;
    api_config.webhooks = node.webhooks.config()?;
    let index_url = node.index.enabled.then(|| node.index_url(base));
    api_config.keeps_index = node.index.enabled;
    init_logging(node.log.as_deref(), node.log_format.as_deref())?;

    // Every validator's p2p address: genesis, overridden by `[peers]`, plus `[peers]` entries
    // for validators that joined after genesis.
    let mut peers: Vec<(PublicKey, String)> = Vec::new();
    for agency in &genesis.agencies {
        let key_hex = agency.validator_key.to_hex();
        let address = node.peers.get(&key_hex).unwrap_or(&agency.p2p_address);
        check_p2p_address(address, &format!("agency {}'s validator", agency.id))?;
        peers.push((agency.validator_key.clone(), address.clone()));
    }
    for (key_hex, address) in &node.peers {
        let peer = PublicKey::from_hex(key_hex).with_context(|| {
            format!("[peers] key {key_hex} is not a validator's public key (64 hex digits, from `civitas keys show`)")
        })?;
        if genesis.agency_of_validator(&peer).is_none() {
            check_p2p_address(address, &format!("validator {key_hex} in [peers]"))?;
            peers.push((peer, address.clone()));
        }
    }
    let own = key.public_key();
    if !node.allow_private_ips {
        let private = private_addresses(
            peers
                .iter()
                .filter(|(k, _)| k != &own)
                .map(|(_, a)| a.as_str()),
        );
        if !private.is_empty() {
            tracing::warn!(
                addresses = %private.join(", "),
                "genesis or [peers] lists validators at private or loopback addresses, which this \
                 node neither dials nor accepts while allow_private_ips is false: add \
                 allow_private_ips = true to node.toml if the validators share a private network"
            );
        }
    }

    // Claim both ports before touching the data directory, so that a port conflict is reported
    // plainly and a failed start leaves a fresh data_dir as it was. The p2p port is released
    // again at once for the p2p layer to bind.
    let listener = std::net::TcpListener::bind(node.api_listen).with_context(|| {
        format!(
            "cannot listen for the API on {} (api_listen): another process (another civitas node?) uses it; stop it or choose another port",
            node.api_listen
        )
    })?;
    listener.set_nonblocking(true)?;
    drop(std::net::TcpListener::bind(node.p2p_listen).with_context(|| {
        format!(
            "cannot listen for peers on {} (p2p_listen): another process (another civitas node?) uses it, or the address is not this host's; stop it or choose another port",
            node.p2p_listen
        )
    })?);

    let data_dir = resolve(base, &node.data_dir);
    check_data_dir(&data_dir, &genesis.hash().to_hex())?;
    crate::disk::check_writable(&data_dir)?;
    let min_free_mb = node
        .min_free_disk_mb
        .unwrap_or(crate::disk::DEFAULT_MIN_FREE_MB);
    crate::disk::check_free(&data_dir, min_free_mb)?;
    crate::disk::install_panic_hint();

    if !founding {
        tracing::info!(
            key = %own,
            "this key is not a genesis validator: validators admit the node once governance has \
             approved adding it; it then catches up, and signs from the epoch the change takes \
             effect"
        );
    }
    let api_listen = node.api_listen;
    let agency = genesis
        .agency_of_validator(&key.public_key())
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let params = NodeParams {
        genesis,
        signer: key,
        p2p_listen: node.p2p_listen,
        peers,
        allow_private_ips: node.allow_private_ips,
        empty_block_wait_ms,
        max_peers,
    };
    tracing::info!(%agency, api = %api_listen, p2p = %node.p2p_listen, "starting node");
    let halted = Arc::new(std::sync::Mutex::new(None::<String>));
    let halt_reason = halted.clone();
    civitas_consensus::node::run(data_dir.join("storage"), params, move |handle| async move {
        let stop = shutdown_signal();
        let until_halted = handle.until_halted();
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(e) => {
                tracing::error!(error = %e, "cannot use the API socket");
                return;
            }
        };
        // The read model opens beside the API: a database that cannot be reached at start is
        // tried again (the lists answer 503 meanwhile); one of another chain is not.
        let reads = std::sync::Arc::new(std::sync::OnceLock::new());
        match &index_url {
            Some(url) => {
                tokio::spawn(open_read_model(
                    url.clone(),
                    handle.clone(),
                    api_config.webhooks.clone(),
                    reads.clone(),
                ));
            }
            None => tracing::info!(
                "this node keeps no read model ([index] enabled = false): its lists, inbox and \
                 webhooks answer 503"
            ),
        }
        let app = civitas_api::router_later(handle, &api_config, reads)
            .into_make_service_with_connect_info::<civitas_api::connections::ClientAddr>();
        let listener = civitas_api::connections::Listener::new(listener);
        let disk = crate::disk::watch(data_dir.clone(), min_free_mb);
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            tokio::select! {
                _ = stop => {},
                _ = disk => {},
                reason = until_halted => {
                    *halt_reason.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
                },
            }
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "API server stopped");
        }
        tracing::info!("shutting down");
    });
    let reason = halted.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(reason) = reason {
        // Said in the log already; said again where a person starting the node looks.
        eprintln!("error: {reason}");
        std::process::exit(civitas_core::protocol::EXIT_UPGRADE_REQUIRED);
    }
    Ok(())
}

/// Opens the read model at `url` (trying again with a growing pause, up to a minute, while
/// its database cannot be reached), then follows the chain into it, delivers its webhooks, and
/// hands it to the API through `cell`.
async fn open_read_model(
    url: String,
    handle: civitas_consensus::service::NodeHandle,
    webhooks: civitas_api::webhooks::WebhookConfig,
    cell: std::sync::Arc<std::sync::OnceLock<civitas_kit::ledger::Reads>>,
) {
    use civitas_kit::index::{Index, IndexError};
    let mut pause = std::time::Duration::from_secs(1);
    let chain = handle.genesis().hash();
    let index = loop {
        let opened = match Index::open(&url, civitas_modules::INDEX_TABLES).await {
            Ok(index) => index.check_chain(&chain).await.map(|()| index),
            Err(e) => Err(e),
        };
        match opened {
            Ok(index) => break index,
            // Settings to correct: trying again would not help.
            Err(
                e @ (IndexError::Url(_)
                | IndexError::Migration { .. }
                | IndexError::Newer { .. }
                | IndexError::Unportable { .. }
                | IndexError::OtherChain { .. }),
            ) => {
                tracing::error!(error = %e, "the read model is not used: the API's lists answer 503");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, retry_in_s = pause.as_secs(), "the read model cannot be opened yet: the API's lists answer 503 until it can");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(60));
            }
        }
    };
    tracing::info!(index = %index.location(), "following the chain into the read model");
    let reads = civitas_api::lists::follow(handle, index);
    if let Err(e) = civitas_api::webhooks::spawn(reads.clone(), webhooks) {
        tracing::error!(error = %e, "webhooks are not delivered");
    }
    let _ = cell.set(reads);
}

/// SIGINT or SIGTERM, caught from the moment this is called rather than from the first poll of
/// the returned future: on a loaded host the API's threads may poll it well after the node
/// serves, and a signal in between would kill the node instead of stopping it.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async fn received(signal: std::io::Result<tokio::signal::unix::Signal>) {
        match signal {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot catch a signal: stop the node with the other one");
                std::future::pending::<()>().await
            }
        }
    }
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = received(signal(SignalKind::interrupt()));
    let terminate = received(signal(SignalKind::terminate()));
    async move {
        tokio::select! {
            _ = interrupt => {},
            _ = terminate => {},
        }
    }
}
