//! `civitas bench`: start a fresh local network, drive a pre-signed workload through the nodes'
//! HTTP APIs, and report throughput, latency and resource use.
//!
//! Latency is measured from each transaction's submission (or, with `--rate`, from its scheduled
//! send time, so a slow node cannot hide queueing: no coordinated omission) to the moment node 0
//! announces its receipt on the event stream.

use crate::devnet::{create, spawn, stop, wait_until_final};
use crate::keys::write_new_key;
use crate::output::print_json;
use anyhow::{Context, Result, bail};
use civitas_client::{Client, build_tx};
use civitas_core::bundle::ProofBundle;
use civitas_core::crypto::{PrivateKey, TX_NAMESPACE};
use civitas_core::hash::Hash32;
use civitas_core::instruction::{IdentityInstruction, Instruction, NotaryInstruction};
use civitas_core::keyfile::KeyFile;
use civitas_core::tx::SignedTx;
use clap::Args as ClapArgs;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(ClapArgs)]
pub struct Args {
    /// Validators in the benchmark network.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Transactions to send.
    #[arg(long, default_value_t = 5_000)]
    txs: usize,
    /// Concurrent clients (each signs as its own official).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// What the transactions do: one of the modules' workloads, each listed below with what it
    /// does.
    #[arg(long, default_value = "notary", value_parser = workload_names())]
    workload: String,
    /// Transactions per HTTP request (1 submits each alone; at most 256).
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Offered load in transactions per second (open loop); by default each client sends as
    /// fast as the node accepts.
    #[arg(long)]
    rate: Option<f64>,
    /// API base port for the benchmark network.
    #[arg(long, default_value_t = 28080)]
    base_port: u16,
    /// Keep the network's directory here instead of a temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Anonymous clients (each with its own loopback address) hammering the nodes' heaviest
    /// endpoints while the workload runs: compare its latency with a run without.
    #[arg(long, default_value_t = 0)]
    attack: usize,
    /// Run the validators without their read model (`[index] enabled = false`), to compare
    /// the ledger's throughput with and without it.
    #[arg(long)]
    no_index: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The names of the registered modules' workloads.
fn workload_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        civitas_modules::workloads()
            .map(|w| clap::builder::PossibleValue::new(w.name).help(w.about)),
    )
}

/// The workload named `name`.
fn workload(name: &str) -> Result<&'static civitas_kit::samples::Workload> {
    civitas_modules::workloads()
        .find(|w| w.name == name)
        .with_context(|| format!("no module has a workload named {name:?}"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// CPU seconds used so far by process `pid` (user + system), from /proc.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Peak resident memory of `pid`, in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    proc_status_bytes(pid, "VmHWM:")
}

/// Transactions finalized so far, and each validator's resident memory then, in bytes.
type MemorySample = (usize, Vec<u64>);

/// Current resident memory of `pid`, in bytes.
fn current_rss(pid: u32) -> Option<u64> {
    proc_status_bytes(pid, "VmRSS:")
}

fn proc_status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The read model's files of a node (`data/index.sqlite` and its WAL), in bytes.
fn index_bytes(data: &Path) -> u64 {
    ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"]
        .iter()
        .filter_map(|f| std::fs::metadata(data.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// How far node 0's read model is behind its chain, and how many transactions it has applied.
fn index_progress(api: &Client) -> Option<(u64, u64)> {
    let status = api.get_json("/v1/index").ok()?;
    Some((
        status["lag"].as_u64()?,
        status["transactions_applied"].as_u64()?,
    ))
}

fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Ed25519 verifications per second on one core, measured here.
fn ed25519_verifications_per_second() -> f64 {
    let key = PrivateKey::from_test_seed(1);
    let public = key.public_key();
    let message = [7u8; 200];
    let signature = key.sign(TX_NAMESPACE, &message);
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..100 {
            assert!(public.verify(TX_NAMESPACE, &message, &signature));
        }
        count += 100;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

/// Sends `txs` (one request, or one per transaction when there is one) until the node has taken
/// or finally refused each; transactions refused only for now are sent again after a pause.
/// Records when the node took each transaction in `taken`.
fn send_until_taken(
    client: &Client,
    txs: &[SignedTx],
    refusals: &mut Vec<String>,
    taken: &mut Vec<(Hash32, Instant)>,
) {
    let mut waiting: Vec<SignedTx> = txs.to_vec();
    while !waiting.is_empty() {
        let verdicts: Vec<Option<(String, String)>> = if waiting.len() == 1 {
            match client.submit(&waiting[0]) {
                Ok(_) => vec![None],
                Err(e) => vec![Some((
                    e.code().unwrap_or("unreachable").to_string(),
                    e.to_string(),
                ))],
            }
        } else {
            match client.submit_batch(&waiting) {
                Ok(verdicts) => verdicts.into_iter().map(|v| v.error).collect(),
                Err(e) if e.code().is_some_and(civitas_client::is_busy) => {
                    vec![Some((e.code().unwrap_or("").to_string(), e.to_string())); waiting.len()]
                }
                Err(e) => {
                    refusals.extend(waiting.iter().map(|_| e.to_string()));
                    return;
                }
            }
        };
        let mut again = Vec::new();
        let answered = Instant::now();
        for (tx, verdict) in waiting.into_iter().zip(verdicts) {
            match verdict {
                None => taken.push((tx.hash(), answered)),
                Some((code, _)) if civitas_client::is_busy(&code) => again.push(tx),
                Some((code, message)) => refusals.push(format!("{message} ({code})")),
            }
        }
        if !again.is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
        waiting = again;
    }
}

/// One node's finality histogram, as its `/metrics` reports it.
struct FinalityHistogram {
    /// (upper bound in milliseconds, cumulative count), in increasing bounds.
    buckets: Vec<(u64, u64)>,
    count: u64,
}

impl FinalityHistogram {
    /// Reads `civitas_finality_latency_seconds` from a Prometheus text exposition.
    fn parse(text: &str) -> Option<Self> {
        let mut buckets = Vec::new();
        let mut count = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("civitas_finality_latency_seconds_bucket{le=\"") {
                let (bound, value) = rest.split_once("\"} ")?;
                if bound == "+Inf" {
                    continue;
                }
                let seconds: f64 = bound.parse().ok()?;
                buckets.push((
                    (seconds * 1000.0).round() as u64,
                    value.trim().parse().ok()?,
                ));
            } else if let Some(value) = line.strip_prefix("civitas_finality_latency_seconds_count ")
            {
                count = value.trim().parse().ok();
            }
        }
        Some(Self {
            buckets,
            count: count?,
        })
    }

    /// The smallest bucket bound holding fraction `q` of the blocks recorded since `before`;
    /// `None` when there were none, or when they lie beyond the last bound.
    fn quantile_bound_ms(&self, before: &Self, q: f64) -> Option<u64> {
        let blocks = self.count.checked_sub(before.count)?;
        if blocks == 0 {
            return None;
        }
        let wanted = (blocks as f64 * q).ceil() as u64;
        self.buckets
            .iter()
            .zip(&before.buckets)
            .find(|((_, now), (_, then))| now.saturating_sub(*then) >= wanted)
            .map(|((bound, _), _)| *bound)
    }
}

/// Every node's finality histogram (`None` for a node that did not answer in ten tries: under
/// attack, `/metrics` is refused as busy like any other request).
fn finality_histograms(apis: &[Client]) -> Vec<Option<FinalityHistogram>> {
    let read = |api: &Client| {
        let text = api.get_bytes("/metrics").ok()?;
        FinalityHistogram::parse(std::str::from_utf8(&text).ok()?)
    };
    apis.iter()
        .map(|api| {
            (0..10).find_map(|_| {
                read(api).or_else(|| {
                    std::thread::sleep(Duration::from_millis(100));
                    None
                })
            })
        })
        .collect()
}

/// Follows node 0's event stream, recording when each receipt arrives.
fn follow_receipts(api: String, seen: Arc<Mutex<HashMap<Hash32, Instant>>>, stop_at: usize) {
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let Ok(response) = agent.get(&format!("{api}/v1/events")).call() else {
            return;
        };
        let reader = std::io::BufReader::new(response.into_body().into_reader());
        let mut event = String::new();
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_string();
            } else if let Some(data) = line.strip_prefix("data: ")
                && event == "receipt"
                && let Ok(value) = serde_json::from_str::<serde_json::Value>(data)
                && let Some(hash) = value["tx"].as_str().and_then(|h| Hash32::from_hex(h).ok())
            {
                let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                seen.insert(hash, Instant::now());
                if seen.len() >= stop_at {
                    return;
                }
            }
        }
    });
}

pub fn run(args: Args) -> Result<()> {
    if args.clients == 0 || args.txs < args.clients {
        bail!("--txs must be at least --clients, and --clients at least 1");
    }
    if !(1..=256).contains(&args.batch) {
        bail!("--batch must be between 1 and 256");
    }
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("civitas-bench-{}", std::process::id())),
    };
    if dir.join("genesis.json").exists() {
        bail!(
            "{} already holds a network; the benchmark needs a fresh directory",
            dir.display()
        );
    }
    let genesis = create(
        &dir,
        args.validators,
        args.base_port,
        civitas_core::genesis::DEFAULT_EPOCH_LENGTH,
    )?;
    if args.no_index {
        for i in 0..args.validators {
            let config = dir.join(format!("node{i}/node.toml"));
            let text = std::fs::read_to_string(&config)?;
            std::fs::write(&config, format!("{text}\n[index]\nenabled = false\n"))?;
        }
    }
    let apis: Vec<Client> = (0..args.validators)
        .map(|i| Client::new(&format!("http://127.0.0.1:{}", args.base_port + i as u16)))
        .collect();
    let mut children = Vec::new();
    for i in 0..args.validators {
        children.push(spawn(&dir, i)?);
    }
    let result = measure(&args, &dir, &genesis, &apis, &mut children);
    stop(&mut children);
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn measure(
    args: &Args,
    dir: &Path,
    genesis: &civitas_core::genesis::Genesis,
    apis: &[Client],
    children: &mut [std::process::Child],
) -> Result<()> {
    wait_until_final(apis, children, dir)?;
    let workload = workload(&args.workload)?;
    let chain = genesis.chain_id.clone();
    let admin = crate::output::read_key(
        &dir.join("keys")
            .join(format!("{}.json", genesis.agencies[0].id)),
    )?;

    // One official per client, so clients never contend for a nonce; registered in one batch.
    let run = std::process::id();
    let admin_nonce = apis[0].next_nonce(&admin.account())?;
    let mut officials: Vec<KeyFile> = Vec::new();
    let mut setup = Vec::new();
    for c in 0..args.clients {
        let key = write_new_key(
            &dir.join("keys").join(format!("bench-official-{c}.json")),
            "bench",
        )?;
        setup.push(build_tx(
            &chain,
            &admin,
            admin_nonce + c as u64,
            vec![Instruction::Identity(
                IdentityInstruction::RegisterOfficial {
                    key: key.public_key.clone(),
                    agency: genesis.agencies[0].id.clone(),
                    name: format!("Bench official {c}"),
                    roles: workload.roles.iter().map(|r| r.to_string()).collect(),
                },
            )],
            "",
        )?);
        officials.push(key);
    }
    // A document for the proof-bundle measurement, whatever the workload.
    let bundle_document = Hash32::sha256(format!("bench bundle {run}").as_bytes());
    setup.push(build_tx(
        &chain,
        &admin,
        admin_nonce + args.clients as u64,
        vec![Instruction::Notary(NotaryInstruction::Anchor {
            document: bundle_document,
            title: "Benchmark bundle document".into(),
            metadata: vec![],
        })],
        "",
    )?);
    for chunk in setup.chunks(256) {
        for verdict in apis[0].submit_batch(chunk)? {
            if let Some((code, message)) = verdict.error {
                bail!("setting up the benchmark failed: {message} ({code})");
            }
        }
    }
    if let Some(last) = setup.last() {
        let finality = apis[0].wait(&last.hash(), Duration::from_secs(60))?;
        if finality.status != "finalized" {
            bail!("setting up the benchmark failed: {}", finality.status);
        }
    }

    let per_client = args.txs / args.clients;
    let size = civitas_kit::samples::Size {
        run,
        clients: args.clients,
        per_client,
    };
    if let Some(setup) = workload.setup {
        let mut seeder = crate::samples::Devnet::new(dir, &apis[0], genesis);
        setup(&mut seeder, &genesis.agencies[0].id, &size).map_err(|e| {
            anyhow::anyhow!("setting up the {} workload failed: {e}", workload.name)
        })?;
    }

    // Pre-sign the workload before timing.
    let total = per_client * args.clients;
    let signing_start = Instant::now();
    let workloads: Vec<Vec<SignedTx>> = officials
        .iter()
        .enumerate()
        .map(|(c, key)| {
            (0..per_client)
                .map(|n| {
                    build_tx(
                        &chain,
                        key,
                        n as u64,
                        vec![(workload.instruction)(&size, c, n)],
                        "",
                    )
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    let signing = signing_start.elapsed();
    let tx_bytes = workloads
        .iter()
        .flatten()
        .map(commonware_codec::EncodeSize::encode_size)
        .sum::<usize>()
        / total;

    let seen = Arc::new(Mutex::new(HashMap::new()));
    follow_receipts(apis[0].base().to_string(), seen.clone(), total);
    std::thread::sleep(Duration::from_millis(300));

    // The attack, if any, runs from before the first transaction until the last is final.
    let attack_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attack_counts = Arc::new(crate::attack::Counts::default());
    let attack = if args.attack > 0 {
        let targets = crate::attack::Targets {
            bundle: apis[1].get_bytes(&format!("/v1/proofs/notary/{bundle_document}"))?,
            document: bundle_document.to_string(),
            transaction: setup
                .last()
                .map(|tx| tx.hash().to_string())
                .unwrap_or_default(),
        };
        let ports = (0..args.validators)
            .map(|i| args.base_port + i as u16)
            .collect();
        let handle = crate::attack::start(
            args.attack,
            ports,
            targets,
            attack_stop.clone(),
            attack_counts.clone(),
        );
        // Let the attack reach its full strength first.
        std::thread::sleep(Duration::from_secs(3));
        Some(handle)
    } else {
        None
    };

    let cpu_before: Vec<f64> = children
        .iter()
        .map(|c| cpu_seconds(c.id()).unwrap_or(0.0))
        .collect();
    // The ledger's disk, without the read model's files (measured on their own).
    let index_before: u64 = (0..args.validators)
        .map(|i| index_bytes(&dir.join(format!("node{i}/data"))))
        .sum();
    let disk_before: u64 = (0..args.validators)
        .map(|i| dir_bytes(&dir.join(format!("node{i}/data"))))
        .sum::<u64>()
        .saturating_sub(index_before);
    let indexed_before = index_progress(&apis[0]).map_or(0, |(_, applied)| applied);
    let submitted: Arc<Mutex<Vec<(Hash32, Instant)>>> =
        Arc::new(Mutex::new(Vec::with_capacity(total)));
    let taken: Arc<Mutex<Vec<(Hash32, Instant)>>> = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let finality_before = finality_histograms(apis);
    let refused: Arc<Mutex<Vec<String>>> = Arc::default();
    // Resident memory as the chain grows: sampled every half second with the number of
    // transactions finalized so far.
    let memory: Arc<Mutex<Vec<MemorySample>>> = Arc::default();
    // Node 0's read model: how many blocks it is behind, sampled with the memory.
    let index_lags: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    {
        let memory = memory.clone();
        let sampling = sampling.clone();
        let seen = seen.clone();
        let pids: Vec<u32> = children.iter().map(|c| c.id()).collect();
        let index_lags = index_lags.clone();
        let api = apis[0].clone();
        std::thread::spawn(move || {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some((lag, _)) = index_progress(&api) {
                    index_lags
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(lag);
                }
                let finalized = seen.lock().unwrap_or_else(|p| p.into_inner()).len();
                let rss = pids.iter().map(|p| current_rss(*p).unwrap_or(0)).collect();
                memory
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((finalized, rss));
                std::thread::sleep(Duration::from_millis(500));
            }
        });
    }
    let start = Instant::now();
    // With a rate, each client sends one batch every `interval` (open loop).
    let interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(args.clients as f64 * args.batch as f64 / rate));
    let batch = args.batch;
    let threads: Vec<_> = workloads
        .into_iter()
        .enumerate()
        .map(|(c, txs)| {
            let client = apis[c % apis.len()].clone();
            let submitted = submitted.clone();
            let taken = taken.clone();
            let refused = refused.clone();
            std::thread::spawn(move || {
                for (n, chunk) in txs.chunks(batch).enumerate() {
                    let scheduled = match interval {
                        Some(step) => {
                            let at = start + step * n as u32;
                            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                                std::thread::sleep(wait);
                            }
                            at
                        }
                        None => Instant::now(),
                    };
                    let mut refusals = Vec::new();
                    let mut accepted = Vec::with_capacity(chunk.len());
                    send_until_taken(&client, chunk, &mut refusals, &mut accepted);
                    taken
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(accepted);
                    refused
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(refusals);
                    submitted
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(chunk.iter().map(|tx| (tx.hash(), scheduled)));
                }
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    let submit_done = start.elapsed();
    let refused = refused.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if !refused.is_empty() {
        eprintln!(
            "{} transactions were refused; first: {}",
            refused.len(),
            refused[0]
        );
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.lock().unwrap_or_else(|p| p.into_inner()).len() < total && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    // Read before the attack stops, so that reading them is as hard as it was.
    let finality_after = finality_histograms(apis);
    attack_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(attack) = attack {
        let _ = attack.join();
    }
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // Memory after a tenth of the transactions were final, and at the end.
    let (rss_tenth, rss_end) = {
        let memory = memory.lock().unwrap_or_else(|p| p.into_inner());
        let tenth = memory
            .iter()
            .find(|(finalized, _)| *finalized >= total / 10)
            .map(|(_, rss)| rss.clone())
            .unwrap_or_default();
        let end = memory
            .last()
            .map(|(_, rss)| rss.clone())
            .unwrap_or_default();
        (tenth, end)
    };
    let mib = |bytes: &[u64]| {
        bytes
            .iter()
            .map(|b| *b as f64 / 1_048_576.0)
            .collect::<Vec<_>>()
    };
    let submitted = submitted.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut latencies: Vec<f64> = submitted
        .iter()
        .filter_map(|(hash, at)| {
            seen.get(hash)
                .map(|done| done.duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let finalized = latencies.len();
    // From the node taking a transaction to its receipt: what is left once admission is done.
    let mut after_taken: Vec<f64> = taken
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter_map(|(hash, at)| {
            seen.get(hash)
                .map(|done| done.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    after_taken.sort_by(|a, b| a.total_cmp(b));
    // The nodes' own measure of consensus: block timestamp to the block applied, per node.
    let block_finality: Vec<Option<(u64, u64, u64)>> = finality_before
        .iter()
        .zip(&finality_after)
        .map(|(before, after)| {
            let (before, after) = (before.as_ref()?, after.as_ref()?);
            let blocks = after.count.checked_sub(before.count)?;
            let quantile = |q: f64| after.quantile_bound_ms(before, q);
            Some((blocks, quantile(0.5)?, quantile(0.99)?))
        })
        .collect();
    let last = submitted
        .iter()
        .filter_map(|(hash, _)| seen.get(hash))
        .max()
        .copied()
        .unwrap_or_else(Instant::now);
    let window = last.duration_since(start).as_secs_f64();
    let tps = finalized as f64 / window;
    let cpu: Vec<f64> = children
        .iter()
        .zip(&cpu_before)
        .map(|(c, before)| cpu_seconds(c.id()).unwrap_or(0.0) - before)
        .collect();
    let rss: Vec<u64> = children
        .iter()
        .map(|c| peak_rss(c.id()).unwrap_or(0))
        .collect();
    // Once the chain is final, how long node 0's read model takes to apply the rest.
    let catch_up = Instant::now();
    let mut index_caught_up_ms = None;
    while !args.no_index && catch_up.elapsed() < Duration::from_secs(120) {
        if let Some((0, _)) = index_progress(&apis[0]) {
            index_caught_up_ms = Some(catch_up.elapsed().as_secs_f64() * 1000.0);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let indexed = index_progress(&apis[0])
        .map_or(0, |(_, applied)| applied)
        .saturating_sub(indexed_before);
    let mut lags = index_lags.lock().unwrap_or_else(|p| p.into_inner()).clone();
    lags.sort_unstable();
    let index_after: u64 = (0..args.validators)
        .map(|i| index_bytes(&dir.join(format!("node{i}/data"))))
        .sum();
    let disk_after: u64 = (0..args.validators)
        .map(|i| dir_bytes(&dir.join(format!("node{i}/data"))))
        .sum::<u64>()
        .saturating_sub(index_after);

    // A proof bundle for one of the documents: its size and the offline verification time.
    let bundle_bytes = apis[1].get_bytes(&format!("/v1/proofs/notary/{bundle_document}"))?;
    let bundle =
        ProofBundle::from_bytes(&bundle_bytes).context("the node returned an unreadable bundle")?;
    let rounds = 200;
    let verify_start = Instant::now();
    for _ in 0..rounds {
        let decoded = ProofBundle::from_bytes(&bundle_bytes).context("bundle")?;
        civitas_state::proof::verify_bundle(&decoded, genesis).context("bundle verification")?;
    }
    let verify_ms = verify_start.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
    drop(bundle);

    let verifications = ed25519_verifications_per_second();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let bound = cores * verifications / args.validators as f64;
    let report = serde_json::json!({
        "validators": args.validators,
        "clients": args.clients,
        "offered_rate": args.rate,
        "transactions": total,
        "finalized": finalized,
        "workload": args.workload,
        "batch": args.batch,
        "refused": refused.len(),
        "refusals": refused.iter().take(5).collect::<Vec<_>>(),
        "signing_per_second": total as f64 / signing.as_secs_f64(),
        "submit_seconds": submit_done.as_secs_f64(),
        "finalized_tps": tps,
        "latency_ms": {
            "p50": percentile(&latencies, 50.0),
            "p90": percentile(&latencies, 90.0),
            "p99": percentile(&latencies, 99.0),
            "max": latencies.last().copied().unwrap_or(0.0),
        },
        "taken_to_final_ms": {
            "p50": percentile(&after_taken, 50.0),
            "p90": percentile(&after_taken, 90.0),
            "p99": percentile(&after_taken, 99.0),
            "max": after_taken.last().copied().unwrap_or(0.0),
        },
        "block_finality_ms_at_most": block_finality.iter().map(|b| b.map(|(blocks, p50, p99)| serde_json::json!({
            "blocks": blocks, "p50": p50, "p99": p99,
        }))).collect::<Vec<_>>(),
        "cpu_ms_per_tx_per_validator": cpu.iter().map(|s| s * 1000.0 / total as f64).collect::<Vec<_>>(),
        "peak_rss_mib": mib(&rss),
        "rss_mib_after_tenth": mib(&rss_tenth),
        "rss_mib_at_end": mib(&rss_end),
        "disk_bytes_per_tx_per_validator": (disk_after.saturating_sub(disk_before)) as f64 / total as f64 / args.validators as f64,
        "index": (!args.no_index).then(|| serde_json::json!({
            "transactions_applied": indexed,
            "applied_tps": indexed as f64 / window,
            "lag_blocks_p50": lags.get(lags.len() / 2).copied().unwrap_or(0),
            "lag_blocks_max": lags.last().copied().unwrap_or(0),
            "caught_up_ms_after_last_final": index_caught_up_ms,
            "disk_bytes_per_tx": (index_after.saturating_sub(index_before)) as f64 / total as f64 / args.validators as f64,
        })),
        "signed_tx_bytes": tx_bytes,
        "ed25519_verifications_per_second_per_core": verifications,
        "ed25519_bound_tps": bound,
        "fraction_of_bound": tps / bound,
        "bundle_bytes": bundle_bytes.len(),
        "bundle_verify_ms": verify_ms,
        "attack": {
            "clients": args.attack,
            "requests": attack_counts.sent.load(std::sync::atomic::Ordering::Relaxed),
            "served": attack_counts.served.load(std::sync::atomic::Ordering::Relaxed),
            "refused_429": attack_counts.refused.load(std::sync::atomic::Ordering::Relaxed),
            "failed": attack_counts.failed.load(std::sync::atomic::Ordering::Relaxed),
        },
    });
    if args.json {
        print_json(&report);
    } else {
        println!(
            "workload                        {}, {} per request",
            args.workload, args.batch
        );
        println!("validators                      {}", args.validators);
        println!(
            "transactions finalized          {finalized} of {total} ({} clients)",
            args.clients
        );
        println!(
            "signing (before timing)         {:.0} tx/s",
            report["signing_per_second"].as_f64().unwrap_or(0.0)
        );
        println!("finalized throughput            {tps:.0} tx/s over {window:.2} s");
        if args.attack > 0 {
            let count =
                |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
            println!(
                "attack                          {} clients, {} requests: {} served, {} refused (429), {} failed",
                args.attack,
                count(&attack_counts.sent),
                count(&attack_counts.served),
                count(&attack_counts.refused),
                count(&attack_counts.failed)
            );
        }
        println!(
            "submit-to-finality latency      p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            percentile(&latencies, 50.0),
            percentile(&latencies, 90.0),
            percentile(&latencies, 99.0),
            latencies.last().copied().unwrap_or(0.0)
        );
        println!(
            "taken-to-finality latency       p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            percentile(&after_taken, 50.0),
            percentile(&after_taken, 90.0),
            percentile(&after_taken, 99.0),
            after_taken.last().copied().unwrap_or(0.0)
        );
        println!(
            "block finality (node metrics)   {}",
            block_finality
                .iter()
                .map(|b| match b {
                    Some((blocks, p50, p99)) =>
                        format!("{blocks} blocks, p50 ≤ {p50} ms, p99 ≤ {p99} ms"),
                    None => "unreadable".into(),
                })
                .collect::<Vec<_>>()
                .join("; ")
        );
        println!(
            "CPU per tx per validator        {}",
            cpu.iter()
                .map(|s| format!("{:.3} ms", s * 1000.0 / total as f64))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "peak memory per validator       {}",
            rss.iter()
                .map(|b| format!("{:.0} MiB", *b as f64 / 1_048_576.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let show = |values: Vec<f64>| {
            values
                .iter()
                .map(|v| format!("{v:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "resident memory (MiB)           after {} tx: {}; at the end: {}",
            total / 10,
            show(mib(&rss_tenth)),
            show(mib(&rss_end))
        );
        println!(
            "disk per tx per validator       {:.0} bytes (signed transaction: {tx_bytes} bytes)",
            report["disk_bytes_per_tx_per_validator"]
                .as_f64()
                .unwrap_or(0.0)
        );
        if args.no_index {
            println!("read model                      none (--no-index)");
        } else {
            println!(
                "read model (node 0)             {indexed} tx applied, {:.0} tx/s; lag p50 {} blocks, max {} blocks; caught up {} after the last was final; {:.0} bytes per tx",
                indexed as f64 / window,
                lags.get(lags.len() / 2).copied().unwrap_or(0),
                lags.last().copied().unwrap_or(0),
                index_caught_up_ms
                    .map_or("not within 120 s".to_string(), |ms| format!("{ms:.0} ms")),
                report["index"]["disk_bytes_per_tx"].as_f64().unwrap_or(0.0)
            );
        }
        println!(
            "ed25519 verify, one core        {verifications:.0} /s (bound {bound:.0} tx/s for {} validators on {cores} cores)",
            args.validators
        );
        println!(
            "throughput / bound              {:.1}%",
            100.0 * tps / bound
        );
        println!(
            "proof bundle                    {} bytes, verified offline in {verify_ms:.2} ms",
            bundle_bytes.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::FinalityHistogram;

    fn exposition(buckets: &[(&str, u64)], count: u64) -> String {
        let mut text = String::from("# TYPE civitas_finality_latency_seconds histogram\n");
        for (bound, value) in buckets {
            text.push_str(&format!(
                "civitas_finality_latency_seconds_bucket{{le=\"{bound}\"}} {value}\n"
            ));
        }
        text.push_str(&format!(
            "civitas_finality_latency_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             civitas_finality_latency_seconds_count {count}\n"
        ));
        text
    }

    #[test]
    fn quantiles_come_from_the_blocks_recorded_between_two_readings() {
        let before = exposition(&[("0.1", 10), ("0.25", 10), ("0.5", 10)], 10);
        // 100 blocks since: 50 under 100 ms, 49 more under 250 ms, one under 500 ms.
        let after = exposition(&[("0.1", 60), ("0.25", 109), ("0.5", 110)], 110);
        let (before, after) = (
            FinalityHistogram::parse(&before).unwrap(),
            FinalityHistogram::parse(&after).unwrap(),
        );
        assert_eq!(after.buckets[1], (250, 109));
        assert_eq!(after.quantile_bound_ms(&before, 0.5), Some(100));
        assert_eq!(after.quantile_bound_ms(&before, 0.99), Some(250));
        assert_eq!(after.quantile_bound_ms(&before, 1.0), Some(500));
        // No block in between, or none within the last bound: no figure rather than a wrong one.
        assert_eq!(before.quantile_bound_ms(&before, 0.5), None);
        let beyond = exposition(&[("0.1", 10), ("0.25", 10), ("0.5", 10)], 20);
        let beyond = FinalityHistogram::parse(&beyond).unwrap();
        assert_eq!(beyond.quantile_bound_ms(&before, 0.5), None);
    }

    #[test]
    fn an_exposition_without_the_histogram_is_not_read() {
        assert!(FinalityHistogram::parse("civitas_block_height 7\n").is_none());
        assert!(
            FinalityHistogram::parse(
                "civitas_finality_latency_seconds_bucket{le=\"x\"} 1\n\
                 civitas_finality_latency_seconds_count 1\n"
            )
            .is_none()
        );
    }
}
