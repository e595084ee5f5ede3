// Choice-based sign-in (USER_AUTH) with passkeys and email codes, as a web app does it: Amplify v6
// bundled for the browser with esbuild (browser/passkeys-entry.js) and served with a tiny page from
// a Node http server on http://localhost:<port> (WebAuthn wants a secure context and `localhost` as
// RP ID), run in headless Chromium (playwright-core, Debian's /usr/bin/chromium) whose DevTools
// WebAuthn domain gives it a virtual platform authenticator (CTAP2, internal, resident keys, user
// verification). The server runs with --public-url http://localhost:<port>; the pool, its client
// and users are made with the AWS SDK. Every request of Amplify to the server and its answer are
// recorded from the page (shown when an assertion fails).
//
// 1. SRP sign-in → associateWebAuthnCredential (the virtual authenticator holds the passkey) →
//    listWebAuthnCredentials → a second registration on the same authenticator is excluded →
//    USER_AUTH with WEB_AUTHN, with EMAIL_OTP (code from the outbox; a wrong one refused), and with
//    no preference (SELECT_CHALLENGE → WEB_AUTHN) → an assertion or a SELECT_CHALLENGE answer sent
//    again, an assertion for another session's challenge, one with a spoilt signature, and another
//    user's passkey are refused → deleteWebAuthnCredential, after which the passkey no longer signs
//    in. DEBUG_PASSKEYS=1 prints every API call of the page.
// 2. UserVerification 'required': an authenticator that cannot verify the user cannot register
//    (the browser refuses the options), and when the options the server sent are rewritten on
//    their way to the page so that the browser makes a credential without the UV flag, the server
//    refuses it; a passkey registered with UV, used once UV is off, signs in neither as it is nor
//    with rewritten request options (an assertion without UV).
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { jwtPayload, outboxCode } from './harness.js';
import { passwordlessPool, startLocalhostServer } from './passwordless-env.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const PASSWORD = 'Str0ng-Passw0rd!';
const USER = 'passkeyuser';
const EMAIL = 'passkeyuser@example.test';
const UV_USER = 'uvuser';
const UV_EMAIL = 'uvuser@example.test';
const OTHER_USER = 'otheruser';
const OTHER_EMAIL = 'otheruser@example.test';
const EMAIL_CODE = /code is (\d{6,8})\b/;

/** A platform authenticator (built in, as a phone's or a laptop's) that verifies its user. */
const PLATFORM_AUTHENTICATOR = {
  protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
  isUserVerified: true, automaticPresenceSimulation: true,
};

const chromiumMissing = existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
if (chromiumMissing && !process.env.CI) console.log(`passkeys test skipped: ${chromiumMissing}`);

const b64ToB64url = (s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const b64urlBytes = (s) => Buffer.from(s, 'base64url');

/** The flags byte of WebAuthn authenticator data (base64url): UP 0x01, UV 0x04, AT 0x40. */
const authDataFlags = (b64url) => b64urlBytes(b64url)[32];

describe('passkeys and email codes: Amplify v6 USER_AUTH in headless Chromium', {
  skip: chromiumMissing && !process.env.CI ? chromiumMissing : false,
  timeout: 180_000,
}, () => {
  let dir;
  let pgDb;
  let server;
  let serverUrl;
  let sdk;
  let poolId;
  let clientId;
  let web;
  let webUrl;
  let browser;
  const seenMail = new Set();

  let sendApi;
  const send = (op, input) => sendApi(op, input);
  /** An unsigned Cognito API call as a client makes it (no SDK): { status, json }. */
  async function api(target, body) {
    const res = await fetch(`${serverUrl}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityProviderService.${target}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  }

  before(async () => {
    if (chromiumMissing) assert.fail(`CI is set and ${chromiumMissing}`);
    dir = mkdtempSync(join(tmpdir(), 'userpool-passkeys-'));

    // Amplify for the browser, as an app bundles it.
    const bundle = join(dir, 'www', 'amplify.js');
    const built = await build({
      entryPoints: [join(HERE, 'browser', 'passkeys-entry.js')],
      absWorkingDir: HERE,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'chrome120',
      outfile: bundle,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
    });
    assert.deepEqual(built.errors, [], 'esbuild errors');
    const amplifyJs = readFileSync(bundle);
    const indexHtml = '<!doctype html><html><head><meta charset="utf-8"><title>passkeys</title>'
      + '<script type="module" src="/amplify.js"></script></head><body><h1>app</h1></body></html>';
    web = createServer((req, res) => {
      const path = new URL(req.url, 'http://localhost').pathname;
      if (req.method === 'GET' && path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(indexHtml);
      } else if (req.method === 'GET' && path === '/amplify.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(amplifyJs);
      } else if (path === '/favicon.ico') {
        res.writeHead(204).end();
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    });
    await new Promise((resolve, reject) => {
      web.once('error', reject);
      web.listen(0, '127.0.0.1', resolve);
    });
    webUrl = `http://localhost:${web.address().port}`;

    // The server, reached (and named, by its public URL) as localhost.
    let send;
    ({ server, url: serverUrl, pgDb, sdk, send } = await startLocalhostServer(dir));
    sendApi = send;
    poolId = await passwordlessPool(send, 'passwordless');
    const { UserPool: described } = await send('DescribeUserPool', { UserPoolId: poolId });
    assert.deepEqual([...described.Policies.SignInPolicy.AllowedFirstAuthFactors].sort(),
      ['EMAIL_OTP', 'PASSWORD', 'WEB_AUTHN'], 'DescribeUserPool: SignInPolicy');
    const mfa = await send('GetUserPoolMfaConfig', { UserPoolId: poolId });
    assert.equal(mfa.WebAuthnConfiguration?.RelyingPartyId, 'localhost', 'GetUserPoolMfaConfig: RelyingPartyId');
    assert.equal(mfa.WebAuthnConfiguration?.UserVerification, 'required', 'GetUserPoolMfaConfig: UserVerification');
    ({ UserPoolClient: { ClientId: clientId } } = await send('CreateUserPoolClient', {
      UserPoolId: poolId, ClientName: 'web',
      ExplicitAuthFlows: ['ALLOW_USER_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    }));
    for (const [username, email] of [[USER, EMAIL], [UV_USER, UV_EMAIL], [OTHER_USER, OTHER_EMAIL]]) {
      await send('AdminCreateUser', {
        UserPoolId: poolId, Username: username, MessageAction: 'SUPPRESS',
        UserAttributes: [{ Name: 'email', Value: email }, { Name: 'email_verified', Value: 'true' }],
      });
      await send('AdminSetUserPassword', { UserPoolId: poolId, Username: username, Password: PASSWORD, Permanent: true });
    }

    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (web?.listening ? web.close(resolve) : resolve()));
    sdk?.destroy();
    await server?.stop();
    await pgDb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A fresh browser context with the app page open, Amplify configured, a virtual authenticator
   * with `authenticator` options, and the log of the Cognito API calls the page made; `close()`
   * closes the context.
   */
  async function openApp(authenticator) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const pageErrors = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // Console errors (a refused CORS preflight shows only there), for failure messages.
    const consoleErrors = [];
    page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });

    // Every Cognito API call: X-Amz-Target, request body, status and answer (as the page got it).
    const calls = [];
    const pending = new Set();
    const serverOrigin = new URL(serverUrl).origin;
    page.on('request', (req) => {
      if (req.method() !== 'POST' || new URL(req.url()).origin !== serverOrigin) return;
      const target = (req.headers()['x-amz-target'] ?? '').replace(/^AWSCognitoIdentityProviderService\./, '');
      let body;
      try { body = JSON.parse(req.postData() ?? 'null'); } catch { body = req.postData(); }
      const call = { target, request: body, status: null, response: null };
      calls.push(call);
      const done = (async () => {
        const res = await req.response().catch((err) => ({ failed: err }));
        if (!res || res.failed) {
          call.status = 'failed';
          call.response = req.failure()?.errorText ?? String(res?.failed ?? 'no response');
          return;
        }
        call.status = res.status();
        const text = await res.text().catch((err) => `<body unavailable: ${err.message}>`);
        try { call.response = JSON.parse(text); } catch { call.response = text; }
      })();
      pending.add(done);
      done.finally(() => pending.delete(done));
    });

    await page.goto(`${webUrl}/`);
    await page.waitForFunction(() => window.amplifyReady === true);
    assert.equal(await page.evaluate(() => window.isSecureContext), true, 'http://localhost is a secure context');
    await page.evaluate((config) => window.amplify.configure(config), {
      Auth: { Cognito: { userPoolId: poolId, userPoolClientId: clientId, userPoolEndpoint: serverUrl } },
    });

    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: authenticator });

    const app = {
      page,
      async close() {
        // DEBUG_PASSKEYS=1 prints every API call of the page, request and answer.
        if (process.env.DEBUG_PASSKEYS) console.log(app.explain());
        await context.close();
      },
      cdp,
      authenticatorId,
      calls,
      pageErrors,
      /** Waits for the answers of the calls made so far. */
      async settle() {
        while (pending.size) await Promise.all([...pending]);
      },
      /** Runs an Amplify function in the page: { ok, value } or { ok: false, error }. */
      async call(name, ...args) {
        const result = await page.evaluate(([n, a]) => window.call(n, ...a), [name, args]);
        await app.settle();
        return result;
      },
      /** The same, failing unless it resolved. */
      async ok(name, ...args) {
        const from = calls.length;
        const result = await app.call(name, ...args);
        assert.ok(result.ok, `${name}(${args.map((a) => JSON.stringify(a)).join(', ')}) rejected: `
          + `${JSON.stringify(result.error)}\n${app.explain(from)}`);
        return result.value;
      },
      /** The calls since index `from` (all by default), request and answer, for messages. */
      explain(from = 0) {
        const cut = (v) => {
          const s = typeof v === 'string' ? v : JSON.stringify(v);
          return s && s.length > 3000 ? `${s.slice(0, 3000)}…` : s;
        };
        const lines = calls.slice(from).map((c, i) => `  #${from + i} ${c.target} → ${c.status}\n`
          + `     sent: ${cut(c.request)}\n     got:  ${cut(c.response)}`);
        return (lines.length ? `API calls:\n${lines.join('\n')}` : 'no API calls')
          + (consoleErrors.length ? `\nconsole errors so far:\n  ${consoleErrors.slice(-5).join('\n  ')}` : '');
      },
      /** The calls since `from` with target `target`. */
      since(from, target) {
        return calls.slice(from).filter((c) => c.target === target);
      },
      /** Signs out (nothing if signed out already): a failed step leaves no session behind. */
      async signedOut() {
        await app.ok('signOut');
        assert.equal(await app.ok('sessionPayloads'), null, 'no tokens after signOut');
      },
      async credentials() {
        return (await cdp.send('WebAuthn.getCredentials', { authenticatorId: app.authenticatorId })).credentials;
      },
      async setUserVerified(isUserVerified) {
        await cdp.send('WebAuthn.setUserVerified', { authenticatorId: app.authenticatorId, isUserVerified });
      },
      /** Takes the virtual authenticator away and puts one with `options` in its place. */
      async replaceAuthenticator(options) {
        await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: app.authenticatorId });
        ({ authenticatorId: app.authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options }));
      },
      /**
       * Rewrites the JSON answers to X-Amz-Target `target` with `edit(json)` on their way to the
       * page (the original answer kept in `rewritten`); returns a function that stops it.
       */
      async rewrite(target, edit) {
        const rewritten = [];
        const handler = async (route) => {
          const req = route.request();
          if (req.method() !== 'POST' || req.headers()['x-amz-target'] !== `AWSCognitoIdentityProviderService.${target}`) {
            await route.fallback();
            return;
          }
          const response = await route.fetch();
          const original = await response.json();
          rewritten.push(original);
          if (response.status() !== 200) {
            await route.fulfill({ response });
            return;
          }
          await route.fulfill({ response, json: edit(structuredClone(original)) });
        };
        const matcher = (url) => url.origin === serverOrigin;
        await page.route(matcher, handler);
        return { rewritten, stop: () => page.unroute(matcher, handler) };
      },
      /**
       * Rewrites the JSON requests to X-Amz-Target `target` with `edit(json)` on their way to the
       * server (the call log keeps the request as the page made it); returns a function that stops it.
       */
      async rewriteRequest(target, edit) {
        let count = 0;
        const handler = async (route) => {
          const req = route.request();
          if (req.method() !== 'POST' || req.headers()['x-amz-target'] !== `AWSCognitoIdentityProviderService.${target}`) {
            await route.fallback();
            return;
          }
          count += 1;
          await route.continue({ postData: JSON.stringify(edit(JSON.parse(req.postData()))) });
        };
        const matcher = (url) => url.origin === serverOrigin;
        await page.route(matcher, handler);
        return { count: () => count, stop: () => page.unroute(matcher, handler) };
      },
    };
    return app;
  }

  /** Asserts an Amplify sign-in ended signed in, as `username`, and returns the token payloads. */
  async function assertSignedIn(app, result, username, from, what) {
    assert.ok(result.ok, `${what} rejected: ${JSON.stringify(result.error)}\n${app.explain(from)}`);
    assert.equal(result.value.isSignedIn, true, `${what}: ${JSON.stringify(result.value)}\n${app.explain(from)}`);
    assert.equal(result.value.nextStep.signInStep, 'DONE');
    const payloads = await app.ok('sessionPayloads');
    assert.ok(payloads, 'fetchAuthSession has tokens');
    assert.equal(payloads.id['cognito:username'], username, 'cognito:username of the ID token');
    assert.equal(payloads.id.token_use, 'id');
    assert.equal(payloads.id.aud, clientId);
    assert.equal(payloads.access.username, username, 'username of the access token');
    assert.equal(payloads.access.client_id, clientId);
    assert.equal(payloads.access.token_use, 'access');
    // The tokens the page holds are the ones the server issued in this sign-in.
    const issued = app.calls.slice(from).map((c) => c.response?.AuthenticationResult).filter(Boolean);
    assert.equal(issued.length, 1, `one AuthenticationResult in the sign-in\n${app.explain(from)}`);
    assert.equal(jwtPayload(issued[0].AccessToken).jti, payloads.access.jti, 'the access token is the one issued');
    assert.equal(issued[0].TokenType, 'Bearer');
    assert.ok(issued[0].RefreshToken, 'a refresh token');
    return payloads;
  }

  /** Asserts a passkey sign-in request options (CREDENTIAL_REQUEST_OPTIONS) the server sent. */
  function assertRequestOptions(app, from, credentialIds) {
    const initiated = app.calls.slice(from).filter((c) => c.response?.ChallengeName === 'WEB_AUTHN');
    assert.equal(initiated.length, 1, `one WEB_AUTHN challenge\n${app.explain(from)}`);
    const json = initiated[0].response.ChallengeParameters?.CREDENTIAL_REQUEST_OPTIONS;
    assert.equal(typeof json, 'string', `CREDENTIAL_REQUEST_OPTIONS is a JSON string\n${app.explain(from)}`);
    const options = JSON.parse(json);
    assert.equal(options.rpId, 'localhost', 'rpId of the request options');
    assert.equal(options.userVerification, 'required', 'userVerification of the request options');
    assert.ok(b64urlBytes(options.challenge).length >= 16, `a challenge of 16 bytes or more: ${options.challenge}`);
    if (credentialIds && options.allowCredentials?.length) {
      assert.deepEqual(options.allowCredentials.map((c) => c.id).sort(), [...credentialIds].sort(),
        'allowCredentials are the user\'s passkeys');
    }
    assert.ok(initiated[0].response.Session, 'a Session with the challenge');
    return options;
  }

  describe('a platform authenticator that verifies its user', () => {
    let app;
    let credentialId;

    before(async () => {
      app = await openApp(PLATFORM_AUTHENTICATOR);
    });
    after(() => app?.close());

    test('SRP sign-in, then associateWebAuthnCredential registers a passkey', async () => {
      let from = app.calls.length;
      const signedIn = await app.call('signIn', { username: USER, password: PASSWORD });
      await assertSignedIn(app, signedIn, USER, from, 'SRP signIn');
      assert.equal(app.since(from, 'InitiateAuth')[0]?.request.AuthFlow, 'USER_SRP_AUTH', 'Amplify signs in with SRP');

      from = app.calls.length;
      await app.ok('associateWebAuthnCredential');
      const [start] = app.since(from, 'StartWebAuthnRegistration');
      const [complete] = app.since(from, 'CompleteWebAuthnRegistration');
      assert.ok(start && complete, `StartWebAuthnRegistration and CompleteWebAuthnRegistration\n${app.explain(from)}`);
      assert.equal(start.status, 200);
      const options = start.response.CredentialCreationOptions;
      assert.equal(options.rp.id, 'localhost', 'rp.id of the creation options');
      assert.ok(options.rp.name, 'rp.name');
      assert.equal(options.authenticatorSelection?.userVerification, 'required', 'userVerification of the creation options');
      assert.ok(b64urlBytes(options.challenge).length >= 16, `a challenge of 16 bytes or more: ${options.challenge}`);
      assert.ok(b64urlBytes(options.user.id).length >= 1, 'a user handle');
      assert.ok(options.pubKeyCredParams.some((p) => p.type === 'public-key' && p.alg === -7), 'ES256 offered');
      assert.deepEqual(options.excludeCredentials ?? [], [], 'no passkey to exclude yet');
      assert.equal(complete.status, 200, `CompleteWebAuthnRegistration\n${app.explain(from)}`);
      assert.equal(complete.request.Credential.type, 'public-key');
      // What the browser made: the UV flag was set on the credential sent to the server.
      assert.ok(authDataFlags(complete.request.Credential.response.authenticatorData) & 0x04, 'UV set in the attestation');

      const stored = await app.credentials();
      assert.equal(stored.length, 1, 'the virtual authenticator holds one credential');
      assert.equal(stored[0].rpId, 'localhost');
      assert.equal(stored[0].isResidentCredential, true, 'a discoverable credential (passkey)');
      assert.equal(b64ToB64url(stored[0].userHandle), options.user.id, 'the user handle of the options');
      credentialId = b64ToB64url(stored[0].credentialId);
      assert.equal(complete.request.Credential.id, credentialId);
    });

    test('listWebAuthnCredentials: the passkey, for relying party localhost', async () => {
      const listed = await app.ok('listWebAuthnCredentials');
      assert.equal(listed.credentials.length, 1, `one credential: ${JSON.stringify(listed)}\n${app.explain(app.calls.length - 1)}`);
      const [cred] = listed.credentials;
      assert.equal(cred.credentialId, credentialId, 'the credential id the authenticator holds (base64url)');
      assert.equal(cred.relyingPartyId, 'localhost');
      assert.ok(cred.createdAt instanceof Date && Math.abs(cred.createdAt - Date.now()) < 10 * 60_000,
        `createdAt is now: ${cred.createdAt}`);
      assert.ok(typeof cred.friendlyCredentialName === 'string' && cred.friendlyCredentialName.length > 0,
        'a friendly name');
      assert.equal(cred.authenticatorAttachment, 'platform', 'attachment as the browser reported it');
      assert.ok(cred.authenticatorTransports?.includes('internal'), `transports: ${cred.authenticatorTransports}`);
    });

    test('a second associateWebAuthnCredential on the same authenticator: excluded, nothing added', async (t) => {
      // Should a second passkey get in (it replaces the first on the authenticator: same RP, same
      // user handle), the server keeps only the one the authenticator holds, so that the later
      // steps see one passkey still.
      t.after(async () => {
        const held = await app.credentials();
        if (held.length === 1) credentialId = b64ToB64url(held[0].credentialId);
        const listed = await app.call('listWebAuthnCredentials');
        for (const c of listed.value?.credentials ?? []) {
          if (c.credentialId !== credentialId) await app.call('deleteWebAuthnCredential', { credentialId: c.credentialId });
        }
      });
      const from = app.calls.length;
      const again = await app.call('associateWebAuthnCredential');
      assert.equal(again.ok, false, `a second passkey on the same authenticator was registered\n${app.explain(from)}`);
      const [start] = app.since(from, 'StartWebAuthnRegistration');
      assert.deepEqual(start.response.CredentialCreationOptions.excludeCredentials?.map((c) => c.id), [credentialId],
        `excludeCredentials names the registered passkey\n${app.explain(from)}`);
      assert.equal(again.error.name, 'PasskeyAlreadyExists', JSON.stringify(again.error));
      assert.equal(app.since(from, 'CompleteWebAuthnRegistration').length, 0);
      assert.equal((await app.credentials()).length, 1);
      assert.equal((await app.ok('listWebAuthnCredentials')).credentials.length, 1);
      await app.ok('signOut');
      assert.equal(await app.ok('sessionPayloads'), null, 'no tokens after signOut');
    });

    test('USER_AUTH with preferredChallenge WEB_AUTHN signs in with the passkey', async () => {
      await app.signedOut();
      const before = (await app.credentials())[0].signCount;
      const from = app.calls.length;
      const result = await app.call('signIn', {
        username: USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'WEB_AUTHN' },
      });
      await assertSignedIn(app, result, USER, from, 'signIn USER_AUTH WEB_AUTHN');
      const [initiate] = app.since(from, 'InitiateAuth');
      assert.equal(initiate.request.AuthFlow, 'USER_AUTH');
      assert.equal(initiate.request.AuthParameters.PREFERRED_CHALLENGE, 'WEB_AUTHN');
      assertRequestOptions(app, from, [credentialId]);
      const [respond] = app.since(from, 'RespondToAuthChallenge');
      assert.equal(respond.request.ChallengeName, 'WEB_AUTHN');
      assert.equal(JSON.parse(respond.request.ChallengeResponses.CREDENTIAL).id, credentialId);
      assert.ok((await app.credentials())[0].signCount > before, 'the authenticator signed');
      // The refresh token of a passkey sign-in refreshes.
      const signedIn = await app.ok('sessionPayloads');
      const refreshFrom = app.calls.length;
      const refreshed = await app.ok('sessionPayloads', true);
      // Amplify 6.21 refreshes with GetTokensFromRefreshToken.
      const [refresh] = app.since(refreshFrom, 'GetTokensFromRefreshToken');
      assert.equal(refresh?.status, 200, app.explain(refreshFrom));
      assert.equal(refreshed.access.username, USER);
      assert.notEqual(refreshed.access.jti, signedIn.access.jti, 'a new access token');
      await app.ok('signOut');
    });

    test('USER_AUTH with preferredChallenge EMAIL_OTP: the code from the outbox; a wrong one is refused', async () => {
      await app.signedOut();
      // A wrong code first, on a sign-in of its own.
      let from = app.calls.length;
      const wrongTry = await app.ok('signIn', {
        username: USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'EMAIL_OTP' },
      });
      assert.equal(wrongTry.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE', `${JSON.stringify(wrongTry)}\n${app.explain(from)}`);
      const sent = await outboxCode(dir, EMAIL, { seen: seenMail, pattern: EMAIL_CODE });
      const wrong = sent.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
      const refused = await app.call('confirmSignIn', { challengeResponse: wrong });
      assert.equal(refused.ok, false, `a wrong email code was accepted\n${app.explain(from)}`);
      assert.equal(refused.error.name, 'CodeMismatchException', JSON.stringify(refused.error));
      assert.equal(await app.ok('sessionPayloads'), null, 'no tokens after a wrong code');

      from = app.calls.length;
      const started = await app.ok('signIn', {
        username: USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'EMAIL_OTP' },
      });
      assert.equal(started.isSignedIn, false);
      assert.equal(started.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE', `${JSON.stringify(started)}\n${app.explain(from)}`);
      assert.equal(started.nextStep.codeDeliveryDetails.deliveryMedium, 'EMAIL');
      assert.match(started.nextStep.codeDeliveryDetails.destination ?? '', /^p\*+@e\*+/, 'masked destination');
      const [initiate] = app.since(from, 'InitiateAuth');
      assert.equal(initiate.request.AuthParameters.PREFERRED_CHALLENGE, 'EMAIL_OTP');
      assert.equal(initiate.response.ChallengeName, 'EMAIL_OTP');
      const code = await outboxCode(dir, EMAIL, { seen: seenMail, pattern: EMAIL_CODE });
      const confirmed = await app.call('confirmSignIn', { challengeResponse: code });
      await assertSignedIn(app, confirmed, USER, from, 'confirmSignIn with the email code');
      const [respond] = app.since(from, 'RespondToAuthChallenge');
      assert.equal(respond.request.ChallengeName, 'EMAIL_OTP');
      assert.equal(respond.request.ChallengeResponses.EMAIL_OTP_CODE, code);
      await app.ok('signOut');
    });

    test('USER_AUTH with no preference: SELECT_CHALLENGE, then WEB_AUTHN', async () => {
      await app.signedOut();
      const from = app.calls.length;
      const started = await app.ok('signIn', { username: USER, options: { authFlowType: 'USER_AUTH' } });
      assert.equal(started.isSignedIn, false);
      assert.equal(started.nextStep.signInStep, 'CONTINUE_SIGN_IN_WITH_FIRST_FACTOR_SELECTION',
        `${JSON.stringify(started)}\n${app.explain(from)}`);
      for (const factor of ['WEB_AUTHN', 'EMAIL_OTP', 'PASSWORD']) {
        assert.ok(started.nextStep.availableChallenges?.includes(factor),
          `${factor} in availableChallenges: ${JSON.stringify(started.nextStep.availableChallenges)}`);
      }
      assert.ok(!started.nextStep.availableChallenges.includes('SMS_OTP'), 'SMS_OTP is not an allowed factor');
      const [initiate] = app.since(from, 'InitiateAuth');
      assert.equal(initiate.request.AuthParameters.PREFERRED_CHALLENGE, undefined);
      assert.equal(initiate.response.ChallengeName, 'SELECT_CHALLENGE');

      const chosen = app.calls.length;
      const confirmed = await app.call('confirmSignIn', { challengeResponse: 'WEB_AUTHN' });
      await assertSignedIn(app, confirmed, USER, from, 'confirmSignIn WEB_AUTHN after SELECT_CHALLENGE');
      const responds = app.since(chosen, 'RespondToAuthChallenge');
      assert.deepEqual(responds.map((c) => c.request.ChallengeName), ['SELECT_CHALLENGE', 'WEB_AUTHN']);
      assert.equal(responds[0].request.ChallengeResponses.ANSWER, 'WEB_AUTHN');
      assertRequestOptions(app, chosen, [credentialId]);
    });

    test('an assertion is good once, for its own challenge, and only as signed', async (t) => {
      await app.signedOut();
      // The last passkey sign-in's answer, sent again as it was (its session is spent)...
      const used = app.calls.filter((c) => c.target === 'RespondToAuthChallenge'
        && c.request.ChallengeName === 'WEB_AUTHN' && c.response?.AuthenticationResult).at(-1);
      assert.ok(used, 'a passkey sign-in happened before');
      const replayed = await api('RespondToAuthChallenge', used.request);
      assert.equal(replayed.status, 400, `the same WEB_AUTHN answer accepted twice: ${JSON.stringify(replayed.json)}`);
      assert.ok(!replayed.json.AuthenticationResult);
      // ...and with a fresh session, whose challenge it was not signed for.
      const fresh = await api('InitiateAuth', {
        AuthFlow: 'USER_AUTH', ClientId: clientId,
        AuthParameters: { USERNAME: USER, PREFERRED_CHALLENGE: 'WEB_AUTHN' },
      });
      assert.equal(fresh.status, 200, JSON.stringify(fresh.json));
      assert.equal(fresh.json.ChallengeName, 'WEB_AUTHN');
      const moved = await api('RespondToAuthChallenge', { ...used.request, Session: fresh.json.Session });
      assert.equal(moved.status, 400, `an assertion accepted for another challenge: ${JSON.stringify(moved.json)}`);
      assert.ok(!moved.json.AuthenticationResult);
      t.diagnostic(`replayed: ${JSON.stringify(replayed.json)}; other challenge: ${JSON.stringify(moved.json)}`);
      // The choice of SELECT_CHALLENGE, sent again: its session is spent too.
      const chose = app.calls.filter((c) => c.target === 'RespondToAuthChallenge'
        && c.request.ChallengeName === 'SELECT_CHALLENGE' && c.status === 200).at(-1);
      assert.ok(chose, 'a SELECT_CHALLENGE answer happened before');
      const choseAgain = await api('RespondToAuthChallenge', chose.request);
      assert.equal(choseAgain.status, 400, `a SELECT_CHALLENGE session used twice: ${JSON.stringify(choseAgain.json)}`);
      assert.ok(!choseAgain.json.ChallengeName && !choseAgain.json.AuthenticationResult);

      // A fresh assertion whose signature is spoilt on its way to the server.
      const spoil = await app.rewriteRequest('RespondToAuthChallenge', (json) => {
        if (json.ChallengeName !== 'WEB_AUTHN') return json;
        const credential = JSON.parse(json.ChallengeResponses.CREDENTIAL);
        const signature = b64urlBytes(credential.response.signature);
        signature[signature.length - 1] ^= 0x01;
        credential.response.signature = signature.toString('base64url');
        return { ...json, ChallengeResponses: { ...json.ChallengeResponses, CREDENTIAL: JSON.stringify(credential) } };
      });
      const from = app.calls.length;
      const result = await app.call('signIn', {
        username: USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'WEB_AUTHN' },
      });
      await spoil.stop();
      assert.equal(spoil.count(), 1, 'the assertion was spoilt');
      assert.ok(!(result.ok && result.value.isSignedIn), `signed in with a bad signature\n${app.explain(from)}`);
      const [respond] = app.since(from, 'RespondToAuthChallenge');
      assert.equal(respond.status, 400, `a bad signature\n${app.explain(from)}`);
      assert.ok(!respond.response?.AuthenticationResult);
      t.diagnostic(`bad signature: ${JSON.stringify(respond.response)}`);
      assert.equal(await app.ok('sessionPayloads'), null);

      // Then, untouched, it signs in (the refusals were not of the passkey itself).
      const again = app.calls.length;
      await assertSignedIn(app, await app.call('signIn', {
        username: USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'WEB_AUTHN' },
      }), USER, again, 'signIn WEB_AUTHN after the refusals');
    });

    test('assertions made outside the browser with the passkey\'s key: a right one signs in, no other', async (t) => {
      // The virtual authenticator gives its private key away: assertions are made here, each
      // for a fresh challenge, right but for one thing each, and sent as a client would.
      await app.signedOut();
      const held = await app.credentials();
      assert.equal(held.length, 1);
      const key = createPrivateKey({ key: Buffer.from(held[0].privateKey, 'base64'), format: 'der', type: 'pkcs8' });
      let counter = held[0].signCount;
      // The authenticator's own counter goes past the forged ones after.
      t.after(async () => {
        await app.cdp.send('WebAuthn.removeCredential', { authenticatorId: app.authenticatorId, credentialId: held[0].credentialId });
        await app.cdp.send('WebAuthn.addCredential', {
          authenticatorId: app.authenticatorId, credential: { ...held[0], signCount: counter + 1 },
        });
      });
      async function forged({ type = 'webauthn.get', origin = webUrl, rpId = 'localhost', flags = 0x05 } = {}) {
        const start = await api('InitiateAuth', {
          AuthFlow: 'USER_AUTH', ClientId: clientId, AuthParameters: { USERNAME: USER, PREFERRED_CHALLENGE: 'WEB_AUTHN' },
        });
        assert.equal(start.json.ChallengeName, 'WEB_AUTHN', JSON.stringify(start.json));
        const { challenge } = JSON.parse(start.json.ChallengeParameters.CREDENTIAL_REQUEST_OPTIONS);
        counter += 1;
        const clientData = Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
        const signCount = Buffer.alloc(4);
        signCount.writeUInt32BE(counter);
        const authData = Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags]), signCount]);
        const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientData).digest()]), key);
        const credential = {
          id: credentialId, rawId: credentialId, type: 'public-key', clientExtensionResults: {},
          authenticatorAttachment: 'platform',
          response: {
            clientDataJSON: clientData.toString('base64url'), authenticatorData: authData.toString('base64url'),
            signature: signature.toString('base64url'), userHandle: b64ToB64url(held[0].userHandle),
          },
        };
        return api('RespondToAuthChallenge', {
          ChallengeName: 'WEB_AUTHN', ClientId: clientId, Session: start.json.Session,
          ChallengeResponses: { USERNAME: USER, CREDENTIAL: JSON.stringify(credential) },
        });
      }

      const right = await forged();
      assert.equal(right.status, 200, `a right assertion made here: ${JSON.stringify(right.json)}`);
      assert.equal(jwtPayload(right.json.AuthenticationResult.AccessToken).username, USER);
      for (const [what, change] of [
        ['another origin', { origin: 'https://evil.example' }],
        ['another RP ID', { rpId: 'evil.example' }],
        ['client data of a registration', { type: 'webauthn.create' }],
        ['no user presence', { flags: 0x04 }],
        ['no user verification', { flags: 0x01 }],
      ]) {
        const wrong = await forged(change);
        assert.equal(wrong.status, 400, `an assertion with ${what} accepted: ${JSON.stringify(wrong.json)}`);
        assert.ok(!wrong.json.AuthenticationResult);
        t.diagnostic(`${what}: ${JSON.stringify(wrong.json)}`);
      }
    });

    test('another user\'s passkey does not sign in as this one', async (t) => {
      await app.signedOut();
      // The other user gets a passkey of their own on the same authenticator (so that the server
      // asks them for one), then signs in with the first user's passkey: the request options
      // rewritten on their way to the page to allow only that one.
      let from = app.calls.length;
      await assertSignedIn(app, await app.call('signIn', { username: OTHER_USER, password: PASSWORD }), OTHER_USER, from, 'SRP signIn');
      await app.ok('associateWebAuthnCredential');
      const held = await app.credentials();
      assert.equal(held.length, 2, 'the authenticator holds both users\' passkeys');
      const otherId = b64ToB64url(held.find((c) => b64ToB64url(c.credentialId) !== credentialId).credentialId);
      t.after(async () => {
        await app.call('signOut');
        await app.call('signIn', { username: OTHER_USER, password: PASSWORD });
        await app.call('deleteWebAuthnCredential', { credentialId: otherId });
        await app.call('signOut');
        await app.cdp.send('WebAuthn.removeCredential', {
          authenticatorId: app.authenticatorId, credentialId: Buffer.from(otherId, 'base64url').toString('base64'),
        });
      });
      await app.signedOut();

      const rewrite = await app.rewrite('InitiateAuth', (json) => {
        if (json.ChallengeParameters?.CREDENTIAL_REQUEST_OPTIONS) {
          const options = JSON.parse(json.ChallengeParameters.CREDENTIAL_REQUEST_OPTIONS);
          options.allowCredentials = [{ type: 'public-key', id: credentialId }];
          json.ChallengeParameters.CREDENTIAL_REQUEST_OPTIONS = JSON.stringify(options);
        }
        return json;
      });
      from = app.calls.length;
      const result = await app.call('signIn', {
        username: OTHER_USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'WEB_AUTHN' },
      });
      await rewrite.stop();
      assert.equal(rewrite.rewritten[0]?.ChallengeName, 'WEB_AUTHN', `a WEB_AUTHN challenge for ${OTHER_USER}\n${app.explain(from)}`);
      const [respond] = app.since(from, 'RespondToAuthChallenge');
      assert.ok(respond, `the assertion was sent\n${app.explain(from)}`);
      assert.equal(JSON.parse(respond.request.ChallengeResponses.CREDENTIAL).id, credentialId, 'signed with the first user\'s passkey');
      assert.ok(!(result.ok && result.value.isSignedIn), `signed in as ${OTHER_USER} with ${USER}'s passkey\n${app.explain(from)}`);
      assert.equal(respond.status, 400, `another user's passkey\n${app.explain(from)}`);
      assert.ok(!respond.response?.AuthenticationResult);
      t.diagnostic(`another user's passkey: ${JSON.stringify(respond.response)}`);
      assert.equal(await app.ok('sessionPayloads'), null);
    });

    test('deleteWebAuthnCredential: the list is empty, and the passkey signs in no more', async (t) => {
      await app.signedOut();
      let from = app.calls.length;
      await assertSignedIn(app, await app.call('signIn', {
        username: USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'WEB_AUTHN' },
      }), USER, from, 'signIn WEB_AUTHN');
      assert.deepEqual((await app.ok('listWebAuthnCredentials')).credentials.map((c) => c.credentialId), [credentialId],
        'the other user\'s passkey is not listed for this one');
      from = app.calls.length;
      await app.ok('deleteWebAuthnCredential', { credentialId });
      const [deleted] = app.since(from, 'DeleteWebAuthnCredential');
      assert.equal(deleted.status, 200);
      assert.equal(deleted.request.CredentialId, credentialId);
      const listed = await app.ok('listWebAuthnCredentials');
      assert.deepEqual(listed.credentials, [], `no passkey left: ${JSON.stringify(listed)}`);
      await app.ok('signOut');

      // The authenticator still holds the key: the server must not take it any more.
      assert.equal((await app.credentials()).length, 1);
      from = app.calls.length;
      const result = await app.call('signIn', {
        username: USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'WEB_AUTHN' },
      });
      assert.ok(!(result.ok && result.value.isSignedIn), `signed in with a deleted passkey\n${app.explain(from)}`);
      assert.equal(app.calls.slice(from).filter((c) => c.response?.AuthenticationResult).length, 0,
        `tokens for a deleted passkey\n${app.explain(from)}`);
      assert.equal(await app.ok('sessionPayloads'), null);
      t.diagnostic(`after deletion, USER_AUTH WEB_AUTHN: ${JSON.stringify(result)}; `
        + app.calls.slice(from).map((c) => `${c.target} ${c.status} ${c.response?.__type ?? c.response?.ChallengeName ?? ''}`).join(', '));
    });

    test('no page errors', () => {
      assert.deepEqual(app.pageErrors, []);
    });
  });

  describe('UserVerification required: no passkey without user verification', () => {
    test('an authenticator that does not verify its user registers no passkey, even with options rewritten', async (t) => {
      // A platform authenticator that can verify its user but does not (the user fails it).
      const app = await openApp({ ...PLATFORM_AUTHENTICATOR, isUserVerified: false });
      t.after(() => app.close());
      let from = app.calls.length;
      await assertSignedIn(app, await app.call('signIn', { username: UV_USER, password: PASSWORD }), UV_USER, from, 'SRP signIn');

      // As served: the browser refuses (userVerification 'required' and no way to verify).
      from = app.calls.length;
      const honest = await app.call('associateWebAuthnCredential');
      assert.equal(honest.ok, false, `registered without user verification\n${app.explain(from)}`);
      assert.equal(app.since(from, 'StartWebAuthnRegistration')[0]?.status, 200, app.explain(from));
      assert.equal(app.since(from, 'CompleteWebAuthnRegistration').length, 0, 'nothing to complete');
      assert.equal((await app.credentials()).length, 0);

      // The options rewritten on their way to the page: the browser makes a credential without
      // UV, which the server must refuse. Chromium's virtual platform authenticator that is not
      // verified refuses every creation, whatever the options say; one without the means to
      // verify its user makes it.
      await app.replaceAuthenticator({ ...PLATFORM_AUTHENTICATOR, hasUserVerification: false, isUserVerified: false });
      const rewrite = await app.rewrite('StartWebAuthnRegistration', (json) => {
        json.CredentialCreationOptions.authenticatorSelection = {
          ...json.CredentialCreationOptions.authenticatorSelection, userVerification: 'discouraged',
        };
        return json;
      });
      from = app.calls.length;
      const forged = await app.call('associateWebAuthnCredential');
      await rewrite.stop();
      assert.equal(rewrite.rewritten.length, 1, 'the creation options were rewritten');
      assert.equal((await app.credentials()).length, 1, 'the browser made a credential');
      const [complete] = app.since(from, 'CompleteWebAuthnRegistration');
      assert.ok(complete, `CompleteWebAuthnRegistration sent\n${app.explain(from)}`);
      assert.equal(authDataFlags(complete.request.Credential.response.authenticatorData) & 0x04, 0, 'UV not set');
      assert.equal(forged.ok, false, `a credential without UV was registered\n${app.explain(from)}`);
      assert.equal(complete.status, 400, `CompleteWebAuthnRegistration without UV\n${app.explain(from)}`);
      assert.ok(complete.response?.__type, `an error type: ${JSON.stringify(complete.response)}`);
      t.diagnostic(`CompleteWebAuthnRegistration without UV: ${JSON.stringify(complete.response)}`);
      const listed = await app.ok('listWebAuthnCredentials');
      assert.deepEqual(listed.credentials, [], 'no passkey registered');
      await app.ok('signOut');
      assert.deepEqual(app.pageErrors, []);
    });

    test('a passkey registered with UV signs in no more once UV is off, even with options rewritten', async (t) => {
      const app = await openApp(PLATFORM_AUTHENTICATOR);
      t.after(() => app.close());
      let from = app.calls.length;
      await assertSignedIn(app, await app.call('signIn', { username: UV_USER, password: PASSWORD }), UV_USER, from, 'SRP signIn');
      await app.ok('associateWebAuthnCredential');
      const [stored] = await app.credentials();
      const credentialId = b64ToB64url(stored.credentialId);
      assert.deepEqual((await app.ok('listWebAuthnCredentials')).credentials.map((c) => c.credentialId), [credentialId]);
      await app.ok('signOut');

      // With UV the passkey works (the control).
      from = app.calls.length;
      await assertSignedIn(app, await app.call('signIn', {
        username: UV_USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'WEB_AUTHN' },
      }), UV_USER, from, 'signIn WEB_AUTHN with UV');
      await app.ok('signOut');

      await app.setUserVerified(false);

      // As served: the browser refuses to sign without verifying the user.
      from = app.calls.length;
      const honest = await app.call('signIn', {
        username: UV_USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'WEB_AUTHN' },
      });
      assert.equal(honest.ok, false, `signed in without user verification\n${app.explain(from)}`);
      assert.equal(app.since(from, 'RespondToAuthChallenge').length, 0, 'no assertion was sent');
      assert.equal(await app.ok('sessionPayloads'), null);

      // The request options rewritten on their way to the page: the assertion goes without UV,
      // which the server must refuse.
      const rewrite = await app.rewrite('InitiateAuth', (json) => {
        if (json.ChallengeParameters?.CREDENTIAL_REQUEST_OPTIONS) {
          const options = JSON.parse(json.ChallengeParameters.CREDENTIAL_REQUEST_OPTIONS);
          options.userVerification = 'discouraged';
          json.ChallengeParameters.CREDENTIAL_REQUEST_OPTIONS = JSON.stringify(options);
        }
        return json;
      });
      from = app.calls.length;
      const forged = await app.call('signIn', {
        username: UV_USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'WEB_AUTHN' },
      });
      await rewrite.stop();
      assert.equal(rewrite.rewritten.length, 1, 'the request options were rewritten');
      assert.equal(rewrite.rewritten[0].ChallengeName, 'WEB_AUTHN', JSON.stringify(rewrite.rewritten[0]));
      const [respond] = app.since(from, 'RespondToAuthChallenge');
      assert.ok(respond, `the assertion was sent\n${app.explain(from)}`);
      const assertion = JSON.parse(respond.request.ChallengeResponses.CREDENTIAL);
      assert.equal(assertion.id, credentialId);
      assert.equal(authDataFlags(assertion.response.authenticatorData) & 0x04, 0, 'UV not set in the assertion');
      assert.ok(!(forged.ok && forged.value.isSignedIn), `signed in with an assertion without UV\n${app.explain(from)}`);
      assert.equal(respond.status, 400, `RespondToAuthChallenge without UV\n${app.explain(from)}`);
      assert.ok(!respond.response?.AuthenticationResult, 'no tokens');
      assert.ok(respond.response?.__type, `an error type: ${JSON.stringify(respond.response)}`);
      t.diagnostic(`RespondToAuthChallenge WEB_AUTHN without UV: ${JSON.stringify(respond.response)}`);
      assert.equal(await app.ok('sessionPayloads'), null);

      // UV back on: the passkey still works (it was not the credential that was refused).
      await app.setUserVerified(true);
      from = app.calls.length;
      await assertSignedIn(app, await app.call('signIn', {
        username: UV_USER, options: { authFlowType: 'USER_AUTH', preferredChallenge: 'WEB_AUTHN' },
      }), UV_USER, from, 'signIn WEB_AUTHN with UV again');
      await app.ok('deleteWebAuthnCredential', { credentialId });
      await app.ok('signOut');
      assert.deepEqual(app.pageErrors, []);
    });
  });
});
