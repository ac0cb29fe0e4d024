//! Cursor pagination for list endpoints: `?limit=` (1-100, default 50) and an
//! opaque `?cursor=` naming the last item of the previous page. Ids sort by
//! creation time, so pages are stable while rows are added.

use crate::crypto::{b64url, b64url_decode};
use crate::error::{Error, Result};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 100;

pub struct Page {
    pub limit: u32,
    pub after: Option<String>,
}

impl Page {
    /// From the `limit` and `cursor` query parameters.
    pub fn from_query(limit: Option<&str>, cursor: Option<&str>) -> Result<Self> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| Error::bad_request(format!("limit must be an integer from 1 to {MAX_LIMIT}")))?,
        };
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(
                b64url_decode(c)
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| Error::bad_request("cursor is not one this API returned"))?,
            ),
        };
        Ok(Page { limit, after })
    }

    /// Trims a result fetched with `limit + 1` rows and returns the cursor of
    /// the next page, if there is one.
    pub fn finish<T>(&self, mut items: Vec<T>, id: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
        if items.len() > self.limit as usize {
            items.truncate(self.limit as usize);
            let next = items.last().map(|i| b64url(id(i).as_bytes()));
            (items, next)
        } else {
            (items, None)
        }
    }
}
