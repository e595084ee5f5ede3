// The managed-login pages of choice-based sign-in in headless Chromium (playwright-core with the
// system's Chromium): the username-first page, the choice of factor, the offer to add a passkey
// after a password or code sign-in, sign-in with the passkey, with an emailed code, the page that
// lists and deletes passkeys, and UserVerification 'required' against authenticators that do not
// verify their user. The pool, its custom domain localhost:<port>, its client and its users are
// made with the AWS SDK (the server runs with --accept-any-credentials and --public-url
// http://localhost:<port>: WebAuthn wants a secure context, and localhost is both the page's
// origin and the RP ID). The passkeys live in a virtual authenticator of Chromium's DevTools
// WebAuthn domain. Every sign-in ends on the client's callback with a code redeemed at the token
// endpoint. Pages are checked for their CSP: the passkey pages allow our one script by a nonce,
// the others allow no script at all. The passkey pages' forms end in redirects to the client's
// callback (another origin), which their CSP must let through: Chromium applies form-action to
// every redirect of a form's submission.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { collectConsoleErrors, jwtPayload, outboxCode, pkcePair, stubApp } from './harness.js';
import { passwordlessPool, startLocalhostServer } from './passwordless-env.js';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const APP = 'http://localhost:3000';
const REDIRECT_URI = `${APP}/cb`;
const LOGOUT_URI = `${APP}/bye`;
const PASSWORD = 'Str0ng-Passw0rd!';
const USER = 'pagesuser';
const EMAIL = 'pagesuser@example.test';
const UV_USER = 'pagesuv';
const UV_EMAIL = 'pagesuv@example.test';
const PASSWORD_ONLY_USER = 'pagespw';
const EMAIL_CODE = /code is (\d{6,8})\b/;

/** A platform authenticator (built in, as a phone's or a laptop's) that verifies its user. */
const PLATFORM_AUTHENTICATOR = {
  protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
  isUserVerified: true, automaticPresenceSimulation: true,
};

const chromiumMissing = existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
if (chromiumMissing && !process.env.CI) console.log(`passkey pages test skipped: ${chromiumMissing}`);

const RP_ID_HASH = createHash('sha256').update('localhost').digest();
/** WebAuthn authenticator data flags: UP 0x01, UV 0x04, AT 0x40. */
const UV = 0x04;

/**
 * The flags byte of the authenticator data in a credential the page posted (its JSON): of an
 * assertion's `authenticatorData`, or of the authData inside a registration's attestation
 * object (CBOR; found by the RP ID hash it starts with).
 */
function postedFlags(credentialJson) {
  const credential = JSON.parse(credentialJson);
  if (credential.response.authenticatorData) {
    const data = Buffer.from(credential.response.authenticatorData, 'base64url');
    assert.ok(data.subarray(0, 32).equals(RP_ID_HASH), 'authenticator data for the RP ID localhost');
    return data[32];
  }
  const attestation = Buffer.from(credential.response.attestationObject, 'base64url');
  const at = attestation.indexOf(RP_ID_HASH);
  assert.ok(at > 0, 'authData for the RP ID localhost in the attestation object');
  return attestation[at + 32];
}

/**
 * An init script for a tampered page: it asks the authenticator for no user verification,
 * whatever the options the server sent say (as if they had been rewritten on their way).
 * Init scripts run whatever the page's CSP says.
 */
function downgradeUserVerification() {
  const { create, get } = navigator.credentials;
  navigator.credentials.create = function (options) {
    const publicKey = { ...options.publicKey };
    publicKey.authenticatorSelection = { ...publicKey.authenticatorSelection, userVerification: 'discouraged' };
    return create.call(navigator.credentials, { ...options, publicKey });
  };
  navigator.credentials.get = function (options) {
    return get.call(navigator.credentials, { ...options, publicKey: { ...options.publicKey, userVerification: 'discouraged' } });
  };
}

describe('managed login with passkeys and email codes in headless Chromium', {
  skip: chromiumMissing && !process.env.CI ? chromiumMissing : false,
  timeout: 240_000,
}, () => {
  let dir;
  let pgDb;
  let server;
  let port;
  let base;
  let sdk;
  let poolId;
  let clientId;
  let browser;
  const seenMail = new Set();

  let sendApi;
  const send = (op, input) => sendApi(op, input);

  /** The factors AdminGetUserAuthFactors says the user has. */
  async function authFactors(username) {
    const out = await send('AdminGetUserAuthFactors', { UserPoolId: poolId, Username: username });
    return [...(out.ConfiguredUserAuthFactors ?? [])].sort();
  }

  /**
   * A POST to the server as host localhost:<port> (the pool's domain), from Node: to 127.0.0.1,
   * where it listens, with the Host header of the domain (Node may resolve localhost to ::1).
   */
  function postForm(path, form) {
    const body = new URLSearchParams(form).toString();
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1', port, path, method: 'POST',
        headers: {
          host: `localhost:${port}`,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  before(async () => {
    if (chromiumMissing) assert.fail(`CI is set and ${chromiumMissing}`);
    dir = mkdtempSync(join(tmpdir(), 'userpool-passkey-pages-'));
    let send;
    ({ server, port, url: base, pgDb, sdk, send } = await startLocalhostServer(dir));
    sendApi = send;
    poolId = await passwordlessPool(send, 'Passkey Pages');
    const mfa = await send('GetUserPoolMfaConfig', { UserPoolId: poolId });
    assert.equal(mfa.WebAuthnConfiguration?.RelyingPartyId, 'localhost', JSON.stringify(mfa.WebAuthnConfiguration));
    assert.equal(mfa.WebAuthnConfiguration?.UserVerification, 'required', JSON.stringify(mfa.WebAuthnConfiguration));
    // The pool's custom domain, where its managed login answers: the host the browser uses.
    await send('CreateUserPoolDomain', { UserPoolId: poolId, Domain: `localhost:${port}` });
    ({ UserPoolClient: { ClientId: clientId } } = await send('CreateUserPoolClient', {
      UserPoolId: poolId,
      ClientName: 'web',
      ExplicitAuthFlows: ['ALLOW_USER_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile', 'aws.cognito.signin.user.admin'],
      CallbackURLs: [REDIRECT_URI],
      LogoutURLs: [LOGOUT_URI],
      SupportedIdentityProviders: ['COGNITO'],
    }));
    const users = [[USER, EMAIL], [UV_USER, UV_EMAIL], [PASSWORD_ONLY_USER, null]];
    for (const [username, email] of users) {
      await send('AdminCreateUser', {
        UserPoolId: poolId, Username: username, MessageAction: 'SUPPRESS',
        UserAttributes: email
          ? [{ Name: 'email', Value: email }, { Name: 'email_verified', Value: 'true' }]
          : [],
      });
      await send('AdminSetUserPassword', { UserPoolId: poolId, Username: username, Password: PASSWORD, Permanent: true });
    }

    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });

  after(async () => {
    await browser?.close();
    sdk?.destroy();
    await server?.stop();
    await pgDb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A browser (its own context: cookies, virtual authenticator) on the managed login: the app at
   * localhost:3000 is a stub page served by Chromium's Fetch interception (the server reaches it
   * by redirects, which Playwright's routes do not see), and every document of the server is
   * recorded (URL, status, headers, body) with the console errors.
   */
  async function openBrowser(authenticator, t) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await stubApp(context, page, APP);
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: authenticator });

    const consoleErrors = collectConsoleErrors(page);
    // Every main-frame navigation request (redirect hops included) and the last document.
    const visited = [];
    const posts = [];
    let lastDocument = null;
    page.on('request', (req) => {
      if (!req.isNavigationRequest() || req.frame() !== page.mainFrame()) return;
      visited.push(`${req.method()} ${req.url()}`);
      if (req.method() === 'POST') posts.push({ url: req.url(), form: new URLSearchParams(req.postData() ?? '') });
    });
    page.on('response', (res) => {
      const req = res.request();
      if (req.resourceType() === 'document' && res.frame() === page.mainFrame()
        && new URL(res.url()).origin === base && (res.status() < 300 || res.status() >= 400)) {
        lastDocument = { url: res.url(), status: res.status(), headers: res.allHeaders(), body: res.text().catch(() => null) };
      }
    });
    if (process.env.DEBUG_BROWSER) {
      page.on('response', (r) => (t ? t.diagnostic.bind(t) : console.log)(
        `${r.status()} ${r.request().method()} ${r.url()} ${r.headers().location ?? ''}`));
    }

    const b = {
      page, context, cdp, authenticatorId, visited, posts, consoleErrors,
      close: () => context.close(),
      async credentials() {
        return (await cdp.send('WebAuthn.getCredentials', { authenticatorId: b.authenticatorId })).credentials;
      },
      async setUserVerified(isUserVerified) {
        await cdp.send('WebAuthn.setUserVerified', { authenticatorId: b.authenticatorId, isUserVerified });
      },
      async replaceAuthenticator(options) {
        await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: b.authenticatorId });
        ({ authenticatorId: b.authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options }));
      },

      /** A page's HTML and status for failure messages. */
      async explain() {
        const html = await page.content().catch(() => '<no content>');
        return `at ${page.url()} (last document ${lastDocument?.status} ${lastDocument?.url})\n`
          + `navigations:\n  ${visited.slice(-8).join('\n  ')}\nconsole errors: ${JSON.stringify(consoleErrors)}\n`
          + `page:\n${html.replace(/^[\s\S]*<main>/, '<main>').slice(0, 2500)}`;
      },

      /**
       * Waits for the page at `path`, then checks its status, heading, security headers and
       * scripts: a passkey page (`script: true`) carries our one script with the nonce its CSP
       * allows, every other page no script and a CSP without script-src.
       */
      async expectPage(path, { heading, status = 200, script = false } = {}) {
        await page.waitForURL((u) => u.origin === base && u.pathname === path).catch(async () => {
          assert.fail(`expected ${path}, ${await b.explain()}`);
        });
        await page.waitForLoadState('load');
        const where = `${path} (${page.url()})`;
        assert.ok(lastDocument, `no document response for ${where}`);
        assert.equal(new URL(lastDocument.url).pathname, path, `last document response is not ${where}`);
        assert.equal(lastDocument.status, status, `status of ${where}\n${await b.explain()}`);
        if (status >= 400) {
          const logged = consoleErrors.findIndex((e) => e.includes(`status of ${status}`)
            && e.endsWith(`[${lastDocument.url}]`));
          if (logged >= 0) consoleErrors.splice(logged, 1);
        }
        const headers = await lastDocument.headers;
        const csp = headers['content-security-policy'] ?? '';
        assert.match(headers['content-type'] ?? '', /^text\/html/, `content-type of ${where}`);
        assert.match(csp, /frame-ancestors 'none'/, `CSP of ${where}: ${csp}`);
        assert.equal(headers['x-frame-options']?.toUpperCase(), 'DENY', `x-frame-options of ${where}`);
        const html = await lastDocument.body;
        assert.ok(html, `body of ${where}`);
        const scripts = [...html.matchAll(/<script\b([^>]*)>/gi)].map((m) => m[1]);
        const executable = scripts.filter((attrs) => !/\btype="application\/json"/.test(attrs));
        if (script) {
          const nonce = csp.match(/script-src 'nonce-([^']+)'/)?.[1];
          assert.ok(nonce, `script-src with a nonce in the CSP of ${where}: ${csp}`);
          assert.ok(!/script-src[^;]*'unsafe-inline'/.test(csp), `no 'unsafe-inline' on ${where}: ${csp}`);
          assert.equal(executable.length, 1, `one script on ${where}: ${JSON.stringify(scripts)}`);
          assert.match(executable[0], /\bsrc="\/_userpool\/passkey\.js"/, `our script on ${where}`);
          assert.equal(executable[0].match(/\bnonce="([^"]*)"/)?.[1], nonce, `the script's nonce on ${where}`);
          assert.equal(await page.locator('#passkey-form').count(), 1, `#passkey-form on ${where}`);
        } else {
          assert.ok(!/script-src/.test(csp), `no script-src in the CSP of ${where}: ${csp}`);
          assert.deepEqual(scripts, [], `no <script> on ${where}`);
        }
        assert.deepEqual(consoleErrors, [], `console errors by ${where}`);
        if (heading) {
          const h1 = page.getByRole('heading', { level: 1, name: heading });
          await h1.waitFor({ state: 'visible' }).catch(() => {});
          assert.ok(await h1.isVisible(), `heading "${heading}" on ${where}\n${await b.explain()}`);
        }
        return { html, csp };
      },

      /** Clicks and waits for the navigation it starts to finish. */
      async clickAndWait(locator) {
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
      },

      /** GET /oauth2/authorize with PKCE; the flow's verifier, state and query. */
      async authorize() {
        const { verifier, challenge } = pkcePair();
        const state = randomBytes(12).toString('base64url');
        const query = new URLSearchParams({
          client_id: clientId, response_type: 'code', scope: 'openid email aws.cognito.signin.user.admin',
          redirect_uri: REDIRECT_URI, state, code_challenge: challenge, code_challenge_method: 'S256',
        }).toString();
        await page.goto(`${base}/oauth2/authorize?${query}`);
        return { verifier, state, query };
      },

      /** On /login: the username-only first page; submits `username`, lands on the next one. */
      async enterUsername(username) {
        await b.expectPage('/login', { heading: 'Sign in' });
        assert.equal(await page.locator('input[name=username]').count(), 1, 'username field');
        assert.equal(await page.locator('input[name=password]').count(), 0, 'no password field on the first page');
        await page.locator('input[name=username]').fill(username);
        await b.clickAndWait(page.getByRole('button', { name: 'Next' }));
      },

      /** On the choice page: the factors offered (button values), sorted. */
      async choices() {
        await b.expectPage('/login', { heading: 'Choose how to sign in' });
        const form = page.locator('form[action^="/login/factor?"]');
        assert.equal(await form.count(), 1, 'a form posting to /login/factor');
        assert.equal(await form.getAttribute('method'), 'post');
        assert.equal(await page.locator('input[name=password]').count(), 0, 'no password field on the choice page');
        const values = await form.locator('button[name=factor]').evaluateAll((els) => els.map((e) => e.value));
        return values.sort();
      },

      async choose(label) {
        await b.clickAndWait(page.locator('form[action^="/login/factor?"]').getByRole('button', { name: label }));
      },

      /**
       * On the username+password form (username filled in already or not): signs in. The form
       * is the answer to POST /login (a user with only a password) or to POST /login/factor.
       */
      async enterPassword(username, path = '/login/factor') {
        await b.expectPage(path, { heading: 'Sign in' });
        assert.equal(new URL(await page.locator('form:has(input[name=password])').getAttribute('action'), base).pathname,
          '/login', 'the password form posts to /login');
        assert.equal(await page.locator('input[name=password]').count(), 1, `password field\n${await b.explain()}`);
        const name = page.locator('input[name=username]');
        if ((await name.count()) && !(await name.inputValue())) await name.fill(username);
        else if (await name.count()) assert.equal((await name.inputValue()).toLowerCase(), username, 'the name carried over');
        await page.locator('input[name=password]').fill(PASSWORD);
        await b.clickAndWait(page.getByRole('button', { name: 'Sign in' }));
      },

      /** The browser is on the callback: checks state, redeems the code, checks the ID token. */
      async redeemCallback({ verifier, state }, username) {
        await page.waitForURL((u) => u.href.startsWith(`${REDIRECT_URI}?`)).catch(async () => {
          assert.fail(`expected the callback, ${await b.explain()}`);
        });
        const cb = new URL(page.url());
        assert.equal(cb.searchParams.get('state'), state, `state in ${cb}`);
        assert.equal(cb.searchParams.get('error'), null, `error in ${cb}`);
        const code = cb.searchParams.get('code');
        assert.ok(code, `no code in ${cb}`);
        const res = await postForm('/oauth2/token', {
          grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        });
        assert.equal(res.status, 200, `token endpoint: ${res.text}`);
        const json = JSON.parse(res.text);
        assert.ok(json.access_token && json.refresh_token, 'access and refresh tokens');
        const id = jwtPayload(json.id_token);
        assert.equal(id['cognito:username'], username, 'cognito:username of the ID token');
        assert.equal(id.aud, clientId);
        assert.equal(id.iss, `${base}/${poolId}`, 'issuer under the public URL');
        assert.equal(id.token_use, 'id');
        assert.equal(jwtPayload(json.access_token).username, username, 'username of the access token');
        return json;
      },

      async logout() {
        const query = new URLSearchParams({ client_id: clientId, logout_uri: LOGOUT_URI }).toString();
        await page.goto(`${base}/logout?${query}`);
        await page.waitForURL((u) => u.href.startsWith(LOGOUT_URI));
        assert.equal(new URL(page.url()).pathname, '/bye');
      },

      /** Whether the browser has visited (navigated to) `path` on the server since `from`. */
      visitedPath(path, from = 0) {
        return visited.slice(from).some((v) => new URL(v.split(' ')[1]).pathname === path
          && new URL(v.split(' ')[1]).origin === base);
      },
      visitedCallback(from = 0) {
        return visited.slice(from).some((v) => v.split(' ')[1].startsWith(`${REDIRECT_URI}?`));
      },
    };
    return b;
  }

  /** The text of the passkey page's status line once the ceremony has ended (button enabled again). */
  async function passkeyStatus(b) {
    await b.page.waitForFunction(() => {
      const text = document.getElementById('passkey-status')?.textContent.trim() ?? '';
      return text !== '' && !text.startsWith('Follow your browser')
        && !document.querySelector('#passkey-form button[type=submit]').disabled;
    });
    return (await b.page.locator('#passkey-status').textContent()).trim();
  }

  describe('a user who adds a passkey, signs in with it and with codes, then deletes it', () => {
    let b;
    let credentialId;

    before(async () => {
      b = await openBrowser(PLATFORM_AUTHENTICATOR);
    });
    after(async () => { await b?.close(); });
    // Each step answers for its own console errors (one failing step's do not fail the next).
    beforeEach(() => { if (b) b.consoleErrors.length = 0; });

    test('password via the choice page, then the passkey offer: "Add a passkey"', async () => {
      assert.deepEqual(await authFactors(USER), ['EMAIL_OTP', 'PASSWORD'], 'factors before');
      const flow = await b.authorize();
      assert.equal(await b.page.evaluate(() => window.isSecureContext), true, 'http://localhost is a secure context');
      await b.enterUsername(USER);
      assert.deepEqual(await b.choices(), ['EMAIL_OTP', 'PASSWORD'], 'factors offered to a user without a passkey');
      await assertButton(b, 'Email me a sign-in code');
      await b.choose('Sign in with my password');
      await b.enterPassword(USER);

      // Signed in: the offer to add a passkey, before the app gets its code.
      await b.expectPage('/passkeys/add', { heading: 'Sign in faster with a passkey', script: true });
      assert.equal(b.visitedCallback(), false, 'no code delivered before the offer is answered');
      const offer = new URL(b.page.url());
      assert.equal(offer.searchParams.get('client_id'), clientId, 'the authorize parameters ride along');
      assert.equal(offer.searchParams.get('state'), flow.state);
      const notNow = b.page.getByRole('link', { name: 'Not now' });
      assert.equal(new URL(await notNow.getAttribute('href'), base).pathname, '/oauth2/authorize', '"Not now" goes back to the app');
      assert.equal(await b.page.locator('#passkey-form').getAttribute('data-ceremony'), 'create');
      const options = JSON.parse(await b.page.locator('#passkey-options').textContent());
      assert.equal(options.rp?.id, 'localhost', `rp.id of the creation options: ${JSON.stringify(options.rp)}`);
      assert.equal(options.authenticatorSelection?.userVerification, 'required', 'userVerification of the creation options');
      assert.equal(options.user?.name, USER, 'user.name of the creation options');
      assert.equal((await b.credentials()).length, 0);

      const from = b.visited.length;
      await b.page.getByRole('button', { name: 'Add a passkey' }).click();
      const tokens = await b.redeemCallback(flow, USER);
      assert.ok(b.visited.slice(from).some((v) => v.startsWith(`POST ${base}/passkeys/add?`)), 'the credential was posted');
      const posted = b.posts.at(-1);
      assert.equal(new URL(posted.url).pathname, '/passkeys/add');
      assert.ok(postedFlags(posted.form.get('credential')) & UV, 'the new credential has the UV flag');
      assert.ok(b.visitedPath('/oauth2/authorize', from), 'on to the app by the authorization endpoint');

      const creds = await b.credentials();
      assert.equal(creds.length, 1, 'one credential in the authenticator');
      assert.equal(creds[0].rpId, 'localhost');
      assert.equal(creds[0].isResidentCredential, true, 'a discoverable credential (passkey)');
      credentialId = Buffer.from(creds[0].credentialId, 'base64').toString('base64url');
      assert.deepEqual(await authFactors(USER), ['EMAIL_OTP', 'PASSWORD', 'WEB_AUTHN'], 'AdminGetUserAuthFactors after');
      // The user's own view with the access token of this sign-in: the authenticator's passkey.
      const listed = await send('ListWebAuthnCredentials', { AccessToken: tokens.access_token });
      assert.deepEqual(listed.Credentials.map((c) => [c.CredentialId, c.RelyingPartyId]), [[credentialId, 'localhost']],
        'ListWebAuthnCredentials');
      assert.deepEqual(b.consoleErrors, [], 'console errors');
    });

    /** The passkey of the authenticator (known from the first step unless that one failed). */
    async function theCredentialId() {
      credentialId ??= Buffer.from((await b.credentials())[0]?.credentialId ?? '', 'base64').toString('base64url');
      return credentialId;
    }

    test('sign out, then "Sign in with a passkey"', async () => {
      await theCredentialId();
      await b.logout();
      const signCount = (await b.credentials())[0].signCount;
      const flow = await b.authorize();
      await b.enterUsername(USER);
      assert.deepEqual(await b.choices(), ['EMAIL_OTP', 'PASSWORD', 'WEB_AUTHN'], 'factors offered to a user with a passkey');
      await b.choose('Sign in with a passkey');
      await b.expectPage('/login/passkey', { heading: 'Sign in with your passkey', script: true });
      assert.equal(await b.page.locator('#passkey-form').getAttribute('data-ceremony'), 'get');
      const options = JSON.parse(await b.page.locator('#passkey-options').textContent());
      assert.equal(options.rpId, 'localhost', 'rpId of the request options');
      assert.equal(options.userVerification, 'required', 'userVerification of the request options');
      assert.ok(options.allowCredentials === undefined || options.allowCredentials.length === 0
        || options.allowCredentials.some((c) => c.id === credentialId),
        `allowCredentials names the passkey: ${JSON.stringify(options.allowCredentials)}`);
      const from = b.visited.length;
      await b.page.getByRole('button', { name: 'Use my passkey' }).click();
      const tokens = await b.redeemCallback(flow, USER);
      assert.ok(tokens.id_token);
      const posted = b.posts.at(-1);
      assert.equal(new URL(posted.url).pathname, '/login/passkey', 'the assertion was posted');
      assert.equal(JSON.parse(posted.form.get('credential')).id, credentialId, 'with the passkey');
      assert.ok(postedFlags(posted.form.get('credential')) & UV, 'the assertion has the UV flag');
      assert.equal(b.visitedPath('/passkeys/add', from), false, 'no passkey offer to a user who has one');
      assert.ok((await b.credentials())[0].signCount > signCount, 'the authenticator signed');
      assert.deepEqual(b.consoleErrors, [], 'console errors');
    });

    test('sign out, then "Email me a sign-in code": no passkey offer', async () => {
      await b.logout();
      const flow = await b.authorize();
      await b.enterUsername(USER);
      assert.deepEqual(await b.choices(), ['EMAIL_OTP', 'PASSWORD', 'WEB_AUTHN']);
      const from = b.visited.length;
      await b.choose('Email me a sign-in code');
      await b.expectPage('/mfa', { heading: 'Enter your authentication code' });
      assert.equal(await b.page.locator('input[name=code]').count(), 1, 'a code field');
      assert.equal(await b.page.locator('input[name=password]').count(), 0, 'no password field');
      const code = await outboxCode(dir, EMAIL, { seen: seenMail, pattern: EMAIL_CODE });
      await b.page.locator('input[name=code]').fill(code);
      await b.page.getByRole('button', { name: 'Verify' }).click();
      await b.redeemCallback(flow, USER);
      assert.equal(b.visitedPath('/passkeys/add', from), false, 'no passkey offer to a user who has one');
      assert.deepEqual(b.consoleErrors, [], 'console errors');
    });

    test('/passkeys lists the passkey; "Delete" removes it', async () => {
      await theCredentialId();
      // Still signed in after the code sign-in.
      const flow = await b.authorize();
      await b.redeemCallback(flow, USER);
      const from = b.visited.length;
      await b.page.goto(`${base}/passkeys?${flow.query}`);
      await b.expectPage('/passkeys', { heading: 'Your passkeys' });
      const rows = b.page.locator('ul.passkeys li');
      assert.equal(await rows.count(), 1, `one passkey listed\n${await b.explain()}`);
      assert.match(await rows.first().textContent(), /\(localhost\)/, 'its relying party');
      assert.equal(await rows.first().locator('input[name=delete]').inputValue(), credentialId, 'the passkey of the authenticator');
      await assertVisible(b.page.getByRole('link', { name: 'Add a passkey' }), '/passkeys');
      const back = b.page.getByRole('link', { name: 'Back to the app' });
      assert.equal(new URL(await back.getAttribute('href'), base).pathname, '/oauth2/authorize');

      await b.clickAndWait(rows.first().getByRole('button', { name: 'Delete' }));
      await b.expectPage('/passkeys', { heading: 'Your passkeys' });
      assert.equal(await b.page.locator('ul.passkeys li').count(), 0, 'no passkey listed');
      await assertVisible(b.page.getByText('You have no passkeys yet.'), '/passkeys');
      assert.deepEqual(await authFactors(USER), ['EMAIL_OTP', 'PASSWORD'], 'AdminGetUserAuthFactors after the deletion');

      // "Add a passkey" from the list: the ceremony page with "Cancel" back to the list, and back
      // to the list once added.
      await b.clickAndWait(b.page.getByRole('link', { name: 'Add a passkey' }));
      await b.expectPage('/passkeys/add', { heading: 'Sign in faster with a passkey', script: true });
      const cancel = b.page.getByRole('link', { name: 'Cancel' });
      assert.equal(new URL(await cancel.getAttribute('href'), base).pathname, '/passkeys', '"Cancel" goes back to the list');
      assert.equal(await b.page.getByRole('link', { name: 'Not now' }).count(), 0, 'no "Not now" from the list');
      await b.clickAndWait(b.page.getByRole('button', { name: 'Add a passkey' }));
      await b.expectPage('/passkeys', { heading: 'Your passkeys' });
      const again = b.page.locator('ul.passkeys li');
      assert.equal(await again.count(), 1, `the new passkey listed\n${await b.explain()}`);
      const newId = await again.first().locator('input[name=delete]').inputValue();
      assert.notEqual(newId, credentialId, 'a new credential');
      assert.ok((await b.credentials()).some((c) => Buffer.from(c.credentialId, 'base64').toString('base64url') === newId),
        'the new passkey is in the authenticator');
      assert.equal(b.visitedCallback(from), false, 'adding from the list delivers no code');
      assert.deepEqual(await authFactors(USER), ['EMAIL_OTP', 'PASSWORD', 'WEB_AUTHN']);
      await b.clickAndWait(again.first().getByRole('button', { name: 'Delete' }));
      await b.expectPage('/passkeys', { heading: 'Your passkeys' });
      assert.equal(await b.page.locator('ul.passkeys li').count(), 0, 'no passkey listed');
      assert.deepEqual(await authFactors(USER), ['EMAIL_OTP', 'PASSWORD']);

      // "Back to the app": the code for the signed-in browser.
      await back.click();
      await b.redeemCallback(flow, USER);
      assert.deepEqual(b.consoleErrors, [], 'console errors');
    });

    test('without a passkey again: the offer comes back, "Not now" goes on to the app', async () => {
      await b.logout();
      // Signed out, /passkeys sends the browser to the sign-in page.
      const query = new URLSearchParams({
        client_id: clientId, response_type: 'code', scope: 'openid email', redirect_uri: REDIRECT_URI,
      }).toString();
      await b.page.goto(`${base}/passkeys?${query}`);
      await b.expectPage('/login', { heading: 'Sign in' });
      await b.page.goto(`${base}/passkeys/add?${query}`);
      await b.expectPage('/login', { heading: 'Sign in' });

      const flow = await b.authorize();
      await b.enterUsername(USER);
      assert.deepEqual(await b.choices(), ['EMAIL_OTP', 'PASSWORD'], 'the deleted passkey is no longer offered');
      await b.choose('Sign in with my password');
      await b.enterPassword(USER);
      await b.expectPage('/passkeys/add', { heading: 'Sign in faster with a passkey', script: true });
      await b.clickAndWait(b.page.getByRole('link', { name: 'Not now' }));
      await b.redeemCallback(flow, USER);
      assert.deepEqual(await authFactors(USER), ['EMAIL_OTP', 'PASSWORD'], 'no passkey added');
      await b.logout();
    });
  });

  test('a user with only a password goes straight to the password form', async (t) => {
    const b = await openBrowser(PLATFORM_AUTHENTICATOR, t);
    t.after(() => b.close());
    const flow = await b.authorize();
    await b.enterUsername(PASSWORD_ONLY_USER);
    assert.equal(await b.page.locator('button[name=factor]').count(), 0, 'no choice of factors');
    await b.enterPassword(PASSWORD_ONLY_USER, '/login');
    await b.expectPage('/passkeys/add', { heading: 'Sign in faster with a passkey', script: true });
    await b.clickAndWait(b.page.getByRole('link', { name: 'Not now' }));
    await b.redeemCallback(flow, PASSWORD_ONLY_USER);
  });

  describe('UserVerification required', () => {
    test('no passkey is added without user verification, even with the options rewritten', async (t) => {
      // A platform authenticator that can verify its user but does not (the user fails it).
      const b = await openBrowser({ ...PLATFORM_AUTHENTICATOR, isUserVerified: false }, t);
      t.after(() => b.close());
      const flow = await b.authorize();
      await b.enterUsername(UV_USER);
      await b.choose('Sign in with my password');
      await b.enterPassword(UV_USER);
      await b.expectPage('/passkeys/add', { heading: 'Sign in faster with a passkey', script: true });

      // As served: the browser refuses (userVerification 'required' and no way to verify).
      let from = b.visited.length;
      await b.page.getByRole('button', { name: 'Add a passkey' }).click();
      assert.match(await passkeyStatus(b), /The passkey was not used \(NotAllowedError\)/, 'the page says so');
      assert.equal(new URL(b.page.url()).pathname, '/passkeys/add', 'still on the offer');
      assert.equal(b.visited.length, from, 'nothing posted');
      assert.equal((await b.credentials()).length, 0);
      assert.equal(await b.page.getByRole('button', { name: 'Add a passkey' }).isEnabled(), true, 'the button works again');

      // A tampered page asks for no UV; Chromium's virtual platform authenticator that is not
      // verified refuses every creation whatever the options say, one without the means to
      // verify its user makes it. The server must refuse the credential without UV.
      await b.replaceAuthenticator({ ...PLATFORM_AUTHENTICATOR, hasUserVerification: false, isUserVerified: false });
      await b.context.addInitScript(downgradeUserVerification);
      await b.page.reload();
      await b.expectPage('/passkeys/add', { heading: 'Sign in faster with a passkey', script: true });
      from = b.visited.length;
      await b.clickAndWait(b.page.getByRole('button', { name: 'Add a passkey' }));
      assert.equal((await b.credentials()).length, 1, 'the browser made a credential');
      const posted = b.posts.at(-1);
      assert.equal(new URL(posted.url).pathname, '/passkeys/add', 'the credential was posted');
      assert.equal(postedFlags(posted.form.get('credential')) & UV, 0, 'UV not set in the posted credential');
      await b.expectPage('/passkeys/add', { heading: 'Sign in faster with a passkey', script: true, status: 400 });
      const alert = b.page.locator('[role=alert]');
      await assertVisible(alert, '/passkeys/add after a credential without UV');
      t.diagnostic(`/passkeys/add refused a credential without UV: ${await alert.textContent()}`);
      assert.equal(b.visitedCallback(from), false, 'no code delivered');
      assert.deepEqual(await authFactors(UV_USER), ['EMAIL_OTP', 'PASSWORD'], 'no passkey registered');

      // The user gives up: "Not now" still goes on to the app (the password sign-in stands).
      await b.clickAndWait(b.page.getByRole('link', { name: 'Not now' }));
      await b.redeemCallback(flow, UV_USER);
      await b.logout();
      assert.deepEqual(b.consoleErrors, [], 'console errors');
    });

    test('a passkey registered with UV signs in no more once UV is off, even with the options rewritten', async (t) => {
      const b = await openBrowser(PLATFORM_AUTHENTICATOR, t);
      t.after(() => b.close());
      // The passkey is added from the list this time ("Not now" to the offer).
      const flow = await b.authorize();
      await b.enterUsername(UV_USER);
      await b.choose('Sign in with my password');
      await b.enterPassword(UV_USER);
      await b.expectPage('/passkeys/add', { heading: 'Sign in faster with a passkey', script: true });
      await b.clickAndWait(b.page.getByRole('link', { name: 'Not now' }));
      await b.redeemCallback(flow, UV_USER);
      await b.page.goto(`${base}/passkeys?${flow.query}`);
      await b.expectPage('/passkeys', { heading: 'Your passkeys' });
      await b.clickAndWait(b.page.getByRole('link', { name: 'Add a passkey' }));
      await b.expectPage('/passkeys/add', { heading: 'Sign in faster with a passkey', script: true });
      await b.clickAndWait(b.page.getByRole('button', { name: 'Add a passkey' }));
      await b.expectPage('/passkeys', { heading: 'Your passkeys' });
      assert.equal(await b.page.locator('ul.passkeys li').count(), 1, 'the passkey listed');
      assert.deepEqual(await authFactors(UV_USER), ['EMAIL_OTP', 'PASSWORD', 'WEB_AUTHN']);
      const credentialId = Buffer.from((await b.credentials())[0].credentialId, 'base64').toString('base64url');
      assert.equal(postedFlags(b.posts.at(-1).form.get('credential')) & UV, UV, 'registered with UV');
      await b.logout();

      await b.setUserVerified(false);
      // As served: the browser refuses to sign without verifying the user.
      await b.authorize();
      await b.enterUsername(UV_USER);
      await b.choose('Sign in with a passkey');
      await b.expectPage('/login/passkey', { heading: 'Sign in with your passkey', script: true });
      let from = b.visited.length;
      await b.page.getByRole('button', { name: 'Use my passkey' }).click();
      assert.match(await passkeyStatus(b), /The passkey was not used \(NotAllowedError\)/, 'the page says so');
      assert.equal(b.visited.length, from, 'nothing posted');

      // A tampered page asks for no UV: the assertion goes without it; the server must refuse.
      await b.context.addInitScript(downgradeUserVerification);
      await b.clickAndWait(b.page.getByRole('link', { name: 'Choose another way' }));
      await b.expectPage('/login', { heading: 'Sign in' });
      await b.authorize();
      await b.enterUsername(UV_USER);
      await b.choose('Sign in with a passkey');
      await b.expectPage('/login/passkey', { heading: 'Sign in with your passkey', script: true });
      from = b.visited.length;
      await b.clickAndWait(b.page.getByRole('button', { name: 'Use my passkey' }));
      const posted = b.posts.at(-1);
      assert.equal(new URL(posted.url).pathname, '/login/passkey', 'the assertion was posted');
      assert.equal(JSON.parse(posted.form.get('credential')).id, credentialId, 'with the passkey');
      assert.equal(postedFlags(posted.form.get('credential')) & UV, 0, 'UV not set in the posted assertion');
      // Refused: the answer to the POST is the first page again (the username form), with an error.
      await b.expectPage('/login/passkey', { heading: 'Sign in', status: 400 });
      assert.equal(await b.page.locator('#passkey-form').count(), 0, 'no passkey form');
      assert.equal(await b.page.locator('input[name=username]').count(), 1, 'the username form');
      const alert = b.page.locator('[role=alert]');
      await assertVisible(alert, '/login/passkey after an assertion without UV');
      t.diagnostic(`/login/passkey refused an assertion without UV: ${await alert.textContent()}`);
      assert.equal(b.visitedCallback(from), false, 'no code delivered');
      // Not signed in: the authorization endpoint asks for a sign-in.
      await b.authorize();
      await b.expectPage('/login', { heading: 'Sign in' });
      assert.equal(b.visitedCallback(from), false, 'no code delivered');
      assert.deepEqual(b.consoleErrors, [], 'console errors');
    });
  });

  async function assertButton(b, label) {
    await assertVisible(b.page.getByRole('button', { name: label }), b.page.url());
  }

  async function assertVisible(locator, what) {
    await locator.first().waitFor({ state: 'visible' }).catch(() => {});
    assert.ok(await locator.first().isVisible(), `not visible on ${what}: ${locator}`);
  }
});
