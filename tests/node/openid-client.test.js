// panva's openid-client (v6) against userpool: discovery, code flow with PKCE/state/nonce,
// userinfo, refresh (with and without rotation), revocation, client credentials, and errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import {
  API_SCOPE, EMAIL, LOGOUT_URI, M2M_CLIENT_ID, M2M_CLIENT_SECRET, POOL_ID, REDIRECT_URI,
  ROTATING_CLIENT_ID, SPA_CLIENT_ID, USERNAME, jwtPayload, oauthError, signIn, startEnv,
} from './harness.js';

let env;
let server;

before(async () => {
  env = await startEnv();
  server = env.servers[0];
});

after(async () => {
  await env?.close();
});

const insecure = { execute: [client.allowInsecureRequests] };

function discover(clientId, auth = client.None(), metadata = undefined) {
  return client.discovery(new URL(server.issuer), clientId, metadata, auth, insecure);
}

/** Runs the whole authorization-code flow through openid-client; returns tokens and checks. */
async function codeFlow(config, { scope = `openid email profile ${API_SCOPE}` } = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const { callbackUrl, jar } = await signIn(url);
  const checks = { pkceCodeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true };
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, checks);
  return { tokens, callbackUrl, checks, nonce, jar };
}

async function expectOAuthError(promise, expected) {
  let caught;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `expected the request to fail with ${expected}`);
  const { error } = await oauthError(caught);
  assert.equal(error, expected, `expected ${expected}, got ${error} (${caught.message})`);
}

describe('openid-client against userpool', () => {
  let spa;

  test('discovery', async () => {
    spa = await discover(SPA_CLIENT_ID);
    const meta = spa.serverMetadata();
    assert.equal(meta.issuer, server.issuer);
    assert.equal(meta.authorization_endpoint, `${server.url}/oauth2/authorize`);
    assert.equal(meta.token_endpoint, `${server.url}/oauth2/token`);
    assert.equal(meta.userinfo_endpoint, `${server.url}/oauth2/userInfo`);
    assert.equal(meta.revocation_endpoint, `${server.url}/oauth2/revoke`);
    assert.equal(meta.jwks_uri, `${server.issuer}/.well-known/jwks.json`);
    assert.ok(meta.code_challenge_methods_supported.includes('S256'));
    assert.ok(meta.id_token_signing_alg_values_supported.includes('RS256'));
  });

  test('authorization code flow with PKCE, state and nonce; userinfo', async () => {
    const { tokens, nonce } = await codeFlow(spa);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.ok(tokens.refresh_token, 'a refresh token');

    // openid-client has already validated the ID token (signature, iss, aud, exp, nonce, at_hash).
    const id = tokens.claims();
    assert.equal(id.iss, server.issuer);
    assert.equal(id.aud, SPA_CLIENT_ID);
    assert.equal(id.token_use, 'id');
    assert.equal(id.nonce, nonce);
    assert.equal(id['cognito:username'], USERNAME);
    assert.deepEqual(id['cognito:groups'], ['admins']);
    assert.equal(id.email, EMAIL);
    assert.equal(id.email_verified, true);
    assert.ok(id.at_hash, 'at_hash');
    assert.ok(id.origin_jti, 'origin_jti');
    assert.ok(id.auth_time, 'auth_time');

    const access = jwtPayload(tokens.access_token);
    assert.equal(access.iss, server.issuer);
    assert.equal(access.token_use, 'access');
    assert.equal(access.client_id, SPA_CLIENT_ID);
    assert.equal(access.username, USERNAME);
    assert.equal(access.sub, id.sub);
    assert.equal(access.version, 2);
    assert.equal(access.origin_jti, id.origin_jti);
    assert.deepEqual(access['cognito:groups'], ['admins']);
    assert.deepEqual(access.scope.split(' ').sort(), ['email', 'openid', 'profile', API_SCOPE].sort());
    assert.equal(access.aud, undefined, 'Cognito access tokens carry no aud');

    const info = await client.fetchUserInfo(spa, tokens.access_token, id.sub);
    assert.equal(info.sub, id.sub);
    assert.equal(info.email, EMAIL);
    assert.equal(info.username, USERNAME);
  });

  test('refresh without rotation: no new refresh token, the old one keeps working', async () => {
    const { tokens } = await codeFlow(spa);
    const first = await client.refreshTokenGrant(spa, tokens.refresh_token);
    assert.ok(first.access_token);
    assert.ok(first.id_token);
    assert.equal(first.refresh_token, undefined, 'no refresh token without rotation');
    assert.equal(first.claims().sub, tokens.claims().sub);
    assert.equal(first.claims().token_use, 'id');
    assert.equal(jwtPayload(first.access_token).token_use, 'access');

    const second = await client.refreshTokenGrant(spa, tokens.refresh_token);
    assert.ok(second.access_token);
    assert.equal(second.refresh_token, undefined);
    const info = await client.fetchUserInfo(spa, second.access_token, tokens.claims().sub);
    assert.equal(info.email, EMAIL);
  });

  test('refresh with rotation: a new refresh token; reusing the old one is invalid_grant', async () => {
    const rot = await discover(ROTATING_CLIENT_ID);
    const { tokens } = await codeFlow(rot);
    const rotated = await client.refreshTokenGrant(rot, tokens.refresh_token);
    assert.ok(rotated.access_token);
    assert.ok(rotated.refresh_token, 'a new refresh token with rotation');
    assert.notEqual(rotated.refresh_token, tokens.refresh_token);

    // The new one works (and rotates again)...
    const again = await client.refreshTokenGrant(rot, rotated.refresh_token);
    assert.ok(again.access_token);
    assert.ok(again.refresh_token);
    assert.notEqual(again.refresh_token, rotated.refresh_token);

    // ...while the one rotated out is dead at once: RetryGracePeriodSeconds is 0.
    await expectOAuthError(client.refreshTokenGrant(rot, tokens.refresh_token), 'invalid_grant');
  });

  test('revocation: userinfo with the old access token then fails; refresh is invalid_grant', async () => {
    const { tokens } = await codeFlow(spa);
    const sub = tokens.claims().sub;
    await client.fetchUserInfo(spa, tokens.access_token, sub);
    await client.tokenRevocation(spa, tokens.refresh_token);

    let caught;
    try {
      await client.fetchUserInfo(spa, tokens.access_token, sub);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught, 'userinfo must fail after revocation');
    assert.equal(caught.status, 401, `expected 401, got ${caught.status} (${caught.message})`);

    await expectOAuthError(client.refreshTokenGrant(spa, tokens.refresh_token), 'invalid_grant');
  });

  test('client credentials with a custom scope (client_secret_basic)', async () => {
    const m2m = await discover(M2M_CLIENT_ID, client.ClientSecretBasic(M2M_CLIENT_SECRET));
    const tokens = await client.clientCredentialsGrant(m2m, { scope: API_SCOPE });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(tokens.id_token, undefined);
    const access = jwtPayload(tokens.access_token);
    assert.equal(access.iss, server.issuer);
    assert.equal(access.token_use, 'access');
    assert.equal(access.sub, M2M_CLIENT_ID);
    assert.equal(access.client_id, M2M_CLIENT_ID);
    assert.equal(access.scope, API_SCOPE);
    assert.equal(access.version, 2);
  });

  test('a reused authorization code is invalid_grant', async () => {
    const { callbackUrl, checks } = await codeFlow(spa);
    await expectOAuthError(client.authorizationCodeGrant(spa, callbackUrl, checks), 'invalid_grant');
  });

  test('a wrong PKCE verifier is invalid_grant', async () => {
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(spa, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
      state,
    });
    const { callbackUrl } = await signIn(url);
    await expectOAuthError(client.authorizationCodeGrant(spa, callbackUrl, {
      pkceCodeVerifier: client.randomPKCECodeVerifier(),
      expectedState: state,
    }), 'invalid_grant');
  });

  test('a wrong client secret is invalid_client', async () => {
    const m2m = await discover(M2M_CLIENT_ID, client.ClientSecretBasic('not-the-secret'));
    await expectOAuthError(client.clientCredentialsGrant(m2m, { scope: API_SCOPE }), 'invalid_client');
  });

  test('logout redirects to the logout URI and ends the session', async () => {
    const { jar } = await codeFlow(spa);
    assert.ok(jar.get('userpool-session'), 'a session cookie after sign-in');
    const logout = client.buildEndSessionUrl(spa, { client_id: SPA_CLIENT_ID, logout_uri: LOGOUT_URI });
    assert.equal(logout.origin + logout.pathname, `${server.url}/logout`);
    const res = await fetch(logout, { redirect: 'manual', headers: { cookie: jar.header() } });
    await res.body?.cancel();
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), LOGOUT_URI);
    jar.store(res);
    assert.equal(jar.get('userpool-session'), undefined, 'the session cookie is cleared');

    // With the session gone, authorize asks for credentials again.
    const again = client.buildAuthorizationUrl(spa, {
      redirect_uri: REDIRECT_URI, scope: 'openid', state: client.randomState(),
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const auth = await fetch(again, { redirect: 'manual', headers: { cookie: jar.header() } });
    await auth.body?.cancel();
    assert.equal(auth.status, 302);
    assert.match(auth.headers.get('location'), /^(https?:\/\/[^/]+)?\/login\?/);
  });

  test('the pool id in discovery is the one seeded', () => {
    assert.ok(spa.serverMetadata().issuer.endsWith(`/${POOL_ID}`));
  });
});
