//! Checking the token: the operator's own findings first (the server URL, the allowlist, the
//! source Secrets), then Bitbucket's answer through the shared validation cache.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::{Resource, ResourceExt, runtime::reflector::ObjectRef};
use url::Url;

use super::{
    context::Context, error::Error, reconcile::REVALIDATE_ANNOTATION, rejections::TokenId, resume,
    source, validation_cache::CacheKey, verdict::TokenVerdict,
};
use crate::{
    api::{BitbucketToken, BitbucketTokenStatus, OutputFormat, Reason},
    bitbucket::{Invalid, Outcome, Server, ValidationRequest, host_key},
    render::extra_basic_user,
    token::SecretToken,
};

/// What was learned about the token in this reconcile.
pub(super) struct Checked {
    pub token: Option<SecretToken>,
    /// The Data Center CA bundle the token was validated with; the rendered Secret carries it.
    pub ca_pem: Option<Vec<u8>>,
    /// `server.dataCenter.url`, parsed once per reconcile; `None` for Bitbucket Cloud.
    pub dc_url: Option<Url>,
    pub verdict: TokenVerdict,
    /// When Bitbucket gave the verdict (`None` for the operator's own findings and transients).
    pub validated_at: Option<DateTime<Utc>>,
}

/// The token and CA bundle read from the BitbucketToken's namespace.
struct Sources {
    token: SecretToken,
    ca_pem: Option<Vec<u8>>,
}

/// Checks the token of `bbt`: definitive findings of the operator's own, or Bitbucket's verdict
/// (shared with every object asking the same question within `interval`).
pub(super) async fn check_token(
    bbt: &BitbucketToken,
    ctx: &Context,
    namespace: &str,
    previous: &BitbucketTokenStatus,
    interval: Duration,
) -> Result<Checked, Error> {
    let dc_url = match data_center_url(bbt, ctx) {
        Ok(url) => url,
        Err(verdict) => return Ok(finding(verdict, None, None)),
    };
    let sources = match read_sources(bbt, ctx, namespace).await? {
        Ok(sources) => sources,
        Err((verdict, token)) => return Ok(finding(verdict, token, dc_url)),
    };
    let fingerprint = sources.token.fingerprint();
    let accepted_before = previous.accepted_before(&fingerprint);
    let (verdict, at) =
        ask_bitbucket(bbt, ctx, &sources, dc_url.as_ref(), previous, interval).await;
    let validated_at = verdict.is_definitive().then_some(at);
    let verdict = refine_for_history(verdict, accepted_before)
        .expired_by(Utc::now(), previous.expiry_of(&fingerprint));
    Ok(Checked {
        token: Some(sources.token),
        ca_pem: sources.ca_pem,
        dc_url,
        verdict,
        validated_at,
    })
}

/// `server.dataCenter.url` when it parses and its host is allowed; `None` for Cloud.
fn data_center_url(bbt: &BitbucketToken, ctx: &Context) -> Result<Option<Url>, TokenVerdict> {
    let Some(dc) = bbt
        .spec
        .server
        .as_ref()
        .and_then(|s| s.data_center.as_ref())
    else {
        return Ok(None);
    };
    let url = Url::parse(&dc.url).map_err(|error| {
        TokenVerdict::invalid(
            Reason::InvalidSpec,
            format!("server.dataCenter.url is not a valid URL ({error}); fix the spec."),
        )
    })?;
    if !ctx.validator.dc_host_allowed(&url) {
        let host = host_key(&url);
        return Err(Outcome::Invalid(Invalid::HostNotAllowed { host }).into());
    }
    Ok(Some(url))
}

/// Reads the token and the CA bundle; a problem with either is a verdict (with the token, when
/// it was read).
async fn read_sources(
    bbt: &BitbucketToken,
    ctx: &Context,
    namespace: &str,
) -> Result<Result<Sources, (TokenVerdict, Option<SecretToken>)>, Error> {
    let spec = &bbt.spec;
    let token = match source::read_token(&ctx.client, namespace, &spec.token.secret_ref).await? {
        Ok(token) => token,
        Err(verdict) => return Ok(Err((verdict, None))),
    };
    let reference = spec
        .server
        .as_ref()
        .and_then(|s| s.data_center.as_ref())
        .and_then(|dc| dc.ca_bundle_secret_ref.as_ref());
    let ca_pem = match reference {
        Some(reference) => match source::read_ca_bundle(&ctx.client, namespace, reference).await? {
            Ok(pem) => Some(pem),
            Err(verdict) => return Ok(Err((verdict, Some(token)))),
        },
        None => None,
    };
    Ok(Ok(Sources { token, ca_pem }))
}

/// Bitbucket's verdict and when it was given: from the cache, from a still-fresh status of a
/// previous process, or from a new validation; a shared rejection of the token overrides it.
async fn ask_bitbucket(
    bbt: &BitbucketToken,
    ctx: &Context,
    sources: &Sources,
    dc_url: Option<&Url>,
    previous: &BitbucketTokenStatus,
    interval: Duration,
) -> (TokenVerdict, DateTime<Utc>) {
    let spec = &bbt.spec;
    let fingerprint = sources.token.fingerprint();
    let formats = formats(bbt);
    let basic_user = extra_basic_user(spec.token.kind, spec.token.username.as_deref(), &formats);
    let server = match dc_url {
        Some(url) => Server::DataCenter {
            url,
            ca_pem: sources.ca_pem.as_deref(),
        },
        None => Server::Cloud,
    };
    let request = ValidationRequest {
        kind: spec.token.kind,
        server,
        token: &sources.token,
        email: spec.token.email.as_deref(),
        username: spec.token.username.as_deref(),
        access: &spec.access,
        declared_expiry: spec.token.expires_at,
        accepted_before: previous.accepted_before(&fingerprint),
        basic_user,
    };
    let key = cache_key(bbt, &fingerprint, sources.ca_pem.as_deref(), basic_user);
    if let Some((facts, at)) = resumable(bbt, ctx, previous, &fingerprint, interval) {
        ctx.cache
            .seed(key.clone(), TokenVerdict::Valid(facts), at)
            .await;
    }
    let cached = ctx
        .cache
        .get_or_validate(key, interval, || async {
            TokenVerdict::from(ctx.validator.validate(&request).await)
        })
        .await;
    let cached = ctx.rejections.apply(
        &token_id(bbt, &fingerprint),
        &ObjectRef::from_obj(bbt),
        cached,
    );
    (cached.verdict, cached.at)
}

/// The facts a previous process recorded in status, the first time this process sees `bbt`.
fn resumable(
    bbt: &BitbucketToken,
    ctx: &Context,
    previous: &BitbucketTokenStatus,
    fingerprint: &str,
    interval: Duration,
) -> Option<(crate::bitbucket::ValidToken, DateTime<Utc>)> {
    if !bbt.uid().is_some_and(|uid| ctx.first_sight(&uid)) {
        return None;
    }
    resume::valid_facts_from_status(
        previous,
        bbt.meta().generation,
        fingerprint,
        &super::reconcile::access_summary(bbt),
        Utc::now(),
        interval,
    )
}

fn finding(verdict: TokenVerdict, token: Option<SecretToken>, dc_url: Option<Url>) -> Checked {
    Checked {
        token,
        ca_pem: None,
        dc_url,
        verdict,
        validated_at: None,
    }
}

/// A shared result may have been computed for another object that never saw this token work.
fn refine_for_history(verdict: TokenVerdict, accepted_before: bool) -> TokenVerdict {
    match verdict {
        TokenVerdict::Invalid {
            reason: Reason::Unauthorized,
            message,
        } if accepted_before => TokenVerdict::invalid(
            Reason::Revoked,
            format!(
                "Bitbucket accepted this token before and now rejects it: it was revoked or expired. {message}"
            ),
        ),
        other => other,
    }
}

/// The token on its server: Bitbucket's rejection of it holds for every access asked of it.
fn token_id(bbt: &BitbucketToken, fingerprint: &str) -> TokenId {
    let server = bbt
        .spec
        .server
        .as_ref()
        .and_then(|s| s.data_center.as_ref())
        .map_or("cloud", |dc| dc.url.as_str());
    TokenId(format!(
        "{server}/{}/{fingerprint}",
        bbt.spec.token.kind.as_str()
    ))
}

/// `spec.target.formats`, or the default formats.
pub fn formats(bbt: &BitbucketToken) -> Vec<OutputFormat> {
    bbt.spec
        .target
        .as_ref()
        .and_then(|t| t.formats.clone())
        .unwrap_or_else(|| {
            OutputFormat::defaults_for(bbt.spec.token.kind, bbt.spec.token.username.as_deref())
        })
}

/// Everything that makes two validations the same question to Bitbucket.
fn cache_key(
    bbt: &BitbucketToken,
    fingerprint: &str,
    ca_pem: Option<&[u8]>,
    basic_user: Option<&str>,
) -> CacheKey {
    let spec = &bbt.spec;
    let server = spec
        .server
        .as_ref()
        .and_then(|s| s.data_center.as_ref())
        .map_or("cloud".to_string(), |dc| dc.url.clone());
    let ca = ca_pem.map(crate::digest::sha256_hex);
    CacheKey(
        serde_json::json!([
            server,
            spec.token.kind.as_str(),
            fingerprint,
            spec.token.email,
            spec.token.username,
            spec.access,
            ca,
            spec.token.expires_at,
            bbt.annotations().get(REVALIDATE_ANNOTATION),
            basic_user,
        ])
        .to_string(),
    )
}
