//! What the sign-in benchmarks (`srp`, `passkeys`) share: the Cognito API client, the admin
//! access key that sets a pool up, and the report's table of sign-ins beside the RS256 ceiling.

use std::time::SystemTime;

use serde_json::Value;
use userpool_core::keys::MasterKey;
use userpool_core::store::{AccessKeyRecord, AccessKeyStore};
use userpool_store::SqlStore;

use crate::load::Measured;
use crate::sign::Signer;

const REGION: &str = "us-east-1";

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The Cognito API at `base`: `operation` with `body`, SigV4-signed when a signer is given.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
}

impl Api {
    pub(crate) async fn call(
        &self,
        signer: Option<&Signer>,
        operation: &str,
        body: &Value,
    ) -> Result<Value, String> {
        let body = body.to_string();
        let target = format!("AWSCognitoIdentityProviderService.{operation}");
        let host = self.base.trim_start_matches("http://");
        let mut request = self
            .http
            .post(format!("{}/", self.base))
            .header("content-type", "application/x-amz-json-1.1");
        // The signer's headers include X-Amz-Target, which it signs.
        match signer {
            Some(signer) => {
                for (name, value) in signer.headers(host, &target, body.as_bytes(), unix_now()) {
                    request = request.header(name, value);
                }
            }
            None => request = request.header("x-amz-target", &target),
        }
        let response = request.body(body).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!(
                "{operation}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("{operation}: {e}"))
    }
}

pub(crate) fn has_tokens(answer: &Value) -> Result<(), String> {
    let result = &answer["AuthenticationResult"];
    if result["AccessToken"].is_string() && result["IdToken"].is_string() {
        Ok(())
    } else {
        Err(format!("no tokens: {answer}"))
    }
}

/// Sign-ins per second of the server's CPU.
pub(crate) fn per_cpu_second(m: &Measured) -> f64 {
    m.succeeded as f64 / m.server_cpu.max(f64::MIN_POSITIVE)
}

/// An access key for the admin calls that set a pool up, written to the server's database
/// (`url`) with the bench's master key.
pub(crate) async fn admin_signer(url: &str) -> anyhow::Result<Signer> {
    let store = SqlStore::open(url).await?;
    let master = MasterKey::from_bytes(&[1u8; 32]);
    let (key, secret) = AccessKeyRecord::generate(&master, "userpool-bench", unix_now());
    store.insert_access_key(&key).await?;
    store.close().await;
    Ok(Signer {
        key_id: key.id.clone(),
        secret,
        region: REGION.into(),
    })
}

/// The head of a sign-in report's table and its ceiling row: RS256 signatures on one core, the
/// mean of the rates measured before and after the load.
pub(crate) fn table_head(before: f64, after: f64) -> String {
    let ceiling = (before + after) / 2.0;
    format!(
        "| measure | per second | p50 | p99 | errors | server CPU per sign-in | sign-ins per server-CPU-second | RS256 signatures' worth |\n|---|---|---|---|---|---|---|---|\n| RS256 signatures, one core, key parsed once (ceiling; mean of {before:.0} before and {after:.0} after the load) | {ceiling:.0} | | | | {:.3} ms | {ceiling:.0} | 1 |\n",
        1000.0 / ceiling
    )
}

/// A measured flow's row: its rate and latencies, and the server's CPU per sign-in, also in
/// RS256 signatures' worth.
pub(crate) fn table_row(m: &Measured, ceiling: f64) -> String {
    format!(
        "| {} | {:.1} | {:.2} ms | {:.2} ms | {} | {:.2} ms | {:.1} | {:.2} |\n",
        m.row.name,
        m.row.rate,
        m.row.p50_ms,
        m.row.p99_ms,
        m.row.errors,
        m.server_ms_each(),
        per_cpu_second(m),
        signatures_worth(m, ceiling),
    )
}

/// The server's CPU per sign-in, in RS256 signatures at `ceiling`.
pub(crate) fn signatures_worth(m: &Measured, ceiling: f64) -> f64 {
    m.server_cpu / m.succeeded.max(1) as f64 * ceiling
}
