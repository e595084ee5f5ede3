//! `CUSTOM_AUTH`: a sign-in whose challenges the pool's triggers define. Define auth challenge
//! reads the rounds so far and says what comes next (a challenge, tokens, or failure); create
//! auth challenge makes a `CUSTOM_CHALLENGE`; verify auth challenge response judges the answer.
//! With `SRP_A` first (`CUSTOM_WITH_SRP`), the password's proof is the first rounds.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::signin::{disabled, incorrect};
use super::steps::StepData;
use super::{
    Auth, AuthError, AuthResult, Challenge, ErrorKind, Next, SignedIn, SrpChallenge, find_user,
    reveals_unknown_users,
};
use crate::crypto::{TokenHash, random_token};
use crate::directory::PoolView;
use crate::model::UserStatus;
use crate::store::{ClientRecord, PendingKind, UserRecord};
use crate::triggers::{Call, Trigger, TriggerInput, flag, invalid_response, user_attributes};

/// Rounds a custom sign-in may take before it fails [I]: Cognito names no limit, and a
/// trigger that never decides must not keep a session alive for ever.
const MAX_ROUNDS: usize = 20;

/// One round, as `request.session` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Round {
    pub challenge_name: String,
    pub challenge_result: bool,
    pub challenge_metadata: Option<String>,
}

impl Round {
    fn passed(name: &str) -> Self {
        Self {
            challenge_name: name.into(),
            challenge_result: true,
            challenge_metadata: None,
        }
    }
}

/// What a custom sign-in carries between its rounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct CustomState {
    pub rounds: Vec<Round>,
    /// The open challenge's `privateChallengeParameters` and `challengeMetadata`.
    #[serde(default)]
    pub private: Map<String, Value>,
    #[serde(default)]
    pub metadata: Option<String>,
    /// The name matched no user (the triggers hear `userNotFound`; it never gets tokens).
    #[serde(default)]
    pub unknown: bool,
}

/// What `CUSTOM_AUTH` answers first: the password's proof (`CUSTOM_WITH_SRP`), or a step.
pub enum CustomStart {
    Srp(SrpChallenge),
    Next(Box<Next>),
}

impl Auth {
    /// `InitiateAuth` with `CUSTOM_AUTH`, and `SRP_A` to prove the password first.
    pub async fn begin_custom(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        typed: &str,
        srp_a: Option<&str>,
        passed: &TriggerInput,
    ) -> AuthResult<CustomStart> {
        if !view.triggers.has(Trigger::DefineAuthChallenge) {
            return Err(AuthError::new(
                ErrorKind::InvalidParameter,
                "Custom auth lambda trigger is not configured for the user pool.",
            ));
        }
        let started_ms = self.clock.now_ms();
        let mut user = find_user(&*self.store, view, typed).await?;
        let reveals = reveals_unknown_users(client);
        match &user {
            None if reveals => {
                return Err(AuthError::new(
                    ErrorKind::UserNotFound,
                    "User does not exist.",
                ));
            }
            Some(u) if reveals && !u.enabled => return Err(disabled(client)),
            Some(u) if reveals => usable(u)?,
            // Before any proof, an account that cannot sign in answers as an unknown name
            // does, to clients that hide accounts [I].
            Some(u) if !u.enabled || usable(u).is_err() => user = None,
            _ => {}
        }
        self.pre_authentication(view, client, user.as_ref(), typed, passed)
            .await?;
        // A name that matches no user is shown as real users are (their username, or in pools
        // that sign in by email or phone a `sub`-shaped stand-in).
        let name = match &user {
            Some(u) => u.username.clone(),
            None => self.stand_in_name(view, typed),
        };
        let mut state = CustomState {
            unknown: user.is_none(),
            ..CustomState::default()
        };
        if let Some(srp_a) = srp_a {
            state.rounds.push(Round::passed("SRP_A"));
            let decision = self
                .define(view, client, &name, user.as_ref(), &state, passed)
                .await?;
            if decision.fail {
                return Err(incorrect());
            }
            if decision.challenge.as_deref() != Some("PASSWORD_VERIFIER") {
                return Err(invalid_response());
            }
            let data = StepData {
                started_ms,
                custom: Some(state),
                ..StepData::default()
            };
            return self
                .begin_srp_with(view, client, typed, srp_a, data)
                .await
                .map(CustomStart::Srp);
        }
        self.custom_round(view, client, &name, user, state, started_ms, passed)
            .await
            .map(|next| CustomStart::Next(Box::new(next)))
    }

    /// `RespondToAuthChallenge` with `CUSTOM_CHALLENGE`: the answer is judged, then the
    /// rounds so far decide what comes next.
    pub async fn answer_custom(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        session: &str,
        answer: &str,
        passed: &TriggerInput,
    ) -> AuthResult<Next> {
        let Some(c) = self.store.get_challenge(&TokenHash::of(session)).await? else {
            return Err(AuthError::session_expired());
        };
        let data = StepData::of(&c);
        let live = c.pool_id == view.pool.id
            && c.kind == PendingKind::CustomChallenge
            && c.expires_at > self.clock.now()
            && data.client_id.as_deref() == Some(client.client_id.as_str());
        let Some(mut state) = data.custom.filter(|_| live) else {
            return Err(AuthError::session_expired());
        };
        self.take_step(&c).await?;
        let user = match state.unknown {
            true => None,
            false => match self.store.get_user(&view.pool.id, &c.username).await? {
                Some(u)
                    if u.enabled && u.tokens_valid_from_ms.is_none_or(|t| data.started_ms >= t) =>
                {
                    Some(u)
                }
                _ => return Err(AuthError::session_expired()),
            },
        };
        let request = json!({
            "userAttributes": attributes_of(user.as_ref()),
            "privateChallengeParameters": state.private,
            "challengeAnswer": answer,
        });
        let response = json!({ "answerCorrect": false });
        let verdict = self
            .challenge_trigger(
                view,
                client,
                Trigger::VerifyAuthChallengeResponse,
                &c.username,
                &state,
                request,
                response,
                passed,
            )
            .await?;
        state.rounds.push(Round {
            challenge_name: "CUSTOM_CHALLENGE".into(),
            challenge_result: flag(&verdict, "answerCorrect")?,
            challenge_metadata: state.metadata.take(),
        });
        state.private = Map::new();
        self.custom_round(
            view,
            client,
            &c.username,
            user,
            state,
            data.started_ms,
            passed,
        )
        .await
    }

    /// After the password's proof in `CUSTOM_WITH_SRP`: the custom rounds go on.
    pub(super) async fn custom_after_password(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        user: UserRecord,
        mut state: CustomState,
        started_ms: i64,
    ) -> AuthResult<Next> {
        // The password was right; the account's status still rules (a reset, a temporary
        // password), as after any password.
        usable(&user)?;
        state.rounds.push(Round::passed("PASSWORD_VERIFIER"));
        let name = user.username.clone();
        self.custom_round(
            view,
            client,
            &name,
            Some(user),
            state,
            started_ms,
            &TriggerInput::default(),
        )
        .await
    }

    /// Asks define auth challenge what follows `state.rounds`, and does it.
    #[allow(clippy::too_many_arguments)]
    async fn custom_round(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        name: &str,
        user: Option<UserRecord>,
        mut state: CustomState,
        started_ms: i64,
        passed: &TriggerInput,
    ) -> AuthResult<Next> {
        if state.rounds.len() >= MAX_ROUNDS {
            return Err(incorrect());
        }
        let decision = self
            .define(view, client, name, user.as_ref(), &state, passed)
            .await?;
        if decision.fail {
            return Err(incorrect());
        }
        if decision.issue_tokens {
            // The triggers vouch for the user; a name that matches none never signs in.
            return match user {
                Some(user) => Ok(Next::Done(SignedIn {
                    user,
                    provider: None,
                    started_ms,
                    device_key: None,
                })),
                None => Err(incorrect()),
            };
        }
        if decision.challenge.as_deref() != Some("CUSTOM_CHALLENGE") {
            return Err(invalid_response());
        }
        let request = json!({
            "userAttributes": attributes_of(user.as_ref()),
            "challengeName": "CUSTOM_CHALLENGE",
            "session": state.rounds,
        });
        let response = json!({ "publicChallengeParameters": {}, "privateChallengeParameters": {}, "challengeMetadata": null });
        let created = self
            .challenge_trigger(
                view,
                client,
                Trigger::CreateAuthChallenge,
                name,
                &state,
                request,
                response,
                passed,
            )
            .await?;
        let params = |member: &str| match created.get(member) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(invalid_response()),
        };
        let public = params("publicChallengeParameters")?;
        state.private = params("privateChallengeParameters")?;
        state.metadata = match created.get("challengeMetadata") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(invalid_response()),
        };
        let session = random_token();
        let data = StepData {
            started_ms,
            client_id: Some(client.client_id.clone()),
            custom: Some(state),
            ..StepData::default()
        };
        let lifetime = self
            .put_step(
                view,
                client,
                TokenHash::of(&session),
                name,
                PendingKind::CustomChallenge,
                &data,
            )
            .await?;
        let shown = user.unwrap_or_else(|| stand_in(view, name));
        Ok(Next::Step(Challenge {
            kind: PendingKind::CustomChallenge,
            session,
            lifetime,
            user: shown,
            factor: None,
            choices: Vec::new(),
            available: Vec::new(),
            parameters: public,
        }))
    }

    async fn define(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        name: &str,
        user: Option<&UserRecord>,
        state: &CustomState,
        passed: &TriggerInput,
    ) -> AuthResult<Decision> {
        let request = json!({
            "userAttributes": attributes_of(user),
            "session": state.rounds,
        });
        let response =
            json!({ "challengeName": null, "issueTokens": false, "failAuthentication": false });
        let answer = self
            .challenge_trigger(
                view,
                client,
                Trigger::DefineAuthChallenge,
                name,
                state,
                request,
                response,
                passed,
            )
            .await?;
        Ok(Decision {
            challenge: match answer.get("challengeName") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(invalid_response()),
            },
            issue_tokens: flag(&answer, "issueTokens")?,
            fail: flag(&answer, "failAuthentication")?,
        })
    }
}

impl Auth {
    /// Calls one of the custom challenge triggers (`{Trigger}_Authentication`) with `request`,
    /// adding what every one of them hears: `userNotFound` for unknown names, and the
    /// request's `ClientMetadata`. A pool without the trigger cannot run the flow.
    #[allow(clippy::too_many_arguments)]
    async fn challenge_trigger(
        &self,
        view: &PoolView,
        client: &ClientRecord,
        trigger: Trigger,
        name: &str,
        state: &CustomState,
        mut request: Value,
        response: Value,
        passed: &TriggerInput,
    ) -> AuthResult<Map<String, Value>> {
        if state.unknown {
            request["userNotFound"] = json!(true);
        }
        passed.add_to(&mut request, false);
        let source = format!("{}_Authentication", trigger.name());
        let call = Call {
            view,
            trigger,
            source: &source,
            user_name: name,
            client_id: Some(&client.client_id),
        };
        self.triggers
            .run(&call, request, response)
            .await?
            .ok_or_else(|| {
                AuthError::new(
                    ErrorKind::UnexpectedLambda,
                    format!("{} invocation failed due to configuration.", trigger.name()),
                )
            })
    }
}

/// Define auth challenge's answer.
struct Decision {
    challenge: Option<String>,
    issue_tokens: bool,
    fail: bool,
}

/// Whether a user's account may sign in by custom challenges.
fn usable(user: &UserRecord) -> AuthResult<()> {
    match user.status {
        UserStatus::Confirmed => Ok(()),
        UserStatus::Unconfirmed => Err(AuthError::new(
            ErrorKind::UserNotConfirmed,
            "User is not confirmed.",
        )),
        UserStatus::ResetRequired => Err(AuthError::new(
            ErrorKind::PasswordResetRequired,
            "Password reset required for the user",
        )),
        UserStatus::ForceChangePassword | UserStatus::ExternalProvider => Err(incorrect()),
    }
}

fn attributes_of(user: Option<&UserRecord>) -> Value {
    user.map_or_else(|| json!({}), user_attributes)
}

/// The user a challenge to an unknown name is shown as: the name, nothing stored.
pub(super) fn stand_in(view: &PoolView, name: &str) -> UserRecord {
    UserRecord::new(
        &view.pool.id,
        name.to_string(),
        String::new(),
        UserStatus::Confirmed,
        Vec::new(),
        0,
    )
}
