//! Passkeys (W3C Web Authentication, https://www.w3.org/TR/webauthn-3/): a pool's relying party
//! (its ID, by default the pool's domain, and the origins on it), a user's passkeys registered
//! (`StartWebAuthnRegistration`, `CompleteWebAuthnRegistration`), listed and deleted, and the
//! `WEB_AUTHN` sign-in challenge. webauthn-rs-core verifies both ceremonies (origin, RP ID
//! hash, challenge, user presence and verification, signature, counter); the state between
//! their halves is a pending step in the store, so any node finishes what another began.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, Credential, PublicKeyCredential, RegisterPublicKeyCredential,
    RegistrationState, UserVerificationPolicy,
};

use super::audit::{Challenge as Audited, Event, EventKind, Outcome};
use super::steps::{Next, StepData};
use super::{Auth, AuthError, AuthResult, ErrorKind};
use crate::crypto::TokenHash;
use crate::directory::PoolView;
use crate::model::UserStatus;
use crate::store::{ChallengeRecord, ClientRecord, PasskeyRecord, PendingKind, UserRecord};

/// Passkeys a user may hold (Cognito's limit).
pub const MAX_PASSKEYS: usize = 20;
/// How long a registration waits for its authenticator.
const REGISTRATION_SECS: i64 = 300;

/// Whether `id` can be a relying party ID: a domain name, without scheme, port or path.
pub fn is_rp_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 127
        && id
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63)
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !id.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// A pool's relying party: its ID and the verifier of its ceremonies.
pub struct RelyingParty {
    pub id: String,
    core: WebauthnCore,
    policy: UserVerificationPolicy,
}

impl RelyingParty {
    /// The relying party `id`, whose origins are `https://{id}` and its subdomains (any port),
    /// and, for `localhost`, `http://localhost` too (browsers treat it as secure).
    pub fn new(id: &str, requires_user_verification: bool, timeout_secs: i64) -> Option<Self> {
        if !is_rp_id(id) {
            return None;
        }
        let mut origins = vec![url::Url::parse(&format!("https://{id}")).ok()?];
        if id == "localhost" {
            origins.push(url::Url::parse("http://localhost").ok()?);
        }
        let core = WebauthnCore::new_unsafe_experts_only(
            id,
            id,
            origins,
            Duration::from_secs(timeout_secs.max(1) as u64),
            Some(true),
            Some(true),
        );
        let policy = if requires_user_verification {
            UserVerificationPolicy::Required
        } else {
            UserVerificationPolicy::Preferred
        };
        Some(Self {
            id: id.to_string(),
            core,
            policy,
        })
    }
}

/// A ceremony's refusal in Cognito's words.
fn refusal(e: &WebauthnError, registering: bool) -> AuthError {
    use WebauthnError as W;
    let (kind, message) = match e {
        W::InvalidRPOrigin => (
            ErrorKind::WebAuthnOriginNotAllowed,
            "The origin of the WebAuthn response is not allowed for this relying party.",
        ),
        W::InvalidRPIDHash => (
            ErrorKind::WebAuthnRelyingPartyMismatch,
            "The WebAuthn response is for another relying party.",
        ),
        W::MismatchedChallenge | W::ChallengeNotFound => (
            ErrorKind::WebAuthnChallengeNotFound,
            "The WebAuthn response does not answer the challenge that was issued.",
        ),
        W::UserNotVerified => (
            ErrorKind::NotAuthorized,
            "The authenticator did not verify the user, and this user pool requires it.",
        ),
        W::CredentialInsecureCryptography
        | W::COSEKeyInvalidAlgorithm
        | W::CredentialAlteredAlgFromRequest
        | W::AttestationNotSupported => (
            ErrorKind::WebAuthnCredentialNotSupported,
            "This kind of credential is not supported.",
        ),
        _ if registering => (
            ErrorKind::InvalidParameter,
            "The WebAuthn registration response is not valid.",
        ),
        _ => (ErrorKind::NotAuthorized, "Incorrect username or password."),
    };
    // At sign-in every refusal reads as a failed sign-in: `RespondToAuthChallenge` has no
    // WebAuthn exceptions.
    let kind = if registering {
        kind
    } else {
        ErrorKind::NotAuthorized
    };
    AuthError::new(kind, message)
}

fn not_enabled() -> AuthError {
    AuthError::new(
        ErrorKind::WebAuthnNotEnabled,
        "Passkeys are not enabled for this user pool: WEB_AUTHN is not in its AllowedFirstAuthFactors.",
    )
}

/// Longest credential ID accepted (WebAuthn Level 3, §7.1 step 22).
const MAX_CREDENTIAL_ID: usize = 1023;
/// Largest verifier state kept for one passkey (an RSA-4096 key is well under it).
const MAX_CREDENTIAL_STATE: usize = 16 * 1024;
/// The transports WebAuthn names (`AuthenticatorTransport`); others are dropped.
const TRANSPORTS: [&str; 6] = ["usb", "nfc", "ble", "smart-card", "hybrid", "internal"];

/// Only the pool's own confirmed users hold passkeys: a federated user's provider signs them
/// in, and a user who owes a confirmation or a new password settles that first.
fn may_hold_passkeys(user: &UserRecord) -> AuthResult<()> {
    if user.status == UserStatus::Confirmed {
        Ok(())
    } else {
        Err(AuthError::new(
            ErrorKind::NotAuthorized,
            "Passkeys are for the user pool's own confirmed users.",
        ))
    }
}

/// A user handle is the user's `sub`, as bytes.
fn user_handle(user: &UserRecord) -> Vec<u8> {
    user.sub.as_bytes().to_vec()
}

fn credential_of(p: &PasskeyRecord) -> Option<Credential> {
    serde_json::from_str(&p.credential).ok()
}

impl Auth {
    /// The key of a user's pending registration (keyed, so no request can name it): one at a
    /// time, a new start replaces it.
    fn registration_key(&self, pool_id: &str, username: &str) -> TokenHash {
        TokenHash::keyed(
            &self.code_key,
            "passkey registration",
            &format!("{pool_id}\u{0}{username}"),
        )
    }

    /// The pool's relying party: `WebAuthnConfiguration.RelyingPartyId`, else `default_id` (the
    /// pool's domain host, chosen by the front door).
    pub fn relying_party(
        &self,
        view: &PoolView,
        default_id: Option<&str>,
        timeout_secs: i64,
    ) -> AuthResult<RelyingParty> {
        let config = view.pool.config.web_authn();
        let id = config.relying_party_id.as_deref().or(default_id);
        id.and_then(|id| {
            RelyingParty::new(id, config.requires_user_verification(), timeout_secs)
        })
        .ok_or_else(|| {
            AuthError::new(
                ErrorKind::WebAuthnConfigurationMissing,
                "The user pool has no relying party ID for passkeys: set WebAuthnConfiguration.RelyingPartyId or give the pool a domain.",
            )
        })
    }

    /// `StartWebAuthnRegistration`: the creation options for the user's next passkey (a
    /// discoverable credential, excluding those they have), and its pending state.
    pub async fn start_passkey_registration(
        &self,
        view: &PoolView,
        user: &UserRecord,
        default_rp_id: Option<&str>,
    ) -> AuthResult<Value> {
        if !view.pool.config.allows_first_factor("WEB_AUTHN") {
            return Err(not_enabled());
        }
        may_hold_passkeys(user)?;
        let rp = self.relying_party(view, default_rp_id, REGISTRATION_SECS)?;
        let existing = self
            .store
            .list_passkeys(&view.pool.id, &user.username)
            .await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(AuthError::new(
                ErrorKind::LimitExceeded,
                format!("A user can register at most {MAX_PASSKEYS} passkeys."),
            ));
        }
        let exclude = existing
            .iter()
            .filter_map(credential_of)
            .map(|c| c.cred_id)
            .collect::<Vec<_>>();
        let name = &user.username;
        let display = user
            .attributes
            .iter()
            .find(|a| a.name == "email")
            .map_or(name.as_str(), |a| a.value.as_str());
        let builder = rp
            .core
            .new_challenge_register_builder(&user_handle(user), name, display)
            .map_err(|e| refusal(&e, true))?
            .attestation(AttestationConveyancePreference::None)
            .user_verification_policy(rp.policy)
            .exclude_credentials(Some(exclude))
            .require_resident_key(true);
        let (options, state) = rp
            .core
            .generate_challenge_register(builder)
            .map_err(|e| refusal(&e, true))?;
        let now = self.clock.now();
        let key = self.registration_key(&view.pool.id, &user.username);
        self.store.take_challenge(&key).await?;
        let payload = serde_json::json!({ "rp_id": rp.id, "state": state });
        self.store
            .insert_challenge(&ChallengeRecord {
                hash: key,
                pool_id: view.pool.id.clone(),
                username: user.username.clone(),
                kind: PendingKind::PasskeyRegistration,
                payload: payload.to_string(),
                created_at: now,
                expires_at: now + REGISTRATION_SECS,
            })
            .await?;
        Ok(serde_json::to_value(options.public_key).expect("options serialize"))
    }

    /// `CompleteWebAuthnRegistration`: verifies the authenticator's answer to the pending
    /// registration (taken once) and keeps the new passkey.
    pub async fn complete_passkey_registration(
        &self,
        view: &PoolView,
        user: &UserRecord,
        credential: &Value,
    ) -> AuthResult<()> {
        if !view.pool.config.allows_first_factor("WEB_AUTHN") {
            return Err(not_enabled());
        }
        let missing = || {
            AuthError::new(
                ErrorKind::WebAuthnChallengeNotFound,
                "No passkey registration is waiting for this user: call StartWebAuthnRegistration first.",
            )
        };
        may_hold_passkeys(user)?;
        let key = self.registration_key(&view.pool.id, &user.username);
        let pending = self
            .store
            .take_challenge(&key)
            .await?
            .filter(|c| c.expires_at > self.clock.now() && c.pool_id == view.pool.id)
            .ok_or_else(missing)?;
        let payload: Value = serde_json::from_str(&pending.payload).map_err(|_| missing())?;
        let rp_id = payload["rp_id"].as_str().unwrap_or_default();
        let state: RegistrationState =
            serde_json::from_value(payload["state"].clone()).map_err(|_| missing())?;
        let rp = self
            .relying_party(view, Some(rp_id), REGISTRATION_SECS)
            .map_err(|_| missing())?;
        if rp.id != rp_id {
            return Err(AuthError::new(
                ErrorKind::WebAuthnRelyingPartyMismatch,
                "The pool's relying party changed since this registration began.",
            ));
        }
        let response: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| {
                AuthError::new(
                    ErrorKind::InvalidParameter,
                    format!("Credential is not a WebAuthn registration response: {e}"),
                )
            })?;
        let made = rp
            .core
            .register_credential(&response, &state, None)
            .map_err(|e| refusal(&e, true))?;
        let kept = serde_json::to_string(&made).expect("credential serializes");
        if made.cred_id.len() > MAX_CREDENTIAL_ID || kept.len() > MAX_CREDENTIAL_STATE {
            return Err(AuthError::new(
                ErrorKind::WebAuthnCredentialNotSupported,
                "This credential is too large.",
            ));
        }
        let transports: Vec<String> = credential
            .pointer("/response/transports")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .filter(|t| TRANSPORTS.contains(t))
                    .take(TRANSPORTS.len())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let attachment = credential
            .get("authenticatorAttachment")
            .and_then(Value::as_str)
            .filter(|a| ["platform", "cross-platform"].contains(a))
            .map(String::from);
        let record = PasskeyRecord {
            pool_id: view.pool.id.clone(),
            credential_id: URL_SAFE_NO_PAD.encode(made.cred_id.as_slice()),
            username: user.username.clone(),
            relying_party_id: rp.id.clone(),
            name: passkey_name(attachment.as_deref(), &transports),
            attachment,
            transports,
            credential: kept,
            created_at: self.clock.now(),
        };
        if !self.store.insert_passkey(&record).await? {
            return Err(AuthError::new(
                ErrorKind::WebAuthnCredentialNotSupported,
                "This passkey is registered already.",
            ));
        }
        Ok(())
    }

    /// The user's passkeys, oldest first.
    pub async fn passkeys(
        &self,
        view: &PoolView,
        username: &str,
    ) -> AuthResult<Vec<PasskeyRecord>> {
        Ok(self.store.list_passkeys(&view.pool.id, username).await?)
    }

    /// `DeleteWebAuthnCredential`: one of the user's own passkeys.
    pub async fn delete_passkey(
        &self,
        view: &PoolView,
        username: &str,
        credential_id: &str,
    ) -> AuthResult<()> {
        if self
            .store
            .delete_passkey(&view.pool.id, username, credential_id)
            .await?
        {
            Ok(())
        } else {
            Err(AuthError::new(
                ErrorKind::ResourceNotFound,
                "Credential not found.",
            ))
        }
    }

    /// The `WEB_AUTHN` challenge of a sign-in that began at `started_ms`: request options
    /// listing the user's `passkeys` for the pool's relying party, kept in a pending step.
    pub(super) async fn begin_passkey_sign_in(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: UserRecord,
        started_ms: i64,
        default_rp_id: Option<&str>,
        passkeys: Vec<PasskeyRecord>,
    ) -> AuthResult<Next> {
        let lifetime = crate::lifecycle::challenge_lifetime(client.config.auth_session_validity);
        let rp = self.relying_party(view, default_rp_id, lifetime)?;
        let credentials: Vec<Credential> = passkeys
            .iter()
            .filter(|p| p.relying_party_id == rp.id)
            .filter_map(credential_of)
            .collect();
        if credentials.is_empty() {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "WEB_AUTHN is not available for this user: they have no passkey for this relying party.",
            ));
        }
        let builder = rp
            .core
            .new_challenge_authenticate_builder(credentials, Some(rp.policy))
            .map_err(|e| refusal(&e, false))?;
        let (options, state) = rp
            .core
            .generate_challenge_authenticate(builder)
            .map_err(|e| refusal(&e, false))?;
        let options = serde_json::to_string(&options.public_key).expect("options serialize");
        let data = StepData {
            started_ms,
            passkey: Some(
                serde_json::json!({ "rp_id": rp.id, "state": state, "options": options }),
            ),
            ..StepData::default()
        };
        let mut next = self
            .begin_step(view, client, user, PendingKind::WebAuthn, &data)
            .await?;
        if let Next::Step(step) = &mut next {
            step.parameters
                .insert("CREDENTIAL_REQUEST_OPTIONS".into(), Value::String(options));
        }
        Ok(next)
    }

    /// The answer to a `WEB_AUTHN` challenge: the assertion (`CREDENTIAL`) checked against the
    /// step's options (taken once, so a challenge is never answered twice), the passkey's
    /// counter moved on every node, then signed in (a passkey is its own second factor).
    pub async fn answer_passkey(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        session: &str,
        credential: &str,
    ) -> AuthResult<Next> {
        let (step, user) = self
            .pending_step(view, client, session, &[PendingKind::WebAuthn])
            .await?
            .ok_or_else(AuthError::session_expired)?;
        self.take_step(&step).await?;
        may_hold_passkeys(&user)?;
        let data = StepData::of(&step);
        let pending = data.passkey.clone().unwrap_or_default();
        let rp_id = pending["rp_id"].as_str().unwrap_or_default().to_string();
        let failed = |e: AuthError| {
            let event = Event::new(
                &view.pool.id,
                &user.username,
                EventKind::SignIn,
                Outcome::Fail,
            )
            .challenges(&[Audited::Passkey(false)]);
            self.audit(event);
            e
        };
        let state = serde_json::from_value(pending["state"].clone())
            .map_err(|_| AuthError::session_expired())?;
        let response: PublicKeyCredential = serde_json::from_str(credential).map_err(|_| {
            failed(AuthError::new(
                ErrorKind::NotAuthorized,
                "CREDENTIAL is not a WebAuthn assertion.",
            ))
        })?;
        let lifetime = crate::lifecycle::challenge_lifetime(client.config.auth_session_validity);
        let rp = self
            .relying_party(view, Some(&rp_id), lifetime)
            .map_err(failed)?;
        let checked = rp
            .core
            .authenticate_credential(&response, &state)
            .map_err(|e| failed(refusal(&e, false)))?;
        // The user handle, when the authenticator gives one, names this user.
        if response
            .get_user_unique_id()
            .is_some_and(|h| h != user_handle(&user).as_slice())
        {
            return Err(failed(AuthError::new(
                ErrorKind::NotAuthorized,
                "Incorrect username or password.",
            )));
        }
        let config = view.pool.config.web_authn();
        if view.pool.config.mfa_configuration == crate::model::MfaConfiguration::On
            && !(config.verified_passkey_is_mfa() && checked.user_verified())
        {
            return Err(failed(AuthError::new(
                ErrorKind::NotAuthorized,
                "This user pool requires MFA: a passkey counts only when it verifies the user and WebAuthnConfiguration.FactorConfiguration is MULTI_FACTOR_WITH_USER_VERIFICATION.",
            )));
        }
        let id = URL_SAFE_NO_PAD.encode(checked.cred_id().as_slice());
        let record = self
            .passkeys(view, &user.username)
            .await?
            .into_iter()
            .find(|p| p.credential_id == id)
            .ok_or_else(|| failed(AuthError::session_expired()))?;
        let stored = credential_of(&record).ok_or_else(|| failed(AuthError::session_expired()))?;
        // Against the passkey as it is now (another sign-in may have moved it since this
        // challenge began): a counter in use must grow, or the key may be a clone's.
        if (checked.counter() > 0 || stored.counter > 0) && checked.counter() <= stored.counter {
            return Err(failed(AuthError::new(
                ErrorKind::NotAuthorized,
                "Incorrect username or password.",
            )));
        }
        if checked.needs_update() {
            let mut stored = stored;
            stored.counter = checked.counter();
            stored.backup_state = checked.backup_state();
            stored.backup_eligible = checked.backup_eligible();
            let new = serde_json::to_string(&stored).expect("credential serializes");
            // Two sign-ins with one counter value: the second is a clone's (or a replay).
            if !self
                .store
                .replace_passkey_credential(&view.pool.id, &id, &record.credential, &new)
                .await?
            {
                return Err(failed(AuthError::new(
                    ErrorKind::NotAuthorized,
                    "Incorrect username or password.",
                )));
            }
        }
        self.signed_in_or_device(view, client, user, data.started_ms, data.device_key)
            .await
    }
}

/// The request options (JSON) of a pending `WEB_AUTHN` step, for the page that runs it.
pub fn passkey_request_options(c: &ChallengeRecord) -> Option<String> {
    let data = StepData::of(c);
    data.passkey?.get("options")?.as_str().map(String::from)
}

/// A passkey's name until the user names it [I]: what kind of authenticator holds it.
fn passkey_name(attachment: Option<&str>, transports: &[String]) -> String {
    match attachment {
        Some("platform") => "Passkey on this device".into(),
        _ if transports.iter().any(|t| t == "hybrid") => "Passkey on a phone".into(),
        Some("cross-platform") => "Security key".into(),
        _ => "Passkey".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relying_party_ids_are_domain_names() {
        assert!(is_rp_id("localhost"));
        assert!(is_rp_id("auth.example.com"));
        for bad in [
            "",
            "https://example.com",
            "example.com:443",
            "127.0.0.1",
            "a..b",
            "x/y",
        ] {
            assert!(!is_rp_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_relying_party_allows_its_own_origins_only() {
        let rp = RelyingParty::new("example.com", true, 60).unwrap();
        let allowed = rp.core.get_allowed_origins();
        assert_eq!(allowed.len(), 1);
        let ok = |o: &str| {
            let o = url::Url::parse(o).unwrap();
            allowed
                .iter()
                .any(|a| WebauthnCore::origins_match(true, true, &o, a))
        };
        assert!(ok("https://example.com"));
        assert!(ok("https://app.example.com:8443"));
        assert!(!ok("http://example.com"));
        assert!(!ok("https://badexample.com"));
        let local = RelyingParty::new("localhost", false, 60).unwrap();
        assert_eq!(local.core.get_allowed_origins().len(), 2);
    }
}
