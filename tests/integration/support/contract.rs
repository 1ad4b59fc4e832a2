//! The contract the simulator and the client follow: Atlassian's OpenAPI documents.
//!
//! `tests/contract/bitbucket-operations.json` holds, for every operation the simulator serves, what
//! the documents say about it: method, path template, `operationId`, query parameters, whether the
//! answer is paginated, the Cloud scopes (`security[].oauth2`, `x-atlassian-oauth2-scopes`) and the
//! Data Center permission its description names. It is extracted from the documents themselves
//! (Cloud 2.0 and Data Center 9.2, as Atlassian publishes them) whenever they are at hand: set
//! `BTO_BITBUCKET_OPENAPI_DIR` (default `../shared/bitbucket-openapi` beside the repository); with
//! `BTO_WRITE_CONTRACT=1` the file is rewritten, otherwise a difference fails the test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use bitbucket_simulator::{
    Platform, RecordedRequest,
    contract::{OPERATIONS, Operation, Product},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a document says about one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Documented {
    pub product: String,
    /// `operationId` (Data Center) or `summary` (Cloud, whose document has no operation ids).
    pub name: String,
    pub method: String,
    pub path: String,
    pub query: Vec<String>,
    pub paginated: bool,
    pub oauth2_scopes: Vec<String>,
    pub granular_scopes: Vec<String>,
    pub dc_permission: Option<String>,
}

const EXTRACT: &str = "tests/contract/bitbucket-operations.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn product_name(product: Product) -> &'static str {
    match product {
        Product::Cloud => "cloud",
        Product::DataCenter => "dataCenter",
    }
}

/// The committed extract.
pub fn committed() -> Vec<Documented> {
    let text = std::fs::read_to_string(root().join(EXTRACT)).expect("the contract extract exists");
    serde_json::from_str(&text).expect("the contract extract is JSON")
}

/// Where Atlassian's documents are, if they are on this machine.
pub fn documents_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("BTO_BITBUCKET_OPENAPI_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/bitbucket-openapi"));
    dir.join("bitbucket-cloud-2.0.json")
        .is_file()
        .then_some(dir)
}

/// Extracts what the documents in `dir` say about every operation the simulator serves.
pub fn extract(dir: &Path) -> Vec<Documented> {
    let load = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join(name)).expect("read the document"))
            .expect("the document is JSON")
    };
    let cloud = load("bitbucket-cloud-2.0.json");
    let dc = load("bitbucket-datacenter-9.2.json");
    OPERATIONS
        .iter()
        .map(|op| {
            let document = match op.product {
                Product::Cloud => &cloud,
                Product::DataCenter => &dc,
            };
            documented(document, op)
        })
        .collect()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn documented(document: &Value, op: &Operation) -> Documented {
    let item = &document["paths"][op.path];
    let operation = &item[op.method.to_lowercase()];
    assert!(
        operation.is_object(),
        "{} {} is not an operation of the {} document",
        op.method,
        op.path,
        product_name(op.product)
    );
    let parameters = operation["parameters"]
        .as_array()
        .into_iter()
        .chain(item["parameters"].as_array())
        .flatten();
    let query = parameters
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str().map(String::from))
        .collect();
    let oauth2_scopes = operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|s| s.get("oauth2"))
        .map(|v| strings(Some(v)))
        .unwrap_or_default();
    let granular_scopes = operation["x-atlassian-oauth2-scopes"]
        .as_array()
        .and_then(|list| list.first())
        .map(|first| strings(first.get("scopes")))
        .unwrap_or_default();
    let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"];
    let paginated = schema["$ref"]
        .as_str()
        .is_some_and(|r| r.starts_with("#/components/schemas/paginated_"))
        || schema["properties"].get("isLastPage").is_some();
    let description = operation["description"].as_str().unwrap_or_default();
    let dc_permission = regex_lite::Regex::new(r"must have <strong>([A-Z_]+)</strong> permission")
        .expect("regex")
        .captures(description)
        .map(|c| c[1].to_string());
    Documented {
        product: product_name(op.product).into(),
        name: operation["operationId"]
            .as_str()
            .or(operation["summary"].as_str())
            .unwrap_or_default()
            .into(),
        method: op.method.into(),
        path: op.path.into(),
        query,
        paginated,
        oauth2_scopes,
        granular_scopes,
        dc_permission,
    }
}

/// The committed extract, checked against the documents when they are at hand (or rewritten with
/// `BTO_WRITE_CONTRACT=1`).
pub fn contract() -> Vec<Documented> {
    let Some(dir) = documents_dir() else {
        eprintln!(
            "note: Atlassian's OpenAPI documents are not at hand (BTO_BITBUCKET_OPENAPI_DIR); \
             using the committed extract {EXTRACT}"
        );
        return committed();
    };
    let fresh = extract(&dir);
    if std::env::var_os("BTO_WRITE_CONTRACT").is_some() {
        let text = serde_json::to_string_pretty(&fresh).expect("serialise") + "\n";
        std::fs::write(root().join(EXTRACT), text).expect("write the extract");
    }
    assert_eq!(
        committed(),
        fresh,
        "{EXTRACT} differs from the documents in {}: rerun with BTO_WRITE_CONTRACT=1 and review",
        dir.display()
    );
    fresh
}

/// The documented operation a recorded request is an instance of, and the query parameters it
/// sent that the document does not list for it.
pub fn check_request<'a>(
    contract: &'a [Documented],
    request: &RecordedRequest,
    dc_context_path: &str,
) -> Result<&'a Documented, String> {
    let (product, path) = match request.platform {
        Platform::Cloud => ("cloud", request.path.strip_prefix("/2.0")),
        Platform::DataCenter => (
            "dataCenter",
            request
                .path
                .strip_prefix(&format!("{dc_context_path}/rest")),
        ),
        Platform::Unknown => ("unknown", None),
    };
    let path = path.ok_or_else(|| format!("{} {} is on no API", request.method, request.path))?;
    let simulated = OPERATIONS
        .iter()
        .find(|op| product_name(op.product) == product && op.matches(&request.method, path))
        .ok_or_else(|| {
            format!(
                "{} {} is not an operation the documents (and the simulator) have",
                request.method, request.path
            )
        })?;
    let documented = contract
        .iter()
        .find(|d| d.product == product && d.path == simulated.path && d.method == simulated.method)
        .ok_or_else(|| format!("{} is missing from the contract", simulated.path))?;
    let sent: Vec<String> = request
        .query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect()
        })
        .unwrap_or_default();
    let pagination: &[&str] = if documented.paginated && product == "cloud" {
        &["page", "pagelen"]
    } else {
        &[]
    };
    for name in &sent {
        if !documented.query.contains(name) && !pagination.contains(&name.as_str()) {
            return Err(format!(
                "{} {} sends query parameter {name:?}, which {} does not document",
                request.method, request.path, documented.name
            ));
        }
    }
    Ok(documented)
}

/// The simulator's requirement for each operation equals the document's.
pub fn assert_simulator_follows(contract: &[Documented]) {
    for op in OPERATIONS.iter() {
        let documented = contract
            .iter()
            .find(|d| d.product == product_name(op.product) && d.path == op.path)
            .unwrap_or_else(|| panic!("{} is missing from the contract", op.path));
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(documented.name, op.name, "{}", op.path);
        assert_eq!(
            documented.oauth2_scopes,
            own(op.oauth2_scopes),
            "{}: oauth2 scopes",
            op.path
        );
        assert_eq!(
            documented.granular_scopes,
            own(op.granular_scopes),
            "{}: x-atlassian-oauth2-scopes",
            op.path
        );
        assert_eq!(
            documented.dc_permission.as_deref(),
            op.dc_permission,
            "{}: permission",
            op.path
        );
        assert_eq!(
            documented.query,
            own(op.query),
            "{}: query parameters",
            op.path
        );
    }
}
