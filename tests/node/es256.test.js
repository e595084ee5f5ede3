// A pool switched to ES256 keys with `userpool keys rotate --alg ES256` (beyond Cognito): AWS's
// aws-jwt-verify checks its ID, access and M2M tokens against the JWKS fetched from userpool
// (P-256 keys), and userInfo accepts its access tokens.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { JwtInvalidSignatureError } from 'aws-jwt-verify/error';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import {
  API_SCOPE, M2M_CLIENT_ID, POOL_ID, SPA_CLIENT_ID, USERNAME, USERPOOL_BIN, jwtPayload,
  rawClientCredentials, rawCodeFlow, startEnv,
} from './harness.js';

let env;
let server;
let jwks;
let userTokens;
let m2mTokens;

function header(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString());
}

function verifierFor(props) {
  const offline = new SimpleJwksCache({
    fetcher: { fetch: async (uri) => { throw new Error(`aws-jwt-verify tried to fetch ${uri}`); } },
  });
  const verifier = CognitoJwtVerifier.create({ userPoolId: POOL_ID, ...props }, { jwksCache: offline });
  verifier.cacheJwks(jwks);
  return verifier;
}

before(async () => {
  env = await startEnv({ awsIssuers: true, extraArgs: ['--refresh-interval', '1'] });
  server = env.servers[0];
  execFileSync(USERPOOL_BIN, ['keys', 'rotate', '--database', env.database, '--pool', POOL_ID, '--alg', 'ES256', '--now'], {
    env: { ...process.env, USERPOOL_MASTER_KEY: env.masterKey },
  });
  // The node loads the new keys at its next refresh (every second here).
  for (let i = 0; i < 50; i++) {
    jwks = await (await fetch(`${server.url}/${POOL_ID}/.well-known/jwks.json`)).json();
    if (jwks.keys.some((k) => k.kty === 'EC')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  userTokens = await rawCodeFlow(server.url);
  m2mTokens = await rawClientCredentials(server.url);
});

after(async () => {
  await env?.close();
});

describe('an ES256 pool, verified by aws-jwt-verify', () => {
  test('the JWKS publishes the P-256 keys beside the RSA ones', () => {
    const ec = jwks.keys.filter((k) => k.kty === 'EC');
    assert.equal(ec.length, 2, JSON.stringify(jwks));
    for (const key of ec) {
      assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      assert.equal(key.alg, 'ES256');
      assert.equal(key.crv, 'P-256');
      assert.equal(key.use, 'sig');
    }
    assert.equal(jwks.keys.filter((k) => k.kty === 'RSA').length, 2);
  });

  test('discovery advertises ES256', async () => {
    const doc = await (await fetch(`${server.url}/${POOL_ID}/.well-known/openid-configuration`)).json();
    assert.deepEqual(doc.id_token_signing_alg_values_supported, ['RS256', 'ES256']);
  });

  test('the ID, access and M2M tokens are ES256 and verify', async () => {
    for (const jwt of [userTokens.id_token, userTokens.access_token, m2mTokens.access_token]) {
      assert.equal(header(jwt).alg, 'ES256');
    }
    const id = await verifierFor({ tokenUse: 'id', clientId: SPA_CLIENT_ID }).verify(userTokens.id_token);
    assert.equal(id['cognito:username'], USERNAME);
    assert.equal(id.nonce, userTokens.nonce);
    const access = await verifierFor({ tokenUse: 'access', clientId: SPA_CLIENT_ID, scope: API_SCOPE })
      .verify(userTokens.access_token);
    assert.equal(access.username, USERNAME);
    const m2m = await verifierFor({ tokenUse: 'access', clientId: M2M_CLIENT_ID, scope: API_SCOPE })
      .verify(m2mTokens.access_token);
    assert.equal(m2m.client_id, M2M_CLIENT_ID);
  });

  test('a changed payload is refused', () => {
    const [h, , s] = userTokens.id_token.split('.');
    const payload = { ...jwtPayload(userTokens.id_token), 'cognito:username': 'mallory' };
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    assert.throws(() => verifierFor({ tokenUse: 'id', clientId: SPA_CLIENT_ID }).verifySync(forged),
      JwtInvalidSignatureError);
  });

  test('userInfo accepts the ES256 access token', async () => {
    const res = await fetch(`${server.url}/oauth2/userInfo`, {
      headers: { authorization: `Bearer ${userTokens.access_token}` },
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).username, USERNAME);
  });
});
