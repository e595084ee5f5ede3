//! Text messages through Amazon SNS (`--sms-sns`): the `Publish` API's SMS form, SigV4-signed
//! with the operator's AWS credentials, as Cognito sends `SMS_MFA` and `SMS_OTP` codes. Mail
//! still goes where the mail flags say; this wraps that mailer and carries only the texts.

use async_trait::async_trait;
use userpool_core::auth::Delivery;
use userpool_core::lifecycle::Mailer;
use userpool_core::sigv4::{AwsCredentials, sign_post};

/// SNS answers fast; a code that cannot be handed over in this time is reported failed.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) struct SnsSms {
    mail: Box<dyn Mailer>,
    http: reqwest::Client,
    /// `scheme://host[:port]` of the SNS API.
    endpoint: reqwest::Url,
    region: String,
    credentials: AwsCredentials,
}

impl SnsSms {
    /// `endpoint` is `aws` (SNS of `region`) or the base URL of an SNS-compatible API.
    pub(crate) fn new(
        mail: Box<dyn Mailer>,
        endpoint: &str,
        region: &str,
        credentials: Option<AwsCredentials>,
    ) -> anyhow::Result<Self> {
        let credentials = credentials.ok_or_else(|| {
            anyhow::anyhow!(
                "--sms-sns needs AWS credentials to sign its calls: set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY (--lambda-access-key-id, --lambda-secret-access-key)"
            )
        })?;
        let base = if endpoint == "aws" {
            format!("https://sns.{region}.amazonaws.com")
        } else {
            endpoint.to_string()
        };
        let endpoint =
            reqwest::Url::parse(&base).map_err(|e| anyhow::anyhow!("--sms-sns {endpoint}: {e}"))?;
        anyhow::ensure!(
            matches!(endpoint.scheme(), "http" | "https") && endpoint.host_str().is_some(),
            "--sms-sns {base}: not an http(s) URL"
        );
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("userpool/", env!("CARGO_PKG_VERSION")))
            .build()?;
        tracing::info!(endpoint = %endpoint, "text messages are sent through Amazon SNS");
        Ok(Self {
            mail,
            http,
            endpoint,
            region: region.to_string(),
            credentials,
        })
    }
}

/// The form body of an SNS `Publish` of `message` to `phone`, as a transactional SMS.
fn publish_body(phone: &str, message: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "Publish")
        .append_pair("Version", "2010-03-31")
        .append_pair("PhoneNumber", phone)
        .append_pair("Message", message)
        .append_pair("MessageAttributes.entry.1.Name", "AWS.SNS.SMS.SMSType")
        .append_pair("MessageAttributes.entry.1.Value.DataType", "String")
        .append_pair(
            "MessageAttributes.entry.1.Value.StringValue",
            "Transactional",
        )
        .finish()
}

#[async_trait]
impl Mailer for SnsSms {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        self.mail.send(to, subject, body).await
    }

    fn sends_sms(&self) -> bool {
        true
    }

    async fn send_sms(&self, to: &str, body: &str) -> Result<(), String> {
        let host = match self.endpoint.port() {
            Some(port) => format!("{}:{port}", self.endpoint.host_str().unwrap_or_default()),
            None => self.endpoint.host_str().unwrap_or_default().to_string(),
        };
        let path = match self.endpoint.path() {
            "" => "/",
            p => p,
        };
        let form = publish_body(to, body);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let headers = sign_post(
            &self.credentials,
            &self.region,
            "sns",
            &host,
            path,
            form.as_bytes(),
            now,
        );
        let mut request = self
            .http
            .post(format!("{}://{host}{path}", self.endpoint.scheme()))
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(form);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| format!("SNS: {e}"))?;
        let status = response.status();
        if status.is_success() {
            // The number's last digits only (the body holds the code).
            let shown = Delivery::Sms(to.to_string()).masked();
            tracing::info!(to = %shown, "text message handed to SNS");
            return Ok(());
        }
        let answer = response.text().await.unwrap_or_default();
        let code = answer
            .split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map_or("unknown", |(code, _)| code);
        Err(format!(
            "SNS refused the text message: HTTP {status}, {code}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_is_an_sms_form_with_its_type() {
        let body = publish_body("+15555550100", "Your code is 123456");
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Action"), Some("Publish"));
        assert_eq!(get("PhoneNumber"), Some("+15555550100"));
        assert_eq!(get("Message"), Some("Your code is 123456"));
        assert_eq!(
            get("MessageAttributes.entry.1.Value.StringValue"),
            Some("Transactional")
        );
    }
}
