//! The register's routes: the notices, newest first, and one notice with the address of its
//! proof bundle.

use crate::state::{Notice, NoticesConfig, config_key, notice_key};
use axum::Json;
use axum::extract::{Path, Query, State};
use civitas_kit::http::{
    ApiError, ErrorBody, ListQuery, must, newest_first, parse_number, proof_url,
};
use civitas_kit::ledger::Ledger;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The register's routes.
pub fn routes() -> OpenApiRouter<Ledger> {
    civitas_kit::http::router(
        "notices",
        "The public register of official notices: bylaws, decisions, hearings, consultations \
         and closures, each with the SHA-256 of its text.",
    )
    .routes(routes!(notices))
    .routes(routes!(notice))
}

/// A notice with where its proof bundle is served.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NoticeRecord {
    /// The notice.
    #[serde(flatten)]
    pub notice: Notice,
    /// The address of its proof bundle, which checks offline against the genesis.
    pub proof_bundle: String,
}

/// A page of the register, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NoticeList {
    /// The notices, newest first.
    pub notices: Vec<NoticeRecord>,
    /// Ask again with `before` set to this for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

fn record(ledger: &Ledger, notice: Notice) -> NoticeRecord {
    NoticeRecord {
        proof_bundle: proof_url(ledger, &notice_key(notice.id)),
        notice,
    }
}

#[utoipa::path(
    get,
    path = "/v1/notices",
    operation_id = "listNotices",
    tag = "notices",
    summary = "Official notices, newest first",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of notices, each with its proof bundle address.", body = NoticeList),
    )
)]
pub async fn notices(
    State(ledger): State<Ledger>,
    Query(query): Query<ListQuery>,
) -> Result<Json<NoticeList>, ApiError> {
    let config: NoticesConfig = ledger.value(config_key()).await?.unwrap_or_default();
    let (notices, next_before) =
        newest_first::<Notice>(&ledger, &query, config.next_notice, notice_key).await?;
    Ok(Json(NoticeList {
        notices: notices.into_iter().map(|n| record(&ledger, n)).collect(),
        next_before,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/notices/{id}",
    operation_id = "getNotice",
    tag = "notices",
    summary = "An official notice, published or withdrawn",
    params(
        ("id" = u64, Path, description = "The notice's number."),
    ),
    responses(
        (status = 200, description = "The notice, with its proof bundle address.", body = NoticeRecord),
        (status = 400, description = "Not a number.", body = ErrorBody),
        (status = 404, description = "No such notice.", body = ErrorBody),
    )
)]
pub async fn notice(
    State(ledger): State<Ledger>,
    Path(id): Path<String>,
) -> Result<Json<NoticeRecord>, ApiError> {
    let id = parse_number(&id, "the notice number")?;
    let notice: Notice = must(
        &ledger,
        notice_key(id),
        format!("notice {id} does not exist"),
    )
    .await?;
    Ok(Json(record(&ledger, notice)))
}
