//! The web UI: files under `static/`, embedded in the binary, each with the UI's
//! Content-Security-Policy (so the pages carry no inline script or style).

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, header};
use onetime_common::ApiError;
use rust_embed::RustEmbed;

use crate::headers::UI_CONTENT_SECURITY_POLICY;

const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");

#[derive(RustEmbed)]
#[folder = "../../static/"]
struct Assets;

/// Serves a UI file for GET/HEAD, `/` being `index.html` and a path without an extension the
/// page of that name (`/verify-email` is `verify-email.html`, as the links in mails have it);
/// anything else is a 404 problem.
pub async fn serve(request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    let path = match path {
        "" => "index.html".to_owned(),
        page if !page.contains('.') => format!("{page}.html"),
        file => file.to_owned(),
    };
    let asset = matches!(*request.method(), Method::GET | Method::HEAD)
        .then(|| Assets::get(&path))
        .flatten();
    match asset {
        Some(file) => {
            let mime = HeaderValue::from_str(file.metadata.mimetype()).unwrap_or(OCTET_STREAM);
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CONTENT_SECURITY_POLICY, UI_CONTENT_SECURITY_POLICY),
                ],
                file.data,
            )
                .into_response()
        }
        None => {
            ApiError::not_found(format!("no route for {} {}", request.method(), request.uri().path())).into_response()
        }
    }
}
