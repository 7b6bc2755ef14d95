//! The devnet's sample data: every registered module's samples (`Module::samples`), seeded
//! once per network in registration order, against this directory's keys and its first node.
//!
//! Each module's samples leave a marker, `sample-<module>.done`, so a restarted devnet seeds
//! only what it has not; `sample-data.done` says every module's are.

use crate::devnet::now_ms;
use crate::keys::write_new_key;
use crate::output::read_key;
use anyhow::{Result, anyhow};
use civitas_client::{Client, DEFAULT_EXPIRY_MS, build_cosigned_tx};
use civitas_core::crypto::AccountId;
use civitas_core::genesis::Genesis;
use civitas_core::instruction::Instruction;
use civitas_core::keyfile::KeyFile;
use civitas_core::tx::SignedTx;
use civitas_kit::samples::{Folder, SampleError, Seeder};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long one sample transaction may take to finalize.
const FINALITY_TIMEOUT: Duration = Duration::from_secs(60);
/// How much longer than asked `wait_until` waits before giving up.
const WAIT_MARGIN: Duration = Duration::from_secs(30);

/// The marker written once every module's samples are seeded.
pub const ALL_SEEDED: &str = "sample-data.done";

/// A devnet directory and its first node, as a module's samples use them.
pub(crate) struct Devnet<'a> {
    dir: &'a Path,
    client: &'a Client,
    genesis: &'a Genesis,
    keys: BTreeMap<String, KeyFile>,
}

impl<'a> Devnet<'a> {
    /// Signs each transaction (with its co-signers) with its signer's next nonces, in order.
    fn sign_all(
        &self,
        txs: Vec<(KeyFile, Vec<KeyFile>, Instruction)>,
        memo: &str,
    ) -> Result<Vec<SignedTx>, SampleError> {
        let chain = &self.genesis.chain_id;
        let mut nonces: BTreeMap<AccountId, u64> = BTreeMap::new();
        let mut signed = Vec::with_capacity(txs.len());
        for (key, cosigners, instruction) in txs {
            let account = key.account();
            let nonce = match nonces.get(&account) {
                Some(n) => *n,
                None => self.client.next_nonce(&account)?,
            };
            nonces.insert(account, nonce + 1);
            signed.push(build_cosigned_tx(
                chain,
                &key,
                &cosigners,
                nonce,
                vec![instruction],
                memo,
                DEFAULT_EXPIRY_MS,
            )?);
        }
        Ok(signed)
    }

    /// The devnet in `dir`, reached through `client`.
    pub(crate) fn new(dir: &'a Path, client: &'a Client, genesis: &'a Genesis) -> Self {
        Self {
            dir,
            client,
            genesis,
            keys: BTreeMap::new(),
        }
    }
}

impl Seeder for Devnet<'_> {
    fn genesis(&self) -> &Genesis {
        self.genesis
    }

    fn key(&mut self, name: &str, label: &str) -> Result<KeyFile, SampleError> {
        if let Some(key) = self.keys.get(name) {
            return Ok(key.clone());
        }
        let path = self.dir.join("keys").join(format!("{name}.json"));
        let key = match read_key(&path) {
            Ok(key) => key,
            Err(_) => write_new_key(&path, label)?,
        };
        self.keys.insert(name.to_string(), key.clone());
        Ok(key)
    }

    fn phase_cosigned(
        &mut self,
        txs: Vec<(KeyFile, Vec<KeyFile>, Instruction)>,
    ) -> Result<(), SampleError> {
        let names: Vec<&'static str> = txs.iter().map(|(_, _, i)| i.name()).collect();
        let mut hashes = Vec::new();
        for (name, tx) in names
            .into_iter()
            .zip(self.sign_all(txs, "devnet sample data")?)
        {
            hashes.push((name, self.client.submit(&tx)?));
        }
        for (name, hash) in hashes {
            let finality = self.client.wait(&hash, FINALITY_TIMEOUT)?;
            if finality.status != "finalized" {
                return Err(format!(
                    "sample {name} ({hash}) ended {}: {}",
                    finality.status, finality.document
                )
                .into());
            }
        }
        Ok(())
    }

    fn batch(&mut self, txs: Vec<(KeyFile, Instruction)>) -> Result<(), SampleError> {
        let signed = self.sign_all(
            txs.into_iter()
                .map(|(key, instruction)| (key, Vec::new(), instruction))
                .collect(),
            "benchmark setup",
        )?;
        // Submitted 256 to a request; each chunk's last is waited for (one request per
        // transaction would meet the API's per-client rate).
        let mut last = Vec::new();
        for chunk in signed.chunks(256) {
            for verdict in self.client.submit_batch(chunk)? {
                if let Some((code, message)) = verdict.error {
                    return Err(
                        format!("a setup transaction was refused: {message} ({code})").into(),
                    );
                }
            }
            if let Some(tx) = chunk.last() {
                last.push(tx.hash());
            }
        }
        for hash in last {
            let finality = self.client.wait(&hash, FINALITY_TIMEOUT)?;
            if finality.status != "finalized" {
                return Err(format!(
                    "setup transaction {hash} ended {}: {}",
                    finality.status, finality.document
                )
                .into());
            }
        }
        Ok(())
    }

    fn write(&mut self, folder: Folder, name: &str, content: &[u8]) -> Result<(), SampleError> {
        let folder = self.dir.join(match folder {
            Folder::Samples => "samples",
            Folder::Keys => "keys",
        });
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join(name), content)?;
        Ok(())
    }

    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn secret(&mut self) -> Result<[u8; 32], SampleError> {
        Ok(civitas_core::crypto::random_32()?)
    }

    fn wait_until(&mut self, ms: u64) -> Result<(), SampleError> {
        let started = Instant::now();
        let limit = Duration::from_millis(ms.saturating_sub(now_ms())) + WAIT_MARGIN;
        while now_ms() <= ms {
            if started.elapsed() > limit {
                return Err(format!("the time did not pass {ms}").into());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(())
    }
}

/// Seeds every module's samples not seeded yet, through `client`.
pub fn seed(dir: &Path, client: &Client, genesis: &Genesis) -> Result<()> {
    // Every module's samples ran (or, in a devnet made by release 0.1.0, whose markers were
    // `sample-data.done` and `sample-money.done`, every sample it had: that network runs
    // protocol 1, which later modules' samples could not use).
    if dir.join(ALL_SEEDED).exists() {
        return Ok(());
    }
    let mut devnet = Devnet::new(dir, client, genesis);
    println!("seeding the sample data (about a minute, once)...");
    for (module, samples) in civitas_modules::samples() {
        let marker = dir.join(format!("sample-{module}.done"));
        if marker.exists() {
            continue;
        }
        samples(&mut devnet).map_err(|e| anyhow!("the {module} samples failed: {e}"))?;
        std::fs::write(&marker, format!("the {module} samples were seeded\n"))?;
    }
    Ok(())
}

/// Writes the marker that says every sample was seeded (the modules' and the vaults').
pub fn mark_seeded(dir: &Path) -> Result<()> {
    std::fs::write(dir.join(ALL_SEEDED), "every module's samples were seeded\n")?;
    Ok(())
}
