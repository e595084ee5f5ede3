//! AWS Signature Version 4 for the operations Cognito authorizes with IAM: the Authorization
//! header's shape, the credential scope (`cognito-idp`, our region, the request's date), a
//! 15-minute clock skew, and the signature, checked against the operator's access keys. Failures
//! are answered as AWS JSON services answer them, in AWS's words and no more precisely.
//! The algorithm: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

use aws_lc_rs::{constant_time, digest, hmac};
use userpool_core::crypto::hex;
use userpool_core::sigv4::{ALGORITHM, TERMINATOR, amz_date, encode, signing_key};

use crate::{Api, ApiError, Credentials, Request};

const SERVICE: &str = "cognito-idp";
/// How far the request's time may be from ours, either way: AWS's 15 minutes.
const MAX_SKEW: i64 = 15 * 60;

/// Checks the request's signature; `Credentials::AcceptAny` checks only the header's shape.
pub(crate) async fn authenticate(api: &Api, req: &Request<'_>) -> Result<(), ApiError> {
    let auth = Authorization::parse(req)?;
    if api.credentials == Credentials::AcceptAny {
        // Any signature passes here, so a web page must not be the one sending it: browsers
        // name the page's origin on every cross-origin request, and SDKs outside a browser
        // send none. (With real keys, a page would need the secret to sign at all.)
        if req.headers.iter().any(|(name, _)| name == "origin") {
            return Err(unrecognized_client(
                "Signed requests from web pages are refused while this server accepts any credentials (--accept-any-credentials).",
            ));
        }
        return Ok(());
    }
    auth.check(&api.region, api.clock.now())?;
    let Some(key) = api.store.get_access_key(auth.key_id).await? else {
        return Err(unrecognized_client(
            "The security token included in the request is invalid.",
        ));
    };
    let Some(secret) = key.open_secret(&api.master) else {
        tracing::error!(
            access_key = %key.id,
            master_key = %api.master.id(),
            "cannot open the access key's secret: it was sealed under another master key"
        );
        return Err(ApiError::internal());
    };
    if !auth.signature_matches(req, &secret) {
        tracing::debug!(access_key = %key.id, "SigV4 signature mismatch");
        return Err(signature_mismatch());
    }
    if req.header("x-amz-security-token").is_some() {
        // Long-term keys have no session token; AWS words this one without a final period.
        return Err(unrecognized_client(
            "The security token included in the request is invalid",
        ));
    }
    Ok(())
}

/// A well-formed `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`
/// with its `X-Amz-Date`.
#[derive(Debug)]
struct Authorization<'a> {
    key_id: &'a str,
    /// `date/region/service/aws4_request`, as signed.
    scope: &'a str,
    scope_date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    /// Lower-case names, in the header's order.
    signed_headers: Vec<String>,
    signature: &'a str,
    amz_date: &'a str,
    time: i64,
}

impl<'a> Authorization<'a> {
    /// The header's shape, checked in the order AWS checks it; `IncompleteSignatureException`
    /// for what is missing or malformed.
    fn parse(req: &'a Request<'_>) -> Result<Self, ApiError> {
        let header = match req.header("authorization") {
            Some(h) if h.trim_start().starts_with("AWS4-") => h.trim(),
            _ => return Err(missing_token()),
        };
        let (algorithm, params) = header
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((header, ""));
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        // SDKs separate the parameters with ", "; a comma or white space alone is accepted too.
        for param in params
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|p| !p.is_empty())
        {
            let Some((name, value)) = param.split_once('=') else {
                return Err(incomplete(format!(
                    "'{param}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
                )));
            };
            let slot = match name {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        let amz_date = req.header("x-amz-date").map(str::trim);
        let mut missing = String::new();
        for (name, value) in [
            ("Credential", credential),
            ("Signature", signature),
            ("SignedHeaders", signed_headers),
        ] {
            if value.is_none_or(str::is_empty) {
                missing.push_str(&format!(
                    "Authorization header requires '{name}' parameter. "
                ));
            }
        }
        if amz_date.is_none_or(str::is_empty) {
            missing.push_str(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
            );
        }
        if !missing.is_empty() {
            return Err(incomplete(format!("{missing}Authorization={header}")));
        }
        let (credential, signed_headers, signature, amz_date) = (
            credential.unwrap_or_default(),
            signed_headers.unwrap_or_default(),
            signature.unwrap_or_default(),
            amz_date.unwrap_or_default(),
        );
        let Some(time) = parse_amz_date(amz_date) else {
            return Err(incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            )));
        };
        if algorithm != ALGORITHM {
            return Err(incomplete(format!(
                "Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now)."
            )));
        }
        let trimmed = credential.trim_end_matches('/');
        let parts: Vec<&str> = trimmed.split('/').collect();
        let [key_id, scope_date, region, service, terminator] = parts[..] else {
            return Err(incomplete(format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
            )));
        };
        Ok(Self {
            key_id,
            scope: &trimmed[key_id.len() + 1..],
            scope_date,
            region,
            service,
            terminator,
            signed_headers: signed_headers
                .split(';')
                .map(str::to_ascii_lowercase)
                .collect(),
            signature,
            amz_date,
            time,
        })
    }

    /// The checks before the key is looked up: the clock skew, the headers that must be signed,
    /// and the credential scope (`InvalidSignatureException`).
    fn check(&self, region: &str, now: i64) -> Result<(), ApiError> {
        if self.time < now - MAX_SKEW {
            return Err(invalid_signature(format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                self.amz_date,
                amz_date(now - MAX_SKEW),
                amz_date(now)
            )));
        }
        if self.time > now + MAX_SKEW {
            return Err(invalid_signature(format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                self.amz_date,
                amz_date(now + MAX_SKEW),
                amz_date(now)
            )));
        }
        // The host and the time keep a signature to this server and this moment; the target
        // keeps it to this operation (the same body would otherwise serve another one).
        for (name, shown) in [
            ("host", "Host"),
            ("x-amz-date", "X-Amz-Date"),
            ("x-amz-target", "X-Amz-Target"),
        ] {
            if !self.signed_headers.iter().any(|h| h == name) {
                return Err(invalid_signature(format!(
                    "'{shown}' must be a 'SignedHeader' in the AWS Authorization."
                )));
            }
        }
        let mut problems = Vec::new();
        if self.region != region {
            problems.push(format!(
                "Credential should be scoped to a valid region, not '{}'.",
                self.region
            ));
        }
        if self.service != SERVICE {
            problems.push(format!(
                "Credential should be scoped to correct service: '{SERVICE}'."
            ));
        }
        if self.terminator != TERMINATOR {
            problems.push(format!(
                "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'.",
                self.terminator
            ));
        }
        if self.scope_date != &self.amz_date[..8] {
            problems.push(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
                self.scope_date,
                &self.amz_date[..8],
                self.amz_date
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(invalid_signature(problems.join(" ")))
        }
    }

    /// Recomputes the signature with `secret` and compares in constant time. A sent
    /// `x-amz-content-sha256` must be the body's hash.
    fn signature_matches(&self, req: &Request<'_>, secret: &str) -> bool {
        let payload_hash = hex(digest::digest(&digest::SHA256, req.body).as_ref());
        if let Some(sent) = req.header("x-amz-content-sha256")
            && !sent.trim().eq_ignore_ascii_case(&payload_hash)
        {
            return false;
        }
        let expected = self.expected_signature(req, secret, &payload_hash);
        constant_time::verify_slices_are_equal(expected.as_bytes(), self.signature.as_bytes())
            .is_ok()
    }

    fn expected_signature(&self, req: &Request<'_>, secret: &str, payload_hash: &str) -> String {
        let canonical = canonical_request(req, &self.signed_headers, payload_hash);
        tracing::trace!(canonical_request = %canonical, "SigV4");
        let to_sign = format!(
            "{ALGORITHM}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
        );
        let key = hmac::Key::new(
            hmac::HMAC_SHA256,
            &signing_key(secret, self.scope_date, self.region, self.service),
        );
        hex(hmac::sign(&key, to_sign.as_bytes()).as_ref())
    }
}

/// Method, URI, query, signed headers with their values, the list of them, the payload hash.
fn canonical_request(req: &Request<'_>, signed_headers: &[String], payload_hash: &str) -> String {
    let mut out = format!(
        "{}\n{}\n{}\n",
        req.method,
        canonical_uri(req.path),
        canonical_query(req.query)
    );
    for name in signed_headers {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.split_ascii_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        out.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    out.push_str(&format!("\n{}\n{payload_hash}", signed_headers.join(";")));
    out
}

/// The path with dot segments and empty segments removed, encoded once more: services other
/// than S3 sign the already-encoded path encoded again, as the SDKs do.
fn canonical_uri(path: &str) -> String {
    let segments = path.split('/').fold(Vec::new(), |mut kept, s| {
        match s {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
        kept
    });
    let mut normalized = format!("/{}", segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        normalized.push('/');
    }
    encode(normalized.as_bytes(), true)
}

/// Each name and value decoded, then encoded as RFC 3986 unreserved characters, sorted by name
/// and then value; a name without `=` has an empty value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (encode(&decode(name), false), encode(&decode(value), false))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes `%XX` escapes; anything else (a stray `%`, a `+`) stays as it is.
fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex_at = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b[i], hex_at(i + 1), hex_at(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Seconds since the epoch of a basic ISO 8601 time, `YYYYMMDDTHHMMSSZ`.
fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let digits = &s[from..to];
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    let (hour, minute, second) = (num(9, 11)?, num(11, 13)?, num(13, 15)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || !(1..=month_days[month as usize - 1]).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn missing_token() -> ApiError {
    ApiError::new(
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    )
}

fn incomplete(message: String) -> ApiError {
    ApiError::new("IncompleteSignatureException", message)
}

fn invalid_signature(message: String) -> ApiError {
    ApiError::new("InvalidSignatureException", message)
}

fn unrecognized_client(message: &str) -> ApiError {
    ApiError::new("UnrecognizedClientException", message)
}

fn signature_mismatch() -> ApiError {
    invalid_signature(
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details."
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a [(String, String)],
        body: &'a [u8],
    ) -> Request<'a> {
        Request {
            method,
            path,
            query,
            headers,
            body,
            client_ip: None,
        }
    }

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// The IAM `ListUsers` example of AWS's SigV4 documentation (signing key, canonical
    /// request hash and signature as published there).
    #[test]
    fn the_published_aws_example_signs_as_documented() {
        assert_eq!(
            hex(&signing_key(EXAMPLE_SECRET, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        let h = headers(&[
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("host", "iam.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, \
                 Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            ),
        ]);
        let req = request("GET", "/", "Action=ListUsers&Version=2010-05-08", &h, b"");
        let auth = Authorization::parse(&req).unwrap();
        assert_eq!(auth.key_id, "AKIDEXAMPLE");
        assert_eq!(auth.scope, "20150830/us-east-1/iam/aws4_request");
        let payload = hex(digest::digest(&digest::SHA256, b"").as_ref());
        let canonical = canonical_request(&req, &auth.signed_headers, &payload);
        assert_eq!(
            canonical,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n\
             content-type:application/x-www-form-urlencoded; charset=utf-8\n\
             host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             content-type;host;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert_eq!(
            auth.expected_signature(&req, EXAMPLE_SECRET, &payload),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        assert!(auth.signature_matches(&req, EXAMPLE_SECRET));
        assert!(!auth.signature_matches(&req, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz"));
    }

    /// `ListUserPools` as botocore signs it (SigV4Auth, time fixed at 2026-12-05 16:13:58).
    fn botocore_list_user_pools(body: &'static [u8]) -> (Vec<(String, String)>, &'static [u8]) {
        let h = headers(&[
            (
                "x-amz-target",
                "AWSCognitoIdentityProviderService.ListUserPools",
            ),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-date", "20261205T161358Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261205/us-east-1/cognito-idp/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
                 Signature=ccd30b3e61b6c890777a3d2755d7eee327442a57ff4b1f7d22a8cb7ef3ad5b78",
            ),
            ("host", "127.0.0.1:9229"),
            ("content-length", "18"),
        ]);
        (h, body)
    }

    const NOW: i64 = 1_796_487_238; // 2026-12-05T16:13:58Z

    #[test]
    fn a_botocore_signature_verifies_and_any_change_breaks_it() {
        let (h, body) = botocore_list_user_pools(br#"{"MaxResults": 10}"#);
        let req = request("POST", "/", "", &h, body);
        let auth = Authorization::parse(&req).unwrap();
        auth.check("us-east-1", NOW).unwrap();
        assert!(auth.signature_matches(&req, EXAMPLE_SECRET));

        let changed = request("POST", "/", "", &h, br#"{"MaxResults": 11}"#);
        assert!(!auth.signature_matches(&changed, EXAMPLE_SECRET));
        let mut other_host = h.clone();
        other_host[4].1 = "127.0.0.1:9230".into();
        let moved = request("POST", "/", "", &other_host, body);
        assert!(!auth.signature_matches(&moved, EXAMPLE_SECRET));

        let mut with_hash = h.clone();
        let good = hex(digest::digest(&digest::SHA256, body).as_ref());
        with_hash.push(("x-amz-content-sha256".into(), good));
        assert!(
            auth.signature_matches(&request("POST", "/", "", &with_hash, body), EXAMPLE_SECRET)
        );
        with_hash.last_mut().unwrap().1 =
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into();
        assert!(
            !auth.signature_matches(&request("POST", "/", "", &with_hash, body), EXAMPLE_SECRET),
            "a payload hash that is not the body's"
        );
    }

    #[test]
    fn the_clock_may_be_15_minutes_off_either_way() {
        let (h, body) = botocore_list_user_pools(b"");
        let req = request("POST", "/", "", &h, body);
        let auth = Authorization::parse(&req).unwrap();
        auth.check("us-east-1", NOW + MAX_SKEW).unwrap();
        auth.check("us-east-1", NOW - MAX_SKEW).unwrap();
        let late = auth.check("us-east-1", NOW + 20 * 60).unwrap_err();
        assert_eq!(late.kind, "InvalidSignatureException");
        assert_eq!(
            late.message,
            "Signature expired: 20261205T161358Z is now earlier than 20261205T161858Z \
             (20261205T163358Z - 15 min.)"
        );
        assert_eq!(late.status, 400);
        let early = auth.check("us-east-1", NOW - 20 * 60).unwrap_err();
        assert_eq!(
            early.message,
            "Signature not yet current: 20261205T161358Z is still later than 20261205T160858Z \
             (20261205T155358Z + 15 min.)"
        );
    }

    #[test]
    fn the_scope_must_be_ours() {
        let (mut h, body) = botocore_list_user_pools(b"");
        h[3].1 = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261204/eu-west-1/iam/aws5_request, \
                  SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00"
            .into();
        let req = request("POST", "/", "", &h, body);
        let e = Authorization::parse(&req)
            .unwrap()
            .check("us-east-1", NOW)
            .unwrap_err();
        assert_eq!(e.kind, "InvalidSignatureException");
        assert_eq!(
            e.message,
            "Credential should be scoped to a valid region, not 'eu-west-1'. \
             Credential should be scoped to correct service: 'cognito-idp'. \
             Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. \
             Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '20261204' != '20261205', from '20261205T161358Z'."
        );
        let (mut h, body) = botocore_list_user_pools(b"");
        h[3].1 = h[3]
            .1
            .replace("content-type;host;x-amz-date", "content-type;x-amz-date");
        let req = request("POST", "/", "", &h, body);
        let e = Authorization::parse(&req)
            .unwrap()
            .check("us-east-1", NOW)
            .unwrap_err();
        assert_eq!(
            e.message,
            "'Host' must be a 'SignedHeader' in the AWS Authorization."
        );
    }

    fn parse_error(authorization: Option<&str>, amz_date: Option<&str>) -> ApiError {
        let mut list = vec![("host", "localhost")];
        if let Some(a) = authorization {
            list.push(("authorization", a));
        }
        if let Some(d) = amz_date {
            list.push(("x-amz-date", d));
        }
        let h = headers(&list);
        Authorization::parse(&request("POST", "/", "", &h, b"")).unwrap_err()
    }

    #[test]
    fn malformed_headers_are_answered_in_aws_words() {
        let e = parse_error(None, Some("20261205T161358Z"));
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                "MissingAuthenticationTokenException",
                "Missing Authentication Token"
            )
        );
        assert_eq!(
            parse_error(Some("Bearer abc"), None).kind,
            "MissingAuthenticationTokenException"
        );
        let e = parse_error(Some("AWS4-HMAC-SHA256 Credential=a/b/c/d/e"), None);
        assert_eq!(e.kind, "IncompleteSignatureException");
        assert_eq!(
            e.message,
            "Authorization header requires 'Signature' parameter. Authorization header requires \
             'SignedHeaders' parameter. Authorization header requires existence of either a \
             'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=a/b/c/d/e"
        );
        let e = parse_error(
            Some("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders, Signature=1"),
            Some("20261205T161358Z"),
        );
        assert_eq!(
            e.message,
            "'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization \
             header: 'AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders, Signature=1'."
        );
        let good = "AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=1";
        let e = parse_error(Some(good), Some("2026-12-05T16:13:58Z"));
        assert_eq!(
            e.message,
            "Date must be in ISO-8601 'basic format'. Got '2026-12-05T16:13:58Z'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
        );
        let e = parse_error(
            Some("AWS4-HMAC-SHA512 Credential=a/b/c/d/e, SignedHeaders=host, Signature=1"),
            Some("20261205T161358Z"),
        );
        assert_eq!(
            e.message,
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now)."
        );
        let e = parse_error(
            Some("AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=1"),
            Some("20261205T161358Z"),
        );
        assert_eq!(e.kind, "IncompleteSignatureException");
        assert_eq!(
            e.message,
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got 'a/b/c/d'"
        );
    }

    #[test]
    fn parameters_may_be_separated_by_commas_or_spaces() {
        for header in [
            "AWS4-HMAC-SHA256 Credential=k/20261205/r/s/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=k/20261205/r/s/aws4_request,SignedHeaders=host;x-amz-date,Signature=ab",
            "AWS4-HMAC-SHA256 Credential=k/20261205/r/s/aws4_request/ SignedHeaders=host;x-amz-date Signature=ab",
        ] {
            let h = headers(&[
                ("authorization", header),
                ("x-amz-date", "20261205T161358Z"),
            ]);
            let req = request("POST", "/", "", &h, b"");
            let a = Authorization::parse(&req).unwrap();
            assert_eq!(
                (a.key_id, a.scope, a.signature),
                ("k", "20261205/r/s/aws4_request", "ab")
            );
            assert_eq!(a.signed_headers, ["host", "x-amz-date"]);
            assert_eq!(a.time, NOW);
        }
    }

    #[test]
    fn queries_are_decoded_encoded_and_sorted() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(
            canonical_query("b=2&a=%20x&a=1&c&t=~%7E&&p=a+b&u=%c3%a9&s=%2F/"),
            "a=%20x&a=1&b=2&c=&p=a%2Bb&s=%2F%2F&t=~~&u=%C3%A9"
        );
        assert_eq!(canonical_query("x=%zz"), "x=%25zz");
    }

    #[test]
    fn paths_are_normalized_and_encoded_again() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("//"), "/");
        assert_eq!(canonical_uri("/a%20b/./c//d/"), "/a%2520b/c/d/");
        assert_eq!(canonical_uri("/a/b/../c"), "/a/c");
        assert_eq!(canonical_uri("/../x"), "/x");
        assert_eq!(canonical_uri("/-_.~"), "/-_.~");
    }

    #[test]
    fn header_values_are_trimmed_folded_and_joined() {
        let h = headers(&[
            ("my-header", "  a   b \t c  "),
            ("host", "example.com"),
            ("x-multi", "one"),
            ("x-multi", " two  words "),
        ]);
        let req = request("GET", "/", "", &h, b"");
        let names: Vec<String> = ["host", "my-header", "x-multi"].map(String::from).to_vec();
        assert_eq!(
            canonical_request(&req, &names, "h"),
            "GET\n/\n\nhost:example.com\nmy-header:a b c\nx-multi:one,two words\n\n\
             host;my-header;x-multi\nh"
        );
    }

    #[test]
    fn amz_dates_parse_and_format() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20261205T161358Z"), Some(NOW));
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(1_709_251_199));
        for bad in [
            "20230229T000000Z",
            "20261305T161358Z",
            "20261205T241358Z",
            "20261205T161358",
            "2026120QT161358Z",
            "20261205 161358Z",
            "+0261205T161358Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
        for t in [0, NOW, 1_709_251_199, 951_782_400, 4_102_444_800] {
            assert_eq!(parse_amz_date(&amz_date(t)), Some(t));
        }
        assert_eq!(amz_date(NOW), "20261205T161358Z");
    }
}
