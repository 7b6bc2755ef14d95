//! Procurement's pages: tenders from plan to payment (bids after opening, awards, contracts,
//! integrity signals); and, on a business's account page, its bids.
//!
//! The pages read the same JSON views as `/v1/procurement`, so what a person sees is what an
//! integrator gets.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use civitas_core::crypto::AccountId;
use civitas_kit::http::as_json;
use civitas_kit::portal::html::{
    Page, esc, facts, grouped, proof_link, short_hex, table, text, time,
};
use civitas_kit::portal::{Action, PageError, Section, Site, field};
use serde_json::Value;
use std::fmt::Write as _;

/// Procurement's section of the portal.
pub const SECTIONS: &[Section] = &[Section::with_card(
    "/procurement",
    "Procurement",
    "Procurement",
    "Tenders from plan to payment: bids after opening, awards, contracts and integrity \
     signals.",
)];

/// Procurement's pages.
pub fn pages() -> axum::Router<Site> {
    axum::Router::new()
        .route("/procurement", get(procurement))
        .route("/procurement/tenders/{id}", get(tender))
}

/// The stages of a tender in order, with the words the pages use.
const STAGES: &[(&str, &str)] = &[
    ("planned", "Planned"),
    ("tendering", "Open for bids"),
    ("awarded", "Awarded"),
    ("contracted", "Under contract"),
    ("cancelled", "Cancelled"),
];

/// A stage in words; a tender whose deadline has passed is closed for bids, awaiting opening
/// and evaluation.
fn stage_words(stage: &str, deadline_passed: bool) -> String {
    if stage == "tendering" && deadline_passed {
        return "Closed: bids being opened and evaluated".into();
    }
    STAGES
        .iter()
        .find(|(s, _)| *s == stage)
        .map(|(_, w)| (*w).to_string())
        .unwrap_or_else(|| stage.replace('_', " "))
}

/// `?stage=&older=`: the procurement list's choices.
#[derive(serde::Deserialize, Default)]
pub struct ListChoice {
    /// Only tenders at this stage.
    #[serde(default)]
    stage: Option<String>,
    /// Tenders older than this cursor.
    #[serde(default)]
    older: Option<String>,
}

/// Tenders listed on one page of the procurement list.
pub const TENDERS_PER_PAGE: u32 = 50;

pub async fn procurement(
    State(site): State<Site>,
    Query(choice): Query<ListChoice>,
) -> Result<Html<String>, PageError> {
    let now = site.ledger.time().0;
    let stage = choice
        .stage
        .filter(|s| STAGES.iter().any(|(known, _)| known == s));
    let filter = crate::index::TenderFilter {
        stage: stage.clone(),
        ..Default::default()
    };
    let mut snapshot = civitas_kit::http::snapshot(&site.ledger).await?;
    let page = crate::index::tenders(
        &mut snapshot,
        &filter,
        civitas_kit::index::query::Order::Newest,
        choice.older.as_deref().filter(|c| c.len() <= 24),
        TENDERS_PER_PAGE,
    )
    .await
    .map_err(civitas_kit::http::ApiError::from)?;
    snapshot
        .finish()
        .await
        .map_err(civitas_kit::http::ApiError::from)?;
    let rows: Vec<Vec<String>> = page
        .items
        .iter()
        .map(|t| {
            vec![
                format!(
                    "<a href=\"/procurement/tenders/{}\">{}</a>",
                    t.id,
                    esc(&t.title)
                ),
                esc(&t.agency),
                esc(&stage_words(
                    &t.stage,
                    t.deadline_ms.is_some_and(|d| d > 0 && d < now),
                )),
                esc(&t.method),
                esc(&grouped(&t.estimated.text)),
                t.bids.to_string(),
                match &t.award {
                    Some(award) => esc(&grouped(&award.value.text)),
                    None => "—".into(),
                },
                if t.signals > 0 {
                    format!("<span class=\"signal\">{}</span>", t.signals)
                } else {
                    "0".into()
                },
            ]
        })
        .collect();
    let mut choices = vec![if stage.is_none() {
        "<strong>All</strong>".to_string()
    } else {
        "<a href=\"/procurement\">All</a>".to_string()
    }];
    for (key, words) in STAGES {
        choices.push(if stage.as_deref() == Some(*key) {
            format!("<strong>{}</strong>", esc(words))
        } else {
            format!("<a href=\"/procurement?stage={key}\">{}</a>", esc(words))
        });
    }
    let more = match &page.next {
        Some(cursor) => format!(
            "<p><a href=\"/procurement?{}older={}\">Older tenders</a></p>",
            stage
                .as_deref()
                .map(|s| format!("stage={s}&amp;"))
                .unwrap_or_default(),
            esc(cursor)
        ),
        None => String::new(),
    };
    let rows_table = format!(
        "<nav aria-label=\"Stages\"><p>{}</p></nav>{}{more}",
        choices.join(" · "),
        table(
            &format!("Tenders, newest first, as of block {}", page.height),
            &[
                "Tender",
                "Agency",
                "Stage",
                "Method",
                "Estimated",
                "Bids",
                "Award",
                "Signals"
            ],
            &rows
        )
    );
    let body = format!(
        "<h1>Procurement</h1>\
         <p class=\"lead\">Every tender from plan to payment. Bids stay sealed until their bidder \
         opens them after the deadline; integrity signals are computed by the ledger at the award.</p>\
         {table}\
         <p>Open data: <a href=\"/v1/ocds/releases\">OCDS release package</a> · \
         <a href=\"/v1/ocds/records\">OCDS record package</a></p>",
        table = rows_table,
    );
    Ok(site.render(Page {
        title: "Procurement",
        section: "/procurement",
        body,
        scripts: &[],
    }))
}

fn money_of(value: &Value) -> String {
    let amount = value["amount"].as_u64().unwrap_or(0);
    match civitas_core::money::Currency::parse(value["currency"].as_str().unwrap_or("")) {
        Ok(c) => esc(&grouped(&civitas_core::money::format_amount(amount, c))),
        Err(_) => amount.to_string(),
    }
}

/// A proof bundle link whose visible text says whose proof it is.
fn labelled_proof(url: &str, label: &str) -> String {
    format!(
        "<a class=\"proof\" href=\"{}\" download>{}</a>",
        esc(url),
        esc(label)
    )
}

/// A vendor's registered name with its account, or the account alone.
async fn vendor(site: &Site, account: &str) -> String {
    match as_json(
        civitas_treasury::routes::vendor(State(site.ledger.clone()), Path(account.to_string()))
            .await,
    ) {
        Ok(Json(v)) => format!(
            "{} {}",
            esc(v["name"].as_str().unwrap_or("")),
            short_hex(account)
        ),
        Err(_) => short_hex(account),
    }
}

fn when(value: &Value) -> String {
    value.as_u64().map(time).unwrap_or_else(|| "—".into())
}

pub async fn tender(
    State(site): State<Site>,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let Json(view) =
        as_json(crate::routes::tender(State(site.ledger.clone()), Path(id.clone())).await)?;
    let t = &view["tender"];
    let mut names = std::collections::BTreeMap::new();
    let accounts = view["bids"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| &b["bidder"])
        .chain([&t["award"]["bidder"], &view["contract"]["vendor"]]);
    for account in accounts.filter_map(|a| a.as_str()) {
        if !names.contains_key(account) {
            names.insert(account.to_string(), vendor(&site, account).await);
        }
    }
    let name = |account: &Value| {
        let account = account.as_str().unwrap_or("");
        names
            .get(account)
            .cloned()
            .unwrap_or_else(|| short_hex(account))
    };
    let mut timeline: Vec<(String, String)> = vec![
        (when(&t["planned_at"]), "Planned".into()),
        (
            when(&t["published_at"]),
            "Published with its documents and criteria".into(),
        ),
    ];
    if t["deadline"].is_u64() {
        timeline.push((when(&t["deadline"]), "Deadline for bids".into()));
    }
    for c in t["clarifications"].as_array().into_iter().flatten() {
        timeline.push((
            when(&c["time"]),
            format!(
                "Clarification: {} — {}",
                text(&c["question"]),
                text(&c["answer"])
            ),
        ));
    }
    if t["award"].is_object() {
        timeline.push((
            when(&t["award"]["time"]),
            format!(
                "Awarded for {}: {}",
                money_of(&t["award"]["value"]),
                text(&t["award"]["justification"])
            ),
        ));
    }
    for c in t["complaints"].as_array().into_iter().flatten() {
        timeline.push((when(&c["time"]), format!("Complaint: {}", text(&c["text"]))));
    }
    if let Some(c) = t["cancellation"].as_object() {
        timeline.push((
            when(&c["time"]),
            format!(
                "Cancelled: {}",
                esc(c.get("reason").and_then(|r| r.as_str()).unwrap_or(""))
            ),
        ));
    }
    let contract = &view["contract"];
    if contract.is_object() {
        timeline.push((when(&contract["signed_at"]), "Contract signed".into()));
    }
    let mut steps = String::from("<ol class=\"timeline\">");
    for (at, what) in timeline.iter().filter(|(at, _)| at != "—") {
        let _ = write!(steps, "<li>{at} — {what}</li>");
    }
    steps.push_str("</ol>");
    let criteria = t["criteria"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|c| format!("{} ({}%)", text(&c["name"]), c["weight"]))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let documents = t["documents"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|d| {
                    let hash = d.as_str().unwrap_or("");
                    format!(
                        "<a href=\"/verify?document={h}\">{}</a>",
                        short_hex(hash),
                        h = esc(hash)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let bids: Vec<Vec<String>> = view["bids"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|b| {
                    let opened = b["opening"].is_object();
                    vec![
                        name(&b["bidder"]),
                        when(&b["time"]),
                        if opened {
                            money_of(&b["opening"]["price"])
                        } else {
                            "sealed".into()
                        },
                        match b["mean_score"].as_u64() {
                            Some(score) if opened => {
                                format!("{}.{:02}", score / 100, score % 100)
                            }
                            _ => "—".into(),
                        },
                        proof_link(b["proof_bundle"].as_str().unwrap_or(""), "this bid"),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let signals: Vec<String> = t["award"]["signals"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|s| {
                    format!(
                        "<li><strong>{}</strong>: {}</li>",
                        esc(&s["code"].as_str().unwrap_or("").replace('_', " ")),
                        text(&s["detail"])
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let signals = if !t["award"].is_object() {
        "<p>Signals are computed when the tender is awarded.</p>".to_string()
    } else if signals.is_empty() {
        "<p>None: the ledger found no pattern of concern at the award.</p>".to_string()
    } else {
        format!("<ul class=\"signals\">{}</ul>", signals.join(""))
    };
    let contract_html = if contract.is_object() {
        let milestones: Vec<Vec<String>> = contract["milestones"]
            .as_array()
            .map(|list| {
                list.iter()
                    .enumerate()
                    .map(|(n, m)| {
                        let accepted = &m["accepted"];
                        vec![
                            n.to_string(),
                            text(&m["terms"]["title"]),
                            money_of(&m["terms"]["amount"]),
                            when(&m["terms"]["due"]),
                            if accepted.is_object() {
                                format!(
                                    "accepted {} — {}; <a href=\"/v1/treasury/payments/{p}\">payment {p}</a>",
                                    when(&accepted["time"]),
                                    text(&accepted["note"]),
                                    p = accepted["payment"]
                                )
                            } else {
                                "not yet accepted".into()
                            },
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        format!(
            "<h2>Contract {n}</h2>{facts}{milestones}<p>{proof}</p>",
            n = contract["id"],
            facts = facts(&[
                ("Value", money_of(&contract["value"])),
                ("Vendor", name(&contract["vendor"])),
                ("Signed", when(&contract["signed_at"])),
                (
                    "Amendments",
                    contract["amendments"]
                        .as_array()
                        .map(|a| a.len())
                        .unwrap_or(0)
                        .to_string()
                ),
            ]),
            milestones = table(
                "Milestones and payments",
                &["#", "Milestone", "Amount", "Due", "Status"],
                &milestones
            ),
            proof = labelled_proof(
                contract["proof_bundle"].as_str().unwrap_or(""),
                "Contract proof bundle"
            ),
        )
    } else {
        String::new()
    };
    let justification = if t["award"].is_object() {
        format!(
            "<h2>Award</h2><p>{} to {}. Justification: {}</p>",
            money_of(&t["award"]["value"]),
            name(&t["award"]["bidder"]),
            text(&t["award"]["justification"])
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Tender {id}: {title}</h1><p class=\"lead\">{description}</p>{facts}\
         <h2>Timeline</h2>{steps}\
         <h2>Bids</h2><p>A bid shows its price only once its bidder has opened it after the \
         deadline; until then the ledger holds only its sealed commitment.</p>{bids}\
         {justification}<h2>Integrity signals</h2>{signals}{contract_html}\
         <p>{proof} · <a href=\"/v1/ocds/records/{id}\">OCDS record</a> · \
         <a href=\"/procurement\">All tenders</a></p>",
        id = esc(&id),
        title = text(&t["title"]),
        description = text(&t["description"]),
        facts = facts(&[
            ("Agency", text(&t["agency"])),
            (
                "Stage",
                esc(&stage_words(
                    t["stage"].as_str().unwrap_or(""),
                    t["deadline"]
                        .as_u64()
                        .is_some_and(|d| d < site.ledger.time().0)
                ))
            ),
            ("Method", text(&t["method"])),
            ("Estimated value", money_of(&t["estimated"])),
            (
                "Appropriation",
                format!(
                    "<a href=\"/v1/treasury/appropriations/{a}\">{a}</a> (fiscal year {y})",
                    a = t["appropriation"],
                    y = t["year"]
                )
            ),
            ("Criteria", criteria),
            ("Documents", documents),
        ]),
        bids = table(
            "Bids",
            &["Bidder", "Submitted", "Price", "Mean score", "Proof"],
            &bids
        ),
        proof = labelled_proof(
            t["proof_bundle"].as_str().unwrap_or(""),
            "Tender proof bundle"
        ),
    );
    Ok(site.render(Page {
        title: &format!("Tender {id}"),
        section: "/procurement",
        body,
        scripts: &[],
    }))
}

/// Procurement's forms in the agency console.
pub const ACTIONS: &[Action] = &[
    Action {
        module: "procurement",
        op: "publish",
        title: "Publish a tender",
        who: "a procurement official of the agency",
        roles: &["procurement"],
        fields: &[
            field("tender", "Tender number", "u64", "a planned tender", ""),
            field(
                "documents",
                "Tender documents (SHA-256)",
                "hexlist",
                "notarised documents, comma-separated",
                "",
            ),
            field(
                "deadline",
                "Deadline for bids",
                "datetime",
                "your local time",
                "",
            ),
            field(
                "criteria",
                "Award criteria",
                "criteria",
                "name: weight, comma-separated; weights add up to 100",
                "price: 60, quality: 40",
            ),
            field(
                "committee",
                "Evaluation committee",
                "hexlist",
                "account ids of the agency's officials, comma-separated",
                "",
            ),
            field("standstill_days", "Standstill (days)", "u64", "", "10"),
        ],
    },
    Action {
        module: "procurement",
        op: "open",
        title: "Open a bid",
        who: "the bidder, or the committee",
        roles: &["procurement"],
        fields: &[
            field("tender", "Tender number", "u64", "", ""),
            field("bidder", "Bidder account", "hex32", "", ""),
            field(
                "price.amount",
                "Price",
                "amount",
                "in major units, as in the sealed bid",
                "",
            ),
            field("price.currency", "Currency", "currency", "", "EUR"),
            field("proposal", "Proposal SHA-256", "hex32", "", ""),
            field("salt", "Salt", "hex32", "from the bid's secret file", ""),
        ],
    },
    Action {
        module: "procurement",
        op: "evaluate",
        title: "Evaluate a bid",
        who: "a member of the tender's committee",
        roles: &["procurement", "evaluator"],
        fields: &[
            field("tender", "Tender number", "u64", "", ""),
            field("bidder", "Bidder account", "hex32", "", ""),
            field(
                "scores",
                "Scores",
                "bytes",
                "one score from 0 to 100 per criterion, comma-separated",
                "",
            ),
            field("justification", "Justification", "text", "", ""),
        ],
    },
    Action {
        module: "procurement",
        op: "accept",
        title: "Accept a milestone (pays it)",
        who: "a procurement official, with a treasurer co-signing large ones",
        roles: &["procurement"],
        fields: &[
            field("contract", "Contract number", "u64", "", ""),
            field("milestone", "Milestone number", "u64", "the first is 0", ""),
            field("note", "Acceptance note", "text", "what was checked", ""),
        ],
    },
];

/// Most of an account's bids its account page lists.
pub const ACCOUNT_BIDS_MAX: u32 = 50;

/// A business's bids, newest tender first, and what became of each.
pub async fn account_page(site: &Site, account: &AccountId) -> String {
    let Ok(mut snapshot) = civitas_kit::http::snapshot(&site.ledger).await else {
        return String::new();
    };
    let filter = crate::index::TenderFilter {
        bidder: Some(*account),
        ..Default::default()
    };
    let page = crate::index::tenders(
        &mut snapshot,
        &filter,
        civitas_kit::index::query::Order::Newest,
        None,
        ACCOUNT_BIDS_MAX,
    )
    .await;
    let _ = snapshot.finish().await;
    let Ok(page) = page else {
        return String::new();
    };
    let mut bids = Vec::new();
    for tender in &page.items {
        let Ok(Some(bid)) = site
            .ledger
            .value::<crate::state::Bid>(crate::state::bid_key(tender.id, account))
            .await
        else {
            continue;
        };
        let outcome = match &tender.award {
            Some(award) if award.bidder == *account => "awarded to you",
            Some(_) => "awarded to another bidder",
            None if bid.opening.is_some() => "opened",
            None => "sealed",
        };
        bids.push(vec![
            format!(
                "<a href=\"/procurement/tenders/{}\">{}</a>",
                tender.id,
                esc(&tender.title)
            ),
            esc(&stage_words(&tender.stage, false)),
            outcome.to_string(),
        ]);
    }
    if bids.is_empty() {
        return String::new();
    }
    table("Your bids", &["Tender", "Stage", "Your bid"], &bids)
}
