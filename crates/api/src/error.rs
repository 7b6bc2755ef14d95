//! API errors: JSON with a stable code, a message a person can act on, and a fitting status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use civitas_consensus::gossip::SubmitError;
use civitas_consensus::service::QueryError;
use serde::Serialize;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The code and message of an error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, such as `not_found` or `bad_nonce`.
    pub code: String,
    /// What happened and what to do next, for a person.
    pub message: String,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// 400 with code `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 with code `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 with code `internal`: `detail` (what failed inside the node) goes to the node's log
    /// for its operator; the client is told only that something failed.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "a request failed inside the node");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the node could not read its own records; its operator can find why in the node's \
             log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = axum::Json(ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        })
        .into_response();
        *response.status_mut() = self.status;
        if self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::SERVICE_UNAVAILABLE
        {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        let status = match &error {
            SubmitError::Invalid(_) | SubmitError::Forged(_) => StatusCode::BAD_REQUEST,
            SubmitError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            SubmitError::Duplicate(_) => StatusCode::CONFLICT,
            SubmitError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            SubmitError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self::new(status, error.code(), error.to_string())
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            QueryError::Unavailable(m) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m)
            }
            // What failed inside the node is for its operator, not for whoever asked.
            QueryError::Internal(detail) => Self::internal(detail),
            QueryError::Busy => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "overloaded",
                QueryError::Busy.to_string(),
            ),
        }
    }
}
