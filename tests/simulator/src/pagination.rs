//! Page envelopes of both platforms (bitbucket-api.md §7, C).
//!
//! Cloud: `{size, page, pagelen, next?, previous?, values}`; `page` is 1-based,
//! `pagelen` defaults to 10 and is capped at 100; `next`/`previous` are absolute URLs
//! and `next` is absent on the last page. Data Center: `{size, limit, isLastPage,
//! start, nextPageStart?, values}` with `start`/`limit` (default 25). A fixture
//! `page_size` forces (and caps) the page size on both.

use serde_json::{Value, json};

const CLOUD_DEFAULT: u32 = 10;
const CLOUD_MAX: u32 = 100;
const DC_DEFAULT: u32 = 25;
const DC_MAX: u32 = 1000;

/// Where a request asked to start, and how many items it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub page: usize,
    pub len: usize,
}

/// Reads Cloud `page`/`pagelen`; `Err` carries a message for a 400.
pub(crate) fn cloud_request(
    page: Option<&str>,
    pagelen: Option<&str>,
    forced: Option<u32>,
) -> Result<PageRequest, String> {
    let page = match page {
        None => 1,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| format!("Invalid page: {p}"))?,
    };
    let requested = match pagelen {
        None => forced.unwrap_or(CLOUD_DEFAULT),
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| *l >= 1)
            .ok_or_else(|| format!("Invalid pagelen: {l}"))?,
    };
    let cap = forced.unwrap_or(CLOUD_MAX).min(CLOUD_MAX);
    Ok(PageRequest {
        page,
        len: requested.min(cap).max(1) as usize,
    })
}

/// Builds a Cloud page. `link_for(page)` renders the absolute URL of another page.
pub(crate) fn cloud_page(
    values: Vec<Value>,
    request: PageRequest,
    link_for: impl Fn(usize) -> String,
) -> Value {
    let total = values.len();
    let skip = (request.page - 1).saturating_mul(request.len);
    let items: Vec<Value> = values.into_iter().skip(skip).take(request.len).collect();
    let mut body = json!({
        "size": total,
        "page": request.page,
        "pagelen": request.len,
        "values": items,
    });
    if skip.saturating_add(request.len) < total {
        body["next"] = Value::String(link_for(request.page + 1));
    }
    if request.page > 1 {
        body["previous"] = Value::String(link_for(request.page - 1));
    }
    body
}

/// Reads DC `start`/`limit`; `Err` carries a message for a 400.
pub(crate) fn dc_request(
    start: Option<&str>,
    limit: Option<&str>,
    forced: Option<u32>,
) -> Result<PageRequest, String> {
    let start = match start {
        None => 0,
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| format!("Invalid start: {s}"))?,
    };
    let requested = match limit {
        None => forced.unwrap_or(DC_DEFAULT),
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| *l >= 1)
            .ok_or_else(|| format!("Invalid limit: {l}"))?,
    };
    let cap = forced.unwrap_or(DC_MAX).min(DC_MAX);
    Ok(PageRequest {
        page: start,
        len: requested.min(cap).max(1) as usize,
    })
}

/// Builds a DC page; `request.page` is the 0-based `start` index.
pub(crate) fn dc_page(values: Vec<Value>, request: PageRequest) -> Value {
    let total = values.len();
    let start = request.page;
    let items: Vec<Value> = values.into_iter().skip(start).take(request.len).collect();
    let end = start.saturating_add(items.len());
    let last = end >= total;
    let mut body = json!({
        "size": items.len(),
        "limit": request.len,
        "isLastPage": last,
        "start": start,
        "values": items,
    });
    if !last {
        body["nextPageStart"] = json!(end);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Vec<Value> {
        (0..n).map(|i| json!(i)).collect()
    }

    #[test]
    fn cloud_pages_link_forward_and_back() {
        let req = cloud_request(Some("2"), None, Some(2)).unwrap();
        let page = cloud_page(values(5), req, |p| format!("u?page={p}"));
        assert_eq!(page["values"], json!([2, 3]));
        assert_eq!(page["next"], "u?page=3");
        assert_eq!(page["previous"], "u?page=1");
        let last = cloud_page(values(5), PageRequest { page: 3, len: 2 }, |p| {
            p.to_string()
        });
        assert!(last.get("next").is_none());
        assert_eq!(last["size"], 5);
    }

    #[test]
    fn cloud_caps_pagelen() {
        assert_eq!(cloud_request(None, Some("500"), None).unwrap().len, 100);
        assert_eq!(cloud_request(None, Some("50"), Some(2)).unwrap().len, 2);
        assert_eq!(cloud_request(None, None, None).unwrap().len, 10);
        assert!(cloud_request(Some("0"), None, None).is_err());
    }

    #[test]
    fn dc_pages_report_next_start() {
        let req = dc_request(Some("2"), Some("2"), None).unwrap();
        let page = dc_page(values(5), req);
        assert_eq!(page["values"], json!([2, 3]));
        assert_eq!(page["nextPageStart"], 4);
        assert_eq!(page["isLastPage"], false);
        let last = dc_page(values(5), dc_request(Some("4"), None, None).unwrap());
        assert_eq!(last["isLastPage"], true);
        assert!(last.get("nextPageStart").is_none());
        assert_eq!(dc_request(None, None, None).unwrap().len, 25);
    }
}
