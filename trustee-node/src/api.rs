//! HTTP error answers: [`escrow_core::api::ErrorBody`], `{ "error": { "code": "...", "message": "..." } }`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use escrow_core::api::{ErrorBody, ErrorCode};

/// An error answer. 4xx: the client's input; 5xx: the node's fault (logged with tracing).
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable kebab-case code.
    pub code: ErrorCode,
    /// A sentence for people.
    pub message: String,
    /// The log entry that recorded this refusal, if it was logged.
    pub leaf_index: Option<u64>,
}

impl ApiError {
    /// Any status.
    pub fn new(status: StatusCode, code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            leaf_index: None,
        }
    }
    /// 400.
    pub fn bad_request(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 503 with a code.
    pub fn unavailable(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
    /// 500; the cause is logged, the client sees a generic message.
    pub fn internal(what: &str, cause: impl core::fmt::Display) -> Self {
        tracing::error!(%cause, "{what}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            format!("internal error while {what}; see the node's log"),
        )
    }
    /// Attach the log position.
    pub fn logged_at(mut self, leaf_index: u64) -> Self {
        self.leaf_index = Some(leaf_index);
        self
    }
}

/// The JSON body of an error.
pub fn error_json(code: ErrorCode, message: &str, leaf_index: Option<u64>) -> String {
    ErrorBody::new(code, message, leaf_index).to_json()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = %self.status, code = %self.code, "{}", self.message);
        }
        let body = error_json(self.code, &self.message, self.leaf_index);
        let mut r = (self.status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    }
}

/// The code used for an error status produced outside our handlers (router, layers).
pub fn code_for_status(s: StatusCode) -> ErrorCode {
    ErrorCode::for_status(s.as_u16())
}
