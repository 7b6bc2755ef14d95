//! Runs one validator on real TCP: the authenticated, encrypted p2p network between the
//! genesis validators, the validator itself, and its query service.

use crate::app::Shared;
use crate::engine::{CHANNELS, Channels, ValidatorConfig, max_message_size, start_validator};
use crate::epochs::PeerTracker;
use crate::service::NodeHandle;
use civitas_core::crypto::{PrivateKey, PublicKey};
use civitas_core::genesis::Genesis;
use civitas_core::governance::ValidatorSet;
use commonware_cryptography::{ChaCha20Poly1305, ed25519};
use commonware_p2p::{Address, AddressableManager, authenticated::lookup};
use commonware_runtime::{Handle, Quota, Supervisor, tokio as cw_tokio};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{NZU32, NZUsize, ordered::Map};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Messages per second each peer may send on each channel.
const CHANNEL_QUOTA: Quota = Quota::per_second(NZU32!(1_000));

/// What a node needs to start.
pub struct NodeParams {
    /// The chain.
    pub genesis: Arc<Genesis>,
    /// This validator's consensus key.
    pub signer: PrivateKey,
    /// Where to listen for peers.
    pub p2p_listen: SocketAddr,
    /// Every validator's key and p2p address (including this one's): `ip:port`, or `host:port`
    /// resolved when dialling.
    pub peers: Vec<(PublicKey, String)>,
    /// Allow peers on private and loopback addresses (local networks, tests).
    pub allow_private_ips: bool,
    /// How long to wait for transactions before proposing an empty block, in milliseconds.
    pub empty_block_wait_ms: u64,
    /// Most validators the p2p layer connects to in one epoch (current plus joining). Every
    /// channel reserves mailbox room for each, so it is sized to the network, not to the
    /// largest set the ledger allows.
    pub max_peers: usize,
}

/// The default for [`NodeParams::max_peers`]: room for the genesis set to double, at least 8.
pub fn default_max_peers(genesis: &Genesis) -> usize {
    (genesis.validators().len() * 2).clamp(8, civitas_core::limits::VALIDATORS_MAX)
}

/// A running node.
pub struct RunningNode {
    /// Query and submission handle.
    pub handle: NodeHandle,
    /// Handle of the validator's root task.
    pub validator: Handle<()>,
    /// Handle of the p2p network.
    pub network: Handle<()>,
}

/// Keeps the lookup network connected to the current epoch's validators (primary) and those
/// joining next epoch (secondary). Validators that left the set are no longer tracked, so their
/// connections are dropped once the sets tracked before age out.
struct LookupPeers {
    /// Addresses configured for this node (genesis, then node.toml `[peers]`), which take
    /// precedence over the addresses recorded on chain.
    configured: Vec<(PublicKey, String)>,
    requests: std::sync::mpsc::Sender<PeerSet>,
}

/// A peer set to track: its id, then its primary and secondary validators with their addresses
/// as written (`ip:port` or `host:port`), then the agency of each validator on chain (for
/// messages: validators added by governance are not in genesis).
type PeerSet = (
    u64,
    Vec<(PublicKey, String)>,
    Vec<(PublicKey, String)>,
    Vec<(PublicKey, String)>,
);

/// How often names that did not resolve are tried again.
const RESOLVE_RETRY: Duration = Duration::from_secs(10);
/// How often every name is resolved again (a validator's host may move).
const RESOLVE_REFRESH: Duration = Duration::from_secs(300);
/// A warning about a name that does not resolve is repeated at most this often.
const RESOLVE_WARN_EVERY: Duration = Duration::from_secs(300);

/// A validator's p2p address as the p2p layer takes it.
///
/// A literal `ip:port` is dialled and accepted as is. A `host:port` is resolved when dialling (by
/// the p2p layer, at every attempt), so a name that does not resolve yet delays only that
/// validator; connections from it are accepted from the address the name resolved to last (by
/// [`PeerResolver`]), and from nowhere until it first resolves.
fn p2p_address(text: &str, egress: Option<std::net::IpAddr>) -> Option<Address> {
    if let Ok(literal) = text.parse::<SocketAddr>() {
        return Some(Address::Symmetric(literal));
    }
    let (host, port) = text.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = commonware_utils::Hostname::new(host).ok()?;
    let egress = egress.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    Some(Address::Asymmetric {
        ingress: commonware_p2p::Ingress::Dns { host, port },
        egress: SocketAddr::new(egress, port),
    })
}

/// Whether `text` is a p2p address this node can dial: `ip:port` or `host:port`.
pub fn is_p2p_address(text: &str) -> bool {
    p2p_address(text, None).is_some_and(|a| match a {
        Address::Symmetric(s) => s.port() != 0,
        Address::Asymmetric { egress, .. } => egress.port() != 0,
    })
}

/// Whether peers at `ip` are reachable with `allow_private_ips` off (commonware's rule:
/// globally routable per the IANA special-purpose registries).
pub fn is_public(ip: &std::net::IpAddr) -> bool {
    commonware_utils::IpAddrExt::is_global(ip)
}

/// Resolves host names of peers on a thread of its own and hands peer sets to the p2p layer, in
/// order. The system resolver blocks (for seconds when a name server is slow), and an address
/// on chain is chosen by governance, not by this node, so it must never stall the runtime
/// consensus runs on.
struct PeerResolver {
    oracle: lookup::Oracle<ed25519::PublicKey>,
    /// The p2p layer's peer-set size.
    max_peers: usize,
    allow_private_ips: bool,
    /// Agency ids of the validators (genesis, then each set tracked), for messages.
    agencies: std::collections::BTreeMap<PublicKey, String>,
    /// The tracked validators known by a host name.
    names: std::collections::BTreeMap<PublicKey, Name>,
}

/// A validator known by a host name.
struct Name {
    /// `host:port` as configured or recorded on chain.
    address: String,
    /// The address connections from it are accepted from (the p2p layer's egress), once the
    /// name has resolved.
    egress: Option<std::net::IpAddr>,
    /// When a failure to resolve it was last reported.
    warned: Option<std::time::Instant>,
}

impl PeerResolver {
    fn describe(&self, key: &PublicKey) -> String {
        match self.agencies.get(key) {
            Some(agency) => format!("agency {agency}'s validator {key}"),
            None => format!("validator {key}"),
        }
    }

    /// Resolves `key`'s host name to every address it has; reports a failure (at most every
    /// five minutes per name) and a private address while those are not allowed.
    fn resolve_name(&mut self, key: &PublicKey) -> Option<Vec<std::net::IpAddr>> {
        use std::net::ToSocketAddrs as _;
        let who = self.describe(key);
        let allow_private_ips = self.allow_private_ips;
        let name = self.names.get_mut(key)?;
        let address = name.address.clone();
        match address
            .to_socket_addrs()
            .map(|a| a.map(|s| s.ip()).collect::<Vec<_>>())
        {
            Ok(found) if !found.is_empty() => {
                name.warned = None;
                if !allow_private_ips && !found.iter().any(is_public) {
                    tracing::warn!(
                        %address,
                        resolved = ?found,
                        "{who} resolves to a private or loopback address, which this node neither \
                         dials nor accepts while allow_private_ips is false; set \
                         allow_private_ips = true in node.toml if the validators share a private \
                         network"
                    );
                }
                Some(found)
            }
            failed => {
                let due = name
                    .warned
                    .is_none_or(|last| last.elapsed() >= RESOLVE_WARN_EVERY);
                if due {
                    name.warned = Some(std::time::Instant::now());
                    let error = match failed {
                        Err(e) => e.to_string(),
                        Ok(_) => "no address".to_string(),
                    };
                    tracing::warn!(
                        %address,
                        %error,
                        "cannot resolve the p2p address of {who}: this node keeps trying every \
                         10 s and connects once the name resolves; check the name in genesis or \
                         in node.toml's [peers], and this host's DNS"
                    );
                }
                None
            }
        }
    }

    /// Hands a peer set to the p2p layer at once, names at the address they last resolved to
    /// (resolving them is left to [`PeerResolver::refresh`], so a slow name server delays no
    /// peer set), then resolves the names that have not resolved yet.
    fn track(&mut self, (id, primary, secondary, agencies): PeerSet) {
        self.agencies.extend(agencies);
        if primary.len() + secondary.len() > self.max_peers {
            tracing::error!(
                validators = primary.len() + secondary.len(),
                max_peers = self.max_peers,
                "more validators than this node's p2p layer is sized for: raise max_peers in \
                 node.toml and restart, or it cannot reach them all"
            );
        }
        // Forget names no longer tracked, or whose address changed (or became an IP).
        self.names.retain(|key, name| {
            primary
                .iter()
                .chain(&secondary)
                .any(|(k, a)| k == key && a == &name.address)
        });
        let mut entries = |peers: &[(PublicKey, String)]| {
            let mut out = Vec::new();
            for (key, text) in peers {
                let egress = if text.parse::<SocketAddr>().is_ok() {
                    None
                } else {
                    let name = self.names.entry(key.clone()).or_insert_with(|| Name {
                        address: text.clone(),
                        egress: None,
                        warned: None,
                    });
                    name.egress
                };
                match p2p_address(text, egress) {
                    Some(address) => out.push((key.inner().clone(), address)),
                    None => tracing::warn!(
                        address = %text,
                        "the p2p address of {} is not host:port; it cannot be reached",
                        self.describe(key)
                    ),
                }
            }
            out
        };
        let primary = entries(&primary);
        let secondary = entries(&secondary);
        let _ = self.oracle.track(
            id,
            commonware_p2p::AddressableTrackedPeers::new(
                Map::from_iter_dedup(primary),
                Map::from_iter_dedup(secondary),
            ),
        );
        self.refresh(false);
    }

    /// Resolves names again (`all`, or only those that never resolved) and tells the p2p layer
    /// about a validator whose accepted address is no longer among those its name resolves to.
    /// A failed lookup keeps the last address: a brief DNS failure must not cut a working
    /// connection.
    fn refresh(&mut self, all: bool) {
        let due: Vec<PublicKey> = self
            .names
            .iter()
            .filter(|(_, name)| all || name.egress.is_none())
            .map(|(key, _)| key.clone())
            .collect();
        let mut changed = Vec::new();
        for key in due {
            let Some(found) = self.resolve_name(&key) else {
                continue;
            };
            let who = self.describe(&key);
            let Some(name) = self.names.get_mut(&key) else {
                continue;
            };
            if name.egress.is_some_and(|ip| found.contains(&ip)) {
                continue;
            }
            let first = name.egress.is_none();
            name.egress = found.first().copied();
            if first {
                tracing::info!(address = %name.address, "resolved the p2p address of {who}");
            }
            if let Some(p2p) = p2p_address(&name.address, name.egress) {
                changed.push((key.inner().clone(), p2p));
            }
        }
        if !changed.is_empty() {
            let _ = self.oracle.overwrite(Map::from_iter_dedup(changed));
        }
    }

    /// Starts the resolver thread; returns where to send peer sets.
    fn spawn(mut self) -> std::sync::mpsc::Sender<PeerSet> {
        use std::sync::mpsc::RecvTimeoutError;
        let (requests, received) = std::sync::mpsc::channel::<PeerSet>();
        let started = std::thread::Builder::new()
            .name("civitas-peers".into())
            .spawn(move || {
                let mut refreshed = std::time::Instant::now();
                loop {
                    match received.recv_timeout(RESOLVE_RETRY) {
                        Ok(mut request) => {
                            // Only the latest set matters: skip those a later one replaced.
                            while let Ok(later) = received.try_recv() {
                                request = later;
                            }
                            self.track(request);
                        }
                        Err(RecvTimeoutError::Timeout) => {
                            let all = refreshed.elapsed() >= RESOLVE_REFRESH;
                            if all {
                                refreshed = std::time::Instant::now();
                            }
                            self.refresh(all);
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "cannot start the peer resolver thread");
        }
        requests
    }
}

impl PeerTracker for LookupPeers {
    fn track(&mut self, id: u64, current: &ValidatorSet, next: &ValidatorSet) {
        let address = |v: &civitas_core::governance::ValidatorEntry| {
            let configured = self
                .configured
                .iter()
                .find(|(key, _)| key == &v.key)
                .map(|(_, address)| address.clone());
            (
                v.key.clone(),
                configured.unwrap_or_else(|| v.p2p_address.clone()),
            )
        };
        let primary = current.validators.iter().map(address).collect();
        let secondary = next
            .validators
            .iter()
            .filter(|v| !current.contains(&v.key))
            .map(address)
            .collect();
        let agencies = current
            .validators
            .iter()
            .chain(&next.validators)
            .map(|v| (v.key.clone(), v.agency.clone()))
            .collect();
        let _ = self.requests.send((id, primary, secondary, agencies));
    }
}

/// Starts the network, the validator and the query service.
pub async fn start(context: cw_tokio::Context, params: NodeParams) -> RunningNode {
    let namespace = [b"civitas/p2p/".as_slice(), params.genesis.hash().as_ref()].concat();
    let mut shared = Shared::new(params.genesis.clone());
    shared.empty_block_wait_ms = params.empty_block_wait_ms;
    shared.own_key = Some(params.signer.public_key());
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        crate::hello::GenesisHello::new(
            Sake {
                signer: params.signer.inner().clone(),
                synchrony_bound: Duration::from_secs(5),
                max_handshake_age: Duration::from_secs(10),
                version: sake::Version::V1,
            },
            &params.genesis,
            shared.metrics.clone(),
        ),
        cups::Version::V1,
    );
    let max_peers_count = params
        .max_peers
        .clamp(1, civitas_core::limits::VALIDATORS_MAX);
    let max_peers = std::num::NonZeroUsize::new(max_peers_count).unwrap_or(NZUsize!(8));
    let max_message = max_message_size(civitas_core::limits::VALIDATORS_MAX as u32);
    // Loopback and private networks get commonware's local profile (fast redials); anything
    // else its production profile.
    let profile = if params.allow_private_ips {
        lookup::Config::local
    } else {
        lookup::Config::recommended
    };
    let config = profile(
        handshake,
        &namespace,
        params.p2p_listen,
        max_peers,
        max_message,
        NZUsize!(4096),
    );
    let (mut network, oracle) = lookup::Network::new(context.child("p2p"), config);
    let resolver = PeerResolver {
        oracle: oracle.clone(),
        max_peers: max_peers_count,
        allow_private_ips: params.allow_private_ips,
        agencies: params
            .genesis
            .agencies
            .iter()
            .map(|a| (a.validator_key.clone(), a.id.clone()))
            .collect(),
        names: Default::default(),
    }
    .spawn();
    // Until the validator tracks its epochs: every configured validator.
    let _ = resolver.send((0, params.peers.clone(), Vec::new(), Vec::new()));

    let pairs: Vec<_> = CHANNELS
        .iter()
        .map(|c| network.register(*c, CHANNEL_QUOTA))
        .collect();
    let channels = Channels::from_pairs(pairs);
    let network = network.start();

    let validator = start_validator(
        context.child("validator"),
        ValidatorConfig {
            signer: params.signer,
            partition_prefix: "civitas".into(),
            shared,
            peers: Box::new(LookupPeers {
                configured: params.peers,
                requests: resolver,
            }),
        },
        oracle.clone(),
        oracle,
        channels,
    )
    .await;
    let handle =
        crate::service::start_with(context.child("service"), &validator, lower_thread_priority);
    RunningNode {
        handle,
        validator: validator.engine,
        network,
    }
}

/// Worker threads of the consensus runtime (consensus, p2p, storage, the query service).
pub const CONSENSUS_WORKER_THREADS: usize = 2;
/// Worker threads of the API's own runtime (HTTP, the portal, event streams), kept apart so
/// that no load on the API can occupy the threads consensus runs on.
pub const API_WORKER_THREADS: usize = 2;
/// The API's threads (its workers and its pool for heavy requests) and the query service's
/// thread run at this lower scheduling priority (a Unix nice value) than the consensus runtime's. Separate threads alone do not keep
/// API load from starving consensus: when the machine's cores are all busy, the kernel shares
/// them among every runnable thread, so a flood of requests would still take CPU time from
/// votes and blocks. At nice 10 against 0, consensus gets about ten times the API's share of
/// a contended core, and the API still gets every cycle consensus leaves idle.
pub const API_THREAD_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`API_THREAD_NICE`] (Linux sets the nice
/// value per thread; elsewhere this does nothing). Failure is harmless: the thread keeps its
/// priority, so it is only logged.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority with `who` 0 changes only the calling thread's nice value on
        // Linux; it reads and writes no memory of ours.
        let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, API_THREAD_NICE) };
        if result != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "cannot lower a thread's priority"
            );
        }
    }
}

/// How long a stopping node waits for its actors to finish.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a node until `serve` returns: starts the consensus runtime with storage under
/// `storage_dir`, starts the node, and hands its query handle to `serve` (which runs the API
/// and waits for a shutdown signal) on a runtime of its own, with its own threads. The API
/// reaches the node only through the handle's bounded queues.
pub fn run<F, Fut>(storage_dir: std::path::PathBuf, params: NodeParams, serve: F)
where
    F: FnOnce(NodeHandle) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    use commonware_runtime::Runner as _;
    let config = cw_tokio::Config::new()
        .with_storage_directory(storage_dir)
        .with_worker_threads(CONSENSUS_WORKER_THREADS)
        .with_catch_panics(false);
    cw_tokio::Runner::new(config).start(|context| async move {
        use commonware_runtime::Spawner as _;
        // Stopping is runtime-wide; any context of the runtime can ask for it.
        let stopper = context.child("shutdown");
        let node = start(context, params).await;
        let handle = node.handle.clone();
        let (stopped, api_done) = futures::channel::oneshot::channel::<()>();
        let api = std::thread::Builder::new()
            .name("civitas-api".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(API_WORKER_THREADS)
                    .thread_name("civitas-api")
                    .on_thread_start(lower_thread_priority)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(serve(handle)),
                    Err(e) => tracing::error!(error = %e, "cannot start the API runtime"),
                }
                let _ = stopped.send(());
            });
        match api {
            Ok(_) => {
                let _ = api_done.await;
            }
            Err(e) => tracing::error!(error = %e, "cannot start the API thread"),
        }
        // Tell every actor to stop before any of them is dropped: an actor whose mailbox closes
        // because another went first reports it as an error, which a clean stop must not log.
        if let Err(e) = stopper.stop(0, Some(SHUTDOWN_TIMEOUT)).await {
            tracing::info!(error = %e, "not every task stopped in time; stopping anyway");
        }
        drop(node.validator);
        drop(node.network);
    });
}
