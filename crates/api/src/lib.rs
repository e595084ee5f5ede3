//! userpool-api owns the Cognito API: `POST /` requests in the AWS JSON 1.1 protocol
//! (`X-Amz-Target: AWSCognitoIdentityProviderService.{Operation}`), checked against the service
//! model, authenticated with AWS Signature Version 4 where Cognito uses IAM, answered by core's
//! use cases in Cognito's wire shapes. It knows no HTTP framework: the web crate hands it the
//! request's parts and writes back the [`Response`].

mod error;
mod model;
mod ops;
mod quota;
pub mod sigv4;

use std::sync::Arc;

pub use error::ApiError;
use serde_json::Value;
use userpool_core::directory::Directory;
use userpool_core::keys::MasterKey;
use userpool_core::limits::Limits;
use userpool_core::store::Store;
use userpool_core::time::Clock;

/// The largest request body read (Cognito's own requests are far smaller).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The header naming the operation.
const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

/// A request as the API needs it: what SigV4 covers and the body.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as sent (SigV4 signs it), without the query.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Header names in lower case, values as sent.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// The client's address (for its rate limits), when known.
    pub client_ip: Option<std::net::IpAddr>,
}

impl Request<'_> {
    /// The first value of a header (names are lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The answer: status, headers and a JSON body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// How the operations Cognito authorizes with IAM are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// AWS Signature Version 4 against the operator's access keys.
    SigV4,
    /// Any well-formed signature is accepted (local development with dummy credentials;
    /// refused at start-up when the public URL is https).
    AcceptAny,
}

/// What the operations run on.
pub struct Api {
    /// The use cases the user operations share with the managed-login pages (hashing on the
    /// same work queue, the same mailer).
    pub auth: Arc<userpool_core::auth::Auth>,
    pub store: Arc<dyn Store>,
    pub directory: Arc<Directory>,
    pub clock: Arc<dyn Clock>,
    pub master: Arc<MasterKey>,
    /// The region this server answers for (pool IDs, ARNs, the SigV4 credential scope).
    pub region: String,
    pub credentials: Credentials,
    /// This node's request quotas, shared with the pages and the OAuth endpoints.
    pub limits: Arc<Limits>,
}

impl Api {
    /// Answers one API request.
    pub async fn handle(&self, req: &Request<'_>) -> Response {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut headers = vec![
            ("content-type", "application/x-amz-json-1.1".to_string()),
            ("x-amzn-requestid", request_id),
        ];
        let (status, body) = match self.dispatch(req).await {
            Ok(body) => (200, body),
            Err(e) => {
                if e.status >= 500 {
                    tracing::error!(error = %e.message, "API request failed");
                }
                headers.push(("x-amzn-errortype", e.kind.to_string()));
                (e.status, e.body())
            }
        };
        Response {
            status,
            headers,
            body,
        }
    }

    async fn dispatch(&self, req: &Request<'_>) -> Result<String, ApiError> {
        let name = req
            .header("x-amz-target")
            .and_then(|t| t.strip_prefix(TARGET_PREFIX))
            .unwrap_or("");
        let Some(op) = model::operation(name) else {
            return Err(ApiError::unknown_operation());
        };
        if req.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::serialization("Request body is too large"));
        }
        if !op.unsigned {
            sigv4::authenticate(self, req).await?;
        }
        let input: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(req.body).map_err(|_| {
                ApiError::serialization("Start of structure or map found where not expected.")
            })?
        };
        if !input.is_object() {
            return Err(ApiError::serialization(
                "Start of structure or map found where not expected.",
            ));
        }
        model::check_input(op, &input)?;
        let category = quota::category(&op.name, &input);
        // The pool is looked up only when its category has a pool quota.
        let pool = self
            .limits
            .counts_pools(category)
            .then(|| quota::pool_of(&self.directory, &input, !op.unsigned))
            .flatten();
        self.limits
            .admit(category, pool.as_deref(), req.client_ip)
            .map_err(|_| ApiError::new("TooManyRequestsException", "Too many requests"))?;
        // Administrators' changes go to the user's audit trail once they succeed.
        let audited = if op.unsigned {
            None
        } else {
            ops::admin_change_target(self, &op.name, &input).await
        };
        let output = ops::call(self, &op.name, input, None).await?;
        if let Some(target) = &audited {
            ops::audit_admin(self, &op.name, target);
        }
        Ok(model::project_output(op, output).to_string())
    }

    /// Runs an operation for the operator's own tools (the seed file), never reachable over
    /// HTTP: the same input check and use cases as a request, without a signature. `fixed_id`
    /// names the pool (`CreateUserPool`) or client (`CreateUserPoolClient`) to make; making one
    /// that exists answers it as it is, so nodes applying one seed at once agree.
    pub async fn invoke(
        &self,
        operation: &str,
        input: Value,
        fixed_id: Option<&str>,
    ) -> Result<Value, ApiError> {
        let op = model::operation(operation).ok_or_else(ApiError::unknown_operation)?;
        model::check_input(op, &input)?;
        let output = ops::call(self, &op.name, input, fixed_id).await?;
        Ok(model::project_output(op, output))
    }

    /// Reloads this node's view of the pools after a write, so it reads its own writes at once
    /// (other nodes reload on their refresh interval).
    async fn reload(&self) {
        if let Err(e) = self.directory.refresh(&*self.store, self.clock.now()).await {
            tracing::error!(error = %e, "reloading the directory failed");
        }
    }
}

#[cfg(test)]
mod send_check {
    #[allow(dead_code)]
    fn handle_is_send(api: &super::Api, req: &super::Request<'_>) {
        fn send<T: Send>(_: T) {}
        send(api.handle(req));
    }
}
