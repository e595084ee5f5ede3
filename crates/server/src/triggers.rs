//! The triggers port: calls a pool's Lambda functions through the AWS Lambda `Invoke` API
//! (SigV4-signed with the operator's credentials, at the operator's endpoint: AWS, LocalStack
//! or any local Lambda runtime), and webhooks (beyond Cognito: the same event and answer,
//! signed with an HMAC header the receiver checks). Every call ends within Cognito's 5 s.

use async_trait::async_trait;
use userpool_core::sigv4::{AwsCredentials, encode, sign_post};
use userpool_core::triggers::{InvokeError, Invoker, TRIGGER_TIMEOUT, Target};

/// The header that carries a webhook call's signature: `t={unix seconds},v1={hex}`, where the
/// hex is HMAC-SHA256 under the webhook secret of `{t}.{body}` (docs/design/0008-triggers.md).
pub(crate) const SIGNATURE_HEADER: &str = "x-userpool-signature";

/// Answers bigger than Lambda's synchronous limit (6 MB) are not read.
const MAX_ANSWER: usize = 6 * 1024 * 1024;

pub(crate) struct HttpInvoker {
    http: reqwest::Client,
    /// The Lambda API's base URL; none means AWS's own endpoint of the function's region.
    endpoint: Option<String>,
    credentials: Option<AwsCredentials>,
    webhook_secret: Option<String>,
    /// Whether loopback http webhooks are called: only while our own public URL is http.
    allow_http: bool,
}

impl HttpInvoker {
    pub(crate) fn new(
        endpoint: Option<String>,
        credentials: Option<AwsCredentials>,
        webhook_secret: Option<String>,
        allow_http: bool,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(TRIGGER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("userpool/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_string()),
            credentials,
            webhook_secret,
            allow_http,
        })
    }

    async fn lambda(
        &self,
        arn: &str,
        region: &str,
        event: Vec<u8>,
    ) -> Result<Vec<u8>, InvokeError> {
        let Some(credentials) = &self.credentials else {
            tracing::error!(
                "a Lambda trigger is configured but no AWS credentials are (--lambda-access-key-id)"
            );
            return Err(InvokeError::Failed("AccessDeniedException".into()));
        };
        let base = self
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://lambda.{region}.amazonaws.com"));
        let url = reqwest::Url::parse(&base)
            .map_err(|_| InvokeError::Failed("ServiceException".into()))?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let path = format!(
            "{}/2015-03-31/functions/{}/invocations",
            url.path().trim_end_matches('/'),
            encode(arn.as_bytes(), false)
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let headers = sign_post(credentials, region, "lambda", &host, &path, &event, now);
        let mut request = self
            .http
            .post(format!("{}://{host}{path}", url.scheme()))
            .header("content-type", "application/json")
            .header("x-amz-invocation-type", "RequestResponse")
            .body(event);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(failure)?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_string());
        let body = read(response).await?;
        if function_error {
            return Err(InvokeError::Raised(error_message(&body)));
        }
        if !status.is_success() {
            let kind = error_type.unwrap_or_else(|| "ServiceException".into());
            tracing::warn!(%status, error = %kind, "the Lambda API refused a trigger call");
            return Err(InvokeError::Failed(kind));
        }
        Ok(body)
    }

    async fn webhook(&self, url: &str, event: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let Some(secret) = &self.webhook_secret else {
            tracing::error!(
                "a webhook trigger is configured but no webhook secret is (--trigger-webhook-secret)"
            );
            return Err(InvokeError::Failed("AccessDeniedException".into()));
        };
        if url.starts_with("http:") && !self.allow_http {
            tracing::error!("an http webhook is not called by a server whose public URL is https");
            return Err(InvokeError::Failed("AccessDeniedException".into()));
        }
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signature = webhook_signature(secret, t, &event);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, format!("t={t},v1={signature}"))
            .body(event)
            .send()
            .await
            .map_err(failure)?;
        let status = response.status();
        let body = read(response).await?;
        if status.is_client_error() {
            return Err(InvokeError::Raised(error_message(&body)));
        }
        if !status.is_success() {
            tracing::warn!(%status, "a webhook trigger failed");
            return Err(InvokeError::Failed("ServiceException".into()));
        }
        Ok(body)
    }
}

#[async_trait]
impl Invoker for HttpInvoker {
    async fn invoke(&self, target: &Target, event: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        match target {
            Target::Lambda { arn, region } => self.lambda(arn, region, event).await,
            Target::Webhook { url } => self.webhook(url, event).await,
        }
    }
}

/// The operator's AWS credentials (Lambda calls, SNS texts); the key and its secret come as a
/// pair.
pub(crate) fn aws_credentials(
    args: &crate::cli::TriggerArgs,
) -> anyhow::Result<Option<AwsCredentials>> {
    match (&args.lambda_access_key_id, &args.lambda_secret_access_key) {
        (Some(id), Some(secret)) => Ok(Some(AwsCredentials {
            access_key_id: id.clone(),
            secret_access_key: secret.clone(),
            session_token: args.lambda_session_token.clone(),
        })),
        (None, None) => Ok(None),
        _ => anyhow::bail!(
            "--lambda-access-key-id and --lambda-secret-access-key (AWS_ACCESS_KEY_ID, \
             AWS_SECRET_ACCESS_KEY) go together"
        ),
    }
}

/// The invoker the operator's flags describe.
pub(crate) fn invoker(args: &crate::cli::TriggerArgs, https: bool) -> anyhow::Result<HttpInvoker> {
    let credentials = aws_credentials(args)?;
    if let Some(e) = &args.lambda_endpoint {
        let url = reqwest::Url::parse(e)
            .map_err(|err| anyhow::anyhow!("--lambda-endpoint {e}: {err}"))?;
        anyhow::ensure!(
            matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
            "--lambda-endpoint {e}: not an http(s) URL"
        );
    }
    HttpInvoker::new(
        args.lambda_endpoint.clone(),
        credentials,
        args.trigger_webhook_secret.clone(),
        !https,
    )
}

/// The operator's key that seals codes for custom sender triggers (`--custom-sender-key`).
pub(crate) fn code_key(args: &crate::cli::TriggerArgs) -> anyhow::Result<Option<[u8; 32]>> {
    let Some(hex) = &args.custom_sender_key else {
        return Ok(None);
    };
    let hex = hex.trim();
    let bytes: Option<Vec<u8>> = (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| {
            (0..64)
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                .collect()
        })
        .flatten();
    let key = bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| anyhow::anyhow!("--custom-sender-key: 64 hex digits (a 256-bit AES key)"))?;
    Ok(Some(key))
}

/// Hex HMAC-SHA256 under `secret` of `{t}.{body}`.
pub(crate) fn webhook_signature(secret: &str, t: u64, body: &[u8]) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(format!("{t}.").as_bytes());
    ctx.update(body);
    userpool_core::crypto::hex(ctx.sign().as_ref())
}

fn failure(e: reqwest::Error) -> InvokeError {
    if e.is_timeout() {
        InvokeError::Failed("Socket timeout while invoking Lambda function".into())
    } else {
        tracing::warn!(error = %e, "a trigger could not be called");
        InvokeError::Failed("ServiceException".into())
    }
}

/// The body, up to Lambda's answer limit.
async fn read(mut response: reqwest::Response) -> Result<Vec<u8>, InvokeError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failure)? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(InvokeError::Failed("RequestTooLargeException".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A function error's `errorMessage` (Lambda's `{"errorMessage","errorType"}`), or its text.
fn error_message(body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("errorMessage").or_else(|| v.get("message")))
        .and_then(|m| m.as_str())
        .map(String::from)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(512).collect());
    // The message reaches callers: control characters are not passed on.
    // Kept short and printable: it reaches API callers and redirects.
    let clean: String = message
        .chars()
        .filter(|c| !c.is_control() && !is_invisible(*c))
        .take(256)
        .collect();
    clean
}

/// Zero-width and direction-changing characters, and line separators.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_cover_time_and_body() {
        let a = webhook_signature("s3cret", 1_800_000_000, b"{}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, webhook_signature("s3cret", 1_800_000_001, b"{}"));
        assert_ne!(a, webhook_signature("s3cret", 1_800_000_000, b"{ }"));
        assert_ne!(a, webhook_signature("other", 1_800_000_000, b"{}"));
    }

    #[test]
    fn function_errors_read_their_message() {
        assert_eq!(
            error_message(br#"{"errorMessage":"Nope","errorType":"Error"}"#),
            "Nope"
        );
        assert_eq!(error_message(b"plain\ntext"), "plaintext");
    }
}
