// The managed-login pages in headless Chromium (playwright-core with the system's Chromium, never a
// downloaded browser): sign-up, confirmation with the emailed code, TOTP set-up (MFA ON), sign-in
// with password + TOTP, logout and password reset, each ending on the client's callback with a
// code that is redeemed at the token endpoint. Every page is checked for its security headers, for
// the absence of scripts and console errors (CSP violations), and photographed into
// <repo>/test-artifacts/browser/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { outboxCode, startEnv, stubApp } from './harness.js';
import { CHROMIUM, LAUNCH_ARGS, SHOTS, chromiumMissing, pageDriver } from './page-driver.js';

const POOL_ID = 'us-east-1_Browser01';
const CLIENT_ID = 'browserclient0000000000001';
const APP = 'http://localhost:3000';
const REDIRECT_URI = `${APP}/cb`;
const LOGOUT_URI = `${APP}/bye`;

const USERNAME = 'browserbob';
const EMAIL = 'browserbob@example.test';
const PASSWORD = 'Str0ng-Passw0rd!';
const NEW_PASSWORD = 'N3w-Passw0rd-2!';

function browserSeed(ports) {
  return {
    UserPools: [{
      Id: POOL_ID,
      PoolName: 'Browser Test',
      MfaConfiguration: 'ON',
      UsernameConfiguration: { CaseSensitive: false },
      Domains: ports.map((port) => ({ Domain: `127.0.0.1:${port}` })),
      Clients: [{
        ClientName: 'web',
        ClientId: CLIENT_ID,
        AllowedOAuthFlowsUserPoolClient: true,
        AllowedOAuthFlows: ['code'],
        AllowedOAuthScopes: ['openid', 'email', 'profile'],
        CallbackURLs: [REDIRECT_URI],
        LogoutURLs: [LOGOUT_URI],
        SupportedIdentityProviders: ['COGNITO'],
      }],
    }],
  };
}

// RFC 4648 base32 (as authenticator apps take the secret) and RFC 6238 TOTP: HMAC-SHA-1,
// 30-second steps, 6 digits, dynamic truncation of RFC 4226.
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.toUpperCase().replace(/[\s=-]/g, '')) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${JSON.stringify(text)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

function totp(secretBase32, nowMs = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(nowMs / 1000 / 30)));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

if (chromiumMissing && !process.env.CI) console.log(`browser test skipped: ${chromiumMissing}`);

test('managed login in headless Chromium: sign-up, TOTP, sign-in, logout, password reset', {
  skip: chromiumMissing && !process.env.CI ? chromiumMissing : false,
  timeout: 90_000,
}, async (t) => {
  if (chromiumMissing) assert.fail(`CI is set and ${chromiumMissing}`);
  // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", T = 59 s: 94287082 → 287082.
  assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59_000), '287082');

  // Only this file's shots (NN-name.png): federation.test.js keeps its fed-NN-*.png here too.
  mkdirSync(SHOTS, { recursive: true });
  for (const name of readdirSync(SHOTS)) {
    if (/^\d+-.*\.png$/.test(name)) rmSync(join(SHOTS, name), { force: true });
  }

  const env = await startEnv({ seed: browserSeed });
  t.after(() => env.close());
  const base = env.servers[0].url;

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await stubApp(context, page, APP);
  // Console errors, the last document response, expectPage, screenshots, the code flow.
  const driver = pageDriver(page, base, { redirectUri: REDIRECT_URI, scope: 'openid email', t });
  const { consoleErrors, seenPages, expectPage, assertVisible, clickAndWait, screenshot } = driver;
  const authorize = () => driver.authorize(CLIENT_ID);

  /** The browser is on the callback: the code redeemed, the ID token is this user's, email verified. */
  async function redeemCallback(flow) {
    const id = await driver.redeemCallback(flow);
    assert.equal(id['cognito:username'], USERNAME);
    assert.equal(id.email, EMAIL);
    assert.equal(id.email_verified, true);
    return id;
  }

  async function logout() {
    const url = new URL('/logout', base);
    url.search = new URLSearchParams({ client_id: CLIENT_ID, logout_uri: LOGOUT_URI }).toString();
    await page.goto(url.href);
    await page.waitForURL((u) => u.href.startsWith(LOGOUT_URI));
    assert.equal(new URL(page.url()).pathname, '/bye');
  }

  /** On /mfa (sign-in, no set-up): no QR, no secret; enters the current code. */
  async function enterTotp(secret, name) {
    await expectPage('/mfa');
    assert.equal(await page.locator('figure.qr').count(), 0, 'QR code on the sign-in MFA page');
    assert.equal(await page.locator('#totp-secret').count(), 0, 'secret on the sign-in MFA page');
    if (name) await screenshot(name);
    await submitTotp(secret);
  }

  /**
   * Types the code an authenticator app shows now and submits it. RFC 6238 §5.2: a code must not
   * be accepted twice, so if this 30-second step's code was used already and the server refuses
   * it, waits for the next step as a user would (the server accepting it is reported, not failed).
   */
  let lastTotpStep = -1;
  async function submitTotp(secret) {
    const step = Math.floor(Date.now() / 30_000);
    const reused = step === lastTotpStep;
    await page.locator('#code').fill(totp(secret));
    await clickAndWait(page.getByRole('button', { name: 'Verify' }));
    if (new URL(page.url()).pathname !== '/mfa') {
      if (reused) t.diagnostic('the server accepted a TOTP code a second time in its 30-second step');
      lastTotpStep = step;
      return;
    }
    await expectPage('/mfa', { status: driver.lastDocument.status });
    const alert = await page.locator('[role=alert]').textContent().catch(() => null);
    assert.ok(reused, `TOTP code refused: ${alert}`);
    await new Promise((r) => setTimeout(r, (step + 1) * 30_000 - Date.now() + 250));
    lastTotpStep = step + 1;
    await page.locator('#code').fill(totp(secret));
    await clickAndWait(page.getByRole('button', { name: 'Verify' }));
  }

  async function phoneScreenshot(name) {
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(name);
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  const seenMail = new Set();

  // --- 1. authorize → sign-in page → sign-up.
  let flow = await authorize();
  await screenshot('login');
  await phoneScreenshot('login-phone');
  await clickAndWait(page.getByRole('link', { name: 'Need an account? Sign up' }));
  await expectPage('/signup');
  await screenshot('signup');
  await page.locator('#username').fill(USERNAME);
  await page.locator('#email').fill(EMAIL);
  await page.locator('#password').fill(PASSWORD);
  await clickAndWait(page.getByRole('button', { name: 'Sign up' }));

  // --- 2. confirm with the code from the outbox.
  await expectPage('/confirm');
  assert.equal(new URL(page.url()).searchParams.get('username'), USERNAME);
  assert.equal(await page.locator('#username').inputValue(), USERNAME);
  await assertVisible(page.getByRole('link', { name: 'Send a new code' }), '/confirm');
  await screenshot('confirm');
  const verification = await outboxCode(env.dir, EMAIL, {
    seen: seenMail, pattern: /Your verification code is (\d{6})\./,
  });
  await page.locator('#code').fill(verification);
  await clickAndWait(page.getByRole('button', { name: 'Confirm account' }));

  // --- 3. TOTP set-up (MFA ON) → callback.
  await expectPage('/mfa');
  await assertVisible(page.locator('figure.qr svg'), '/mfa set-up');
  const secretLocator = page.locator('#totp-secret');
  const secret = ((await secretLocator.evaluate((el) => ('value' in el ? el.value : el.textContent))) ?? '')
    .replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{16,}=*$/, `base32 secret: ${JSON.stringify(secret)}`);
  await screenshot('mfa-setup');
  await phoneScreenshot('mfa-setup-phone');
  await submitTotp(secret);
  await redeemCallback(flow);
  await logout();

  // --- 4. sign in again (username in another case: the pool is case-insensitive) + TOTP.
  flow = await authorize();
  await page.locator('#username').fill(USERNAME.toUpperCase());
  await page.locator('#password').fill(PASSWORD);
  await clickAndWait(page.getByRole('button', { name: 'Sign in' }));
  await enterTotp(secret, 'mfa');
  await redeemCallback(flow);
  await logout();

  // --- 5. forgot password → reset with the code from the outbox.
  flow = await authorize();
  await clickAndWait(page.getByRole('link', { name: 'Forgot your password?' }));
  await expectPage('/forgotPassword');
  await screenshot('forgot');
  await page.locator('#username').fill(USERNAME);
  await clickAndWait(page.getByRole('button', { name: 'Reset my password' }));
  await expectPage('/confirmforgotPassword');
  assert.equal(await page.locator('#username').inputValue(), USERNAME);
  await screenshot('confirm-forgot');
  const resetCode = await outboxCode(env.dir, EMAIL, {
    seen: seenMail, pattern: /Your password reset code is (\d{6})\./,
  });
  await page.locator('#code').fill(resetCode);
  await page.locator('#password').fill(NEW_PASSWORD);
  await clickAndWait(page.getByRole('button', { name: 'Change password' }));
  await expectPage('/login', { heading: 'Sign in' });
  await assertVisible(page.locator('[role=status]', { hasText: 'Your password has been reset' }), '/login');
  await screenshot('login-notice');

  // The old password no longer works (an error on the sign-in page), the new one does.
  await page.locator('#username').fill(USERNAME);
  await page.locator('#password').fill(PASSWORD);
  await clickAndWait(page.getByRole('button', { name: 'Sign in' }));
  await expectPage('/login', { status: 400 });
  await assertVisible(page.locator('[role=alert]'), '/login after a wrong password');
  await screenshot('login-error');
  await page.locator('#username').fill(USERNAME);
  await page.locator('#password').fill(NEW_PASSWORD);
  await clickAndWait(page.getByRole('button', { name: 'Sign in' }));
  await enterTotp(secret);
  await redeemCallback(flow);
  await logout();

  assert.deepEqual(consoleErrors, [], 'console errors');
  for (const path of ['/login', '/signup', '/confirm', '/mfa', '/forgotPassword', '/confirmforgotPassword']) {
    assert.ok(seenPages.includes(path), `${path} was checked`);
  }
});
