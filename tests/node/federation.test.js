// Federation with a real OpenID Provider (panva's oidc-provider, see idp.js) in headless Chromium:
// the app sends the browser to /oauth2/authorize with identity_provider, idp_identifier or the
// "Continue with ..." button of /login; the userpool redirects to the provider, whose login and
// consent pages are filled in, the provider answers at /oauth2/idpresponse, and the app's callback
// gets a code whose tokens carry the federated user. Providers: an OIDC one by discovery, the same
// with explicit endpoints, and a Google-type one whose endpoints point at the same provider.
// Negatives: the user cancels at the provider, a replayed or unknown idpresponse, the provider down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT, freePort, jwtPayload, pkcePair, startEnv } from './harness.js';
import { startIdp } from './idp.js';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOTS = join(REPO_ROOT, 'test-artifacts', 'browser');

const POOL_ID = 'us-east-1_FedTest01';
const CLIENT_ID = 'fedclient00000000000000001';
const APP = 'http://localhost:3000';
const REDIRECT_URI = `${APP}/cb`;
const SCOPE = 'openid email profile';

const RP_CLIENT_ID = 'userpool-rp';
const RP_CLIENT_SECRET = `rp-secret-${randomBytes(12).toString('hex')}`;

// Subjects at the provider (its dev login takes any name as the subject). Mixed case: the pool
// is case-insensitive, so the usernames are lowercased while identities keep the subject as is.
const CAROL = 'CarolFed';
const DAN = 'DanDenied';
const ERIN = 'ErinLate';

function fedSeed(idpPort, gonePort) {
  const issuer = `http://127.0.0.1:${idpPort}`;
  const explicit = {
    authorize_url: `${issuer}/auth`,
    token_url: `${issuer}/token`,
    attributes_url: `${issuer}/me`,
    jwks_uri: `${issuer}/jwks`,
  };
  const details = {
    client_id: RP_CLIENT_ID,
    client_secret: RP_CLIENT_SECRET,
    authorize_scopes: 'openid email profile',
    oidc_issuer: issuer,
  };
  const mapping = { email: 'email', name: 'name', email_verified: 'email_verified' };
  return (ports) => ({
    UserPools: [{
      Id: POOL_ID,
      PoolName: 'Federation Test',
      UsernameConfiguration: { CaseSensitive: false },
      Domains: ports.map((port) => ({ Domain: `127.0.0.1:${port}` })),
      IdentityProviders: [
        {
          ProviderName: 'Corp',
          ProviderType: 'OIDC',
          ProviderDetails: { ...details, attributes_request_method: 'GET' },
          AttributeMapping: mapping,
          IdpIdentifiers: ['corp.example'],
        },
        {
          ProviderName: 'CorpDirect',
          ProviderType: 'OIDC',
          ProviderDetails: { ...details, ...explicit, attributes_request_method: 'GET' },
          AttributeMapping: mapping,
        },
        {
          ProviderName: 'Google',
          ProviderType: 'Google',
          ProviderDetails: { ...details, ...explicit },
          AttributeMapping: mapping,
        },
        {
          // Nothing ever listens here: its discovery document was never read, so none is cached.
          ProviderName: 'Gone',
          ProviderType: 'OIDC',
          ProviderDetails: { ...details, oidc_issuer: `http://127.0.0.1:${gonePort}` },
          AttributeMapping: mapping,
        },
      ],
      Clients: [{
        ClientName: 'web',
        ClientId: CLIENT_ID,
        AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['code'],
        AllowedOAuthScopes: ['openid', 'email', 'profile'],
        CallbackURLs: [REDIRECT_URI],
        SupportedIdentityProviders: ['COGNITO', 'Corp', 'CorpDirect', 'Google', 'Gone'],
      }],
    }],
  });
}

const chromiumMissing = existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
if (chromiumMissing && !process.env.CI) console.log(`federation test skipped: ${chromiumMissing}`);
const skip = chromiumMissing && !process.env.CI ? chromiumMissing : false;

// ---------------------------------------------------------------------------------------------
// Shared state: one userpool server, one provider, one browser (a fresh context per sign-in, so
// that neither the provider's nor the userpool's session carries over).

let env;
let base;
let idp;
let idpPort;
let browser;
const accounts = new Map();
let shot = 0;

before(async () => {
  if (skip) return;
  if (chromiumMissing) assert.fail(`CI is set and ${chromiumMissing}`);
  mkdirSync(SHOTS, { recursive: true });
  for (const name of readdirSync(SHOTS)) {
    if (/^fed-\d+-.*\.png$/.test(name)) rmSync(join(SHOTS, name), { force: true });
  }
  // The provider's port goes into the seed, the userpool's into the provider's client: the
  // provider's port is reserved first and the provider started once the userpool runs.
  idpPort = await freePort();
  env = await startEnv({ seed: fedSeed(idpPort, await freePort()) });
  base = env.servers[0].url;
  idp = await startIdp({
    port: idpPort,
    clientId: RP_CLIENT_ID,
    clientSecret: RP_CLIENT_SECRET,
    redirectUris: [`${base}/oauth2/idpresponse`],
    accounts,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  await idp?.stop();
  await env?.close();
});

// ---------------------------------------------------------------------------------------------
// Browser helpers.

/**
 * A fresh browser context and page. Requests to the app (http://localhost:3000, where nothing
 * listens) get a stub page; this needs Chromium's Fetch interception, as in browser.test.js,
 * because Playwright's routing never sees the hops of a redirect. The provider's pages import a
 * Google font: answered with an empty stylesheet (no network here). `onIdpResponse(url)`, if
 * given, runs while the browser's request to /oauth2/idpresponse is held, before it goes on.
 */
async function newPage({ onIdpResponse } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const cdp = await context.newCDPSession(page);
  const fulfill = (requestId, contentType, body) => cdp.send('Fetch.fulfillRequest', {
    requestId,
    responseCode: 200,
    responseHeaders: [{ name: 'content-type', value: contentType }],
    body: Buffer.from(body).toString('base64'),
  });
  cdp.on('Fetch.requestPaused', async ({ requestId, request }) => {
    try {
      if (request.url.startsWith(`${APP}/`)) {
        await fulfill(requestId, 'text/html; charset=utf-8', '<!doctype html><title>app</title><h1>app callback</h1>');
      } else if (request.url.startsWith('https://fonts.googleapis.com/')) {
        await fulfill(requestId, 'text/css', '');
      } else {
        if (onIdpResponse) await onIdpResponse(request.url, context);
        await cdp.send('Fetch.continueRequest', { requestId });
      }
    } catch { /* the page went away */ }
  });
  const patterns = [
    { urlPattern: `${APP}/*`, requestStage: 'Request' },
    { urlPattern: 'https://fonts.googleapis.com/*', requestStage: 'Request' },
  ];
  if (onIdpResponse) patterns.push({ urlPattern: `${base}/oauth2/idpresponse*`, requestStage: 'Request' });
  await cdp.send('Fetch.enable', { patterns });

  // Every hop the main frame takes, redirects included.
  const hops = [];
  page.on('response', (res) => {
    if (res.request().resourceType() !== 'document' || res.frame() !== page.mainFrame()) return;
    hops.push({ url: res.url(), status: res.status(), headers: res.allHeaders().catch(() => ({})) });
  });
  return { context, page, hops };
}

async function screenshot(page, name) {
  shot += 1;
  await page.screenshot({ path: join(SHOTS, `fed-${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

/** Our /oauth2/authorize URL for the app, with PKCE and state; `extra` adds parameters. */
function authorizeUrl(extra = {}) {
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(12).toString('base64url');
  const url = new URL('/oauth2/authorize', base);
  url.search = new URLSearchParams({
    client_id: CLIENT_ID, response_type: 'code', scope: SCOPE, redirect_uri: REDIRECT_URI, state,
    code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  }).toString();
  return { url: url.href, verifier, state };
}

const onIdp = (page) => page.waitForURL((u) => u.origin === idp.issuer);
const onCallback = (page) => page.waitForURL((u) => u.href.startsWith(`${REDIRECT_URI}?`));

/** On the provider's dev login page: types the subject and any password, submits. */
async function idpLogin(page, sub, shotName) {
  await onIdp(page);
  await page.locator('input[name=login]').waitFor();
  await page.locator('input[name=login]').fill(sub);
  await page.locator('input[name=password]').fill('any-password');
  if (shotName) await screenshot(page, shotName);
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

/** On the provider's consent page: "Continue" or "[ Cancel ]". */
async function idpConsent(page, { cancel = false, shotName } = {}) {
  await page.getByRole('button', { name: 'Continue' }).waitFor();
  if (shotName) await screenshot(page, shotName);
  if (cancel) await page.getByRole('link', { name: '[ Cancel ]' }).click();
  else await page.getByRole('button', { name: 'Continue' }).click();
}

/**
 * One whole federated sign-in: `start(page)` gets the browser to the provider (default: a
 * navigation to `authorize.url`); then login as `sub` and consent. Resolves on the app's
 * callback, with its URL.
 */
async function federate({ authorize, sub, start, cancel = false, shots = null, onIdpResponse }) {
  const { context, page, hops } = await newPage({ onIdpResponse });
  try {
    const idpRequestsBefore = idp.requests.length;
    if (start) await start(page);
    else await page.goto(authorize.url);
    await idpLogin(page, sub, shots && `${shots}-idp-login`);
    await idpConsent(page, { cancel, shotName: shots && `${shots}-idp-consent` });
    await onCallback(page);
    await page.waitForLoadState('load');
    if (shots) await screenshot(page, `${shots}-callback`);
    const callback = new URL(page.url());
    const idpResponse = hops.find((h) => h.url.startsWith(`${base}/oauth2/idpresponse`));
    return { callback, hops, idpResponse, idpRequests: idp.requests.slice(idpRequestsBefore), context };
  } finally {
    await context.close();
  }
}

/** The callback has a code for `authorize.state`: redeems it, returns tokens and claims. */
async function redeem(callback, authorize) {
  assert.equal(callback.searchParams.get('error'), null,
    `error at the callback: ${callback.searchParams.get('error')}: ${callback.searchParams.get('error_description')}`);
  assert.equal(callback.searchParams.get('state'), authorize.state, `state in ${callback}`);
  const code = callback.searchParams.get('code');
  assert.ok(code, `no code in ${callback}`);
  const res = await fetch(new URL('/oauth2/token', base), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', client_id: CLIENT_ID, code, redirect_uri: REDIRECT_URI,
      code_verifier: authorize.verifier,
    }),
  });
  const json = await res.json();
  assert.equal(res.status, 200, `token endpoint: ${JSON.stringify(json)}`);
  const id = jwtPayload(json.id_token);
  assert.equal(id.aud, CLIENT_ID);
  assert.equal(id.token_use, 'id');
  const info = await fetch(new URL('/oauth2/userInfo', base), {
    headers: { authorization: `Bearer ${json.access_token}` },
  });
  const userInfo = await info.json();
  assert.equal(info.status, 200, `userInfo: ${JSON.stringify(userInfo)}`);
  return { tokens: json, id, access: jwtPayload(json.access_token), userInfo };
}

/** Checks the federated user in the ID token and userInfo; returns the identities entry. */
function assertFederatedUser({ id, access, userInfo }, { provider, type, sub, claims }) {
  const username = `${provider}_${sub}`.toLowerCase();
  assert.equal(id['cognito:username'], username, 'cognito:username in the ID token');
  assert.equal(access.username, username, 'username in the access token');
  assert.equal(id.email, claims.email, 'email in the ID token');
  assert.equal(id.email_verified, true, 'email_verified in the ID token');
  assert.equal(id.name, claims.name, 'name in the ID token');
  assert.match(id.sub, /^[0-9a-f-]{36}$/, 'our own sub, a UUID');
  assert.ok(Array.isArray(id.identities), `identities in the ID token: ${JSON.stringify(id.identities)}`);
  assert.equal(id.identities.length, 1, JSON.stringify(id.identities));
  const [identity] = id.identities;
  const expected = {
    userId: sub,
    providerName: provider,
    providerType: type,
    issuer: type === 'OIDC' ? idp.issuer : identity.issuer,
    primary: 'true',
    dateCreated: identity.dateCreated,
  };
  assert.deepEqual(identity, expected, 'identities[0] in the ID token');
  if (type !== 'OIDC') {
    assert.ok([null, idp.issuer].includes(identity.issuer), `issuer of a ${type} identity: ${identity.issuer}`);
  }
  assert.match(identity.dateCreated, /^\d{13}$/, 'dateCreated in milliseconds');
  assert.ok(Math.abs(Number(identity.dateCreated) - Date.now()) < 10 * 60_000, 'dateCreated is recent');

  assert.equal(userInfo.sub, id.sub, 'sub in userInfo');
  assert.equal(userInfo.email, claims.email, 'email in userInfo');
  assert.equal(typeof userInfo.identities, 'string', `userInfo identities is a JSON string: ${JSON.stringify(userInfo.identities)}`);
  assert.deepEqual(JSON.parse(userInfo.identities), id.identities, 'userInfo identities = ID token identities');
  return identity;
}

function setAccount(sub, claims) {
  accounts.set(sub, claims);
  return claims;
}

/** The browser's authorization request to the provider, as the userpool built it. */
async function assertOutboundRequest(result, { provider }) {
  let hop;
  for (const h of result.hops) {
    if (!h.url.startsWith(`${base}/oauth2/authorize`) || h.status !== 302) continue;
    const headers = await h.headers;
    if ((headers.location ?? '').startsWith(`${idp.issuer}/auth?`)) hop = { ...h, headers };
  }
  assert.ok(hop, `a 302 from /oauth2/authorize to the provider: ${JSON.stringify(result.hops.map((h) => [h.status, h.url]))}`);
  const out = new URL(hop.headers.location);
  const p = Object.fromEntries(out.searchParams);
  assert.equal(p.response_type, 'code', `${provider}: response_type`);
  assert.equal(p.client_id, RP_CLIENT_ID, `${provider}: client_id`);
  assert.equal(p.redirect_uri, `${base}/oauth2/idpresponse`, `${provider}: redirect_uri`);
  assert.deepEqual(p.scope.split(' ').sort(), ['email', 'openid', 'profile'], `${provider}: scope`);
  assert.ok(p.state && p.nonce, `${provider}: state and nonce`);
  assert.equal(p.code_challenge_method, 'S256', `${provider}: code_challenge_method`);
  assert.match(p.code_challenge ?? '', /^[A-Za-z0-9_-]{43}$/, `${provider}: code_challenge`);
  assert.equal(p.client_secret, undefined, `${provider}: no secret in the browser`);
  const cookie = hop.headers['set-cookie'] ?? '';
  assert.match(cookie, /(^|\n)userpool-federation=[^;]+;/, `${provider}: binding cookie: ${cookie}`);
  assert.match(cookie, /HttpOnly/i, `${provider}: binding cookie is HttpOnly`);
  // It has to come back on the provider's (cross-site, in real life) redirect.
  assert.doesNotMatch(cookie, /SameSite=Strict/i, `${provider}: binding cookie is not SameSite=Strict`);
  return p;
}

// ---------------------------------------------------------------------------------------------

let carolSub;
let carolIdentity;

test('OIDC provider by discovery: identity_provider=Corp, user provisioned as corp_<sub>', { skip, timeout: 30_000 }, async (t) => {
  t.after(() => t.diagnostic(`oidc-provider notices: ${idp?.notices.join(' | ')}`));
  const claims = setAccount(CAROL, { email: 'carol@corp.example', email_verified: true, name: 'Carol One' });
  const authorize = authorizeUrl({ identity_provider: 'Corp' });
  const result = await federate({ authorize, sub: CAROL, shots: 'corp' });
  await assertOutboundRequest(result, { provider: 'Corp' });
  const tokens = await redeem(result.callback, authorize);
  carolIdentity = assertFederatedUser(tokens, { provider: 'Corp', type: 'OIDC', sub: CAROL, claims });
  t.diagnostic(`Corp: cognito:username=${tokens.id['cognito:username']} identities=${JSON.stringify(tokens.id.identities)}`);
  carolSub = tokens.id.sub;
  // The userpool itself fetched discovery, the key set, the token and userinfo.
  const server = result.idpRequests.filter((r) => r.from === 'server').map((r) => `${r.method} ${r.path}`);
  for (const want of ['GET /.well-known/openid-configuration', 'POST /token', 'GET /jwks', 'GET /me']) {
    assert.ok(server.includes(want), `userpool → provider: ${want} in ${JSON.stringify(server)}`);
  }
  assert.deepEqual(idp.errors, [], 'provider server errors');
});

test('explicit endpoints (no discovery) and ProviderType Google with overridden endpoints', { skip, timeout: 30_000 }, async (t) => {
  const claims = accounts.get(CAROL);
  for (const [provider, type] of [['CorpDirect', 'OIDC'], ['Google', 'Google']]) {
    const authorize = authorizeUrl({ identity_provider: provider });
    const result = await federate({ authorize, sub: CAROL, shots: provider.toLowerCase() });
    await assertOutboundRequest(result, { provider });
    const tokens = await redeem(result.callback, authorize);
    assertFederatedUser(tokens, { provider, type, sub: CAROL, claims });
    t.diagnostic(`${provider}: cognito:username=${tokens.id['cognito:username']} identities=${JSON.stringify(tokens.id.identities)}`);
    assert.notEqual(tokens.id.sub, carolSub, `${provider}: a user apart from the Corp one`);
    const discovery = result.idpRequests.filter((r) => r.path.startsWith('/.well-known/'));
    assert.deepEqual(discovery, [], `${provider}: no discovery request`);
    const server = result.idpRequests.filter((r) => r.from === 'server').map((r) => `${r.method} ${r.path}`);
    for (const want of ['POST /token', 'GET /me']) {
      assert.ok(server.includes(want), `${provider}: userpool → provider: ${want} in ${JSON.stringify(server)}`);
    }
    // The key set at this jwks_uri was read for Corp's sign-in and is cached (design 0003).
    assert.ok(!server.includes('GET /jwks'), `${provider}: the cached JWKS is used: ${JSON.stringify(server)}`);
  }
  assert.deepEqual(idp.errors, [], 'provider server errors');
});

test('idp_identifier=corp.example and the "Continue with Corp" button; attributes updated, same sub', { skip, timeout: 30_000 }, async () => {
  assert.ok(carolSub, 'needs the first test');
  // Sign-in 2, by idp_identifier, after the provider's name claim changed.
  let claims = setAccount(CAROL, { ...accounts.get(CAROL), name: 'Carol Two' });
  let authorize = authorizeUrl({ idp_identifier: 'corp.example' });
  let result = await federate({ authorize, sub: CAROL, shots: 'idp-identifier' });
  await assertOutboundRequest(result, { provider: 'Corp' });
  let tokens = await redeem(result.callback, authorize);
  let identity = assertFederatedUser(tokens, { provider: 'Corp', type: 'OIDC', sub: CAROL, claims });
  assert.equal(tokens.id.sub, carolSub, 'same sub on the second sign-in');
  assert.equal(tokens.userInfo.name, 'Carol Two', 'name updated in userInfo');
  assert.equal(identity.dateCreated, carolIdentity.dateCreated, 'dateCreated of the identity kept');

  // Sign-in 3, through /login's button, after another change.
  claims = setAccount(CAROL, { ...accounts.get(CAROL), name: 'Carol Three', email: 'carol.three@corp.example' });
  authorize = authorizeUrl();
  result = await federate({
    authorize,
    sub: CAROL,
    shots: 'button',
    async start(page) {
      await page.goto(authorize.url);
      await page.waitForURL((u) => u.origin === base && u.pathname === '/login');
      const button = page.getByRole('link', { name: 'Continue with Corp', exact: true });
      await button.waitFor();
      await screenshot(page, 'login-buttons');
      await button.click();
    },
  });
  await assertOutboundRequest(result, { provider: 'Corp' });
  tokens = await redeem(result.callback, authorize);
  identity = assertFederatedUser(tokens, { provider: 'Corp', type: 'OIDC', sub: CAROL, claims });
  assert.equal(tokens.id.sub, carolSub, 'same sub on the third sign-in');
  assert.equal(identity.dateCreated, carolIdentity.dateCreated, 'dateCreated of the identity kept');
});

test('the user cancels at the provider: error=invalid_request "Corp Error - access_denied", no user', { skip, timeout: 30_000 }, async (t) => {
  setAccount(DAN, { email: 'dan@corp.example', email_verified: true, name: 'Dan' });
  const authorize = authorizeUrl({ identity_provider: 'Corp' });
  const result = await federate({ authorize, sub: DAN, cancel: true, shots: 'cancel' });
  const cb = result.callback;
  t.diagnostic(`callback after the cancel: ${cb.search}`);
  const idpAnswer = result.idpResponse && new URL(result.idpResponse.url);
  assert.equal(idpAnswer?.searchParams.get('error'), 'access_denied', `the provider's answer: ${idpAnswer}`);
  assert.equal(cb.searchParams.get('error'), 'invalid_request', `callback: ${cb}`);
  assert.match(cb.searchParams.get('error_description') ?? '', /Corp Error - access_denied/, `callback: ${cb}`);
  assert.equal(cb.searchParams.get('state'), authorize.state, 'state echoed');
  assert.equal(cb.searchParams.get('code'), null, 'no code');
  // No user came of the cancel: Dan's first successful sign-in creates him now, so his identity
  // dates from after the cancel (dateCreated has whole-second precision, hence the pause).
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const notBefore = Math.floor(Date.now() / 1000) * 1000;
  const again = authorizeUrl({ identity_provider: 'Corp' });
  const ok = await federate({ authorize: again, sub: DAN, shots: 'after-cancel' });
  const tokens = await redeem(ok.callback, again);
  const created = Number(tokens.id.identities?.[0]?.dateCreated);
  assert.ok(created >= notBefore, `Dan's user dates from the later sign-in (${created} >= ${notBefore}), not the cancel`);
});

/** Loads `url` in a fresh page; returns the document response and where the page ended. */
async function visit(url) {
  const { context, page } = await newPage();
  try {
    const res = await page.goto(url);
    const body = await page.content();
    return { status: res.status(), headers: await res.allHeaders(), finalUrl: page.url(), body };
  } finally {
    await context.close();
  }
}

test('replayed and unknown idpresponse: the HTML error page (400)', { skip, timeout: 30_000 }, async () => {
  // A successful sign-in, holding the browser's idpresponse request to copy its URL and the
  // browser-binding cookie before it goes on.
  let held;
  const authorize = authorizeUrl({ identity_provider: 'Corp' });
  const result = await federate({
    authorize,
    sub: CAROL,
    async onIdpResponse(url, context) {
      const cookie = (await context.cookies(base)).find((c) => c.name === 'userpool-federation');
      held = { url, cookie };
    },
  });
  await redeem(result.callback, authorize);
  assert.ok(held?.cookie, 'the binding cookie was set');
  assert.ok(new URL(held.url).searchParams.get('code'), `a code in ${held.url}`);

  // The same answer again, from a browser (cookie gone) and with the original binding cookie.
  const again = await visit(held.url);
  assert.equal(again.status, 400, `replayed idpresponse in a browser: ${again.status} at ${again.finalUrl}`);
  assert.equal(new URL(again.finalUrl).origin, base, 'stays on the userpool');
  assert.match(again.headers['content-type'] ?? '', /^text\/html/);
  const replay = await fetch(held.url, {
    redirect: 'manual', headers: { cookie: `userpool-federation=${held.cookie.value}` },
  });
  const replayBody = await replay.text();
  assert.equal(replay.status, 400,
    `replayed idpresponse with the binding cookie: ${replay.status} location=${replay.headers.get('location')} ${replayBody.slice(0, 300)}`);
  assert.match(replay.headers.get('content-type') ?? '', /^text\/html/);

  // An answer for a state the userpool never issued.
  const unknown = new URL('/oauth2/idpresponse', base);
  unknown.search = new URLSearchParams({ code: 'made-up', state: randomBytes(16).toString('base64url') }).toString();
  const { context, page } = await newPage();
  try {
    const res = await page.goto(unknown.href);
    assert.equal(res.status(), 400, `unknown state: ${res.status()} at ${page.url()}`);
    assert.equal(new URL(page.url()).origin, base, 'stays on the userpool');
    assert.match((await res.allHeaders())['content-type'] ?? '', /^text\/html/);
    await screenshot(page, 'unknown-state-error');
  } finally {
    await context.close();
  }
  // A POST answer (response_mode=form_post) with an unknown state, too.
  const post = await fetch(new URL('/oauth2/idpresponse', base), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ code: 'made-up', state: randomBytes(16).toString('base64url') }),
  });
  await post.text();
  assert.equal(post.status, 400, `POST idpresponse with an unknown state: ${post.status} ${post.headers.get('location')}`);
});

test('provider down: during the code exchange, and when the federation starts', { skip, timeout: 30_000 }, async (t) => {
  // Down between its answer and the userpool's token request: the browser's request to
  // /oauth2/idpresponse is held while the provider stops.
  setAccount(ERIN, { email: 'erin@corp.example', email_verified: true, name: 'Erin' });
  const authorize = authorizeUrl({ identity_provider: 'Corp' });
  const result = await federate({
    authorize,
    sub: ERIN,
    async onIdpResponse() { await idp.stop(); },
  });
  let cb = result.callback;
  t.diagnostic(`callback, provider down at the exchange: ${cb.search}`);
  assert.equal(cb.searchParams.get('error'), 'invalid_request', `callback with the provider down at the exchange: ${cb}`);
  assert.equal(cb.searchParams.get('state'), authorize.state, 'state echoed');
  assert.equal(cb.searchParams.get('code'), null, 'no code');

  // Down from the start: the userpool cannot read the provider's discovery document. (Corp's
  // is cached from the earlier sign-ins and would still be served while Corp is down.)
  const { context, page } = await newPage();
  try {
    const down = authorizeUrl({ identity_provider: 'Gone' });
    await page.goto(down.url);
    await onCallback(page);
    await screenshot(page, 'idp-down-callback');
    cb = new URL(page.url());
    t.diagnostic(`callback, provider down from the start: ${cb.search}`);
    assert.equal(cb.searchParams.get('error'), 'invalid_request', `callback with the provider down: ${cb}`);
    assert.equal(cb.searchParams.get('state'), down.state, 'state echoed');
  } finally {
    await context.close();
  }
});
