//! The first frame of every p2p connection: which protocol and which chain each side runs.
//!
//! The authenticated handshake (commonware's SAKE) already binds the chain: its signatures cover
//! a namespace that includes the genesis hash, so a node started with another genesis cannot
//! connect. But a signature that does not check says nothing about *why*, and the p2p layer
//! reports it only at debug level: an operator whose node was started with a stale draft of
//! `genesis.json` saw a network that never finalized and no word in any log. So before the
//! handshake both sides send a fixed-size hello carrying the protocol version, the genesis hash
//! and the sender's validator key, and each side that sees another genesis says so (a warning
//! naming the validator and both hashes, at most once a minute per peer) and counts it in
//! `civitas_p2p_handshakes_refused_total{reason="other_genesis"}`.
//!
//! The hello is unauthenticated and diagnostic only: it decides nothing that the handshake after
//! it does not check again. A listener reads it only from an address the p2p layer registered
//! for a validator, asks the p2p layer whether the claimed key is one it expects before answering
//! or logging, and then requires the handshake to authenticate that same key.

use crate::metrics::LedgerMetrics;
use commonware_cryptography::{ed25519, transcript::Transcript};
use commonware_runtime::{Clock, Sink, Stream};
use commonware_stream::{
    Handshake,
    sake::{self, Sake},
    utils::codec::{Error as FrameError, recv_frame, send_frame},
};
use rand_core::CryptoRng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Marks a civitas hello; the last byte is the p2p protocol version.
const MAGIC: [u8; 8] = *b"civitas\x01";
/// Magic, genesis hash, validator key.
const HELLO_LEN: usize = MAGIC.len() + 32 + 32;
/// A warning about one peer is repeated at most this often, in milliseconds.
const WARN_EVERY_MS: u64 = 60_000;
/// Peers whose last warning time is remembered (the p2p layer only lets tracked validators this
/// far, so this is never reached in practice; it bounds the map regardless).
const WARNED_MAX: usize = 256;

/// Why a connection was refused before or during the handshake.
#[derive(Debug, thiserror::Error)]
pub enum HelloError {
    /// The hello could not be sent or read.
    #[error("hello frame: {0}")]
    Frame(#[from] FrameError),
    /// The peer sent something other than a hello of this protocol version.
    #[error("the peer does not speak version {} of the civitas p2p protocol", MAGIC[7])]
    OtherProtocol,
    /// The peer runs another chain.
    #[error("the peer runs the chain of genesis {0}, not this node's")]
    OtherGenesis(String),
    /// The p2p layer does not expect the key the peer claims.
    #[error("the peer's key is not one this node expects")]
    Rejected,
    /// The authenticated handshake failed.
    #[error(transparent)]
    Handshake(#[from] sake::Error),
}

/// Reads a hello: the genesis hash and the claimed validator key.
fn parse(bytes: &[u8]) -> Result<([u8; 32], ed25519::PublicKey), HelloError> {
    if bytes.len() != HELLO_LEN || bytes[..MAGIC.len()] != MAGIC {
        return Err(HelloError::OtherProtocol);
    }
    let mut genesis = [0u8; 32];
    genesis.copy_from_slice(&bytes[MAGIC.len()..MAGIC.len() + 32]);
    let key = civitas_core::crypto::PublicKey::from_bytes(&bytes[MAGIC.len() + 32..])
        .map_err(|_| HelloError::OtherProtocol)?;
    Ok((genesis, key.inner().clone()))
}

/// SAKE preceded by the hello exchange.
#[derive(Clone)]
pub struct GenesisHello {
    inner: Sake<ed25519::PrivateKey>,
    genesis: [u8; 32],
    /// Agency ids of the genesis validators, for messages.
    agencies: Arc<BTreeMap<ed25519::PublicKey, String>>,
    metrics: Arc<LedgerMetrics>,
    /// When each peer was last warned about, in milliseconds since the Unix epoch.
    warned: Arc<Mutex<BTreeMap<ed25519::PublicKey, u64>>>,
}

impl GenesisHello {
    /// Wraps `inner` for the chain of `genesis`.
    pub fn new(
        inner: Sake<ed25519::PrivateKey>,
        genesis: &civitas_core::genesis::Genesis,
        metrics: Arc<LedgerMetrics>,
    ) -> Self {
        let agencies = genesis
            .agencies
            .iter()
            .map(|a| (a.validator_key.inner().clone(), a.id.clone()))
            .collect();
        Self {
            inner,
            genesis: genesis.hash().0,
            agencies: Arc::new(agencies),
            metrics,
            warned: Arc::default(),
        }
    }

    fn hello(&self) -> Vec<u8> {
        use commonware_cryptography::Signer as _;
        let key = commonware_codec::Encode::encode(&self.inner.signer.public_key());
        [MAGIC.as_slice(), &self.genesis, &key].concat()
    }

    /// Reads the peer's hello: its genesis hash and claimed key. Anything else (such as a peer
    /// of an earlier release, which sends its bare key first) is counted as another protocol,
    /// so that a node left behind in an upgrade shows up in the metrics.
    async fn receive<I: Stream>(
        &self,
        stream: &mut I,
    ) -> Result<([u8; 32], ed25519::PublicKey), HelloError> {
        let frame = recv_frame(stream, HELLO_LEN as u32).await?.coalesce();
        parse(frame.as_ref()).inspect_err(|_| {
            self.metrics.record_handshake_refused("other_protocol");
        })
    }

    /// Checks the peer's genesis; says so, at most once a minute per peer, when it differs.
    fn check(
        &self,
        clock: &impl Clock,
        peer: &ed25519::PublicKey,
        theirs: [u8; 32],
        dialed: bool,
    ) -> Result<(), HelloError> {
        if theirs == self.genesis {
            return Ok(());
        }
        self.metrics.record_handshake_refused("other_genesis");
        let theirs = civitas_core::hash::Hash32(theirs).to_hex();
        let now = clock
            .current()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let due = {
            let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
            let due = warned
                .get(peer)
                .is_none_or(|last| now.saturating_sub(*last) >= WARN_EVERY_MS);
            if due {
                if warned.len() >= WARNED_MAX && !warned.contains_key(peer) {
                    warned.clear();
                }
                warned.insert(peer.clone(), now);
            }
            due
        };
        if due {
            let ours = civitas_core::hash::Hash32(self.genesis).to_hex();
            let agency = self
                .agencies
                .get(peer)
                .map(|id| format!(" (agency {id})"))
                .unwrap_or_default();
            tracing::warn!(
                peer = %peer,
                their_genesis = %theirs,
                our_genesis = %ours,
                direction = if dialed { "outbound" } else { "inbound" },
                "validator {peer}{agency} runs another genesis than this node, so the two cannot \
                 connect: one of them was started with a different genesis.json (a stale draft?). \
                 Compare `civitas genesis show genesis.json` on both hosts with the hash the \
                 coordinator published, and restart the node that differs with the right file"
            );
        }
        Err(HelloError::OtherGenesis(theirs))
    }
}

impl Handshake for GenesisHello {
    type PublicKey = ed25519::PublicKey;
    type Error = HelloError;

    fn public_key(&self) -> Self::PublicKey {
        self.inner.public_key()
    }

    async fn dial<E, I, O>(
        self,
        context: E,
        namespace: &[u8],
        peer: Self::PublicKey,
        stream: &mut I,
        sink: &mut O,
    ) -> Result<Transcript, Self::Error>
    where
        E: Clock + CryptoRng,
        I: Stream,
        O: Sink,
    {
        send_frame(sink, self.hello(), HELLO_LEN as u32).await?;
        let (theirs, _claimed) = self.receive(stream).await?;
        self.check(&context, &peer, theirs, true)?;
        Ok(self
            .inner
            .dial(context, namespace, peer, stream, sink)
            .await?)
    }

    async fn listen<E, I, O, B, F>(
        self,
        context: E,
        namespace: &[u8],
        bouncer: B,
        stream: &mut I,
        sink: &mut O,
    ) -> Result<(Self::PublicKey, Transcript), Self::Error>
    where
        E: Clock + CryptoRng,
        I: Stream,
        O: Sink,
        B: FnOnce(Self::PublicKey) -> F + Send,
        F: Future<Output = bool> + Send,
    {
        let (theirs, claimed) = self.receive(stream).await?;
        if !bouncer(claimed.clone()).await {
            return Err(HelloError::Rejected);
        }
        // Answer even when the chains differ, so the dialer can say so too.
        send_frame(sink, self.hello(), HELLO_LEN as u32).await?;
        self.check(&context, &claimed, theirs, false)?;
        let expected = claimed;
        let bouncer = move |key: ed25519::PublicKey| {
            let same = key == expected;
            async move { same }
        };
        Ok(self
            .inner
            .listen(context, namespace, bouncer, stream, sink)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(genesis: [u8; 32], key: &civitas_core::crypto::PublicKey) -> Vec<u8> {
        [MAGIC.as_slice(), &genesis, &key.to_bytes()].concat()
    }

    #[test]
    fn a_hello_reads_back_and_anything_else_is_another_protocol() {
        let key = civitas_core::crypto::PrivateKey::from_test_seed(7).public_key();
        let (genesis, claimed) = parse(&hello([9; 32], &key)).unwrap();
        assert_eq!(genesis, [9; 32]);
        assert_eq!(&claimed, key.inner());

        let good = hello([9; 32], &key);
        let mut other_version = good.clone();
        other_version[7] = 2;
        for bad in [
            &good[..HELLO_LEN - 1],
            &[good.as_slice(), &[0]].concat()[..],
            &other_version[..],
            &key.to_bytes()[..],
            &[][..],
        ] {
            assert!(matches!(parse(bad), Err(HelloError::OtherProtocol)));
        }
    }
}
