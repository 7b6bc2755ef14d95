//! Treasury's pages: spending by agency, programme and month with charts, every figure leading
//! to its records and proof; and, on a business's account page, what it was committed and paid.
//!
//! The pages read the same JSON views as `/v1/treasury`, so what a person sees is what an
//! integrator gets.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse as _, Response};
use axum::routing::get;
use civitas_core::crypto::AccountId;
use civitas_kit::http::{ListQuery, as_json};
use civitas_kit::portal::charts::{self, Row};
use civitas_kit::portal::html::{
    Page, esc, facts, grouped, money, notice, proof_link, table, text, tx_link, url_segment,
};
use civitas_kit::portal::{Action, PageError, Section, Site, field};
use serde_json::Value;
use std::fmt::Write as _;

/// Treasury's section of the portal.
pub const SECTIONS: &[Section] = &[Section::with_card(
    "/spending",
    "Spending",
    "Public spending",
    "Budgets, commitments and payments by agency, programme and month, each figure with its \
     records and proof.",
)];

/// Treasury's pages.
pub fn pages() -> axum::Router<Site> {
    axum::Router::new()
        .route("/spending", get(spending_now))
        .route("/spending/{year}", get(spending))
        .route("/spending/{year}/{*total}", get(total))
}

/// Records listed on a figure's page.
pub const RECORDS_PER_PAGE: usize = 50;

/// `/spending`: the fiscal year of the latest block.
pub async fn spending_now(State(site): State<Site>) -> Response {
    let (year, ..) = site.ledger.time().civil();
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

async fn breakdown(site: &Site, year: &str, dimension: &str) -> Vec<Value> {
    match as_json(
        crate::routes::breakdown(
            State(site.ledger.clone()),
            Path((year.to_string(), dimension.to_string())),
        )
        .await,
    ) {
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
    State(site): State<Site>,
    Path(year): Path<String>,
) -> Result<Html<String>, PageError> {
    let overview =
        as_json(crate::routes::year(State(site.ledger.clone()), Path(year.clone())).await);
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
            return Ok(site.render(Page {
                title: &format!("Public spending {year}"),
                section: "/spending",
                body,
                scripts: &[],
            }));
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
    let mut agencies: std::collections::BTreeMap<String, String> = site
        .ledger
        .genesis()
        .agencies
        .iter()
        .map(|a| (a.id.clone(), a.name.clone()))
        .collect();
    if let Ok(list) = civitas_governance::routes::agencies_in_force(&site.ledger).await {
        agencies.extend(list.into_iter().map(|a| (a.id, a.name)));
    }
    let agency_name = |id: &str| agencies.get(id).cloned().unwrap_or_else(|| id.to_string());
    let plain = |value: &str| value.to_string();
    let by_agency = breakdown(&site, &year, "agency").await;
    let by_programme = breakdown(&site, &year, "programme").await;
    let by_month = breakdown(&site, &year, "month").await;
    let received = revenue_section(&site, &year, &agency_name).await;
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
         {agency}{programme}{month}{received}\
         <h2>Open data</h2><ul>\
         <li><a href=\"/v1/treasury/export/{y}/datapackage.json\">Fiscal Data Package descriptor</a></li>\
         <li><a href=\"/v1/treasury/export/{y}/budget.csv\">Budget lines (CSV)</a></li>\
         <li><a href=\"/v1/treasury/export/{y}/entries.csv\">Every entry (CSV)</a></li>\
         <li><a href=\"/v1/treasury/export/{y}/revenue.csv\">Money received (CSV)</a></li>\
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
    Ok(site.render(Page {
        title: &format!("Public spending {year}"),
        section: "/spending",
        body,
        scripts: &[],
    }))
}

/// Money received in `year`: the total, tables by agency and by source with their proofs, and
/// the latest entries with theirs.
async fn revenue_section(
    site: &Site,
    year: &str,
    agency_name: &(dyn Fn(&str) -> String + Sync),
) -> String {
    let heading = "<h2 id=\"received\">Money received</h2>";
    let Ok(Json(view)) = as_json(
        crate::revenue::revenue_year(State(site.ledger.clone()), Path(year.to_string())).await,
    ) else {
        return format!("{heading}<p>The figures of money received could not be read.</p>");
    };
    if view["total"].is_null() {
        return format!("{heading}<p>Nothing received yet.</p>");
    }
    let source_name = |source: &str| match source.strip_prefix("permit.") {
        Some(permit_type) => format!("Fees: {permit_type} permits"),
        None => source.to_string(),
    };
    let rows = |totals: &Value, names: &dyn Fn(&str) -> String| -> Vec<Vec<String>> {
        totals
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|t| {
                        let label = names(t["value"].as_str().unwrap_or(""));
                        vec![
                            esc(&label),
                            money(&t["received"]),
                            t["entries"].to_string(),
                            proof_link(t["proof_bundle"].as_str().unwrap_or(""), &label),
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let headers = ["", "Received", "Records", "Proof"];
    let mut latest = Vec::new();
    if let Ok(Json(page)) = as_json(
        crate::revenue::revenue_entries(
            State(site.ledger.clone()),
            Path(year.to_string()),
            Query(crate::revenue::RevenueQuery {
                agency: None,
                source: None,
            }),
            Query(civitas_kit::http::PageQuery {
                order: None,
                cursor: None,
                limit: Some(20),
            }),
        )
        .await,
    ) {
        for item in page["items"].as_array().into_iter().flatten() {
            let what = format!("revenue entry {}", item["entry"]);
            latest.push(vec![
                item["entry"].to_string(),
                esc(&agency_name(item["agency"].as_str().unwrap_or(""))),
                esc(&source_name(item["source"].as_str().unwrap_or(""))),
                esc(&grouped(item["amount_text"].as_str().unwrap_or(""))),
                tx_link(item["tx"].as_str().unwrap_or("")),
                proof_link(item["proof_bundle"].as_str().unwrap_or(""), &what),
            ]);
        }
    }
    let total = &view["total"];
    format!(
        "{heading}<p>Fees and other money the agencies received: {amount} in {n} records. \
         {proof}</p>{agency}{source}{latest}",
        amount = money(&total["received"]),
        n = total["entries"],
        proof = proof_link(
            total["proof_bundle"].as_str().unwrap_or(""),
            "the year's money received"
        ),
        agency = table(
            "Received by agency",
            &headers,
            &rows(&view["by_agency"], agency_name)
        ),
        source = table(
            "Received by source",
            &headers,
            &rows(&view["by_source"], &source_name)
        ),
        latest = table(
            "Latest money received",
            &[
                "Entry",
                "Agency",
                "Source",
                "Amount",
                "Transaction",
                "Proof"
            ],
            &latest
        ),
    )
}

#[derive(serde::Deserialize, Default)]
pub struct RecordsQuery {
    before: Option<u64>,
}

/// `/spending/{year}/all` or `/spending/{year}/{dimension}/{value}`: one figure, its records
/// newest first, each with its transaction and proof.
pub async fn total(
    State(site): State<Site>,
    Path((year, rest)): Path<(String, String)>,
    Query(query): Query<RecordsQuery>,
) -> Result<Html<String>, PageError> {
    let path = if rest == "all" {
        year.clone()
    } else {
        format!("{year}/{rest}")
    };
    let Json(view) = as_json(
        crate::routes::total(
            State(site.ledger.clone()),
            Path(path),
            Query(ListQuery {
                limit: Some(RECORDS_PER_PAGE),
                before: query.before,
            }),
        )
        .await,
    )?;
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
    Ok(site.render(Page {
        title: "Spending records",
        section: "/spending",
        body,
        scripts: &[],
    }))
}

/// Treasury's forms in the agency console.
pub const ACTIONS: &[Action] = &[
    Action {
        module: "treasury",
        op: "appropriate",
        title: "Adopt a budget line (appropriation)",
        who: "a budget official of the finance authority",
        roles: &["budget"],
        fields: &[
            field("year", "Fiscal year", "u64", "", ""),
            field("agency", "Agency", "text", "", ""),
            field("programme", "Programme", "text", "such as hospitals", ""),
            field(
                "classification",
                "Economic classification",
                "text",
                "such as capital-works",
                "",
            ),
            field("purpose", "Purpose", "text", "", ""),
            field(
                "amount.amount",
                "Amount",
                "amount",
                "in major units, such as 125000.00",
                "",
            ),
            field(
                "amount.currency",
                "Currency",
                "currency",
                "ISO 4217 code",
                "EUR",
            ),
        ],
    },
    Action {
        module: "treasury",
        op: "pay",
        title: "Record a payment",
        who: "a treasurer of the agency (two above the large-payment threshold)",
        roles: &["treasurer"],
        fields: &[
            field("commitment", "Commitment number", "u64", "", ""),
            field(
                "amount.amount",
                "Amount",
                "amount",
                "in major units, such as 2500.00",
                "",
            ),
            field(
                "amount.currency",
                "Currency",
                "currency",
                "ISO 4217 code",
                "EUR",
            ),
            field(
                "reference",
                "Payment reference",
                "text",
                "such as an invoice number",
                "",
            ),
        ],
    },
];

/// What the ledger holds for a business: its vendor registration and this year's money (from
/// the vendor total, complete and provable).
pub async fn account_page(site: &Site, account: &AccountId) -> String {
    let id = account.to_hex();
    let Ok(Json(vendor)) =
        as_json(crate::routes::vendor(State(site.ledger.clone()), Path(id.clone())).await)
    else {
        return String::new();
    };
    let (year, ..) = site.ledger.time().civil();
    let money = match as_json(
        crate::routes::total(
            State(site.ledger.clone()),
            Path(format!("{year}/vendor/{id}")),
            Query(ListQuery {
                limit: Some(1),
                before: None,
            }),
        )
        .await,
    ) {
        Ok(Json(view)) => format!(
            "<p>In {year}: committed to you {}, paid to you {}. \
             <a href=\"/spending/{year}/vendor/{id}\">Every record of it</a>.</p>",
            money(&view["total"]["committed"]),
            money(&view["total"]["paid"]),
        ),
        Err(_) => format!("<p>Nothing committed to you in {year} yet.</p>"),
    };
    format!(
        "<h2>Your business</h2><p>Registered as the vendor {} ({}).</p>{money}",
        text(&vendor["name"]),
        text(&vendor["registration"]),
    )
}
