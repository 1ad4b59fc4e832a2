//! Counting the operator's API requests from the audit log, by verb and resource.

use std::{collections::BTreeMap, path::Path};

/// Requests by (verb, resource[/subresource]) in the audit log after byte `from`, and the new end.
pub fn count_since(log: &Path, from: u64) -> (BTreeMap<String, u64>, u64) {
    let text = std::fs::read(log).unwrap_or_default();
    let start = (from as usize).min(text.len());
    let mut counts = BTreeMap::new();
    for line in text[start..].split(|b| *b == b'\n') {
        let Ok(event) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if event["stage"] != "ResponseComplete" {
            continue;
        }
        let verb = event["verb"].as_str().unwrap_or("?");
        let object = &event["objectRef"];
        let mut resource = object["resource"].as_str().unwrap_or("-").to_string();
        if let Some(sub) = object["subresource"].as_str() {
            resource = format!("{resource}/{sub}");
        }
        *counts.entry(format!("{verb} {resource}")).or_insert(0) += 1;
    }
    (counts, text.len() as u64)
}

/// The size of the log now (the starting point for the next count).
pub fn end(log: &Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// Sum of the counts whose verb is `verb`.
pub fn verb_total(counts: &BTreeMap<String, u64>, verb: &str) -> u64 {
    counts
        .iter()
        .filter(|(k, _)| k.split(' ').next() == Some(verb))
        .map(|(_, v)| v)
        .sum()
}
