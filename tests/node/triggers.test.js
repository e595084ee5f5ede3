// Cognito Lambda triggers, black-box: the server runs with --lambda-endpoint pointing at an
// in-process stand-in for Lambda's Invoke API (lambda-host.js, which checks the SigV4 signature
// of every call and runs the handlers of tests/node/lambda/ with lambda-local) and with a webhook
// secret for the triggers configured as URLs. Each test asserts on the events the functions
// received and on what the server did with the answers: users confirmed or absent, tokens with
// or without claims, messages in the development outbox, errors as the AWS SDK names them.
// Clients: @aws-sdk/client-cognito-identity-provider, amazon-cognito-identity-js, Amplify v6,
// aws-jwt-verify, the managed-login pages through the harness and plain fetch (their forms), and
// federation with a real OpenID Provider (oidc-provider, idp.js) whose development login and
// consent forms are posted with fetch and a cookie jar (no browser). One server for the file;
// SQLite by default, a fresh PostgreSQL database with USERPOOL_NODE_BACKEND=postgres.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import * as cognito from '@aws-sdk/client-cognito-identity-provider';
import CognitoIdentity from 'amazon-cognito-identity-js';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import {
  CookieJar, createPgDatabase, freePort, jwtPayload, outboxCode, outboxMessages, pkcePair, signIn, startServer,
} from './harness.js';
import { startIdp } from './idp.js';
import { startLambdaHost } from './lambda-host.js';
import * as createAuthChallenge from './lambda/createAuthChallenge.js';
import * as customEmailSender from './lambda/customEmailSender.js';
import * as customMessage from './lambda/customMessage.js';
import * as defineAuthChallenge from './lambda/defineAuthChallenge.js';
import * as misbehave from './lambda/misbehave.js';
import * as postAuthentication from './lambda/postAuthentication.js';
import * as postConfirmation from './lambda/postConfirmation.js';
import * as preAuthentication from './lambda/preAuthentication.js';
import * as preSignUp from './lambda/preSignUp.js';
import * as preTokenGeneration from './lambda/preTokenGeneration.js';
import * as preTokenGenerationV1 from './lambda/preTokenGenerationV1.js';
import * as smsCustomMessage from './lambda/sms-customMessage.js';
import * as smsSender from './lambda/sms-customSmsSender.js';
import * as userMigration from './lambda/userMigration.js';
import * as verifyAuthChallenge from './lambda/verifyAuthChallenge.js';

const { AuthenticationDetails, CognitoUser, CognitoUserPool } = CognitoIdentity;

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const PASSWORD = 'Str0ng-Passw0rd!';
const NEW_PASSWORD = 'N3w-Str0ng-Passw0rd!';
const FLOWS = ['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'];
const MAIN_POOL = 'us-east-1_Triggers1';
const WEB_CLIENT = 'trigweb0000000000000000001';
const M2M_CLIENT = 'trigm2m0000000000000000001';
const M2M_SECRET = `m2msecret${randomBytes(16).toString('hex')}`;
const API_SCOPE = 'https://api.test/read';
const REDIRECT_URI = 'http://localhost:3000/cb';
// What the server signs its Invoke calls with, and what the host checks them against.
const LAMBDA_KEY = { accessKeyId: 'AKIATRIGGERTESTS0001', secretAccessKey: randomBytes(24).toString('base64') };
const WEBHOOK_SECRET = `whsec-${randomBytes(16).toString('hex')}`;
const CLIENT_ID_NOT_APPLICABLE = 'CLIENT_ID_NOT_APPLICABLE';
// The operator's key that seals codes for custom senders, shared with the sender function.
const CODE_KEY_HEX = randomBytes(32).toString('hex');
const CODE_KEY_NAME = 'arn:aws:kms:us-east-1:123456789012:key/codes';
globalThis.CODE_KEY_HEX = CODE_KEY_HEX;
globalThis.CODE_KEY_NAME = CODE_KEY_NAME;

const arn = (name) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

let dir;
let server;
let pgDb;
let host;
let sdk;
// Pools made through the API, with their app client: { poolId, clientId }.
const pools = {};

const send = (op, input) => sdk.send(new cognito[`${op}Command`](input));
const attrs = (pairs) => Object.entries(pairs).map(([Name, Value]) => ({ Name, Value }));
const asMap = (list) => Object.fromEntries((list ?? []).map((a) => [a.Name, a.Value]));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const unique = (prefix) => `${prefix}${randomBytes(4).toString('hex')}`;

/** The invocations recorded with `triggerSource` (optionally for `userName`), oldest first. */
const eventsOf = (source, userName) => host.calls()
  .filter((c) => c.event.triggerSource === source && (userName === undefined || c.event.userName === userName));
/** The one event of `source` for `userName`; fails unless exactly one came. */
function theEvent(source, userName) {
  const found = eventsOf(source, userName);
  assert.equal(found.length, 1, `one ${source} for ${userName}; got: ${trace()}`);
  return found[0].event;
}
/** What reached the host, for failure messages: [function, triggerSource, userName]. */
const trace = () => JSON.stringify(host.calls().map((c) => [c.functionName, c.event.triggerSource, c.event.userName]));

/** The common members of a Cognito trigger event. */
function assertEnvelope(event, { source, poolId = MAIN_POOL, userName, clientId, version = '1' }) {
  assert.equal(event.triggerSource, source);
  assert.equal(event.version, version, `${source}: version`);
  assert.equal(event.region, REGION);
  assert.equal(event.userPoolId, poolId);
  if (userName !== undefined) assert.equal(event.userName, userName);
  assert.equal(typeof event.callerContext?.awsSdkVersion, 'string', `${source}: callerContext.awsSdkVersion`);
  if (clientId !== undefined) assert.equal(event.callerContext.clientId, clientId, `${source}: callerContext.clientId`);
  assert.equal(typeof event.request, 'object');
  assert.equal(typeof event.response, 'object');
}

/** Fails unless `promise` rejects with the SDK error `name` (and a message matching `message`). */
async function refusedWith(promise, name, message) {
  let error;
  await assert.rejects(promise, (e) => { error = e; return true; });
  assert.equal(error.name ?? error.code, name, `${error.name ?? error.code}: ${error.message}`);
  if (message instanceof RegExp) assert.match(error.message, message);
  else if (message !== undefined) assert.equal(error.message, message);
  return error;
}

async function assertNoUser(poolId, username) {
  await refusedWith(send('AdminGetUser', { UserPoolId: poolId, Username: username }), 'UserNotFoundException');
}

/** A confirmed user with a permanent password, made by the admin (no message). */
async function confirmedUser(poolId, username, email, extra = {}) {
  await send('AdminCreateUser', {
    UserPoolId: poolId, Username: username, MessageAction: 'SUPPRESS',
    UserAttributes: attrs({ email, email_verified: 'true', ...extra }),
  });
  await send('AdminSetUserPassword', { UserPoolId: poolId, Username: username, Password: PASSWORD, Permanent: true });
}

const passwordAuth = (clientId, username, password = PASSWORD, ClientMetadata) => send('InitiateAuth', {
  ClientId: clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: username, PASSWORD: password },
  ClientMetadata,
});

/** amazon-cognito-identity-js's authenticateUser (SRP) as a promise: resolves with the session. */
function srpSignIn(poolId, clientId, username, password = PASSWORD) {
  const pool = new CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint: `${server.url}/` });
  const user = new CognitoUser({ Username: username, Pool: pool });
  return new Promise((resolve, reject) => {
    user.authenticateUser(new AuthenticationDetails({ Username: username, Password: password }), {
      onSuccess: resolve,
      onFailure: reject,
      newPasswordRequired: () => reject(new Error('newPasswordRequired')),
      customChallenge: () => reject(new Error('customChallenge')),
    });
  });
}

/** The authorization-code flow through the managed-login pages: the token endpoint's JSON. */
async function hostedSignIn(username, password = PASSWORD) {
  const { verifier, challenge } = pkcePair();
  const authorize = new URL('/oauth2/authorize', server.url);
  authorize.search = new URLSearchParams({
    response_type: 'code', client_id: WEB_CLIENT, redirect_uri: REDIRECT_URI, scope: 'openid email profile',
    state: 'st', code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();
  const { callbackUrl } = await signIn(authorize, { username, password, jar: new CookieJar() });
  const code = callbackUrl.searchParams.get('code');
  assert.ok(code, `no code in ${callbackUrl}`);
  const res = await fetch(new URL('/oauth2/token', server.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', client_id: WEB_CLIENT, code, redirect_uri: REDIRECT_URI, code_verifier: verifier,
    }),
  });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

/** A CognitoJwtVerifier for `poolId` that uses the JWKS fetched from this server (never AWS). */
async function verifierFor(poolId, props) {
  const res = await fetch(`${server.url}/${poolId}/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  const verifier = CognitoJwtVerifier.create({ userPoolId: poolId, ...props });
  verifier.cacheJwks(await res.json());
  return verifier;
}

function mainSeed(port) {
  return {
    UserPools: [{
      Id: MAIN_POOL,
      PoolName: 'triggers',
      UsernameConfiguration: { CaseSensitive: false },
      AutoVerifiedAttributes: ['email'],
      Domains: [{ Domain: `127.0.0.1:${port}` }],
      ResourceServers: [{ Identifier: 'https://api.test', Name: 'api', Scopes: [{ ScopeName: 'read', ScopeDescription: 'r' }] }],
      LambdaConfig: {
        PreSignUp: arn('preSignUp'),
        PostConfirmation: arn('postConfirmation'),
        PreAuthentication: arn('preAuthentication'),
        PostAuthentication: arn('postAuthentication'),
        CustomMessage: arn('customMessage'),
        UserMigration: arn('userMigration'),
        PreTokenGenerationConfig: { LambdaVersion: 'V3_0', LambdaArn: arn('preTokenGeneration') },
      },
      Clients: [
        {
          ClientName: 'web',
          ClientId: WEB_CLIENT,
          ExplicitAuthFlows: FLOWS,
          AllowedOAuthFlowsUserPoolClient: true,
          AllowedOAuthFlows: ['code'],
          AllowedOAuthScopes: ['openid', 'email', 'profile'],
          CallbackURLs: [REDIRECT_URI],
          SupportedIdentityProviders: ['COGNITO'],
        },
        {
          ClientName: 'm2m',
          ClientId: M2M_CLIENT,
          ClientSecret: M2M_SECRET,
          AllowedOAuthFlowsUserPoolClient: true,
          AllowedOAuthFlows: ['client_credentials'],
          AllowedOAuthScopes: [API_SCOPE],
        },
      ],
      Groups: [{ GroupName: 'staff' }],
    }],
  };
}

/** A pool made through the API with `LambdaConfig` and one public client. */
async function apiPool(key, LambdaConfig, { flows = FLOWS, extra = {} } = {}) {
  const { UserPool: { Id: poolId } } = await send('CreateUserPool', {
    PoolName: `triggers-${key}`, UsernameConfiguration: { CaseSensitive: false }, AutoVerifiedAttributes: ['email'],
    LambdaConfig, ...extra,
  });
  const { UserPoolClient: { ClientId: clientId } } = await send('CreateUserPoolClient', {
    UserPoolId: poolId, ClientName: key, ExplicitAuthFlows: flows,
  });
  pools[key] = { poolId, clientId };
  const { UserPool: described } = await send('DescribeUserPool', { UserPoolId: poolId });
  assert.deepEqual(Object.keys(described.LambdaConfig ?? {}).sort(), Object.keys(LambdaConfig).sort(),
    `${key}: the LambdaConfig is kept as given`);
}

before(async () => {
  host = await startLambdaHost({
    ...LAMBDA_KEY,
    webhookSecret: WEBHOOK_SECRET,
    functions: {
      preSignUp, postConfirmation, preAuthentication, postAuthentication, customMessage, preTokenGeneration,
      preTokenGenerationV1, defineAuthChallenge, createAuthChallenge, verifyAuthChallenge, userMigration,
      customEmailSender, smsCustomMessage, smsSender,
      misbehave: { module: misbehave, timeoutMs: 15_000 },
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'userpool-triggers-'));
  pgDb = process.env.USERPOOL_NODE_BACKEND === 'postgres' ? await createPgDatabase() : null;
  const database = pgDb?.url ?? `sqlite://${join(dir, 'db.sqlite')}`;
  const seedPath = join(dir, 'seed.json');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    writeFileSync(seedPath, JSON.stringify(mainSeed(port), null, 2));
    try {
      server = await startServer({
        port, database, seedPath, masterKey: randomBytes(32).toString('base64'), awsIssuers: true,
        extraArgs: [
          '--data-dir', dir, '--no-demo', '--accept-any-credentials',
          '--lambda-endpoint', host.url,
          '--lambda-access-key-id', LAMBDA_KEY.accessKeyId,
          '--lambda-secret-access-key', LAMBDA_KEY.secretAccessKey,
          '--trigger-webhook-secret', WEBHOOK_SECRET,
          '--custom-sender-key', CODE_KEY_HEX,
        ],
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
  await apiPool('v1', { PreTokenGenerationConfig: { LambdaVersion: 'V1_0', LambdaArn: arn('preTokenGenerationV1') } });
  await apiPool('v2', { PreTokenGenerationConfig: { LambdaVersion: 'V2_0', LambdaArn: arn('preTokenGeneration') } });
  await apiPool('custom', {
    PreAuthentication: arn('preAuthentication'),
    DefineAuthChallenge: arn('defineAuthChallenge'),
    CreateAuthChallenge: arn('createAuthChallenge'),
    VerifyAuthChallengeResponse: arn('verifyAuthChallenge'),
  }, { flows: ['ALLOW_CUSTOM_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] });
  await apiPool('migration', { UserMigration: arn('userMigration') });
  await apiPool('failures', { PreSignUp: arn('misbehave'), PreAuthentication: arn('misbehave') });
  await apiPool('webhooks', {
    PreSignUp: `${host.url}/webhook/preSignUp`,
    PreTokenGenerationConfig: { LambdaVersion: 'V2_0', LambdaArn: `${host.url}/webhook/preTokenGeneration` },
  });
  await apiPool('mfa', { CustomMessage: arn('customMessage') });
  await apiPool('sender', {
    CustomEmailSender: { LambdaVersion: 'V1_0', LambdaArn: arn('customEmailSender') },
    KMSKeyID: CODE_KEY_NAME,
  });
  await apiPool('devices', {
    PostAuthentication: arn('postAuthentication'),
    PreTokenGenerationConfig: { LambdaVersion: 'V3_0', LambdaArn: arn('preTokenGeneration') },
  }, { extra: { DeviceConfiguration: { ChallengeRequiredOnNewDevice: false, DeviceOnlyRememberedOnUserPrompt: true } } });
  await send('SetUserPoolMfaConfig', {
    UserPoolId: pools.mfa.poolId, MfaConfiguration: 'ON',
    EmailMfaConfiguration: { Subject: 'Your code', Message: 'Sign-in code: {####}' },
  });
  // Email MFA for the users who turn it on: the sender's CustomEmailSender_Authentication.
  await send('SetUserPoolMfaConfig', {
    UserPoolId: pools.sender.poolId, MfaConfiguration: 'OPTIONAL',
    EmailMfaConfiguration: { Subject: 'Your code', Message: 'Sign-in code: {####}' },
  });
});

after(async () => {
  sdk?.destroy();
  await server?.stop();
  await host?.close();
  await pgDb?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => host?.clear());

// Every call the server made was signed for Lambda with its key (the host refuses others with
// 403, which would have failed the operation); this checks that they also went where configured.
function assertAllVia(via) {
  assert.ok(host.calls().length > 0, 'the server called out');
  for (const c of host.calls()) assert.equal(c.via, via, `${c.functionName} by ${c.via}`);
}

describe('PreSignUp', () => {
  test('PreSignUp_SignUp: autoConfirmUser + autoVerifyEmail → CONFIRMED, email_verified, no code mailed; validationData and clientMetadata reach the event', async () => {
    const username = unique('trusted');
    const email = `${username}@trusted.example`;
    const out = await send('SignUp', {
      ClientId: WEB_CLIENT, Username: username, Password: PASSWORD, UserAttributes: attrs({ email, name: 'Tru Sted' }),
      ValidationData: attrs({ invite: 'ABC-123' }), ClientMetadata: { campaign: 'spring' },
    });
    assert.equal(out.UserConfirmed, true);
    assert.equal(out.CodeDeliveryDetails, undefined, 'no code to deliver');
    assert.match(out.UserSub, /^[0-9a-f-]{36}$/);

    const event = theEvent('PreSignUp_SignUp', username);
    assertEnvelope(event, { source: 'PreSignUp_SignUp', userName: username, clientId: WEB_CLIENT });
    assert.equal(event.request.userAttributes.email, email);
    assert.equal(event.request.userAttributes.name, 'Tru Sted');
    assert.deepEqual(event.request.validationData, { invite: 'ABC-123' });
    assert.deepEqual(event.request.clientMetadata, { campaign: 'spring' });
    assert.deepEqual(event.response, { autoConfirmUser: false, autoVerifyEmail: false, autoVerifyPhone: false });

    const user = await send('AdminGetUser', { UserPoolId: MAIN_POOL, Username: username });
    assert.equal(user.UserStatus, 'CONFIRMED');
    assert.equal(asMap(user.UserAttributes).email_verified, 'true');
    assert.equal(eventsOf('CustomMessage_SignUp', username).length, 0, 'no confirmation message composed');
    await sleep(300);
    assert.deepEqual(outboxMessages(dir, email), [], 'no code mailed');
    // Confirmed: the user signs in at once.
    const signedIn = await passwordAuth(WEB_CLIENT, username);
    assert.ok(signedIn.AuthenticationResult?.AccessToken);
  });

  test('a thrown error refuses the sign-up: UserLambdaValidationException "PreSignUp failed with error …", no user', async () => {
    const username = unique('blocked');
    await refusedWith(send('SignUp', {
      ClientId: WEB_CLIENT, Username: username, Password: PASSWORD, UserAttributes: attrs({ email: `${username}@blocked.example` }),
    }), 'UserLambdaValidationException', 'PreSignUp failed with error Sign-ups from blocked.example are closed.');
    assert.equal(theEvent('PreSignUp_SignUp', username).request.userAttributes.email, `${username}@blocked.example`);
    await assertNoUser(MAIN_POOL, username);
    assert.equal(eventsOf('CustomMessage_SignUp').length, 0);
  });

  test('PreSignUp_AdminCreateUser from AdminCreateUser (clientMetadata, no app client); a refusal leaves no user', async () => {
    const username = unique('admin');
    await send('AdminCreateUser', {
      UserPoolId: MAIN_POOL, Username: username, MessageAction: 'SUPPRESS',
      UserAttributes: attrs({ email: `${username}@example.test` }), ClientMetadata: { createdBy: 'ops' },
    });
    const event = theEvent('PreSignUp_AdminCreateUser', username);
    assertEnvelope(event, { source: 'PreSignUp_AdminCreateUser', userName: username, clientId: CLIENT_ID_NOT_APPLICABLE });
    assert.equal(event.request.userAttributes.email, `${username}@example.test`);
    assert.deepEqual(event.request.clientMetadata, { createdBy: 'ops' });
    assert.equal((await send('AdminGetUser', { UserPoolId: MAIN_POOL, Username: username })).UserStatus, 'FORCE_CHANGE_PASSWORD');

    const refused = unique('admin');
    await refusedWith(send('AdminCreateUser', {
      UserPoolId: MAIN_POOL, Username: refused, MessageAction: 'SUPPRESS', UserAttributes: attrs({ email: `${refused}@blocked.example` }),
    }), 'UserLambdaValidationException', 'PreSignUp failed with error Sign-ups from blocked.example are closed.');
    await assertNoUser(MAIN_POOL, refused);
  });
});

describe('PostConfirmation', () => {
  test('PostConfirmation_ConfirmSignUp from ConfirmSignUp (code from the outbox) and from AdminConfirmSignUp', async () => {
    const username = unique('conf');
    const email = `${username}@example.test`;
    const out = await send('SignUp', { ClientId: WEB_CLIENT, Username: username, Password: PASSWORD, UserAttributes: attrs({ email }) });
    assert.equal(out.UserConfirmed, false);
    assert.equal(eventsOf('PostConfirmation_ConfirmSignUp').length, 0, 'not before the confirmation');
    const code = await outboxCode(dir, email);
    await send('ConfirmSignUp', { ClientId: WEB_CLIENT, Username: username, ConfirmationCode: code, ClientMetadata: { from: 'email-link' } });
    const event = theEvent('PostConfirmation_ConfirmSignUp', username);
    assertEnvelope(event, { source: 'PostConfirmation_ConfirmSignUp', userName: username, clientId: WEB_CLIENT });
    assert.equal(event.request.userAttributes.sub, out.UserSub);
    assert.equal(event.request.userAttributes.email, email);
    assert.equal(event.request.userAttributes['cognito:user_status'], 'CONFIRMED');
    assert.deepEqual(event.request.clientMetadata, { from: 'email-link' });
    assert.deepEqual(postConfirmation.profiles.get(username), { sub: out.UserSub, email, via: 'PostConfirmation_ConfirmSignUp' });

    const other = unique('conf');
    await send('SignUp', { ClientId: WEB_CLIENT, Username: other, Password: PASSWORD, UserAttributes: attrs({ email: `${other}@example.test` }) });
    await send('AdminConfirmSignUp', { UserPoolId: MAIN_POOL, Username: other });
    const adminEvent = theEvent('PostConfirmation_ConfirmSignUp', other);
    assertEnvelope(adminEvent, { source: 'PostConfirmation_ConfirmSignUp', userName: other });
    assert.equal(postConfirmation.profiles.get(other)?.email, `${other}@example.test`);
  });

  test('PostConfirmation_ConfirmForgotPassword from ConfirmForgotPassword', async () => {
    const username = unique('forgot');
    const email = `${username}@example.test`;
    await confirmedUser(MAIN_POOL, username, email);
    await send('ForgotPassword', { ClientId: WEB_CLIENT, Username: username });
    const code = await outboxCode(dir, email);
    await send('ConfirmForgotPassword', { ClientId: WEB_CLIENT, Username: username, ConfirmationCode: code, Password: NEW_PASSWORD });
    const event = theEvent('PostConfirmation_ConfirmForgotPassword', username);
    assertEnvelope(event, { source: 'PostConfirmation_ConfirmForgotPassword', userName: username, clientId: WEB_CLIENT });
    assert.equal(event.request.userAttributes.email, email);
    assert.ok((await passwordAuth(WEB_CLIENT, username, NEW_PASSWORD)).AuthenticationResult);
  });
});

describe('PreAuthentication and PostAuthentication', () => {
  test('USER_PASSWORD_AUTH: PreAuthentication_Authentication, PostAuthentication_Authentication (newDeviceUsed), then TokenGeneration_Authentication', async () => {
    const username = unique('auth');
    await confirmedUser(MAIN_POOL, username, `${username}@example.test`);
    host.clear();
    const { AuthenticationResult: tokens } = await passwordAuth(WEB_CLIENT, username, PASSWORD, { app: 'web' });
    assert.ok(tokens.AccessToken);
    const pre = theEvent('PreAuthentication_Authentication', username);
    assertEnvelope(pre, { source: 'PreAuthentication_Authentication', userName: username, clientId: WEB_CLIENT });
    assert.equal(pre.request.userAttributes.email, `${username}@example.test`);
    const post = theEvent('PostAuthentication_Authentication', username);
    assertEnvelope(post, { source: 'PostAuthentication_Authentication', userName: username, clientId: WEB_CLIENT });
    assert.equal(post.request.newDeviceUsed, false);
    assert.equal(post.request.userAttributes.email, `${username}@example.test`);
    assert.equal(postAuthentication.lastSignIn.get(username)?.newDevice, false);
    const order = host.calls().map((c) => c.event.triggerSource);
    assert.deepEqual(order, ['PreAuthentication_Authentication', 'PostAuthentication_Authentication', 'TokenGeneration_Authentication'], trace());
  });

  test('a throwing PreAuthentication refuses USER_PASSWORD_AUTH and SRP: UserLambdaValidationException, no tokens', async () => {
    const username = unique('susp');
    await confirmedUser(MAIN_POOL, username, `${username}@suspended.example`);
    host.clear();
    await refusedWith(passwordAuth(WEB_CLIENT, username), 'UserLambdaValidationException',
      'PreAuthentication failed with error Account suspended.');
    await refusedWith(srpSignIn(MAIN_POOL, WEB_CLIENT, username), 'UserLambdaValidationException',
      'PreAuthentication failed with error Account suspended.');
    assert.equal(eventsOf('PreAuthentication_Authentication', username).length, 2, trace());
    assert.equal(eventsOf('PostAuthentication_Authentication').length, 0);
    assert.equal(eventsOf('TokenGeneration_Authentication').length, 0, 'no tokens made');
  });

  test('SRP (amazon-cognito-identity-js): the same triggers, once each', async () => {
    const username = unique('srp');
    await confirmedUser(MAIN_POOL, username, `${username}@example.test`);
    host.clear();
    const session = await srpSignIn(MAIN_POOL, WEB_CLIENT, username);
    assert.equal(session.getIdToken().decodePayload().tenant, 'acme');
    assert.deepEqual(host.calls().map((c) => c.event.triggerSource),
      ['PreAuthentication_Authentication', 'PostAuthentication_Authentication', 'TokenGeneration_Authentication'], trace());
    assertEnvelope(theEvent('PostAuthentication_Authentication', username),
      { source: 'PostAuthentication_Authentication', userName: username, clientId: WEB_CLIENT });
  });

  test('the managed-login pages: Pre/PostAuthentication and TokenGeneration_HostedAuth; a suspended account is turned away', async () => {
    const username = unique('page');
    await confirmedUser(MAIN_POOL, username, `${username}@example.test`);
    host.clear();
    const tokens = await hostedSignIn(username);
    assertEnvelope(theEvent('PreAuthentication_Authentication', username),
      { source: 'PreAuthentication_Authentication', userName: username, clientId: WEB_CLIENT });
    assertEnvelope(theEvent('PostAuthentication_Authentication', username),
      { source: 'PostAuthentication_Authentication', userName: username, clientId: WEB_CLIENT });
    const gen = theEvent('TokenGeneration_HostedAuth', username);
    assertEnvelope(gen, { source: 'TokenGeneration_HostedAuth', userName: username, clientId: WEB_CLIENT, version: '3' });
    assert.deepEqual([...gen.request.scopes].sort(), ['email', 'openid', 'profile']);
    const id = jwtPayload(tokens.id_token);
    assert.equal(id.tenant, 'acme');
    assert.equal(id.source, 'TokenGeneration_HostedAuth');
    assert.equal(jwtPayload(tokens.access_token).plan, 'pro');

    const suspended = unique('pagesusp');
    await confirmedUser(MAIN_POOL, suspended, `${suspended}@suspended.example`);
    host.clear();
    await assert.rejects(hostedSignIn(suspended), /Account suspended/);
    assert.equal(eventsOf('PreAuthentication_Authentication', suspended).length, 1);
    assert.equal(eventsOf('TokenGeneration_HostedAuth').length, 0);
  });
});

describe('PreTokenGeneration', () => {
  test('V3_0 (main pool): TokenGeneration_Authentication: claims in both tokens, a scope added to the access token, verified by CognitoJwtVerifier', async () => {
    const username = unique('tok');
    await confirmedUser(MAIN_POOL, username, `${username}@example.test`);
    await send('AdminAddUserToGroup', { UserPoolId: MAIN_POOL, Username: username, GroupName: 'staff' });
    host.clear();
    const { AuthenticationResult: tokens } = await passwordAuth(WEB_CLIENT, username);
    const event = theEvent('TokenGeneration_Authentication', username);
    assertEnvelope(event, { source: 'TokenGeneration_Authentication', userName: username, clientId: WEB_CLIENT, version: '3' });
    assert.equal(event.request.userAttributes.email, `${username}@example.test`);
    assert.deepEqual(event.request.groupConfiguration.groupsToOverride, ['staff']);
    assert.deepEqual(event.request.scopes, ['aws.cognito.signin.user.admin']);

    const access = await (await verifierFor(MAIN_POOL, { tokenUse: 'access', clientId: WEB_CLIENT, scope: 'acme/reports.read' }))
      .verify(tokens.AccessToken);
    assert.equal(access.tenant, 'acme');
    assert.equal(access.plan, 'pro');
    assert.deepEqual(access.scope.split(' ').sort(), ['acme/reports.read', 'aws.cognito.signin.user.admin']);
    assert.deepEqual(access['cognito:groups'], ['staff']);
    const id = await (await verifierFor(MAIN_POOL, { tokenUse: 'id', clientId: WEB_CLIENT })).verify(tokens.IdToken);
    assert.equal(id.tenant, 'acme');
    assert.deepEqual(id.roles, ['reader', 'writer'], 'V2/V3 claims may be arrays');
    assert.equal(id.source, 'TokenGeneration_Authentication');
    assert.equal(id.plan, undefined, 'the access token\'s claims stay out of the ID token');
  });

  test('TokenGeneration_RefreshTokens (REFRESH_TOKEN_AUTH) and TokenGeneration_NewPasswordChallenge (NEW_PASSWORD_REQUIRED)', async () => {
    const username = unique('refr');
    await confirmedUser(MAIN_POOL, username, `${username}@example.test`);
    const { AuthenticationResult: first } = await passwordAuth(WEB_CLIENT, username);
    host.clear();
    const { AuthenticationResult: refreshed } = await send('InitiateAuth', {
      ClientId: WEB_CLIENT, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: first.RefreshToken },
    });
    assertEnvelope(theEvent('TokenGeneration_RefreshTokens', username),
      { source: 'TokenGeneration_RefreshTokens', userName: username, clientId: WEB_CLIENT, version: '3' });
    assert.equal(jwtPayload(refreshed.IdToken).source, 'TokenGeneration_RefreshTokens');
    assert.equal(jwtPayload(refreshed.AccessToken).plan, 'pro');
    assert.equal(eventsOf('PreAuthentication_Authentication').length, 0, 'a refresh is not a sign-in');

    const newbie = unique('newpw');
    await send('AdminCreateUser', {
      UserPoolId: MAIN_POOL, Username: newbie, TemporaryPassword: 'Temp-Passw0rd!', MessageAction: 'SUPPRESS',
      UserAttributes: attrs({ email: `${newbie}@example.test`, email_verified: 'true' }),
    });
    host.clear();
    const challenged = await passwordAuth(WEB_CLIENT, newbie, 'Temp-Passw0rd!');
    assert.equal(challenged.ChallengeName, 'NEW_PASSWORD_REQUIRED');
    assert.equal(eventsOf('TokenGeneration_Authentication').length, 0, 'no tokens yet');
    const { AuthenticationResult: done } = await send('RespondToAuthChallenge', {
      ClientId: WEB_CLIENT, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: challenged.Session,
      ChallengeResponses: { USERNAME: newbie, NEW_PASSWORD: PASSWORD },
    });
    assertEnvelope(theEvent('TokenGeneration_NewPasswordChallenge', newbie),
      { source: 'TokenGeneration_NewPasswordChallenge', userName: newbie, clientId: WEB_CLIENT, version: '3' });
    assert.equal(jwtPayload(done.IdToken).source, 'TokenGeneration_NewPasswordChallenge');
  });

  test('V3_0 TokenGeneration_ClientCredentials on /oauth2/token: userName "ClientCredentials", the claim in the M2M access token', async () => {
    const res = await fetch(new URL('/oauth2/token', server.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${M2M_CLIENT}:${M2M_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: API_SCOPE }),
    });
    const json = await res.json();
    assert.equal(res.status, 200, JSON.stringify(json));
    const event = theEvent('TokenGeneration_ClientCredentials');
    assertEnvelope(event, { source: 'TokenGeneration_ClientCredentials', userName: 'ClientCredentials', clientId: M2M_CLIENT, version: '3' });
    assert.deepEqual(event.request.scopes, [API_SCOPE]);
    const access = await (await verifierFor(MAIN_POOL, { tokenUse: 'access', clientId: M2M_CLIENT, scope: API_SCOPE })).verify(json.access_token);
    assert.equal(access.tenant, 'machines');
    assert.equal(access.caller, M2M_CLIENT);
    assert.equal(access.sub, M2M_CLIENT);
  });

  test('protected claims (sub, iss, aud, token_use, exp, iat, jti, client_id, username…) are not changed by a trigger that tries', async () => {
    const username = unique('tamper');
    await confirmedUser(MAIN_POOL, username, `${username}@example.test`);
    const sub = asMap((await send('AdminGetUser', { UserPoolId: MAIN_POOL, Username: username })).UserAttributes).sub;
    const { AuthenticationResult: tokens } = await passwordAuth(WEB_CLIENT, username);
    const id = await (await verifierFor(MAIN_POOL, { tokenUse: 'id', clientId: WEB_CLIENT })).verify(tokens.IdToken);
    const access = await (await verifierFor(MAIN_POOL, { tokenUse: 'access', clientId: WEB_CLIENT })).verify(tokens.AccessToken);
    assert.equal(id.tenant, 'acme', 'the allowed claims of the same answer were applied');
    for (const [name, token] of [['id', id], ['access', access]]) {
      assert.equal(token.sub, sub, `${name}: sub`);
      assert.equal(token.iss, `https://cognito-idp.${REGION}.amazonaws.com/${MAIN_POOL}`, `${name}: iss`);
      assert.equal(token.token_use, name);
      assert.notEqual(token.jti, 'forged');
      assert.notEqual(token.origin_jti, 'forged');
      assert.equal(token.exp - token.iat, 3600, `${name}: exp`);
      assert.ok(token.iat > 1_000_000_000 && token.auth_time > 1_000_000_000, `${name}: iat/auth_time`);
    }
    assert.equal(id.aud, WEB_CLIENT);
    assert.equal(id['cognito:username'], username);
    assert.equal(access.client_id, WEB_CLIENT);
    assert.equal(access.username, username);
  });

  test('V1_0: claimsToAddOrOverride, claimsToSuppress and groupOverrideDetails in the ID token', async () => {
    const { poolId, clientId } = pools.v1;
    const username = unique('v1');
    await send('CreateGroup', { UserPoolId: poolId, GroupName: 'admins' }).catch((e) => {
      if (e.name !== 'GroupExistsException') throw e;
    });
    await confirmedUser(poolId, username, `${username}@example.test`, { family_name: 'Original' });
    await send('AdminAddUserToGroup', { UserPoolId: poolId, Username: username, GroupName: 'admins' });
    host.clear();
    const { AuthenticationResult: tokens } = await passwordAuth(clientId, username);
    const event = theEvent('TokenGeneration_Authentication', username);
    assertEnvelope(event, { source: 'TokenGeneration_Authentication', poolId, userName: username, clientId, version: '1' });
    assert.deepEqual(event.request.groupConfiguration.groupsToOverride, ['admins']);
    assert.equal(event.request.userAttributes.family_name, 'Original');
    const id = jwtPayload(tokens.IdToken);
    assert.equal(id.plan, 'gold');
    assert.equal(id.family_name, 'Overridden');
    assert.equal(id.email, undefined, 'suppressed');
    assert.deepEqual(id['cognito:groups'], ['editors', 'beta']);
    assert.deepEqual(jwtPayload(tokens.AccessToken)['cognito:groups'], ['editors', 'beta'], 'groups override both tokens');
    assert.equal(jwtPayload(tokens.AccessToken).plan, undefined, 'V1 does not touch the access token\'s claims');
  });

  test('V2_0: accessTokenGeneration claims and scopesToAdd in the access token, verified by CognitoJwtVerifier', async () => {
    const { poolId, clientId } = pools.v2;
    const username = unique('v2');
    await confirmedUser(poolId, username, `${username}@example.test`);
    host.clear();
    const { AuthenticationResult: tokens } = await passwordAuth(clientId, username);
    assertEnvelope(theEvent('TokenGeneration_Authentication', username),
      { source: 'TokenGeneration_Authentication', poolId, userName: username, clientId, version: '2' });
    const access = await (await verifierFor(poolId, { tokenUse: 'access', clientId, scope: 'acme/reports.read' })).verify(tokens.AccessToken);
    assert.equal(access.tenant, 'acme');
    assert.equal(access.plan, 'pro');
    assert.equal(jwtPayload(tokens.IdToken).tenant, 'acme');
  });
});

describe('CUSTOM_AUTH (Define/Create/Verify)', () => {
  let user;
  let email;
  before(async () => {
    user = unique('otp');
    email = `${user}@example.test`;
    await confirmedUser(pools.custom.poolId, user, email);
  });
  const codeFor = (username) => createAuthChallenge.outbox.get(username);
  const wrong = (code) => (code === '000000' ? '111111' : '000000');

  test('AWS SDK: CUSTOM_CHALLENGE with the public parameters, a wrong answer → another, the right one → tokens; three wrong → NotAuthorizedException', async () => {
    const { poolId, clientId } = pools.custom;
    createAuthChallenge.outbox.delete(user);
    const started = await send('InitiateAuth', { ClientId: clientId, AuthFlow: 'CUSTOM_AUTH', AuthParameters: { USERNAME: user } });
    assert.equal(started.ChallengeName, 'CUSTOM_CHALLENGE');
    assert.equal(started.ChallengeParameters.hint, 'code-by-email');
    assert.equal(started.ChallengeParameters.email, `${email[0]}***@example.test`);
    assert.equal(started.ChallengeParameters.answer, undefined, 'the private parameters stay private');
    const define0 = eventsOf('DefineAuthChallenge_Authentication', user)[0]?.event;
    assert.ok(define0, trace());
    assertEnvelope(define0, { source: 'DefineAuthChallenge_Authentication', poolId, userName: user, clientId });
    assert.deepEqual(define0.request.session, []);
    assert.equal(define0.request.userAttributes.email, email);
    const create = theEvent('CreateAuthChallenge_Authentication', user);
    assert.equal(create.request.challengeName, 'CUSTOM_CHALLENGE');
    const code = codeFor(user);
    assert.match(code, /^\d{6}$/);

    host.clear();
    const again = await send('RespondToAuthChallenge', {
      ClientId: clientId, ChallengeName: 'CUSTOM_CHALLENGE', Session: started.Session,
      ChallengeResponses: { USERNAME: user, ANSWER: wrong(code) },
    });
    assert.equal(again.ChallengeName, 'CUSTOM_CHALLENGE', 'a wrong answer: another round');
    assert.equal(again.AuthenticationResult, undefined);
    const verify = theEvent('VerifyAuthChallengeResponse_Authentication', user);
    assert.equal(verify.request.challengeAnswer, wrong(code));
    assert.deepEqual(verify.request.privateChallengeParameters, { answer: code });
    const define1 = theEvent('DefineAuthChallenge_Authentication', user);
    assert.deepEqual(define1.request.session, [
      { challengeName: 'CUSTOM_CHALLENGE', challengeResult: false, challengeMetadata: `CODE-${code}` },
    ]);

    const done = await send('RespondToAuthChallenge', {
      ClientId: clientId, ChallengeName: 'CUSTOM_CHALLENGE', Session: again.Session,
      ChallengeResponses: { USERNAME: user, ANSWER: code },
    });
    assert.ok(done.AuthenticationResult?.AccessToken, 'the right answer: tokens');
    assert.equal(jwtPayload(done.AuthenticationResult.IdToken)['cognito:username'], user);

    // Three wrong answers in one sign-in: Define fails it.
    let step = await send('InitiateAuth', { ClientId: clientId, AuthFlow: 'CUSTOM_AUTH', AuthParameters: { USERNAME: user } });
    const code2 = codeFor(user);
    for (let i = 0; i < 2; i++) {
      step = await send('RespondToAuthChallenge', {
        ClientId: clientId, ChallengeName: 'CUSTOM_CHALLENGE', Session: step.Session,
        ChallengeResponses: { USERNAME: user, ANSWER: wrong(code2) },
      });
      assert.equal(step.ChallengeName, 'CUSTOM_CHALLENGE');
    }
    await refusedWith(send('RespondToAuthChallenge', {
      ClientId: clientId, ChallengeName: 'CUSTOM_CHALLENGE', Session: step.Session,
      ChallengeResponses: { USERNAME: user, ANSWER: wrong(code2) },
    }), 'NotAuthorizedException');
  });

  test('amazon-cognito-identity-js: setAuthenticationFlowType(CUSTOM_AUTH), customChallenge, sendCustomChallengeAnswer', async () => {
    const { poolId, clientId } = pools.custom;
    const pool = new CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint: `${server.url}/` });
    const cognitoUser = new CognitoUser({ Username: user, Pool: pool });
    cognitoUser.setAuthenticationFlowType('CUSTOM_AUTH');
    const session = await new Promise((resolve, reject) => {
      const callbacks = {
        onSuccess: resolve,
        onFailure: reject,
        customChallenge: (params) => {
          try { assert.equal(params.hint, 'code-by-email'); } catch (e) { reject(e); return; }
          cognitoUser.sendCustomChallengeAnswer(codeFor(user), callbacks);
        },
      };
      cognitoUser.initiateAuth(new AuthenticationDetails({ Username: user }), callbacks);
    });
    assert.ok(session.isValid());
    assert.equal(session.getIdToken().decodePayload()['cognito:username'], user);
    assert.equal(eventsOf('VerifyAuthChallengeResponse_Authentication', user).length, 1);
  });

  test('Amplify v6: signIn CUSTOM_WITHOUT_SRP → CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE → confirmSignIn', async () => {
    const { Amplify } = await import('aws-amplify');
    const { signIn: amplifySignIn, confirmSignIn, fetchAuthSession, signOut } = await import('aws-amplify/auth');
    Amplify.configure({ Auth: { Cognito: { userPoolId: pools.custom.poolId, userPoolClientId: pools.custom.clientId, userPoolEndpoint: server.url } } });
    await signOut().catch(() => {});
    const started = await amplifySignIn({ username: user, options: { authFlowType: 'CUSTOM_WITHOUT_SRP' } });
    assert.equal(started.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE', JSON.stringify(started.nextStep));
    assert.equal(started.nextStep.additionalInfo.hint, 'code-by-email');
    const done = await confirmSignIn({ challengeResponse: codeFor(user) });
    assert.equal(done.isSignedIn, true, JSON.stringify(done.nextStep));
    const { tokens } = await fetchAuthSession();
    assert.equal(tokens.idToken.payload['cognito:username'], user);
    await signOut();
  });

  test('CUSTOM_WITH_SRP: Define sees SRP_A, then PASSWORD_VERIFIER, before the code (amazon-cognito-identity-js and Amplify)', async () => {
    const { poolId, clientId } = pools.custom;
    const pool = new CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint: `${server.url}/` });
    const cognitoUser = new CognitoUser({ Username: user, Pool: pool });
    cognitoUser.setAuthenticationFlowType('CUSTOM_AUTH');
    const session = await new Promise((resolve, reject) => {
      const callbacks = {
        onSuccess: resolve,
        onFailure: reject,
        customChallenge: () => cognitoUser.sendCustomChallengeAnswer(codeFor(user), callbacks),
      };
      cognitoUser.authenticateUser(new AuthenticationDetails({ Username: user, Password: PASSWORD }), callbacks);
    });
    assert.ok(session.isValid());
    const sessions = eventsOf('DefineAuthChallenge_Authentication', user)
      .map((c) => c.event.request.session.map((s) => [s.challengeName, s.challengeResult]));
    assert.deepEqual(sessions, [
      [['SRP_A', true]],
      [['SRP_A', true], ['PASSWORD_VERIFIER', true]],
      [['SRP_A', true], ['PASSWORD_VERIFIER', true], ['CUSTOM_CHALLENGE', true]],
    ], trace());

    // A wrong password ends it at PASSWORD_VERIFIER: no code is made.
    host.clear();
    const other = new CognitoUser({ Username: user, Pool: pool });
    other.setAuthenticationFlowType('CUSTOM_AUTH');
    await refusedWith(new Promise((resolve, reject) => {
      other.authenticateUser(new AuthenticationDetails({ Username: user, Password: 'Wr0ng-Passw0rd!' }), {
        onSuccess: resolve, onFailure: reject, customChallenge: () => reject(new Error('a code was asked for')),
      });
    }), 'NotAuthorizedException');
    assert.equal(eventsOf('CreateAuthChallenge_Authentication').length, 0);

    const { Amplify } = await import('aws-amplify');
    const { signIn: amplifySignIn, confirmSignIn, signOut } = await import('aws-amplify/auth');
    Amplify.configure({ Auth: { Cognito: { userPoolId: poolId, userPoolClientId: clientId, userPoolEndpoint: server.url } } });
    await signOut().catch(() => {});
    host.clear();
    const started = await amplifySignIn({ username: user, password: PASSWORD, options: { authFlowType: 'CUSTOM_WITH_SRP' } });
    assert.equal(started.nextStep.signInStep, 'CONFIRM_SIGN_IN_WITH_CUSTOM_CHALLENGE', JSON.stringify(started.nextStep));
    const done = await confirmSignIn({ challengeResponse: codeFor(user) });
    assert.equal(done.isSignedIn, true, JSON.stringify(done.nextStep));
    assert.deepEqual(eventsOf('DefineAuthChallenge_Authentication', user).map((c) => c.event.request.session.length), [1, 2, 3]);
    await signOut();
  });
});

describe('UserMigration', () => {
  test('UserMigration_Authentication: an old-system user signs in with USER_PASSWORD_AUTH, is created, then signs in by SRP', async () => {
    const { poolId, clientId } = pools.migration;
    await assertNoUser(poolId, 'legacy-lee');
    const { AuthenticationResult: tokens } = await passwordAuth(clientId, 'legacy-lee', 'Old-Passw0rd!', { source: 'app' });
    assert.ok(tokens?.AccessToken);
    const event = theEvent('UserMigration_Authentication', 'legacy-lee');
    assertEnvelope(event, { source: 'UserMigration_Authentication', poolId, userName: 'legacy-lee', clientId });
    assert.equal(event.request.password, 'Old-Passw0rd!');
    assert.equal(jwtPayload(tokens.IdToken).email, 'lee@legacy.example');
    const user = await send('AdminGetUser', { UserPoolId: poolId, Username: 'legacy-lee' });
    assert.equal(user.UserStatus, 'CONFIRMED');
    assert.equal(asMap(user.UserAttributes).name, 'Lee Legacy');
    assert.equal(asMap(user.UserAttributes).email_verified, 'true');
    await sleep(200);
    assert.deepEqual(outboxMessages(dir, 'lee@legacy.example'), [], 'messageAction SUPPRESS');

    host.clear();
    const session = await srpSignIn(poolId, clientId, 'legacy-lee', 'Old-Passw0rd!');
    assert.equal(session.getIdToken().decodePayload()['cognito:username'], 'legacy-lee');
    assert.equal(eventsOf('UserMigration_Authentication').length, 0, 'migrated once');
  });

  test('a wrong old password: NotAuthorizedException, no user', async () => {
    const { poolId, clientId } = pools.migration;
    await refusedWith(passwordAuth(clientId, 'legacy-kim', 'Wr0ng-Passw0rd!'), 'NotAuthorizedException');
    assert.equal(theEvent('UserMigration_Authentication', 'legacy-kim').request.password, 'Wr0ng-Passw0rd!');
    await assertNoUser(poolId, 'legacy-kim');
    await refusedWith(passwordAuth(clientId, 'never-was', PASSWORD), 'NotAuthorizedException');
    await assertNoUser(poolId, 'never-was');
  });

  test('UserMigration_ForgotPassword: an unknown user is created (RESET_REQUIRED) and a code is sent', async () => {
    const { poolId, clientId } = pools.migration;
    const out = await send('ForgotPassword', { ClientId: clientId, Username: 'legacy-ray' });
    assert.equal(out.CodeDeliveryDetails?.DeliveryMedium, 'EMAIL');
    const event = theEvent('UserMigration_ForgotPassword', 'legacy-ray');
    assertEnvelope(event, { source: 'UserMigration_ForgotPassword', poolId, userName: 'legacy-ray', clientId });
    assert.equal((await send('AdminGetUser', { UserPoolId: poolId, Username: 'legacy-ray' })).UserStatus, 'RESET_REQUIRED');
    const code = await outboxCode(dir, 'ray@legacy.example', { pattern: /\b(\d{6})\b/ });
    await send('ConfirmForgotPassword', { ClientId: clientId, Username: 'legacy-ray', ConfirmationCode: code, Password: PASSWORD });
    assert.ok((await passwordAuth(clientId, 'legacy-ray')).AuthenticationResult);
  });
});

describe('CustomMessage', () => {
  const seen = new Set();
  /** The newest outbox message to `to` not read before, as { subject, text }; waits up to 5 s. */
  async function newestMessage(to) {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const fresh = outboxMessages(dir, to).filter(({ name }) => !seen.has(name)).at(-1);
      if (fresh) {
        seen.add(fresh.name);
        return { subject: fresh.text.match(/^Subject: *(.*)$/mi)?.[1].trim(), text: fresh.text };
      }
      assert.ok(Date.now() < deadline, `no new message to ${to}`);
      await sleep(100);
    }
  }

  test('CustomMessage_SignUp and CustomMessage_ResendCode: the handler\'s subject and message, {####} replaced by the code', async () => {
    const username = unique('msg');
    const email = `${username}@example.test`;
    await send('SignUp', { ClientId: WEB_CLIENT, Username: username, Password: PASSWORD, UserAttributes: attrs({ email }) });
    const event = theEvent('CustomMessage_SignUp', username);
    assertEnvelope(event, { source: 'CustomMessage_SignUp', userName: username, clientId: WEB_CLIENT });
    assert.equal(event.request.codeParameter, '{####}');
    assert.equal(event.request.userAttributes.email, email);
    const first = await newestMessage(email);
    assert.equal(first.subject, 'Welcome to Acme');
    assert.match(first.text, /Welcome! Your confirmation code is \d{6}\./);
    assert.doesNotMatch(first.text, /\{####\}/);

    await send('ResendConfirmationCode', { ClientId: WEB_CLIENT, Username: username });
    assertEnvelope(theEvent('CustomMessage_ResendCode', username), { source: 'CustomMessage_ResendCode', userName: username, clientId: WEB_CLIENT });
    const resent = await newestMessage(email);
    assert.equal(resent.subject, 'Your Acme code, again');
    const code = resent.text.match(/your confirmation code is (\d{6})\./)[1];
    await send('ConfirmSignUp', { ClientId: WEB_CLIENT, Username: username, ConfirmationCode: code });
    assert.equal((await send('AdminGetUser', { UserPoolId: MAIN_POOL, Username: username })).UserStatus, 'CONFIRMED');
  });

  test('CustomMessage_ForgotPassword', async () => {
    const username = unique('msgfp');
    const email = `${username}@example.test`;
    await confirmedUser(MAIN_POOL, username, email);
    await send('ForgotPassword', { ClientId: WEB_CLIENT, Username: username });
    assertEnvelope(theEvent('CustomMessage_ForgotPassword', username), { source: 'CustomMessage_ForgotPassword', userName: username, clientId: WEB_CLIENT });
    const { subject, text } = await newestMessage(email);
    assert.equal(subject, 'Reset your Acme password');
    assert.match(text, /Someone asked to reset it: your code is \d{6}\./);
  });

  test('CustomMessage_AdminCreateUser with usernameParameter: the username and temporary password in place', async () => {
    const username = unique('msgadm');
    const email = `${username}@example.test`;
    await send('AdminCreateUser', {
      UserPoolId: MAIN_POOL, Username: username, TemporaryPassword: 'Temp-Passw0rd!1', DesiredDeliveryMediums: ['EMAIL'],
      UserAttributes: attrs({ email, email_verified: 'true' }),
    });
    const event = theEvent('CustomMessage_AdminCreateUser', username);
    assertEnvelope(event, { source: 'CustomMessage_AdminCreateUser', userName: username });
    assert.equal(event.request.usernameParameter, '{username}');
    assert.equal(event.request.codeParameter, '{####}');
    const { subject, text } = await newestMessage(email);
    assert.equal(subject, 'Your new Acme account');
    assert.ok(text.includes(`Sign in as ${username} with Temp-Passw0rd!1.`), text);
  });

  test('CustomMessage_UpdateUserAttribute (a new email) and CustomMessage_VerifyUserAttribute (GetUserAttributeVerificationCode)', async () => {
    const username = unique('msgattr');
    await confirmedUser(MAIN_POOL, username, `${username}@example.test`);
    const { AuthenticationResult: tokens } = await passwordAuth(WEB_CLIENT, username);
    host.clear();
    const newEmail = `${username}@new.example.test`;
    await send('UpdateUserAttributes', { AccessToken: tokens.AccessToken, UserAttributes: attrs({ email: newEmail }) });
    const updated = theEvent('CustomMessage_UpdateUserAttribute', username);
    assertEnvelope(updated, { source: 'CustomMessage_UpdateUserAttribute', userName: username, clientId: WEB_CLIENT });
    assert.equal((await newestMessage(newEmail)).subject, 'Confirm your new Acme address');

    await send('GetUserAttributeVerificationCode', { AccessToken: tokens.AccessToken, AttributeName: 'email' });
    assertEnvelope(theEvent('CustomMessage_VerifyUserAttribute', username), { source: 'CustomMessage_VerifyUserAttribute', userName: username, clientId: WEB_CLIENT });
    const { subject, text } = await newestMessage(newEmail);
    assert.equal(subject, 'Verify your Acme address');
    const code = text.match(/your code is (\d{6})\./)[1];
    await send('VerifyUserAttribute', { AccessToken: tokens.AccessToken, AttributeName: 'email', Code: code });
  });

  test('CustomMessage_Authentication: the email MFA code', async () => {
    const { poolId, clientId } = pools.mfa;
    const username = unique('msgmfa');
    const email = `${username}@example.test`;
    await confirmedUser(poolId, username, email);
    const started = await passwordAuth(clientId, username);
    assert.equal(started.ChallengeName, 'EMAIL_OTP');
    assertEnvelope(theEvent('CustomMessage_Authentication', username), { source: 'CustomMessage_Authentication', poolId, userName: username, clientId });
    const { subject, text } = await newestMessage(email);
    assert.equal(subject, 'Your Acme sign-in code');
    const code = text.match(/Signing in\? Your code is (\d{6})\./)[1];
    const done = await send('RespondToAuthChallenge', {
      ClientId: clientId, ChallengeName: 'EMAIL_OTP', Session: started.Session,
      ChallengeResponses: { USERNAME: username, EMAIL_OTP_CODE: code },
    });
    assert.ok(done.AuthenticationResult?.AccessToken);
  });
});

describe('failures leave nothing half-done', () => {
  test('a function slower than 5 s: UnexpectedLambdaException for SignUp (no user) and InitiateAuth (no tokens)', async () => {
    const { poolId, clientId } = pools.failures;
    const signer = unique('slow-');
    const signInName = unique('slow-');
    await confirmedUser(poolId, signInName, `${signInName}@example.test`);
    host.clear();
    const started = Date.now();
    // Side by side: one wait for both.
    const [signUp, auth] = await Promise.allSettled([
      send('SignUp', { ClientId: clientId, Username: signer, Password: PASSWORD, UserAttributes: attrs({ email: `${signer}@example.test` }) }),
      passwordAuth(clientId, signInName),
    ]);
    const elapsed = Date.now() - started;
    for (const [what, outcome] of [['SignUp', signUp], ['InitiateAuth', auth]]) {
      assert.equal(outcome.status, 'rejected', `${what} was answered: ${JSON.stringify(outcome.value)}`);
      assert.equal(outcome.reason.name, 'UnexpectedLambdaException', `${what}: ${outcome.reason.name}: ${outcome.reason.message}`);
    }
    assert.ok(elapsed >= 4_500, `the server waited about 5 s (${elapsed} ms)`);
    assert.ok(eventsOf('PreSignUp_SignUp', signer).length >= 1);
    assert.ok(eventsOf('PreAuthentication_Authentication', signInName).length >= 1);
    await assertNoUser(poolId, signer);
  });

  test('malformed answers (a string; a response that is not an object): InvalidLambdaResponseException', async () => {
    const { poolId, clientId } = pools.failures;
    for (const prefix of ['malformed-', 'badshape-']) {
      const signer = unique(prefix);
      await refusedWith(send('SignUp', {
        ClientId: clientId, Username: signer, Password: PASSWORD, UserAttributes: attrs({ email: `${signer}@example.test` }),
      }), 'InvalidLambdaResponseException');
      await assertNoUser(poolId, signer);
      const signInName = unique(prefix);
      await confirmedUser(poolId, signInName, `${signInName}@example.test`);
      await refusedWith(passwordAuth(clientId, signInName), 'InvalidLambdaResponseException');
    }
    assert.equal(eventsOf('PreSignUp_SignUp').length, 2, trace());
    assert.equal(eventsOf('PreAuthentication_Authentication').length, 2, trace());
  });

  test('a throwing function: UserLambdaValidationException for SignUp (no user) and InitiateAuth (no tokens)', async () => {
    const { poolId, clientId } = pools.failures;
    const signer = unique('throw-');
    await refusedWith(send('SignUp', {
      ClientId: clientId, Username: signer, Password: PASSWORD, UserAttributes: attrs({ email: `${signer}@example.test` }),
    }), 'UserLambdaValidationException', 'PreSignUp failed with error Nope.');
    await assertNoUser(poolId, signer);
    const signInName = unique('throw-');
    await confirmedUser(poolId, signInName, `${signInName}@example.test`);
    await refusedWith(passwordAuth(clientId, signInName), 'UserLambdaValidationException', 'PreAuthentication failed with error Nope.');
    // The same user signs in once the function lets them (a name it does not act on is another user).
    const fine = unique('fine-');
    await confirmedUser(poolId, fine, `${fine}@example.test`);
    assert.ok((await passwordAuth(clientId, fine)).AuthenticationResult?.AccessToken, 'the pool itself works');
  });

  test('the managed-login sign-up page shows a readable error when PreSignUp refuses, and no user is made', async () => {
    const username = unique('pageblock');
    const jar = new CookieJar();
    const page = new URL('/signup', server.url);
    page.search = new URLSearchParams({ client_id: WEB_CLIENT, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid email' }).toString();
    let res = await fetch(page, { redirect: 'manual' });
    jar.store(res);
    const html = await res.text();
    assert.equal(res.status, 200, html);
    const csrf = html.match(/<input[^>]*name="_csrf"[^>]*value="([^"]*)"/i) ?? html.match(/<input[^>]*value="([^"]*)"[^>]*name="_csrf"/i);
    assert.ok(csrf, html);
    const form = html.match(/<form[^>]*\baction="([^"]*)"/i);
    const action = new URL(form ? form[1].replace(/&amp;/g, '&') : page.pathname + page.search, page);
    res = await fetch(action, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
      body: new URLSearchParams({ _csrf: csrf[1].replace(/&amp;/g, '&'), username, email: `${username}@blocked.example`, password: PASSWORD }),
    });
    const text = await res.text();
    assert.notEqual(res.status, 302, `not sent on to confirmation: ${res.headers.get('location')}`);
    assert.ok(res.status === 200 || res.status === 400, `${res.status}`);
    assert.match(text, /Sign-ups from blocked\.example are closed/);
    assert.ok(theEvent('PreSignUp_SignUp', username));
    await assertNoUser(MAIN_POOL, username);
  });
});

describe('webhooks', () => {
  test('PreSignUp and PreTokenGeneration V2 as webhooks: the same effects, each call HMAC-signed', async () => {
    const { poolId, clientId } = pools.webhooks;
    const username = unique('hook');
    const out = await send('SignUp', {
      ClientId: clientId, Username: username, Password: PASSWORD, UserAttributes: attrs({ email: `${username}@trusted.example` }),
    });
    assert.equal(out.UserConfirmed, true);
    assertEnvelope(theEvent('PreSignUp_SignUp', username), { source: 'PreSignUp_SignUp', poolId, userName: username, clientId });
    const { AuthenticationResult: tokens } = await passwordAuth(clientId, username);
    assertEnvelope(theEvent('TokenGeneration_Authentication', username),
      { source: 'TokenGeneration_Authentication', poolId, userName: username, clientId, version: '2' });
    const access = await (await verifierFor(poolId, { tokenUse: 'access', clientId, scope: 'acme/reports.read' })).verify(tokens.AccessToken);
    assert.equal(access.plan, 'pro');
    assert.equal(jwtPayload(tokens.IdToken).tenant, 'acme');

    const blocked = unique('hook');
    await refusedWith(send('SignUp', {
      ClientId: clientId, Username: blocked, Password: PASSWORD, UserAttributes: attrs({ email: `${blocked}@blocked.example` }),
    }), 'UserLambdaValidationException', 'PreSignUp failed with error Sign-ups from blocked.example are closed.');
    await assertNoUser(poolId, blocked);
    assertAllVia('webhook');
    assert.deepEqual(host.calls().map((c) => c.path), [
      '/webhook/preSignUp', '/webhook/preTokenGeneration', '/webhook/preSignUp',
    ]);
  });

  test('the Lambda calls are SigV4-signed for lambda in the ARN\'s region, to the function\'s Invoke path', async () => {
    // Every call through an ARN passed the host's signature check (it answers 403 otherwise and
    // the operation would have failed); here the record of one.
    const username = unique('sig');
    await send('SignUp', { ClientId: WEB_CLIENT, Username: username, Password: PASSWORD, UserAttributes: attrs({ email: `${username}@trusted.example` }) });
    const [call] = eventsOf('PreSignUp_SignUp', username);
    assert.equal(call.via, 'lambda');
    assert.equal(call.signedRegion, REGION);
    assert.ok([`/2015-03-31/functions/${encodeURIComponent(arn('preSignUp'))}/invocations`, `/2015-03-31/functions/${arn('preSignUp')}/invocations`]
      .includes(call.path), call.path);
    assert.equal(call.functionName, 'preSignUp');
  });
});

describe('CustomEmailSender', () => {
  test('codes and temporary passwords reach the sender sealed for the operator\'s key, and only it', async () => {
    const { poolId, clientId } = pools.sender;
    const username = `sender${randomBytes(4).toString('hex')}`;
    const email = `${username}@example.test`;
    customEmailSender.delivered.length = 0;
    await send('SignUp', {
      ClientId: clientId, Username: username, Password: PASSWORD, UserAttributes: [{ Name: 'email', Value: email }],
    });
    const signUp = customEmailSender.delivered.find((d) => d.to === email);
    assert.ok(signUp, `the sender got the sign-up code: ${JSON.stringify(customEmailSender.delivered)}`);
    assert.equal(signUp.source, 'CustomEmailSender_SignUp');
    assert.equal(signUp.type, 'customEmailSenderRequestV1', JSON.stringify(signUp));
    assert.match(signUp.code, /^\d{6}$/);
    assert.equal(signUp.context['userpool-id'], poolId);
    assert.equal(outboxMessages(dir, email).length, 0, 'nothing else is mailed');
    // The code the sender opened confirms the account.
    await send('ConfirmSignUp', { ClientId: clientId, Username: username, ConfirmationCode: signUp.code });
    const { UserStatus } = await send('AdminGetUser', { UserPoolId: poolId, Username: username });
    assert.equal(UserStatus, 'CONFIRMED');

    await send('ForgotPassword', { ClientId: clientId, Username: username });
    const reset = customEmailSender.delivered.filter((d) => d.to === email).at(-1);
    assert.equal(reset.source, 'CustomEmailSender_ForgotPassword');
    await send('ConfirmForgotPassword', {
      ClientId: clientId, Username: username, ConfirmationCode: reset.code, Password: NEW_PASSWORD,
    });

    const invited = `invited${randomBytes(4).toString('hex')}`;
    await send('AdminCreateUser', {
      UserPoolId: poolId, Username: invited,
      UserAttributes: [{ Name: 'email', Value: `${invited}@example.test` }, { Name: 'email_verified', Value: 'true' }],
    });
    const invitation = customEmailSender.delivered.find((d) => d.to === `${invited}@example.test`);
    assert.equal(invitation.source, 'CustomEmailSender_AdminCreateUser');
    const challenge = await send('InitiateAuth', {
      ClientId: clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: invited, PASSWORD: invitation.code },
    });
    assert.equal(challenge.ChallengeName, 'NEW_PASSWORD_REQUIRED', 'the temporary password the sender opened works');
  });
});

// ---------------------------------------------------------------------------------------------
// The front doors not taken above: the managed-login pages' sign-up, confirmation and reset
// forms, the implicit grant, the refresh grants, remembered devices, CUSTOM_AUTH's pre
// authentication, the admin's password reset, the custom sender's other messages, and
// federation with a real OpenID Provider (oidc-provider, see idp.js), driven with plain fetch.

const decodeHtml = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
  .replace(/&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

/** The first POST form of `html`: its action (resolved against `base`) and its inputs' values. */
function formIn(html, base) {
  const form = html.match(/<form\b[^>]*\bmethod="post"[^>]*>[\s\S]*?<\/form>/i);
  assert.ok(form, `a form on ${base}:\n${html.slice(0, 2000)}`);
  const action = form[0].match(/\baction="([^"]*)"/i);
  const fields = {};
  for (const [input] of form[0].matchAll(/<input\b[^>]*>/gi)) {
    const name = input.match(/\bname="([^"]*)"/i)?.[1];
    if (name) fields[decodeHtml(name)] = decodeHtml(input.match(/\bvalue="([^"]*)"/i)?.[1] ?? '');
  }
  return { action: new URL(action ? decodeHtml(action[1]) : base.pathname + base.search, base), fields };
}

/** GET with the jar's cookies, no redirects followed. */
async function getWith(url, jar) {
  const res = await fetch(url, { redirect: 'manual', headers: jar.cookies.size ? { cookie: jar.header() } : {} });
  jar.store(res);
  return res;
}

/** A page's form (status 200 asserted). */
async function pageForm(url, jar) {
  const res = await getWith(url, jar);
  const html = await res.text();
  assert.equal(res.status, 200, `GET ${url}: ${res.status} ${html.slice(0, 500)}`);
  return formIn(html, new URL(url));
}

/** Posts `form` with its inputs, `fields` filled in: { status, location (a URL or null), text }. */
async function submitForm(form, fields, jar) {
  const res = await fetch(form.action, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(jar.cookies.size ? { cookie: jar.header() } : {}) },
    body: new URLSearchParams({ ...form.fields, ...fields }),
  });
  jar.store(res);
  const location = res.headers.get('location');
  return { status: res.status, location: location && new URL(location, form.action), text: await res.text() };
}

/** A managed-login page of the web client: `/signup`, `/forgotPassword`, … with the authorize parameters. */
function pageUrl(path) {
  const url = new URL(path, server.url);
  url.search = new URLSearchParams({ client_id: WEB_CLIENT, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid email' }).toString();
  return url;
}

/** The reset of `username` through /forgotPassword and /confirmforgotPassword; the code from `email`'s mail. */
async function pageReset(username, email, password) {
  const jar = new CookieJar();
  const asked = await submitForm(await pageForm(pageUrl('/forgotPassword'), jar), { username }, jar);
  assert.equal(asked.status, 302, asked.text);
  assert.equal(asked.location.pathname, '/confirmforgotPassword', String(asked.location));
  const code = await outboxCode(dir, email, { pattern: /\b(\d{6})\b/ });
  const done = await submitForm(await pageForm(asked.location, jar), { username, code, password }, jar);
  assert.equal(done.status, 302, `the reset was taken: ${done.status} ${done.text.slice(0, 500)}`);
  assert.equal(done.location.pathname, '/login', `back to sign-in: ${done.location}`);
  return done;
}

describe('the managed-login pages', () => {
  test('/signup then /confirm: PreSignUp_SignUp, then PostConfirmation_ConfirmSignUp with the code typed on the page', async () => {
    const username = unique('pagesign');
    const email = `${username}@example.test`;
    const jar = new CookieJar();
    const signedUp = await submitForm(await pageForm(pageUrl('/signup'), jar), { username, email, password: PASSWORD }, jar);
    assert.equal(signedUp.status, 302, signedUp.text.slice(0, 500));
    assert.equal(signedUp.location.pathname, '/confirm', String(signedUp.location));
    const pre = theEvent('PreSignUp_SignUp', username);
    assertEnvelope(pre, { source: 'PreSignUp_SignUp', userName: username, clientId: WEB_CLIENT });
    assert.equal(pre.request.userAttributes.email, email);
    assert.equal(eventsOf('PostConfirmation_ConfirmSignUp', username).length, 0, 'not before the code');
    assert.equal((await send('AdminGetUser', { UserPoolId: MAIN_POOL, Username: username })).UserStatus, 'UNCONFIRMED');

    const code = await outboxCode(dir, email);
    const confirmed = await submitForm(await pageForm(signedUp.location, jar), { username, code }, jar);
    assert.equal(confirmed.status, 302, confirmed.text.slice(0, 500));
    assert.equal(confirmed.location.origin + confirmed.location.pathname, REDIRECT_URI, `signed in at once: ${confirmed.location}`);
    const code2 = confirmed.location.searchParams.get('code');
    assert.ok(code2, `${confirmed.location}`);
    const post = theEvent('PostConfirmation_ConfirmSignUp', username);
    assertEnvelope(post, { source: 'PostConfirmation_ConfirmSignUp', userName: username, clientId: WEB_CLIENT });
    assert.equal(post.request.userAttributes.email, email);
    assert.equal(post.request.userAttributes['cognito:user_status'], 'CONFIRMED');
    assert.equal(postConfirmation.profiles.get(username)?.via, 'PostConfirmation_ConfirmSignUp');
    assert.equal((await send('AdminGetUser', { UserPoolId: MAIN_POOL, Username: username })).UserStatus, 'CONFIRMED');
    // The page signs the user in: PostAuthentication, then the code's tokens (TokenGeneration_HostedAuth).
    assertEnvelope(theEvent('PostAuthentication_Authentication', username),
      { source: 'PostAuthentication_Authentication', userName: username, clientId: WEB_CLIENT });
    const res = await fetch(new URL('/oauth2/token', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: WEB_CLIENT, code: code2, redirect_uri: REDIRECT_URI }),
    });
    const json = await res.json();
    assert.equal(res.status, 200, JSON.stringify(json));
    assertEnvelope(theEvent('TokenGeneration_HostedAuth', username),
      { source: 'TokenGeneration_HostedAuth', userName: username, clientId: WEB_CLIENT, version: '3' });
    assert.equal(jwtPayload(json.id_token)['cognito:username'], username);
  });

  test('/forgotPassword then /confirmforgotPassword: CustomMessage_ForgotPassword, PostConfirmation_ConfirmForgotPassword; the new password works', async () => {
    const username = unique('pagereset');
    const email = `${username}@example.test`;
    await confirmedUser(MAIN_POOL, username, email);
    host.clear();
    await pageReset(username, email, NEW_PASSWORD);
    assertEnvelope(theEvent('CustomMessage_ForgotPassword', username),
      { source: 'CustomMessage_ForgotPassword', userName: username, clientId: WEB_CLIENT });
    const post = theEvent('PostConfirmation_ConfirmForgotPassword', username);
    assertEnvelope(post, { source: 'PostConfirmation_ConfirmForgotPassword', userName: username, clientId: WEB_CLIENT });
    assert.equal(post.request.userAttributes.email, email);
    assert.ok((await passwordAuth(WEB_CLIENT, username, NEW_PASSWORD)).AuthenticationResult?.AccessToken);
    await refusedWith(passwordAuth(WEB_CLIENT, username, PASSWORD), 'NotAuthorizedException');
  });

  test('UserMigration_Authentication from /login: the old-system user is moved in and gets a code (TokenGeneration_HostedAuth)', async () => {
    await assertNoUser(MAIN_POOL, 'legacy-pia');
    const tokens = await hostedSignIn('legacy-pia', 'Old-Passw0rd!');
    const event = theEvent('UserMigration_Authentication', 'legacy-pia');
    assertEnvelope(event, { source: 'UserMigration_Authentication', userName: 'legacy-pia', clientId: WEB_CLIENT });
    assert.equal(event.request.password, 'Old-Passw0rd!');
    assertEnvelope(theEvent('TokenGeneration_HostedAuth', 'legacy-pia'),
      { source: 'TokenGeneration_HostedAuth', userName: 'legacy-pia', clientId: WEB_CLIENT, version: '3' });
    const id = jwtPayload(tokens.id_token);
    assert.equal(id['cognito:username'], 'legacy-pia');
    assert.equal(id.email, 'pia@legacy.example');
    assert.equal(id.source, 'TokenGeneration_HostedAuth');
    const user = await send('AdminGetUser', { UserPoolId: MAIN_POOL, Username: 'legacy-pia' });
    assert.equal(user.UserStatus, 'CONFIRMED');
    assert.equal(asMap(user.UserAttributes).name, 'Pia Legacy');
    // A wrong old password on the page: turned away, nobody moved in.
    host.clear();
    await assert.rejects(hostedSignIn('legacy-sam', 'Wr0ng-Passw0rd!'), /answered (200|400)/);
    assert.equal(theEvent('UserMigration_Authentication', 'legacy-sam').request.password, 'Wr0ng-Passw0rd!');
    await assertNoUser(MAIN_POOL, 'legacy-sam');
  });

  test('UserMigration_ForgotPassword from /forgotPassword: the user is moved in (RESET_REQUIRED), the page reset confirms it', async () => {
    await assertNoUser(MAIN_POOL, 'legacy-sam');
    await pageReset('legacy-sam', 'sam@legacy.example', NEW_PASSWORD);
    assertEnvelope(theEvent('UserMigration_ForgotPassword', 'legacy-sam'),
      { source: 'UserMigration_ForgotPassword', userName: 'legacy-sam', clientId: WEB_CLIENT });
    assertEnvelope(theEvent('PostConfirmation_ConfirmForgotPassword', 'legacy-sam'),
      { source: 'PostConfirmation_ConfirmForgotPassword', userName: 'legacy-sam', clientId: WEB_CLIENT });
    const user = await send('AdminGetUser', { UserPoolId: MAIN_POOL, Username: 'legacy-sam' });
    assert.equal(user.UserStatus, 'CONFIRMED');
    assert.equal(asMap(user.UserAttributes).email, 'sam@legacy.example');
    assert.ok((await passwordAuth(WEB_CLIENT, 'legacy-sam', NEW_PASSWORD)).AuthenticationResult?.AccessToken);
  });

  test('the implicit grant (response_type=token): TokenGeneration_HostedAuth, its claims in the fragment\'s tokens', async () => {
    const { UserPoolClient: { ClientId: clientId } } = await send('CreateUserPoolClient', {
      UserPoolId: MAIN_POOL, ClientName: 'implicit', AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ['implicit'],
      AllowedOAuthScopes: ['openid', 'email'], CallbackURLs: [REDIRECT_URI], SupportedIdentityProviders: ['COGNITO'],
    });
    const username = unique('implicit');
    await confirmedUser(MAIN_POOL, username, `${username}@example.test`);
    host.clear();
    const authorize = new URL('/oauth2/authorize', server.url);
    authorize.search = new URLSearchParams({
      response_type: 'token', client_id: clientId, redirect_uri: REDIRECT_URI, scope: 'openid email', state: 'imp',
    }).toString();
    const { callbackUrl } = await signIn(authorize, { username, password: PASSWORD, jar: new CookieJar() });
    const fragment = new URLSearchParams(callbackUrl.hash.slice(1));
    assert.ok(fragment.get('access_token'), `tokens in the fragment: ${callbackUrl}`);
    assert.equal(fragment.get('state'), 'imp');
    const gen = theEvent('TokenGeneration_HostedAuth', username);
    assertEnvelope(gen, { source: 'TokenGeneration_HostedAuth', userName: username, clientId, version: '3' });
    assert.deepEqual([...gen.request.scopes].sort(), ['email', 'openid']);
    assert.deepEqual(host.calls().map((c) => c.event.triggerSource),
      ['PreAuthentication_Authentication', 'PostAuthentication_Authentication', 'TokenGeneration_HostedAuth'], trace());
    const access = await (await verifierFor(MAIN_POOL, { tokenUse: 'access', clientId, scope: 'acme/reports.read' }))
      .verify(fragment.get('access_token'));
    assert.equal(access.plan, 'pro');
    const id = await (await verifierFor(MAIN_POOL, { tokenUse: 'id', clientId })).verify(fragment.get('id_token'));
    assert.equal(id.source, 'TokenGeneration_HostedAuth');
    assert.equal(id.tenant, 'acme');
  });
});

describe('more front doors of the API', () => {
  test('TokenGeneration_RefreshTokens from GetTokensFromRefreshToken and from /oauth2/token grant_type=refresh_token', async () => {
    const username = unique('refr2');
    await confirmedUser(MAIN_POOL, username, `${username}@example.test`);
    const { AuthenticationResult: first } = await passwordAuth(WEB_CLIENT, username);
    host.clear();
    const viaApi = await send('GetTokensFromRefreshToken', { ClientId: WEB_CLIENT, RefreshToken: first.RefreshToken });
    assertEnvelope(theEvent('TokenGeneration_RefreshTokens', username),
      { source: 'TokenGeneration_RefreshTokens', userName: username, clientId: WEB_CLIENT, version: '3' });
    assert.equal(jwtPayload(viaApi.AuthenticationResult.IdToken).source, 'TokenGeneration_RefreshTokens');
    assert.equal(jwtPayload(viaApi.AuthenticationResult.AccessToken).plan, 'pro');

    host.clear();
    const res = await fetch(new URL('/oauth2/token', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: WEB_CLIENT, refresh_token: first.RefreshToken }),
    });
    const json = await res.json();
    assert.equal(res.status, 200, JSON.stringify(json));
    assertEnvelope(theEvent('TokenGeneration_RefreshTokens', username),
      { source: 'TokenGeneration_RefreshTokens', userName: username, clientId: WEB_CLIENT, version: '3' });
    assert.equal(jwtPayload(json.id_token).source, 'TokenGeneration_RefreshTokens');
    assert.deepEqual(host.calls().map((c) => c.event.triggerSource), ['TokenGeneration_RefreshTokens'], 'a refresh is not a sign-in');
  });

  test('TokenGeneration_AuthenticateDevice: a device remembered by amazon-cognito-identity-js signs in by DEVICE_SRP_AUTH', async () => {
    const { poolId, clientId } = pools.devices;
    const username = unique('device');
    await confirmedUser(poolId, username, `${username}@example.test`);
    const items = {};
    const storage = {
      setItem: (k, v) => { items[k] = String(v); }, getItem: (k) => items[k] ?? null,
      removeItem: (k) => delete items[k], clear: () => Object.keys(items).forEach((k) => delete items[k]),
    };
    const pool = new CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint: `${server.url}/`, Storage: storage });
    const user = new CognitoUser({ Username: username, Pool: pool, Storage: storage });
    const signInOnce = () => new Promise((resolve, reject) => {
      user.authenticateUser(new AuthenticationDetails({ Username: username, Password: PASSWORD }), {
        onSuccess: (session) => resolve(session), onFailure: reject,
        totpRequired: () => reject(new Error('TOTP asked')), mfaRequired: () => reject(new Error('MFA asked')),
      });
    });
    host.clear();
    const first = await signInOnce();
    assertEnvelope(theEvent('TokenGeneration_Authentication', username),
      { source: 'TokenGeneration_Authentication', poolId, userName: username, clientId, version: '3' });
    assert.equal(theEvent('PostAuthentication_Authentication', username).request.newDeviceUsed, true, 'a new device');
    const deviceKey = first.getAccessToken().decodePayload().device_key;
    assert.ok(deviceKey, 'the device is tracked');
    assert.equal(items[`CognitoIdentityServiceProvider.${clientId}.${username}.deviceKey`], deviceKey, 'and confirmed by the library');
    assert.equal(await new Promise((resolve, reject) => user.setDeviceStatusRemembered({ onSuccess: resolve, onFailure: reject })), 'SUCCESS');

    host.clear();
    const second = await signInOnce();
    assert.equal(second.getAccessToken().decodePayload().device_key, deviceKey);
    const gen = theEvent('TokenGeneration_AuthenticateDevice', username);
    assertEnvelope(gen, { source: 'TokenGeneration_AuthenticateDevice', poolId, userName: username, clientId, version: '3' });
    assert.equal(second.getIdToken().decodePayload().source, 'TokenGeneration_AuthenticateDevice');
    assert.equal(second.getAccessToken().decodePayload().plan, 'pro');
    assert.equal(theEvent('PostAuthentication_Authentication', username).request.newDeviceUsed, false, 'the remembered device was proven');
    assert.equal(eventsOf('TokenGeneration_Authentication').length, 0, trace());
  });

  test('PreAuthentication_Authentication for CUSTOM_AUTH: before the first challenge, with ClientMetadata as validationData; a refusal makes no challenge', async () => {
    const { poolId, clientId } = pools.custom;
    const username = unique('custpre');
    await confirmedUser(poolId, username, `${username}@example.test`);
    host.clear();
    const started = await send('InitiateAuth', {
      ClientId: clientId, AuthFlow: 'CUSTOM_AUTH', AuthParameters: { USERNAME: username }, ClientMetadata: { app: 'otp' },
    });
    assert.equal(started.ChallengeName, 'CUSTOM_CHALLENGE');
    const pre = theEvent('PreAuthentication_Authentication', username);
    assertEnvelope(pre, { source: 'PreAuthentication_Authentication', poolId, userName: username, clientId });
    assert.deepEqual(pre.request.validationData, { app: 'otp' });
    assert.deepEqual(host.calls().map((c) => c.event.triggerSource),
      ['PreAuthentication_Authentication', 'DefineAuthChallenge_Authentication', 'CreateAuthChallenge_Authentication'], trace());

    const suspended = unique('custsusp');
    await confirmedUser(poolId, suspended, `${suspended}@suspended.example`);
    host.clear();
    await refusedWith(send('InitiateAuth', { ClientId: clientId, AuthFlow: 'CUSTOM_AUTH', AuthParameters: { USERNAME: suspended } }),
      'UserLambdaValidationException', 'PreAuthentication failed with error Account suspended.');
    assert.deepEqual(host.calls().map((c) => c.event.triggerSource), ['PreAuthentication_Authentication'], trace());
  });

  test('CustomMessage_ForgotPassword from AdminResetUserPassword: the app\'s wording, and the code resets the password', async () => {
    const username = unique('admreset');
    const email = `${username}@example.test`;
    await confirmedUser(MAIN_POOL, username, email);
    host.clear();
    await send('AdminResetUserPassword', { UserPoolId: MAIN_POOL, Username: username });
    const event = theEvent('CustomMessage_ForgotPassword', username);
    assertEnvelope(event, { source: 'CustomMessage_ForgotPassword', userName: username, clientId: CLIENT_ID_NOT_APPLICABLE });
    assert.equal(event.request.codeParameter, '{####}');
    assert.equal((await send('AdminGetUser', { UserPoolId: MAIN_POOL, Username: username })).UserStatus, 'RESET_REQUIRED');
    const code = await outboxCode(dir, email, { pattern: /Someone asked to reset it: your code is (\d{6})\./ });
    await send('ConfirmForgotPassword', { ClientId: WEB_CLIENT, Username: username, ConfirmationCode: code, Password: NEW_PASSWORD });
    assert.ok((await passwordAuth(WEB_CLIENT, username, NEW_PASSWORD)).AuthenticationResult?.AccessToken);
  });

  // Cognito's API reference: UpdateUserAttributes and AdminResetUserPassword pass their
  // ClientMetadata to the custom message trigger, as the design's "the API passes ClientMetadata".
  test('ClientMetadata of UpdateUserAttributes and AdminResetUserPassword reaches CustomMessage', async () => {
    const username = unique('msgmeta');
    await confirmedUser(MAIN_POOL, username, `${username}@example.test`);
    const { AuthenticationResult: tokens } = await passwordAuth(WEB_CLIENT, username);
    host.clear();
    await send('UpdateUserAttributes', {
      AccessToken: tokens.AccessToken, UserAttributes: attrs({ email: `${username}@new.example.test` }), ClientMetadata: { by: 'user' },
    });
    const other = unique('msgmeta');
    await confirmedUser(MAIN_POOL, other, `${other}@example.test`);
    await send('AdminResetUserPassword', { UserPoolId: MAIN_POOL, Username: other, ClientMetadata: { by: 'helpdesk' } });
    const messages = host.calls().filter((c) => c.event.triggerSource.startsWith('CustomMessage_'));
    assert.deepEqual(messages.map((c) => [c.event.triggerSource, c.event.userName, c.event.request.clientMetadata ?? null]), [
      ['CustomMessage_UpdateUserAttribute', username, { by: 'user' }],
      ['CustomMessage_ForgotPassword', other, { by: 'helpdesk' }],
    ], trace());
  });

  test('CustomEmailSender_ResendCode, _UpdateUserAttribute, _VerifyUserAttribute and _Authentication (email MFA): sealed codes that work', async () => {
    const { poolId, clientId } = pools.sender;
    const username = unique('sender2');
    const email = `${username}@example.test`;
    const last = (to, source) => {
      const found = customEmailSender.delivered.filter((d) => d.to === to && d.source === source).at(-1);
      assert.ok(found, `${source} to ${to}: ${JSON.stringify(customEmailSender.delivered.map((d) => [d.source, d.to, d.error]))}`);
      assert.equal(found.type, 'customEmailSenderRequestV1');
      assert.match(found.code, /^\d{6}$/);
      assert.equal(found.context['userpool-id'], poolId);
      return found.code;
    };
    await send('SignUp', { ClientId: clientId, Username: username, Password: PASSWORD, UserAttributes: attrs({ email }) });
    await send('ResendConfirmationCode', { ClientId: clientId, Username: username });
    await send('ConfirmSignUp', { ClientId: clientId, Username: username, ConfirmationCode: last(email, 'CustomEmailSender_ResendCode') });
    assert.equal((await send('AdminGetUser', { UserPoolId: poolId, Username: username })).UserStatus, 'CONFIRMED');

    const { AuthenticationResult: tokens } = await passwordAuth(clientId, username);
    const newEmail = `${username}@new.example.test`;
    await send('UpdateUserAttributes', { AccessToken: tokens.AccessToken, UserAttributes: attrs({ email: newEmail }) });
    last(newEmail, 'CustomEmailSender_UpdateUserAttribute');
    await send('GetUserAttributeVerificationCode', { AccessToken: tokens.AccessToken, AttributeName: 'email' });
    const verifyCode = last(newEmail, 'CustomEmailSender_VerifyUserAttribute');
    await send('VerifyUserAttribute', { AccessToken: tokens.AccessToken, AttributeName: 'email', Code: verifyCode });
    const { UserAttributes } = await send('AdminGetUser', { UserPoolId: poolId, Username: username });
    assert.equal(asMap(UserAttributes).email, newEmail);
    assert.equal(asMap(UserAttributes).email_verified, 'true');

    await send('AdminSetUserMFAPreference', { UserPoolId: poolId, Username: username, EmailMfaSettings: { Enabled: true, PreferredMfa: true } });
    const started = await passwordAuth(clientId, username);
    assert.equal(started.ChallengeName, 'EMAIL_OTP');
    const done = await send('RespondToAuthChallenge', {
      ClientId: clientId, ChallengeName: 'EMAIL_OTP', Session: started.Session,
      ChallengeResponses: { USERNAME: username, EMAIL_OTP_CODE: last(newEmail, 'CustomEmailSender_Authentication') },
    });
    assert.ok(done.AuthenticationResult?.AccessToken, 'the sealed MFA code signs in');
    assert.equal(outboxMessages(dir, email).length + outboxMessages(dir, newEmail).length, 0, 'nothing mailed by the server');
  });
});

describe('federation (oidc-provider)', () => {
  const RP_ID = 'userpool-rp';
  const RP_SECRET = `rp-${randomBytes(12).toString('hex')}`;
  const accounts = new Map();
  let idp;
  let fedClient;

  before(async () => {
    const port = await freePort();
    idp = await startIdp({ port, clientId: RP_ID, clientSecret: RP_SECRET, redirectUris: [`${server.url}/oauth2/idpresponse`], accounts });
    await send('CreateIdentityProvider', {
      UserPoolId: MAIN_POOL, ProviderName: 'Corp', ProviderType: 'OIDC',
      ProviderDetails: {
        client_id: RP_ID, client_secret: RP_SECRET, authorize_scopes: 'openid email profile', oidc_issuer: idp.issuer,
        attributes_request_method: 'GET',
      },
      AttributeMapping: { email: 'email', name: 'name', email_verified: 'email_verified' },
    });
    ({ UserPoolClient: { ClientId: fedClient } } = await send('CreateUserPoolClient', {
      UserPoolId: MAIN_POOL, ClientName: 'federated', AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile'], CallbackURLs: [REDIRECT_URI], SupportedIdentityProviders: ['Corp'],
    }));
  });

  after(async () => { await idp?.stop(); });

  /**
   * /oauth2/authorize?identity_provider=Corp through the provider's login and consent forms (its
   * development interactions, any password) back to /oauth2/idpresponse and on to the app: the
   * callback URL and the PKCE verifier. Plain fetch, a cookie jar per site.
   */
  async function federate(sub) {
    const { verifier, challenge } = pkcePair();
    const ours = new CookieJar();
    const theirs = new CookieJar();
    let url = new URL('/oauth2/authorize', server.url);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: fedClient, redirect_uri: REDIRECT_URI, scope: 'openid email profile',
      state: 'fed', identity_provider: 'Corp', code_challenge: challenge, code_challenge_method: 'S256',
    }).toString();
    for (let hops = 0; hops < 20; hops++) {
      if (url.href.startsWith(`${REDIRECT_URI}?`)) return { callback: url, verifier };
      const jar = url.origin === idp.issuer ? theirs : ours;
      const res = await getWith(url, jar);
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        url = new URL(res.headers.get('location'), url);
        continue;
      }
      const html = await res.text();
      assert.equal(res.status, 200, `GET ${url}: ${res.status} ${html.slice(0, 500)}`);
      assert.equal(url.origin, idp.issuer, `a page of the provider, not ${url}:\n${html.slice(0, 500)}`);
      const form = formIn(html, url);
      const fields = 'login' in form.fields ? { login: sub, password: 'any-password' } : {};
      const posted = await fetch(form.action, {
        method: 'POST', redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: theirs.header() },
        body: new URLSearchParams({ ...form.fields, ...fields }),
      });
      theirs.store(posted);
      await posted.body?.cancel();
      assert.ok(posted.status >= 300 && posted.status < 400, `POST ${form.action}: ${posted.status}`);
      url = new URL(posted.headers.get('location'), form.action);
    }
    assert.fail(`no callback after 20 hops; at ${url}`);
  }

  async function redeem({ callback, verifier }) {
    assert.equal(callback.searchParams.get('error'), null, `${callback}`);
    const res = await fetch(new URL('/oauth2/token', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', client_id: fedClient, code: callback.searchParams.get('code'),
        redirect_uri: REDIRECT_URI, code_verifier: verifier,
      }),
    });
    const json = await res.json();
    assert.equal(res.status, 200, JSON.stringify(json));
    return json;
  }

  test('a first sign-in: PreSignUp_ExternalProvider, PostConfirmation_ConfirmSignUp, TokenGeneration_HostedAuth; the next only TokenGeneration_HostedAuth', async () => {
    const sub = unique('fed');
    const email = `${sub}@corp.example`;
    accounts.set(sub, { email, email_verified: true, name: 'Fed Eral' });
    const userName = `corp_${sub}`;
    host.clear();
    const tokens = await redeem(await federate(sub));
    assert.deepEqual(host.calls().map((c) => [c.event.triggerSource, c.event.userName]), [
      ['PreSignUp_ExternalProvider', userName],
      ['PostConfirmation_ConfirmSignUp', userName],
      ['TokenGeneration_HostedAuth', userName],
    ], trace());
    const pre = theEvent('PreSignUp_ExternalProvider', userName);
    assertEnvelope(pre, { source: 'PreSignUp_ExternalProvider', userName, clientId: fedClient });
    assert.equal(pre.request.userAttributes.email, email);
    assert.equal(pre.request.userAttributes.name, 'Fed Eral');
    assert.deepEqual(JSON.parse(pre.request.userAttributes.identities).map((i) => [i.providerName, i.providerType, i.userId]),
      [['Corp', 'OIDC', sub]]);
    const post = theEvent('PostConfirmation_ConfirmSignUp', userName);
    assertEnvelope(post, { source: 'PostConfirmation_ConfirmSignUp', userName, clientId: fedClient });
    assert.match(post.request.userAttributes.sub, /^[0-9a-f-]{36}$/);
    assert.equal(post.request.userAttributes['cognito:user_status'], 'EXTERNAL_PROVIDER');
    assert.equal(postConfirmation.profiles.get(userName)?.email, email);
    const gen = theEvent('TokenGeneration_HostedAuth', userName);
    assertEnvelope(gen, { source: 'TokenGeneration_HostedAuth', userName, clientId: fedClient, version: '3' });
    assert.equal(gen.request.userAttributes.email, email);
    const id = jwtPayload(tokens.id_token);
    assert.equal(id['cognito:username'], userName);
    assert.equal(id.sub, post.request.userAttributes.sub);
    assert.equal(id.source, 'TokenGeneration_HostedAuth');
    assert.equal(id.identities?.[0]?.providerName, 'Corp');
    assert.equal(jwtPayload(tokens.access_token).plan, 'pro');
    assert.equal((await send('AdminGetUser', { UserPoolId: MAIN_POOL, Username: userName })).UserStatus, 'EXTERNAL_PROVIDER');

    host.clear();
    const again = await redeem(await federate(sub));
    assert.deepEqual(host.calls().map((c) => [c.event.triggerSource, c.event.userName]),
      [['TokenGeneration_HostedAuth', userName]], trace());
    assert.equal(jwtPayload(again.id_token).sub, id.sub, 'the same user');
  });

  test('a PreSignUp that refuses a federated user: error=invalid_request with its message at the app, no user', async () => {
    const sub = unique('fedblock');
    accounts.set(sub, { email: `${sub}@blocked.example`, email_verified: true, name: 'Blocked' });
    const userName = `corp_${sub}`;
    host.clear();
    const { callback } = await federate(sub);
    assert.equal(callback.searchParams.get('error'), 'invalid_request', `${callback}`);
    assert.equal(callback.searchParams.get('error_description'), 'PreSignUp failed with error Sign-ups from blocked.example are closed.');
    assert.equal(callback.searchParams.get('state'), 'fed');
    assert.equal(callback.searchParams.get('code'), null);
    assertEnvelope(theEvent('PreSignUp_ExternalProvider', userName), { source: 'PreSignUp_ExternalProvider', userName, clientId: fedClient });
    assert.equal(eventsOf('PostConfirmation_ConfirmSignUp').length, 0, trace());
    assert.equal(eventsOf('TokenGeneration_HostedAuth').length, 0, trace());
    await assertNoUser(MAIN_POOL, userName);
  });
});

// ---------------------------------------------------------------------------------------------
// Codes by text message. A pool that auto-verifies phone numbers confirms sign-ups by SMS;
// resets go to a verified phone (AccountRecoverySetting verified_phone_number first, or no
// setting); phone numbers are verified by SMS; invitations go by SMS when asked. The custom
// message trigger's `smsMessage` (≤ 140 characters, with {####}) is the text that reaches the
// phone, here the development outbox's `{millis}-{seq}-{phone}.sms` files; a CustomSMSSender
// gets the code sealed instead, and nothing is texted by the server.

describe('codes by text message (SMS): CustomMessage smsMessage and CustomSMSSender', () => {
  const SNS = { SnsCallerArn: `arn:aws:iam::${ACCOUNT}:role/userpool-sms`, ExternalId: 'userpool-triggers' };
  const SMS_TEXTS = {
    signUp: 'Acme: your sign-up code is ',
    resend: 'Acme: your sign-up code, again: ',
    forgot: 'Acme: reset your password with ',
    update: 'Acme: confirm your new number with ',
    verify: 'Acme: verify your number with ',
  };
  const seenSms = new Set();
  /** A phone number of its own for each user, so that outbox files name one user each. */
  const newPhone = () => `+1555${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;

  /** The outbox's text messages to `phone`, oldest first, as { name, text } (the body alone). */
  function smsMessages(phone) {
    let names;
    try { names = readdirSync(join(dir, 'outbox')); } catch { return []; }
    return names
      .map((name) => ({ name, m: name.match(/^(\d+)-(\d+)-(.+)\.sms$/) }))
      .filter(({ m }) => m && m[3] === phone)
      .sort((a, b) => Number(a.m[1]) - Number(b.m[1]) || Number(a.m[2]) - Number(b.m[2]))
      .map(({ name }) => ({ name, text: readFileSync(join(dir, 'outbox', name), 'utf8') }));
  }
  /** The newest text to `phone` not read before; waits up to 5 s for it. */
  async function newestSms(phone) {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const fresh = smsMessages(phone).filter(({ name }) => !seenSms.has(name)).at(-1);
      if (fresh) {
        seenSms.add(fresh.name);
        return fresh.text;
      }
      assert.ok(Date.now() < deadline, `no new text message to ${phone} in ${join(dir, 'outbox')}`);
      await sleep(100);
    }
  }
  /** The six-digit code of a text that is exactly `prefix` followed by the code. */
  function codeAfter(text, prefix) {
    assert.ok(text.startsWith(prefix), `the app's text, not ${JSON.stringify(text)}`);
    const code = text.slice(prefix.length);
    assert.match(code, /^\d{6}$/, `the code in place of {####}: ${JSON.stringify(text)}`);
    return code;
  }
  /** CodeDeliveryDetails of a text to `phone`, masked as Cognito masks it (its last four digits). */
  function assertSmsDelivery(details, phone) {
    assert.equal(details?.DeliveryMedium, 'SMS', JSON.stringify(details));
    assert.equal(details.AttributeName, 'phone_number', JSON.stringify(details));
    assert.match(details.Destination, /^\+\*+\d{4}$/, JSON.stringify(details));
    assert.ok(details.Destination.endsWith(phone.slice(-4)), JSON.stringify(details));
  }
  /** The one CustomSMSSender delivery of `source` to `phone` (waits up to 5 s): its opened code. */
  async function sentTo(phone, source, poolId) {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = smsSender.delivered.filter((d) => d.to === phone && d.source === source);
      if (found.length) {
        assert.equal(found.length, 1, `one ${source} to ${phone}: ${JSON.stringify(found)}`);
        const [d] = found;
        assert.equal(d.error, undefined, `the sender opened the code: ${d.error}`);
        assert.equal(d.type, 'customSMSSenderRequestV1', JSON.stringify(d));
        assert.match(d.code, /^\d{6}$|^\S{8,}$/, JSON.stringify(d));
        assert.equal(d.context['userpool-id'], poolId, JSON.stringify(d.context));
        return d.code;
      }
      assert.ok(Date.now() < deadline, `${source} to ${phone}: ${JSON.stringify(smsSender.delivered.map((x) => [x.source, x.to, x.error]))}; calls: ${trace()}`);
      await sleep(100);
    }
  }
  /** The sender's event of `source` for `userName`: as received, through the webhook, the code sealed. */
  function senderEvent(source, { poolId, userName, clientId, phone, code }) {
    const calls = eventsOf(source, userName);
    assert.equal(calls.length, 1, `one ${source} for ${userName}: ${trace()}`);
    const [call] = calls;
    assert.equal(call.via, 'webhook');
    assert.equal(call.path, '/webhook/smsSender');
    assertEnvelope(call.event, { source, poolId, userName, clientId });
    assert.equal(call.event.request.type, 'customSMSSenderRequestV1');
    assert.equal(call.event.request.userAttributes.phone_number, phone);
    assert.equal(typeof call.event.request.code, 'string');
    assert.ok(!call.event.request.code.includes(code), 'the code is sealed, not in the clear');
    return call.event;
  }
  /** The custom message event of `source` for `userName`, called through Lambda's Invoke. */
  function messageEvent(source, { poolId, userName, clientId, phone }) {
    const calls = eventsOf(source, userName);
    assert.equal(calls.length, 1, `one ${source} for ${userName}: ${trace()}`);
    const [call] = calls;
    assert.equal(call.via, 'lambda');
    assert.equal(call.functionName, 'smsCustomMessage');
    assertEnvelope(call.event, { source, poolId, userName, clientId });
    assert.equal(call.event.request.codeParameter, '{####}');
    assert.equal(call.event.request.userAttributes.phone_number, phone);
    return call.event;
  }
  async function userAttributes(poolId, username) {
    const user = await send('AdminGetUser', { UserPoolId: poolId, Username: username });
    return { status: user.UserStatus, ...asMap(user.UserAttributes) };
  }
  /** Nothing was texted to these phones by the server (after a moment for a detached send). */
  async function assertNoSms(...phones) {
    await sleep(300);
    for (const phone of phones) assert.deepEqual(smsMessages(phone).map((m) => m.text), [], `no text to ${phone}`);
  }

  before(async () => {
    // Resets: a verified phone first, then a verified email.
    await apiPool('smsmsg', { CustomMessage: arn('smsCustomMessage') }, {
      extra: {
        AutoVerifiedAttributes: ['phone_number'], SmsConfiguration: SNS,
        AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_phone_number', Priority: 1 }, { Name: 'verified_email', Priority: 2 }] },
      },
    });
    // No AccountRecoverySetting: Cognito's legacy order, a verified phone first. The sender is a webhook.
    await apiPool('smssender', {
      CustomSMSSender: { LambdaVersion: 'V1_0', LambdaArn: `${host.url}/webhook/smsSender` },
      KMSKeyID: CODE_KEY_NAME,
    }, { extra: { AutoVerifiedAttributes: ['phone_number'], SmsConfiguration: SNS } });
  });

  test('CustomMessage_SignUp and CustomMessage_ResendCode by SMS: the smsMessage is the text (code in place), and its code confirms and verifies the phone', async () => {
    const { poolId, clientId } = pools.smsmsg;
    const username = unique('smsup');
    const phone = newPhone();
    const out = await send('SignUp', {
      ClientId: clientId, Username: username, Password: PASSWORD, UserAttributes: attrs({ phone_number: phone }),
    });
    assert.equal(out.UserConfirmed, false);
    assertSmsDelivery(out.CodeDeliveryDetails, phone);
    const first = await newestSms(phone);
    codeAfter(first, SMS_TEXTS.signUp);
    assert.doesNotMatch(first, /\{####\}/);
    messageEvent('CustomMessage_SignUp', { poolId, userName: username, clientId, phone });

    const resent = await send('ResendConfirmationCode', { ClientId: clientId, Username: username });
    assertSmsDelivery(resent.CodeDeliveryDetails, phone);
    const code = codeAfter(await newestSms(phone), SMS_TEXTS.resend);
    messageEvent('CustomMessage_ResendCode', { poolId, userName: username, clientId, phone });
    assert.equal(smsMessages(phone).length, 2, 'one text each, the app\'s');

    await send('ConfirmSignUp', { ClientId: clientId, Username: username, ConfirmationCode: code });
    const user = await userAttributes(poolId, username);
    assert.equal(user.status, 'CONFIRMED');
    assert.equal(user.phone_number, phone);
    assert.equal(user.phone_number_verified, 'true', 'the code went to the phone: it is verified');
    assert.ok((await passwordAuth(clientId, username)).AuthenticationResult?.AccessToken);
  });

  test('smsMessage rules: exactly 140 characters replaces the text; 141, or no {####}, leaves the default text, whose code still confirms', async () => {
    const { poolId, clientId } = pools.smsmsg;
    const fits = unique('sms140-');
    const fitsPhone = newPhone();
    await send('SignUp', { ClientId: clientId, Username: fits, Password: PASSWORD, UserAttributes: attrs({ phone_number: fitsPhone }) });
    const template = smsCustomMessage.sized(140);
    assert.equal(template.length, 140);
    const text = await newestSms(fitsPhone);
    assert.equal(text.length, 140, JSON.stringify(text));
    const code140 = codeAfter(text, template.slice(0, -'{####}'.length));
    messageEvent('CustomMessage_SignUp', { poolId, userName: fits, clientId, phone: fitsPhone });
    await send('ConfirmSignUp', { ClientId: clientId, Username: fits, ConfirmationCode: code140 });
    assert.equal((await userAttributes(poolId, fits)).status, 'CONFIRMED');

    for (const prefix of ['sms141-', 'smsnocode-']) {
      const username = unique(prefix);
      const phone = newPhone();
      await send('SignUp', { ClientId: clientId, Username: username, Password: PASSWORD, UserAttributes: attrs({ phone_number: phone }) });
      const fallback = await newestSms(phone);
      messageEvent('CustomMessage_SignUp', { poolId, userName: username, clientId, phone });
      assert.ok(!fallback.startsWith('Acme: '), `${prefix}: the default text, not the trigger's: ${JSON.stringify(fallback)}`);
      assert.doesNotMatch(fallback, /\{####\}/);
      const code = fallback.match(/\b(\d{6})\b/)?.[1];
      assert.ok(code, `${prefix}: a code in the default text: ${JSON.stringify(fallback)}`);
      await send('ConfirmSignUp', { ClientId: clientId, Username: username, ConfirmationCode: code });
      assert.equal((await userAttributes(poolId, username)).status, 'CONFIRMED', prefix);
      assert.equal(smsMessages(phone).length, 1, `${prefix}: one text`);
    }
  });

  test('CustomMessage_ForgotPassword by SMS to a verified phone (AccountRecoverySetting phone first), the code resets; an unverified phone falls to the email', async () => {
    const { poolId, clientId } = pools.smsmsg;
    const username = unique('smsfp');
    const email = `${username}@example.test`;
    const phone = newPhone();
    await confirmedUser(poolId, username, email, { phone_number: phone, phone_number_verified: 'true' });
    host.clear();
    const out = await send('ForgotPassword', { ClientId: clientId, Username: username });
    assertSmsDelivery(out.CodeDeliveryDetails, phone);
    const code = codeAfter(await newestSms(phone), SMS_TEXTS.forgot);
    const event = messageEvent('CustomMessage_ForgotPassword', { poolId, userName: username, clientId, phone });
    assert.equal(event.request.userAttributes.phone_number_verified, 'true');
    await sleep(300);
    assert.deepEqual(outboxMessages(dir, email), [], 'the verified phone comes first: nothing mailed');
    await send('ConfirmForgotPassword', { ClientId: clientId, Username: username, ConfirmationCode: code, Password: NEW_PASSWORD });
    assert.ok((await passwordAuth(clientId, username, NEW_PASSWORD)).AuthenticationResult?.AccessToken);
    await refusedWith(passwordAuth(clientId, username, PASSWORD), 'NotAuthorizedException');

    // The phone is not verified: the next mechanism, the verified email (the default email text).
    const other = unique('smsfpmail');
    const otherEmail = `${other}@example.test`;
    const otherPhone = newPhone();
    await confirmedUser(poolId, other, otherEmail, { phone_number: otherPhone });
    const mailed = await send('ForgotPassword', { ClientId: clientId, Username: other });
    assert.equal(mailed.CodeDeliveryDetails?.DeliveryMedium, 'EMAIL', JSON.stringify(mailed.CodeDeliveryDetails));
    assert.equal(mailed.CodeDeliveryDetails.AttributeName, 'email');
    const mailedCode = await outboxCode(dir, otherEmail, { pattern: /\b(\d{6})\b/ });
    assert.equal(eventsOf('CustomMessage_ForgotPassword', other).length, 1, trace());
    await assertNoSms(otherPhone);
    await send('ConfirmForgotPassword', { ClientId: clientId, Username: other, ConfirmationCode: mailedCode, Password: NEW_PASSWORD });
    assert.ok((await passwordAuth(clientId, other, NEW_PASSWORD)).AuthenticationResult?.AccessToken);
  });

  test('CustomMessage_UpdateUserAttribute (a new phone_number) and CustomMessage_VerifyUserAttribute (GetUserAttributeVerificationCode phone_number) by SMS: the codes verify', async () => {
    const { poolId, clientId } = pools.smsmsg;
    const username = unique('smsupd');
    const oldPhone = newPhone();
    const phone = newPhone();
    await confirmedUser(poolId, username, `${username}@example.test`, { phone_number: oldPhone, phone_number_verified: 'true' });
    const { AuthenticationResult: tokens } = await passwordAuth(clientId, username);
    host.clear();
    const updated = await send('UpdateUserAttributes', { AccessToken: tokens.AccessToken, UserAttributes: attrs({ phone_number: phone }) });
    assert.equal(updated.CodeDeliveryDetailsList?.length, 1, JSON.stringify(updated));
    assertSmsDelivery(updated.CodeDeliveryDetailsList[0], phone);
    const updateCode = codeAfter(await newestSms(phone), SMS_TEXTS.update);
    messageEvent('CustomMessage_UpdateUserAttribute', { poolId, userName: username, clientId, phone });
    await assertNoSms(oldPhone);
    let user = await userAttributes(poolId, username);
    assert.equal(user.phone_number, phone);
    assert.notEqual(user.phone_number_verified, 'true', 'the new number awaits its code');
    await send('VerifyUserAttribute', { AccessToken: tokens.AccessToken, AttributeName: 'phone_number', Code: updateCode });
    user = await userAttributes(poolId, username);
    assert.equal(user.phone_number, phone);
    assert.equal(user.phone_number_verified, 'true');

    const verifier = unique('smsver');
    const verifierPhone = newPhone();
    await confirmedUser(poolId, verifier, `${verifier}@example.test`, { phone_number: verifierPhone });
    const { AuthenticationResult: theirs } = await passwordAuth(clientId, verifier);
    host.clear();
    const asked = await send('GetUserAttributeVerificationCode', { AccessToken: theirs.AccessToken, AttributeName: 'phone_number' });
    assertSmsDelivery(asked.CodeDeliveryDetails, verifierPhone);
    const verifyCode = codeAfter(await newestSms(verifierPhone), SMS_TEXTS.verify);
    messageEvent('CustomMessage_VerifyUserAttribute', { poolId, userName: verifier, clientId, phone: verifierPhone });
    assert.equal((await userAttributes(poolId, verifier)).phone_number_verified ?? 'false', 'false');
    await send('VerifyUserAttribute', { AccessToken: theirs.AccessToken, AttributeName: 'phone_number', Code: verifyCode });
    assert.equal((await userAttributes(poolId, verifier)).phone_number_verified, 'true');
  });

  test('CustomMessage_AdminCreateUser by SMS (DesiredDeliveryMediums SMS): {username} and {####} (the temporary password) in place; the password signs in', async () => {
    const { poolId, clientId } = pools.smsmsg;
    const username = unique('smsadm');
    const phone = newPhone();
    await send('AdminCreateUser', {
      UserPoolId: poolId, Username: username, DesiredDeliveryMediums: ['SMS'],
      UserAttributes: attrs({ phone_number: phone, phone_number_verified: 'true' }),
    });
    const text = await newestSms(phone);
    const prefix = `Acme: hi ${username}, your temporary password is `;
    assert.ok(text.startsWith(prefix), `the app's text with the username in place: ${JSON.stringify(text)}`);
    const temporary = text.slice(prefix.length);
    assert.ok(temporary.length >= 8 && !/[{}\s]/.test(temporary), `a temporary password in place of {####}: ${JSON.stringify(text)}`);
    const event = messageEvent('CustomMessage_AdminCreateUser', { poolId, userName: username, clientId: CLIENT_ID_NOT_APPLICABLE, phone });
    assert.equal(event.request.usernameParameter, '{username}');
    assert.equal((await userAttributes(poolId, username)).status, 'FORCE_CHANGE_PASSWORD');

    const challenged = await passwordAuth(clientId, username, temporary);
    assert.equal(challenged.ChallengeName, 'NEW_PASSWORD_REQUIRED', 'the texted temporary password works');
    const done = await send('RespondToAuthChallenge', {
      ClientId: clientId, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: challenged.Session,
      ChallengeResponses: { USERNAME: username, NEW_PASSWORD: PASSWORD },
    });
    assert.ok(done.AuthenticationResult?.AccessToken);
  });

  test('CustomSMSSender_SignUp, _ResendCode and _ForgotPassword (webhook): sealed codes that open and confirm, then reset; nothing texted by the server', async () => {
    const { poolId, clientId } = pools.smssender;
    const username = unique('smssend');
    const phone = newPhone();
    smsSender.delivered.length = 0;
    const out = await send('SignUp', {
      ClientId: clientId, Username: username, Password: PASSWORD, UserAttributes: attrs({ phone_number: phone }),
    });
    assert.equal(out.UserConfirmed, false);
    assertSmsDelivery(out.CodeDeliveryDetails, phone);
    const signUpCode = await sentTo(phone, 'CustomSMSSender_SignUp', poolId);
    assert.match(signUpCode, /^\d{6}$/);
    senderEvent('CustomSMSSender_SignUp', { poolId, userName: username, clientId, phone, code: signUpCode });

    const resent = await send('ResendConfirmationCode', { ClientId: clientId, Username: username });
    assertSmsDelivery(resent.CodeDeliveryDetails, phone);
    const code = await sentTo(phone, 'CustomSMSSender_ResendCode', poolId);
    assert.match(code, /^\d{6}$/);
    senderEvent('CustomSMSSender_ResendCode', { poolId, userName: username, clientId, phone, code });
    await send('ConfirmSignUp', { ClientId: clientId, Username: username, ConfirmationCode: code });
    let user = await userAttributes(poolId, username);
    assert.equal(user.status, 'CONFIRMED');
    assert.equal(user.phone_number_verified, 'true');

    // No AccountRecoverySetting: the verified phone.
    const asked = await send('ForgotPassword', { ClientId: clientId, Username: username });
    assertSmsDelivery(asked.CodeDeliveryDetails, phone);
    const resetCode = await sentTo(phone, 'CustomSMSSender_ForgotPassword', poolId);
    assert.match(resetCode, /^\d{6}$/);
    senderEvent('CustomSMSSender_ForgotPassword', { poolId, userName: username, clientId, phone, code: resetCode });
    await send('ConfirmForgotPassword', { ClientId: clientId, Username: username, ConfirmationCode: resetCode, Password: NEW_PASSWORD });
    assert.ok((await passwordAuth(clientId, username, NEW_PASSWORD)).AuthenticationResult?.AccessToken);

    assert.equal(eventsOf('CustomMessage_SignUp').length + eventsOf('CustomMessage_ForgotPassword').length, 0, trace());
    await assertNoSms(phone);
    assertAllVia('webhook');
  });

  test('CustomSMSSender_UpdateUserAttribute, _VerifyUserAttribute and _AdminCreateUser (webhook): the codes verify the phone, the temporary password signs in', async () => {
    const { poolId, clientId } = pools.smssender;
    smsSender.delivered.length = 0;
    const username = unique('smssupd');
    const email = `${username}@example.test`;
    const oldPhone = newPhone();
    const phone = newPhone();
    await confirmedUser(poolId, username, email, { phone_number: oldPhone, phone_number_verified: 'true' });
    const { AuthenticationResult: tokens } = await passwordAuth(clientId, username);
    host.clear();
    const updated = await send('UpdateUserAttributes', { AccessToken: tokens.AccessToken, UserAttributes: attrs({ phone_number: phone }) });
    assert.equal(updated.CodeDeliveryDetailsList?.length, 1, JSON.stringify(updated));
    assertSmsDelivery(updated.CodeDeliveryDetailsList[0], phone);
    const updateCode = await sentTo(phone, 'CustomSMSSender_UpdateUserAttribute', poolId);
    assert.match(updateCode, /^\d{6}$/);
    senderEvent('CustomSMSSender_UpdateUserAttribute', { poolId, userName: username, clientId, phone, code: updateCode });
    await send('VerifyUserAttribute', { AccessToken: tokens.AccessToken, AttributeName: 'phone_number', Code: updateCode });
    let user = await userAttributes(poolId, username);
    assert.equal(user.phone_number, phone);
    assert.equal(user.phone_number_verified, 'true');

    const verifier = unique('smssver');
    const verifierPhone = newPhone();
    await confirmedUser(poolId, verifier, `${verifier}@example.test`, { phone_number: verifierPhone });
    const { AuthenticationResult: theirs } = await passwordAuth(clientId, verifier);
    const asked = await send('GetUserAttributeVerificationCode', { AccessToken: theirs.AccessToken, AttributeName: 'phone_number' });
    assertSmsDelivery(asked.CodeDeliveryDetails, verifierPhone);
    const verifyCode = await sentTo(verifierPhone, 'CustomSMSSender_VerifyUserAttribute', poolId);
    assert.match(verifyCode, /^\d{6}$/);
    senderEvent('CustomSMSSender_VerifyUserAttribute', { poolId, userName: verifier, clientId, phone: verifierPhone, code: verifyCode });
    await send('VerifyUserAttribute', { AccessToken: theirs.AccessToken, AttributeName: 'phone_number', Code: verifyCode });
    assert.equal((await userAttributes(poolId, verifier)).phone_number_verified, 'true');

    const invited = unique('smssinv');
    const invitedPhone = newPhone();
    await send('AdminCreateUser', {
      UserPoolId: poolId, Username: invited, DesiredDeliveryMediums: ['SMS'],
      UserAttributes: attrs({ phone_number: invitedPhone, phone_number_verified: 'true' }),
    });
    const temporary = await sentTo(invitedPhone, 'CustomSMSSender_AdminCreateUser', poolId);
    senderEvent('CustomSMSSender_AdminCreateUser', {
      poolId, userName: invited, clientId: CLIENT_ID_NOT_APPLICABLE, phone: invitedPhone, code: temporary,
    });
    const challenged = await passwordAuth(clientId, invited, temporary);
    assert.equal(challenged.ChallengeName, 'NEW_PASSWORD_REQUIRED', 'the temporary password the sender opened works');

    await assertNoSms(oldPhone, phone, verifierPhone, invitedPhone);
    assert.deepEqual(outboxMessages(dir, email), [], 'nothing mailed instead');
    assertAllVia('webhook');
  });
});
