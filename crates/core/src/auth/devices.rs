//! Remembered devices, under the pool's `DeviceConfiguration`: a sign-in that names no known
//! device gets a new one (`NewDeviceMetadata`), which the client confirms with its own SRP
//! verifier (`ConfirmDevice`); a later sign-in naming a confirmed device proves it
//! (`DEVICE_SRP_AUTH`, then `DEVICE_PASSWORD_VERIFIER`), and a remembered device stands in for
//! MFA. The user (or an administrator) lists, renames the status of, and forgets devices.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::lockout;
use super::srp_flow::{Prover, SrpChallenge, open_device_verifier, seal_device_verifier};
use super::steps::{Challenge, Next, SignedIn, StepData};
use super::{Auth, AuthError, AuthResult, ErrorKind, find_user};
use crate::crypto::{TokenHash, random_string, random_token};
use crate::directory::PoolView;
use crate::oauth::grant::new_uuid;
use crate::srp::Verifier;
use crate::store::{ClientRecord, DeviceRecord, PendingKind, UserRecord};

/// The pool's `DeviceConfiguration`: devices are tracked once it is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceSettings {
    /// Remembered devices authenticate instead of MFA; new ones pass MFA.
    pub challenge_required_on_new_device: bool,
    /// Devices are remembered only when the user says so (`UpdateDeviceStatus`).
    pub only_remembered_on_user_prompt: bool,
}

impl DeviceSettings {
    /// The settings of `view`'s pool, if it tracks devices.
    pub fn of(view: &PoolView) -> Option<Self> {
        let config = view.pool.config.device_configuration.as_ref()?;
        let flag = |name: &str| config.get(name).and_then(Value::as_bool).unwrap_or(false);
        Some(Self {
            challenge_required_on_new_device: flag("ChallengeRequiredOnNewDevice"),
            only_remembered_on_user_prompt: flag("DeviceOnlyRememberedOnUserPrompt"),
        })
    }
}

fn no_device() -> AuthError {
    AuthError::new(ErrorKind::ResourceNotFound, "Device does not exist.")
}

impl Auth {
    /// Whether the device the client named is remembered and the pool lets remembered devices
    /// authenticate instead of MFA (`ChallengeRequiredOnNewDevice`).
    pub(super) async fn device_skips_mfa(
        &self,
        view: &PoolView,
        user: &UserRecord,
        device_key: &str,
    ) -> AuthResult<bool> {
        if !DeviceSettings::of(view).is_some_and(|s| s.challenge_required_on_new_device) {
            return Ok(false);
        }
        let device = self
            .store
            .get_device(&view.pool.id, &user.username, device_key)
            .await?;
        Ok(device.is_some_and(|d| d.verifier.is_some() && d.remembered == Some(true)))
    }

    /// The end of a sign-in: the proof of the device the client named (`DEVICE_SRP_AUTH`),
    /// when it is one of the user's confirmed devices, else done.
    pub(super) async fn signed_in_or_device(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: UserRecord,
        started_ms: i64,
        device_key: Option<String>,
    ) -> AuthResult<Next> {
        if let Some(step) = self
            .device_step(view, client, &user, started_ms, device_key.as_deref())
            .await?
        {
            return Ok(step);
        }
        Ok(Next::Done(SignedIn {
            user,
            provider: None,
            started_ms,
            device_key: None,
        }))
    }

    /// After a right password (and MFA): the device the client named, to prove next, if the
    /// pool tracks devices and it is one of the user's confirmed devices.
    pub(super) async fn device_step(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: &UserRecord,
        started_ms: i64,
        device_key: Option<&str>,
    ) -> AuthResult<Option<Next>> {
        let Some(key) = device_key.filter(|_| DeviceSettings::of(view).is_some()) else {
            return Ok(None);
        };
        let known = self
            .store
            .get_device(&view.pool.id, &user.username, key)
            .await?
            .is_some_and(|d| d.verifier.is_some());
        if !known {
            return Ok(None);
        }
        let session = random_token();
        let data = StepData {
            started_ms,
            client_id: Some(client.client_id.clone()),
            device_key: Some(key.to_string()),
            session_hash: Some(TokenHash::of(&session).as_str().to_string()),
            ..StepData::default()
        };
        // Keyed by client, user and device, not by a session: clients answer
        // `DEVICE_SRP_AUTH` without one (pycognito does). The password was proven just now,
        // and the device must still prove its own secret.
        let hash = self.device_step_hash(view, client, &user.username, key);
        self.store.take_challenge(&hash).await?;
        let kind = PendingKind::DeviceSrp;
        let lifetime = self
            .put_step(view, client, hash, &user.username, kind, &data)
            .await?;
        Ok(Some(Next::Step(Challenge {
            kind: PendingKind::DeviceSrp,
            session,
            lifetime,
            user: user.clone(),
            factor: None,
            choices: Vec::new(),
            available: Vec::new(),
            parameters: serde_json::Map::new(),
        })))
    }

    fn device_step_hash(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        username: &str,
        device_key: &str,
    ) -> TokenHash {
        let name = format!(
            "{}/{}/{username}/{device_key}",
            view.pool.id, client.client_id
        );
        TokenHash::keyed(&self.code_key, "device step", &name)
    }

    /// `DEVICE_SRP_AUTH` with the device's `SRP_A`, for the user `typed` names: the first
    /// half of its proof, once, within the sign-in's session lifetime; a `session` sent with it
    /// must be the one the step was answered with.
    pub async fn begin_device_srp(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        session: Option<&str>,
        device_key: &str,
        srp_a: &str,
    ) -> AuthResult<SrpChallenge> {
        let user = find_user(&*self.store, view, typed)
            .await?
            .ok_or_else(AuthError::session_expired)?;
        let hash = self.device_step_hash(view, client, &user.username, device_key);
        let pending = self
            .store
            .get_challenge(&hash)
            .await?
            .filter(|c| c.kind == PendingKind::DeviceSrp && c.expires_at > self.clock.now())
            .ok_or_else(AuthError::session_expired)?;
        let data = StepData::of(&pending);
        let named = |s: &str| data.session_hash.as_deref() == Some(TokenHash::of(s).as_str());
        if session.is_some_and(|s| !named(s)) {
            return Err(AuthError::session_expired());
        }
        self.take_step(&pending).await?;
        if user
            .tokens_valid_from_ms
            .is_some_and(|t| data.started_ms < t)
            || !user.enabled
        {
            return Err(AuthError::session_expired());
        }
        let device = self
            .store
            .get_device(&view.pool.id, &user.username, device_key)
            .await?
            .ok_or_else(AuthError::session_expired)?;
        let prover = Prover {
            holder: user.username.clone(),
            realm: device.group_key.clone(),
            name: device.device_key.clone(),
            verifier: open_device_verifier(&self.master, &device),
            device_key: Some(device.device_key.clone()),
            lockout_key: lockout::user_key(&user.username),
        };
        let next = StepData {
            started_ms: data.started_ms,
            ..StepData::default()
        };
        self.pending_srp(view, client, prover, srp_a, next).await
    }

    /// A new device for a sign-in that proved none, if the pool tracks devices:
    /// `(DeviceKey, DeviceGroupKey)`.
    pub async fn track_new_device(
        &self,
        view: &PoolView,
        user: &UserRecord,
    ) -> AuthResult<Option<(String, String)>> {
        if DeviceSettings::of(view).is_none() {
            return Ok(None);
        }
        let now = self.clock.now();
        let device = DeviceRecord {
            pool_id: view.pool.id.clone(),
            username: user.username.clone(),
            device_key: format!("{}_{}", view.region, new_uuid()),
            group_key: format!(
                "-{}",
                random_string(
                    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
                    9
                )
            ),
            verifier: None,
            name: None,
            remembered: None,
            last_ip: None,
            created_at: now,
            updated_at: now,
            last_authenticated_at: now,
        };
        self.store.insert_device(&device).await?;
        Ok(Some((device.device_key, device.group_key)))
    }

    /// One of the user's devices.
    pub async fn device_of(
        &self,
        view: &PoolView,
        user: &UserRecord,
        device_key: &str,
    ) -> AuthResult<DeviceRecord> {
        self.store
            .get_device(&view.pool.id, &user.username, device_key)
            .await?
            .ok_or_else(no_device)
    }

    /// `ConfirmDevice`: the device's SRP verifier (Base64 `PasswordVerifier` and `Salt`, as the
    /// client made them over its group key, device key and a secret of its own) and name. Only
    /// the device the access token was issued to (`token_device`) is confirmed with it. The
    /// answer is `UserConfirmationNecessary`: whether the user must still say to remember it.
    #[allow(clippy::too_many_arguments)]
    pub async fn confirm_device(
        &self,
        view: &PoolView,
        user: &UserRecord,
        token_device: Option<&str>,
        device_key: &str,
        password_verifier: &str,
        salt: &str,
        name: Option<&str>,
    ) -> AuthResult<bool> {
        let settings = DeviceSettings::of(view).ok_or_else(|| {
            AuthError::new(
                ErrorKind::InvalidParameter,
                "Device tracking is not enabled for the user pool.",
            )
        })?;
        let decode = |s: &str| STANDARD.decode(s.trim()).ok().filter(|b| !b.is_empty());
        let (Some(verifier), Some(salt)) = (decode(password_verifier), decode(salt)) else {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "Invalid device secret verifier config.",
            ));
        };
        let v = Verifier { salt, verifier };
        if !v.usable() {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "Invalid device secret verifier config.",
            ));
        }
        let mut device = self.device_of(view, user, device_key).await?;
        if token_device != Some(device_key) {
            return Err(AuthError::new(
                ErrorKind::NotAuthorized,
                "The device can be confirmed only with an access token issued to it.",
            ));
        }
        if device.verifier.is_some() {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "Device is already confirmed.",
            ));
        }
        device.verifier = Some(seal_device_verifier(&self.master, &device, &v));
        device.name = name.map(String::from);
        if !settings.only_remembered_on_user_prompt {
            device.remembered = Some(true);
        }
        device.updated_at = self.clock.now();
        // Only over no verifier: of two racing confirmations, one writes.
        if !self.store.confirm_device(&device).await? {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "Device is already confirmed.",
            ));
        }
        Ok(settings.only_remembered_on_user_prompt)
    }

    /// `UpdateDeviceStatus`: remembered or not.
    pub async fn set_device_remembered(
        &self,
        view: &PoolView,
        user: &UserRecord,
        device_key: &str,
        remembered: bool,
    ) -> AuthResult<()> {
        let mut device = self.device_of(view, user, device_key).await?;
        device.remembered = Some(remembered);
        device.updated_at = self.clock.now();
        if !self.store.update_device(&device).await? {
            return Err(no_device());
        }
        Ok(())
    }

    /// `ForgetDevice`: the device must prove itself as new again.
    pub async fn forget_device(
        &self,
        view: &PoolView,
        user: &UserRecord,
        device_key: &str,
    ) -> AuthResult<()> {
        if !self
            .store
            .delete_device(&view.pool.id, &user.username, device_key)
            .await?
        {
            return Err(no_device());
        }
        Ok(())
    }
}
