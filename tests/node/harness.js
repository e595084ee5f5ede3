// Test harness: starts and stops userpool server processes, writes the seed, and performs the
// hosted-UI sign-in with plain fetch and hand-kept cookies (no browser).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate as totpGenerate } from 'otplib';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The binary cargo built: under CARGO_TARGET_DIR when the build put it elsewhere.
export const USERPOOL_BIN =
  process.env.USERPOOL_BIN ||
  join(resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR || 'target'), 'debug', 'userpool');

export const POOL_ID = 'us-east-1_NodeTest1';
export const SPA_CLIENT_ID = 'spaclient000000000000000001';
export const ROTATING_CLIENT_ID = 'rotclient000000000000000001';
export const M2M_CLIENT_ID = 'm2mclient000000000000000001';
export const M2M_CLIENT_SECRET = 'm2msecret0000000000000000000000001';
export const REDIRECT_URI = 'http://localhost:3000/cb';
export const LOGOUT_URI = 'http://localhost:3000/';
export const API_SCOPE = 'https://api.test/read';
export const USERNAME = 'alice';
export const PASSWORD = 'Passw0rd!';
export const EMAIL = 'alice@example.test';

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

// Everything started by this process, so that an aborted test run still cleans up.
const liveChildren = new Set();
const liveDirs = new Set();
process.on('exit', () => {
  for (const child of liveChildren) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const dir of liveDirs) {
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
  }
});

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * The seed: one pool whose custom domain is 127.0.0.1:PORT for one node, or 127.0.0.1 (any
 * port) for several: a pool has one custom domain, as in Cognito.
 */
export function makeSeed(ports) {
  const spa = {
    AllowedOAuthFlowsUserPoolClient: true,
    AllowedOAuthFlows: ['code'],
    AllowedOAuthScopes: ['openid', 'email', 'profile', API_SCOPE],
    CallbackURLs: [REDIRECT_URI],
    LogoutURLs: [LOGOUT_URI],
    SupportedIdentityProviders: ['COGNITO'],
  };
  return {
    UserPools: [{
      Id: POOL_ID,
      PoolName: 'node',
      UsernameConfiguration: { CaseSensitive: false },
      Domains: [{ Domain: ports.length === 1 ? `127.0.0.1:${ports[0]}` : '127.0.0.1' }],
      ResourceServers: [{
        Identifier: 'https://api.test',
        Name: 'api',
        Scopes: [{ ScopeName: 'read', ScopeDescription: 'r' }],
      }],
      Clients: [
        { ClientName: 'spa', ClientId: SPA_CLIENT_ID, ...spa },
        {
          ClientName: 'spa-rotating',
          ClientId: ROTATING_CLIENT_ID,
          ...spa,
          RefreshTokenRotation: { Feature: 'ENABLED', RetryGracePeriodSeconds: 0 },
        },
        {
          ClientName: 'm2m',
          ClientId: M2M_CLIENT_ID,
          ClientSecret: M2M_CLIENT_SECRET,
          AllowedOAuthFlowsUserPoolClient: true,
          AllowedOAuthFlows: ['client_credentials'],
          AllowedOAuthScopes: [API_SCOPE],
        },
      ],
      Groups: [{ GroupName: 'admins' }],
      Users: [{
        Username: USERNAME,
        Password: PASSWORD,
        UserAttributes: [
          { Name: 'email', Value: EMAIL },
          { Name: 'email_verified', Value: 'true' },
        ],
        Groups: ['admins'],
      }],
    }],
  };
}

/**
 * Starts one server process and resolves once it prints its "listening" line.
 * Rejects (after killing it) if it exits first or does not get ready in time.
 */
export function startServer({ port, database, seedPath, masterKey, awsIssuers = false, extraArgs = [] }) {
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--database', database, '--seed', seedPath];
  if (awsIssuers) args.push('--aws-issuers');
  args.push(...extraArgs);
  const child = spawn(USERPOOL_BIN, args, {
    env: { ...process.env, USERPOOL_MASTER_KEY: masterKey, USERPOOL_LOG_FORMAT: 'text', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  let output = '';
  const exited = new Promise((res) => child.once('exit', (code, signal) => {
    liveChildren.delete(child);
    res({ code, signal });
  }));

  const server = {
    port,
    url: `http://127.0.0.1:${port}`,
    issuer: `http://127.0.0.1:${port}/${POOL_ID}`,
    process: child,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
    },
  };

  return new Promise((resolveStart, rejectStart) => {
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        server.stop().finally(() => rejectStart(err));
      } else {
        resolveStart(server);
      }
    };
    const onData = (chunk) => {
      output += chunk.toString();
      if (output.includes('userpool listening on http://')) finish();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { output += chunk.toString(); });
    child.once('error', (err) => finish(new Error(`cannot run ${USERPOOL_BIN}: ${err.message}`)));
    exited.then(({ code, signal }) => finish(new Error(
      `userpool exited before it was ready (code ${code}, signal ${signal}):\n${output}`)));
    const timer = setTimeout(() => finish(new Error(
      `userpool not ready after ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
  });
}

/**
 * A temp dir, a seed covering `nodes` ports, and `nodes` servers on one database (SQLite in the
 * temp dir unless `database` is given). Retries with fresh ports if a port was taken meanwhile.
 * `seed(ports)` builds the seed (default `makeSeed`); `extraArgs` go to every node. With SQLite the development outbox is
 * `<dir>/outbox/` (see `outboxCode`).
 */
export async function startEnv({ nodes = 1, database, awsIssuers = false, seed = makeSeed, extraArgs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'userpool-node-'));
  liveDirs.add(dir);
  const masterKey = randomBytes(32).toString('base64');
  // USERPOOL_NODE_BACKEND=postgres runs the suites on a fresh PostgreSQL database each.
  const pgDb = !database && process.env.USERPOOL_NODE_BACKEND === 'postgres' ? await createPgDatabase() : null;
  const db = database ?? pgDb?.url ?? `sqlite://${join(dir, 'db.sqlite')}`;
  const seedPath = join(dir, 'seed.json');
  const servers = [];
  const env = {
    dir,
    servers,
    database: db,
    // For the command line (`userpool keys rotate`) on the same database.
    masterKey,
    async close() {
      for (const s of servers.splice(0)) await s.stop();
      if (pgDb) await pgDb.drop();
      rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    },
  };
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports = [];
    while (ports.length < nodes) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    writeFileSync(seedPath, JSON.stringify(seed(ports), null, 2));
    try {
      // One after the other: the first node applies the seed, the others find it in place.
      for (const port of ports) {
        servers.push(await startServer({ port, database: db, seedPath, masterKey, awsIssuers, extraArgs: ['--data-dir', dir, ...extraArgs] }));
      }
      return env;
    } catch (err) {
      lastError = err;
      for (const s of servers.splice(0)) await s.stop();
      if (!/address (already )?in use/i.test(String(err.message))) break;
    }
  }
  await env.close();
  throw lastError;
}

/** A fresh database on the server of USERPOOL_TEST_POSTGRES_URL, with its URL and a drop(). */
export async function createPgDatabase() {
  const admin = process.env.USERPOOL_TEST_POSTGRES_URL;
  if (!admin) throw new Error('USERPOOL_NODE_BACKEND=postgres needs USERPOOL_TEST_POSTGRES_URL');
  const { default: pg } = await import('pg');
  const name = `userpool_node_${randomBytes(6).toString('hex')}`;
  const run = async (sql) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try { await c.query(sql); } finally { await c.end(); }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

// ---------------------------------------------------------------------------------------------
// Development outbox: without --smtp-host the server writes each message to
// `<data-dir>/outbox/<millis>-<seq>-<recipient>.eml`, data-dir being the SQLite file's directory.

/** The outbox messages to `to`, oldest first, as { name, text }. */
export function outboxMessages(dir, to) {
  let names;
  try { names = readdirSync(join(dir, 'outbox')); } catch { return []; }
  const key = (name) => name.split('-', 2).map(Number);
  return names
    .filter((name) => name.endsWith('.eml'))
    .map((name) => ({ name, text: readFileSync(join(dir, 'outbox', name), 'utf8') }))
    .filter(({ text }) => new RegExp(`^To: *<?${to.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}>?\\s*$`, 'mi').test(text))
    .sort((a, b) => {
      const [am, an] = key(a.name);
      const [bm, bn] = key(b.name);
      return am - bm || an - bn;
    });
}

/**
 * The six-digit code in the newest outbox message to `to` that is not among `seen` (names of
 * messages already used) and matches `pattern`; waits up to `timeoutMs` for it to arrive.
 */
export async function outboxCode(dir, to, { seen = new Set(), pattern = /code is (\d{6})\b/, timeoutMs = 5_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fresh = outboxMessages(dir, to).filter(({ name }) => !seen.has(name));
    const newest = fresh.at(-1);
    const match = newest?.text.match(pattern);
    if (match) {
      seen.add(newest.name);
      return match[1];
    }
    if (Date.now() > deadline) {
      throw new Error(`no new message to ${to} matching ${pattern} in ${join(dir, 'outbox')}`
        + (newest ? `; newest:\n${newest.text}` : ''));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// Hosted UI sign-in with fetch and a tiny cookie jar.

/** Cookies by name; enough for one host at a time. */
export class CookieJar {
  constructor() { this.cookies = new Map(); }

  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a))
        || attrs.some((a) => /^\s*expires\s*=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now());
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(name) { return this.cookies.get(name); }
}

function decodeHtml(s) {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

async function get(url, jar) {
  const headers = {};
  if (jar.cookies.size) headers.cookie = jar.header();
  const res = await fetch(url, { redirect: 'manual', headers });
  jar.store(res);
  return res;
}

/**
 * Follows GET /oauth2/authorize to the sign-in page, posts the credentials and returns the
 * callback URL the server redirected to (with `code` and `state`), and the cookie jar.
 */
export async function signIn(authorizationUrl, { username = USERNAME, password = PASSWORD, jar = new CookieJar() } = {}) {
  let url = new URL(authorizationUrl);
  let res = await get(url, jar);
  assertStatus(res, 302, `GET ${url}`);
  url = new URL(res.headers.get('location'), url);
  if (!url.pathname.startsWith('/login')) {
    // Already signed in (session cookie): the server went straight to the callback.
    await res.body?.cancel();
    return { callbackUrl: url, jar };
  }
  await res.body?.cancel();
  res = await get(url, jar);
  assertStatus(res, 200, `GET ${url}`);
  const html = await res.text();
  const form = html.match(/<form[^>]*\baction="([^"]*)"/i);
  const csrf = html.match(/<input[^>]*name="_csrf"[^>]*value="([^"]*)"/i)
    ?? html.match(/<input[^>]*value="([^"]*)"[^>]*name="_csrf"/i);
  if (!csrf) throw new Error(`no _csrf input on the sign-in page:\n${html}`);
  const action = new URL(form ? decodeHtml(form[1]) : url.pathname + url.search, url);
  const body = new URLSearchParams({ _csrf: decodeHtml(csrf[1]), username, password });
  res = await fetch(action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body,
  });
  jar.store(res);
  if (res.status !== 302) {
    throw new Error(`POST ${action} answered ${res.status}, not 302:\n${await res.text()}`);
  }
  await res.body?.cancel();
  return { callbackUrl: new URL(res.headers.get('location'), action), jar };
}

function assertStatus(res, expected, what) {
  if (res.status !== expected) {
    throw new Error(`${what} answered ${res.status}, expected ${expected}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Library-free OAuth helpers (used where no OIDC client library is in play).

const b64url = (buf) => Buffer.from(buf).toString('base64url');

export function pkcePair() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

/** Code flow with PKCE against `baseUrl` using raw HTTP; returns the token response JSON. */
export async function rawCodeFlow(baseUrl, { clientId = SPA_CLIENT_ID, scope = `openid email profile ${API_SCOPE}` } = {}) {
  const { verifier, challenge } = pkcePair();
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const authorize = new URL('/oauth2/authorize', baseUrl);
  authorize.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, scope, state, nonce,
    code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();
  const { callbackUrl } = await signIn(authorize);
  if (callbackUrl.searchParams.get('state') !== state) throw new Error(`state mismatch: ${callbackUrl}`);
  const code = callbackUrl.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callbackUrl}`);
  const { res, json } = await redeemCode(baseUrl, { clientId, code, verifier });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(json)}`);
  return { ...json, nonce };
}

/** Client-credentials grant with client_secret_basic using raw HTTP. */
/** Redeems `code` (PKCE `verifier`) of a public client at the token endpoint: the response and its JSON. */
export async function redeemCode(baseUrl, { clientId, code, verifier, redirectUri = REDIRECT_URI }) {
  const res = await fetch(new URL('/oauth2/token', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: redirectUri,
      code_verifier: verifier,
    }),
  });
  return { res, json: await res.json() };
}

export async function rawClientCredentials(baseUrl, { scope = API_SCOPE } = {}) {
  const res = await fetch(new URL('/oauth2/token', baseUrl), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${M2M_CLIENT_ID}:${M2M_CLIENT_SECRET}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** The payload of a JWT, not verified. */
export function jwtPayload(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/**
 * The OAuth error code carried by an openid-client / oauth4webapi error: from the JSON body of a
 * ResponseBodyError, or from a WWW-Authenticate challenge (its `error` parameter, else the body).
 */
export async function oauthError(err) {
  if (err?.code === 'OAUTH_RESPONSE_BODY_ERROR') return { error: err.error, status: err.status };
  if (err?.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE') {
    const fromChallenge = err.cause?.find?.((c) => c.parameters?.error)?.parameters.error;
    if (fromChallenge) return { error: fromChallenge, status: err.status };
    const body = await err.response.json().catch(() => ({}));
    return { error: body.error, status: err.status };
  }
  throw err;
}

/**
 * A TOTP code for `secret` (base32) that the server has not seen yet: codes are good once, each
 * later than the last (RFC 6238 §5.2), within one 30-second step of now. `used` remembers the
 * last step used for that secret; waits for the clock when both steps near now are spent.
 */
export async function freshTotp(secret, used) {
  for (;;) {
    const now = Math.floor(Date.now() / 1000 / 30);
    const step = Math.max(now, (used.last ?? -Infinity) + 1);
    if (step <= now + 1) {
      used.last = step;
      return totpGenerate({ secret, epoch: step * 30 });
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/**
 * Nothing listens at the app's origin (`app`, e.g. http://localhost:3000): every request to it
 * gets a stub "app" page, whose URL carries the code and state. Not `page.route()`: Playwright never routes the hops of a redirect (the
 * server reaches the callback and logout URLs only by 302), it continues them to the network,
 * which fails with ERR_CONNECTION_REFUSED. Chromium's own Fetch interception does pause them.
 */
export async function stubApp(context, page, app) {
  const cdp = await context.newCDPSession(page);
  cdp.on('Fetch.requestPaused', ({ requestId }) => {
    cdp.send('Fetch.fulfillRequest', {
      requestId,
      responseCode: 200,
      responseHeaders: [{ name: 'content-type', value: 'text/html; charset=utf-8' }],
      body: Buffer.from('<!doctype html><title>app</title><h1>app</h1>').toString('base64'),
    }).catch(() => { /* the page went away */ });
  });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `${app}/*`, requestStage: 'Request' }] });
}

/**
 * The console errors and uncaught exceptions of `page`, collected as they come. Chromium asks
 * every origin for /favicon.ico on its own (the pages do not reference it): not counted.
 */
export function collectConsoleErrors(page) {
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const source = msg.location().url;
    if (source && new URL(source).pathname === '/favicon.ico') return;
    errors.push(`${page.url()}: ${msg.text()}${source ? ` [${source}]` : ''}`);
  });
  page.on('pageerror', (err) => errors.push(`${page.url()}: ${err.message}`));
  return errors;
}
