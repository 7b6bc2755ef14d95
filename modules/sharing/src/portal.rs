//! Sharing on the portal: the citizen's "My data" page, and the console's forms for the
//! officials' side (asking another agency for a record, recording a read, erasing).
//!
//! "My data" is rendered here with the vaults the ledger names; the browser then asks each
//! vault, with a read signed by the person's key, for what it holds about them, opens it with
//! their encryption key and checks it against the ledger (`assets/mydata.js` in the API crate).
//! The node never sees the records, even sealed: the page's content security policy lets it
//! reach exactly the vaults the ledger names, and nothing else.

use crate::index::Direction;
use crate::state::{Vault, vault_key};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use civitas_kit::http::PageQuery;
use civitas_kit::portal::html::{Page, esc, notice, short_hex, table, time, tx_link};
use civitas_kit::portal::{Action, Field, PageError, Section, Site, field};
use std::fmt::Write as _;

/// The citizen's page of the section.
pub const SECTIONS: &[Section] = &[Section::with_card(
    "/my-data",
    "My data",
    "Your personal data",
    "What each agency's vault holds about you, opened in your browser with your key; who read \
     or received it, for what and on which legal basis; your consents; erasure.",
)];

/// The section's pages.
pub fn pages() -> axum::Router<Site> {
    axum::Router::new().route("/my-data", get(my_data))
}

/// Purposes are codes; the hint says so, never free text about a person.
const PURPOSE_HINT: &str = "a code governance adopted, such as permit-application";
/// A legal basis is a policy id (`GET /v1/sharing/bases`).
const BASIS_HINT: &str = "a legal basis in force: the id of a policy listed at /v1/sharing/bases";

/// The fields the officials' forms share.
const RECORD: Field = field(
    "record",
    "Record id",
    "hex32",
    "64 hexadecimal characters",
    "",
);
const PURPOSE: Field = field("purpose", "Purpose", "text", PURPOSE_HINT, "");
const BASIS: Field = field("basis", "Legal basis", "text", BASIS_HINT, "");

/// The console's forms for sharing, for officials.
pub const ACTIONS: &[Action] = &[
    Action {
        module: "sharing",
        op: "request",
        title: "Ask another agency for a person's record",
        who: "an official of the receiving agency, citing a legal basis or the person's consent",
        roles: &[],
        fields: &[
            RECORD,
            PURPOSE,
            BASIS,
            field(
                "consent",
                "Consent number",
                "u64",
                "when the basis is the person's consent",
                "",
            )
            .optional(),
        ],
    },
    Action {
        module: "sharing",
        op: "access",
        title: "Record a read of a person's record",
        who: "an official of the holding agency, or of one given a copy; the vault then serves it once",
        roles: &[],
        fields: &[RECORD, PURPOSE, BASIS],
    },
    Action {
        module: "sharing",
        op: "erase",
        title: "Erase a person's record",
        who: "a records officer or admin of the holding agency (its vault and every copy then destroy the key)",
        roles: &["records", "admin"],
        fields: &[RECORD, BASIS],
    },
];

/// Shares listed in the console, each way.
const CONSOLE_SHARES: u32 = 20;

/// The console's part: the records other agencies gave the official's agency (its requests
/// out, granted) and the records it gave them (requests to it), newest first.
pub async fn console_page(site: &Site, agency: &str) -> String {
    let mut html = String::from(
        "<h2>Personal data shared</h2><p>Every share is decided on the ledger under a legal \
         basis or the person's consent, and shows in the record's log the person sees. Records \
         are opaque ids; the data is in the vaults. Records officers list the erasure requests \
         people made with <code>civitas vault erasure-requests --key KEY</code>.</p>",
    );
    for (direction, caption, other) in [
        (
            Direction::In,
            "Records other agencies gave yours (your requests)",
            "Holder",
        ),
        (
            Direction::Out,
            "Your agency's records given to others (requests to you)",
            "Recipient",
        ),
    ] {
        let page = PageQuery {
            limit: Some(CONSOLE_SHARES),
            ..PageQuery::default()
        };
        match crate::routes::shares_of(&site.ledger, agency, direction, &page).await {
            Ok(axum::Json(page)) => {
                let rows: Vec<Vec<String>> = page
                    .items
                    .iter()
                    .map(|e| {
                        let party = match direction {
                            Direction::In => e.holder.clone().unwrap_or_default(),
                            Direction::Out => e.agency.clone(),
                        };
                        vec![
                            time(e.timestamp_ms),
                            format!(
                                "<a href=\"/v1/sharing/records/{id}/log\">{}</a>",
                                short_hex(&e.record),
                                id = esc(&e.record)
                            ),
                            esc(&party),
                            short_hex(&e.official),
                            esc(e.purpose.as_deref().unwrap_or("")),
                            esc(e.basis.as_deref().unwrap_or("")),
                            e.consent.map(|c| c.to_string()).unwrap_or_default(),
                            tx_link(&e.tx),
                        ]
                    })
                    .collect();
                html.push_str(&table(
                    caption,
                    &[
                        "When",
                        "Record",
                        other,
                        "Asked by",
                        "Purpose",
                        "Legal basis",
                        "Consent",
                        "Transaction",
                    ],
                    &rows,
                ));
            }
            Err(e) => html.push_str(&notice(
                "info",
                &format!(
                    "{caption}: cannot be listed by this node now ({}).",
                    esc(&e.message)
                ),
            )),
        }
    }
    html
}

/// The vaults the ledger names, with their agency's name, in the agencies' order.
async fn vaults(
    site: &Site,
    agencies: &[civitas_identity::state::Agency],
) -> Result<Vec<(String, String, Vault)>, PageError> {
    let mut out = Vec::new();
    for agency in agencies {
        if let Some(vault) = site.ledger.value::<Vault>(vault_key(&agency.id)).await? {
            out.push((agency.id.clone(), agency.name.clone(), vault));
        }
    }
    Ok(out)
}

/// The origin (`scheme://host[:port]`) of a vault's address, for the page's content security
/// policy; `None` for an address that is not plain `http(s)://host[:port][/path]` (which the
/// page then does not reach).
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    // The page appends paths to the address: one with a query or fragment is not reached.
    if (scheme != "http" && scheme != "https") || rest.contains(['?', '#']) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let safe = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    safe.then(|| format!("{scheme}://{authority}"))
}

async fn my_data(State(site): State<Site>) -> Result<Response, PageError> {
    let agencies = civitas_governance::routes::agencies_in_force(&site.ledger).await?;
    let vaults = vaults(&site, &agencies).await?;
    let mut list = String::new();
    let mut origins = Vec::new();
    for (id, name, vault) in &vaults {
        let Some(origin) = origin(&vault.url) else {
            continue;
        };
        if !origins.contains(&origin) {
            origins.push(origin);
        }
        let _ = write!(
            list,
            "<li data-agency=\"{id}\" data-url=\"{url}\">{name} (<code>{id}</code>): vault at \
             <code>{url}</code></li>",
            id = esc(id),
            name = esc(name),
            url = esc(&vault.url),
        );
    }
    let vault_section = if list.is_empty() {
        notice(
            "info",
            "No agency has named a vault on the ledger yet, so no agency holds personal data \
             here.",
        )
    } else {
        format!("<ul id=\"vaults\">{list}</ul>")
    };
    let mut recipients = String::new();
    for agency in &agencies {
        let _ = write!(
            recipients,
            "<option value=\"{id}\">{name} ({id})</option>",
            id = esc(&agency.id),
            name = esc(&agency.name)
        );
    }
    let body = format!(
        "<h1>My data</h1>\
         <p class=\"lead\">What the agencies hold about you is in their vaults, encrypted, never \
         on the ledger. This page asks each vault for your records with a request your key signs \
         in this browser, opens them here with your encryption key and checks each against the \
         commitment on the ledger. Nothing opened here leaves this browser.</p>\
         <h2>Vaults</h2>{vault_section}\
         <p><button type=\"button\" id=\"open-records\">Open my records</button> \
         <span id=\"download\"></span></p>\
         <div id=\"records-status\" role=\"status\" aria-live=\"polite\"></div>\
         <div id=\"records\"></div><div id=\"watch\"></div>\
         <h2>Consents</h2>\
         <p>An agency that needs one of your records for a service can ask its holder for it on \
         your consent: for one purpose, for a number of days, until you withdraw it. Giving a \
         consent shows on the ledger that the record is about you (you sign it).</p>\
         <form id=\"consent-form\" hidden novalidate>\
         <div class=\"field\"><label for=\"consent-record\">Record</label>\
         <select id=\"consent-record\"></select></div>\
         <div class=\"field\"><label for=\"consent-recipient\">Agency that may receive it</label>\
         <select id=\"consent-recipient\" aria-describedby=\"consent-recipient-error\">{recipients}</select>\
         <p class=\"field-error\" id=\"consent-recipient-error\"></p></div>\
         <div class=\"field\"><label for=\"consent-purpose\">Purpose</label>\
         <input id=\"consent-purpose\" autocomplete=\"off\" aria-describedby=\"consent-purpose-hint consent-purpose-error\">\
         <p class=\"hint\" id=\"consent-purpose-hint\">{purpose_hint}</p>\
         <p class=\"field-error\" id=\"consent-purpose-error\"></p></div>\
         <div class=\"field\"><label for=\"consent-days\">For how many days</label>\
         <input id=\"consent-days\" type=\"number\" min=\"1\" max=\"366\" value=\"30\" aria-describedby=\"consent-days-error\">\
         <p class=\"field-error\" id=\"consent-days-error\"></p></div>\
         <button type=\"submit\">Sign and give consent</button>\
         <div class=\"result\" role=\"status\" aria-live=\"polite\"></div></form>\
         <form id=\"revoke-form\" novalidate>\
         <div class=\"field\"><label for=\"revoke-consent\">Withdraw consent number</label>\
         <input id=\"revoke-consent\" inputmode=\"numeric\" autocomplete=\"off\" aria-describedby=\"revoke-consent-error\">\
         <p class=\"field-error\" id=\"revoke-consent-error\"></p></div>\
         <button type=\"submit\" class=\"secondary\">Sign and withdraw</button>\
         <div class=\"result\" role=\"status\" aria-live=\"polite\"></div></form>\
         <h2>Erasure</h2>\
         <p>Each record you can open has a button to ask its agency to erase it. The request \
         stays with that agency's vault (not on the ledger); its records officers decide on it, \
         and an erasure shows in the record's log. Erasing destroys every copy of the record's \
         key, so nothing left can be opened.</p>",
        purpose_hint = esc(PURPOSE_HINT),
    );
    let mut response = site
        .render(Page {
            title: "My data",
            section: "/my-data",
            body,
            scripts: &["mydata.js"],
        })
        .into_response();
    // The site's policy, with the vaults the ledger names as the only other places the page
    // may connect to.
    let connect = std::iter::once("'self'".to_string())
        .chain(origins)
        .collect::<Vec<_>>()
        .join(" ");
    let policy = civitas_kit::portal::content_security_policy(&connect);
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn a_vault_origin_is_scheme_host_and_port_only() {
        assert_eq!(
            origin("http://127.0.0.1:7300").as_deref(),
            Some("http://127.0.0.1:7300")
        );
        assert_eq!(
            origin("https://vault.health.example/v/").as_deref(),
            Some("https://vault.health.example")
        );
        // Nothing that could widen or break the policy.
        assert_eq!(origin("https://a.example; script-src *"), None);
        assert_eq!(origin("javascript:alert(1)"), None);
        assert_eq!(origin("ftp://a.example"), None);
        assert_eq!(origin("https://"), None);
        assert_eq!(origin("https://user@host"), None);
        assert_eq!(origin("https://a.example/v?x=1"), None);
        assert_eq!(origin("https://a.example#top"), None);
    }
}
