//! The public pages about the ledger itself: home, the explorer (blocks, transactions,
//! validators, live), and verifying a document or a proof bundle.

use super::html::{Page, block_link, esc, facts, proof_link, short_hex, table, time, tx_link};
use super::{PageError, PortalState, render};
use axum::extract::{Path, State};
use axum::response::Html;
use civitas_consensus::service::TxStatus;
use civitas_core::hash::Hash32;
use civitas_core::receipt::TxOutcome;
use civitas_core::tx::SignedTx;
use std::fmt::Write as _;

/// Most recent blocks listed on the explorer.
pub const RECENT_BLOCKS: u64 = 15;
/// Most recent transactions listed on the explorer.
pub const RECENT_TXS: usize = 15;

/// The home page's cards of the sections that have one (the modules', in registration order).
fn module_cards(site: &civitas_kit::portal::Site) -> String {
    let mut cards = String::new();
    for section in site.sections {
        if let Some((heading, text)) = section.card {
            let _ = write!(
                cards,
                "<a class=\"card\" href=\"{}\"><h2>{}</h2><p>{}</p></a>",
                esc(section.path),
                esc(heading),
                esc(text)
            );
        }
    }
    cards
}

pub async fn home(State(state): State<PortalState>) -> Html<String> {
    let node = &state.node;
    let tip = node.tip();
    let genesis = node.genesis();
    let (epoch, set) = node.epoch();
    // The agencies in force now (genesis lists only the founders); if the state cannot be
    // read, the founders, so the page still says who keeps the ledger.
    let in_force: Vec<(String, String)> =
        match civitas_modules::governance::routes::agencies_in_force(&state.site.ledger).await {
            Ok(list) => list.into_iter().map(|a| (a.id, a.name)).collect(),
            Err(_) => genesis
                .agencies
                .iter()
                .map(|a| (a.id.clone(), a.name.clone()))
                .collect(),
        };
    let mut agencies = Vec::new();
    for (id, name) in &in_force {
        let validating = set.validators.iter().any(|v| &v.agency == id);
        agencies.push(vec![
            esc(name),
            format!("<code>{}</code>", esc(id)),
            if validating { "yes" } else { "no" }.to_string(),
        ]);
    }
    let body = format!(
        "<h1>The public record of {chain}</h1>\
         <p class=\"lead\">{n} agencies keep one shared ledger. No agency alone can rewrite, reorder \
         or hide what it says, and anything on this site can be checked offline with a proof \
         bundle.</p>\
         <div class=\"cards\">\
         <a class=\"card\" href=\"/verify\"><h2>Verify a document</h2><p>Check whether a file was \
         notarised, by whom and when. The file never leaves your device.</p></a>\
         {module_cards}\
         <a class=\"card\" href=\"/explorer\"><h2>Explorer</h2><p>Every block and transaction as \
         it is finalized, with receipts and events.</p></a>\
         </div>\
         <h2>The network now</h2>{facts}{agencies}\
         <p>Officials and citizens: <a href=\"/sign-in\">sign in with your key</a> to see your \
         account or use the agency console.</p>",
        chain = esc(&genesis.chain_id),
        module_cards = module_cards(&state.site),
        n = in_force.len(),
        facts = facts(&[
            (
                "Latest block",
                format!(
                    "<a href=\"/explorer/blocks/{h}\" data-live=\"height\">{h}</a>",
                    h = tip.height
                )
            ),
            ("Finalized at", time(tip.timestamp.0)),
            ("Epoch", epoch.to_string()),
            ("Validators", set.validators.len().to_string()),
        ]),
        agencies = table("Agencies", &["Agency", "Id", "Runs a validator"], &agencies),
    );
    render(
        &state,
        Page {
            title: "Home",
            section: "/",
            body,
            scripts: &["explorer.js"],
        },
    )
}

/// The instruction names of a transaction, such as `notary.anchor`.
pub fn instruction_names(tx: &SignedTx) -> String {
    tx.body
        .instructions
        .iter()
        .map(|i| i.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `?empty=hide&older=<cursor>`: the explorer's choices.
#[derive(serde::Deserialize, Default)]
pub struct ExplorerQuery {
    /// `hide` lists only blocks with transactions.
    #[serde(default)]
    empty: Option<String>,
    /// Blocks older than this cursor (the `next` of the read model's list).
    #[serde(default)]
    older: Option<String>,
}

pub async fn explorer(
    State(state): State<PortalState>,
    axum::extract::Query(query): axum::extract::Query<ExplorerQuery>,
) -> Html<String> {
    use civitas_kit::index::query::{BlockFilter, Order, TxFilter};
    let node = &state.node;
    let tip = node.tip();
    let (epoch, set) = node.epoch();
    let hide_empty = query.empty.as_deref() == Some("hide");
    let older = query.older.as_deref().filter(|c| c.len() <= 24);
    let mut blocks = Vec::new();
    let mut txs = Vec::new();
    let mut next = None;
    let mut indexed = None;
    if let Ok(mut snapshot) = civitas_kit::http::snapshot(&state.site.ledger).await {
        let filter = BlockFilter {
            with_transactions: hide_empty,
        };
        if let Ok(page) = snapshot
            .blocks(&filter, Order::Newest, older, RECENT_BLOCKS as u32)
            .await
        {
            indexed = Some(page.height);
            next = page.next;
            for block in page.items {
                blocks.push(vec![
                    block_link(block.height),
                    time(block.timestamp_ms),
                    block.tx_count.to_string(),
                    short_hex(&block.digest),
                ]);
            }
        }
        if older.is_none()
            && let Ok(page) = snapshot
                .transactions(&TxFilter::default(), Order::Newest, None, RECENT_TXS as u32)
                .await
        {
            for tx in page.items {
                txs.push(vec![
                    tx_link(&tx.hash),
                    block_link(tx.height),
                    esc(&tx.actions.join(", ")),
                    short_hex(&tx.signer),
                ]);
            }
        }
        let _ = snapshot.finish().await;
    }
    let toggle = if hide_empty {
        "<a href=\"/explorer\">Show empty blocks too</a>"
    } else {
        "<a href=\"/explorer?empty=hide\">Show only blocks with transactions</a>"
    };
    let more = match &next {
        Some(cursor) => format!(
            "<p><a href=\"/explorer?{}older={}\">Older blocks</a></p>",
            if hide_empty { "empty=hide&amp;" } else { "" },
            esc(cursor)
        ),
        None => String::new(),
    };
    let caption = match indexed {
        Some(height) if older.is_some() => format!("Older blocks, as of block {height}"),
        Some(_) => "Latest blocks".to_string(),
        None => "Blocks cannot be listed by this node now (its index is unavailable)".to_string(),
    };
    let validators: Vec<Vec<String>> = set
        .validators
        .iter()
        .map(|v| {
            vec![
                esc(&v.agency),
                short_hex(&v.key.to_string()),
                format!("<code>{}</code>", esc(&v.p2p_address)),
            ]
        })
        .collect();
    let body = format!(
        "<h1>Explorer</h1>\
         <p class=\"lead\">Blocks appear here as the validators finalize them.</p>\
         <p><span id=\"live-status\" role=\"status\">Latest block \
         <a href=\"/explorer/blocks/{h}\" data-live=\"height\">{h}</a>.</span></p>\
         <form class=\"inline\" action=\"/explorer/go\" method=\"get\" id=\"lookup\">\
         <label for=\"lookup-q\">Find a block height or transaction hash</label>\
         <input id=\"lookup-q\" name=\"q\" autocomplete=\"off\" spellcheck=\"false\" \
         aria-describedby=\"lookup-q-error\">\
         <button type=\"submit\">Find</button><p id=\"lookup-q-error\" class=\"field-error\"></p></form>\
         <h2>Latest blocks</h2><p>{toggle}</p>{blocks}{more}\
         <h2>Recent transactions</h2>{txs}\
         <h2>Validators of epoch {epoch}</h2>{validators}\
         <p><a href=\"/explorer/epochs/{epoch}\">Epoch {epoch}: its blocks and proof</a></p>\
         <p>Machine-readable: <a href=\"/v1/blocks/latest\">latest block (JSON)</a>, \
         <a href=\"/v1/events\">event stream (server-sent events)</a>.</p>",
        h = tip.height,
        blocks = table(
            &caption,
            &["Height", "Time", "Transactions", "Digest"],
            &blocks
        )
        .replacen(
            "<tbody>",
            match (older.is_some(), hide_empty) {
                // An older page does not grow with new blocks.
                (true, _) => "<tbody>",
                (false, true) => "<tbody id=\"blocks-body\" data-hide-empty=\"true\">",
                (false, false) => "<tbody id=\"blocks-body\">",
            },
            1
        ),
        txs = table(
            "Latest transactions",
            &["Transaction", "Block", "Actions", "Signer"],
            &txs
        )
        .replacen("<tbody>", "<tbody id=\"txs-body\">", 1),
        validators = table(
            "Validators",
            &["Agency", "Consensus key", "Peer address"],
            &validators
        ),
    );
    render(
        &state,
        Page {
            title: "Explorer",
            section: "/explorer",
            body,
            scripts: &["explorer.js"],
        },
    )
}

pub async fn block(
    State(state): State<PortalState>,
    Path(height): Path<String>,
) -> Result<Html<String>, PageError> {
    let node = &state.node;
    let height: u64 = height
        .parse()
        .map_err(|_| PageError::not_found("A block height is a whole number, such as 42."))?;
    let info = node.block(Some(height)).await?.ok_or_else(|| {
        PageError::not_found(&format!(
            "Block {height} is not finalized; the latest is {}.",
            node.tip().height
        ))
    })?;
    let header = &info.block.header;
    let txs: Vec<Vec<String>> = info
        .block
        .txs
        .iter()
        .map(|tx| {
            let hash = tx.hash().to_string();
            vec![
                tx_link(&hash),
                esc(&instruction_names(tx)),
                short_hex(&tx.body.signer.to_hex()),
                esc(&tx.body.memo),
            ]
        })
        .collect();
    let signers = info
        .finalization
        .as_ref()
        .map(|f| format!("{} validators signed its finalization", f.signatures.len()))
        .unwrap_or_else(|| "final because a later block was finalized".into());
    let mut nav = String::from("<p class=\"pager\">");
    if height > 1 {
        let _ = write!(
            nav,
            "<a href=\"/explorer/blocks/{}\" rel=\"prev\">Block {}</a> ",
            height - 1,
            height - 1
        );
    }
    if height < node.tip().height {
        let _ = write!(
            nav,
            "<a href=\"/explorer/blocks/{}\" rel=\"next\">Block {}</a>",
            height + 1,
            height + 1
        );
    }
    nav.push_str("</p>");
    let end = match crate::end_receipt(node, height).await {
        Some(end) => format!(
            "<h2>End of the block</h2><p>The ledger acted on its own at the end of this \
             block ({} events: deadlines that passed, and what they caused): {}.</p>",
            end.events.len(),
            tx_link(&end.tx.to_string())
        ),
        None => String::new(),
    };
    let body = format!(
        "<h1>Block {height}</h1>{facts}<h2>Transactions</h2>{txs}{end}{nav}\
         <p><a href=\"/v1/blocks/{height}\">This block as JSON</a></p>",
        facts = facts(&[
            ("Digest", format!("<code>{}</code>", info.digest)),
            ("Time", time(header.timestamp.0)),
            ("Epoch", header.epoch.to_string()),
            ("Proposer", short_hex(&header.proposer.to_string())),
            ("Finality", esc(&signers)),
            ("State root", format!("<code>{}</code>", header.state_root)),
            ("Parent", format!("<code>{}</code>", header.parent)),
        ]),
        txs = table(
            "Transactions in this block",
            &["Transaction", "Actions", "Signer", "Memo"],
            &txs
        ),
    );
    Ok(render(
        &state,
        Page {
            title: &format!("Block {height}"),
            section: "/explorer",
            body,
            scripts: &[],
        },
    ))
}

pub async fn transaction(
    State(state): State<PortalState>,
    Path(hash): Path<String>,
) -> Result<Html<String>, PageError> {
    let node = &state.node;
    let hash = Hash32::from_hex(&hash)
        .map_err(|_| PageError::not_found("A transaction hash is 64 hexadecimal characters."))?;
    let body = match node.tx_status(hash).await? {
        TxStatus::Unknown => {
            return Err(PageError::not_found(&format!(
                "Transaction {hash} is unknown to this node: not pending, not finalized."
            )));
        }
        TxStatus::Pending => format!(
            "<h1>Transaction</h1><p><code>{hash}</code></p>\
             <p id=\"tx-status\" role=\"status\" data-pending=\"{hash}\">Pending: waiting for a \
             block. This page updates when it is finalized.</p>"
        ),
        TxStatus::Rejected { code, message } => format!(
            "<h1>Transaction</h1><p><code>{hash}</code></p>{}",
            super::html::notice(
                "error",
                &format!(
                    "Refused before reaching a block ({}): {}",
                    esc(&code),
                    esc(&message)
                )
            )
        ),
        TxStatus::Finalized(receipt) => {
            let tx = match node.block(Some(receipt.height)).await {
                Ok(Some(info)) => info.block.txs.iter().find(|t| t.hash() == hash).cloned(),
                _ => None,
            };
            let outcome = match &receipt.outcome {
                TxOutcome::Success => super::html::notice("ok", "Succeeded."),
                TxOutcome::Failed { code, .. } => super::html::notice(
                    "error",
                    &format!(
                        "Failed: {} (<code>{}</code>). A failed transaction is recorded and uses its nonce.",
                        esc(&receipt.outcome.message().unwrap_or_default()),
                        esc(code)
                    ),
                ),
            };
            let mut events = String::new();
            for event in &receipt.events {
                let json = serde_json::to_string_pretty(event).unwrap_or_default();
                let _ = write!(
                    events,
                    "<li><h3>{}</h3><pre>{}</pre></li>",
                    esc(event.module()),
                    esc(&json)
                );
            }
            if events.is_empty() {
                events.push_str("<li>No events.</li>");
            }
            if receipt.is_block_end() {
                // What the modules did at the end of the block on their own (deadlines that
                // passed): no transaction, no signer; the records it changed have proofs.
                return Ok(render(
                    &state,
                    Page {
                        title: "End of block",
                        section: "/explorer",
                        body: format!(
                            "<h1>End of block {h}</h1><p><code>{hash}</code></p>\
                             <p>What the ledger did on its own at the end of \
                             <a href=\"/explorer/blocks/{h}\">block {h}</a>, at {time}: \
                             deadlines that passed, and what they caused. No one signed it; \
                             every validator computes it from the block, and the records it \
                             changed have their proofs.</p>\
                             <h2>Events</h2><ul class=\"events\">{events}</ul>",
                            h = receipt.height,
                            time = time(receipt.timestamp.0),
                        ),
                        scripts: &["explorer.js"],
                    },
                ));
            }
            let instructions = tx
                .as_ref()
                .map(|t| serde_json::to_string_pretty(&t.body.instructions).unwrap_or_default())
                .unwrap_or_default();
            let memo = tx.as_ref().map(|t| t.body.memo.clone()).unwrap_or_default();
            format!(
                "<h1>Transaction</h1><p><code>{hash}</code></p>{outcome}{facts}\
                 <p>{proof} (checks offline with <code>civitas verify</code>)</p>\
                 <h2>Instructions</h2><pre>{instructions}</pre>\
                 <h2>Events</h2><ul class=\"events\">{events}</ul>",
                facts = facts(&[
                    (
                        "Block",
                        format!(
                            "<a href=\"/explorer/blocks/{h}\">{h}</a>, position {}",
                            receipt.index,
                            h = receipt.height
                        )
                    ),
                    ("Time", time(receipt.timestamp.0)),
                    (
                        "Signer",
                        format!("<code>{}</code>", receipt.signer.to_hex())
                    ),
                    ("Nonce", receipt.nonce.to_string()),
                    ("Memo", esc(&memo)),
                ]),
                proof = proof_link(
                    &format!("/v1/proofs/transactions/{hash}"),
                    "this transaction and its receipt"
                ),
                instructions = esc(&instructions),
            )
        }
    };
    Ok(render(
        &state,
        Page {
            title: "Transaction",
            section: "/explorer",
            body,
            scripts: &["explorer.js"],
        },
    ))
}

/// `/explorer/go?q=…`: a block height or a transaction hash typed into the explorer's box.
pub async fn go(
    axum::extract::Query(query): axum::extract::Query<GoQuery>,
) -> Result<axum::response::Redirect, PageError> {
    let q = query.q.trim();
    if q.parse::<u64>().is_ok() {
        return Ok(axum::response::Redirect::to(&format!(
            "/explorer/blocks/{q}"
        )));
    }
    if Hash32::from_hex(q).is_ok() {
        return Ok(axum::response::Redirect::to(&format!(
            "/explorer/transactions/{}",
            q.to_ascii_lowercase()
        )));
    }
    Err(PageError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "Not a block or transaction",
        "Type a block height (a whole number) or a transaction hash (64 hexadecimal characters).",
    ))
}

#[derive(serde::Deserialize)]
pub struct GoQuery {
    #[serde(default)]
    q: String,
}

pub async fn verify(State(state): State<PortalState>) -> Html<String> {
    let body = "<h1>Verify</h1>\
        <section aria-labelledby=\"doc-heading\"><h2 id=\"doc-heading\">Verify a document</h2>\
        <p>Choose a file. Your browser computes its SHA-256 fingerprint; the file itself is never \
        uploaded. The ledger is then asked whether that fingerprint was notarised.</p>\
        <form id=\"doc-form\" novalidate>\
        <label for=\"doc-file\">Document</label>\
        <input type=\"file\" id=\"doc-file\" name=\"file\" aria-describedby=\"doc-file-error\">\
        <p id=\"doc-file-error\" class=\"field-error\"></p>\
        <button type=\"submit\">Check the document</button></form>\
        <div id=\"doc-result\" role=\"status\" aria-live=\"polite\"></div></section>\
        <section aria-labelledby=\"bundle-heading\"><h2 id=\"bundle-heading\">Verify a proof bundle</h2>\
        <p>Choose or drop a proof bundle (<code>.cvpb</code>). This node checks its signatures and \
        Merkle proofs against the network's genesis and says in plain words what it proves. To \
        trust no one, check the same file offline with <code>civitas verify</code> or the \
        independent Python verifier (<code>tools/verify_bundle.py</code>).</p>\
        <form id=\"bundle-form\" novalidate><div id=\"bundle-drop\" class=\"drop\">\
        <label for=\"bundle-file\">Proof bundle</label>\
        <input type=\"file\" id=\"bundle-file\" name=\"bundle\" accept=\".cvpb,application/vnd.civitas.proof-bundle\" \
        aria-describedby=\"bundle-file-error\"><p class=\"hint\">or drop the file here</p></div>\
        <p id=\"bundle-file-error\" class=\"field-error\"></p>\
        <button type=\"submit\">Check the bundle</button></form>\
        <div id=\"bundle-result\" role=\"status\" aria-live=\"polite\"></div></section>"
        .to_string();
    render(
        &state,
        Page {
            title: "Verify",
            section: "/verify",
            body,
            scripts: &["verify.js"],
        },
    )
}

/// An event in a few words: its kind, and its title, amount or reason when it has one.
pub fn event_words(event: &civitas_core::event::Event) -> String {
    let json = serde_json::to_value(event).unwrap_or_default();
    let kind = json["type"]
        .as_str()
        .map(|t| t.replace('_', " "))
        .unwrap_or_else(|| event.module().to_string());
    let text = |field: &str| json[field].as_str().filter(|s| !s.is_empty());
    let detail = match (text("purpose"), text("agency").or(text("recipient"))) {
        // A use of personal data: who, and what for.
        (Some(purpose), Some(agency)) => format!(": {agency}, for {purpose}"),
        _ => ["title", "name", "reason", "note"]
            .iter()
            .find_map(|field| text(field))
            .map(|s| format!(": {s}"))
            .unwrap_or_default(),
    };
    format!("{} {kind}{detail}", event.module())
}

/// `/explorer/epochs/{n}`: the validator set of an epoch, the blocks it covers, its proof.
pub async fn epoch(
    State(state): State<PortalState>,
    Path(epoch): Path<String>,
) -> Result<Html<String>, PageError> {
    let node = &state.node;
    let number: u64 = epoch
        .parse()
        .map_err(|_| PageError::not_found("An epoch number is a whole number, such as 0."))?;
    let key = civitas_modules::queries::key_from_text(civitas_core::bundle::spaces::EPOCH, &epoch)
        .map_err(|e| PageError::not_found(&e.to_string()))?;
    let proven = node
        .state(key.clone())
        .await
        .map_err(crate::error::ApiError::from)?;
    let set = proven
        .value
        .as_deref()
        .and_then(|bytes| civitas_modules::queries::value_json(&key.space, bytes))
        .ok_or_else(|| {
            PageError::not_found(&format!(
                "Epoch {number} has not started; the current epoch is {}.",
                node.epoch().0
            ))
        })?;
    let genesis = node.genesis();
    let first = number.saturating_mul(genesis.epoch_length);
    let last = genesis.last_height_of(number);
    let validators: Vec<Vec<String>> = set["validators"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|v| {
                    vec![
                        esc(v["agency"].as_str().unwrap_or("")),
                        short_hex(v["key"].as_str().unwrap_or("")),
                        format!(
                            "<code>{}</code>",
                            esc(v["p2p_address"].as_str().unwrap_or(""))
                        ),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let mut pager = String::from("<p class=\"pager\">");
    if number > 0 {
        let _ = write!(
            pager,
            "<a href=\"/explorer/epochs/{p}\" rel=\"prev\">Epoch {p}</a>",
            p = number - 1
        );
    }
    if number < node.epoch().0 {
        let _ = write!(
            pager,
            "<a href=\"/explorer/epochs/{n}\" rel=\"next\">Epoch {n}</a>",
            n = number + 1
        );
    }
    pager.push_str("</p>");
    let body = format!(
        "<h1>Epoch {number}</h1>\
         <p class=\"lead\">The validators below sign the blocks of this epoch. A change of \
         validators approved by the agencies takes effect at the next epoch, and every set is kept \
         on the ledger so anyone can follow the hand-overs from genesis.</p>{facts}{table}\
         <p>{proof}</p>{pager}",
        facts = facts(&[
            (
                "Blocks",
                format!(
                    "<a href=\"/explorer/blocks/{f}\">{f}</a> to {last}",
                    f = first.max(1)
                )
            ),
            ("Validators", validators.len().to_string()),
        ]),
        table = table(
            &format!("Validators of epoch {number}"),
            &["Agency", "Consensus key", "Peer address"],
            &validators
        ),
        proof = proof_link(
            &format!("/v1/proofs/state/consensus/epoch/{number}"),
            &format!("the validator set of epoch {number}")
        ),
    );
    Ok(render(
        &state,
        Page {
            title: &format!("Epoch {number}"),
            section: "/explorer",
            body,
            scripts: &[],
        },
    ))
}
