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
    /// Every validator's key and address (including this one's).
    pub peers: Vec<(PublicKey, SocketAddr)>,
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
/// joining next epoch (secondary), resolving their `host:port` addresses. Validators that left
/// the set are no longer tracked, so their connections are dropped once the sets tracked before
/// age out.
///
/// Names are resolved on a thread of its own: the system resolver blocks (for seconds when a
/// name server is slow), and an address on chain is chosen by governance, not by this node, so
/// it must never stall the runtime consensus runs on.
struct LookupPeers {
    requests: std::sync::mpsc::Sender<(u64, ValidatorSet, ValidatorSet)>,
}

/// Resolves peer sets and hands them to the p2p layer, in order.
struct PeerResolver {
    oracle: lookup::Oracle<ed25519::PublicKey>,
    /// Addresses configured for this node (genesis, then node.toml `[peers]`), which take
    /// precedence over the addresses recorded on chain.
    configured: Vec<(PublicKey, SocketAddr)>,
    /// The p2p layer's peer-set size.
    max_peers: usize,
}

fn resolve(address: &str) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs as _;
    if let Ok(literal) = address.parse::<SocketAddr>() {
        return Some(literal);
    }
    match address.to_socket_addrs() {
        Ok(mut found) => found.next(),
        Err(e) => {
            tracing::warn!(%address, error = %e, "cannot resolve a validator's p2p address");
            None
        }
    }
}

impl PeerResolver {
    fn track(&mut self, id: u64, current: &ValidatorSet, next: &ValidatorSet) {
        let entry = |v: &civitas_core::governance::ValidatorEntry| {
            let configured = self
                .configured
                .iter()
                .find(|(key, _)| key == &v.key)
                .map(|(_, addr)| *addr);
            configured
                .or_else(|| resolve(&v.p2p_address))
                .map(|addr| (v.key.inner().clone(), Address::Symmetric(addr)))
        };
        let primary: Vec<_> = current.validators.iter().filter_map(entry).collect();
        let secondary: Vec<_> = next
            .validators
            .iter()
            .filter(|v| !current.contains(&v.key))
            .filter_map(entry)
            .collect();
        if primary.len() + secondary.len() > self.max_peers {
            tracing::error!(
                validators = primary.len() + secondary.len(),
                max_peers = self.max_peers,
                "more validators than this node's p2p layer is sized for: raise max_peers in \
                 node.toml and restart, or it cannot reach them all"
            );
        }
        let _ = self.oracle.track(
            id,
            commonware_p2p::AddressableTrackedPeers::new(
                Map::from_iter_dedup(primary),
                Map::from_iter_dedup(secondary),
            ),
        );
    }

    /// Starts the resolver thread; returns where to send peer sets.
    fn spawn(mut self) -> std::sync::mpsc::Sender<(u64, ValidatorSet, ValidatorSet)> {
        let (requests, received) = std::sync::mpsc::channel::<(u64, ValidatorSet, ValidatorSet)>();
        let started = std::thread::Builder::new()
            .name("civitas-peers".into())
            .spawn(move || {
                while let Ok(mut request) = received.recv() {
                    // Only the latest set matters: skip those a later one replaced.
                    while let Ok(later) = received.try_recv() {
                        request = later;
                    }
                    let (id, current, next) = request;
                    self.track(id, &current, &next);
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
        let _ = self.requests.send((id, current.clone(), next.clone()));
    }
}

/// Starts the network, the validator and the query service.
pub async fn start(context: cw_tokio::Context, params: NodeParams) -> RunningNode {
    let namespace = [b"civitas/p2p/".as_slice(), params.genesis.hash().as_ref()].concat();
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: params.signer.inner().clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
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
    let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), config);
    let peers: Vec<(ed25519::PublicKey, Address)> = params
        .peers
        .iter()
        .map(|(key, addr)| (key.inner().clone(), Address::Symmetric(*addr)))
        .collect();
    let peers = Map::from_iter_dedup(peers);
    let _ = oracle.track(0, peers);

    let pairs: Vec<_> = CHANNELS
        .iter()
        .map(|c| network.register(*c, CHANNEL_QUOTA))
        .collect();
    let channels = Channels::from_pairs(pairs);
    let network = network.start();

    let mut shared = Shared::new(params.genesis.clone());
    shared.empty_block_wait_ms = params.empty_block_wait_ms;
    let validator = start_validator(
        context.child("validator"),
        ValidatorConfig {
            signer: params.signer,
            partition_prefix: "civitas".into(),
            shared,
            peers: Box::new(LookupPeers {
                requests: PeerResolver {
                    oracle: oracle.clone(),
                    configured: params.peers.clone(),
                    max_peers: max_peers_count,
                }
                .spawn(),
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
        drop(node.validator);
        drop(node.network);
    });
}
