// Two userpool nodes on one PostgreSQL database, driven with openid-client: a code issued
// through node A is redeemed at node B, and the refresh token from B works at node A.
// Needs USERPOOL_TEST_POSTGRES_URL (a database on a server where we may create databases);
// a fresh database is created for this file and dropped at the end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import pg from 'pg';
import {
  API_SCOPE, EMAIL, REDIRECT_URI, SPA_CLIENT_ID, USERNAME, jwtPayload, oauthError, signIn, startEnv,
} from './harness.js';

const PG_URL = process.env.USERPOOL_TEST_POSTGRES_URL;
const skip = PG_URL
  ? false
  : 'USERPOOL_TEST_POSTGRES_URL is not set: the two-node test needs a PostgreSQL server';
if (skip) console.log(`# skipping two-node test: ${skip}`);

if (skip) {
  test('two nodes on one PostgreSQL database', { skip }, () => {});
} else describe('two nodes on one PostgreSQL database', () => {
  let admin;
  let dbName;
  let env;
  let nodeA;
  let nodeB;
  let configA;
  let configB;

  before(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    dbName = `userpool_node_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE DATABASE "${dbName}"`);
    const dbUrl = new URL(PG_URL);
    dbUrl.pathname = `/${dbName}`;
    env = await startEnv({ nodes: 2, database: dbUrl.toString() });
    [nodeA, nodeB] = env.servers;
    configA = await configFor(nodeA);
    configB = await configFor(nodeB);
  });

  // Discovery at the node's own issuer, with the endpoints pinned to that node. (The pool's one
  // custom domain, 127.0.0.1, answers at both nodes' ports, but a discovery document names it
  // without a port; a load balancer would hide that, here we pick the node explicitly.)
  async function configFor(node) {
    const discovered = await client.discovery(new URL(node.issuer), SPA_CLIENT_ID, undefined, client.None(),
      { execute: [client.allowInsecureRequests] });
    const meta = discovered.serverMetadata();
    assert.equal(meta.issuer, node.issuer);
    const config = new client.Configuration({
      ...meta,
      authorization_endpoint: `${node.url}/oauth2/authorize`,
      token_endpoint: `${node.url}/oauth2/token`,
      userinfo_endpoint: `${node.url}/oauth2/userInfo`,
      revocation_endpoint: `${node.url}/oauth2/revoke`,
    }, SPA_CLIENT_ID, undefined, client.None());
    client.allowInsecureRequests(config);
    return config;
  }

  after(async () => {
    try {
      await env?.close();
    } finally {
      if (admin) {
        if (dbName) await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
        await admin.end();
      }
    }
  });

  test('both nodes serve the same signing keys', async () => {
    const kids = async (node) => {
      const res = await fetch(`${node.issuer}/.well-known/jwks.json`);
      return (await res.json()).keys.map((k) => k.kid).sort();
    };
    assert.deepEqual(await kids(nodeA), await kids(nodeB));
  });

  test('a code issued through node A is redeemed at node B; the refresh works at node A', async () => {
    assert.equal(configA.serverMetadata().token_endpoint, `${nodeA.url}/oauth2/token`);
    assert.equal(configB.serverMetadata().token_endpoint, `${nodeB.url}/oauth2/token`);

    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(configA, {
      redirect_uri: REDIRECT_URI,
      scope: `openid email ${API_SCOPE}`,
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    assert.equal(url.origin, nodeA.url);
    const { callbackUrl } = await signIn(url);

    const tokens = await client.authorizationCodeGrant(configB, callbackUrl, {
      pkceCodeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
    });
    const id = tokens.claims();
    assert.equal(id['cognito:username'], USERNAME);
    assert.equal(id.nonce, nonce);
    assert.ok(tokens.refresh_token);
    const info = await client.fetchUserInfo(configB, tokens.access_token, id.sub);
    assert.equal(info.email, EMAIL);

    const refreshed = await client.refreshTokenGrant(configA, tokens.refresh_token);
    assert.equal(refreshed.claims().sub, id.sub);
    assert.equal(refreshed.claims().iss, nodeA.issuer);
    assert.equal(jwtPayload(refreshed.access_token).username, USERNAME);
    const infoA = await client.fetchUserInfo(configA, refreshed.access_token, id.sub);
    assert.equal(infoA.email, EMAIL);

    // Revoked at B, the refresh token is dead at A too.
    await client.tokenRevocation(configB, tokens.refresh_token);
    try {
      await client.refreshTokenGrant(configA, tokens.refresh_token);
      assert.fail('a revoked refresh token still worked at the other node');
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      assert.equal((await oauthError(err)).error, 'invalid_grant');
    }

    // The code was used up at B: A must refuse it too. (Last, since a replayed code also revokes
    // the tokens it produced, RFC 6749 section 4.1.2.)
    try {
      await client.authorizationCodeGrant(configA, callbackUrl, { pkceCodeVerifier, expectedState: state });
      assert.fail('the code was redeemed twice');
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      assert.equal((await oauthError(err)).error, 'invalid_grant');
    }
  });
});
