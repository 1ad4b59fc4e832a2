//! Runs `git http-backend` as a CGI program for one request: the request body is streamed
//! into its stdin while its stdout is read; the CGI header block (`Status:`, `Content-Type:`,
//! ...) becomes the HTTP response head and the rest its body.
//!
//! A gzip request body (git compresses large upload-pack requests) is passed on untouched
//! with `HTTP_CONTENT_ENCODING`, which `git http-backend` inflates itself.

use std::path::Path;
use std::process::Stdio;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// What the CGI needs from the HTTP request.
#[derive(Debug)]
pub(crate) struct CgiRequest<'a> {
    pub project_root: &'a Path,
    /// `/<repository dir>/<rest>`.
    pub path_info: String,
    pub method: &'a str,
    pub query: &'a str,
    pub content_type: Option<&'a str>,
    pub content_length: Option<&'a str>,
    pub content_encoding: Option<&'a str>,
    /// The `Git-Protocol` header (protocol v2).
    pub git_protocol: Option<&'a str>,
    pub remote_user: Option<&'a str>,
}

/// Serves `request` through `git http-backend`, feeding it `body`.
pub(crate) async fn run(request: CgiRequest<'_>, body: Body) -> Response<Body> {
    match run_inner(request, body).await {
        Ok(response) => response,
        Err(message) => {
            tracing::warn!(%message, "git http-backend failed");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "git http-backend failed\n",
            )
        }
    }
}

pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn run_inner(request: CgiRequest<'_>, body: Body) -> Result<Response<Body>, String> {
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", request.project_root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", request.project_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("PATH_INFO", &request.path_info)
        .env("QUERY_STRING", request.query)
        .env("REQUEST_METHOD", request.method);
    let optional = [
        ("CONTENT_TYPE", request.content_type),
        ("CONTENT_LENGTH", request.content_length),
        ("HTTP_CONTENT_ENCODING", request.content_encoding),
        ("HTTP_GIT_PROTOCOL", request.git_protocol),
        ("REMOTE_USER", request.remote_user),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin pipe")?;
    // Feed the body while the CGI runs, so neither side blocks on a full pipe.
    let feeder = tokio::spawn(async move {
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Ok(data) = frame.into_data()
                && stdin.write_all(&data).await.is_err()
            {
                break;
            }
        }
        // Dropping stdin closes it: the CGI sees EOF.
    });
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| format!("wait: {e}"))?;
    feeder.abort();
    if !output.stderr.is_empty() {
        tracing::debug!(stderr = %String::from_utf8_lossy(&output.stderr), "git http-backend");
    }
    parse_output(&output.stdout)
}

/// Splits CGI output into a response: headers up to the first empty line, then the body.
fn parse_output(stdout: &[u8]) -> Result<Response<Body>, String> {
    let (head, body) = split_head(stdout).ok_or("no CGI header block")?;
    let head = std::str::from_utf8(head).map_err(|_| "CGI headers are not UTF-8")?;
    let mut response = Response::new(Body::from(body.to_vec()));
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split(' ').next().unwrap_or_default();
            *response.status_mut() = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| format!("bad CGI status {value:?}"))?;
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

fn split_head(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let (at, len) = match (crlf, lf) {
        (Some(a), Some(b)) => {
            if a.0 <= b.0 {
                a
            } else {
                b
            }
        }
        (a, b) => a.or(b)?,
    };
    Some((&bytes[..at], &bytes[at + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_headers_and_body() {
        let out = b"Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nno\n";
        let response = parse_output(out).unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.headers()["content-type"], "text/plain");
        let default = parse_output(b"Content-Type: x\n\nbody").unwrap();
        assert_eq!(default.status(), StatusCode::OK);
        assert!(parse_output(b"garbage without a head").is_err());
    }
}
