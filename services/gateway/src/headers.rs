//! Security headers: what browsers are told about every answer, and about the web UI's pages.
//!
//! Every answer: `X-Content-Type-Options: nosniff` (a JSON body is never run as a script),
//! `Referrer-Policy: no-referrer` (mailed links carry tokens in their query; a page opened from
//! one must not hand it to the next site), `X-Frame-Options: DENY` (no page is framed, so none
//! can be clickjacked), and over TLS `Strict-Transport-Security`. The web UI's files also get a
//! `Content-Security-Policy` that allows nothing but this origin's own files: no inline script,
//! no inline style, no framing.

use http::{HeaderName, HeaderValue, header};

/// One year, the usual HSTS lifetime; browsers then refuse plain HTTP to this host.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// The web UI's policy: its own files only.
pub(crate) const UI_CONTENT_SECURITY_POLICY: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
);

/// Sets the headers of every answer; `tls` adds HSTS. Headers a route set itself stay.
pub(crate) fn stamp<B>(tls: bool) -> impl Fn(http::Response<B>) -> http::Response<B> + Clone {
    move |mut response| {
        let headers = response.headers_mut();
        let mut set = |name: HeaderName, value: HeaderValue| {
            headers.entry(name).or_insert(value);
        };
        set(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        set(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        set(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        if tls {
            set(header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
        response
    }
}
