//! The Lambda triggers of the user lifecycle, at the points Cognito calls them: pre sign-up,
//! post confirmation, pre and post authentication, custom messages. Each builds its event's
//! `request` and applies the answer as Cognito does (docs/design/0008-triggers.md).

use serde_json::{Value, json};

use super::audit::{Challenge, Event, EventKind, Outcome};
use super::{Auth, AuthError, AuthResult, CodeMessage, ErrorKind, SignedIn, reveals_unknown_users};
use crate::directory::PoolView;
use crate::lifecycle;
use crate::model::UserStatus;
use crate::store::{ClientRecord, UserRecord};
use crate::triggers::{Call, Trigger, TriggerInput, flag, user_attributes};

/// What a pre sign-up answer asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct SignUpAnswer {
    pub auto_confirm: bool,
    pub verify_email: bool,
    pub verify_phone: bool,
}

impl SignUpAnswer {
    /// Confirms and verifies `user` as asked; verifying an attribute the user lacks is refused.
    pub(super) fn apply(self, user: &mut UserRecord) -> AuthResult<()> {
        for (asked, attr) in [
            (self.verify_email, "email"),
            (self.verify_phone, "phone_number"),
        ] {
            if !asked {
                continue;
            }
            if !user.attributes.iter().any(|a| a.name == attr) {
                return Err(AuthError::new(
                    ErrorKind::InvalidParameter,
                    format!("Cannot auto verify {attr}: the user has no {attr}."),
                ));
            }
            lifecycle::set_attribute(user, &format!("{attr}_verified"), "true");
        }
        if self.auto_confirm {
            user.status = UserStatus::Confirmed;
        }
        Ok(())
    }
}

impl Auth {
    fn call<'a>(
        view: &'a PoolView,
        trigger: Trigger,
        source: &'a str,
        user_name: &'a str,
        client_id: Option<&'a str>,
    ) -> Call<'a> {
        Call {
            view,
            trigger,
            source,
            user_name,
            client_id,
        }
    }

    /// Pre sign-up (`PreSignUp_SignUp`, `_AdminCreateUser`, `_ExternalProvider`), before the
    /// user is written: a refusal leaves nothing behind. Administrators' users take no
    /// confirmation or verification from the answer (Cognito ignores it for them).
    pub(super) async fn pre_sign_up(
        &self,
        view: &PoolView,
        source: &str,
        user: &UserRecord,
        client_id: Option<&str>,
        passed: &TriggerInput,
    ) -> AuthResult<SignUpAnswer> {
        let mut attributes = serde_json::Map::new();
        for a in &user.attributes {
            attributes.insert(a.name.clone(), json!(a.value));
        }
        let mut request = json!({ "userAttributes": attributes });
        passed.add_to(&mut request, true);
        let call = Self::call(view, Trigger::PreSignUp, source, &user.username, client_id);
        let response =
            json!({ "autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false });
        let Some(r) = self.triggers.run(&call, request, response).await? else {
            return Ok(SignUpAnswer::default());
        };
        let answer = SignUpAnswer {
            auto_confirm: flag(&r, "autoConfirmUser")?,
            verify_email: flag(&r, "autoVerifyEmail")?,
            verify_phone: flag(&r, "autoVerifyPhone")?,
        };
        Ok(if source == "PreSignUp_AdminCreateUser" {
            SignUpAnswer::default()
        } else {
            answer
        })
    }

    /// Post confirmation (`PostConfirmation_ConfirmSignUp`, `_ConfirmForgotPassword`), after
    /// the confirmation is stored: as in Cognito, a failure is reported but undoes nothing.
    pub(super) async fn post_confirmation(
        &self,
        view: &PoolView,
        source: &str,
        user: &UserRecord,
        client_id: Option<&str>,
        passed: &TriggerInput,
    ) -> AuthResult<()> {
        let mut request = json!({ "userAttributes": user_attributes(user) });
        passed.add_to(&mut request, false);
        let call = Self::call(
            view,
            Trigger::PostConfirmation,
            source,
            &user.username,
            client_id,
        );
        self.triggers.run(&call, request, json!({})).await?;
        Ok(())
    }

    /// Pre authentication, before the password (or proof, or custom challenge) is checked.
    /// Names that match no user are passed on as `userNotFound` when the client hides unknown
    /// users (the answer to them does not change).
    pub(super) async fn pre_authentication(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: Option<&UserRecord>,
        typed: &str,
        passed: &TriggerInput,
    ) -> AuthResult<()> {
        if user.is_none() && reveals_unknown_users(client) {
            return Ok(());
        }
        let mut request = match user {
            Some(u) => json!({ "userAttributes": user_attributes(u) }),
            None => json!({ "userAttributes": {}, "userNotFound": true }),
        };
        let validation = TriggerInput {
            client_metadata: None,
            validation_data: passed.client_metadata.clone(),
        };
        validation.add_to(&mut request, true);
        let name = user.map_or(typed, |u| u.username.as_str());
        let call = Self::call(
            view,
            Trigger::PreAuthentication,
            "PreAuthentication_Authentication",
            name,
            Some(&client.client_id),
        );
        self.triggers.run(&call, request, json!({})).await?;
        Ok(())
    }

    /// Post authentication: a finished sign-in, before its tokens; a refusal gives none.
    /// Front doors call it when a sign-in is done (the API's answer, the pages' session).
    pub async fn post_authentication(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        signed_in: &SignedIn,
        passed: &TriggerInput,
    ) -> AuthResult<()> {
        crate::metrics::METRICS.sign_in("success");
        if view.triggers.has(Trigger::PostAuthentication) && signed_in.provider.is_none() {
            self.post_authentication_trigger(view, client, signed_in, passed)
                .await?;
        }
        let event = Event::new(
            &view.pool.id,
            &signed_in.user.username,
            EventKind::SignIn,
            Outcome::Pass,
        );
        match &signed_in.provider {
            Some(provider) => self.audit(event.detail(provider)),
            None => {
                let challenges = [Challenge::Password(true)];
                self.audit(event.challenges(&challenges).detail(&client.client_id));
            }
        }
        Ok(())
    }

    async fn post_authentication_trigger(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        signed_in: &SignedIn,
        passed: &TriggerInput,
    ) -> AuthResult<()> {
        let new_device_used =
            signed_in.device_key.is_none() && super::DeviceSettings::of(view).is_some();
        let mut request = json!({
            "userAttributes": user_attributes(&signed_in.user),
            "newDeviceUsed": new_device_used,
        });
        passed.add_to(&mut request, false);
        let call = Self::call(
            view,
            Trigger::PostAuthentication,
            "PostAuthentication_Authentication",
            &signed_in.user.username,
            Some(&client.client_id),
        );
        self.triggers.run(&call, request, json!({})).await?;
        Ok(())
    }

    /// Hands a code to the pool's custom sender trigger of its medium (`CustomEmailSender_*`,
    /// `CustomSMSSender_*`), sealed under the operator's key as the ESDK's message format
    /// (`triggers::sealed_code`); true when the trigger took it (nothing else is sent). As in
    /// Cognito, the sender's failure reaches nobody but the log.
    pub(super) async fn custom_sender(
        &self,
        view: &PoolView,
        user: &UserRecord,
        code: &str,
        message: &CodeMessage<'_>,
        sms: bool,
    ) -> bool {
        let trigger = if sms {
            Trigger::CustomSmsSender
        } else {
            Trigger::CustomEmailSender
        };
        if !view.triggers.has(trigger) {
            return false;
        }
        let Some(sealed) = self.triggers.seal_code(view, code) else {
            tracing::error!(
                trigger = trigger.name(),
                "a custom sender is configured but no --custom-sender-key is: the default delivery is used"
            );
            return false;
        };
        let kind = if sms {
            "customSMSSenderRequestV1"
        } else {
            "customEmailSenderRequestV1"
        };
        let mut request = json!({
            "type": kind,
            "code": sealed,
            "userAttributes": user_attributes(user),
        });
        message.passed.add_to(&mut request, false);
        let source = message
            .source
            .replacen("CustomMessage_", &format!("{}_", trigger.name()), 1);
        let call = Self::call(view, trigger, &source, &user.username, message.client_id);
        if let Err(e) = self.triggers.run(&call, request, json!({})).await {
            tracing::warn!(source, error = %e.message, "custom sender trigger failed");
        }
        true
    }

    /// The custom message trigger's message for a code (`CustomMessage_*`): for email its
    /// subject and body (`emailSubject`, `emailMessage`, at most 20,000 characters), for a text
    /// message its body (`smsMessage`, at most 140), with the code (and the username) in place
    /// of their placeholders; none when the pool has no trigger or the answer leaves the
    /// message to the defaults. A failing trigger is logged and the default message goes out:
    /// the code it carries is already stored, and the use case must not be left half-done [I].
    pub(super) async fn custom_message(
        &self,
        view: &PoolView,
        user: &UserRecord,
        code: &str,
        message: &CodeMessage<'_>,
        sms: bool,
    ) -> Option<(String, String)> {
        let (source, client_id, passed) = (message.source, message.client_id, message.passed);
        if !view.triggers.has(Trigger::CustomMessage) {
            return None;
        }
        let mut request = json!({
            "userAttributes": user_attributes(user),
            "codeParameter": "{####}",
            "linkParameter": "{##Click Here##}",
            "usernameParameter": message.username_shown.map(|_| "{username}"),
        });
        passed.add_to(&mut request, false);
        let call = Self::call(
            view,
            Trigger::CustomMessage,
            source,
            &user.username,
            client_id,
        );
        let response = json!({ "smsMessage": null, "emailMessage": null, "emailSubject": null });
        let answer = match self.triggers.run(&call, request, response).await {
            Ok(Some(r)) => r,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(source, error = %e.message, "custom message trigger failed; the default message is sent");
                return None;
            }
        };
        let text = |name: &str| answer.get(name).and_then(Value::as_str).map(String::from);
        let (body, limit) = match sms {
            true => (text("smsMessage")?, 140),
            false => (text("emailMessage")?, 20_000),
        };
        if !body.contains("{####}") || body.chars().count() > limit {
            tracing::warn!(
                source,
                "custom message without the code placeholder (or too long); the default message is sent"
            );
            return None;
        }
        let subject = text("emailSubject").unwrap_or_else(|| "Your verification code".into());
        let mut body = body.replace("{####}", code);
        if let Some(name) = message.username_shown {
            body = body.replace("{username}", name);
        }
        Some((subject, body))
    }
}
