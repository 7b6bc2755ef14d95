//! API errors: JSON with a stable code, a message a person can act on, and a fitting status.
//! The type is the module kit's ([`civitas_kit::http::ApiError`]), so that a module's routes
//! answer errors exactly as the node's own do.

use axum::http::StatusCode;
use civitas_consensus::gossip::SubmitError;
pub use civitas_kit::http::{ApiError, ErrorBody, ErrorDetail};

/// The answer to a transaction the node did not admit.
pub fn refused(error: SubmitError) -> ApiError {
    let status = match &error {
        SubmitError::Invalid(_) | SubmitError::Forged(_) => StatusCode::BAD_REQUEST,
        SubmitError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        SubmitError::Duplicate(_) => StatusCode::CONFLICT,
        SubmitError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
        SubmitError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError::new(status, error.code(), error.to_string())
}
