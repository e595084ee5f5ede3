//! `USER_SRP_AUTH`: the SRP-6a sign-in (see [`crate::srp`]). The first half answers the
//! client's `SRP_A` with the salt, `SRP_B` and a `SECRET_BLOCK`; the second checks the
//! client's `PASSWORD_CLAIM_SIGNATURE` over it on the password's lockout curve, then goes on as
//! after a typed password. Verifiers are kept sealed beside the Argon2 hash.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::lockout;
use super::signin::incorrect;
use super::steps::{Next, StepData};
use super::{Auth, AuthError, AuthResult, ErrorKind, find_user, reveals_unknown_users};
use crate::crypto::{TokenHash, random_bytes};
use crate::directory::PoolView;
use crate::keys::MasterKey;
use crate::lifecycle;
use crate::srp::{self, ServerSecret, Verifier};
use crate::store::{ChallengeRecord, ClientRecord, PendingKind, UserRecord};

/// What `InitiateAuth` answers to `SRP_A` (`PASSWORD_VERIFIER`'s challenge parameters).
#[derive(Debug)]
pub struct SrpChallenge {
    /// `USERNAME` and `USER_ID_FOR_SRP`: the name the verifier is computed over.
    pub username: String,
    pub salt_hex: String,
    pub srp_b_hex: String,
    /// Opaque to the client, which signs it; names the pending half on any node, once.
    pub secret_block: String,
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

fn open_verifier(master: &MasterKey, user: &UserRecord) -> Option<Verifier> {
    let sealed = user.srp_verifier.as_deref()?;
    let bytes = master.open_text(sealed, &verifier_context(&user.pool_id, &user.username));
    if bytes.is_none() {
        tracing::error!(user = %user.username, "a sealed SRP verifier did not open");
    }
    Verifier::from_bytes(&bytes?)
}

fn secret_context(pool_id: &str, secret_block: &TokenHash) -> String {
    format!("userpool srp secret/{pool_id}/{}", secret_block.as_str())
}

impl Auth {
    /// `USER_SRP_AUTH` with `SRP_A`: the salt and `SRP_B` of the user's verifier and a
    /// `SECRET_BLOCK`. A name that matches no user, or a user whose password predates
    /// verifiers, gets a stable stand-in (unless the client reveals unknown users), so the
    /// answer tells nothing; its proof then fails as a wrong password does.
    pub async fn begin_srp(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        srp_a: &str,
    ) -> AuthResult<SrpChallenge> {
        let started_ms = self.clock.now_ms();
        let pool_id = &view.pool.id;
        let user = find_user(&*self.store, view, typed).await?;
        if user.is_none() && reveals_unknown_users(client) {
            return Err(AuthError::new(
                ErrorKind::UserNotFound,
                "User does not exist.",
            ));
        }
        let realm = srp_realm(pool_id).to_string();
        let (holder, srp_user, verifier) = match &user {
            Some(u) => (
                u.username.clone(),
                u.username.clone(),
                open_verifier(&self.master, u),
            ),
            None => (UNKNOWN_HOLDER.to_string(), typed.trim().to_string(), None),
        };
        let real = verifier.is_some();
        let seed = self.code_key;
        let name = srp_user.clone();
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
        let state = SrpState {
            client_id: client.client_id.clone(),
            srp_a: srp_a.to_string(),
            srp_b: srp_b.clone(),
            secret: self
                .master
                .seal_text(&secret.to_bytes(), &secret_context(pool_id, &hash)),
            stand_in: (!real).then(|| STANDARD.encode(verifier.to_bytes())),
        };
        let now = self.clock.now();
        let lifetime = lifecycle::challenge_lifetime(client.config.auth_session_validity);
        let data = StepData {
            started_ms,
            client_id: Some(client.client_id.clone()),
            srp: Some(state),
            ..StepData::default()
        };
        self.store
            .insert_challenge(&ChallengeRecord {
                hash,
                pool_id: pool_id.clone(),
                username: holder,
                kind: PendingKind::PasswordVerifier,
                payload: serde_json::to_string(&data).expect("step data serializes"),
                created_at: now,
                expires_at: now + lifetime,
            })
            .await?;
        Ok(SrpChallenge {
            username: srp_user,
            salt_hex: verifier.salt_hex(),
            srp_b_hex: srp_b,
            secret_block,
        })
    }

    /// `PASSWORD_VERIFIER`: the client's proof over the `SECRET_BLOCK`, checked once, on the
    /// lockout curve of the user's password; a right proof goes on as a right password does.
    pub async fn answer_srp(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        secret_block: &str,
        timestamp: &str,
        signature: &str,
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
        let data = StepData::of(&challenge);
        let Some(state) = data.srp.filter(|s| s.client_id == client.client_id) else {
            return Err(AuthError::session_expired());
        };
        let user = match &state.stand_in {
            None => self.store.get_user(pool_id, &challenge.username).await?,
            Some(_) => None,
        };
        let key = match &user {
            Some(u) => lockout::user_key(&u.username),
            None => lockout::name_key(&challenge.username),
        };
        let verifier = match &state.stand_in {
            Some(v) => STANDARD
                .decode(v)
                .ok()
                .and_then(|b| Verifier::from_bytes(&b)),
            None => user.as_ref().and_then(|u| open_verifier(&self.master, u)),
        };
        let secret = self
            .master
            .open_text(&state.secret, &secret_context(pool_id, &hash))
            .and_then(|b| ServerSecret::from_bytes(&b));
        let can_sign_in = user.as_ref().is_some_and(|u| u.enabled);
        let realm = srp_realm(pool_id).to_string();
        let srp_user = user
            .as_ref()
            .map(|u| u.username.clone())
            .unwrap_or_default();
        let (block, timestamp, signature) = (
            secret_block.to_string(),
            timestamp.to_string(),
            signature.to_string(),
        );
        let right = self
            .guarded_check(pool_id, &key, move || {
                let (Some(v), Some(b)) = (verifier, secret) else {
                    return false;
                };
                // The stand-in's proof is checked too: unknown names cost the same work.
                srp::session_key(&v, &b, &state.srp_a, &state.srp_b).is_some_and(|k| {
                    srp::claim_matches(&k, &realm, &srp_user, &block, &timestamp, &signature)
                }) && can_sign_in
                    && state.stand_in.is_none()
            })
            .await?;
        match user.filter(|_| right) {
            Some(u) => {
                self.password_accepted(view, client, u, data.started_ms)
                    .await
            }
            None => Err(incorrect()),
        }
    }
}
