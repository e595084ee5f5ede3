//! `POST /oauth2/token` (spec §6), `POST /oauth2/revoke` (§9) and `/oauth2/userInfo` (§7):
//! client authentication, the three grants, revocation by token family, and userInfo claims.

use serde_json::{Map, Value, json};

use super::claims::{self, UserTokenInput};
use super::grant::{Grant, TokenResponse, new_refresh_token};
use super::scope::{self, released_attributes};
use super::{ErrorCode, OAuthError, pkce};
use crate::crypto::TokenHash;
use crate::directory::PoolView;
use crate::keys::MasterKey;
use crate::metrics::METRICS;
use crate::store::{
    ClientRecord, CodeRecord, ConsumeOutcome, FamilyRecord, RefreshRecord, Store, UserRecord,
};
use crate::time::Timestamp;
use crate::triggers::{Call, TokenChanges, TokenSource, Trigger, Triggers, user_attributes};

/// A refused use of a code spends it, as a right one does; a failure of ours (the database
/// gone, say) leaves it for a retry.
async fn spend_on_refusal(
    store: &dyn Store,
    hash: &TokenHash,
    now: Timestamp,
    refusal: OAuthError,
) -> OAuthError {
    if refusal.code == ErrorCode::ServerError {
        return refusal;
    }
    match store.consume_code(hash, now).await {
        Ok(_) => refusal,
        Err(e) => e.into(),
    }
}

/// How the client presented itself (spec §6.2).
#[derive(Debug, Default)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub secret: Option<String>,
    /// Credentials came in `Authorization: Basic` (failures then answer 401 with a challenge).
    pub basic: bool,
}

/// Authenticates a client of `view`'s pool: a client with a secret must present one of its
/// secrets; a public client must present none.
pub fn authenticate<'a>(
    view: &'a PoolView,
    creds: &ClientCredentials,
    master: &MasterKey,
) -> Result<&'a ClientRecord, OAuthError> {
    let id = creds
        .client_id
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
    let client = view
        .clients
        .get(id)
        .ok_or_else(OAuthError::invalid_client)?;
    let ok = match (&creds.secret, client.has_secret()) {
        (Some(secret), true) => client.secret_matches(master, secret),
        (None, false) => true,
        _ => false,
    };
    if ok {
        Ok(client)
    } else {
        Err(OAuthError::invalid_client())
    }
}

/// The grant of a token request, parsed once (spec §6.3).
#[derive(Debug)]
pub enum TokenGrant {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
    },
    ClientCredentials {
        scope: Option<String>,
        /// `aws_client_metadata`: for the V3 pre-token-generation trigger.
        client_metadata: Option<Map<String, Value>>,
    },
}

/// What token issuance needs beyond the grant: the triggers, which sign-in asks, and the
/// request's `ClientMetadata`.
#[derive(Clone, Copy)]
pub struct Issuing<'a> {
    pub triggers: &'a Triggers,
    pub source: TokenSource,
    pub metadata: Option<&'a Map<String, Value>>,
}

impl TokenGrant {
    /// `get` reads a (non-duplicated) form parameter.
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Result<Self, OAuthError> {
        let required = |name: &'static str| {
            get(name).ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
        };
        match get("grant_type").as_deref() {
            Some("authorization_code") => Ok(TokenGrant::AuthorizationCode {
                code: required("code")?,
                redirect_uri: get("redirect_uri"),
                code_verifier: get("code_verifier"),
            }),
            Some("refresh_token") => Ok(TokenGrant::RefreshToken {
                refresh_token: required("refresh_token")?,
            }),
            Some("client_credentials") => Ok(TokenGrant::ClientCredentials {
                scope: get("scope"),
                client_metadata: match get("aws_client_metadata") {
                    None => None,
                    Some(text) => match serde_json::from_str(&text) {
                        Ok(Value::Object(m)) => Some(m),
                        _ => {
                            return Err(OAuthError::invalid_request(
                                "aws_client_metadata is not a JSON object",
                            ));
                        }
                    },
                },
            }),
            Some(_) => Err(OAuthError::new(ErrorCode::UnsupportedGrantType)),
            None => Err(OAuthError::invalid_request("grant_type is required")),
        }
    }
}

fn allows_flow(client: &ClientRecord, flow: &str) -> bool {
    client.config.allowed_oauth_flows_user_pool_client
        && client.config.allowed_oauth_flows.iter().any(|f| f == flow)
}

/// Runs a grant for an authenticated client.
pub async fn exchange(
    store: &dyn Store,
    view: &PoolView,
    client: &ClientRecord,
    grant: TokenGrant,
    now: Timestamp,
    triggers: &Triggers,
    metadata: Option<&Map<String, Value>>,
) -> Result<TokenResponse, OAuthError> {
    let issuing = |source| Issuing {
        triggers,
        source,
        metadata,
    };
    match grant {
        TokenGrant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let issuing = issuing(TokenSource::HostedAuth);
            authorization_code(
                store,
                view,
                client,
                &code,
                redirect_uri,
                code_verifier,
                now,
                issuing,
            )
            .await
        }
        TokenGrant::RefreshToken { refresh_token } => {
            refresh(
                store,
                view,
                client,
                &refresh_token,
                now,
                issuing(TokenSource::RefreshTokens),
            )
            .await
        }
        TokenGrant::ClientCredentials {
            scope,
            client_metadata,
        } => {
            let metadata = client_metadata.as_ref().or(metadata);
            let issuing = Issuing {
                triggers,
                source: TokenSource::ClientCredentials,
                metadata,
            };
            client_credentials(view, client, scope, now, issuing).await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn authorization_code(
    store: &dyn Store,
    view: &PoolView,
    client: &ClientRecord,
    code: &str,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    now: Timestamp,
    issuing: Issuing<'_>,
) -> Result<TokenResponse, OAuthError> {
    if !allows_flow(client, "code") {
        return Err(OAuthError::new(ErrorCode::UnauthorizedClient));
    }
    let hash = TokenHash::of(code);
    let record = match store.peek_code(&hash).await? {
        None => return Err(OAuthError::invalid_grant("invalid code")),
        Some((r, true)) => return Err(replayed(store, client, &r, now).await?),
        Some((r, false)) => r,
    };
    let checked = check_code(
        store,
        view,
        client,
        &record,
        redirect_uri,
        code_verifier,
        now,
    )
    .await;
    let (grant, user, groups) = match checked {
        Ok(ok) => ok,
        Err(e) => return Err(spend_on_refusal(store, &hash, now, e).await),
    };
    // The trigger runs before anything is written; its refusal spends the code too.
    let changes = match changes_for(view, client, (&user, groups), &grant, issuing).await {
        Ok(changes) => changes,
        Err(e) => return Err(spend_on_refusal(store, &hash, now, e).await),
    };
    let (family, first, refresh_token) = new_family(view, client, &user, &grant, now);
    match store.redeem_code(&hash, now, &family, &first).await? {
        ConsumeOutcome::Consumed(()) => {
            let mut response =
                signed_tokens(view, client, &user, &changes, &grant, now, issuing.source)?;
            response.refresh_token = Some(refresh_token);
            Ok(response)
        }
        ConsumeOutcome::AlreadyConsumed(()) => Err(replayed(store, client, &record, now).await?),
        ConsumeOutcome::Missing => Err(OAuthError::invalid_grant("invalid code")),
    }
}

/// A code used again: everything its first redemption produced is revoked (RFC 6749 §4.1.2),
/// even if that redemption has not created its family yet. The error to answer.
async fn replayed(
    store: &dyn Store,
    client: &ClientRecord,
    r: &CodeRecord,
    now: Timestamp,
) -> Result<OAuthError, OAuthError> {
    if let Some(g) = Grant::from_json(&r.payload) {
        let family = FamilyRecord {
            id: g.origin_jti.clone(),
            pool_id: r.pool_id.clone(),
            client_id: r.client_id.clone(),
            username: g.username.clone(),
            created_at: now,
            expires_at: now + client.config.refresh_token_seconds(),
            revoked_at: Some(now),
        };
        store.bar_family(&family, now).await?;
        tracing::warn!(client = %r.client_id, family = %g.origin_jti, "authorization code replayed; its tokens are revoked");
    }
    Ok(OAuthError::invalid_grant("code was already used"))
}

/// The checks of a code before it is spent (spec §6.4): its client, its lifetime, its
/// `redirect_uri`, PKCE, and a live user who may read the granted scopes.
async fn check_code(
    store: &dyn Store,
    view: &PoolView,
    client: &ClientRecord,
    record: &CodeRecord,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    now: Timestamp,
) -> Result<(Grant, UserRecord, Vec<String>), OAuthError> {
    if record.pool_id != view.pool.id || record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "code was issued to another client",
        ));
    }
    if record.expires_at <= now {
        return Err(OAuthError::invalid_grant("code expired"));
    }
    let grant = Grant::from_json(&record.payload).ok_or_else(OAuthError::server_error)?;
    if redirect_uri.as_deref() != grant.redirect_uri.as_deref() {
        return Err(OAuthError::with(
            ErrorCode::UnauthorizedClient,
            "invalid_redirect",
        ));
    }
    match (&grant.code_challenge, &code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
        (None, None) => {}
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "the authorization request had no code_challenge",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_grant("code_verifier does not match"));
        }
    }
    let (user, groups) = active_user(store, view, &grant).await?;
    scope::check_readable(&grant.scopes, &client.config)?;
    Ok((grant, user, groups))
}

/// A new sign-in's token family, its first refresh token, and that token's value.
fn new_family(
    view: &PoolView,
    client: &ClientRecord,
    user: &UserRecord,
    grant: &Grant,
    now: Timestamp,
) -> (FamilyRecord, RefreshRecord, String) {
    let refresh_lifetime = client.config.refresh_token_seconds();
    let refresh_token = new_refresh_token();
    let family = FamilyRecord {
        id: grant.origin_jti.clone(),
        pool_id: view.pool.id.clone(),
        client_id: client.client_id.clone(),
        username: user.username.clone(),
        created_at: now,
        expires_at: now + refresh_lifetime,
        revoked_at: None,
    };
    let first = RefreshRecord {
        hash: TokenHash::of(&refresh_token),
        family_id: grant.origin_jti.clone(),
        payload: grant.to_json(),
        created_at: now,
        expires_at: now + refresh_lifetime,
        replaced_at: None,
    };
    (family, first, refresh_token)
}

/// Starts the token family of a new sign-in: its first refresh token and the tokens. `None`
/// when the family exists already (the grant was used).
pub async fn start_tokens(
    store: &dyn Store,
    view: &PoolView,
    client: &ClientRecord,
    user: &UserRecord,
    grant: &Grant,
    now: Timestamp,
    issuing: Issuing<'_>,
) -> Result<Option<TokenResponse>, OAuthError> {
    // The trigger runs before the family is written: its refusal spends nothing.
    let changes = token_changes(store, view, client, user, grant, issuing).await?;
    let (family, first, refresh_token) = new_family(view, client, user, grant, now);
    if !store.start_family(&family, &first).await? {
        return Ok(None);
    }
    let mut response = signed_tokens(view, client, user, &changes, grant, now, issuing.source)?;
    response.refresh_token = Some(refresh_token);
    Ok(Some(response))
}

/// The user, if they exist, are enabled, and signed in for this grant after their last
/// password reset or global sign-out; otherwise the grant is dead.
async fn active_user(
    store: &dyn Store,
    view: &PoolView,
    grant: &Grant,
) -> Result<(UserRecord, Vec<String>), OAuthError> {
    let found = store
        .get_user_with_groups(&view.pool.id, &grant.username)
        .await?;
    match found {
        Some((u, groups)) if u.enabled => {
            if authenticated_before_cutoff(Some(&grant.event_id), Some(grant.auth_time), &u) {
                return Err(OAuthError::invalid_grant(
                    "the user signed out or reset the password",
                ));
            }
            Ok((u, groups))
        }
        _ => Err(OAuthError::invalid_grant(
            "user does not exist or is disabled",
        )),
    }
}

/// The user's groups and what the pre-token-generation trigger (if the pool has one) changes
/// in this sign-in's tokens.
async fn token_changes(
    store: &dyn Store,
    view: &PoolView,
    client: &ClientRecord,
    user: &UserRecord,
    grant: &Grant,
    issuing: Issuing<'_>,
) -> Result<(Vec<String>, TokenChanges), OAuthError> {
    let groups = store
        .list_user_groups(&view.pool.id, &user.username)
        .await?;
    changes_for(view, client, (user, groups), grant, issuing).await
}

/// [`token_changes`] with the user's groups already read.
async fn changes_for(
    view: &PoolView,
    client: &ClientRecord,
    (user, groups): (&UserRecord, Vec<String>),
    grant: &Grant,
    issuing: Issuing<'_>,
) -> Result<(Vec<String>, TokenChanges), OAuthError> {
    if !view.triggers.has(Trigger::PreTokenGeneration) {
        return Ok((groups, TokenChanges::default()));
    }
    let version = view.triggers.token_version();
    let request = TokenChanges::request(
        version,
        user_attributes(user),
        &groups,
        &grant.scopes,
        issuing.metadata,
    );
    let call = Call {
        view,
        trigger: Trigger::PreTokenGeneration,
        source: issuing.source.as_str(),
        user_name: &user.username,
        client_id: Some(&client.client_id),
    };
    let changes = match issuing
        .triggers
        .run(&call, request, TokenChanges::empty_response(version))
        .await?
    {
        Some(answer) => TokenChanges::read(version, &answer)?,
        None => TokenChanges::default(),
    };
    Ok((groups, changes))
}

/// Access token, and ID token when `openid` was granted (or through the API), after the
/// pre-token-generation trigger.
pub async fn user_tokens(
    store: &dyn Store,
    view: &PoolView,
    client: &ClientRecord,
    user: &UserRecord,
    grant: &Grant,
    now: Timestamp,
    issuing: Issuing<'_>,
) -> Result<TokenResponse, OAuthError> {
    let changes = token_changes(store, view, client, user, grant, issuing).await?;
    signed_tokens(view, client, user, &changes, grant, now, issuing.source)
}

fn signed_tokens(
    view: &PoolView,
    client: &ClientRecord,
    user: &UserRecord,
    (groups, changes): &(Vec<String>, TokenChanges),
    grant: &Grant,
    now: Timestamp,
    source: TokenSource,
) -> Result<TokenResponse, OAuthError> {
    METRICS.token_issued(source);
    let input = UserTokenInput {
        view,
        client,
        user,
        groups: changes.groups(groups),
        grant,
        now,
        changes,
    };
    let (access_token, expires_in) = claims::user_access_token(&input)?;
    let id_token = if grant.via_api || grant.scopes.iter().any(|s| s == "openid") {
        Some(claims::id_token(&input, &access_token)?)
    } else {
        None
    };
    Ok(TokenResponse {
        id_token,
        access_token,
        refresh_token: None,
        expires_in,
        token_type: "Bearer",
    })
}

async fn refresh(
    store: &dyn Store,
    view: &PoolView,
    client: &ClientRecord,
    token: &str,
    now: Timestamp,
    issuing: Issuing<'_>,
) -> Result<TokenResponse, OAuthError> {
    let invalid = || OAuthError::invalid_grant("invalid refresh token");
    let hash = TokenHash::of(token);
    let record = store.find_refresh(&hash).await?.ok_or_else(invalid)?;
    let family = store
        .get_family(&record.family_id)
        .await?
        .ok_or_else(invalid)?;
    if family.pool_id != view.pool.id || family.client_id != client.client_id {
        return Err(invalid());
    }
    if family.revoked_at.is_some() || record.expires_at <= now || family.expires_at <= now {
        return Err(invalid());
    }
    let grant = Grant::from_json(&record.payload).ok_or_else(OAuthError::server_error)?;
    let (user, groups) = active_user(store, view, &grant).await?;
    // Before the token rotates: a refusal spends nothing.
    let changes = changes_for(view, client, (&user, groups), &grant, issuing).await?;
    let rotation = client
        .config
        .refresh_token_rotation
        .as_ref()
        .filter(|r| r.feature == "ENABLED");
    let new_token = match rotation {
        None => {
            if record.replaced_at.is_some() {
                return Err(invalid());
            }
            None
        }
        Some(r) => {
            let new_token = new_refresh_token();
            let new_record = RefreshRecord {
                hash: TokenHash::of(&new_token),
                family_id: family.id.clone(),
                payload: record.payload.clone(),
                created_at: now,
                // A rotated token lives for what remains of the original's lifetime.
                expires_at: record.expires_at,
                replaced_at: None,
            };
            match store.rotate_refresh(&hash, &new_record, now).await? {
                ConsumeOutcome::Consumed(_) => {}
                // Within the grace period, a retry gets a token of its own. A request that read
                // the clock before the winner rotated (`now` < `t`) is no later than it: with no
                // grace it loses like any other reuse.
                ConsumeOutcome::AlreadyConsumed(old)
                    if r.retry_grace_period_seconds > 0
                        && old
                            .replaced_at
                            .is_some_and(|t| now.max(t) - t < r.retry_grace_period_seconds) =>
                {
                    store.insert_refresh(&new_record).await?;
                }
                ConsumeOutcome::AlreadyConsumed(_) => {
                    // Reuse after the grace period: the token leaked; end the whole family.
                    store.revoke_family(&family.id, now).await?;
                    tracing::warn!(family = %family.id, "rotated refresh token reused; family revoked");
                    return Err(invalid());
                }
                ConsumeOutcome::Missing => return Err(invalid()),
            }
            Some(new_token)
        }
    };
    let mut response = signed_tokens(view, client, &user, &changes, &grant, now, issuing.source)?;
    response.refresh_token = new_token;
    Ok(response)
}

/// The username and `sub` of the user a refresh token was issued to, if it is one of ours
/// (the API checks a client's `SECRET_HASH` over them before refreshing).
pub async fn refresh_holder(
    store: &dyn Store,
    token: &str,
) -> Result<Option<(String, String)>, OAuthError> {
    let Some(record) = store.find_refresh(&TokenHash::of(token)).await? else {
        return Ok(None);
    };
    let (Some(grant), Some(family)) = (
        Grant::from_json(&record.payload),
        store.get_family(&record.family_id).await?,
    ) else {
        return Ok(None);
    };
    let sub = store
        .get_user(&family.pool_id, &grant.username)
        .await?
        .map(|u| u.sub)
        .unwrap_or_default();
    Ok(Some((grant.username, sub)))
}

async fn client_credentials(
    view: &PoolView,
    client: &ClientRecord,
    requested: Option<String>,
    now: Timestamp,
    issuing: Issuing<'_>,
) -> Result<TokenResponse, OAuthError> {
    if !client.has_secret() {
        return Err(OAuthError::invalid_client());
    }
    if !allows_flow(client, "client_credentials") {
        return Err(OAuthError::new(ErrorCode::UnauthorizedClient));
    }
    let allowed: Vec<String> = client
        .config
        .allowed_oauth_scopes
        .iter()
        .filter(|s| scope::is_custom(s))
        .cloned()
        .collect();
    let scopes = scope::resolve(requested.as_deref(), &allowed)?;
    // Only a V3 trigger hears machine-to-machine grants; without one, no work is added here.
    let changes =
        if view.triggers.has(Trigger::PreTokenGeneration) && view.triggers.token_version() >= 3 {
            let request = TokenChanges::request(3, json!({}), &[], &scopes, issuing.metadata);
            let call = Call {
                view,
                trigger: Trigger::PreTokenGeneration,
                source: issuing.source.as_str(),
                user_name: "ClientCredentials",
                client_id: Some(&client.client_id),
            };
            match issuing
                .triggers
                .run(&call, request, TokenChanges::empty_response(3))
                .await?
            {
                Some(answer) => Some(TokenChanges::read(3, &answer)?),
                None => None,
            }
        } else {
            None
        };
    let (access_token, expires_in) =
        claims::client_access_token(view, client, &scopes, now, changes.as_ref())?;
    METRICS.token_issued(TokenSource::ClientCredentials);
    Ok(TokenResponse {
        id_token: None,
        access_token,
        refresh_token: None,
        expires_in,
        token_type: "Bearer",
    })
}

/// `POST /oauth2/revoke` (spec §9): revokes the refresh token's whole family. Unknown tokens
/// succeed silently; access tokens are `unsupported_token_type`.
pub async fn revoke(
    store: &dyn Store,
    client: &ClientRecord,
    token: Option<&str>,
    now: Timestamp,
) -> Result<(), OAuthError> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    if !client.config.token_revocation_enabled() {
        return Err(OAuthError::invalid_request(
            "token revocation is disabled for this client",
        ));
    }
    if token.split('.').count() == 3 {
        return Err(OAuthError::new(ErrorCode::UnsupportedTokenType));
    }
    let Some(record) = store.find_refresh(&TokenHash::of(token)).await? else {
        return Ok(());
    };
    match store.get_family(&record.family_id).await? {
        Some(f) if f.client_id == client.client_id => store.revoke_family(&f.id, now).await?,
        // Another client's token: nothing happens, and nothing is revealed.
        _ => {}
    }
    Ok(())
}

/// Whether the token's sign-in came before the user's last password reset or global sign-out:
/// such tokens are dead whatever the client's revocation setting. The sign-in instant is the
/// `event_id`'s (to the millisecond); for older tokens, the end of `auth_time`'s second.
pub fn signed_in_before_cutoff(claims: &Map<String, Value>, user: &UserRecord) -> bool {
    authenticated_before_cutoff(
        claims.get("event_id").and_then(Value::as_str),
        claims.get("auth_time").and_then(Value::as_i64),
        user,
    )
}

pub fn authenticated_before_cutoff(
    event_id: Option<&str>,
    auth_time: Option<i64>,
    user: &UserRecord,
) -> bool {
    let Some(cutoff) = user.tokens_valid_from_ms else {
        return false;
    };
    let instant = event_id
        .and_then(super::grant::event_instant_ms)
        .or_else(|| auth_time.map(|t| t * 1000 + 999));
    instant.is_none_or(|ms| ms < cutoff)
}

/// `/oauth2/userInfo` (spec §7): the user's attributes released by the access token's scopes.
/// Every failure is `invalid_token`.
pub async fn userinfo(
    store: &dyn Store,
    view: &PoolView,
    access_token: &str,
    now: Timestamp,
) -> Result<Map<String, Value>, OAuthError> {
    let invalid = || OAuthError::new(ErrorCode::InvalidToken);
    let claims = claims::verify_access_token(view, access_token, now)?;
    let scopes: Vec<String> = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(' ')
        .map(String::from)
        .collect();
    // Only tokens from the token endpoint carry a username and openid.
    let username = claims
        .get("username")
        .and_then(Value::as_str)
        .ok_or_else(invalid)?;
    if !scopes.iter().any(|s| s == "openid") {
        return Err(invalid());
    }
    let client = claims
        .get("client_id")
        .and_then(Value::as_str)
        .and_then(|id| view.clients.get(id))
        .ok_or_else(invalid)?;
    if let Some(family) = claims.get("origin_jti").and_then(Value::as_str) {
        match store.get_family(family).await? {
            Some(f) if f.revoked_at.is_none() => {}
            _ => return Err(invalid()),
        }
    }
    let user = match store.get_user(&view.pool.id, username).await? {
        Some(u)
            if u.enabled && Some(u.sub.as_str()) == claims.get("sub").and_then(Value::as_str) =>
        {
            u
        }
        _ => return Err(invalid()),
    };
    if signed_in_before_cutoff(&claims, &user) {
        return Err(invalid());
    }
    let released = released_attributes(&scopes, &client.config);
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.sub));
    for a in &user.attributes {
        if released.allows(&a.name) {
            out.insert(a.name.clone(), json!(a.value));
        }
    }
    if let Some(ids) = user.attributes.iter().find(|a| a.name == "identities") {
        // userInfo gives it as a JSON-encoded string, as Cognito does.
        out.insert("identities".into(), json!(ids.value));
    }
    out.insert("username".into(), json!(user.username));
    Ok(out)
}
