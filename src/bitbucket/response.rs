//! Reading Bitbucket's JSON: bodies, error bodies, and both platforms' pagination.

use serde::{Deserialize, de::DeserializeOwned};
use url::Url;

use super::{
    credential::Credential,
    outcome::Transient,
    transport::{ApiResponse, Transport},
};

/// Most pages followed for one listing; more means something is wrong.
const MAX_PAGES: usize = 50;

/// Parses a JSON body; a body that is not what the API documents is a transient failure.
pub fn json<T: DeserializeOwned>(response: &ApiResponse, what: &str) -> Result<T, Transient> {
    serde_json::from_slice(&response.body).map_err(|error| Transient::MalformedResponse {
        detail: format!("{what}: the body is not the documented JSON ({error})"),
    })
}

/// Cloud's error body: `{"type":"error","error":{"message":..,"detail":{"required":[..],"granted":[..]}}}`.
#[derive(Debug, Default, Deserialize)]
pub struct CloudError {
    #[serde(default)]
    pub error: CloudErrorInner,
}

#[derive(Debug, Default, Deserialize)]
pub struct CloudErrorInner {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub detail: Option<ScopeDetail>,
}

/// The scope part of a 403 for missing privilege scopes.
#[derive(Debug, Default, Deserialize)]
pub struct ScopeDetail {
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub granted: Vec<String>,
}

/// Data Center's error body: `{"errors":[{"message":..}]}`.
#[derive(Debug, Default, Deserialize)]
pub struct DcErrors {
    #[serde(default)]
    pub errors: Vec<DcError>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DcError {
    #[serde(default)]
    pub message: String,
}

/// The error message of a Cloud response, tolerant of odd bodies (plain text, HTML).
pub fn cloud_error(response: &ApiResponse) -> CloudError {
    serde_json::from_slice(&response.body).unwrap_or_default()
}

/// The first error message of a Data Center response.
pub fn dc_error_message(response: &ApiResponse) -> String {
    serde_json::from_slice::<DcErrors>(&response.body)
        .ok()
        .and_then(|body| body.errors.into_iter().next())
        .map(|e| e.message)
        .unwrap_or_default()
}

/// A short text for a status and message, e.g. `403 Access denied.`.
pub fn status_text(response: &ApiResponse, message: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        response.status.as_u16().to_string()
    } else {
        format!("{} {message}", response.status.as_u16())
    }
}

#[derive(Deserialize)]
struct CloudPage<T> {
    #[serde(default = "Vec::new")]
    values: Vec<T>,
    next: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DcPage<T> {
    #[serde(default = "Vec::new")]
    values: Vec<T>,
    #[serde(default = "default_true")]
    is_last_page: bool,
    next_page_start: Option<u64>,
}

fn default_true() -> bool {
    true
}

/// A listing ended by a non-200 answer: the caller classifies it.
pub enum Listing<T> {
    Items(Vec<T>),
    Refused(ApiResponse),
}

/// Follows Cloud's `next` links. A `next` pointing at another origin is refused: the token is
/// never sent anywhere but where the first request went.
pub async fn cloud_list<T: DeserializeOwned>(
    transport: &Transport,
    client: &reqwest::Client,
    first: Url,
    credential: &Credential,
) -> Result<Listing<T>, Transient> {
    let mut items = Vec::new();
    let mut url = first.clone();
    for _ in 0..MAX_PAGES {
        let response = transport.get(client, &url, credential).await?;
        if response.status != reqwest::StatusCode::OK {
            return Ok(Listing::Refused(response));
        }
        let page: CloudPage<T> = json(&response, "a Cloud page")?;
        items.extend(page.values);
        let Some(next) = page.next else {
            return Ok(Listing::Items(items));
        };
        let next = Url::parse(&next).map_err(|e| Transient::MalformedResponse {
            detail: format!("pagination link is not a URL ({e})"),
        })?;
        if next.origin() != first.origin() {
            return Err(Transient::MalformedResponse {
                detail: format!(
                    "pagination link leads to another host ({})",
                    next.origin().ascii_serialization()
                ),
            });
        }
        url = next;
    }
    Err(too_many_pages())
}

/// Follows Data Center's `start`/`nextPageStart` paging.
pub async fn dc_list<T: DeserializeOwned>(
    transport: &Transport,
    client: &reqwest::Client,
    first: Url,
    credential: &Credential,
) -> Result<Listing<T>, Transient> {
    let mut items = Vec::new();
    let mut start = 0u64;
    for _ in 0..MAX_PAGES {
        let mut url = first.clone();
        url.query_pairs_mut()
            .append_pair("start", &start.to_string())
            .append_pair("limit", "100");
        let response = transport.get(client, &url, credential).await?;
        if response.status != reqwest::StatusCode::OK {
            return Ok(Listing::Refused(response));
        }
        let page: DcPage<T> = json(&response, "a Data Center page")?;
        items.extend(page.values);
        match (page.is_last_page, page.next_page_start) {
            (false, Some(next)) if next > start => start = next,
            _ => return Ok(Listing::Items(items)),
        }
    }
    Err(too_many_pages())
}

fn too_many_pages() -> Transient {
    Transient::MalformedResponse {
        detail: format!("a listing did not end after {MAX_PAGES} pages"),
    }
}
