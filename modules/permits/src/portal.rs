//! The permits' pages: the permit types a person can apply for, each with its steps, deadlines,
//! fee and figures and a form generated from its fields (filled in, checked and signed in the
//! browser; the answers go to the agency's vault, the application to the ledger); an
//! application's timeline, with the applicant's answer to a request, withdrawal and appeal; a
//! licence with where it stands and its proof; the public register; every type's figures; and,
//! in the agency console, the queue of applications per step, oldest first.
//!
//! The pages read the same JSON views as `/v1/permits`, so what a person sees is what an
//! integrator gets.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse as _, Response};
use axum::routing::get;
use civitas_core::crypto::AccountId;
use civitas_core::money::Currency;
use civitas_kit::http::{ApiError, PageQuery, as_json};
use civitas_kit::portal::html::{
    Page, esc, facts, grouped, notice, proof_link, short_hex, table, time, tx_link, url_segment,
};
use civitas_kit::portal::{Action, Field, PageError, Section, Site, field};
use serde_json::Value;
use std::fmt::Write as _;

/// The permits' section of the portal.
pub const SECTIONS: &[Section] = &[Section::with_card(
    "/permits",
    "Permits",
    "Permits and licences",
    "Apply online for a licence or permit, follow each step and its deadline, and check any \
     licence on the public register.",
)];

/// The permits' pages.
pub fn pages() -> axum::Router<Site> {
    axum::Router::new()
        .route("/permits", get(index))
        .route("/permits/types/{id}", get(type_page))
        .route("/permits/applications/{id}", get(application_page))
        .route("/permits/licences/{id}", get(licence_page))
        .route("/permits/register", get(register_page))
        .route("/permits/statistics", get(statistics_page))
}

/// A route's answer as JSON, or the page error it maps to.
fn view<T: serde::Serialize>(answer: Result<Json<T>, ApiError>) -> Result<Value, PageError> {
    as_json(answer).map(|Json(v)| v).map_err(PageError::from)
}

/// An amount `{amount, currency}` written out as the portal's other pages write money, such
/// as `12,000.00 EUR` (what `html::money` does for a view that carries its text).
fn amount(money: &Value) -> String {
    let minor = money["amount"].as_u64().unwrap_or(0);
    match Currency::parse(money["currency"].as_str().unwrap_or("")) {
        Ok(currency) => grouped(&civitas_core::money::format_amount(minor, currency)),
        Err(_) => format!("{minor} (minor units)"),
    }
}

/// A span of seconds in words: `10 days`, `1 minute`; `none` for 0.
fn span(secs: u64) -> String {
    let (n, unit) = match secs {
        0 => return "none".into(),
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// What follows a step's deadline, in words.
fn consequence(on_overdue: &str) -> &'static str {
    match on_overdue {
        "approve" => "granted as applied for (silence is consent)",
        "escalate" => "passed to the supervisor",
        _ => "marked overdue; the supervisor is told",
    }
}

/// Where an application stands, in words.
fn standing(status: &str) -> &'static str {
    match status {
        "awaiting_fee" => "waiting for the fee",
        "in_progress" => "with the agency",
        "awaiting_applicant" => "waiting for the applicant's answer",
        "appealed" => "appealed",
        "decided" => "decided",
        _ => "unknown",
    }
}

/// An outcome, in words.
fn outcome_words(outcome: &str) -> &'static str {
    match outcome {
        "approved" => "granted",
        "approved_tacitly" => "granted by silence (the deadline passed)",
        "refused" => "refused",
        "withdrawn" => "withdrawn by the applicant",
        "approved_on_appeal" => "granted on appeal",
        "appeal_dismissed" => "appeal dismissed",
        _ => "decided",
    }
}

/// An account, shortened (the full id is in the record's JSON and proof).
fn account_link(account: &str) -> String {
    short_hex(account)
}

/// The response for `page`, whose script may also reach the vault at `vault` (its origin
/// only; nothing if the address is not a plain http(s) one).
fn with_vault(site: &Site, page: Page<'_>, vault: Option<&str>) -> Response {
    let mut response = site.render(page).into_response();
    if let Some(origin) = vault.and_then(civitas_sharing::portal::origin) {
        let policy = civitas_kit::portal::content_security_policy(&format!("'self' {origin}"));
        if let Ok(value) = HeaderValue::from_str(&policy) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// The address of `agency`'s vault, as the ledger names it, if the page may reach it (a plain
/// `http(s)://host[:port][/path]`; the page's policy admits its origin and no other).
async fn vault_of(site: &Site, agency: &str) -> Option<String> {
    let key = civitas_sharing::state::vault_key(agency);
    site.ledger
        .value::<civitas_sharing::state::Vault>(key)
        .await
        .ok()
        .flatten()
        .map(|v| v.url)
        .filter(|url| civitas_sharing::portal::origin(url).is_some())
}

/// `/permits`: the types that take applications.
async fn index(State(site): State<Site>) -> Result<Html<String>, PageError> {
    let list = view(
        crate::routes::types(
            State(site.ledger.clone()),
            Query(crate::routes::TypesQuery { agency: None }),
        )
        .await,
    )?;
    let rows: Vec<Vec<String>> = list["types"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let id = t["permit_type"].as_str().unwrap_or("");
            vec![
                format!(
                    "<a href=\"/permits/types/{}\">{}</a>",
                    url_segment(id),
                    esc(t["title"].as_str().unwrap_or(id))
                ),
                esc(t["description"].as_str().unwrap_or("")),
                esc(t["agency"].as_str().unwrap_or("")),
                if t["fee"].is_null() {
                    "none".into()
                } else {
                    esc(&amount(&t["fee"]))
                },
                if t["public_register"] == true {
                    "public register".into()
                } else {
                    "not on the register".into()
                },
            ]
        })
        .collect();
    let types = if rows.is_empty() {
        "<p>No agency takes applications yet.</p>".to_string()
    } else {
        table(
            "Permits you can apply for",
            &["Permit", "What it is for", "Agency", "Fee", "Licence"],
            &rows,
        )
    };
    let body = format!(
        "<h1>Permits and licences</h1>\
         <p class=\"lead\">Choose a permit to see its steps, deadlines and fee, and apply online. \
         What you write goes to the agency's vault, not to the public ledger; the ledger records \
         that you applied, each decision with its reason, and every deadline, so nobody can \
         quietly alter them.</p>{types}\
         <ul><li><a href=\"/permits/register\">The public register of licences</a></li>\
         <li><a href=\"/permits/statistics\">How long each step takes, and how often deadlines \
         are missed</a></li>\
         <li><a href=\"/account\">Your applications and licences</a> (signed in)</li></ul>"
    );
    Ok(site.render(Page {
        title: "Permits and licences",
        section: "/permits",
        body,
        scripts: &[],
    }))
}

/// One form field as the applicant fills it in: its label, input, hint and error.
fn form_field(prefix: &str, field: &Value) -> String {
    let name = field["name"].as_str().unwrap_or("");
    let label = field["label"].as_str().unwrap_or(name);
    let required = field["required"] == true;
    // Namespaced: a field named `form` or `document-0` takes no id the page uses.
    let id = format!("{prefix}-field-{name}");
    let kind = field["kind"]["kind"].as_str().unwrap_or("text");
    let optional = if required { "" } else { " (optional)" };
    let data = format!(
        "data-field=\"{n}\" data-kind=\"{k}\" data-required=\"{required}\" \
         aria-describedby=\"{id}-hint {id}-error\"{req}",
        n = esc(name),
        k = esc(kind),
        req = if required {
            " aria-required=\"true\""
        } else {
            ""
        },
    );
    let (input, hint) = match kind {
        "number" => {
            let (min, max) = (
                field["kind"]["min"].as_u64().unwrap_or(0),
                field["kind"]["max"].as_u64().unwrap_or(u64::MAX),
            );
            (
                format!(
                    "<input type=\"text\" id=\"{id}\" inputmode=\"numeric\" autocomplete=\"off\" \
                     data-min=\"{min}\" data-max=\"{max}\" {data}>"
                ),
                format!("A whole number from {min} to {max}."),
            )
        }
        "date" => (
            format!("<input type=\"date\" id=\"{id}\" {data}>"),
            "A date.".to_string(),
        ),
        "choice" => {
            let mut options = String::from("<option value=\"\">Choose…</option>");
            for choice in field["kind"]["choices"].as_array().into_iter().flatten() {
                let choice = esc(choice.as_str().unwrap_or(""));
                let _ = write!(options, "<option value=\"{choice}\">{choice}</option>");
            }
            (
                format!("<select id=\"{id}\" {data}>{options}</select>"),
                "Choose one.".to_string(),
            )
        }
        "yes_no" => {
            return format!(
                "<fieldset class=\"field\" role=\"radiogroup\" id=\"{id}\" {data}><legend>{l}{optional}</legend>\
                 <label><input type=\"radio\" name=\"{id}\" value=\"true\"> Yes</label> \
                 <label><input type=\"radio\" name=\"{id}\" value=\"false\"> No</label>\
                 <p class=\"hint\" id=\"{id}-hint\">Yes or no.</p>\
                 <p class=\"field-error\" id=\"{id}-error\"></p></fieldset>",
                l = esc(label),
            );
        }
        _ => {
            let max = field["kind"]["max_bytes"].as_u64().unwrap_or(200);
            let input = if max > 200 {
                format!(
                    "<textarea id=\"{id}\" rows=\"4\" data-max-bytes=\"{max}\" {data}></textarea>"
                )
            } else {
                format!(
                    "<input type=\"text\" id=\"{id}\" autocomplete=\"off\" data-max-bytes=\"{max}\" {data}>"
                )
            };
            (
                input,
                format!(
                    "At most {max} bytes. Write about the premises or the works, not about other \
                     people."
                ),
            )
        }
    };
    format!(
        "<div class=\"field\"><label for=\"{id}\">{l}{optional}</label>{input}\
         <p class=\"hint\" id=\"{id}-hint\">{h}</p><p class=\"field-error\" id=\"{id}-error\"></p></div>",
        l = esc(label),
        h = esc(&hint),
    )
}

/// The fields of `definition`'s form, then a file input per document it asks for.
fn form_fields(prefix: &str, definition: &Value, documents_optional: bool) -> String {
    let mut out = String::new();
    for field in definition["fields"].as_array().into_iter().flatten() {
        out.push_str(&form_field(prefix, field));
    }
    for (i, document) in definition["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let id = format!("{prefix}-document-{i}");
        let _ = write!(
            out,
            "<div class=\"field\"><label for=\"{id}\">{t}{o}</label>\
             <input type=\"file\" id=\"{id}\" data-document=\"{i}\" data-required=\"{r}\" \
             aria-describedby=\"{id}-hint {id}-error\">\
             <p class=\"hint\" id=\"{id}-hint\">The file is hashed in your browser and never \
             uploaded; it must be notarised already (its fingerprint anchored on the ledger).</p>\
             <p class=\"field-error\" id=\"{id}-error\"></p></div>",
            t = esc(document["title"].as_str().unwrap_or("")),
            o = if documents_optional {
                " (optional)"
            } else {
                ""
            },
            r = !documents_optional,
        );
    }
    out
}

/// An input per vault record the type requires: the record's id, as "My data" shows it. The
/// ledger checks that it is a record of the schema asked for, not erased.
fn record_fields(definition: &Value) -> String {
    let mut out = String::new();
    for (i, schema) in definition["records"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let id = format!("apply-record-{i}");
        let _ = write!(
            out,
            "<div class=\"field\"><label for=\"{id}\">Record: {s}</label>\
             <input type=\"text\" id=\"{id}\" data-record=\"{i}\" spellcheck=\"false\" \
             autocomplete=\"off\" aria-describedby=\"{id}-hint {id}-error\">\
             <p class=\"hint\" id=\"{id}-hint\">The id of the {s} record in an agency's vault \
             that the application rests on (64 hexadecimal characters), as \
             <a href=\"/my-data\">My data</a> shows your records. Only its id goes on the \
             ledger.</p><p class=\"field-error\" id=\"{id}-error\"></p></div>",
            s = esc(schema.as_str().unwrap_or("")),
        );
    }
    out
}

/// `?renews=<licence>`: the form applies to renew the holder's licence.
#[derive(serde::Deserialize, Default)]
pub struct ApplyQuery {
    renews: Option<String>,
}

/// `/permits/types/{id}`: a type's steps, deadlines, fee and figures, and the form to apply
/// (`?renews=<licence>`: to renew the holder's licence).
async fn type_page(
    State(site): State<Site>,
    Path(id): Path<String>,
    Query(query): Query<ApplyQuery>,
) -> Result<Response, PageError> {
    let renews = match query.renews.as_deref().map(str::parse::<u64>) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return Err(PageError::from(ApiError::bad_request(
                "renews= takes a licence number, such as renews=12",
            )));
        }
    };
    let found =
        view(crate::routes::permit_type(State(site.ledger.clone()), Path(id.clone())).await)?;
    let definition = &found["definition"];
    let agency = found["agency"].as_str().unwrap_or("");
    let title = definition["title"].as_str().unwrap_or(&id).to_string();
    let steps: Vec<Vec<String>> = definition["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                esc(s["title"].as_str().unwrap_or("")),
                esc(s["role"].as_str().unwrap_or("")),
                esc(&span(s["deadline_secs"].as_u64().unwrap_or(0))),
                esc(consequence(s["on_overdue"].as_str().unwrap_or(""))),
            ]
        })
        .collect();
    let fee = if definition["fee"].is_null() {
        "none".to_string()
    } else {
        format!(
            "{}, paid to {agency} before the first step starts",
            amount(&definition["fee"]),
        )
    };
    let register = if definition["register"] == "public" {
        "on the public register"
    } else {
        "not on the public register (its record is read by its number)"
    };
    let figures = figures_section(&site, &id).await;
    let vault = vault_of(&site, agency).await;
    let apply = if found["retired"].is_null() {
        match &vault {
            Some(url) => format!(
                "<h2 id=\"apply\">Apply</h2>\
                 <p>Sign in first with your key (<a href=\"/sign-in\">sign in</a>). Your answers \
                 are checked here, then sent to the vault of {a}, sealed for the agency and for \
                 you; your browser signs the application, which the ledger records with a \
                 commitment to your answers, never the answers.</p>\
                 {renewing}<form id=\"apply-form\" class=\"action\" novalidate \
                 data-type=\"{t}\" data-agency=\"{a}\" data-vault=\"{v}\"{renews}>{fields}\
                 {records}<button type=\"submit\">Sign and apply</button>\
                 <div class=\"result\" role=\"status\" aria-live=\"polite\"></div></form>",
                a = esc(agency),
                t = esc(&id),
                v = esc(url),
                fields = form_fields("apply", definition, false),
                records = record_fields(definition),
                renewing = match renews {
                    Some(n) => notice(
                        "ok",
                        &format!(
                            "You are applying to renew <a href=\"/permits/licences/{n}\">\
                             licence {n}</a>: granted, it keeps its number and its validity \
                             is extended by the type's period from its current end date. Only \
                             its holder may, in its renewal window."
                        ),
                    ),
                    None => String::new(),
                },
                renews = match renews {
                    Some(n) => format!(" data-renews=\"{n}\""),
                    None => String::new(),
                },
            ),
            None => format!(
                "<h2 id=\"apply\">Apply</h2>{}",
                notice(
                    "warn",
                    &format!(
                        "{} has named no vault on the ledger that this page may reach, so it \
                         cannot take applications online here yet.",
                        esc(agency)
                    )
                )
            ),
        }
    } else {
        format!(
            "<h2 id=\"apply\">Apply</h2>{}",
            notice(
                "warn",
                "This permit type is retired: it takes no new applications."
            )
        )
    };
    let documents: Vec<String> = definition["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| format!("<li>{}</li>", esc(d["title"].as_str().unwrap_or(""))))
        .collect();
    let body = format!(
        "<h1>{t}</h1><p class=\"lead\">{d}</p>{facts}\
         <p>{proof} · <a href=\"{def}\" download>Proof bundle of this version's definition</a></p>\
         <h2>Steps and statutory deadlines</h2>\
         <p>Each step's clock starts when the step begins, stops while the agency waits for your \
         answer to a request, and starts again in full when you answer. The ledger itself acts \
         when a deadline passes.</p>{steps}\
         <h2>Documents</h2>{docs}{figures}{apply}",
        t = esc(&title),
        d = esc(definition["description"].as_str().unwrap_or("")),
        facts = facts(&[
            ("Agency", esc(agency)),
            ("Version in force", found["version"].to_string()),
            ("Fee", esc(&fee)),
            (
                "Validity",
                esc(&match definition["validity_secs"].as_u64().unwrap_or(0) {
                    0 => "until revoked".to_string(),
                    s => span(s),
                })
            ),
            (
                "Renewal",
                esc(
                    &match definition["renewal_window_secs"].as_u64().unwrap_or(0) {
                        0 => "not renewable".to_string(),
                        s => format!("in the last {} of its validity", span(s)),
                    }
                )
            ),
            ("Licence", register.to_string()),
            (
                "Appeal",
                esc(&format!(
                    "{} (within {})",
                    definition["appeal_route"].as_str().unwrap_or(""),
                    span(definition["appeal_secs"].as_u64().unwrap_or(0))
                ))
            ),
        ]),
        proof = proof_link(found["proof_bundle"].as_str().unwrap_or(""), &title),
        def = esc(found["definition_proof_bundle"].as_str().unwrap_or("")),
        steps = table(
            "Steps",
            &["", "Step", "Who acts", "Deadline", "When it passes"],
            &steps
        ),
        docs = if documents.is_empty() {
            "<p>None.</p>".to_string()
        } else {
            format!(
                "<p>Notarised, by fingerprint:</p><ul>{}</ul>",
                documents.concat()
            )
        },
    );
    Ok(with_vault(
        &site,
        Page {
            title: &title,
            section: "/permits",
            body,
            scripts: &["permits.js"],
        },
        vault.as_deref(),
    ))
}

/// A type's figures as a section: counts, rates, each step's time, and the proof.
async fn figures_section(site: &Site, id: &str) -> String {
    let Ok(stats) =
        view(crate::routes::statistics(State(site.ledger.clone()), Path(id.into())).await)
    else {
        return String::new();
    };
    let rate = |v: &Value| match v.as_u64() {
        Some(per_mille) => format!("{}.{}%", per_mille / 10, per_mille % 10),
        None => "—".to_string(),
    };
    let hours = |v: &Value| match v.as_u64() {
        Some(h) if h < 48 => format!("≤ {h} h"),
        Some(h) => format!("≤ {} days", h.div_ceil(24)),
        None => "—".to_string(),
    };
    let steps: Vec<Vec<String>> = stats["step_figures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            vec![
                esc(s["step"].as_str().unwrap_or("")),
                s["completed"].to_string(),
                s["overdue"].to_string(),
                hours(&s["median_hours_at_most"]),
                hours(&s["p90_hours_at_most"]),
            ]
        })
        .collect();
    format!(
        "<h2 id=\"figures\">Figures</h2>{facts}{steps}<p>{proof}</p>",
        facts = facts(&[
            ("Applications", stats["applications"].to_string()),
            (
                "Granted",
                // `approved` counts every grant: those by silence and on appeal among them.
                format!(
                    "{} ({} by silence, {} on appeal)",
                    stats["approved"], stats["approved_tacitly"], stats["overturned"]
                )
            ),
            ("Refused", stats["refused"].to_string()),
            ("Refusal rate", rate(&stats["refused_per_mille"])),
            ("Missed a deadline", rate(&stats["overdue_per_mille"])),
        ]),
        steps = table(
            "Time per step (hours or days, at most)",
            &[
                "Step",
                "Completed",
                "Deadline missed",
                "Median",
                "90th percentile"
            ],
            &steps
        ),
        proof = proof_link(
            stats["proof_bundle"].as_str().unwrap_or(""),
            &format!("the figures of {id}")
        ),
    )
}

/// One event of an application's timeline, in words.
fn happened(event: &Value) -> String {
    let text = |name: &str| esc(event[name].as_str().unwrap_or(""));
    match event["type"].as_str().unwrap_or("") {
        "application_filed" => format!("Filed; the first step is {}.", text("step")),
        "fee_paid" => format!(
            "Fee of {} recorded as paid (reference {}).",
            esc(&amount(&event["amount"])),
            text("reference")
        ),
        "step_completed" => format!(
            "Step {} completed: {}. Next: {}.",
            text("step"),
            text("reason"),
            text("next")
        ),
        "information_requested" => format!(
            "At step {}, the agency asked for more: {}",
            text("step"),
            text("request")
        ),
        "information_provided" => "The applicant answered; the step's clock started again.".into(),
        "application_overdue" => format!(
            "The deadline of step {} passed: {}.",
            text("step"),
            esc(consequence(event["consequence"].as_str().unwrap_or("")))
        ),
        "application_decided" => format!(
            "Decided: {}. Reason: {}",
            esc(outcome_words(event["outcome"].as_str().unwrap_or(""))),
            text("reason")
        ),
        "application_appealed" => "Appealed by the applicant.".into(),
        "licence_issued" => format!(
            "Licence <a href=\"/permits/licences/{n}\">{n}</a> issued: {}.",
            text("scope"),
            n = event["licence"]
        ),
        other => esc(other),
    }
}

/// `/permits/applications/{id}`: where an application stands, its steps and timeline, and what
/// its applicant can do.
async fn application_page(
    State(site): State<Site>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let found =
        view(crate::routes::application(State(site.ledger.clone()), Path(id.clone())).await)?;
    let number = found["id"].as_u64().unwrap_or(0);
    let permit_type = found["permit_type"].as_str().unwrap_or("").to_string();
    let version = found["version"].to_string();
    let definition = view(
        crate::routes::type_version(
            State(site.ledger.clone()),
            Path((permit_type.clone(), version)),
        )
        .await,
    )?["definition"]
        .clone();
    let agency = found["agency"].as_str().unwrap_or("").to_string();
    let applicant = found["applicant"].as_str().unwrap_or("").to_string();
    let decision = &found["decision"];
    let current = found["step"].as_u64().unwrap_or(0) as usize;
    let mut progress = String::from("<ol class=\"steps\">");
    for (i, step) in definition["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let state = if !decision.is_null() || i < current {
            "done"
        } else if i == current {
            "current"
        } else {
            "to come"
        };
        let deadline = if state == "current" && decision.is_null() {
            match found["deadline"].as_u64() {
                Some(ms) => format!(", deadline {}", time(ms)),
                None if !found["awaiting"].is_null() => ", clock stopped".to_string(),
                None => String::new(),
            }
        } else {
            String::new()
        };
        let _ = write!(
            progress,
            "<li{}>{} ({state}{deadline})</li>",
            if state == "current" {
                " aria-current=\"step\""
            } else {
                ""
            },
            esc(step["title"].as_str().unwrap_or(""))
        );
    }
    progress.push_str("</ol>");
    let fee = match (&found["fee"], &found["paid"]) {
        (Value::Null, _) => "none".to_string(),
        (fee, Value::Null) => format!(
            "{} to pay to {}, with the reference APPLICATION-{number}; the first step starts \
             once its cashier records it",
            amount(fee),
            esc(&agency)
        ),
        (fee, paid) => format!(
            "{} paid (reference {}; <a href=\"/spending/{y}#received\">in the public ledger of \
             money received</a>)",
            amount(fee),
            esc(paid["reference"].as_str().unwrap_or("")),
            y = paid["revenue_year"]
        ),
    };
    let status = if let Some(outcome) = decision["outcome"].as_str() {
        let mut words = outcome_words(outcome).to_string();
        if !found["appeal"].is_null() && outcome == "refused" {
            words.push_str("; appealed, waiting for the supervisor's decision");
        }
        words
    } else if let Some(request) = found["awaiting"].as_str() {
        format!("waiting for the applicant's answer to: {request}")
    } else if found["fee"].is_null() || !found["paid"].is_null() {
        "with the agency".to_string()
    } else {
        "waiting for the fee".to_string()
    };
    let mut rows = Vec::new();
    if let Ok(timeline) = view(
        crate::routes::timeline(
            State(site.ledger.clone()),
            Path(id.clone()),
            Query(PageQuery {
                order: None,
                cursor: None,
                limit: Some(100),
            }),
        )
        .await,
    ) {
        for item in timeline["items"].as_array().into_iter().flatten() {
            let event = &item["event"];
            let by = match (event["by"].as_str(), event["type"].as_str().unwrap_or("")) {
                (Some(official), _) => account_link(official),
                (None, "application_filed" | "information_provided" | "application_appealed") => {
                    "the applicant".to_string()
                }
                (None, "fee_paid") => "the agency's cashier".to_string(),
                (None, "application_overdue") => "the ledger, at the deadline".to_string(),
                (None, "application_decided") if event["outcome"] == "withdrawn" => {
                    "the applicant".to_string()
                }
                (None, "application_decided") => {
                    "the ledger, at the deadline (silence is consent)".to_string()
                }
                (None, "licence_issued") => "the ledger, on the decision".to_string(),
                (None, _) => "—".to_string(),
            };
            rows.push(vec![
                time(item["timestamp_ms"].as_u64().unwrap_or(0)),
                happened(event),
                by,
                tx_link(item["tx"].as_str().unwrap_or("")),
            ]);
        }
    }
    let refused = decision["outcome"] == "refused" && found["appeal"].is_null();
    let vault = vault_of(&site, &agency).await;
    let body = format!(
        "<h1>Application {number}: {t}</h1>\
         <p class=\"lead\" id=\"application-status\">{status}</p>{facts}\
         <h2>Steps</h2>{progress}\
         <h2>Timeline</h2>{timeline}\
         <p>{proof}</p>\
         <section id=\"applicant-actions\" hidden data-application=\"{number}\" \
         data-applicant=\"{applicant}\" data-form=\"{form}\" data-vault=\"{vault}\" \
         data-type=\"{ty}\" data-awaiting=\"{awaiting}\" data-undecided=\"{undecided}\" \
         data-refused=\"{refused}\">\
         <h2>Your application</h2>\
         <form id=\"answer-form\" class=\"action\" novalidate hidden>\
         <h3>Answer the request</h3><p>Fill in your whole form again as it should now read; it \
         becomes its next version in the agency's vault. Add documents if they were asked for.</p>\
         {fields}<button type=\"submit\">Sign and answer</button>\
         <div class=\"result\" role=\"status\" aria-live=\"polite\"></div></form>\
         <form id=\"appeal-form\" class=\"action\" novalidate hidden>\
         <h3>Appeal the refusal</h3><p>{route}. Choose the file with your written grounds: it is \
         hashed here, and its fingerprint goes on the ledger.</p>\
         <div class=\"field\"><label for=\"appeal-grounds\">Grounds of appeal</label>\
         <input type=\"file\" id=\"appeal-grounds\" aria-describedby=\"appeal-grounds-error\">\
         <p class=\"field-error\" id=\"appeal-grounds-error\"></p></div>\
         <button type=\"submit\">Sign and appeal</button>\
         <div class=\"result\" role=\"status\" aria-live=\"polite\"></div></form>\
         <form id=\"withdraw-form\" class=\"action\" novalidate hidden>\
         <h3>Withdraw</h3><p>Withdrawing ends the application; it cannot be undone.</p>\
         <button type=\"submit\" class=\"secondary\">Sign and withdraw</button>\
         <div class=\"result\" role=\"status\" aria-live=\"polite\"></div></form></section>",
        t = esc(definition["title"].as_str().unwrap_or(&permit_type)),
        status = esc(&format!(
            "{}: {status}.",
            if decision.is_null() {
                "In progress"
            } else {
                "Decided"
            }
        )),
        facts = facts(
            &[
                vec![
                    (
                        "Permit",
                        format!(
                            "<a href=\"/permits/types/{}\">{}</a> (version {})",
                            url_segment(&permit_type),
                            esc(&permit_type),
                            found["version"]
                        )
                    ),
                    ("Agency", esc(&agency)),
                    ("Applicant", account_link(&applicant)),
                    ("Filed", time(found["time"].as_u64().unwrap_or(0))),
                    ("Fee", fee),
                    (
                        "Licence",
                        match decision["licence"].as_u64() {
                            Some(n) => format!("<a href=\"/permits/licences/{n}\">licence {n}</a>"),
                            None => "none".into(),
                        }
                    ),
                ],
                appeal_facts(&found, &definition)
            ]
            .concat()
        ),
        timeline = table(
            "What happened, oldest first",
            &["When", "What", "By", "Transaction"],
            &rows
        ),
        proof = proof_link(
            found["proof_bundle"].as_str().unwrap_or(""),
            &format!("application {number}")
        ),
        form = esc(found["form"].as_str().unwrap_or("")),
        vault = esc(vault.as_deref().unwrap_or("")),
        ty = esc(&permit_type),
        awaiting = !found["awaiting"].is_null() && decision.is_null(),
        undecided = decision.is_null(),
        route = esc(definition["appeal_route"].as_str().unwrap_or("")),
        fields = form_fields("answer", &definition, true),
    );
    Ok(with_vault(
        &site,
        Page {
            title: &format!("Application {number}"),
            section: "/permits",
            body,
            scripts: &["permits.js"],
        },
        vault.as_deref(),
    ))
}

/// For a refused application, everyone reading its page is told why, where an appeal goes and
/// by when (the decision's time and the type version's appeal period, as the ledger checks
/// it), or that it was appealed.
fn appeal_facts(found: &Value, definition: &Value) -> Vec<(&'static str, String)> {
    let decision = &found["decision"];
    if decision["outcome"] != "refused" {
        return Vec::new();
    }
    let route = esc(definition["appeal_route"].as_str().unwrap_or(""));
    let appeal = match found["appeal"]["time"].as_u64() {
        Some(ms) => format!("{route}; appealed on {}", time(ms)),
        None => {
            let decided = decision["time"].as_u64().unwrap_or(0);
            let secs = definition["appeal_secs"].as_u64().unwrap_or(0);
            let until = decided.saturating_add(secs.saturating_mul(1_000));
            format!("{route}; the applicant may appeal until {}", time(until))
        }
    };
    vec![
        (
            "Reason for the refusal",
            esc(decision["reason"].as_str().unwrap_or("")),
        ),
        ("Appeal", appeal),
    ]
}

/// `/permits/licences/{id}`: a licence, where it stands now, and its proof.
async fn licence_page(
    State(site): State<Site>,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let found = view(crate::routes::licence(State(site.ledger.clone()), Path(id)).await)?;
    let number = found["id"].as_u64().unwrap_or(0);
    let status = found["status"].as_str().unwrap_or("");
    let until = match found["valid_until"].as_u64() {
        Some(ms) => time(ms),
        None => "until revoked".into(),
    };
    let stopped = &found["stopped"];
    let standing = match status {
        "valid" => format!("Valid until {until}; not suspended or revoked"),
        "suspended" => format!(
            "Suspended: {}",
            esc(stopped["reason"].as_str().unwrap_or(""))
        ),
        "revoked" => format!("Revoked: {}", esc(stopped["reason"].as_str().unwrap_or(""))),
        "expired" => format!("Expired ({until})"),
        other => esc(other),
    };
    let permit_type = found["permit_type"].as_str().unwrap_or("");
    let renewal = renewal(&site, &found, status).await;
    let body = format!(
        "<h1>Licence {number}</h1>\
         <p class=\"lead\" id=\"licence-status\">{standing}, at block {h} ({at}).</p>{facts}\
         {renewal}\
         <h2>Check it yourself</h2>\
         <p>The proof bundle proves this licence's record against the agencies' signatures; \
         check it offline against the network's genesis with <code>civitas verify \
         licence-{number}.cvpb --genesis genesis.json</code>, or on the \
         <a href=\"/verify\">verify page</a>. It says \"valid until …, not suspended or revoked \
         at height H\", or what holds instead.</p><p>{proof}</p>",
        h = found["at_height"],
        at = time(found["at_time"].as_u64().unwrap_or(0)),
        facts = facts(&[
            (
                "Permit",
                format!(
                    "<a href=\"/permits/types/{}\">{}</a>",
                    url_segment(permit_type),
                    esc(permit_type)
                )
            ),
            ("Issued by", esc(found["agency"].as_str().unwrap_or(""))),
            (
                "Holder",
                account_link(found["holder"].as_str().unwrap_or(""))
            ),
            ("Scope", esc(found["scope"].as_str().unwrap_or(""))),
            ("Valid until", until.clone()),
            ("Renewed", format!("{} times", found["renewals"])),
            (
                "Application",
                format!(
                    "<a href=\"/permits/applications/{a}\">application {a}</a>",
                    a = found["application"]
                )
            ),
            (
                "Register",
                if found["public"] == true {
                    "public".into()
                } else {
                    "not on the public register".into()
                }
            ),
        ]),
        proof = proof_link(
            found["proof_bundle"].as_str().unwrap_or(""),
            &format!("licence {number}")
        ),
    );
    Ok(site.render(Page {
        title: &format!("Licence {number}"),
        section: "/permits",
        body,
        scripts: &["permits.js"],
    }))
}

/// A licence's renewal, as its type in force and the ledger's rules say at the page's block:
/// when its window opens, or (for its holder, signed in) the link to apply for renewal.
async fn renewal(site: &Site, found: &Value, status: &str) -> String {
    let number = found["id"].as_u64().unwrap_or(0);
    let permit_type = found["permit_type"].as_str().unwrap_or("");
    let found_type = view(
        crate::routes::permit_type(State(site.ledger.clone()), Path(permit_type.to_string())).await,
    )
    .unwrap_or_default();
    let retired = !found_type["retired"].is_null();
    let window = found_type["definition"]["renewal_window_secs"]
        .as_u64()
        .unwrap_or(0);
    let words = match (status, found["valid_until"].as_u64()) {
        ("valid", Some(_)) if retired => {
            "Its permit type is retired: it cannot be renewed.".to_string()
        }
        ("valid", Some(until)) if window > 0 => {
            let opens = until.saturating_sub(window.saturating_mul(1_000));
            if let Some(pending) = found["renewing"].as_u64() {
                format!(
                    "Its renewal is applied for: <a href=\"/permits/applications/{pending}\">\
                     application {pending}</a>."
                )
            } else if found["at_time"].as_u64().unwrap_or(0) < opens {
                format!("Its holder may apply to renew it from {}.", time(opens))
            } else {
                return format!(
                    "<h2>Renewal</h2><p>Its holder may apply to renew it until {u}.</p>\
                     <p id=\"licence-renew\" hidden data-holder=\"{holder}\">\
                     <a href=\"/permits/types/{t}?renews={number}#apply\">\
                     Apply to renew licence {number}</a></p>",
                    u = time(until),
                    holder = esc(found["holder"].as_str().unwrap_or("")),
                    t = url_segment(permit_type),
                );
            }
        }
        ("valid", Some(_)) => "Its permit type has no renewal: a new application is needed.".into(),
        ("valid", None) => "It does not expire.".into(),
        _ => "It cannot be renewed now.".into(),
    };
    format!("<h2>Renewal</h2><p>{words}</p>")
}

/// `?permit_type=&status=&cursor=`.
#[derive(serde::Deserialize, Default)]
pub struct RegisterQuery {
    permit_type: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
}

/// `/permits/register`: the public register, newest first, by type and status.
async fn register_page(
    State(site): State<Site>,
    Query(query): Query<RegisterQuery>,
) -> Result<Html<String>, PageError> {
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let permit_type = nonempty(query.permit_type);
    let status = nonempty(query.status);
    let page = view(
        crate::routes::licences(
            State(site.ledger.clone()),
            Query(crate::routes::LicencesQuery {
                permit_type: permit_type.clone(),
                agency: None,
                holder: None,
                status: status.clone(),
            }),
            Query(PageQuery {
                order: None,
                cursor: query.cursor,
                limit: Some(50),
            }),
        )
        .await,
    )?;
    let rows: Vec<Vec<String>> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let n = l["licence"].as_u64().unwrap_or(0);
            vec![
                format!("<a href=\"/permits/licences/{n}\">{n}</a>"),
                esc(l["permit_type"].as_str().unwrap_or("")),
                esc(l["agency"].as_str().unwrap_or("")),
                esc(l["scope"].as_str().unwrap_or("")),
                esc(l["status"].as_str().unwrap_or("")),
                match l["valid_until_ms"].as_u64() {
                    Some(ms) => time(ms),
                    None => "until revoked".into(),
                },
                proof_link(
                    l["proof_bundle"].as_str().unwrap_or(""),
                    &format!("licence {n}"),
                ),
            ]
        })
        .collect();
    let types = view(
        crate::routes::types(
            State(site.ledger.clone()),
            Query(crate::routes::TypesQuery { agency: None }),
        )
        .await,
    )
    .unwrap_or_default();
    let mut type_options = String::from("<option value=\"\">Any</option>");
    for t in types["types"].as_array().into_iter().flatten() {
        if t["public_register"] != true {
            continue;
        }
        let id = t["permit_type"].as_str().unwrap_or("");
        let _ = write!(
            type_options,
            "<option value=\"{v}\"{s}>{l}</option>",
            v = esc(id),
            s = if permit_type.as_deref() == Some(id) {
                " selected"
            } else {
                ""
            },
            l = esc(t["title"].as_str().unwrap_or(id))
        );
    }
    let mut status_options = String::from("<option value=\"\">Any</option>");
    for s in ["valid", "suspended", "revoked", "expired"] {
        let _ = write!(
            status_options,
            "<option value=\"{s}\"{sel}>{s}</option>",
            sel = if status.as_deref() == Some(s) {
                " selected"
            } else {
                ""
            }
        );
    }
    let next = match page["next"].as_str() {
        Some(cursor) => format!(
            "<p class=\"pager\"><a rel=\"next\" href=\"/permits/register?permit_type={}&amp;status={}&amp;cursor={}\">Older licences</a></p>",
            url_segment(permit_type.as_deref().unwrap_or("")),
            url_segment(status.as_deref().unwrap_or("")),
            url_segment(cursor)
        ),
        None => String::new(),
    };
    let body = format!(
        "<h1>Public register of licences</h1>\
         <p class=\"lead\">Licences of the permit types whose register is public, newest first. \
         Each has a proof bundle that checks offline; a licence's page says where it stands at \
         the latest block. Personal permits are not on this register.</p>\
         <form method=\"get\" action=\"/permits/register\" class=\"filters\">\
         <div class=\"field\"><label for=\"register-type\">Permit</label>\
         <select id=\"register-type\" name=\"permit_type\">{type_options}</select></div>\
         <div class=\"field\"><label for=\"register-status\">Status</label>\
         <select id=\"register-status\" name=\"status\">{status_options}</select></div>\
         <button type=\"submit\">Show</button></form>{list}{next}",
        list = if rows.is_empty() {
            "<p>No licence matches.</p>".to_string()
        } else {
            table(
                "Licences, newest first",
                &[
                    "Licence",
                    "Permit",
                    "Agency",
                    "Scope",
                    "Status",
                    "Valid until",
                    "Proof",
                ],
                &rows,
            )
        },
    );
    Ok(site.render(Page {
        title: "Public register",
        section: "/permits",
        body,
        scripts: &[],
    }))
}

/// `/permits/statistics`: every type's figures.
async fn statistics_page(State(site): State<Site>) -> Result<Html<String>, PageError> {
    let list = view(
        crate::routes::types(
            State(site.ledger.clone()),
            Query(crate::routes::TypesQuery { agency: None }),
        )
        .await,
    )?;
    let mut sections = String::new();
    for t in list["types"].as_array().into_iter().flatten() {
        let id = t["permit_type"].as_str().unwrap_or("");
        let _ = write!(
            sections,
            "<section><h2><a href=\"/permits/types/{}\">{}</a> ({})</h2>{}</section>",
            url_segment(id),
            esc(t["title"].as_str().unwrap_or(id)),
            esc(t["agency"].as_str().unwrap_or("")),
            figures_section(&site, id)
                .await
                .replacen("<h2 id=\"figures\">Figures</h2>", "", 1)
        );
    }
    let body = format!(
        "<h1>Permits: how they are handled</h1>\
         <p class=\"lead\">For each permit type: how many applications, how many were granted \
         and refused, how often a statutory deadline was missed, and how long each step takes. \
         The ledger computes them from its own records as it goes; each has a proof.</p>{sections}"
    );
    Ok(site.render(Page {
        title: "Permit statistics",
        section: "/permits",
        body,
        scripts: &[],
    }))
}

/// The agency's applications standing so (of `permit_type` at `step`, if given), the longest
/// waiting first (the first [`QUEUE_MAX`]); `None` if the read model could not be read.
async fn waiting(
    site: &Site,
    agency: &str,
    status: &str,
    at: Option<(&str, &str)>,
) -> Option<Vec<Value>> {
    let page = view(
        crate::routes::applications(
            State(site.ledger.clone()),
            Query(crate::routes::ApplicationsQuery {
                agency: Some(agency.into()),
                step: at.map(|(_, step)| step.to_string()),
                status: Some(status.into()),
                permit_type: at.map(|(permit_type, _)| permit_type.to_string()),
                ..Default::default()
            }),
            Query(PageQuery {
                order: Some(civitas_kit::index::query::Order::Oldest),
                cursor: None,
                limit: Some(QUEUE_MAX),
            }),
        )
        .await,
    )
    .ok()?;
    Some(page["items"].as_array().cloned().unwrap_or_default())
}

/// Most applications the console lists per queue (the longest waiting).
const QUEUE_MAX: u32 = 50;

/// `items` as a queue's table.
fn queue_table(caption: &str, items: &[&Value]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|a| {
            let n = a["application"].as_u64().unwrap_or(0);
            let mut flags = Vec::new();
            if a["overdue"] == true {
                flags.push("overdue");
            }
            if a["escalated"] == true {
                flags.push("escalated to the supervisor");
            }
            vec![
                format!("<a href=\"/permits/applications/{n}\">{n}</a>"),
                esc(a["permit_type"].as_str().unwrap_or("")),
                esc(a["step"].as_str().unwrap_or("")),
                time(a["since_ms"].as_u64().unwrap_or(0)),
                match a["deadline_ms"].as_u64() {
                    Some(ms) => time(ms),
                    None => "—".into(),
                },
                if flags.is_empty() {
                    "on time".into()
                } else {
                    format!("<strong>{}</strong>", flags.join(", "))
                },
            ]
        })
        .collect();
    table(
        caption,
        &[
            "Application",
            "Permit",
            "Step",
            "Waiting since",
            "Deadline",
            "Standing",
        ],
        &rows,
    )
}

/// The agency console's part: the applications waiting at each step of the agency's types,
/// the longest waiting first, then those waiting for a fee, for an applicant's answer, and
/// appeals. One list per step (an agency has at most [`crate::index::TYPES_MAX`] types listed);
/// a list the read model cannot give now says so.
pub async fn console_page(site: &Site, agency: &str) -> String {
    let Ok(list) = view(
        crate::routes::types(
            State(site.ledger.clone()),
            Query(crate::routes::TypesQuery {
                agency: Some(agency.into()),
            }),
        )
        .await,
    ) else {
        return String::new();
    };
    let types = list["types"].as_array().cloned().unwrap_or_default();
    if types.is_empty() {
        return String::new();
    }
    let unreadable = |caption: &str| {
        notice(
            "warn",
            &format!(
                "{}: the node's read model could not be read just now; reload the page.",
                esc(caption)
            ),
        )
    };
    let mut out = format!(
        "<h2 id=\"permit-queue\">Permit applications</h2><p>Each step's queue, the longest \
         waiting first (the first {QUEUE_MAX} of each); an application's page has its \
         timeline. Act on one with the forms above, by its number.</p>"
    );
    for t in &types {
        let id = t["permit_type"].as_str().unwrap_or("");
        let Ok(found) =
            view(crate::routes::permit_type(State(site.ledger.clone()), Path(id.into())).await)
        else {
            continue;
        };
        for step in found["definition"]["steps"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let name = step["name"].as_str().unwrap_or("");
            let caption = format!(
                "{}: {} ({}), oldest first",
                t["title"].as_str().unwrap_or(id),
                step["title"].as_str().unwrap_or(name),
                step["role"].as_str().unwrap_or("")
            );
            let Some(items) = waiting(site, agency, "in_progress", Some((id, name))).await else {
                out.push_str(&unreadable(&caption));
                continue;
            };
            let here: Vec<&Value> = items.iter().collect();
            if here.is_empty() {
                let _ = write!(out, "<p>{}: none waiting.</p>", esc(&caption));
            } else {
                out.push_str(&queue_table(&caption, &here));
            }
        }
    }
    for (status, caption) in [
        (
            "awaiting_fee",
            "Waiting for the fee (cashiers), oldest first",
        ),
        (
            "awaiting_applicant",
            "Waiting for the applicant's answer, oldest first",
        ),
        ("appealed", "Appeals to decide (supervisors), oldest first"),
    ] {
        match waiting(site, agency, status, None).await {
            Some(items) if items.is_empty() => {}
            Some(items) => out.push_str(&queue_table(caption, &items.iter().collect::<Vec<_>>())),
            None => out.push_str(&unreadable(caption)),
        }
    }
    out
}

/// What the account page shows a signed-in person: their applications and licences.
pub async fn account_page(site: &Site, account: &AccountId) -> String {
    let Ok(page) = view(
        crate::routes::applications(
            State(site.ledger.clone()),
            Query(crate::routes::ApplicationsQuery {
                applicant: Some(account.to_hex()),
                ..Default::default()
            }),
            Query(PageQuery {
                order: None,
                cursor: None,
                limit: Some(50),
            }),
        )
        .await,
    ) else {
        return String::new();
    };
    let rows: Vec<Vec<String>> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let n = a["application"].as_u64().unwrap_or(0);
            vec![
                format!("<a href=\"/permits/applications/{n}\">{n}</a>"),
                esc(a["permit_type"].as_str().unwrap_or("")),
                esc(a["step"].as_str().unwrap_or("")),
                esc(match a["outcome"].as_str() {
                    Some(outcome) if a["status"] == "decided" => outcome_words(outcome),
                    _ => standing(a["status"].as_str().unwrap_or("")),
                }),
                match a["deadline_ms"].as_u64() {
                    Some(ms) => time(ms),
                    None => "—".into(),
                },
                match a["licence"].as_u64() {
                    Some(l) => format!("<a href=\"/permits/licences/{l}\">licence {l}</a>"),
                    None => "—".into(),
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h2>Your permit applications</h2>{}",
        table(
            "Your applications, newest first",
            &[
                "Application",
                "Permit",
                "Step",
                "Standing",
                "Deadline",
                "Licence"
            ],
            &rows
        )
    )
}

/// The permits' forms in the agency console.
/// The fields and roles the console's forms share.
const APPLICATION: Field = field("application", "Application number", "u64", "", "");
const LICENCE: Field = field("licence", "Licence number", "u64", "", "");
/// A decision's reason is on the public ledger for good: the hint says so every time.
const REASON: Field = field(
    "reason",
    "Reason",
    "text",
    "public and permanent: never a person's name or details",
    "",
);
/// The sample types' supervisor roles (who decides appeals and changes licences).
const SUPERVISORS: &[&str] = &["licensing-head", "planning-head"];

pub const ACTIONS: &[Action] = &[
    Action {
        module: "permits",
        op: "record_fee",
        title: "Record an application's fee as paid",
        who: "a cashier of the agency",
        roles: &["cashier"],
        fields: &[
            APPLICATION,
            field(
                "reference",
                "Payment reference",
                "text",
                "the bank's or payment provider's; never a person's name",
                "",
            ),
        ],
    },
    Action {
        module: "permits",
        op: "complete_step",
        title: "Complete an application's step",
        who: "an official with the step's role",
        roles: &["clerk", "inspector"],
        fields: &[
            APPLICATION,
            field("step", "Step", "text", "its name, such as completeness", ""),
            REASON,
        ],
    },
    Action {
        module: "permits",
        op: "request_information",
        title: "Ask an applicant for more",
        who: "an official with the step's role; the step's clock stops until they answer",
        roles: &["clerk", "inspector"],
        fields: &[
            APPLICATION,
            field("step", "Step", "text", "the current step's name", ""),
            field(
                "request",
                "What is needed",
                "text",
                "public: name documents, never a person's details",
                "",
            ),
        ],
    },
    Action {
        module: "permits",
        op: "decide",
        title: "Decide an application",
        who: "an official with the last step's role",
        roles: &["licensing", "planner"],
        fields: &[
            APPLICATION,
            field(
                "step",
                "Last step",
                "text",
                "its name, such as decision",
                "decision",
            ),
            field(
                "approve",
                "Grant the licence",
                "yesno",
                "No refuses it; the type's appeal route is given with the refusal",
                "",
            ),
            field(
                "scope",
                "Scope of the licence",
                "text",
                "when granting: what it permits and where (public)",
                "",
            )
            .optional(),
            REASON,
        ],
    },
    Action {
        module: "permits",
        op: "decide_appeal",
        title: "Decide an appeal",
        who: "an official with the type's supervisor role",
        roles: SUPERVISORS,
        fields: &[
            APPLICATION,
            field(
                "upheld",
                "Uphold the appeal (grant the licence)",
                "yesno",
                "No dismisses it",
                "",
            ),
            field(
                "scope",
                "Scope of the licence",
                "text",
                "when upholding: what it permits and where (public)",
                "",
            )
            .optional(),
            REASON,
        ],
    },
    Action {
        module: "permits",
        op: "change_licence",
        title: "Suspend, reinstate or revoke a licence",
        who: "an official with the type's supervisor role",
        roles: SUPERVISORS,
        fields: &[
            LICENCE,
            field(
                "action",
                "Action",
                "text",
                "suspend, reinstate or revoke",
                "",
            ),
            REASON,
        ],
    },
    Action {
        module: "permits",
        op: "amend",
        title: "Amend what a licence permits",
        who: "an official with the type's supervisor role",
        roles: SUPERVISORS,
        fields: &[
            LICENCE,
            field(
                "scope",
                "New scope",
                "text",
                "what it permits and where; public on a public licence",
                "",
            ),
            REASON,
        ],
    },
    Action {
        module: "permits",
        op: "retire_type",
        title: "Retire a permit type",
        who: "an admin of the agency; applications already filed go on, no new ones are taken",
        roles: &["admin"],
        fields: &[field(
            "permit_type",
            "Permit type",
            "text",
            "its id, such as business-licence",
            "",
        )],
    },
];
