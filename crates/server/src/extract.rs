//! Request extractors whose rejections use the API's error shape and name the field at fault
//! (axum's own answer in plain text).

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Unknown fields are refused (the request types deny them) and named.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                let mime = value.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json")
                    || mime.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is larger than the server accepts (max_body_bytes)",
                )
            } else {
                ApiError::bad_request(format!("could not read the request body: {rejection}"))
            }
        })?;
        // serde would read a struct from a JSON array by position (`[null, null]`); every body
        // of this API is an object, so anything else is refused before it gets that far.
        if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON document into `T`, naming the field at fault when it does not fit.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer
        .end()
        .map_err(|err| ApiError::bad_request(format!("invalid JSON: {err}")))?;
    Ok(value)
}

/// Parses an already-decoded JSON value into `T`, naming the field at fault.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(json_error)
}

fn json_error<E: std::fmt::Display>(err: serde_path_to_error::Error<E>) -> ApiError {
    let parent = err.path().to_string();
    let message = err.inner().to_string();
    // serde names an unknown or missing field only in its message; the path stops at the
    // object that holds it.
    let named = quoted_field(&message, "unknown field `")
        .or_else(|| quoted_field(&message, "missing field `"));
    // For an unknown field the path already ends with it; for a missing one it does not.
    let field = match named {
        Some(name) if parent == name || parent.ends_with(&format!(".{name}")) => parent,
        Some(name) if parent == "." || parent.is_empty() => name.to_owned(),
        Some(name) => format!("{parent}.{name}"),
        None => parent,
    };
    if field == "." || field == "?" || field.is_empty() {
        ApiError::bad_request(message)
    } else {
        ApiError::validation(field, message)
    }
}

fn quoted_field<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let start = message.find(prefix)? + prefix.len();
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// Query parameters, with a rejection in the API's shape.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// Path parameters, with a rejection in the API's shape.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        size: u32,
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse_json::<Outer>(br#"{"name":"x","nmae":"y"}"#).expect_err("unknown");
        assert_eq!(err.field.as_deref(), Some("nmae"));
        let err = parse_json::<Outer>(br#"{"inner":{"size":1}}"#).expect_err("missing");
        assert_eq!(err.field.as_deref(), Some("name"));
        let err =
            parse_json::<Outer>(br#"{"name":"x","inner":{"size":"big"}}"#).expect_err("mistyped");
        assert_eq!(err.field.as_deref(), Some("inner.size"));
        let err = parse_json::<Outer>(br#"{"name":"x","inner":{"sise":1}}"#).expect_err("nested");
        assert_eq!(err.field.as_deref(), Some("inner.sise"));
        let err = parse_json::<Outer>(br#"{"name":"x"} trailing"#).expect_err("trailing");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        let err = parse_json::<Outer>(b"not json").expect_err("syntax");
        assert_eq!((err.status, err.field), (StatusCode::BAD_REQUEST, None));
    }
}
