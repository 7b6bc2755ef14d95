//! A module's part of the portal: its pages, its sections in the navigation (and card on the
//! home page), the forms its instructions get in the agency console, and what it shows a
//! signed-in person on their account page.
//!
//! Pages are rendered on the server from the same JSON views the module's routes serve, so
//! what a person sees is what an integrator gets. Everything from the ledger or the request
//! goes through [`html::esc`]; pages carry no inline script or style.

pub mod charts;
pub mod html;

/// The site's content security policy, whose `connect-src` is `connect` (`'self'` on every page
/// but one that reaches more than its node: the citizen's "My data" adds the vaults the ledger
/// names). No inline script or style, no framing, no plugins.
pub fn content_security_policy(connect: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

use crate::http::ApiError;
use crate::ledger::{Ledger, QueryError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use html::{Page, esc};

/// A section of the site: a path in the navigation, and the card on the home page that leads
/// to it.
#[derive(Clone, Copy, Debug)]
pub struct Section {
    /// Where it starts, such as `/spending`.
    pub path: &'static str,
    /// Its name in the navigation.
    pub label: &'static str,
    /// Its card on the home page: a heading and a sentence saying what a visitor finds there
    /// (`None`: no card).
    pub card: Option<(&'static str, &'static str)>,
}

impl Section {
    /// A section without a card on the home page.
    pub const fn new(path: &'static str, label: &'static str) -> Self {
        Self {
            path,
            label,
            card: None,
        }
    }

    /// A section with a card on the home page.
    pub const fn with_card(
        path: &'static str,
        label: &'static str,
        heading: &'static str,
        text: &'static str,
    ) -> Self {
        Self {
            path,
            label,
            card: Some((heading, text)),
        }
    }
}

/// What a module's pages read and render with: the ledger, and the site's sections (for the
/// navigation every page carries). Cheap to clone.
#[derive(Clone)]
pub struct Site {
    /// The ledger, as the module's routes read it.
    pub ledger: Ledger,
    /// Every section, in navigation order.
    pub sections: &'static [Section],
}

impl Site {
    /// `page` as a whole document for this chain, with the site's navigation.
    pub fn render(&self, page: Page<'_>) -> Html<String> {
        Html(page.render(&self.ledger.genesis().chain_id, self.sections))
    }
}

/// A page that could not be shown: a status, a heading and what to do. Its answer carries the
/// three as an extension, and [`error_pages`] renders them in the site's layout.
#[derive(Debug, Clone)]
pub struct PageError {
    /// HTTP status.
    pub status: StatusCode,
    /// The page's heading.
    pub title: String,
    /// What happened and what to do, for a person.
    pub message: String,
}

impl PageError {
    /// An error page with `status`, `title` and `message`.
    pub fn new(status: StatusCode, title: &str, message: &str) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
        }
    }

    /// 404 saying `message`.
    pub fn not_found(message: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", message)
    }

    /// The page's `<main>` content.
    fn body(&self) -> String {
        format!(
            "<h1>{}</h1><p class=\"lead\">{}</p><p><a href=\"/\">Go to the home page</a> or \
             <a href=\"/explorer\">the explorer</a>.</p>",
            esc(&self.title),
            esc(&self.message)
        )
    }
}

impl From<QueryError> for PageError {
    fn from(error: QueryError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        let title = match error.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Not a valid address",
            StatusCode::SERVICE_UNAVAILABLE => "Not available yet",
            _ => "Something went wrong",
        };
        Self::new(error.status, title, &error.message)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        // The page itself is rendered by `error_pages`, which knows the site; without it, the
        // layout with no navigation.
        let page = Page {
            title: &self.title,
            section: "",
            body: self.body(),
            scripts: &[],
        };
        let mut response = Html(page.render("", &[])).into_response();
        *response.status_mut() = self.status;
        response.extensions_mut().insert(self);
        response
    }
}

/// Renders every [`PageError`] answer in the site's layout, with its navigation and chain.
/// Install with `axum::middleware::map_response_with_state(site, error_pages)`.
pub async fn error_pages(State(site): State<Site>, response: Response) -> Response {
    let Some(error) = response.extensions().get::<PageError>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    parts.extensions.remove::<PageError>();
    let Html(page) = site.render(Page {
        title: &error.title,
        section: "",
        body: error.body(),
        scripts: &[],
    });
    // The old body's length no longer holds.
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(page))
}

/// A field of a console form.
pub struct Field {
    /// Where the value goes in the instruction JSON (`amount.amount`).
    pub path: &'static str,
    /// Its label.
    pub label: &'static str,
    /// How the browser reads and checks it: `text`, `hex32`, `u64`, `amount`, `currency`,
    /// `list`, `hexlist`, `bytes`, `criteria`, `datetime`, `filehash`, `json`, `yesno` (a
    /// choice of yes or no: `true` or `false`).
    pub kind: &'static str,
    /// A hint under the field.
    pub hint: &'static str,
    /// Pre-filled value (`{agency}` is the official's agency).
    pub value: &'static str,
    /// Whether it may be left empty: the instruction then goes without it (an `Option`
    /// field of the instruction, absent).
    pub optional: bool,
}

impl Field {
    /// The same field, which may be left empty.
    pub const fn optional(self) -> Self {
        Self {
            optional: true,
            ..self
        }
    }
}

/// A field of a console form: where its value goes, its label, kind, hint and pre-filled value.
pub const fn field(
    path: &'static str,
    label: &'static str,
    kind: &'static str,
    hint: &'static str,
    value: &'static str,
) -> Field {
    Field {
        path,
        label,
        kind,
        hint,
        value,
        optional: false,
    }
}

/// An instruction's form in the agency console: the browser builds the instruction from the
/// fields, signs it with the official's key and submits it.
pub struct Action {
    /// The module's name.
    pub module: &'static str,
    /// The instruction's operation (`register_official`).
    pub op: &'static str,
    /// The form's heading.
    pub title: &'static str,
    /// Who may do it, in words.
    pub who: &'static str,
    /// The roles the default policies give this action to (the page lists an official's own
    /// actions first; the ledger's policies decide).
    pub roles: &'static [&'static str],
    /// Its fields.
    pub fields: &'static [Field],
}
