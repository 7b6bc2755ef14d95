//! The notary's part of the read model: documents by issuer, agency and title words.

use civitas_core::crypto::AccountId;
use civitas_core::event::Event;
use civitas_core::notary::NotaryEvent;
use civitas_kit::index::query::{
    AnyRow, Keyed, Listing, Order, Page, Snapshot, int, optional_int, text,
};
use civitas_kit::index::{Context, IndexError, Rows, Value, project::words};
use serde::Serialize;

/// The notary's tables.
pub const TABLES: &[&str] = &["notary_documents", "notary_title_words"];

/// Their migrations.
pub const MIGRATIONS: &[&str] = &[
    // 1: documents and the words of their titles.
    "CREATE TABLE notary_documents (
        document TEXT PRIMARY KEY,
        issuer TEXT NOT NULL,
        agency TEXT NOT NULL,
        title TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        revoked_height BIGINT
    );
    CREATE INDEX notary_documents_in_order ON notary_documents (height, position, seq);
    CREATE INDEX notary_documents_by_issuer ON notary_documents (issuer, height, position, seq);
    CREATE INDEX notary_documents_by_agency ON notary_documents (agency, height, position, seq);
    CREATE TABLE notary_title_words (
        word TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (word, height, position, seq)
    );
    CREATE INDEX notary_title_words_by_document ON notary_title_words (word, document);",
    // 2: a title's words name its document by the event that anchored it (their key, and
    // indexed on the documents by notary_documents_in_order), and are kept in their key's order (on SQLite): no 64-character document per
    // word, and no second index to find a word of a document.
    "CREATE TABLE notary_title_words_2 (
        word TEXT NOT NULL,
        height BIGINT NOT NULL,
        position BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (word, height, position, seq)
    ) WITHOUT ROWID;
    INSERT INTO notary_title_words_2 (word, height, position, seq)
        SELECT word, height, position, seq FROM notary_title_words
        ORDER BY word, height, position, seq;
    DROP TABLE notary_title_words;
    ALTER TABLE notary_title_words_2 RENAME TO notary_title_words;",
];

/// What a notary event writes.
pub fn project(ctx: &Context<'_>, event: &Event, rows: &mut Rows) {
    let Event::Notary(event) = event else {
        return;
    };
    match event {
        NotaryEvent::DocumentAnchored {
            document,
            issuer,
            agency,
            title,
        } => {
            rows.push(
                "INSERT INTO notary_documents \
                 (document, issuer, agency, title, height, position, seq, timestamp_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (document) DO NOTHING",
                [
                    document.into(),
                    issuer.into(),
                    agency.into(),
                    title.into(),
                    ctx.height.into(),
                    ctx.position.into(),
                    ctx.seq.into(),
                    ctx.timestamp.0.into(),
                ],
            );
            for word in words(title) {
                rows.push(
                    "INSERT INTO notary_title_words (word, height, position, seq) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    [
                        word.into(),
                        ctx.height.into(),
                        ctx.position.into(),
                        ctx.seq.into(),
                    ],
                );
            }
        }
        NotaryEvent::DocumentRevoked { document, .. } => rows.push(
            "UPDATE notary_documents SET revoked_height = $1 WHERE document = $2",
            [ctx.height.into(), document.into()],
        ),
    }
}

/// A document in a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentItem {
    /// The document's SHA-256.
    pub document: String,
    /// The official who anchored it.
    pub issuer: String,
    /// Their agency.
    pub agency: String,
    /// Its title.
    pub title: String,
    /// The block that anchored it.
    pub height: u64,
    /// That block's time (milliseconds since 1970).
    pub timestamp_ms: u64,
    /// The block that revoked it, if it is revoked.
    pub revoked_height: Option<u64>,
    /// The proof bundle of its record (which says whether it is revoked now).
    pub proof_bundle: String,
    #[serde(skip)]
    key: (u64, u64),
}

impl Keyed for DocumentItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let document = text(row, "document")?;
        Ok(Self {
            issuer: text(row, "issuer")?,
            agency: text(row, "agency")?,
            title: text(row, "title")?,
            height: int(row, "height")?,
            timestamp_ms: int(row, "timestamp_ms")?,
            revoked_height: optional_int(row, "revoked_height")?,
            proof_bundle: format!("/v1/proofs/notary/{document}"),
            key: (int(row, "position")?, int(row, "seq")?),
            document,
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.height, self.key.0, self.key.1]
    }
}

/// Which documents to list.
#[derive(Default)]
pub struct DocumentFilter {
    /// Anchored by this official.
    pub issuer: Option<AccountId>,
    /// Anchored by this agency.
    pub agency: Option<String>,
    /// Whose titles hold every one of these words (whole words, any case).
    pub words: Vec<String>,
}

/// A page of documents.
pub async fn documents(
    snapshot: &mut Snapshot,
    filter: &DocumentFilter,
    order: Order,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<DocumentItem>, IndexError> {
    const COLUMNS: &str = "d.document AS document, d.issuer AS issuer, \
        d.agency AS agency, d.title AS title, d.height AS height, d.position AS position, \
        d.seq AS seq, d.timestamp_ms AS timestamp_ms, d.revoked_height AS revoked_height";
    // A search runs down the first word's rows in chain order; the other words are looked up
    // by the anchoring event, which keys a document's row and its words' alike.
    let mut listing = match filter.words.first() {
        Some(first) => {
            let mut listing = Listing {
                from: "notary_title_words w JOIN notary_documents d ON d.height = w.height \
                       AND d.position = w.position AND d.seq = w.seq",
                filter: "1 = 1".into(),
                values: Vec::new(),
                columns: COLUMNS,
                key: &["w.height", "w.position", "w.seq"],
            };
            listing.and("w.word = {}", Value::from(first));
            listing
        }
        None => Listing {
            from: "notary_documents d",
            filter: "1 = 1".into(),
            values: Vec::new(),
            columns: COLUMNS,
            key: &["d.height", "d.position", "d.seq"],
        },
    };
    if let Some(issuer) = &filter.issuer {
        listing.and("d.issuer = {}", issuer.into());
    }
    if let Some(agency) = &filter.agency {
        listing.and("d.agency = {}", agency.into());
    }
    for word in filter.words.iter().skip(1) {
        listing.and(
            "EXISTS (SELECT 1 FROM notary_title_words o WHERE o.word = {} \
             AND o.height = d.height AND o.position = d.position AND o.seq = d.seq)",
            Value::from(word),
        );
    }
    snapshot.page(&listing, order, cursor, limit).await
}
