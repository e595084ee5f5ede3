//! AWS Signature Version 4's shared parts: the signing key, the URI encoding, the time format,
//! and the signature of an outbound JSON `POST` (the Lambda `Invoke` calls of triggers). The
//! checking of inbound signatures is the API's (`userpool-api`'s `sigv4`).
//! The algorithm: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

use aws_lc_rs::{digest, hmac};

use crate::crypto::hex;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub const TERMINATOR: &str = "aws4_request";

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [date, region, service, TERMINATOR] {
        let k = hmac::Key::new(hmac::HMAC_SHA256, &key);
        key = hmac::sign(&k, part.as_bytes()).as_ref().to_vec();
    }
    key
}

/// Percent-encodes every byte but the unreserved characters of RFC 3986 §2.3 (and `/` when
/// asked), with upper-case hex.
pub fn encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `YYYYMMDDTHHMMSSZ` of an epoch time.
pub fn amz_date(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The date of days since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Long-term or temporary AWS credentials.
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The headers that sign a `POST` of `body` to `host` + `path` (already percent-encoded) at
/// `now`: `(name, value)` pairs to send as they are.
pub fn sign_post(
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    host: &str,
    path: &str,
    body: &[u8],
    now: i64,
) -> Vec<(&'static str, String)> {
    let date = amz_date(now);
    let payload_hash = hex(digest::digest(&digest::SHA256, body).as_ref());
    let mut headers = vec![
        ("host", host.to_string()),
        ("x-amz-content-sha256", payload_hash.clone()),
        ("x-amz-date", date.clone()),
    ];
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token", token.clone()));
    }
    let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
    let signed = names.join(";");
    let mut canonical = format!("POST\n{}\n\n", encode(path.as_bytes(), true));
    for (name, value) in &headers {
        canonical.push_str(&format!("{name}:{}\n", value.trim()));
    }
    canonical.push_str(&format!("\n{signed}\n{payload_hash}"));
    let scope = format!("{}/{region}/{service}/{TERMINATOR}", &date[..8]);
    let to_sign = format!(
        "{ALGORITHM}\n{date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let key = hmac::Key::new(
        hmac::HMAC_SHA256,
        &signing_key(&credentials.secret_access_key, &date[..8], region, service),
    );
    let signature = hex(hmac::sign(&key, to_sign.as_bytes()).as_ref());
    headers.retain(|(n, _)| *n != "host");
    headers.push((
        "authorization",
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_as_aws_writes_them() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_796_487_238), "20261205T161358Z");
    }

    #[test]
    fn a_post_is_signed_over_its_host_date_and_body() {
        let creds = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let h = sign_post(
            &creds,
            "us-east-1",
            "lambda",
            "lambda.us-east-1.amazonaws.com",
            "/2015-03-31/functions/arn%3Aaws/invocations",
            b"{}",
            1_796_486_038,
        );
        let auth = &h.iter().find(|(n, _)| *n == "authorization").unwrap().1;
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="), "{auth}");
        let again = sign_post(
            &creds,
            "us-east-1",
            "lambda",
            "lambda.us-east-1.amazonaws.com",
            "/2015-03-31/functions/arn%3Aaws/invocations",
            b"{}",
            1_796_486_038,
        );
        assert_eq!(h, again);
        let other = sign_post(
            &creds,
            "us-east-1",
            "lambda",
            "lambda.us-east-1.amazonaws.com",
            "/2015-03-31/functions/arn%3Aaws/invocations",
            b"{ }",
            1_796_486_038,
        );
        assert_ne!(h, other);
    }
}
