//! Reading requests in the API's error format, for every crate that serves HTTP: a JSON body
//! extractor whose every rejection answers in it (syntax errors are 400, well-formed JSON of
//! the wrong shape is 422 naming the field, bodies over the limit are 413), the same for
//! query strings, and for uploads the raw body and a file name made safe. A body is one JSON
//! object: serde would otherwise fill a struct from an array of its fields in order (`[null,
//! null]` as an agent's update).

use crate::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::{Deserialize, DeserializeOwned, Deserializer, MapAccess, Visitor};
use std::marker::PhantomData;

pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(0);
        match axum::Json::<Object<T>>::from_request(req, state).await {
            Ok(axum::Json(Object(v))) => Ok(Json(v)),
            Err(rejection) => Err(map_rejection(rejection, limit)),
        }
    }
}

/// `T`, read only from a JSON object.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(Fields(PhantomData))
            .map(Object)
    }
}

/// The configured body limit, placed in request extensions so the message can state it.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

fn map_rejection(rejection: JsonRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::TooLarge(limit);
    }
    match rejection {
        JsonRejection::JsonDataError(e) => {
            let text = e.body_text();
            let (field, message) = split_serde_path(&text);
            ApiError::Validation { field, message }
        }
        JsonRejection::JsonSyntaxError(e) => {
            let text = e.body_text();
            let detail = text.rsplit(": ").next().unwrap_or("").to_owned();
            ApiError::BadRequest(format!("request body is not valid JSON: {detail}"))
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// axum reports data errors as "Failed to deserialize the JSON body into the target type:
/// PATH: MESSAGE at line L column C". Pull the field path out so the client sees which field.
fn split_serde_path(text: &str) -> (String, String) {
    let rest = text
        .split_once("target type: ")
        .map(|(_, r)| r)
        .unwrap_or(text);
    let rest = match rest.rfind(" at line ") {
        Some(i) => &rest[..i],
        None => rest,
    };
    match rest.split_once(": ") {
        Some((path, message)) if !path.contains(' ') && path != "." => {
            (path.to_owned(), message.to_owned())
        }
        Some((_, message)) => (
            backticked(message).unwrap_or_else(|| "body".into()),
            message.to_owned(),
        ),
        None => (
            backticked(rest).unwrap_or_else(|| "body".into()),
            rest.to_owned(),
        ),
    }
}

fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// A query-string extractor answering in the API's error format (422 naming the parameter).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded_from_str(query).map(Query)
    }
}

fn serde_urlencoded_from_str<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| ApiError::BadRequest("malformed query string".into()))?,
    )
    .map(|q| q.0)
    .map_err(|e| {
        let text = e.body_text();
        let message = text
            .split_once("query string: ")
            .map(|(_, m)| m.to_owned())
            .unwrap_or(text);
        let field = backticked(&message).unwrap_or_else(|| "query".into());
        ApiError::Validation { field, message }
    })
}

/// A raw request body, or the error format's answer when it could not be read: 413 past
/// `limit` bytes, 400 for anything else.
pub fn raw_body(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(limit)
        } else {
            ApiError::BadRequest(r.body_text())
        }
    })
}

/// A file name safe to put in a URL path and a `Content-Disposition`: its last path part,
/// with anything but letters, digits, dots, dashes and underscores made a dash.
pub fn file_name(raw: &str) -> Result<String, ApiError> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        return Err(ApiError::Validation {
            field: "filename".into(),
            message: "filename is required".into(),
        });
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Update {
        role: Option<String>,
        active: Option<bool>,
    }

    async fn extract(body: &str) -> Result<Update, ApiError> {
        let request = axum::http::Request::builder()
            .method("PATCH")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap();
        Json::<Update>::from_request(request, &())
            .await
            .map(|j| j.0)
    }

    #[tokio::test]
    async fn a_body_is_an_object_not_an_array_of_its_fields() {
        let e = extract("[null, null]").await.unwrap_err();
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        let e = extract("[\"admin\", true]").await.unwrap_err();
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        let ok = extract(r#"{"role": "admin", "active": null}"#)
            .await
            .unwrap();
        assert_eq!(ok.role.as_deref(), Some("admin"));
        assert!(ok.active.is_none());
        let e = extract(r#"{"colour": 1}"#).await.unwrap_err();
        assert_eq!(e.detail().field.as_deref(), Some("colour"));
    }

    #[test]
    fn field_paths_are_extracted() {
        let (f, m) = split_serde_path("Failed to deserialize the JSON body into the target type: message.body: invalid type: integer `5`, expected a string at line 1 column 30");
        assert_eq!(f, "message.body");
        assert!(m.starts_with("invalid type"));
        let (f, _) = split_serde_path("Failed to deserialize the JSON body into the target type: missing field `channel` at line 1 column 2");
        assert_eq!(f, "channel");
        let (f, _) = split_serde_path("Failed to deserialize the JSON body into the target type: unknown field `colour`, expected one of `a` at line 1 column 9");
        assert_eq!(f, "colour");
    }

    #[test]
    fn file_names_are_made_safe_for_urls() {
        assert_eq!(file_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(
            file_name("C:\\photos\\Box Label.png").unwrap(),
            "Box-Label.png"
        );
        assert_eq!(file_name(".htaccess").unwrap(), "htaccess");
        assert_eq!(file_name("size guide ü.jpg").unwrap(), "size-guide--.jpg");
        assert!(file_name("  / ").is_err());
    }
}
