//! `USER_SRP_AUTH` and `DEVICE_SRP_AUTH`: the SRP-6a proofs (see [`crate::srp`]). The first
//! half answers the client's `SRP_A` with the salt, `SRP_B` and a `SECRET_BLOCK`; the second
//! checks the client's `PASSWORD_CLAIM_SIGNATURE` over it, once, on the user's lockout curve. A
//! user's proof goes on as a typed password does; a device's as its remembered status says.
//! Verifiers are kept sealed: the user's beside the Argon2 hash, a device's in its record.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::audit::EventKind;
use super::lockout;
use super::signin::{disabled, incorrect};
use super::steps::{Next, SignedIn, StepData};
use super::{Auth, AuthError, AuthResult, ErrorKind, find_user, reveals_unknown_users};
use crate::crypto::{TokenHash, keyed_digest, random_bytes};
use crate::directory::PoolView;
use crate::keys::MasterKey;
use crate::srp::{self, ServerSecret, Verifier};
use crate::store::{ClientRecord, DeviceRecord, PendingKind, UserRecord};
use crate::triggers::TriggerInput;

/// What a first half answers to `SRP_A` (`PASSWORD_VERIFIER`'s or
/// `DEVICE_PASSWORD_VERIFIER`'s challenge parameters).
#[derive(Debug)]
pub struct SrpChallenge {
    /// `USERNAME` and `USER_ID_FOR_SRP`: the name the user's verifier is computed over.
    pub username: String,
    pub salt_hex: String,
    pub srp_b_hex: String,
    /// Opaque to the client, which signs it; names the pending half on any node, once.
    pub secret_block: String,
    /// The device being proven (`DEVICE_KEY`), for a device's proof.
    pub device_key: Option<String>,
}

/// The pending half, sealed into its challenge record.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct SrpState {
    pub client_id: String,
    pub srp_a: String,
    pub srp_b: String,
    /// The server's ephemeral secret `b`, sealed under the master key.
    pub secret: String,
    /// The stand-in verifier (base64) of a name that matches no user or a user without a
    /// verifier: the proof is checked against it all the same (the same work), and fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stand_in: Option<String>,
    /// A device's proof (`DEVICE_PASSWORD_VERIFIER`) rather than the user's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proves_device: Option<String>,
    /// The lockout counter a wrong proof counts on: the user's, or the typed name's.
    pub lockout_key: String,
}

/// The holder name of a pending half for a name that matches no user (no user has it).
const UNKNOWN_HOLDER: &str = " unknown srp";

/// The pool's name as Cognito's SRP uses it: the part of the pool ID after `_`.
pub fn srp_realm(pool_id: &str) -> &str {
    pool_id.split_once('_').map_or(pool_id, |(_, name)| name)
}

fn verifier_context(pool_id: &str, username: &str) -> String {
    format!("userpool srp verifier/{pool_id}/{username}")
}

fn device_context(d: &DeviceRecord) -> String {
    format!(
        "userpool device verifier/{}/{}/{}",
        d.pool_id, d.username, d.device_key
    )
}

/// Makes and seals the SRP verifier of a new password (on the work queue, beside Argon2).
pub(super) fn sealed_verifier(
    master: &MasterKey,
    pool_id: &str,
    username: &str,
    password: &str,
) -> String {
    let v = srp::make_verifier(srp_realm(pool_id), username, password);
    master.seal_text(&v.to_bytes(), &verifier_context(pool_id, username))
}

/// Seals a device's verifier (as `ConfirmDevice` gives it) into its record.
pub(super) fn seal_device_verifier(master: &MasterKey, d: &DeviceRecord, v: &Verifier) -> String {
    master.seal_text(&v.to_bytes(), &device_context(d))
}

fn open_sealed(master: &MasterKey, sealed: Option<&str>, context: &str) -> Option<Verifier> {
    let bytes = master.open_text(sealed?, context);
    if bytes.is_none() {
        tracing::error!(context, "a sealed SRP verifier did not open");
    }
    Verifier::from_bytes(&bytes?)
}

fn open_verifier(master: &MasterKey, user: &UserRecord) -> Option<Verifier> {
    let context = verifier_context(&user.pool_id, &user.username);
    open_sealed(master, user.srp_verifier.as_deref(), &context)
}

pub(super) fn open_device_verifier(master: &MasterKey, d: &DeviceRecord) -> Option<Verifier> {
    open_sealed(master, d.verifier.as_deref(), &device_context(d))
}

fn secret_context(pool_id: &str, secret_block: &TokenHash) -> String {
    format!("userpool srp secret/{pool_id}/{}", secret_block.as_str())
}

/// Who a pending half proves, and with which verifier.
pub(super) struct Prover {
    /// The record's holder: the user's name, or a name no user has.
    pub holder: String,
    /// The SRP realm and name the verifier is computed over.
    pub realm: String,
    pub name: String,
    /// None: a stand-in is made for `name` (the same answer as for a real user).
    pub verifier: Option<Verifier>,
    pub device_key: Option<String>,
    pub lockout_key: String,
}

impl Auth {
    /// `USER_SRP_AUTH` with `SRP_A`: the salt and `SRP_B` of the user's verifier and a
    /// `SECRET_BLOCK`. A name that matches no user, or a user whose password predates
    /// verifiers, gets a stable stand-in (unless the client reveals unknown users), so the
    /// answer tells nothing; its proof then fails as a wrong password does. `device_key` is
    /// the device the client says it is on (`DEVICE_KEY`), proven after the password.
    pub async fn begin_srp(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        srp_a: &str,
        device_key: Option<&str>,
        passed: &TriggerInput,
    ) -> AuthResult<SrpChallenge> {
        let started_ms = self.clock.now_ms();
        let data = StepData {
            started_ms,
            device_key: device_key.map(String::from),
            ..StepData::default()
        };
        let user = find_user(&*self.store, view, typed).await?;
        if user.is_none() && reveals_unknown_users(client) {
            return Err(AuthError::new(
                ErrorKind::UserNotFound,
                "User does not exist.",
            ));
        }
        self.pre_authentication(view, client, user.as_ref(), typed, passed)
            .await?;
        self.srp_for(view, client, typed, user, srp_a, data).await
    }

    /// [`Auth::begin_srp`] within another flow (`CUSTOM_WITH_SRP`), whose checks ran.
    pub(super) async fn begin_srp_with(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        srp_a: &str,
        data: StepData,
    ) -> AuthResult<SrpChallenge> {
        let user = find_user(&*self.store, view, typed).await?;
        self.srp_for(view, client, typed, user, srp_a, data).await
    }

    async fn srp_for(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        user: Option<UserRecord>,
        srp_a: &str,
        data: StepData,
    ) -> AuthResult<SrpChallenge> {
        let realm = srp_realm(&view.pool.id).to_string();
        let prover = match &user {
            Some(u) => Prover {
                holder: u.username.clone(),
                realm,
                name: u.username.clone(),
                verifier: open_verifier(&self.master, u),
                device_key: None,
                lockout_key: lockout::user_key(&u.username),
            },
            None => Prover {
                holder: UNKNOWN_HOLDER.to_string(),
                realm,
                name: self.stand_in_name(view, typed),
                verifier: None,
                device_key: None,
                lockout_key: lockout::name_key(typed),
            },
        };
        self.pending_srp(view, client, prover, srp_a, data).await
    }

    /// Stores the first half of a proof by `prover` and answers it.
    pub(super) async fn pending_srp(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        prover: Prover,
        srp_a: &str,
        mut data: StepData,
    ) -> AuthResult<SrpChallenge> {
        if !srp::client_public_ok(srp_a) {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "SRP_A is not a valid SRP public value.",
            ));
        }
        let pool_id = &view.pool.id;
        let real = prover.verifier.is_some();
        let seed = self.code_key;
        let (realm, name, verifier) = (prover.realm, prover.name.clone(), prover.verifier);
        let (verifier, secret, srp_b) = self
            .cpu(move || {
                let v =
                    verifier.unwrap_or_else(|| srp::unknown_user_verifier(&seed, &realm, &name));
                let ephemeral = srp::server_ephemeral(&v);
                ephemeral.map(|(secret, b)| (v, secret, b))
            })
            .await?
            .ok_or_else(|| AuthError::new(ErrorKind::Internal, "Internal server error."))?;
        let mut block = [0u8; 48];
        random_bytes(&mut block);
        let secret_block = STANDARD.encode(block);
        let hash = TokenHash::of(&secret_block);
        data.client_id = Some(client.client_id.clone());
        data.srp = Some(SrpState {
            client_id: client.client_id.clone(),
            srp_a: srp_a.to_string(),
            srp_b: srp_b.clone(),
            secret: self
                .master
                .seal_text(&secret.to_bytes(), &secret_context(pool_id, &hash)),
            stand_in: (!real).then(|| STANDARD.encode(verifier.to_bytes())),
            proves_device: prover.device_key.clone(),
            lockout_key: prover.lockout_key.clone(),
        });
        let kind = PendingKind::PasswordVerifier;
        self.put_step(view, client, hash, &prover.holder, kind, &data)
            .await?;
        Ok(SrpChallenge {
            username: if prover.device_key.is_some() {
                prover.holder
            } else {
                prover.name
            },
            salt_hex: verifier.salt_hex(),
            srp_b_hex: srp_b,
            secret_block,
            device_key: prover.device_key,
        })
    }

    /// What an unknown name's challenge calls it, shaped as a real user's name would be: in
    /// pools that sign in by email or phone (or by an alias), a `sub`-like name derived from
    /// the typed one; else the typed name, lowercased where the pool ignores case.
    pub(super) fn stand_in_name(&self, view: &PoolView, typed: &str) -> String {
        let config = &view.pool.config;
        let typed = typed.trim();
        let by_alias =
            |attr: &str, shaped: bool| shaped && config.alias_attributes.iter().any(|a| a == attr);
        let named_by_sub = !config.username_attributes.is_empty()
            || by_alias("email", typed.contains('@'))
            || by_alias("phone_number", typed.starts_with('+'));
        if named_by_sub {
            let derived = keyed_digest(
                &self.code_key,
                "srp stand-in name",
                &format!("{}/{}", view.pool.id, typed.to_lowercase()),
            );
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&derived[..16]);
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string()
        } else if config.case_sensitive() {
            typed.to_string()
        } else {
            typed.to_lowercase()
        }
    }

    /// `PASSWORD_VERIFIER` and `DEVICE_PASSWORD_VERIFIER`: the client's proof over the
    /// `SECRET_BLOCK`, checked once, on the lockout curve of the user's password (or, for a
    /// name that matches no user, of that name). `typed` is the `USERNAME` sent with it, which
    /// must name the challenge's user; `device_key` is a `DEVICE_KEY` sent with the proof
    /// (clients that learn their device only after `InitiateAuth` send it here).
    #[allow(clippy::too_many_arguments)]
    pub async fn answer_srp(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        secret_block: &str,
        timestamp: &str,
        signature: &str,
        device_key: Option<&str>,
    ) -> AuthResult<Next> {
        let pool_id = &view.pool.id;
        let hash = TokenHash::of(secret_block);
        let now = self.clock.now();
        let challenge = match self.store.take_challenge(&hash).await? {
            Some(c)
                if c.pool_id == *pool_id
                    && c.kind == PendingKind::PasswordVerifier
                    && c.expires_at > now =>
            {
                c
            }
            _ => return Err(AuthError::session_expired()),
        };
        let mut data = StepData::of(&challenge);
        if let Some(key) = device_key {
            data.device_key = Some(key.to_string());
        }
        let Some(state) = data.srp.take().filter(|s| s.client_id == client.client_id) else {
            return Err(AuthError::session_expired());
        };
        // Read for every name (the holder of an unknown name's half matches no user): the
        // same work either way.
        let user = self.store.get_user(pool_id, &challenge.username).await?;
        if let Some(u) = &user
            && typed.trim() != u.username
            && find_user(&*self.store, view, typed)
                .await?
                .is_none_or(|named| named.username != u.username)
        {
            return Err(incorrect());
        }
        let user = user.filter(|_| state.stand_in.is_none());
        let device = match (&user, &state.proves_device) {
            (Some(u), Some(key)) => self.store.get_device(pool_id, &u.username, key).await?,
            _ => None,
        };
        if state.proves_device.is_some() && device.is_none() {
            return Err(AuthError::session_expired());
        }
        let key = state.lockout_key.clone();
        let (realm, srp_user, verifier) = match (&device, &state.stand_in) {
            (Some(d), _) => (
                d.group_key.clone(),
                d.device_key.clone(),
                open_device_verifier(&self.master, d),
            ),
            (None, Some(v)) => (
                srp_realm(pool_id).to_string(),
                String::new(),
                STANDARD
                    .decode(v)
                    .ok()
                    .and_then(|b| Verifier::from_bytes(&b)),
            ),
            (None, None) => (
                srp_realm(pool_id).to_string(),
                challenge.username.clone(),
                user.as_ref().and_then(|u| open_verifier(&self.master, u)),
            ),
        };
        let secret = self
            .master
            .open_text(&state.secret, &secret_context(pool_id, &hash))
            .and_then(|b| ServerSecret::from_bytes(&b));
        let can_sign_in = user.is_some() && state.stand_in.is_none();
        let (block, timestamp, signature) = (
            secret_block.to_string(),
            timestamp.to_string(),
            signature.to_string(),
        );
        let audited = user
            .as_ref()
            .filter(|_| state.stand_in.is_none())
            .map(|u| (u.username.as_str(), EventKind::SignIn));
        let right = self
            .guarded_check(pool_id, &key, audited, move || {
                let (Some(v), Some(b)) = (verifier, secret) else {
                    return false;
                };
                // The stand-in's proof is checked too: unknown names cost the same work.
                let proven =
                    srp::session_key(&v, &b, &state.srp_a, &state.srp_b).is_some_and(|k| {
                        srp::claim_matches(&k, &realm, &srp_user, &block, &timestamp, &signature)
                    });
                proven && can_sign_in
            })
            .await?;
        let Some(user) = user.filter(|_| right) else {
            return Err(incorrect());
        };
        if !user.enabled {
            return Err(disabled(client));
        }
        if let Some(custom) = data.custom.take() {
            return self
                .custom_after_password(view, client, user, custom, data.started_ms)
                .await;
        }
        match device {
            Some(d) => self.device_proven(user, d, data).await,
            None => {
                self.password_accepted(view, client, user, data.started_ms, data.device_key)
                    .await
            }
        }
    }

    /// A device proved: the last step of its sign-in (MFA came before, or the remembered
    /// device stood in for it).
    async fn device_proven(
        &self,
        user: UserRecord,
        mut device: DeviceRecord,
        data: StepData,
    ) -> AuthResult<Next> {
        let now = self.clock.now();
        device.last_authenticated_at = now;
        device.updated_at = now;
        self.store.update_device(&device).await?;
        Ok(Next::Done(SignedIn {
            user,
            provider: None,
            started_ms: data.started_ms,
            device_key: Some(device.device_key),
        }))
    }
}
