//! The index on both backends: each scenario runs on a SQLite file and on a throwaway
//! PostgreSQL server, with hand-made blocks whose receipts name the accounts the lists find.

use super::*;
use crate::query::{BlockFilter, EventFilter, Order, Part, TxFilter};
use civitas_core::Instruction;
use civitas_core::block::{Block, HEADER_VERSION, Header};
use civitas_core::crypto::{AccountId, PrivateKey};
use civitas_core::event::Event;
use civitas_core::identity::{AccountKind, IdentityEvent, IdentityInstruction};
use civitas_core::notary::{NotaryEvent, NotaryInstruction};
use civitas_core::receipt::{Receipt, TxOutcome};
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxBody};
use std::sync::Arc;

fn chain() -> Hash32 {
    Hash32::sha256(b"test chain")
}

fn key(seed: u64) -> PrivateKey {
    PrivateKey::from_test_seed(seed)
}

fn account(seed: u64) -> AccountId {
    key(seed).public_key().account_id()
}

fn anchor(title: &str) -> Instruction {
    Instruction::Notary(NotaryInstruction::Anchor {
        document: Hash32::sha256(title.as_bytes()),
        title: title.into(),
        metadata: Vec::new(),
    })
}

/// A transaction by `signer`'s key (and `cosigners`' keys).
fn tx(signer: u64, nonce: u64, instruction: Instruction, cosigners: &[u64]) -> SignedTx {
    let body = TxBody {
        chain_id: "test".into(),
        signer: account(signer),
        nonce,
        expiry: TimestampMs(u64::MAX / 2),
        instructions: vec![instruction],
        memo: String::new(),
    };
    let mut keys = vec![key(signer)];
    keys.extend(cosigners.iter().map(|s| key(*s)));
    let refs: Vec<&PrivateKey> = keys.iter().collect();
    body.into_signed(&refs)
}

/// A block at `height` after `parent` with `txs`, each succeeding with `events` (or failing
/// when `None`).
fn block(height: u64, parent: Hash32, txs: Vec<(SignedTx, Option<Vec<Event>>)>) -> Finalized {
    let timestamp = TimestampMs(1_700_000_000_000 + height * 300);
    let receipts = txs
        .iter()
        .enumerate()
        .map(|(index, (signed, events))| Receipt {
            tx: signed.hash(),
            height,
            index: index as u32,
            timestamp,
            signer: signed.body.signer,
            nonce: signed.body.nonce,
            outcome: match events {
                Some(_) => TxOutcome::Success,
                None => TxOutcome::Failed {
                    instruction: 0,
                    code: "already_anchored".into(),
                    args: Vec::new(),
                },
            },
            events: events.clone().unwrap_or_default(),
        })
        .collect();
    let header = Header {
        version: HEADER_VERSION,
        protocol: 2,
        chain: chain(),
        height,
        parent,
        epoch: 0,
        view: height,
        parent_view: height - 1,
        proposer: key(100).public_key(),
        timestamp,
        tx_count: txs.len() as u32,
        tx_root: Hash32::sha256(b"txs"),
        receipts_root: Hash32::sha256(b"receipts"),
        state_root: Hash32::sha256(b"state"),
        state_ops_root: Hash32::sha256(b"ops"),
        state_ops_start: 0,
        state_ops_end: 0,
        history_root: Hash32::sha256(b"history"),
        validator_set: Hash32::sha256(b"validators"),
    };
    let block = Block {
        header,
        txs: txs.into_iter().map(|(t, _)| t).collect(),
    };
    Finalized {
        digest: block.header.digest(),
        block: Arc::new(block),
        receipts,
        end: None,
    }
}

fn anchored(issuer: u64, title: &str) -> Event {
    Event::Notary(NotaryEvent::DocumentAnchored {
        document: Hash32::sha256(title.as_bytes()),
        issuer: account(issuer),
        agency: "registry".into(),
        title: title.into(),
    })
}

/// Ten blocks: an official (1) registered by an admin (9), documents anchored by 1, one
/// co-signed by a citizen (2) whose key is registered, a failed one, and empty blocks.
fn chain_blocks() -> Vec<Finalized> {
    let mut blocks: Vec<Finalized> = Vec::new();
    let parent = |blocks: &Vec<Finalized>| blocks.last().map_or(Hash32::default(), |b| b.digest);
    let register = |seed: u64| {
        Instruction::Identity(IdentityInstruction::RegisterCitizen {
            key: key(seed).public_key(),
        })
    };
    let registered = |seed: u64| {
        Event::Identity(IdentityEvent::AccountRegistered {
            account: account(seed),
            kind: AccountKind::Citizen,
            agency: String::new(),
            roles: Vec::new(),
            by: account(9),
        })
    };
    blocks.push(block(
        1,
        parent(&blocks),
        vec![
            (tx(9, 0, register(1), &[]), Some(vec![registered(1)])),
            (tx(9, 1, register(2), &[]), Some(vec![registered(2)])),
        ],
    ));
    blocks.push(block(2, parent(&blocks), Vec::new()));
    for height in 3..=8 {
        let title = format!("Permit {height}");
        blocks.push(block(
            height,
            parent(&blocks),
            vec![(
                tx(1, height, anchor(&title), &[]),
                Some(vec![anchored(1, &title)]),
            )],
        ));
    }
    blocks.push(block(
        9,
        parent(&blocks),
        vec![
            (
                tx(1, 9, anchor("Deed\0with a NUL"), &[2]),
                Some(vec![anchored(1, "Deed\0with a NUL")]),
            ),
            (tx(1, 10, anchor("Permit 3"), &[]), None),
        ],
    ));
    blocks.push(block(10, parent(&blocks), Vec::new()));
    blocks
}

async fn open(url: &str) -> Index {
    Index::open(url, &[]).await.expect("the index opens")
}

/// Everything the lists answer, page by page, to compare two indexes.
async fn everything(index: &Index) -> Vec<String> {
    let mut snapshot = index.snapshot().await.unwrap();
    let mut seen = vec![format!("height {}", snapshot.height())];
    let mut cursor = None;
    loop {
        let page = snapshot
            .transactions(&TxFilter::default(), Order::Oldest, cursor.as_deref(), 3)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|t| format!("{t:?}")));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    let events = snapshot
        .events(&EventFilter::default(), Order::Oldest, None, 100)
        .await
        .unwrap();
    seen.extend(events.items.iter().map(|e| format!("{e:?}")));
    let blocks = snapshot
        .blocks(&BlockFilter::default(), Order::Oldest, None, 100)
        .await
        .unwrap();
    seen.extend(blocks.items.iter().map(|b| format!("{b:?}")));
    // What each account's lists hold, and the lists by action and type.
    for seed in 0..10 {
        let txs = TxFilter {
            account: Some(account(seed)),
            ..TxFilter::default()
        };
        let page = snapshot
            .transactions(&txs, Order::Oldest, None, 100)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|t| format!("{seed}: {t:?}")));
        let events = EventFilter {
            account: Some(account(seed)),
            ..EventFilter::default()
        };
        let page = snapshot
            .events(&events, Order::Oldest, None, 100)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|e| format!("{seed}: {e:?}")));
    }
    let anchors = TxFilter {
        action: Some("notary.anchor".into()),
        ..TxFilter::default()
    };
    let page = snapshot
        .transactions(&anchors, Order::Oldest, None, 100)
        .await
        .unwrap();
    seen.extend(page.items.iter().map(|t| format!("anchor: {t:?}")));
    snapshot.finish().await.unwrap();
    seen
}

/// Lists by account, part, type and emptiness, with cursors both ways.
async fn lists(url: String) {
    let index = open(&url).await;
    let blocks = chain_blocks();
    index.apply(&chain(), &blocks[..4]).await.unwrap();
    index.apply(&chain(), &blocks[4..]).await.unwrap();
    assert_eq!(index.applied().await.unwrap().unwrap().height, 10);

    let mut snapshot = index.snapshot().await.unwrap();
    assert_eq!(snapshot.height(), 10);
    let with_txs = snapshot
        .blocks(
            &BlockFilter {
                with_transactions: true,
            },
            Order::Newest,
            None,
            100,
        )
        .await
        .unwrap();
    let heights: Vec<u64> = with_txs.items.iter().map(|b| b.height).collect();
    assert_eq!(heights, vec![9, 8, 7, 6, 5, 4, 3, 1], "empty blocks hidden");
    assert_eq!(with_txs.height, 10);

    // Account 1: named by its registration, sent seven, one of them failed.
    let mine = TxFilter {
        account: Some(account(1)),
        ..TxFilter::default()
    };
    let mut cursor = None;
    let mut pages = Vec::new();
    loop {
        let page = snapshot
            .transactions(&mine, Order::Newest, cursor.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        pages.extend(page.items);
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    let keys: Vec<(u64, u64)> = pages.iter().map(|t| (t.height, t.position)).collect();
    assert_eq!(
        keys,
        vec![
            (9, 1),
            (9, 0),
            (8, 0),
            (7, 0),
            (6, 0),
            (5, 0),
            (4, 0),
            (3, 0),
            (1, 0)
        ],
        "newest first, no repeats across pages"
    );
    let registration = pages.last().unwrap();
    assert_eq!(registration.actions, vec!["identity.register_citizen"]);
    let part = registration.part.unwrap();
    assert!(part.named && !part.sent && !part.cosigned);
    assert_eq!(pages[0].outcome, "already_anchored");
    assert_eq!(pages[1].outcome, "success");

    // Account 2's key co-signed the transaction at height 9.
    let cosigned = snapshot
        .transactions(
            &TxFilter {
                account: Some(account(2)),
                part: Some(Part::Cosigned),
                ..TxFilter::default()
            },
            Order::Newest,
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(cosigned.items.len(), 1);
    assert_eq!(cosigned.items[0].height, 9);
    assert_eq!(cosigned.items[0].signer, account(1).to_hex());

    // Filters by action and outcome, oldest first.
    let failed = snapshot
        .transactions(
            &TxFilter {
                action: Some("notary.anchor".into()),
                failed: Some(true),
                ..TxFilter::default()
            },
            Order::Oldest,
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(failed.items.len(), 1);
    assert_eq!((failed.items[0].height, failed.items[0].position), (9, 1));
    let registrations = snapshot
        .transactions(
            &TxFilter {
                action: Some("identity.register_citizen".into()),
                ..TxFilter::default()
            },
            Order::Oldest,
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(registrations.items.len(), 2);
    let lookalike = snapshot
        .transactions(
            &TxFilter {
                action: Some("identity.registerxcitizen".into()),
                ..TxFilter::default()
            },
            Order::Oldest,
            None,
            10,
        )
        .await
        .unwrap();
    assert!(lookalike.items.is_empty(), "`_` is not a wildcard");

    // Events naming account 1, by type, paged oldest first.
    let filter = EventFilter {
        account: Some(account(1)),
        kind: Some("document_anchored".into()),
        module: None,
    };
    let first = snapshot
        .events(&filter, Order::Oldest, None, 4)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 4);
    assert_eq!(first.items[0].height, 3);
    assert_eq!(first.items[0].event["title"], "Permit 3");
    let rest = snapshot
        .events(&filter, Order::Oldest, first.next.as_deref(), 4)
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 3);
    assert!(rest.next.is_none());
    assert_eq!(
        rest.items[2].event["title"], "Deed\0with a NUL",
        "the event's JSON keeps a NUL (escaped), which PostgreSQL stores"
    );
    let by_module = snapshot
        .events(
            &EventFilter {
                module: Some("identity".into()),
                ..EventFilter::default()
            },
            Order::Newest,
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(by_module.items.len(), 2);

    let found = snapshot
        .transaction(&blocks[2].block.txs[0].hash().to_hex())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.height, 3);

    for bad in ["", "1", "1.2.3", "x.1", "-1.0", "99999999999999999999.1"] {
        let result = snapshot
            .transactions(&TxFilter::default(), Order::Newest, Some(bad), 10)
            .await;
        assert!(
            matches!(result, Err(IndexError::Cursor(_))),
            "{bad:?}: {result:?}"
        );
    }
    snapshot.finish().await.unwrap();
    index.close().await;
}

/// Blocks out of order, twice, or from another chain change nothing; a reset index rebuilt
/// from the same blocks answers exactly as before; a reopened index resumes.
async fn correct_by_construction(url: String) {
    let index = open(&url).await;
    let blocks = chain_blocks();
    index.apply(&chain(), &blocks[..5]).await.unwrap();
    let before = everything(&index).await;

    let again = index.apply(&chain(), &blocks[3..6]).await;
    assert!(
        matches!(again, Err(IndexError::Gap { applied: 5, got: 4 })),
        "{again:?}"
    );
    let skipped = index.apply(&chain(), &blocks[6..]).await;
    assert!(
        matches!(skipped, Err(IndexError::Gap { .. })),
        "{skipped:?}"
    );
    // A block that does not name the last one applied as its parent (another fork), or whose
    // digest is not its header's, is refused.
    let mut fork = (*blocks[5].block).clone();
    fork.header.parent = Hash32::sha256(b"elsewhere");
    let fork = Finalized {
        digest: fork.header.digest(),
        block: Arc::new(fork),
        receipts: blocks[5].receipts.clone(),
        end: None,
    };
    let refused = index.apply(&chain(), std::slice::from_ref(&fork)).await;
    assert!(
        matches!(refused, Err(IndexError::Inconsistent { height: 6, .. })),
        "{refused:?}"
    );
    let mislabelled = Finalized {
        digest: Hash32::sha256(b"not the header's"),
        ..blocks[5].clone()
    };
    let refused = index.apply(&chain(), &[mislabelled]).await;
    assert!(
        matches!(refused, Err(IndexError::Inconsistent { height: 6, .. })),
        "{refused:?}"
    );
    let other = index.apply(&Hash32::sha256(b"other"), &blocks[5..]).await;
    assert!(
        matches!(other, Err(IndexError::OtherChain { .. })),
        "{other:?}"
    );
    assert_eq!(
        everything(&index).await,
        before,
        "a refused batch leaves nothing"
    );
    assert!(index.check_chain(&Hash32::sha256(b"other")).await.is_err());
    index.close().await;

    // Reopened (as after a restart), it resumes after height 5.
    let index = open(&url).await;
    assert_eq!(index.applied().await.unwrap().unwrap().height, 5);
    index.apply(&chain(), &blocks[5..]).await.unwrap();
    let live = everything(&index).await;

    index.reset().await.unwrap();
    assert!(index.applied().await.unwrap().is_none());
    for block in &blocks {
        index
            .apply(&chain(), std::slice::from_ref(block))
            .await
            .unwrap();
    }
    assert_eq!(everything(&index).await, live, "rebuilt equals live");
    index.close().await;
}

/// An index the first release made (the ledger's first migration) keeps every row through the
/// migrations that reshape its tables, and goes on following the chain; the migration that adds
/// officials' roles, which only the chain can fill, has it built again from block 1.
async fn upgrade(url: String, fresh_url: String) {
    let index = Index::open_at(&url, &[], 1).await.unwrap();
    sqlx::query("SELECT COUNT(*) FROM transaction_keys")
        .execute(index.pool())
        .await
        .expect("the first release's tables");
    let blocks = chain_blocks();
    // Through the co-signed transaction at height 9.
    index.apply(&chain(), &blocks[..9]).await.unwrap();
    let before = everything(&index).await;
    assert!(
        before.iter().any(|row| row.contains("cosigned: true")),
        "a co-signature crosses the migration"
    );
    index.close().await;

    let index = Index::open_at(&url, &[], 3).await.unwrap();
    assert_eq!(everything(&index).await, before, "every row kept");
    let gone = sqlx::query("SELECT COUNT(*) FROM transaction_keys")
        .execute(index.pool())
        .await;
    assert!(gone.is_err(), "transaction_keys is dropped");
    index.apply(&chain(), &blocks[9..]).await.unwrap();
    index.close().await;

    // Officials' roles: emptied, to be built again from block 1, once.
    let index = open(&url).await;
    assert!(index.applied().await.unwrap().is_none(), "built again");
    index.apply(&chain(), &blocks).await.unwrap();
    index.close().await;
    let index = open(&url).await;
    assert!(index.applied().await.unwrap().is_some(), "only once");
    let upgraded = everything(&index).await;
    index.close().await;

    // The same chain into an index made by this build.
    let fresh = open(&fresh_url).await;
    fresh.apply(&chain(), &blocks).await.unwrap();
    assert_eq!(everything(&fresh).await, upgraded, "upgraded equals fresh");
    fresh.close().await;
}

/// A module's migration that changed after it was applied stops the index from opening.
async fn migrations(url: String) {
    fn nothing(_: &Context<'_>, _: &Event, _: &mut Rows) {}
    static FIRST: [Tables; 1] = [Tables {
        module: "sample",
        tables: &["sample_rows"],
        migrations: &["CREATE TABLE sample_rows (id BIGINT PRIMARY KEY)"],
        project: nothing,
    }];
    static CHANGED: [Tables; 1] = [Tables {
        module: "sample",
        tables: &["sample_rows"],
        migrations: &["CREATE TABLE sample_rows (id BIGINT PRIMARY KEY, extra TEXT)"],
        project: nothing,
    }];
    static SECOND: [Tables; 1] = [Tables {
        module: "sample",
        tables: &["sample_rows"],
        migrations: &[
            "CREATE TABLE sample_rows (id BIGINT PRIMARY KEY)",
            "ALTER TABLE sample_rows ADD COLUMN extra TEXT",
        ],
        project: nothing,
    }];
    Index::open(&url, &FIRST).await.unwrap().close().await;
    Index::open(&url, &FIRST).await.unwrap().close().await;
    let changed = Index::open(&url, &CHANGED).await;
    assert!(
        matches!(changed, Err(IndexError::Migration { version: 1, .. })),
        "{:?}",
        changed.err()
    );
    let index = Index::open(&url, &SECOND).await.unwrap();
    index.close().await;
    let older = Index::open(&url, &FIRST).await;
    assert!(
        matches!(&older, Err(IndexError::Newer { module, version: 2 }) if module == "sample"),
        "{:?}",
        older.err()
    );
    let index = Index::open(&url, &SECOND).await.unwrap();
    sqlx::query("INSERT INTO sample_rows (id, extra) VALUES (1, 'x')")
        .execute(index.pool())
        .await
        .unwrap();
    index.reset().await.unwrap();
    let count: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sample_rows")
        .fetch_one(index.pool())
        .await
        .unwrap();
    assert_eq!(count.0, 0, "reset empties the modules' tables");
    index.close().await;
}

/// The inbox (read marks that outlive a rebuild) and webhook subscriptions (a cursor that never
/// sends an event twice, bounded, with retries, dead letters and replays under one id).
async fn notifications(url: String) {
    use crate::notify::{Attempt, DeliveryStatus, NewWebhook, Place, WebhookFilter};
    let index = open(&url).await;
    let blocks = chain_blocks();
    index.apply(&chain(), &blocks).await.unwrap();
    let official = account(1);

    let inbox = async |unread_only: bool| {
        let mut snapshot = index.snapshot().await.unwrap();
        let page = snapshot
            .inbox(&official, unread_only, Order::Oldest, None, 100)
            .await
            .unwrap();
        let unread = snapshot.unread(&official).await.unwrap();
        snapshot.finish().await.unwrap();
        (page, unread)
    };
    let (all, unread) = inbox(false).await;
    let heights: Vec<u64> = all.items.iter().map(|n| n.height).collect();
    assert_eq!(
        heights,
        [1, 3, 4, 5, 6, 7, 8, 9],
        "every event naming the account"
    );
    assert_eq!(unread, 8);
    assert!(all.items.iter().all(|n| !n.read));
    assert_eq!(all.items[0].event["type"], "account_registered");
    let place = |height: u64| {
        let item = all.items.iter().find(|n| n.height == height).unwrap();
        Place::parse(&item.id).unwrap()
    };

    index.mark_read(&official, &[place(5)]).await.unwrap();
    let (unread_items, unread) = inbox(true).await;
    assert_eq!(unread, 7);
    assert!(unread_items.items.iter().all(|n| n.height != 5 && !n.read));
    // Only the account's own notifications can be marked.
    let missing = index
        .mark_read(&account(2), &[place(5)])
        .await
        .expect_err("not account 2's");
    assert!(matches!(missing, IndexError::NotFound(_)), "{missing}");
    let never = index
        .mark_read_through(&official, Place::end_of(1_000))
        .await
        .expect_err("only a notification of the account");
    assert!(matches!(never, IndexError::NotFound(_)), "{never}");
    index.mark_read_through(&official, place(4)).await.unwrap();
    assert_eq!(inbox(false).await.1, 4, "6, 7, 8 and 9 stay unread");
    // A mark never moves back.
    index.mark_read_through(&official, place(1)).await.unwrap();
    let (all_now, unread) = inbox(false).await;
    assert_eq!(unread, 4);
    let read: Vec<u64> = all_now
        .items
        .iter()
        .filter(|n| n.read)
        .map(|n| n.height)
        .collect();
    assert_eq!(read, [1, 3, 4, 5]);

    // A subscription to the official's anchorings, made when block 6 was the tip.
    let new = |url: &str| NewWebhook {
        owner: account(2),
        url: url.into(),
        filter: WebhookFilter {
            account: Some(official),
            module: Some("notary".into()),
            kind: Some("document_anchored".into()),
        },
        secret: "whsec_dGVzdA==".into(),
        start: Place::end_of(6),
        now_ms: 1_000,
    };
    let (webhook, secret, made) = index
        .create_webhook(new("https://a.example/hook"))
        .await
        .unwrap();
    assert!(made && secret == "whsec_dGVzdA==");
    let (again, _, made) = index
        .create_webhook(new("https://a.example/hook"))
        .await
        .unwrap();
    assert!(!made, "the same subscription is not made twice");
    assert_eq!(again.id, webhook.id);
    for n in 1..crate::notify::WEBHOOKS_PER_OWNER_MAX {
        index
            .create_webhook(new(&format!("https://a.example/{n}")))
            .await
            .unwrap();
    }
    let over = index
        .create_webhook(new("https://a.example/one-too-many"))
        .await
        .expect_err("the owner's bound");
    assert!(matches!(over, IndexError::Limit(_)), "{over}");
    for other in index.webhooks_of(&account(2)).await.unwrap() {
        if other.id != webhook.id {
            assert!(index.delete_webhook(&other.id).await.unwrap());
        }
    }

    assert_eq!(
        index.materialize(2_000).await.unwrap(),
        3,
        "blocks 7, 8 and 9"
    );
    assert_eq!(index.materialize(2_000).await.unwrap(), 0, "nothing twice");
    // Two at a time per subscription.
    let mut due = index.due(2_000, 10).await.unwrap();
    let due_heights: Vec<u64> = due.iter().map(|d| d.place.height).collect();
    assert_eq!(due_heights, [7, 8]);
    assert_eq!(
        due[0].id,
        crate::notify::delivery_id(&webhook.id, due[0].place)
    );
    assert_ne!(due[0].id, due[1].id);
    assert_eq!(due[0].event["type"], "document_anchored");
    assert_eq!(
        (due[0].module.as_str(), due[0].kind.as_str()),
        ("notary", "document_anchored")
    );
    assert!(
        index.due(1_999, 10).await.unwrap().is_empty(),
        "not due before it was made"
    );
    index
        .record(&due[0].id, 2_000, &Attempt::Delivered { status: 200 })
        .await
        .unwrap();
    index
        .record(
            &due[1].id,
            2_000,
            &Attempt::Failed {
                status: Some(503),
                error: "HTTP 503".into(),
                retry_at_ms: Some(7_000),
            },
        )
        .await
        .unwrap();
    due.extend(index.due(2_000, 10).await.unwrap());
    assert_eq!(due.len(), 3);
    assert_eq!(due[2].place.height, 9);
    index
        .record(
            &due[2].id,
            2_000,
            &Attempt::Failed {
                status: None,
                error: "connection refused".into(),
                retry_at_ms: None,
            },
        )
        .await
        .unwrap();
    assert!(
        index.due(6_999, 10).await.unwrap().is_empty(),
        "the retry waits"
    );
    assert_eq!(index.due(7_000, 10).await.unwrap()[0].id, due[1].id);
    let listed = async |status| {
        let mut snapshot = index.snapshot().await.unwrap();
        let page = snapshot
            .deliveries(&webhook.id, status, Order::Oldest, None, 100)
            .await
            .unwrap();
        snapshot.finish().await.unwrap();
        page.items
    };
    let log = listed(None).await;
    let statuses: Vec<DeliveryStatus> = log.iter().map(|d| d.status).collect();
    assert_eq!(
        statuses,
        [
            DeliveryStatus::Delivered,
            DeliveryStatus::Pending,
            DeliveryStatus::Dead
        ]
    );
    assert_eq!(log[1].last_status, Some(503));
    assert_eq!(log[2].last_error.as_deref(), Some("connection refused"));
    let dead = listed(Some(DeliveryStatus::Dead)).await;
    assert_eq!(dead.len(), 1);
    let counted = index.webhook(&webhook.id).await.unwrap().unwrap().0;
    assert_eq!(
        (counted.pending, counted.dead, counted.delivered),
        (1, 1, 1)
    );

    assert_eq!(
        index
            .replay(&webhook.id, Some("msg_other"), 8_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(index.replay(&webhook.id, None, 8_000).await.unwrap(), 1);
    let again: Vec<String> = index
        .due(8_000, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(
        again,
        [due[1].id.clone(), due[2].id.clone()],
        "replayed under its id"
    );

    // A rebuild sends nothing again and keeps what was read.
    index.reset().await.unwrap();
    assert!(
        index.due(8_000, 10).await.unwrap().is_empty(),
        "waits for its events"
    );
    index.apply(&chain(), &blocks).await.unwrap();
    assert_eq!(index.materialize(9_000).await.unwrap(), 0);
    assert_eq!(index.due(8_000, 10).await.unwrap().len(), 2);
    assert_eq!(inbox(false).await.1, 4);

    assert!(index.delete_webhook(&webhook.id).await.unwrap());
    assert!(!index.delete_webhook(&webhook.id).await.unwrap());
    assert!(index.due(9_000, 10).await.unwrap().is_empty());
    assert!(Place::parse("1.2").is_err() && Place::parse("1.2.99999999999999999999").is_err());
    assert!(Place::parse("9223372036854775808.0.0").is_err());

    // A topic watched: what a module files under it after the watch began is in the watcher's
    // inbox (here the events of the first block that has any, filed by hand, with the watch's
    // start moved before them), never in the public list of what names the watcher.
    let watcher = civitas_core::crypto::AccountId([0x77; 32]);
    let topics = ["test/topic".to_string()];
    assert_eq!(index.watch(&watcher, &topics, 1).await.unwrap(), 1);
    assert_eq!(index.watch(&watcher, &topics, 2).await.unwrap(), 0);
    assert_eq!(index.watches_of(&watcher).await.unwrap(), topics);
    for sql in [
        "UPDATE watches SET height = 0, position = 0, seq = 0",
        "INSERT INTO event_topics (topic, height, position, seq, kind) \
         SELECT 'test/topic', height, position, seq, kind FROM events \
         WHERE height = (SELECT MIN(height) FROM events)",
    ] {
        sqlx::query(sql).execute(index.writer()).await.unwrap();
    }
    let first: (i64,) = sqlx::query_as("SELECT MIN(height) FROM events")
        .fetch_one(index.pool())
        .await
        .unwrap();
    let first = crate::from_sql(first.0);
    assert!(index.filed_between(first, first).await.unwrap());
    assert!(
        !index
            .filed_between(first + 1_000, first + 2_000)
            .await
            .unwrap()
    );
    let mut snapshot = index.snapshot().await.unwrap();
    let watched = snapshot
        .inbox(&watcher, false, Order::Oldest, None, 100)
        .await
        .unwrap();
    assert!(!watched.items.is_empty());
    assert!(watched.items.iter().all(|n| n.height == first && !n.read));
    let unread = snapshot.unread(&watcher).await.unwrap();
    assert_eq!(unread, watched.items.len() as u64);
    let filter = crate::query::EventFilter {
        account: Some(watcher),
        kind: None,
        module: None,
    };
    let public = snapshot
        .events(&filter, Order::Oldest, None, 100)
        .await
        .unwrap();
    assert!(public.items.is_empty(), "a watch is not public");
    snapshot.finish().await.unwrap();
    assert_eq!(index.unwatch(&watcher, &topics).await.unwrap(), 1);
    let mut snapshot = index.snapshot().await.unwrap();
    assert_eq!(snapshot.unread(&watcher).await.unwrap(), 0);
    snapshot.finish().await.unwrap();
    assert!(crate::notify::check_topic("sharing/record/00ff").is_ok());
    assert!(crate::notify::check_topic("Sharing/x").is_err());
    assert!(crate::notify::check_topic("").is_err());
    assert!(crate::notify::check_topic("role/finance/licensing-head").is_err());
    assert!(crate::notify::check_topic(&"a".repeat(129)).is_err());
    index.close().await;
}

fn sqlite_url(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite:{}", dir.join(name).display())
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("civitas-index-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A block's end receipt (what the ledger did on its own): listed under the action
/// `block.end` and the accounts its events name, its events in their lists with the end
/// receipt's id, never counted as a transaction; one that is not the block's is refused.
async fn end_receipts(url: String) {
    let index = open(&url).await;
    let first = block(
        1,
        Hash32::default(),
        vec![(
            tx(9, 0, anchor("a deed"), &[]),
            Some(vec![anchored(9, "a deed")]),
        )],
    );
    let mut second = block(2, first.digest, Vec::new());
    let overdue = Event::Permits(civitas_core::permits::PermitsEvent::ApplicationOverdue {
        application: 7,
        applicant: account(1),
        agency: "health".into(),
        step: "completeness".into(),
        deadline: TimestampMs(1_700_000_000_000),
        consequence: civitas_core::permits::OnOverdue::Notify,
        supervisor_role: "licensing-head".into(),
    });
    let end = Receipt::block_end(2, 0, second.block.header.timestamp, vec![overdue]);
    // Not this block's (another height's id): refused, nothing written.
    let mut wrong = second.clone();
    wrong.end = Some(Receipt::block_end(
        3,
        0,
        second.block.header.timestamp,
        Vec::new(),
    ));
    index
        .apply(&chain(), std::slice::from_ref(&first))
        .await
        .unwrap();
    let refused = index.apply(&chain(), std::slice::from_ref(&wrong)).await;
    assert!(
        matches!(refused, Err(IndexError::Inconsistent { height: 2, .. })),
        "{refused:?}"
    );
    second.end = Some(end.clone());
    index
        .apply(&chain(), std::slice::from_ref(&second))
        .await
        .unwrap();

    let mut snapshot = index.snapshot().await.unwrap();
    let hers = snapshot
        .events(
            &EventFilter {
                account: Some(account(1)),
                ..EventFilter::default()
            },
            Order::Newest,
            None,
            10,
        )
        .await
        .unwrap();
    let found: Vec<(u64, u64, String)> = hers
        .items
        .iter()
        .map(|e| (e.height, e.position, e.tx.clone()))
        .collect();
    assert_eq!(found, vec![(2, 0, end.tx.to_string())]);
    assert_eq!(hers.items[0].event["type"], "application_overdue");
    for filter in [
        TxFilter {
            action: Some("block.end".into()),
            ..TxFilter::default()
        },
        TxFilter {
            account: Some(account(1)),
            ..TxFilter::default()
        },
    ] {
        let listed = snapshot
            .transactions(&filter, Order::Newest, None, 10)
            .await
            .unwrap();
        let keys: Vec<(u64, u64, &str)> = listed
            .items
            .iter()
            .map(|t| (t.height, t.position, t.hash.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![(2, 0, end.tx.to_string().as_str())],
            "{filter:?}"
        );
        assert_eq!(listed.items[0].actions, vec!["block.end"]);
    }
    drop(snapshot);
    let (blocks, transactions, events) = index.counts().await.unwrap();
    assert_eq!((blocks, transactions, events), (2, 1, 2));
    index.close().await;
}

#[tokio::test]
async fn sqlite_backend() {
    let dir = temp_dir("sqlite");
    lists(sqlite_url(&dir, "lists.sqlite")).await;
    correct_by_construction(sqlite_url(&dir, "rebuild.sqlite")).await;
    migrations(sqlite_url(&dir, "migrations.sqlite")).await;
    upgrade(
        sqlite_url(&dir, "upgrade.sqlite"),
        sqlite_url(&dir, "fresh.sqlite"),
    )
    .await;
    notifications(sqlite_url(&dir, "notifications.sqlite")).await;
    end_receipts(sqlite_url(&dir, "end.sqlite")).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgres_backend() {
    let server = testing::Postgres::start().expect("a throwaway PostgreSQL server starts");
    lists(server.database("lists").unwrap()).await;
    correct_by_construction(server.database("rebuild").unwrap()).await;
    migrations(server.database("migrations").unwrap()).await;
    upgrade(
        server.database("upgrade").unwrap(),
        server.database("fresh").unwrap(),
    )
    .await;
    notifications(server.database("notifications").unwrap()).await;
    end_receipts(server.database("end").unwrap()).await;
}

#[tokio::test]
async fn bad_urls_are_refused_with_the_forms_accepted() {
    for url in [
        "",
        "mysql://x",
        "sqlite:",
        "sqlite:/tmp/x?mode=ro",
        "/tmp/index",
    ] {
        let error = Index::open(url, &[]).await.err().expect("refused");
        assert!(matches!(error, IndexError::Url(_)), "{url}: {error}");
        assert!(error.to_string().contains("sqlite:<file>"), "{error}");
    }
    assert_eq!(
        redact("postgres://civitas:secret@db.example/civitas"),
        "postgres://civitas:***@db.example/civitas"
    );
}
