//! The client half of AWS Signature Version 4 for the Cognito API, as the SDKs sign:
//! `host`, `x-amz-date` and `x-amz-target` signed, the body hashed, the key derived per day.

use aws_lc_rs::{digest, hmac};
use userpool_core::crypto::hex;

pub(crate) struct Signer {
    pub(crate) key_id: String,
    pub(crate) secret: String,
    pub(crate) region: String,
}

const SERVICE: &str = "cognito-idp";

/// `YYYYMMDDTHHMMSSZ` of a Unix time.
fn amz_date(unix: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(unix).expect("a time in range");
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

impl Signer {
    /// The headers that sign a `POST /` to `host` calling `target` with `body`, at `unix`.
    pub(crate) fn headers(
        &self,
        host: &str,
        target: &str,
        body: &[u8],
        unix: i64,
    ) -> [(&'static str, String); 3] {
        let date = amz_date(unix);
        let day = &date[..8];
        let scope = format!("{day}/{}/{SERVICE}/aws4_request", self.region);
        let payload = hex(digest::digest(&digest::SHA256, body).as_ref());
        let canonical = format!(
            "POST\n/\n\nhost:{host}\nx-amz-date:{date}\nx-amz-target:{target}\n\nhost;x-amz-date;x-amz-target\n{payload}"
        );
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
            hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
        );
        let mut key = format!("AWS4{}", self.secret).into_bytes();
        for part in [day, self.region.as_str(), SERVICE, "aws4_request"] {
            key = hmac_sha256(&key, part.as_bytes());
        }
        let signature = hex(&hmac_sha256(&key, to_sign.as_bytes()));
        [
            ("x-amz-date", date),
            ("x-amz-target", target.to_string()),
            (
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=host;x-amz-date;x-amz-target, Signature={signature}",
                    self.key_id
                ),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::amz_date;

    #[test]
    fn dates_are_iso_basic() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_796_403_723), "20261204T170203Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
    }
}
