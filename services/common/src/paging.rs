//! Paged lists, the same for every service: `?limit=&cursor=` in, `{ items, nextCursor }` out.
//!
//! Lists walk an ordered key (for most, a UUIDv7 id, so newest first is reverse key order). The
//! cursor is the key of the last item served, base64url-encoded: opaque, so clients echo it rather
//! than build one, and the encoding can change without breaking them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// The paging part of a list's query string.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Most items to return: 1 to 100, default 20.
    pub limit: Option<u32>,
    /// Where to go on: the `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A checked [`PageQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    /// The key of the last item already served, if any.
    pub after: Option<String>,
}

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

impl PageQuery {
    /// The request, or 400 `invalid_query` for a limit out of range or a cursor this server did
    /// not issue.
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(limit) if (1..=MAX_LIMIT as u32).contains(&limit) => limit as usize,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("query parameter `limit` must be between 1 and {MAX_LIMIT}"),
                ));
            }
        };
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?;
        Ok(PageRequest { limit, after })
    }
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| ApiError::bad_request("invalid_query", "query parameter `cursor` is not a cursor of this list"))
}

fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

impl PageRequest {
    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch(&self) -> usize {
        self.limit + 1
    }

    /// The page made of `rows` (fetched with [`PageRequest::fetch`]), `key` giving each row's
    /// position in the list.
    pub fn page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> &str) -> Page<T> {
        let next_cursor = if rows.len() > self.limit {
            rows.truncate(self.limit);
            rows.last().map(|last| encode_cursor(key(last)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The same page with every item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<u32>, cursor: Option<&str>) -> PageQuery {
        PageQuery {
            limit,
            cursor: cursor.map(str::to_owned),
        }
    }

    #[test]
    fn limits_default_to_20_and_stay_within_1_to_100() {
        assert_eq!(query(None, None).parse().unwrap().limit, 20);
        assert_eq!(query(Some(100), None).parse().unwrap().limit, 100);
        for bad in [0, 101] {
            let error = query(Some(bad), None).parse().unwrap_err();
            assert_eq!((error.status, error.code.as_str()), (400, "invalid_query"));
        }
    }

    #[test]
    fn a_full_page_hands_out_a_cursor_that_leads_on() {
        let request = query(Some(2), None).parse().unwrap();
        let page = request.page(vec!["c", "b", "a"], |k| k);
        assert_eq!(page.items, ["c", "b"]);
        let next = query(Some(2), page.next_cursor.as_deref()).parse().unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));

        let last = request.page(vec!["a"], |k| k);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn made_up_cursors_are_refused() {
        for bad in ["%%%", "__8"] {
            let error = query(None, Some(bad)).parse().unwrap_err();
            assert_eq!(error.code, "invalid_query", "{bad}");
        }
    }
}
