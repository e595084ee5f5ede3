// Sign-up by phone on the managed-login pages, in headless Chromium (playwright-core with the
// system's Chromium, as browser.test.js). A pool that auto-verifies phone numbers (and emails)
// asks for a phone number on /signup: its confirmation code goes by text message (the development
// outbox's `{millis}-{seq}-{phone}.sms`), /confirm says so, the code confirms the account, verifies
// the phone and signs the user in (the callback's code redeemed, the ID token's claims checked);
// neither email nor phone is refused; an email alone still gets an emailed code; a forgotten
// password of a user whose phone is verified (no AccountRecoverySetting: the phone first) is reset
// with a texted code. A pool that verifies only emails has no phone field and emails its code.
// The users are checked with AdminGetUser (server run with --accept-any-credentials). Every page
// is checked for its security headers, for the absence of scripts and of console errors, and
// photographed into <repo>/test-artifacts/browser/sms-NN-*.png. SQLite by default;
// USERPOOL_NODE_BACKEND=postgres runs it on a fresh PostgreSQL database.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import * as cognito from '@aws-sdk/client-cognito-identity-provider';
import { outboxCode, outboxMessages, startEnv, stubApp } from './harness.js';
import { CHROMIUM, LAUNCH_ARGS, SHOTS, chromiumMissing, pageDriver } from './page-driver.js';

// Two pools on one server, told apart by the Host of their custom domains: 127.0.0.1:<port> for
// the pool that verifies phone numbers, localhost:<port> for the one that verifies emails only.
const PHONE_POOL = 'us-east-1_SmsSignUp1';
const PHONE_CLIENT = 'smssignupclient00000000001';
const EMAIL_POOL = 'us-east-1_EmlSignUp1';
const EMAIL_CLIENT = 'emlsignupclient00000000001';
const APP = 'http://localhost:3000';
const REDIRECT_URI = `${APP}/cb`;

const PASSWORD = 'Str0ng-Passw0rd!';
const NEW_PASSWORD = 'N3w-Passw0rd-2!';
const PHONE_FIELD_LABEL = 'Phone number (+country code)';
const TEXTED = 'We sent a code to your phone by text message.';
const EMAILED = 'We sent a code to your email address.';
const NEITHER = 'Enter an email address or a phone number: the confirmation code is sent there.';
const SMS_CONFIRMATION = /^Your verification code is (\d{6})\. $/;
const SMS_RESET = /^Your password reset code is (\d{6})\. $/;
const EMAIL_CONFIRMATION = /Your verification code is (\d{6})\./;

function client(clientId) {
  return {
    ClientName: 'web',
    ClientId: clientId,
    AllowedOAuthFlowsUserPoolClient: true,
    AllowedOAuthFlows: ['code'],
    AllowedOAuthScopes: ['openid', 'email', 'phone', 'profile'],
    CallbackURLs: [REDIRECT_URI],
    LogoutURLs: [`${APP}/bye`],
    SupportedIdentityProviders: ['COGNITO'],
  };
}

function seed([port]) {
  return {
    UserPools: [
      {
        Id: PHONE_POOL,
        PoolName: 'Phone Sign-up',
        UsernameConfiguration: { CaseSensitive: false },
        // Both verified: Cognito texts the code when it has a phone number (no AccountRecoverySetting).
        AutoVerifiedAttributes: ['email', 'phone_number'],
        Domains: [{ Domain: `127.0.0.1:${port}` }],
        Clients: [client(PHONE_CLIENT)],
      },
      {
        Id: EMAIL_POOL,
        PoolName: 'Email Sign-up',
        UsernameConfiguration: { CaseSensitive: false },
        AutoVerifiedAttributes: ['email'],
        Domains: [{ Domain: `localhost:${port}` }],
        Clients: [client(EMAIL_CLIENT)],
      },
    ],
  };
}

if (chromiumMissing && !process.env.CI) console.log(`sign-up by phone test skipped: ${chromiumMissing}`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('managed login: sign-up and password reset by text message', {
  skip: chromiumMissing && !process.env.CI ? chromiumMissing : false,
}, () => {
  let env;
  let browser;
  let sdk;
  let port;
  const send = (op, input) => sdk.send(new cognito[`${op}Command`](input));
  let shot = 0;
  const seenSms = new Set();
  const seenMail = new Set();

  before(async () => {
    if (chromiumMissing) assert.fail(`CI is set and ${chromiumMissing}`);
    mkdirSync(SHOTS, { recursive: true });
    for (const name of readdirSync(SHOTS)) {
      if (/^sms-\d+-.*\.png$/.test(name)) rmSync(join(SHOTS, name), { force: true });
    }
    env = await startEnv({ seed, extraArgs: ['--no-demo', '--accept-any-credentials'] });
    port = env.servers[0].port;
    sdk = new cognito.CognitoIdentityProviderClient({
      endpoint: env.servers[0].url, region: 'us-east-1', maxAttempts: 1,
      credentials: { accessKeyId: 'AKIADUMMYDUMMYDUMMY0', secretAccessKey: 'dummy-secret' },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });

  after(async () => {
    await browser?.close();
    sdk?.destroy();
    await env?.close();
  });

  // ------------------------------------------------------------------------------------------
  // The outbox's text messages.

  /** The outbox's text messages to `phone`, oldest first, as { name, text } (the body alone). */
  function smsMessages(phone) {
    let names;
    try { names = readdirSync(join(env.dir, 'outbox')); } catch { return []; }
    return names
      .map((name) => ({ name, m: name.match(/^(\d+)-(\d+)-(.+)\.sms$/) }))
      .filter(({ m }) => m && m[3] === phone)
      .sort((a, b) => Number(a.m[1]) - Number(b.m[1]) || Number(a.m[2]) - Number(b.m[2]))
      .map(({ name }) => ({ name, text: readFileSync(join(env.dir, 'outbox', name), 'utf8') }));
  }

  /** The code of the newest text to `phone` not read before, whose whole body matches `pattern`; waits up to 5 s. */
  async function smsCode(phone, pattern) {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const fresh = smsMessages(phone).filter(({ name }) => !seenSms.has(name)).at(-1);
      if (fresh) {
        seenSms.add(fresh.name);
        const m = fresh.text.match(pattern);
        assert.ok(m, `text to ${phone} (${fresh.name}) is ${JSON.stringify(fresh.text)}, not ${pattern}`);
        return m[1];
      }
      assert.ok(Date.now() < deadline, `no new text message to ${phone} in ${join(env.dir, 'outbox')}`);
      await sleep(100);
    }
  }

  /** Every .sms file of the outbox, whoever it went to. */
  function allSms() {
    try { return readdirSync(join(env.dir, 'outbox')).filter((n) => n.endsWith('.sms')); } catch { return []; }
  }

  async function adminUser(poolId, username) {
    const user = await send('AdminGetUser', { UserPoolId: poolId, Username: username });
    return { status: user.UserStatus, ...Object.fromEntries(user.UserAttributes.map((a) => [a.Name, a.Value])) };
  }

  async function assertNoUser(poolId, username) {
    await assert.rejects(send('AdminGetUser', { UserPoolId: poolId, Username: username }),
      (err) => err.name === 'UserNotFoundException', `${username} does not exist in ${poolId}`);
  }

  // ------------------------------------------------------------------------------------------
  // A browser context of its own per test (no session left over), with the checks of every page.

  async function openBrowser(t, host) {
    const base = `http://${host}:${port}`;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.after(() => context.close());
    const page = await context.newPage();
    await stubApp(context, page, APP);
    // expectPage, assertVisible, clickAndWait, screenshot (sms-NN-*.png), authorize, redeemCallback.
    const b = pageDriver(page, base, {
      redirectUri: REDIRECT_URI, scope: 'openid email phone', shotPrefix: 'sms-', nextShot: () => ++shot, t,
    });
    return Object.assign(b, {
      /** The one status notice of the page, exactly. */
      async notice() {
        const notices = page.locator('[role=status]');
        assert.equal(await notices.count(), 1, `one notice on ${page.url()}`);
        return (await notices.textContent()).trim();
      },
      async alert() {
        const alerts = page.locator('[role=alert]');
        assert.equal(await alerts.count(), 1, `one alert on ${page.url()}`);
        return (await alerts.textContent()).trim();
      },
      /** From /login to /signup, whose fields are checked: the phone field only where phones are verified. */
      async openSignup({ phoneField }) {
        await b.clickAndWait(page.getByRole('link', { name: 'Need an account? Sign up' }));
        await b.expectPage('/signup', { heading: 'Sign up' });
        assert.equal(await page.locator('#username').count(), 1, 'username field');
        assert.equal(await page.locator('input[name="email"]').count(), 1, 'email field');
        assert.equal(await page.locator('input[name="password"]').count(), 1, 'password field');
        const phone = page.locator('input[name="phone_number"]');
        if (!phoneField) {
          assert.equal(await phone.count(), 0, 'no phone field where phone numbers are not verified');
          assert.equal(await page.getByText(PHONE_FIELD_LABEL).count(), 0, 'no phone label');
          return;
        }
        assert.equal(await phone.count(), 1, 'one phone field');
        assert.equal(await phone.getAttribute('type'), 'tel', 'the phone field is type tel');
        assert.equal(await phone.getAttribute('autocomplete'), 'tel');
        // Labelled (label for= the input), so the field is found by its label text.
        assert.equal(await page.getByLabel(PHONE_FIELD_LABEL, { exact: true }).getAttribute('name'), 'phone_number');
        await b.assertVisible(phone, '/signup');
      },
      async fillSignup({ username, email = '', phone = null, password = PASSWORD }) {
        await page.locator('#username').fill(username);
        await page.locator('input[name="email"]').fill(email);
        if (phone !== null) await page.locator('input[name="phone_number"]').fill(phone);
        await page.locator('input[name="password"]').fill(password);
        await b.clickAndWait(page.getByRole('button', { name: 'Sign up' }));
      },
      /** On /confirm after a sign-up of `username`: the notice `notice` (named `noticeKey` in the URL). */
      async expectConfirm(username, noticeKey, noticeText) {
        await b.expectPage('/confirm', { heading: 'Confirm your account' });
        const url = new URL(page.url());
        assert.equal(url.searchParams.get('username'), username, `username in ${url}`);
        assert.equal(url.searchParams.get('notice'), noticeKey, `notice in ${url}`);
        assert.equal(await b.notice(), noticeText, `notice on ${url}`);
        assert.equal(await page.locator('#username').inputValue(), username);
      },
      async enterConfirmation(code) {
        await page.locator('#code').fill(code);
        await b.clickAndWait(page.getByRole('button', { name: 'Confirm account' }));
      },
      async signInWith(username, password) {
        await page.locator('#username').fill(username);
        await page.locator('#password').fill(password);
        await b.clickAndWait(page.getByRole('button', { name: 'Sign in' }));
      },
      /** From /login through /forgotPassword to /confirmforgotPassword for `username`. */
      async requestReset(username) {
        await b.clickAndWait(page.getByRole('link', { name: 'Forgot your password?' }));
        await b.expectPage('/forgotPassword');
        await page.locator('#username').fill(username);
        await b.clickAndWait(page.getByRole('button', { name: 'Reset my password' }));
        await b.expectPage('/confirmforgotPassword');
      },
      /** On /confirmforgotPassword: `code` sets NEW_PASSWORD, back on /login with the notice. */
      async resetTo(code) {
        await page.locator('#code').fill(code);
        await page.locator('#password').fill(NEW_PASSWORD);
        await b.clickAndWait(page.getByRole('button', { name: 'Change password' }));
        await b.expectPage('/login', { heading: 'Sign in' });
        assert.match(await b.notice(), /Your password has been reset/);
      },
    });
  }

  /**
   * On /confirm after a sign-up of `username` with `email`: the code is emailed (nothing texted
   * since there were `smsBefore` texts), confirms the account and signs in with the email verified.
   */
  async function confirmByEmail(b, flow, { username, email, smsBefore }) {
    const code = await outboxCode(env.dir, email, { seen: seenMail, pattern: EMAIL_CONFIRMATION });
    await sleep(300);
    assert.equal(allSms().length, smsBefore, 'nothing texted');
    await b.enterConfirmation(code);
    const id = await b.redeemCallback(flow);
    assert.equal(id['cognito:username'], username);
    assert.equal(id.email, email);
    assert.equal(id.email_verified, true);
    return id;
  }

  // ------------------------------------------------------------------------------------------

  const PHONE_ONLY = { username: 'textonly', phone: '+15555550142' };
  const BOTH = { username: 'textandmail', phone: '+15555550143', email: 'textandmail@example.test' };

  test('phone pool: /signup has the phone field; neither email nor phone is refused and makes no user', async (t) => {
    const b = await openBrowser(t, '127.0.0.1');
    await b.authorize(PHONE_CLIENT);
    await b.openSignup({ phoneField: true });
    await b.screenshot('signup-phone-field');
    const smsBefore = allSms().length;
    await b.fillSignup({ username: 'nocontact', email: '', phone: '' });
    await b.expectPage('/signup', { status: 400, heading: 'Sign up' });
    assert.equal(await b.alert(), NEITHER);
    // The page again, with what was typed (not the password) and the phone field still there.
    assert.equal(await b.page.locator('#username').inputValue(), 'nocontact');
    assert.equal(await b.page.locator('input[name="phone_number"]').count(), 1, 'phone field on the page again');
    assert.equal(await b.page.locator('input[name="password"]').inputValue(), '');
    await b.screenshot('signup-neither');
    await assertNoUser(PHONE_POOL, 'nocontact');
    await sleep(300);
    assert.equal(allSms().length, smsBefore, 'nothing texted');
    // Spaces alone are no phone number either.
    await b.fillSignup({ username: 'nocontact', email: '', phone: '   ' });
    await b.expectPage('/signup', { status: 400, heading: 'Sign up' });
    assert.equal(await b.alert(), NEITHER);
    await assertNoUser(PHONE_POOL, 'nocontact');
  });

  test('phone pool: phone only → UNCONFIRMED, code texted, /confirm says so; the code confirms, verifies the phone and signs in', async (t) => {
    const { username, phone } = PHONE_ONLY;
    const b = await openBrowser(t, '127.0.0.1');
    const flow = await b.authorize(PHONE_CLIENT);
    await b.openSignup({ phoneField: true });
    await b.fillSignup({ username, phone });
    await b.expectConfirm(username, 'code_texted', TEXTED);
    await b.screenshot('confirm-texted');

    const pending = await adminUser(PHONE_POOL, username);
    assert.equal(pending.status, 'UNCONFIRMED');
    assert.equal(pending.phone_number, phone);
    assert.notEqual(pending.phone_number_verified, 'true', 'not verified before the code');
    assert.equal(pending.email, undefined, 'no email given, none stored');

    const code = await smsCode(phone, SMS_CONFIRMATION);
    assert.equal(smsMessages(phone).length, 1, 'one text to the phone');
    await b.enterConfirmation(code);
    const id = await b.redeemCallback(flow);
    assert.equal(id['cognito:username'], username);
    assert.equal(id.phone_number, phone);
    assert.equal(id.phone_number_verified, true, 'phone_number_verified in the ID token');

    const confirmed = await adminUser(PHONE_POOL, username);
    assert.equal(confirmed.status, 'CONFIRMED');
    assert.equal(confirmed.phone_number, phone);
    assert.equal(confirmed.phone_number_verified, 'true');
  });

  test('phone pool: email and phone → the code goes by text (nothing emailed); it verifies the phone, not the email', async (t) => {
    const { username, phone, email } = BOTH;
    const b = await openBrowser(t, '127.0.0.1');
    const flow = await b.authorize(PHONE_CLIENT);
    await b.openSignup({ phoneField: true });
    await b.fillSignup({ username, email, phone });
    await b.expectConfirm(username, 'code_texted', TEXTED);
    const pending = await adminUser(PHONE_POOL, username);
    assert.equal(pending.status, 'UNCONFIRMED');
    assert.equal(pending.email, email);
    assert.equal(pending.phone_number, phone);

    const code = await smsCode(phone, SMS_CONFIRMATION);
    await sleep(300);
    assert.deepEqual(outboxMessages(env.dir, email).map((m) => m.name), [], 'nothing emailed');
    await b.enterConfirmation(code);
    const id = await b.redeemCallback(flow);
    assert.equal(id['cognito:username'], username);
    assert.equal(id.phone_number, phone);
    assert.equal(id.phone_number_verified, true);
    assert.equal(id.email, email);
    // No email_verified claim, or false (the attribute may be absent): not true.
    assert.notEqual(id.email_verified, true, 'a texted code does not verify the email');

    const confirmed = await adminUser(PHONE_POOL, username);
    assert.equal(confirmed.status, 'CONFIRMED');
    assert.equal(confirmed.phone_number_verified, 'true');
    assert.notEqual(confirmed.email_verified, 'true');
  });

  test('phone pool: email only → the code is emailed (/confirm says so) and verifies the email', async (t) => {
    const username = 'mailonly';
    const email = 'mailonly@example.test';
    const b = await openBrowser(t, '127.0.0.1');
    const flow = await b.authorize(PHONE_CLIENT);
    await b.openSignup({ phoneField: true });
    const smsBefore = allSms().length;
    await b.fillSignup({ username, email, phone: '' });
    await b.expectConfirm(username, 'code_sent', EMAILED);
    const id = await confirmByEmail(b, flow, { username, email, smsBefore });
    assert.equal(id.phone_number, undefined);
    const confirmed = await adminUser(PHONE_POOL, username);
    assert.equal(confirmed.status, 'CONFIRMED');
    assert.equal(confirmed.email_verified, 'true');
    assert.equal(confirmed.phone_number, undefined);
  });

  test('phone pool: forgot password of a user whose phone is verified → reset code texted (nothing emailed), the new password signs in', async (t) => {
    const { username, phone, email } = BOTH;
    const b = await openBrowser(t, '127.0.0.1');
    const flow = await b.authorize(PHONE_CLIENT);
    await b.requestReset(username);
    assert.equal(await b.page.locator('#username').inputValue(), username);
    await b.screenshot('confirm-forgot');
    const code = await smsCode(phone, SMS_RESET);
    await sleep(300);
    assert.deepEqual(outboxMessages(env.dir, email).map((m) => m.name), [], 'nothing emailed');
    await b.resetTo(code);

    // The old password no longer works, the new one does.
    await b.signInWith(username, PASSWORD);
    await b.expectPage('/login', { status: 400 });
    await b.assertVisible(b.page.locator('[role=alert]'), '/login after the old password');
    await b.signInWith(username, NEW_PASSWORD);
    const id = await b.redeemCallback(flow);
    assert.equal(id['cognito:username'], username);
    assert.equal(id.phone_number_verified, true);
  });

  test('phone pool: forgot password of the phone-only user → reset code texted', async (t) => {
    const { username, phone } = PHONE_ONLY;
    const b = await openBrowser(t, '127.0.0.1');
    const flow = await b.authorize(PHONE_CLIENT);
    await b.requestReset(username);
    const code = await smsCode(phone, SMS_RESET);
    await b.resetTo(code);
    await b.signInWith(username, NEW_PASSWORD);
    const id = await b.redeemCallback(flow);
    assert.equal(id['cognito:username'], username);
    assert.equal(id.phone_number, phone);
  });

  test('email-only pool: /signup has no phone field, the code is emailed and /confirm says so', async (t) => {
    const username = 'emailpooluser';
    const email = 'emailpooluser@example.test';
    const b = await openBrowser(t, 'localhost');
    const flow = await b.authorize(EMAIL_CLIENT);
    await b.openSignup({ phoneField: false });
    await b.screenshot('signup-email-pool');
    const smsBefore = allSms().length;
    await b.fillSignup({ username, email });
    await b.expectConfirm(username, 'code_sent', EMAILED);
    await b.screenshot('confirm-emailed');
    await confirmByEmail(b, flow, { username, email, smsBefore });
    const confirmed = await adminUser(EMAIL_POOL, username);
    assert.equal(confirmed.status, 'CONFIRMED');
    assert.equal(confirmed.email_verified, 'true');
    await assertNoUser(PHONE_POOL, username);

    // Without an email the email-only pool refuses as before (it knows no phone numbers).
    const again = await openBrowser(t, 'localhost');
    await again.authorize(EMAIL_CLIENT);
    await again.openSignup({ phoneField: false });
    await again.fillSignup({ username: 'nomail', email: '' });
    await again.expectPage('/signup', { status: 400, heading: 'Sign up' });
    assert.equal(await again.alert(), 'Enter an email address: the confirmation code is sent there.');
    await assertNoUser(EMAIL_POOL, 'nomail');
  });
});
