//! JSON views of ledger objects.

use axum::response::sse::Event as SseEvent;
use civitas_consensus::app::FinalizedBlock;
use civitas_consensus::service::BlockInfo;
use serde_json::json;
use std::convert::Infallible;

/// A block with its transactions and certificate.
pub fn block(info: &BlockInfo) -> serde_json::Value {
    let transactions: Vec<serde_json::Value> = info
        .block
        .txs
        .iter()
        .map(|tx| json!({ "hash": tx.hash(), "body": tx.body, "signatures": tx.signatures }))
        .collect();
    let finalization = info.finalization.as_ref().map(|f| {
        json!({
            "epoch": f.epoch,
            "view": f.view,
            "parent_view": f.parent_view,
            "block": f.block,
            "signers": f.signatures.iter().map(|s| s.signer).collect::<Vec<_>>(),
            "signatures": f.signatures.iter().map(|s| s.signature.to_hex()).collect::<Vec<_>>(),
        })
    });
    json!({
        "height": info.block.header.height,
        "digest": info.digest,
        "header": info.block.header,
        "transactions": transactions,
        "finalization": finalization,
    })
}

/// The server-sent events for one finalized block.
pub fn sse_events(
    finalized: &FinalizedBlock,
    module: Option<&str>,
) -> Vec<Result<SseEvent, Infallible>> {
    let header = &finalized.block.header;
    let mut out = Vec::new();
    if module.is_none() {
        let data = json!({
            "height": header.height,
            "digest": finalized.digest,
            "timestamp": header.timestamp,
            "tx_count": header.tx_count,
            "state_root": header.state_root,
        });
        out.push(Ok(SseEvent::default()
            .event("block")
            .data(data.to_string())));
    }
    for receipt in &finalized.receipts {
        if module.is_none() {
            let data =
                json!({ "tx": receipt.tx, "height": receipt.height, "outcome": receipt.outcome });
            out.push(Ok(SseEvent::default()
                .event("receipt")
                .data(data.to_string())));
        }
        for event in &receipt.events {
            if module.is_some_and(|m| m != event.module()) {
                continue;
            }
            let data = json!({ "height": receipt.height, "tx": receipt.tx, "module": event.module(), "event": event });
            out.push(Ok(SseEvent::default()
                .event("event")
                .data(data.to_string())));
        }
    }
    out
}
