//! The node's own metrics, rendered in the Prometheus text format next to the metrics commonware
//! registers for consensus, p2p and storage.
//!
//! Counters only grow; the finality histogram measures, per finalized block, the time from the
//! proposer's timestamp to this node applying the block (so it includes clock skew between the
//! two machines, bounded by the validators' timestamp rules).

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the finality-latency buckets, in milliseconds.
const LATENCY_BUCKETS_MS: [u64; 15] = [
    50, 100, 150, 200, 250, 300, 400, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 10_000,
];
/// Finalized blocks remembered for the throughput gauge.
const RATE_WINDOW_BLOCKS: usize = 32;

/// A counter per label value.
type Counts = std::collections::BTreeMap<&'static str, u64>;

/// Ledger metrics of one node.
#[derive(Default)]
pub struct LedgerMetrics {
    blocks: AtomicU64,
    transactions: AtomicU64,
    failed: AtomicU64,
    epoch: AtomicU64,
    latency: Mutex<Histogram>,
    recent: Mutex<std::collections::VecDeque<(u64, u64)>>,
    /// Blocks refused, by the rule they broke.
    refused: Mutex<Counts>,
    /// Peers blocked, by why.
    blocked: Mutex<Counts>,
    /// P2p connections refused at the hello, by why.
    handshakes_refused: Mutex<Counts>,
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS_MS.len()],
    count: u64,
    sum_ms: u64,
}

impl LedgerMetrics {
    /// Records a finalized block of `txs` transactions (`failed` of them with a failed receipt),
    /// applied at `now_ms`, whose proposer stamped it `timestamp_ms`.
    pub fn record_block(&self, txs: u64, failed: u64, timestamp_ms: u64, now_ms: u64) {
        self.blocks.fetch_add(1, Ordering::Relaxed);
        self.transactions.fetch_add(txs, Ordering::Relaxed);
        self.failed.fetch_add(failed, Ordering::Relaxed);
        let latency = now_ms.saturating_sub(timestamp_ms);
        {
            let mut histogram = self.latency.lock().unwrap_or_else(|p| p.into_inner());
            for (bucket, bound) in histogram.buckets.iter_mut().zip(LATENCY_BUCKETS_MS) {
                if latency <= bound {
                    *bucket += 1;
                }
            }
            histogram.count += 1;
            histogram.sum_ms += latency;
        }
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.push_back((now_ms, txs));
        while recent.len() > RATE_WINDOW_BLOCKS {
            recent.pop_front();
        }
    }

    /// Records a block refused for breaking `rule`.
    pub fn record_refusal(&self, rule: &'static str) {
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        *refused.entry(rule).or_default() += 1;
    }

    /// Records a peer blocked for `reason`.
    pub fn record_peer_blocked(&self, reason: &'static str) {
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        *blocked.entry(reason).or_default() += 1;
    }

    /// Records a p2p connection refused at the hello for `reason`.
    pub fn record_handshake_refused(&self, reason: &'static str) {
        let mut refused = self
            .handshakes_refused
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *refused.entry(reason).or_default() += 1;
    }

    /// How many peers were blocked for `reason`.
    pub fn peers_blocked(&self, reason: &str) -> u64 {
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked.get(reason).copied().unwrap_or(0)
    }

    /// How many blocks were refused for breaking `rule`.
    pub fn refusals(&self, rule: &str) -> u64 {
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        refused.get(rule).copied().unwrap_or(0)
    }

    /// Records the consensus epoch this node runs.
    pub fn set_epoch(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::Relaxed);
    }

    /// The consensus epoch this node runs.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// Finalized transactions per second over the last blocks.
    pub fn transactions_per_second(&self) -> f64 {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let (Some(first), Some(last)) = (recent.front(), recent.back()) else {
            return 0.0;
        };
        let span_ms = last.0.saturating_sub(first.0);
        if span_ms == 0 {
            return 0.0;
        }
        let txs: u64 = recent.iter().skip(1).map(|(_, n)| n).sum();
        txs as f64 * 1000.0 / span_ms as f64
    }

    /// Renders the metrics, with the current height and mempool size.
    pub fn render(&self, height: u64, mempool: usize) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        };
        metric(
            "civitas_block_height",
            "gauge",
            "Height of the latest finalized block applied.",
            height.to_string(),
        );
        metric(
            "civitas_consensus_epoch",
            "gauge",
            "Consensus epoch this node runs.",
            self.epoch().to_string(),
        );
        metric(
            "civitas_mempool_transactions",
            "gauge",
            "Transactions waiting in the mempool.",
            mempool.to_string(),
        );
        metric(
            "civitas_blocks_finalized_total",
            "counter",
            "Finalized blocks applied since start.",
            self.blocks.load(Ordering::Relaxed).to_string(),
        );
        metric(
            "civitas_transactions_finalized_total",
            "counter",
            "Transactions in finalized blocks since start.",
            self.transactions.load(Ordering::Relaxed).to_string(),
        );
        metric(
            "civitas_transactions_failed_total",
            "counter",
            "Finalized transactions whose receipt records a failure.",
            self.failed.load(Ordering::Relaxed).to_string(),
        );
        metric(
            "civitas_transactions_per_second",
            "gauge",
            "Finalized transactions per second over the last 32 blocks.",
            format!("{:.3}", self.transactions_per_second()),
        );
        let mut counters = |name: &str, help: &str, label: &str, family: &Mutex<Counts>| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            for (value, count) in family.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {count}");
            }
        };
        counters(
            "civitas_blocks_refused_total",
            "Blocks this node refused to vote for or apply, by the rule they broke.",
            "rule",
            &self.refused,
        );
        counters(
            "civitas_peers_blocked_total",
            "Peers this node blocked for sending invalid data, by reason.",
            "reason",
            &self.blocked,
        );
        counters(
            "civitas_p2p_handshakes_refused_total",
            "P2p connections refused before the handshake: the peer runs another genesis (other_genesis) or protocol version (other_protocol).",
            "reason",
            &self.handshakes_refused,
        );
        let histogram = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let name = "civitas_finality_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from a block's timestamp to this node applying it."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (count, bound) in histogram.buckets.iter().zip(LATENCY_BUCKETS_MS) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{}\"}} {count}",
                bound as f64 / 1000.0
            );
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", histogram.count);
        let _ = writeln!(out, "{name}_sum {}", histogram.sum_ms as f64 / 1000.0);
        let _ = writeln!(out, "{name}_count {}", histogram.count);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_rates_and_buckets() {
        let metrics = LedgerMetrics::default();
        metrics.record_block(10, 1, 1_000, 1_120);
        metrics.record_block(30, 0, 2_000, 2_400);
        metrics.record_refusal("state_root_mismatch");
        metrics.record_refusal("state_root_mismatch");
        let text = metrics.render(7, 3);
        assert!(text.contains("civitas_blocks_refused_total{rule=\"state_root_mismatch\"} 2"));
        assert_eq!(metrics.refusals("state_root_mismatch"), 2);
        assert_eq!(metrics.refusals("expired"), 0);
        assert!(text.contains("civitas_block_height 7"));
        assert!(text.contains("civitas_mempool_transactions 3"));
        assert!(text.contains("civitas_transactions_finalized_total 40"));
        assert!(text.contains("civitas_transactions_failed_total 1"));
        assert!(text.contains("civitas_finality_latency_seconds_bucket{le=\"0.2\"} 1"));
        assert!(text.contains("civitas_finality_latency_seconds_bucket{le=\"0.5\"} 2"));
        assert!(text.contains("civitas_finality_latency_seconds_count 2"));
        // 30 transactions finalized over the 1.28 s between the two blocks.
        assert!((metrics.transactions_per_second() - 30.0 / 1.28).abs() < 1e-9);
    }
}
