//! Public money pages: spending by agency, programme and month with charts, every figure leading
//! to its records and proof; procurement from plan to payment.
//!
//! The pages read the same JSON views as `/v1/treasury` and `/v1/procurement`, so what a person
//! sees is what an integrator gets.

use super::charts::{self, Row};
use super::html::{
    Page, esc, facts, grouped, notice, proof_link, short_hex, table, time, tx_link, url_segment,
};
use super::{PageError, PortalState, render};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse as _, Response};
use civitas_core::time::TimestampMs;
use civitas_kit::http::ListQuery;
use civitas_modules::procurement::routes as procurement;
use civitas_modules::treasury::routes as treasury;
use serde_json::Value;
use std::fmt::Write as _;

/// Records listed on a figure's page.
pub const RECORDS_PER_PAGE: usize = 50;

fn text(value: &Value) -> String {
    esc(value.as_str().unwrap_or(""))
}

fn money(value: &Value) -> String {
    esc(&grouped(value["text"].as_str().unwrap_or("")))
}

/// `/spending`: the fiscal year of the latest block.
pub async fn spending_now(State(state): State<PortalState>) -> Response {
    let (year, ..) = TimestampMs(state.node.tip().timestamp.0).civil();
    axum::response::Redirect::to(&format!("/spending/{year}")).into_response()
}

/// The page of one figure's records.
fn total_href(year: &str, dimension: &str, value: &str) -> String {
    if dimension == "all" {
        format!("/spending/{year}/all")
    } else {
        format!(
            "/spending/{year}/{}/{}",
            url_segment(dimension),
            url_segment(value)
        )
    }
}

async fn breakdown(state: &PortalState, year: &str, dimension: &str) -> Vec<Value> {
    match treasury::breakdown(
        State(state.ledger.clone()),
        Path((year.to_string(), dimension.to_string())),
    )
    .await
    {
        Ok(Json(view)) => view["totals"].as_array().cloned().unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// A chart and a table of one dimension's totals.
fn dimension_section(
    year: &str,
    dimension: &str,
    heading: &str,
    totals: &[Value],
    names: &dyn Fn(&str) -> String,
) -> String {
    let rows: Vec<Row> = totals
        .iter()
        .map(|t| {
            let value = t["value"].as_str().unwrap_or("");
            Row {
                label: names(value),
                values: ["appropriated", "committed", "paid"]
                    .iter()
                    .map(|f| {
                        (
                            t[*f]["amount"].as_u64().unwrap_or(0),
                            grouped(t[*f]["text"].as_str().unwrap_or("")),
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let table_rows: Vec<Vec<String>> = totals
        .iter()
        .map(|t| {
            let value = t["value"].as_str().unwrap_or("");
            let label = names(value);
            vec![
                format!(
                    "<a href=\"{}\">{}</a>",
                    esc(&total_href(year, dimension, value)),
                    esc(&label)
                ),
                money(&t["appropriated"]),
                money(&t["allotted"]),
                money(&t["committed"]),
                money(&t["paid"]),
                t["entries"].to_string(),
                proof_link(t["proof_bundle"].as_str().unwrap_or(""), &label),
            ]
        })
        .collect();
    if totals.is_empty() {
        return format!("<h2>{}</h2><p>Nothing recorded yet.</p>", esc(heading));
    }
    let id = format!("chart-{dimension}");
    format!(
        "<h2>{h}</h2>{chart}{table}",
        h = esc(heading),
        chart = charts::bars(
            &id,
            heading,
            &format!(
                "Appropriated, committed and paid amounts {}; the same figures are in the table below.",
                heading.to_lowercase()
            ),
            &rows
        ),
        table = table(
            heading,
            &[
                "",
                "Appropriated",
                "Allotted",
                "Committed",
                "Paid",
                "Records",
                "Proof"
            ],
            &table_rows
        ),
    )
}

pub async fn spending(
    State(state): State<PortalState>,
    Path(year): Path<String>,
) -> Result<Html<String>, PageError> {
    let node = &state.node;
    let overview = treasury::year(State(state.ledger.clone()), Path(year.clone())).await;
    let year_number: u32 = year.parse().unwrap_or(0);
    let pager = format!(
        "<p class=\"pager\"><a href=\"/spending/{p}\" rel=\"prev\">Fiscal year {p}</a> \
         <a href=\"/spending/{n}\" rel=\"next\">Fiscal year {n}</a></p>",
        p = year_number.saturating_sub(1),
        n = year_number.saturating_add(1)
    );
    let Json(overview) = match overview {
        Ok(view) => view,
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
            let body = format!(
                "<h1>Public spending {y}</h1>{n}{pager}",
                y = esc(&year),
                n = notice(
                    "warn",
                    "No budget has been opened for this fiscal year on the ledger."
                )
            );
            return Ok(render(
                &state,
                Page {
                    title: &format!("Public spending {year}"),
                    section: "/spending",
                    body,
                    scripts: &[],
                },
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let total = &overview["total"];
    let fiscal = &overview["year"];
    let mut cards = String::from("<div class=\"figures\">");
    for (figure, label) in [
        ("appropriated", "Appropriated"),
        ("allotted", "Allotted"),
        ("committed", "Committed"),
        ("paid", "Paid"),
    ] {
        let _ = write!(
            cards,
            "<a class=\"figure\" href=\"/spending/{y}/all\"><span class=\"label\">{label}</span>\
             <span class=\"amount\">{}</span></a>",
            money(&total[figure]),
            y = esc(&year),
        );
    }
    cards.push_str("</div>");
    // Names as they are now; a founding agency that retired keeps its genesis name.
    let mut agencies: std::collections::BTreeMap<String, String> = node
        .genesis()
        .agencies
        .iter()
        .map(|a| (a.id.clone(), a.name.clone()))
        .collect();
    if let Ok(list) = civitas_modules::governance::routes::agencies_in_force(&state.ledger).await {
        agencies.extend(list.into_iter().map(|a| (a.id, a.name)));
    }
    let agency_name = |id: &str| agencies.get(id).cloned().unwrap_or_else(|| id.to_string());
    let plain = |value: &str| value.to_string();
    let by_agency = breakdown(&state, &year, "agency").await;
    let by_programme = breakdown(&state, &year, "programme").await;
    let by_month = breakdown(&state, &year, "month").await;
    let status = if fiscal["open"].as_bool().unwrap_or(false) {
        "open"
    } else {
        "closed"
    };
    let body = format!(
        "<h1>Public spending {y}</h1>\
         <p class=\"lead\">Every amount below is a running total kept by the ledger itself. Follow \
         a figure to the records that make it up; each record and each total has a proof bundle \
         that checks offline.</p>\
         {facts}{cards}\
         <p>{proof} · <a href=\"/spending/{y}/all\">All {entries} records of the year</a></p>\
         {agency}{programme}{month}\
         <h2>Open data</h2><ul>\
         <li><a href=\"/v1/treasury/export/{y}/datapackage.json\">Fiscal Data Package descriptor</a></li>\
         <li><a href=\"/v1/treasury/export/{y}/budget.csv\">Budget lines (CSV)</a></li>\
         <li><a href=\"/v1/treasury/export/{y}/entries.csv\">Every entry (CSV)</a></li>\
         <li><a href=\"/v1/ocds/records\">Procurement as OCDS records</a></li></ul>{pager}",
        y = esc(&year),
        facts = facts(&[
            ("Currency", text(&fiscal["currency"])),
            ("Fiscal year", status.to_string()),
            ("Records", total["entries"].to_string()),
        ]),
        proof = proof_link(
            total["proof_bundle"].as_str().unwrap_or(""),
            "the year's totals"
        ),
        entries = total["entries"],
        agency = dimension_section(&year, "agency", "By agency", &by_agency, &agency_name),
        programme = dimension_section(&year, "programme", "By programme", &by_programme, &plain),
        month = dimension_section(&year, "month", "By month", &by_month, &plain),
    );
    Ok(render(
        &state,
        Page {
            title: &format!("Public spending {year}"),
            section: "/spending",
            body,
            scripts: &[],
        },
    ))
}

#[derive(serde::Deserialize, Default)]
pub struct RecordsQuery {
    before: Option<u64>,
}

/// `/spending/{year}/all` or `/spending/{year}/{dimension}/{value}`: one figure, its records
/// newest first, each with its transaction and proof.
pub async fn total(
    State(state): State<PortalState>,
    Path((year, rest)): Path<(String, String)>,
    Query(query): Query<RecordsQuery>,
) -> Result<Html<String>, PageError> {
    let path = if rest == "all" {
        year.clone()
    } else {
        format!("{year}/{rest}")
    };
    let Json(view) = treasury::total(
        State(state.ledger.clone()),
        Path(path),
        Query(ListQuery {
            limit: Some(RECORDS_PER_PAGE),
            before: query.before,
        }),
    )
    .await?;
    let total = &view["total"];
    let scope = match total["dimension"].as_str() {
        Some("all") | None => format!("the whole of fiscal year {}", esc(&year)),
        Some(dimension) => format!("{} {}", esc(dimension), text(&total["value"])),
    };
    let records: Vec<Vec<String>> = view["records"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| {
                    let sign = if r["decrease"].as_bool().unwrap_or(false) {
                        "−"
                    } else {
                        ""
                    };
                    let tx = r["tx"].as_str().unwrap_or("");
                    vec![
                        r["seq"].to_string(),
                        esc(&r["date"].as_str().unwrap_or("")
                            [..10.min(r["date"].as_str().unwrap_or("").len())]),
                        text(&r["kind"]).replace('_', " "),
                        format!(
                            "{sign}{}",
                            esc(&grouped(r["amount_text"].as_str().unwrap_or("")))
                        ),
                        text(&r["agency"]),
                        text(&r["programme"]),
                        text(&r["note"]),
                        tx_link(tx),
                        proof_link(
                            r["proof_bundle"].as_str().unwrap_or(""),
                            &format!("entry {}", r["seq"]),
                        ),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let check = match view.get("records_sum") {
        Some(sums) => notice(
            "ok",
            &format!(
                "These {} records are all the records of this figure; their amounts add up to \
                 it (paid: {} minor units).",
                total["entries"],
                esc(sums["paid"].as_str().unwrap_or(""))
            ),
        ),
        None => String::new(),
    };
    let more = match view["next_before"].as_u64() {
        Some(before) => format!(
            "<p class=\"pager\"><a href=\"?before={before}\" rel=\"next\">Older records</a></p>"
        ),
        None => String::new(),
    };
    let body = format!(
        "<h1>Spending records: {scope}</h1>\
         <div class=\"figures\">\
         <div class=\"figure\"><span class=\"label\">Appropriated</span><span class=\"amount\">{a}</span></div>\
         <div class=\"figure\"><span class=\"label\">Allotted</span><span class=\"amount\">{l}</span></div>\
         <div class=\"figure\"><span class=\"label\">Committed</span><span class=\"amount\">{c}</span></div>\
         <div class=\"figure\"><span class=\"label\">Paid</span><span class=\"amount\">{p}</span></div></div>\
         <p>{proof} · <a href=\"/v1/treasury/totals/{path}\">as JSON</a> · \
         <a href=\"/spending/{y}\">Back to fiscal year {y}</a></p>{check}{records}{more}",
        a = money(&total["appropriated"]),
        l = money(&total["allotted"]),
        c = money(&total["committed"]),
        p = money(&total["paid"]),
        proof = proof_link(total["proof_bundle"].as_str().unwrap_or(""), "this figure"),
        path = esc(&if rest == "all" {
            year.clone()
        } else {
            format!("{year}/{rest}")
        }),
        y = esc(&year),
        records = table(
            "Records, newest first",
            &[
                "Entry",
                "Date",
                "Kind",
                "Amount",
                "Agency",
                "Programme",
                "Note",
                "Transaction",
                "Proof"
            ],
            &records
        ),
    );
    Ok(render(
        &state,
        Page {
            title: "Spending records",
            section: "/spending",
            body,
            scripts: &[],
        },
    ))
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

pub async fn procurement(State(state): State<PortalState>) -> Result<Html<String>, PageError> {
    let now = TimestampMs(state.node.tip().timestamp.0).rfc3339();
    let Json(view) = procurement::tenders(
        State(state.ledger.clone()),
        Query(ListQuery {
            limit: Some(200),
            before: None,
        }),
    )
    .await?;
    let rows: Vec<Vec<String>> = view["tenders"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|t| {
                    let signals = t["award"]["signals"]
                        .as_array()
                        .map(|s| s.len())
                        .unwrap_or(0);
                    vec![
                        format!(
                            "<a href=\"/procurement/tenders/{id}\">{}</a>",
                            text(&t["title"]),
                            id = t["id"]
                        ),
                        text(&t["agency"]),
                        esc(&stage_words(
                            t["stage"].as_str().unwrap_or(""),
                            t["deadline"].as_str().is_some_and(|d| d < now.as_str()),
                        )),
                        text(&t["method"]),
                        money(&t["estimated"]),
                        t["bids"].to_string(),
                        if t["award"].is_object() {
                            money(&t["award"]["value"])
                        } else {
                            "—".into()
                        },
                        if signals > 0 {
                            format!("<span class=\"signal\">{signals}</span>")
                        } else {
                            "0".into()
                        },
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Procurement</h1>\
         <p class=\"lead\">Every tender from plan to payment. Bids stay sealed until their bidder \
         opens them after the deadline; integrity signals are computed by the ledger at the award.</p>\
         {table}\
         <p>Open data: <a href=\"/v1/ocds/releases\">OCDS release package</a> · \
         <a href=\"/v1/ocds/records\">OCDS record package</a></p>",
        table = table(
            "Tenders, newest first",
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
        ),
    );
    Ok(render(
        &state,
        Page {
            title: "Procurement",
            section: "/procurement",
            body,
            scripts: &[],
        },
    ))
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
async fn vendor(state: &PortalState, account: &str) -> String {
    match treasury::vendor(State(state.ledger.clone()), Path(account.to_string())).await {
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
    State(state): State<PortalState>,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let Json(view) = procurement::tender(State(state.ledger.clone()), Path(id.clone())).await?;
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
            names.insert(account.to_string(), vendor(&state, account).await);
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
                        .is_some_and(|d| d < state.node.tip().timestamp.0)
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
    Ok(render(
        &state,
        Page {
            title: &format!("Tender {id}"),
            section: "/procurement",
            body,
            scripts: &[],
        },
    ))
}
