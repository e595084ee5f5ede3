// Sign-in through the Cognito API with two real client libraries from npm, as apps use them:
// amazon-cognito-identity-js (its own SRP: USER_SRP_AUTH, PASSWORD_VERIFIER) and Amplify v6
// (aws-amplify/auth, SRP by default). The pool and its clients are made with the AWS SDK; the
// server runs with --accept-any-credentials, so the SDK signs with dummy keys. TOTP codes come
// from otplib, confirmation and reset codes from the development outbox. SQLite by default;
// USERPOOL_NODE_BACKEND=postgres runs it on a fresh PostgreSQL database.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as cognito from '@aws-sdk/client-cognito-identity-provider';
import CognitoIdentity from 'amazon-cognito-identity-js';
import { createPgDatabase, freePort, freshTotp, jwtPayload, outboxCode, startServer } from './harness.js';

const {
  AuthenticationDetails, CognitoUser, CognitoUserAttribute, CognitoUserPool,
} = CognitoIdentity;

const REGION = 'us-east-1';
const PASSWORD = 'Str0ng-Passw0rd!';
const FLOWS = ['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'];

let dir;
let server;
let pgDb;
let sdk;
let poolId;
let clientId;

const send = (op, input) => sdk.send(new cognito[`${op}Command`](input));


/** A confirmed user with a permanent password, made by the admin. */
async function confirmedUser(username, email, password = PASSWORD) {
  await send('AdminCreateUser', {
    UserPoolId: poolId, Username: username, MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: email }, { Name: 'email_verified', Value: 'true' }],
  });
  await send('AdminSetUserPassword', { UserPoolId: poolId, Username: username, Password: password, Permanent: true });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'userpool-sign-in-'));
  pgDb = process.env.USERPOOL_NODE_BACKEND === 'postgres' ? await createPgDatabase() : null;
  const database = pgDb?.url ?? `sqlite://${join(dir, 'db.sqlite')}`;
  const seedPath = join(dir, 'seed.json');
  writeFileSync(seedPath, JSON.stringify({ UserPools: [] }));
  for (let attempt = 0; ; attempt++) {
    try {
      server = await startServer({
        port: await freePort(), database, seedPath, masterKey: randomBytes(32).toString('base64'),
        extraArgs: ['--data-dir', dir, '--no-demo', '--accept-any-credentials'],
      });
      break;
    } catch (err) {
      if (attempt >= 2 || !/address (already )?in use/i.test(String(err.message))) throw err;
    }
  }
  sdk = new cognito.CognitoIdentityProviderClient({
    endpoint: server.url, region: REGION, maxAttempts: 1,
    credentials: { accessKeyId: 'AKIADUMMYDUMMYDUMMY0', secretAccessKey: 'dummy-secret' },
  });
  ({ UserPool: { Id: poolId } } = await send('CreateUserPool', {
    PoolName: 'client-libraries',
    UsernameConfiguration: { CaseSensitive: false },
    AutoVerifiedAttributes: ['email'],
  }));
  await send('SetUserPoolMfaConfig', {
    UserPoolId: poolId, MfaConfiguration: 'OPTIONAL', SoftwareTokenMfaConfiguration: { Enabled: true },
  });
  ({ UserPoolClient: { ClientId: clientId } } = await send('CreateUserPoolClient', {
    UserPoolId: poolId, ClientName: 'spa', ExplicitAuthFlows: FLOWS, PreventUserExistenceErrors: 'ENABLED',
  }));
});

after(async () => {
  sdk?.destroy();
  await server?.stop();
  await pgDb?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('amazon-cognito-identity-js', () => {
  let userPool;
  const userOf = (username) => new CognitoUser({ Username: username, Pool: userPool });

  /**
   * `authenticateUser` as a promise: resolves with { kind, session?, user, ... } for its
   * callbacks (onSuccess, newPasswordRequired, totpRequired, mfaSetup), rejects on onFailure.
   */
  function authenticate(user, password) {
    const details = new AuthenticationDetails({ Username: user.getUsername(), Password: password });
    return new Promise((resolve, reject) => {
      user.authenticateUser(details, {
        onSuccess: (session) => resolve({ kind: 'success', session }),
        onFailure: reject,
        newPasswordRequired: (userAttributes, requiredAttributes) =>
          resolve({ kind: 'newPasswordRequired', userAttributes, requiredAttributes }),
        totpRequired: (challengeName, challengeParameters) => resolve({ kind: 'totpRequired', challengeName, challengeParameters }),
        mfaSetup: (challengeName) => resolve({ kind: 'mfaSetup', challengeName }),
      });
    });
  }
  const promised = (fn) => new Promise((resolve, reject) => fn((err, result) => (err ? reject(err) : resolve(result))));

  before(() => {
    userPool = new CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint: `${server.url}/` });
  });

  test('SRP sign-in (USER_SRP_AUTH), wrong password, getUserAttributes, refreshSession', async () => {
    await confirmedUser('srpuser', 'srp@example.test');
    const user = userOf('srpuser');
    const signedIn = await authenticate(user, PASSWORD);
    assert.equal(signedIn.kind, 'success');
    const { session } = signedIn;
    assert.ok(session.isValid());
    assert.equal(session.getIdToken().decodePayload()['cognito:username'], 'srpuser');
    assert.equal(session.getAccessToken().decodePayload().client_id, clientId);

    await assert.rejects(authenticate(userOf('srpuser'), 'Wr0ng-Passw0rd!'), (e) => {
      assert.equal(e.code, 'NotAuthorizedException', e.message);
      assert.equal(e.message, 'Incorrect username or password.');
      return true;
    });
    await assert.rejects(authenticate(userOf('nobody'), PASSWORD), (e) => {
      assert.equal(e.code, 'NotAuthorizedException', `unknown names are hidden: ${e.message}`);
      return true;
    });

    const attributes = await promised((cb) => user.getUserAttributes(cb));
    const map = Object.fromEntries(attributes.map((a) => [a.getName(), a.getValue()]));
    assert.equal(map.email, 'srp@example.test');
    assert.match(map.sub, /^[0-9a-f-]{36}$/);

    const refreshed = await promised((cb) => user.refreshSession(session.getRefreshToken(), cb));
    assert.ok(refreshed.isValid());
    assert.equal(refreshed.getIdToken().decodePayload()['cognito:username'], 'srpuser');
    assert.equal(refreshed.getRefreshToken().getToken(), session.getRefreshToken().getToken(), 'no rotation');
  });

  test('newPasswordRequired → completeNewPasswordChallenge', async () => {
    await send('AdminCreateUser', {
      UserPoolId: poolId, Username: 'newbie', TemporaryPassword: 'Temp-Passw0rd', MessageAction: 'SUPPRESS',
      UserAttributes: [{ Name: 'email', Value: 'newbie@example.test' }, { Name: 'email_verified', Value: 'true' }],
    });
    const user = userOf('newbie');
    const first = await authenticate(user, 'Temp-Passw0rd');
    assert.equal(first.kind, 'newPasswordRequired');
    assert.equal(first.userAttributes.email, 'newbie@example.test');
    assert.deepEqual(first.requiredAttributes, []);
    const session = await new Promise((resolve, reject) => {
      user.completeNewPasswordChallenge(PASSWORD, {}, { onSuccess: resolve, onFailure: reject });
    });
    assert.ok(session.isValid());
    assert.equal(session.getIdToken().decodePayload()['cognito:username'], 'newbie');
    assert.equal((await authenticate(userOf('newbie'), PASSWORD)).kind, 'success');
  });

  test('TOTP: associateSoftwareToken, verifySoftwareToken, setUserMfaPreference, then totpRequired → sendMFACode', async () => {
    await confirmedUser('totpuser', 'totp@example.test');
    const user = userOf('totpuser');
    assert.equal((await authenticate(user, PASSWORD)).kind, 'success');
    const secret = await new Promise((resolve, reject) => {
      user.associateSoftwareToken({ associateSecretCode: resolve, onFailure: reject });
    });
    assert.match(secret, /^[A-Z2-7]+=*$/);
    const used = {};
    const verified = await new Promise((resolve, reject) => {
      freshTotp(secret, used).then((code) => user.verifySoftwareToken(code, 'phone', { onSuccess: resolve, onFailure: reject }));
    });
    assert.equal(verified.Status, 'SUCCESS');
    await promised((cb) => user.setUserMfaPreference(null, { Enabled: true, PreferredMfa: true }, cb));

    const next = userOf('totpuser');
    const challenged = await authenticate(next, PASSWORD);
    assert.equal(challenged.kind, 'totpRequired');
    assert.equal(challenged.challengeName, 'SOFTWARE_TOKEN_MFA');
    const session = await new Promise((resolve, reject) => {
      freshTotp(secret, used).then((code) => next.sendMFACode(code, { onSuccess: resolve, onFailure: reject }, 'SOFTWARE_TOKEN_MFA'));
    });
    assert.ok(session.isValid());
    assert.equal(session.getAccessToken().decodePayload().username, 'totpuser');

    const wrong = userOf('totpuser');
    assert.equal((await authenticate(wrong, PASSWORD)).kind, 'totpRequired');
    await assert.rejects(new Promise((resolve, reject) => {
      wrong.sendMFACode('00000' + String(Number(String(Date.now()).at(-1)) % 10), { onSuccess: resolve, onFailure: reject }, 'SOFTWARE_TOKEN_MFA');
    }), (e) => {
      assert.equal(e.code, 'CodeMismatchException', e.message);
      return true;
    });
  });

  test('globalSignOut: the access token is refused after', async () => {
    await confirmedUser('leaver', 'leaver@example.test');
    const user = userOf('leaver');
    const { session } = await authenticate(user, PASSWORD);
    await new Promise((resolve, reject) => user.globalSignOut({ onSuccess: resolve, onFailure: reject }));
    await assert.rejects(send('GetUser', { AccessToken: session.getAccessToken().getJwtToken() }), (e) => {
      assert.equal(e.name, 'NotAuthorizedException');
      assert.equal(e.message, 'Access Token has been revoked');
      return true;
    });
    await assert.rejects(promised((cb) => userOf('leaver').refreshSession(session.getRefreshToken(), cb)), (e) => {
      assert.equal(e.code, 'NotAuthorizedException', e.message);
      return true;
    });
  });

  test('signUp → confirmRegistration (code from the outbox), wrong code refused', async () => {
    const email = 'signer@example.test';
    const result = await promised((cb) => userPool.signUp('signer', PASSWORD,
      [new CognitoUserAttribute({ Name: 'email', Value: email })], null, cb));
    assert.equal(result.userConfirmed, false);
    assert.match(result.userSub, /^[0-9a-f-]{36}$/);
    assert.equal(result.codeDeliveryDetails.DeliveryMedium, 'EMAIL');
    const code = await outboxCode(dir, email);
    const user = userOf('signer');
    await assert.rejects(promised((cb) => user.confirmRegistration(code === '000000' ? '111111' : '000000', true, cb)), (e) => {
      assert.equal(e.code, 'CodeMismatchException', e.message);
      return true;
    });
    assert.equal(await promised((cb) => user.confirmRegistration(code, true, cb)), 'SUCCESS');
    assert.equal((await authenticate(userOf('signer'), PASSWORD)).kind, 'success');
  });

  test('forgotPassword → confirmPassword (code from the outbox)', async () => {
    await confirmedUser('forgetful', 'forgetful@example.test');
    const user = userOf('forgetful');
    const sent = await new Promise((resolve, reject) => {
      user.forgotPassword({ onSuccess: resolve, onFailure: reject, inputVerificationCode: resolve });
    });
    assert.equal(sent.CodeDeliveryDetails.Destination, 'f***@e***');
    const code = await outboxCode(dir, 'forgetful@example.test', { pattern: /reset code is (\d{6})\b/ });
    await assert.rejects(new Promise((resolve, reject) => {
      user.confirmPassword(code === '000000' ? '111111' : '000000', 'N3w-Passw0rd!!', { onSuccess: resolve, onFailure: reject });
    }), (e) => {
      assert.equal(e.code, 'CodeMismatchException', e.message);
      return true;
    });
    await new Promise((resolve, reject) => {
      user.confirmPassword(code, 'N3w-Passw0rd!!', { onSuccess: resolve, onFailure: reject });
    });
    await assert.rejects(authenticate(userOf('forgetful'), PASSWORD), (e) => e.code === 'NotAuthorizedException');
    assert.equal((await authenticate(userOf('forgetful'), 'N3w-Passw0rd!!')).kind, 'success');
  });
});

// Remembered devices, as amazon-cognito-identity-js does them by itself: a pool with a
// DeviceConfiguration, a user with TOTP. The first sign-in passes TOTP and gets
// NewDeviceMetadata, which the library confirms (ConfirmDevice with its own SRP verifier) and
// keeps in its storage; the user remembers the device; the next sign-in with that storage
// proves the device (DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER) instead of TOTP.
describe('amazon-cognito-identity-js: remembered devices', () => {
  const USER = 'deviceuser';
  let devicePoolId;
  let deviceClientId;
  let secret;
  const used = {};

  /** The Storage the library takes (getItem/setItem/removeItem/clear) over a plain object. */
  class MemoryStorage {
    constructor() { this.items = {}; }
    setItem(key, value) { this.items[key] = String(value); return this.items[key]; }
    getItem(key) { return Object.hasOwn(this.items, key) ? this.items[key] : null; }
    removeItem(key) { return delete this.items[key]; }
    clear() { this.items = {}; return this.items; }
  }

  /**
   * The user on a new CognitoUserPool over `storage` (the pool's and the user's: the library
   * keeps tokens and the device's keys there), whose requests (operation, input, answer or
   * error) are recorded in `calls`.
   */
  function userOn(storage, calls = []) {
    const pool = new CognitoUserPool({
      UserPoolId: devicePoolId, ClientId: deviceClientId, endpoint: `${server.url}/`, Storage: storage,
    });
    const request = pool.client.request.bind(pool.client);
    pool.client.request = (op, params, callback) => request(op, params, (err, data) => {
      calls.push({ op, params, data, err });
      callback(err, data);
    });
    return new CognitoUser({ Username: USER, Pool: pool, Storage: storage });
  }

  /** authenticateUser, then the TOTP step if asked: { session, totp, userConfirmationNecessary }. */
  function signIn(user) {
    const details = new AuthenticationDetails({ Username: USER, Password: PASSWORD });
    return new Promise((resolve, reject) => {
      let totp = false;
      const callbacks = {
        onSuccess: (session, userConfirmationNecessary) => resolve({ session, totp, userConfirmationNecessary }),
        onFailure: reject,
        totpRequired: (challengeName) => {
          totp = true;
          assert.equal(challengeName, 'SOFTWARE_TOKEN_MFA');
          freshTotp(secret, used).then((code) => user.sendMFACode(code, callbacks, 'SOFTWARE_TOKEN_MFA'), reject);
        },
        mfaRequired: () => reject(new Error('SMS MFA asked')),
        mfaSetup: () => reject(new Error('MFA set-up asked')),
        newPasswordRequired: () => reject(new Error('a new password asked')),
      };
      user.authenticateUser(details, callbacks);
    });
  }
  const callback = (fn) => new Promise((resolve, reject) => fn({ onSuccess: resolve, onFailure: reject }));
  const attrsOf = (device) => Object.fromEntries(device.DeviceAttributes.map((a) => [a.Name, a.Value]));
  const deviceKeyItem = () => `CognitoIdentityServiceProvider.${deviceClientId}.${USER}.deviceKey`;

  before(async () => {
    ({ UserPool: { Id: devicePoolId } } = await send('CreateUserPool', {
      PoolName: 'remembered-devices',
      DeviceConfiguration: { ChallengeRequiredOnNewDevice: true, DeviceOnlyRememberedOnUserPrompt: true },
    }));
    await send('SetUserPoolMfaConfig', {
      UserPoolId: devicePoolId, MfaConfiguration: 'OPTIONAL', SoftwareTokenMfaConfiguration: { Enabled: true },
    });
    ({ UserPoolClient: { ClientId: deviceClientId } } = await send('CreateUserPoolClient', {
      UserPoolId: devicePoolId, ClientName: 'spa', ExplicitAuthFlows: FLOWS,
    }));
    await send('AdminCreateUser', {
      UserPoolId: devicePoolId, Username: USER, MessageAction: 'SUPPRESS',
      UserAttributes: [{ Name: 'email', Value: 'device@example.test' }, { Name: 'email_verified', Value: 'true' }],
    });
    await send('AdminSetUserPassword', { UserPoolId: devicePoolId, Username: USER, Password: PASSWORD, Permanent: true });

    // TOTP set up from a throwaway browser (its own storage), whose device is then forgotten.
    const setup = userOn(new MemoryStorage());
    const first = await signIn(setup);
    assert.equal(first.totp, false, 'no TOTP yet');
    secret = await new Promise((resolve, reject) => {
      setup.associateSoftwareToken({ associateSecretCode: resolve, onFailure: reject });
    });
    const code = await freshTotp(secret, used);
    const verified = await new Promise((resolve, reject) => {
      setup.verifySoftwareToken(code, 'phone', { onSuccess: resolve, onFailure: reject });
    });
    assert.equal(verified.Status, 'SUCCESS');
    await new Promise((resolve, reject) => setup.setUserMfaPreference(null, { Enabled: true, PreferredMfa: true },
      (err, result) => (err ? reject(err) : resolve(result))));
    const { Devices: made } = await send('AdminListDevices', { UserPoolId: devicePoolId, Username: USER });
    for (const d of made) await send('AdminForgetDevice', { UserPoolId: devicePoolId, Username: USER, DeviceKey: d.DeviceKey });
  });

  after(async () => {
    if (devicePoolId) await send('DeleteUserPool', { UserPoolId: devicePoolId }).catch(() => {});
  });

  const storage = new MemoryStorage();
  let user;
  let userCalls;
  let deviceKey;

  /** What went by in `calls`: [operation, challenge or flow, DEVICE_KEY sent, challenge answered, error]. */
  const trace = (calls) => JSON.stringify(calls.map((c) => [
    c.op, c.params.ChallengeName ?? c.params.AuthFlow,
    c.params.AuthParameters?.DEVICE_KEY ?? c.params.ChallengeResponses?.DEVICE_KEY, c.data?.ChallengeName, c.err?.message,
  ]));

  /** A sign-in that proves the remembered device instead of TOTP. */
  function assertDeviceSignIn(signedIn, calls) {
    assert.equal(signedIn.totp, false, `a remembered device stands in for TOTP: ${trace(calls)}`);
    const challenges = calls.filter((c) => c.op === 'RespondToAuthChallenge').map((c) => c.params.ChallengeName);
    assert.deepEqual(challenges, ['PASSWORD_VERIFIER', 'DEVICE_SRP_AUTH', 'DEVICE_PASSWORD_VERIFIER'], trace(calls));
    assert.ok(!calls.some((c) => c.op === 'ConfirmDevice'), 'no new device');
    assert.equal(signedIn.session.getAccessToken().decodePayload().device_key, deviceKey);
    assert.equal(signedIn.session.getIdToken().decodePayload()['cognito:username'], USER);
    assert.equal(storage.getItem(deviceKeyItem()), deviceKey, 'the library still holds the same device');
  }

  test('a new device: totpRequired, then the library confirms it (ConfirmDevice), setDeviceStatusRemembered, getDevice, listDevices', async () => {
    userCalls = [];
    user = userOn(storage, userCalls);
    const first = await signIn(user);
    assert.equal(first.totp, true, 'a new device passes TOTP');
    assert.equal(first.userConfirmationNecessary, true, 'DeviceOnlyRememberedOnUserPrompt: the user is asked');
    const confirm = userCalls.find((c) => c.op === 'ConfirmDevice');
    assert.ok(confirm && !confirm.err, `ConfirmDevice called and answered: ${confirm?.err?.message}`);
    deviceKey = storage.getItem(deviceKeyItem());
    assert.ok(deviceKey, `the library keeps the device key: ${JSON.stringify(Object.keys(storage.items))}`);
    assert.equal(confirm.params.DeviceKey, deviceKey);
    assert.ok(storage.getItem(`CognitoIdentityServiceProvider.${deviceClientId}.${USER}.deviceGroupKey`));
    assert.ok(storage.getItem(`CognitoIdentityServiceProvider.${deviceClientId}.${USER}.randomPasswordKey`));
    assert.equal(first.session.getAccessToken().decodePayload().device_key, deviceKey);

    assert.equal(await callback((cb) => user.setDeviceStatusRemembered(cb)), 'SUCCESS');
    const { Device: device } = await callback((cb) => user.getDevice(cb));
    assert.equal(device.DeviceKey, deviceKey);
    assert.equal(attrsOf(device).device_remembered_status, 'remembered');
    assert.equal(attrsOf(device).device_name, confirm.params.DeviceName, 'named as the library named it');
    const { Devices: listed } = await callback((cb) => user.listDevices(10, null, cb));
    assert.deepEqual(listed.map((d) => d.DeviceKey), [deviceKey]);
  });

  test('the same CognitoUser signs in again: DEVICE_KEY in InitiateAuth, DEVICE_SRP_AUTH, no TOTP', async () => {
    userCalls.length = 0;
    const again = await signIn(user);
    assert.equal(userCalls.find((c) => c.op === 'InitiateAuth').params.AuthParameters.DEVICE_KEY, deviceKey);
    assertDeviceSignIn(again, userCalls);
  });

  // After a reload: a new CognitoUser (and pool object) over the same storage. The library
  // reads the device from its storage only after InitiateAuth (USER_ID_FOR_SRP may rename the
  // user), so DEVICE_KEY goes in PASSWORD_VERIFIER's ChallengeResponses, as Cognito documents.
  test('a new CognitoUser over the same storage: DEVICE_KEY with PASSWORD_VERIFIER, DEVICE_SRP_AUTH, no TOTP', async () => {
    const calls = [];
    const reloaded = await signIn(userOn(storage, calls));
    const verifier = calls.find((c) => c.op === 'RespondToAuthChallenge' && c.params.ChallengeName === 'PASSWORD_VERIFIER');
    assert.equal(verifier.params.ChallengeResponses.DEVICE_KEY, deviceKey);
    assertDeviceSignIn(reloaded, calls);
  });

  test('forgetDevice: the library drops its keys, the server the device, and TOTP is asked again', async () => {
    const forgotten = deviceKey;
    assert.equal(user.deviceKey, forgotten);
    assert.equal(await callback((cb) => user.forgetDevice(cb)), 'SUCCESS');
    assert.equal(storage.getItem(deviceKeyItem()), null);
    const { Devices: left } = await send('AdminListDevices', { UserPoolId: devicePoolId, Username: USER });
    assert.deepEqual(left.map((d) => d.DeviceKey).filter((k) => k === forgotten), []);
    const calls = [];
    const third = await signIn(userOn(storage, calls));
    assert.equal(third.totp, true, `TOTP again once the device is forgotten: ${trace(calls)}`);
    const newKey = third.session.getAccessToken().decodePayload().device_key;
    assert.ok(newKey && newKey !== forgotten, 'a new device');
    assert.equal(storage.getItem(deviceKeyItem()), newKey);
  });
});

describe('Amplify v6 (aws-amplify/auth)', () => {
  test('signUp → confirmSignUp → signIn (SRP) → fetchAuthSession → signOut({ global: true })', async () => {
    const { Amplify } = await import('aws-amplify');
    const {
      signUp, confirmSignUp, signIn, fetchAuthSession, signOut, getCurrentUser,
    } = await import('aws-amplify/auth');
    Amplify.configure({
      Auth: { Cognito: { userPoolId: poolId, userPoolClientId: clientId, userPoolEndpoint: server.url } },
    });
    const email = 'amplify@example.test';
    const signedUp = await signUp({ username: 'amplifier', password: PASSWORD, options: { userAttributes: { email } } });
    assert.equal(signedUp.isSignUpComplete, false);
    assert.equal(signedUp.nextStep.signUpStep, 'CONFIRM_SIGN_UP');
    const code = await outboxCode(dir, email);
    const confirmed = await confirmSignUp({ username: 'amplifier', confirmationCode: code });
    assert.equal(confirmed.isSignUpComplete, true);

    const signedIn = await signIn({ username: 'amplifier', password: PASSWORD });
    assert.equal(signedIn.isSignedIn, true, JSON.stringify(signedIn.nextStep));
    assert.equal(signedIn.nextStep.signInStep, 'DONE');
    const current = await getCurrentUser();
    assert.equal(current.username, 'amplifier');

    const { tokens } = await fetchAuthSession();
    assert.ok(tokens?.accessToken && tokens?.idToken, 'tokens present');
    assert.equal(tokens.idToken.payload['cognito:username'], 'amplifier');
    assert.equal(jwtPayload(tokens.accessToken.toString()).client_id, clientId);
    const accessToken = tokens.accessToken.toString();

    await signOut({ global: true });
    await assert.rejects(send('GetUser', { AccessToken: accessToken }), (e) => {
      assert.equal(e.name, 'NotAuthorizedException');
      assert.equal(e.message, 'Access Token has been revoked');
      return true;
    });
    await assert.rejects(getCurrentUser(), (e) => e.name === 'UserUnAuthenticatedException');
  });
});
