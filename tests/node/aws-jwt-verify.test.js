// AWS's aws-jwt-verify against userpool started with --aws-issuers: the JWKS is fetched from
// userpool over HTTP and handed to the verifier with cacheJwks(); the verifier never goes online.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import {
  CognitoJwtInvalidClientIdError, CognitoJwtInvalidTokenUseError, JwtInvalidScopeError,
  JwtInvalidSignatureError,
} from 'aws-jwt-verify/error';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import {
  API_SCOPE, M2M_CLIENT_ID, POOL_ID, SPA_CLIENT_ID, USERNAME, jwtPayload, rawClientCredentials,
  rawCodeFlow, startEnv,
} from './harness.js';

const AWS_ISSUER = `https://cognito-idp.us-east-1.amazonaws.com/${POOL_ID}`;

let env;
let server;
let jwks;
let userTokens;
let m2mTokens;
const attemptedFetches = [];

// A JWKS cache whose fetcher refuses to go to the network: the tests must only ever use the JWKS
// loaded with cacheJwks() (an unknown kid would otherwise make the verifier call AWS).
function offlineCache() {
  return new SimpleJwksCache({
    fetcher: {
      fetch: async (uri) => {
        attemptedFetches.push(uri);
        throw new Error(`aws-jwt-verify tried to fetch ${uri}`);
      },
    },
  });
}

function verifierFor(props) {
  const verifier = CognitoJwtVerifier.create({ userPoolId: POOL_ID, ...props }, { jwksCache: offlineCache() });
  verifier.cacheJwks(jwks);
  return verifier;
}

/** The same JWT with one payload claim changed and the original signature kept. */
function tamperPayload(jwt, changes) {
  const [header, , signature] = jwt.split('.');
  const payload = { ...jwtPayload(jwt), ...changes };
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
}

/** The same JWT with one bit of its signature flipped. */
function tamperSignature(jwt) {
  const [header, payload, signature] = jwt.split('.');
  const sig = Buffer.from(signature, 'base64url');
  sig[sig.length >> 1] ^= 0x01;
  return `${header}.${payload}.${sig.toString('base64url')}`;
}

before(async () => {
  env = await startEnv({ awsIssuers: true });
  server = env.servers[0];
  const res = await fetch(`${server.url}/${POOL_ID}/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  jwks = await res.json();
  userTokens = await rawCodeFlow(server.url);
  m2mTokens = await rawClientCredentials(server.url);
});

after(async () => {
  await env?.close();
});

describe('aws-jwt-verify against userpool (--aws-issuers)', () => {
  test('the JWKS is RSA signing keys with kids', () => {
    assert.ok(Array.isArray(jwks.keys) && jwks.keys.length > 0);
    for (const key of jwks.keys) {
      assert.equal(key.kty, 'RSA');
      assert.equal(key.alg, 'RS256');
      assert.equal(key.use, 'sig');
      assert.ok(key.kid);
    }
  });

  test('the ID token verifies (tokenUse id, clientId)', async () => {
    const verifier = verifierFor({ tokenUse: 'id', clientId: SPA_CLIENT_ID });
    const payload = await verifier.verify(userTokens.id_token);
    assert.equal(payload.iss, AWS_ISSUER);
    assert.equal(payload.aud, SPA_CLIENT_ID);
    assert.equal(payload.token_use, 'id');
    assert.equal(payload['cognito:username'], USERNAME);
    assert.equal(payload.nonce, userTokens.nonce);
    assert.deepEqual(verifier.verifySync(userTokens.id_token), payload);
  });

  test('the access token verifies (tokenUse access, clientId, scope)', async () => {
    const verifier = verifierFor({ tokenUse: 'access', clientId: SPA_CLIENT_ID, scope: API_SCOPE });
    const payload = await verifier.verify(userTokens.access_token);
    assert.equal(payload.iss, AWS_ISSUER);
    assert.equal(payload.client_id, SPA_CLIENT_ID);
    assert.equal(payload.token_use, 'access');
    assert.equal(payload.username, USERNAME);
    assert.equal(payload.version, 2);
  });

  test('the M2M access token verifies (tokenUse access, m2m clientId, custom scope)', async () => {
    const verifier = verifierFor({ tokenUse: 'access', clientId: M2M_CLIENT_ID, scope: API_SCOPE });
    const payload = await verifier.verify(m2mTokens.access_token);
    assert.equal(payload.iss, AWS_ISSUER);
    assert.equal(payload.sub, M2M_CLIENT_ID);
    assert.equal(payload.client_id, M2M_CLIENT_ID);
    assert.equal(payload.scope, API_SCOPE);
  });

  test('tampered tokens are rejected', () => {
    const id = verifierFor({ tokenUse: 'id', clientId: SPA_CLIENT_ID });
    const access = verifierFor({ tokenUse: 'access', clientId: M2M_CLIENT_ID, scope: API_SCOPE });
    assert.throws(() => id.verifySync(tamperPayload(userTokens.id_token, { 'cognito:username': 'mallory' })),
      JwtInvalidSignatureError);
    assert.throws(() => id.verifySync(tamperSignature(userTokens.id_token)), JwtInvalidSignatureError);
    assert.throws(() => access.verifySync(tamperPayload(m2mTokens.access_token, { scope: `${API_SCOPE} admin` })),
      JwtInvalidSignatureError);
    assert.throws(() => access.verifySync(tamperSignature(m2mTokens.access_token)), JwtInvalidSignatureError);
  });

  test('wrong token use, client or scope is rejected', () => {
    assert.throws(() => verifierFor({ tokenUse: 'access', clientId: SPA_CLIENT_ID }).verifySync(userTokens.id_token),
      CognitoJwtInvalidTokenUseError);
    assert.throws(() => verifierFor({ tokenUse: 'id', clientId: M2M_CLIENT_ID }).verifySync(userTokens.id_token),
      CognitoJwtInvalidClientIdError);
    assert.throws(() => verifierFor({ tokenUse: 'access', clientId: M2M_CLIENT_ID, scope: 'https://api.test/write' })
      .verifySync(m2mTokens.access_token), JwtInvalidScopeError);
  });

  test('the verifier never tried to reach AWS', () => {
    assert.deepEqual(attemptedFetches, []);
  });
});
