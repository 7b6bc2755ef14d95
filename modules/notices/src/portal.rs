//! The register on the portal: the notices newest first, and each notice with its status, the
//! fingerprint of its text (a visitor checks a copy against it) and its proof bundle.
//! The console has a form for each instruction.

use crate::routes::{NoticeRecord, notice, notices};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use civitas_kit::http::ListQuery;
use civitas_kit::portal::html::{self, Page, esc, facts, proof_link, short_hex, table, time};
use civitas_kit::portal::{Action, PageError, Section, Site, field};

/// The register's section of the portal.
pub const SECTIONS: &[Section] = &[Section::with_card(
    "/notices",
    "Notices",
    "Official notices",
    "Bylaws, decisions, hearings, consultations and closures as each agency published them, \
     with the fingerprint of every text.",
)];

/// The register's pages.
pub fn pages() -> axum::Router<Site> {
    axum::Router::new()
        .route("/notices", get(list))
        .route("/notices/{id}", get(one))
}

/// The register's forms in the agency console.
pub const ACTIONS: &[Action] = &[
    Action {
        module: "notices",
        op: "publish",
        title: "Publish a notice",
        who: "a publisher or admin of the agency",
        roles: &["publisher", "admin"],
        fields: &[
            field(
                "category",
                "Category",
                "text",
                "bylaw, decision, hearing, consultation or closure",
                "",
            ),
            field(
                "title",
                "Title",
                "text",
                "as published; never a person's name",
                "",
            ),
            field(
                "text",
                "Full text",
                "filehash",
                "the file is hashed here and never uploaded",
                "",
            ),
            field(
                "effective",
                "Takes effect",
                "datetime",
                "your local time",
                "",
            ),
            field(
                "expires",
                "Stops applying",
                "datetime",
                "your local time; leave empty if it applies until withdrawn",
                "",
            )
            .optional(),
        ],
    },
    Action {
        module: "notices",
        op: "withdraw",
        title: "Withdraw a notice",
        who: "a publisher or admin of the publishing agency",
        roles: &["publisher", "admin"],
        fields: &[
            field("notice", "Notice number", "u64", "", ""),
            field(
                "reason",
                "Reason",
                "text",
                "public and permanent; never a person's name",
                "",
            ),
        ],
    },
];

/// Where a notice stands, in words.
fn status(record: &NoticeRecord, now: u64) -> String {
    let notice = &record.notice;
    if notice.withdrawal.is_some() {
        "Withdrawn".into()
    } else if notice.expires.is_some_and(|e| e.0 <= now) {
        "Expired".into()
    } else if notice.effective.0 > now {
        "Announced".into()
    } else {
        "In force".into()
    }
}

/// `/notices`: the latest notices, newest first.
async fn list(State(site): State<Site>) -> Result<Html<String>, PageError> {
    let now = site.ledger.time().0;
    let Json(page) = notices(
        State(site.ledger.clone()),
        Query(ListQuery {
            limit: Some(200),
            before: None,
        }),
    )
    .await?;
    let rows: Vec<Vec<String>> = page
        .notices
        .iter()
        .map(|record| {
            let n = &record.notice;
            vec![
                format!("<a href=\"/notices/{}\">{}</a>", n.id, n.id),
                time(n.time.0),
                esc(&n.agency),
                esc(&n.category),
                format!("<a href=\"/notices/{}\">{}</a>", n.id, esc(&n.title)),
                status(record, now),
            ]
        })
        .collect();
    let body = format!(
        "<h1>Official notices</h1>\
         <p class=\"lead\">Every notice an agency published on the ledger, newest first. The \
         ledger holds each text's SHA-256, never the text: a copy you were given is the one \
         published if its SHA-256 (<code>sha256sum</code> on most computers) is the one shown \
         on the notice's page.</p>{}",
        table(
            "Notices",
            &["No.", "Published", "Agency", "Category", "Title", "Status"],
            &rows
        )
    );
    Ok(site.render(Page {
        title: "Official notices",
        section: "/notices",
        body,
        scripts: &[],
    }))
}

/// `/notices/{id}`: one notice.
async fn one(State(site): State<Site>, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    let now = site.ledger.time().0;
    let Json(record) = notice(State(site.ledger.clone()), Path(id)).await?;
    let n = &record.notice;
    let mut rows = vec![
        ("Status", status(&record, now)),
        ("Category", esc(&n.category)),
        ("Agency", esc(&n.agency)),
        ("Takes effect", time(n.effective.0)),
    ];
    if let Some(expires) = n.expires {
        rows.push(("Expires", time(expires.0)));
    }
    rows.push(("Text SHA-256", short_hex(&n.text.to_hex())));
    rows.push((
        "Published",
        format!(
            "{} in <a href=\"/explorer/blocks/{h}\">block {h}</a>",
            time(n.time.0),
            h = n.height
        ),
    ));
    rows.push((
        "Transaction",
        format!(
            "<a href=\"/explorer/transactions/{t}\">{}</a>",
            short_hex(&n.tx.to_hex()),
            t = n.tx.to_hex()
        ),
    ));
    if let Some(w) = &n.withdrawal {
        rows.push((
            "Withdrawn",
            format!(
                "{} in <a href=\"/explorer/blocks/{h}\">block {h}</a>: {}",
                time(w.time.0),
                esc(&w.reason),
                h = w.height
            ),
        ));
    }
    let withdrawn = if n.withdrawal.is_some() {
        html::notice("warn", "This notice was withdrawn by its agency.")
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{title}</h1>{withdrawn}{facts}<p>{proof}</p>\
         <p><a href=\"/notices\">All notices</a></p>",
        title = esc(&n.title),
        facts = facts(&rows),
        proof = proof_link(&record.proof_bundle, &format!("notice {}", n.id)),
    );
    Ok(site.render(Page {
        title: &n.title,
        section: "/notices",
        body,
        scripts: &[],
    }))
}
