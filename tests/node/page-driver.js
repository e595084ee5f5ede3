// The page driver of the Chromium tests (browser.test.js, signup-by-phone.test.js), owned here:
// which Chromium they launch and how, and, for one Playwright page of the managed-login pages, the
// checks of every page (security headers, no script, no console errors), its screenshots and the
// authorization-code flow (PKCE authorize, the callback's code redeemed). What is particular to one
// test (its users, its pages' fields, the ID token claims it expects) stays in that test.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, collectConsoleErrors, jwtPayload, pkcePair, redeemCode } from './harness.js';

/** The system's Chromium (playwright-core never downloads one), and the arguments it is launched with. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Where the screenshots go: <repo>/test-artifacts/browser/. */
export const SHOTS = join(REPO_ROOT, 'test-artifacts', 'browser');
/** Why the Chromium tests cannot run here, or null. */
export const chromiumMissing = existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;

/**
 * The driver of `page` (already stubbed for the client app) on the server at `base`.
 *
 * Options: `redirectUri` and `scope` of the authorization requests; `shotPrefix` (prepended to
 * NN-name.png) and `nextShot` (the next shot's number; by default counted per driver); `t`, the
 * test context, for the DEBUG_BROWSER trace of responses.
 *
 * The driver tracks the console errors of the page (`consoleErrors`), the last document response of
 * the server's origin in the main frame (`lastDocument`) and the paths checked by expectPage
 * (`seenPages`).
 */
export function pageDriver(page, base, { redirectUri, scope, shotPrefix = '', nextShot, t } = {}) {
  const origin = new URL(base).origin;
  page.setDefaultTimeout(10_000);
  if (process.env.DEBUG_BROWSER && t) {
    page.on('response', (r) => t.diagnostic(
      `${r.status()} ${r.request().method()} ${r.url()} ${r.headers().location ?? ''}`));
  }

  // --- Instrumentation: console errors anywhere, and the last document response of the server.
  const consoleErrors = collectConsoleErrors(page);
  let lastDocument = null;
  page.on('response', (res) => {
    const req = res.request();
    if (req.resourceType() === 'document' && res.frame() === page.mainFrame()
      && new URL(res.url()).origin === origin && (res.status() < 300 || res.status() >= 400)) {
      lastDocument = { url: res.url(), status: res.status(), headers: res.allHeaders() };
    }
  });

  let shot = 0;
  const nextShotNumber = nextShot ?? (() => { shot += 1; return shot; });

  const driver = {
    page,
    base,
    origin,
    consoleErrors,
    seenPages: [],
    get lastDocument() { return lastDocument; },

    async screenshot(name) {
      const file = join(SHOTS, `${shotPrefix}${String(nextShotNumber()).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
    },

    /**
     * Asserts the page at `path` has loaded with `status`, and is safe: headers, no scripts, no
     * console errors (Chromium logs a document's 4xx status as one; that one is expected).
     */
    async expectPage(path, { heading, status = 200 } = {}) {
      await page.waitForURL((u) => u.origin === origin && u.pathname === path);
      await page.waitForLoadState('load');
      const where = `${path} (${page.url()})`;
      assert.ok(lastDocument, `no document response for ${where}`);
      assert.equal(new URL(lastDocument.url).pathname, path, `last document response is not ${where}`);
      assert.equal(lastDocument.status, status, `status of ${where}`);
      if (status >= 400) {
        const logged = consoleErrors.findIndex((e) => e.includes(`status of ${status}`)
          && e.endsWith(`[${lastDocument.url}]`));
        if (logged >= 0) consoleErrors.splice(logged, 1);
      }
      const headers = await lastDocument.headers;
      assert.match(headers['content-type'] ?? '', /^text\/html/, `content-type of ${where}`);
      assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/,
        `content-security-policy of ${where}: ${headers['content-security-policy']}`);
      assert.equal(headers['x-frame-options']?.toUpperCase(), 'DENY', `x-frame-options of ${where}`);
      assert.equal(await page.locator('script').count(), 0, `<script> on ${where}`);
      assert.deepEqual(consoleErrors, [], `console errors by ${where}`);
      if (heading) await driver.assertVisible(page.getByRole('heading', { level: 1, name: heading }), where);
      driver.seenPages.push(path);
    },

    async assertVisible(locator, what) {
      await locator.first().waitFor({ state: 'visible' }).catch(() => {});
      assert.ok(await locator.first().isVisible(), `not visible on ${what}: ${locator}`);
    },

    /** Clicks and waits for the navigation it starts to finish. */
    async clickAndWait(locator) {
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
    },

    /** Starts an authorization-code flow with PKCE for `clientId`; the sign-in page is checked. */
    async authorize(clientId) {
      const { verifier, challenge } = pkcePair();
      const state = randomBytes(12).toString('base64url');
      const url = new URL('/oauth2/authorize', base);
      url.search = new URLSearchParams({
        client_id: clientId, response_type: 'code', scope, redirect_uri: redirectUri,
        state, code_challenge: challenge, code_challenge_method: 'S256',
      }).toString();
      await page.goto(url.href);
      await driver.expectPage('/login', { heading: 'Sign in' });
      return { clientId, verifier, state };
    },

    /** The browser is on the callback: checks state, redeems the code, returns the ID token's claims. */
    async redeemCallback({ clientId, verifier, state }) {
      await page.waitForURL((u) => u.href.startsWith(`${redirectUri}?`));
      const cb = new URL(page.url());
      assert.equal(cb.searchParams.get('error'), null, `error in ${cb}`);
      assert.equal(cb.searchParams.get('state'), state, `state in ${cb}`);
      const code = cb.searchParams.get('code');
      assert.ok(code, `no code in ${cb}`);
      const { res, json } = await redeemCode(base, { clientId, code, verifier, redirectUri });
      assert.equal(res.status, 200, `token endpoint: ${JSON.stringify(json)}`);
      assert.ok(json.access_token && json.refresh_token && json.id_token, 'access, refresh and ID tokens');
      const id = jwtPayload(json.id_token);
      assert.equal(id.token_use, 'id');
      assert.equal(id.aud, clientId);
      return id;
    },
  };
  return driver;
}
