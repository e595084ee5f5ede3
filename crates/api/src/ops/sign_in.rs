//! The API's sign-in: `InitiateAuth`, `AdminInitiateAuth`, `RespondToAuthChallenge`,
//! `AdminRespondToAuthChallenge`, `GetTokensFromRefreshToken` and `RevokeToken`. The app client
//! and its `SECRET_HASH` identify the caller; the flows are core's (`Auth::sign_in`,
//! `begin_srp`/`answer_srp`, the steps), the tokens the token endpoint's (`oauth::token`).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use userpool_core::auth::{
    Begin, Challenge, CustomStart, Delivery, FirstFactor, Next, SignedIn, SrpChallenge,
};
use userpool_core::directory::PoolView;
use userpool_core::model::MfaFactor;
use userpool_core::oauth::grant::{Grant, TokenResponse, USER_ADMIN_SCOPE, new_event_id, new_uuid};
use userpool_core::oauth::token::{self, Issuing, TokenGrant};
use userpool_core::oauth::{ErrorCode, OAuthError};
use userpool_core::store::{ClientRecord, PendingKind, UserRecord};
use userpool_core::triggers::{TokenSource, TriggerInput};

use super::member;
use crate::{Api, ApiError};

/// The app client `ClientId` names, with its pool as this node sees it.
pub(super) async fn app_client(
    api: &Api,
    client_id: &str,
) -> Result<(Arc<PoolView>, ClientRecord), ApiError> {
    let found = |api: &Api| {
        let view = api.directory.snapshot().pool_of_client(client_id)?;
        let client = view.clients.get(client_id)?.clone();
        Some((view, client))
    };
    if let Some(found) = found(api) {
        return Ok(found);
    }
    // Made on another node a moment ago: read it before saying it does not exist.
    if api.store.find_client(client_id).await?.is_some() {
        api.reload().await;
        if let Some(found) = found(api) {
            return Ok(found);
        }
    }
    Err(ApiError::not_found(format!(
        "User pool client {client_id} does not exist."
    )))
}

/// A client with a secret must prove it with `SECRET_HASH` (Base64 HMAC-SHA256 of username
/// and client ID under the secret); clients without one send none that counts. A wrong hash
/// is a guess at the secret: counted per client and address, and past the budget that
/// address is refused before the hash is checked (as at the token endpoint).
pub(super) fn check_secret_hash(
    api: &Api,
    client: &ClientRecord,
    username: &str,
    given: Option<&str>,
) -> Result<(), ApiError> {
    if !client.has_secret() || given.is_none() {
        return verify_secret_hash(api, client, username, given);
    }
    let address = userpool_core::auth::audit::client_ip();
    if api
        .limits
        .client_refused(&client.client_id, address)
        .is_some()
    {
        return Err(ApiError::new(
            "TooManyRequestsException",
            "Too many requests",
        ));
    }
    let checked = verify_secret_hash(api, client, username, given);
    if checked.is_err() {
        api.limits.client_failed(&client.client_id, address);
    }
    checked
}

/// `check_secret_hash` without counting a wrong hash (for a first of two readings).
fn verify_secret_hash(
    api: &Api,
    client: &ClientRecord,
    username: &str,
    given: Option<&str>,
) -> Result<(), ApiError> {
    if !client.has_secret() {
        return Ok(());
    }
    let id = &client.client_id;
    match given {
        None => Err(ApiError::new(
            "NotAuthorizedException",
            format!("Client {id} is configured with secret but SECRET_HASH was not received"),
        )),
        Some(hash) if client.secret_hash_matches(&api.master, username, hash) => Ok(()),
        Some(_) => Err(ApiError::new(
            "NotAuthorizedException",
            format!("Unable to verify secret hash for client {id}"),
        )),
    }
}

/// The `ALLOW_*` setting each flow needs.
fn allowance(flow: &str) -> &'static str {
    match flow {
        "USER_SRP_AUTH" => "ALLOW_USER_SRP_AUTH",
        "USER_PASSWORD_AUTH" => "ALLOW_USER_PASSWORD_AUTH",
        "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => "ALLOW_REFRESH_TOKEN_AUTH",
        "CUSTOM_AUTH" => "ALLOW_CUSTOM_AUTH",
        "USER_AUTH" => "ALLOW_USER_AUTH",
        _ => "",
    }
}

/// A string map of the request (`AuthParameters`, `ChallengeResponses`).
fn parameters(input: &Value, name: &str) -> Result<HashMap<String, String>, ApiError> {
    Ok(member::<Option<HashMap<String, String>>>(input, name)?.unwrap_or_default())
}

fn required<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| ApiError::invalid_parameter(format!("Missing required parameter {name}")))
}

/// The `USERNAME` of a sign-in's parameters, proven by the client's `SECRET_HASH` over it.
fn named_user<'a>(
    api: &Api,
    client: &ClientRecord,
    params: &'a HashMap<String, String>,
) -> Result<&'a str, ApiError> {
    let username = required(params, "USERNAME")?;
    let hash = params.get("SECRET_HASH").map(String::as_str);
    check_secret_hash(api, client, username, hash)?;
    Ok(username)
}

/// Which door a sign-in came through: the admin operations (SigV4) allow the admin flows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Door {
    Public,
    Admin,
}

pub(super) async fn initiate(api: &Api, input: Value) -> Result<Value, ApiError> {
    run_initiate(api, input, Door::Public).await
}

pub(super) async fn admin_initiate(api: &Api, input: Value) -> Result<Value, ApiError> {
    run_initiate(api, input, Door::Admin).await
}

pub(super) async fn respond(api: &Api, input: Value) -> Result<Value, ApiError> {
    run_respond(api, input, Door::Public).await
}

pub(super) async fn admin_respond(api: &Api, input: Value) -> Result<Value, ApiError> {
    run_respond(api, input, Door::Admin).await
}

/// The client of an admin or a public request; an admin request names the pool too.
async fn client_of(
    api: &Api,
    input: &Value,
    door: Door,
) -> Result<(Arc<PoolView>, ClientRecord), ApiError> {
    let client_id: String = member(input, "ClientId")?;
    let (view, client) = app_client(api, &client_id).await?;
    if door == Door::Admin && member::<String>(input, "UserPoolId")? != view.pool.id {
        return Err(ApiError::not_found(format!(
            "User pool client {client_id} does not exist."
        )));
    }
    Ok((view, client))
}

async fn run_initiate(api: &Api, input: Value, door: Door) -> Result<Value, ApiError> {
    let (view, client) = client_of(api, &input, door).await?;
    let passed = super::passed(&input)?;
    let flow: String = member(&input, "AuthFlow")?;
    let params = parameters(&input, "AuthParameters")?;
    let public_flow = matches!(
        flow.as_str(),
        "USER_SRP_AUTH" | "USER_PASSWORD_AUTH" | "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN"
    );
    let admin_flow = matches!(
        flow.as_str(),
        "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" | "USER_SRP_AUTH"
    ) || matches!(flow.as_str(), "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN");
    let door_allows = match door {
        Door::Public => public_flow || matches!(flow.as_str(), "CUSTOM_AUTH" | "USER_AUTH"),
        Door::Admin => admin_flow || matches!(flow.as_str(), "CUSTOM_AUTH" | "USER_AUTH"),
    };
    if !door_allows {
        return Err(ApiError::invalid_parameter(format!(
            "Initiate Auth method not supported: {flow}"
        )));
    }
    if !client.config.allows_auth_flow(allowance(&flow)) {
        return Err(ApiError::invalid_parameter(format!(
            "{flow} flow not enabled for this client"
        )));
    }
    match flow.as_str() {
        "USER_PASSWORD_AUTH" | "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => {
            let username = named_user(api, &client, &params)?;
            let password = required(&params, "PASSWORD")?;
            let device = params.get("DEVICE_KEY").map(String::as_str);
            let next = api
                .auth
                .sign_in(&view, &client, username, password, device, &passed)
                .await?;
            answer(
                api,
                &view,
                &client,
                next,
                TokenSource::Authentication,
                &passed,
            )
            .await
        }
        "USER_SRP_AUTH" => {
            let username = named_user(api, &client, &params)?;
            let srp_a = required(&params, "SRP_A")?;
            let device = params.get("DEVICE_KEY").map(String::as_str);
            let c = api
                .auth
                .begin_srp(&view, &client, username, srp_a, device, &passed)
                .await?;
            Ok(verifier_challenge(&c))
        }
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => {
            let refresh_token = required(&params, "REFRESH_TOKEN")?;
            let secret_hash = params.get("SECRET_HASH").map(String::as_str);
            refresh(
                api,
                &view,
                &client,
                refresh_token,
                Proof::SecretHash(secret_hash),
                &passed,
            )
            .await
        }
        "CUSTOM_AUTH" => {
            let username = named_user(api, &client, &params)?;
            let srp_a = match params.get("CHALLENGE_NAME").map(String::as_str) {
                Some("SRP_A") => Some(required(&params, "SRP_A")?),
                _ => None,
            };
            let start = api
                .auth
                .begin_custom(&view, &client, username, srp_a, &passed)
                .await?;
            match start {
                CustomStart::Srp(c) => Ok(verifier_challenge(&c)),
                CustomStart::Next(next) => {
                    answer(
                        api,
                        &view,
                        &client,
                        *next,
                        TokenSource::Authentication,
                        &passed,
                    )
                    .await
                }
            }
        }
        "USER_AUTH" => {
            let username = named_user(api, &client, &params)?;
            let preferred = params.get("PREFERRED_CHALLENGE").map(String::as_str);
            let rp = super::passkeys::default_rp_id(api, &view);
            let begin = api
                .auth
                .begin_user_auth(&view, &client, username, preferred, Some(&rp))
                .await?;
            first_factor(api, &view, &client, begin, username, &params, &passed).await
        }
        _ => Err(ApiError::invalid_parameter(format!(
            "{flow} flow not enabled for this client"
        ))),
    }
}

/// Where a `USER_AUTH` step leads, in the API's shape: a password proof run with the
/// parameters given beside it (`PASSWORD`, or `SRP_A`), or the next challenge.
async fn first_factor(
    api: &Api,
    view: &PoolView,
    client: &ClientRecord,
    begin: Begin,
    username: &str,
    params: &HashMap<String, String>,
    passed: &TriggerInput,
) -> Result<Value, ApiError> {
    let next = match begin {
        Begin::Next(next) => *next,
        Begin::Password(FirstFactor::PasswordSrp) => {
            let srp_a = required(params, "SRP_A")?;
            let device = params.get("DEVICE_KEY").map(String::as_str);
            let c = api
                .auth
                .begin_srp(view, client, username, srp_a, device, passed)
                .await?;
            return Ok(verifier_challenge(&c));
        }
        Begin::Password(_) => {
            let password = required(params, "PASSWORD")?;
            let device = params.get("DEVICE_KEY").map(String::as_str);
            api.auth
                .sign_in(view, client, username, password, device, passed)
                .await?
        }
    };
    answer(api, view, client, next, TokenSource::Authentication, passed).await
}

async fn run_respond(api: &Api, input: Value, door: Door) -> Result<Value, ApiError> {
    let (view, client) = client_of(api, &input, door).await?;
    let passed = super::passed(&input)?;
    let mut source = TokenSource::Authentication;
    let name: String = member(&input, "ChallengeName")?;
    let responses = parameters(&input, "ChallengeResponses")?;
    let session: Option<String> = member(&input, "Session")?;
    let session_given = session.clone();
    let username = named_user(api, &client, &responses)?;
    // A session's answer names the session's user.
    if let Some(s) = session.as_deref()
        && !api.auth.step_is_for(&view, s, username).await?
    {
        return Err(ApiError::new(
            "NotAuthorizedException",
            "Invalid session for the user, session is expired.",
        ));
    }
    let session = || {
        session
            .as_deref()
            .ok_or_else(|| ApiError::invalid_parameter("Missing required parameter Session"))
    };
    let next = match name.as_str() {
        "DEVICE_SRP_AUTH" => {
            let c = api
                .auth
                .begin_device_srp(
                    &view,
                    &client,
                    username,
                    session_given.as_deref(),
                    required(&responses, "DEVICE_KEY")?,
                    required(&responses, "SRP_A")?,
                )
                .await?;
            return Ok(verifier_challenge(&c));
        }
        "PASSWORD_VERIFIER" | "DEVICE_PASSWORD_VERIFIER" => {
            if name == "DEVICE_PASSWORD_VERIFIER" {
                source = TokenSource::AuthenticateDevice;
            }
            api.auth
                .answer_srp(
                    &view,
                    &client,
                    username,
                    required(&responses, "PASSWORD_CLAIM_SECRET_BLOCK")?,
                    required(&responses, "TIMESTAMP")?,
                    required(&responses, "PASSWORD_CLAIM_SIGNATURE")?,
                    responses.get("DEVICE_KEY").map(String::as_str),
                )
                .await?
        }
        "NEW_PASSWORD_REQUIRED" => {
            let password = required(&responses, "NEW_PASSWORD")?;
            let attributes: Vec<_> = responses
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix("userAttributes.").map(|name| {
                        userpool_core::model::AttributeType {
                            name: name.to_string(),
                            value: v.clone(),
                        }
                    })
                })
                .collect();
            source = TokenSource::NewPasswordChallenge;
            api.auth
                .set_new_password(&view, &client, session()?, password, &attributes)
                .await?
        }
        "SELECT_CHALLENGE" => {
            let choice = required(&responses, "ANSWER")?;
            let rp = super::passkeys::default_rp_id(api, &view);
            let begin = api
                .auth
                .choose_first_factor(&view, &client, session()?, choice, Some(&rp))
                .await?;
            return first_factor(api, &view, &client, begin, username, &responses, &passed).await;
        }
        "WEB_AUTHN" => {
            let credential = required(&responses, "CREDENTIAL")?;
            api.auth
                .answer_passkey(&view, &client, session()?, credential)
                .await?
        }
        "SOFTWARE_TOKEN_MFA" | "SMS_MFA" | "EMAIL_OTP" | "SMS_OTP" => {
            let (factor, field) = match name.as_str() {
                "SMS_MFA" => (MfaFactor::Sms, "SMS_MFA_CODE"),
                "SMS_OTP" => (MfaFactor::Sms, "SMS_OTP_CODE"),
                "EMAIL_OTP" => (MfaFactor::Email, "EMAIL_OTP_CODE"),
                _ => (MfaFactor::SoftwareToken, "SOFTWARE_TOKEN_MFA_CODE"),
            };
            let code = required(&responses, field)?;
            api.auth
                .verify_mfa(&view, &client, session()?, code, Some(factor))
                .await?
        }
        "SELECT_MFA_TYPE" => {
            let answer = required(&responses, "ANSWER")?;
            let factor = [MfaFactor::Sms, MfaFactor::SoftwareToken, MfaFactor::Email]
                .into_iter()
                .find(|f| f.as_str() == answer)
                .ok_or_else(|| {
                    ApiError::invalid_parameter(format!("{answer} is not an MFA type"))
                })?;
            api.auth
                .select_mfa(&view, &client, session()?, factor)
                .await?
        }
        "MFA_SETUP" => Next::Done(api.auth.take_signed_in(&view, &client, session()?).await?),
        "CUSTOM_CHALLENGE" => {
            let answer = required(&responses, "ANSWER")?;
            api.auth
                .answer_custom(&view, &client, session()?, answer, &passed)
                .await?
        }
        _ => {
            return Err(ApiError::invalid_parameter(format!(
                "The challenge {name} is not one this sign-in is waiting for"
            )));
        }
    };
    answer(api, &view, &client, next, source, &passed).await
}

/// `PASSWORD_VERIFIER` (or, for a device's proof, `DEVICE_PASSWORD_VERIFIER`) with the salt,
/// `SRP_B` and `SECRET_BLOCK` the client signs over.
fn verifier_challenge(c: &SrpChallenge) -> Value {
    let mut params = json!({
        "SALT": c.salt_hex,
        "SECRET_BLOCK": c.secret_block,
        "SRP_B": c.srp_b_hex,
        "USERNAME": c.username,
    });
    let name = match &c.device_key {
        Some(key) => {
            params["DEVICE_KEY"] = json!(key);
            "DEVICE_PASSWORD_VERIFIER"
        }
        None => {
            params["USER_ID_FOR_SRP"] = json!(c.username);
            "PASSWORD_VERIFIER"
        }
    };
    // The client answers with the `SECRET_BLOCK`, which names the pending half: no session.
    json!({ "ChallengeName": name, "ChallengeParameters": params })
}

/// What a sign-in leads to, in the API's shape: the next challenge, or the tokens.
pub(super) async fn answer(
    api: &Api,
    view: &PoolView,
    client: &ClientRecord,
    next: Next,
    source: TokenSource,
    passed: &TriggerInput,
) -> Result<Value, ApiError> {
    match next {
        Next::Done(signed_in) => {
            api.auth
                .post_authentication(view, client, &signed_in, passed)
                .await?;
            let issuing = Issuing {
                triggers: &api.auth.triggers,
                source,
                metadata: passed.client_metadata.as_ref(),
            };
            let (tokens, new_device) = issue(api, view, client, &signed_in, issuing).await?;
            let mut result = authentication_result(&tokens);
            if let Some((key, group)) = new_device {
                result["NewDeviceMetadata"] = json!({ "DeviceKey": key, "DeviceGroupKey": group });
            }
            Ok(json!({ "ChallengeParameters": {}, "AuthenticationResult": result }))
        }
        Next::Step(step) => Ok(challenge(view, &step)),
    }
}

/// A step as `ChallengeName`, `Session` and `ChallengeParameters`.
fn challenge(view: &PoolView, step: &Challenge) -> Value {
    let user = &step.user;
    let mut params = Map::new();
    params.insert("USER_ID_FOR_SRP".into(), json!(user.username));
    let name = match step.kind {
        PendingKind::NewPassword => {
            let attributes: Map<String, Value> = user
                .attributes
                .iter()
                .filter(|a| !a.name.ends_with("_verified") && a.name != "identities")
                .map(|a| (a.name.clone(), json!(a.value)))
                .collect();
            let missing: Vec<String> = view
                .pool
                .config
                .required_attributes()
                .into_iter()
                .filter(|r| !user.attributes.iter().any(|a| &a.name == r))
                .map(|r| format!("userAttributes.{r}"))
                .collect();
            params.insert(
                "userAttributes".into(),
                json!(Value::Object(attributes).to_string()),
            );
            params.insert(
                "requiredAttributes".into(),
                json!(json!(missing).to_string()),
            );
            "NEW_PASSWORD_REQUIRED"
        }
        PendingKind::DeviceSrp => "DEVICE_SRP_AUTH",
        PendingKind::SelectMfa => {
            let names: Vec<&str> = step.choices.iter().map(|f| f.as_str()).collect();
            params.insert("MFAS_CAN_CHOOSE".into(), json!(json!(names).to_string()));
            "SELECT_MFA_TYPE"
        }
        PendingKind::SelectChallenge => {
            return json!({
                "ChallengeName": "SELECT_CHALLENGE",
                "Session": step.session,
                "ChallengeParameters": {},
                "AvailableChallenges": step.available,
            });
        }
        PendingKind::SignInCode => {
            let factor = step.factor.unwrap_or(MfaFactor::Email);
            let (medium, destination) = code_destination(user, factor);
            params.remove("USER_ID_FOR_SRP");
            params.insert("CODE_DELIVERY_DELIVERY_MEDIUM".into(), json!(medium));
            params.insert("CODE_DELIVERY_DESTINATION".into(), json!(destination));
            if factor == MfaFactor::Email {
                "EMAIL_OTP"
            } else {
                "SMS_OTP"
            }
        }
        PendingKind::WebAuthn => {
            params.remove("USER_ID_FOR_SRP");
            for (k, v) in &step.parameters {
                params.insert(k.clone(), v.clone());
            }
            "WEB_AUTHN"
        }
        PendingKind::Mfa => match step.factor {
            Some(factor @ (MfaFactor::Email | MfaFactor::Sms)) => {
                let (medium, destination) = code_destination(user, factor);
                params.insert("CODE_DELIVERY_DELIVERY_MEDIUM".into(), json!(medium));
                params.insert("CODE_DELIVERY_DESTINATION".into(), json!(destination));
                factor.as_str()
            }
            _ => "SOFTWARE_TOKEN_MFA",
        },
        PendingKind::MfaSetup => {
            params.insert("MFAS_CAN_SETUP".into(), json!(r#"["SOFTWARE_TOKEN_MFA"]"#));
            "MFA_SETUP"
        }
        PendingKind::CustomChallenge => {
            // The trigger's public parameters, and the name the answer must give.
            params.remove("USER_ID_FOR_SRP");
            for (k, v) in &step.parameters {
                params.insert(k.clone(), v.clone());
            }
            params.insert("USERNAME".into(), json!(user.username));
            "CUSTOM_CHALLENGE"
        }
        _ => "SOFTWARE_TOKEN_MFA",
    };
    json!({
        "ChallengeName": name,
        "Session": step.session,
        "ChallengeParameters": params,
    })
}

/// Where an MFA code went, masked as Cognito masks it: `EMAIL` and `a***@e***`, or `SMS` and
/// the phone number's last four digits (`+*******1234`).
fn code_destination(user: &UserRecord, factor: MfaFactor) -> (&'static str, String) {
    let attribute = match factor {
        MfaFactor::Email => "email",
        _ => "phone_number",
    };
    let to = Delivery::of(user, attribute).unwrap_or_else(|| match factor {
        MfaFactor::Email => Delivery::Email(String::new()),
        _ => Delivery::Sms(String::new()),
    });
    (to.medium(), to.masked())
}

/// The tokens of a finished sign-in, from a new token family (what `/oauth2/token` issues
/// for a code, with the scope of the user's own operations), and the new device a sign-in
/// that proved none gets where the pool tracks devices.
async fn issue(
    api: &Api,
    view: &PoolView,
    client: &ClientRecord,
    signed_in: &SignedIn,
    issuing: Issuing<'_>,
) -> Result<(TokenResponse, Option<(String, String)>), ApiError> {
    if signed_in.cut_off() {
        return Err(ApiError::new(
            "NotAuthorizedException",
            "Invalid session for the user, session is expired.",
        ));
    }
    let new_device = match &signed_in.device_key {
        Some(_) => None,
        None => api.auth.track_new_device(view, &signed_in.user).await?,
    };
    let device_key = signed_in
        .device_key
        .clone()
        .or_else(|| new_device.as_ref().map(|(key, _)| key.clone()));
    let now = api.clock.now();
    let grant = Grant {
        client_id: client.client_id.clone(),
        username: signed_in.user.username.clone(),
        scopes: vec![USER_ADMIN_SCOPE.to_string()],
        auth_time: now,
        nonce: None,
        redirect_uri: None,
        code_challenge: None,
        origin_jti: new_uuid(),
        event_id: new_event_id(signed_in.started_ms),
        via_api: true,
        device_key,
    };
    let tokens = token::start_tokens(
        &*api.store,
        view,
        client,
        &signed_in.user,
        &grant,
        now,
        issuing,
    )
    .await
    .map_err(oauth_error)?
    .ok_or_else(ApiError::internal)?;
    Ok((tokens, new_device))
}

/// `AuthenticationResultType`.
fn authentication_result(tokens: &TokenResponse) -> Value {
    json!({
        "AccessToken": tokens.access_token,
        "ExpiresIn": tokens.expires_in,
        "TokenType": tokens.token_type,
        "RefreshToken": tokens.refresh_token,
        "IdToken": tokens.id_token,
    })
}

/// How a refresh proves its client: `SECRET_HASH` (over the token's user) in
/// `InitiateAuth`, the secret itself in `GetTokensFromRefreshToken`.
enum Proof<'a> {
    SecretHash(Option<&'a str>),
    Secret(Option<&'a str>),
}

/// `REFRESH_TOKEN_AUTH` and `GetTokensFromRefreshToken`: the token endpoint's refresh grant,
/// its rotation rules included; every refusal is Cognito's "Invalid Refresh Token".
async fn refresh(
    api: &Api,
    view: &PoolView,
    client: &ClientRecord,
    refresh_token: &str,
    proof: Proof<'_>,
    passed: &TriggerInput,
) -> Result<Value, ApiError> {
    match proof {
        Proof::SecretHash(given) if client.has_secret() => {
            // Over the token's user: their username, or their `sub` (which clients of pools
            // that sign in by email use). An unknown token fails below, as any does.
            let holder = token::refresh_holder(&*api.store, refresh_token)
                .await
                .map_err(oauth_error)?;
            let (username, sub) = holder.unwrap_or_default();
            if verify_secret_hash(api, client, &sub, given).is_err() && !username.is_empty() {
                check_secret_hash(api, client, &username, given)?;
            }
        }
        Proof::Secret(given) => client_secret(api, client, given)?,
        Proof::SecretHash(_) => {}
    }
    let grant = TokenGrant::RefreshToken {
        refresh_token: refresh_token.to_string(),
    };
    let now = api.clock.now();
    let metadata = passed.client_metadata.as_ref();
    let tokens = token::exchange(
        &*api.store,
        view,
        client,
        grant,
        now,
        &api.auth.triggers,
        metadata,
    )
    .await
    .map_err(|e| match e.code {
        ErrorCode::InvalidGrant => ApiError::new("NotAuthorizedException", "Invalid Refresh Token"),
        _ => oauth_error(e),
    })?;
    Ok(json!({
        "ChallengeParameters": {},
        "AuthenticationResult": authentication_result(&tokens),
    }))
}

/// A client with a secret presents one of its secrets (`ClientSecret`).
fn client_secret(api: &Api, client: &ClientRecord, given: Option<&str>) -> Result<(), ApiError> {
    let ok = match given {
        Some(secret) => client.has_secret() && client.secret_matches(&api.master, secret),
        None => !client.has_secret(),
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            "NotAuthorizedException",
            format!(
                "Client {} is configured with secret but the secret given does not match",
                client.client_id
            ),
        ))
    }
}

pub(super) async fn get_tokens_from_refresh_token(
    api: &Api,
    input: Value,
) -> Result<Value, ApiError> {
    let (view, client) = app_client(api, &member::<String>(&input, "ClientId")?).await?;
    if !client.config.allows_auth_flow("ALLOW_REFRESH_TOKEN_AUTH") {
        return Err(ApiError::invalid_parameter(
            "REFRESH_TOKEN_AUTH flow not enabled for this client",
        ));
    }
    let refresh_token: String = member(&input, "RefreshToken")?;
    let secret: Option<String> = member(&input, "ClientSecret")?;
    let answer = refresh(
        api,
        &view,
        &client,
        &refresh_token,
        Proof::Secret(secret.as_deref()),
        &super::passed(&input)?,
    )
    .await?;
    Ok(answer
        .get("AuthenticationResult")
        .map(|r| json!({ "AuthenticationResult": r }))
        .unwrap_or_default())
}

pub(super) async fn revoke_token(api: &Api, input: Value) -> Result<Value, ApiError> {
    let (_, client) = app_client(api, &member::<String>(&input, "ClientId")?).await?;
    let secret: Option<String> = member(&input, "ClientSecret")?;
    client_secret(api, &client, secret.as_deref())?;
    let token_value: String = member(&input, "Token")?;
    token::revoke(&*api.store, &client, Some(&token_value), api.clock.now())
        .await
        .map_err(|e| match e.code {
            ErrorCode::UnsupportedTokenType => ApiError::new(
                "UnsupportedTokenTypeException",
                "Only refresh tokens can be revoked.",
            ),
            ErrorCode::InvalidRequest => ApiError::new(
                "UnsupportedOperationException",
                "Token revocation is not enabled for this client.",
            ),
            _ => oauth_error(e),
        })?;
    Ok(json!({}))
}

/// A token-endpoint refusal the API has no closer name for.
fn oauth_error(e: OAuthError) -> ApiError {
    if let Some(exception) = e.exception {
        return ApiError::new(exception, e.description.unwrap_or_default());
    }
    match e.code {
        ErrorCode::ServerError => ApiError::internal(),
        _ => ApiError::new(
            "NotAuthorizedException",
            e.description
                .map(|d| d.to_string())
                .unwrap_or_else(|| e.code.as_str().to_string()),
        ),
    }
}
