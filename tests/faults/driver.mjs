// The fault harness (issue 13): userpool nodes behind HAProxy under a steady mix of traffic while
// nodes are killed with SIGKILL and PostgreSQL is restarted; a ledger of every acknowledged write
// is checked against the database afterwards, then the one-code and one-refresh-token races run
// on two nodes. Started by scripts/faults.sh, which installs the tools and owns PostgreSQL's
// cluster; this file owns the nodes and HAProxy and kills them on every exit.
//
// The rule for failures: a request may fail only "cleanly": a 5xx or a dropped connection, after
// which the same write, retried until it gets an answer, must find it either not done (the retry
// succeeds) or done whole (the retry meets the write's own trace: UsernameExistsException with
// the user complete, invalid_grant for a spent code or rotated token). Any other answer is a
// violation, as is an acknowledged write missing from the database, a code or refresh token
// redeemed twice, a request slower than FAIL_FAST_MS during the PostgreSQL outage, or a node
// not answering again within RECOVERY_LIMIT_MS after PostgreSQL is back.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
// The AWS SDK and pg come from the Node test suite's locked dependencies.
const require = createRequire(join(HERE, '..', 'node', 'package.json'));
const cognito = require('@aws-sdk/client-cognito-identity-provider');
const { NodeHttpHandler } = require('@smithy/node-http-handler');

const { values: opt } = parseArgs({
  options: {
    backend: { type: 'string', default: 'postgres' },
    database: { type: 'string' },
    dir: { type: 'string' },
    bin: { type: 'string' },
    duration: { type: 'string', default: '60' },
    races: { type: 'string', default: '200' },
    workers: { type: 'string', default: '6' },
    'fault-every': { type: 'string', default: '20' },
    'pg-down': { type: 'string', default: '8' },
  },
});
const BACKEND = opt.backend;
const DIR = opt.dir;
mkdirSync(DIR, { recursive: true });
const BIN = opt.bin;
const DURATION_MS = Number(opt.duration) * 1000;
const RACES = Number(opt.races);
const WORKERS = Number(opt.workers);
const FAULT_EVERY_MS = Number(opt['fault-every']) * 1000;
const PG_DOWN_MS = Number(opt['pg-down']) * 1000;
// The pool waits at most 5 s for a connection (crates/store/src/sql/mod.rs); a little over that.
const FAIL_FAST_MS = 7_000;
const RECOVERY_LIMIT_MS = 30_000;
// How long a write with an unclear outcome is retried before it counts as unresolved.
const RESOLVE_MS = 90_000;
const REQUEST_TIMEOUT_MS = 30_000;
const CODE_LIFETIME_S = 300; // crates/core/src/oauth/authorize.rs: CODE_LIFETIME

const POOL_ID = 'us-east-1_Faults0001';
const ROTATING = 'faultsrotating000000000001';
const PLAIN = 'faultsplain00000000000000001';
const API_CLIENT = 'faultsapi000000000000000001';
const REDIRECT_URI = 'http://localhost:3000/cb';
const REGION = 'us-east-1';
const RACE_USER = 'racer';
const RACE_PASSWORD = 'Racer-Passw0rd!';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = (n = 16) => randomBytes(n).toString('base64url');
const sha256hex = (s) => createHash('sha256').update(s).digest('hex');
const now = () => Date.now();
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);

// ---------------------------------------------------------------------------------------------
// Processes: every child is killed when this process ends, however it ends; their pids are also
// written to DIR/pids so that the shell entry point can kill them if this process is killed.

const children = new Set();
function track(child) {
  children.add(child);
  appendFileSync(join(DIR, 'pids'), `${child.pid}\n`);
  child.once('exit', () => children.delete(child));
  return child;
}
function killAll() {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { killAll(); process.exit(130); });

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => res(port)); });
  });
}

const MASTER_KEY = randomBytes(32).toString('base64');
const SEED_PATH = join(DIR, 'seed.json');
const DATABASE = opt.database ?? `sqlite://${join(DIR, 'db.sqlite')}`;

const spa = {
  AllowedOAuthFlowsUserPoolClient: true,
  AllowedOAuthFlows: ['code'],
  AllowedOAuthScopes: ['openid', 'email'],
  CallbackURLs: [REDIRECT_URI],
  SupportedIdentityProviders: ['COGNITO'],
};
writeFileSync(SEED_PATH, JSON.stringify({
  UserPools: [{
    Id: POOL_ID,
    PoolName: 'faults',
    UsernameConfiguration: { CaseSensitive: false },
    // A custom domain without a port answers at every node's port and at the balancer's.
    Domains: [{ Domain: '127.0.0.1' }],
    Clients: [
      // Rotation without grace: a rotated token is spent, and spending it again ends the family.
      { ClientName: 'rotating', ClientId: ROTATING, ...spa, RefreshTokenRotation: { Feature: 'ENABLED', RetryGracePeriodSeconds: 0 } },
      // Without rotation a refresh token is reusable until it expires or is revoked (Cognito's rule).
      { ClientName: 'plain', ClientId: PLAIN, ...spa },
      { ClientName: 'api', ClientId: API_CLIENT, ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] },
    ],
    Users: [{
      Username: RACE_USER,
      Password: RACE_PASSWORD,
      UserAttributes: [{ Name: 'email', Value: 'racer@example.test' }, { Name: 'email_verified', Value: 'true' }],
    }],
  }],
}, null, 2));

const LB_PORT = await freePort();
const LB = `http://127.0.0.1:${LB_PORT}`;
const NODE_COUNT = BACKEND === 'postgres' ? 2 : 1;
const nodes = [];
for (let i = 0; i < NODE_COUNT; i++) {
  const port = await freePort();
  nodes.push({ name: `node${i + 1}`, port, url: `http://127.0.0.1:${port}`, child: null, log: join(DIR, `node${i + 1}.log`) });
}

// The harness's whole load comes from one address: quotas (where the binary has them) would
// refuse it and hide what the faults do; they are tested on their own elsewhere.
const QUOTAS_OFF = execFileSync(BIN, ['serve', '--help'], { encoding: 'utf8' }).includes('--rate-limit')
  ? ['--rate-limit', 'off'] : [];

/** Starts `node`'s server and waits for its "listening" line. */
function startNode(node) {
  return new Promise((res, rej) => {
    const child = track(spawn(BIN, [
      'serve', '--listen', `127.0.0.1:${node.port}`, '--database', DATABASE, '--seed', SEED_PATH,
      '--public-url', LB, '--data-dir', DIR, '--no-demo', ...QUOTAS_OFF,
    ], {
      env: { ...process.env, USERPOOL_MASTER_KEY: MASTER_KEY, USERPOOL_LOG_FORMAT: 'text', NO_COLOR: '1', RUST_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    node.child = child;
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); rej(new Error(`${node.name} not ready:\n${out}`)); }, 30_000);
    const onData = (chunk) => {
      const s = chunk.toString();
      appendFileSync(node.log, s);
      out += s;
      if (out.includes('userpool listening on http://')) { clearTimeout(timer); res(); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      rej(new Error(`${node.name} exited (${code ?? sig}) before it was ready:\n${out.slice(-3000)}`));
    });
  });
}

async function startNodeRetrying(node) {
  // During a PostgreSQL outage a starting node cannot migrate: it exits, and is started again.
  for (let attempt = 0; ; attempt++) {
    try { return await startNode(node); } catch (err) {
      if (attempt >= 60) throw err;
      await sleep(500);
    }
  }
}

function killNode(node) {
  node.child?.kill('SIGKILL');
}

function startHaproxy() {
  const cfg = join(DIR, 'haproxy.cfg');
  writeFileSync(cfg, `global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout check 2s
  # Only retry what never reached a node: a write is never sent twice by the balancer.
  retries 3
  retry-on conn-failure
  option redispatch
frontend fe
  bind 127.0.0.1:${LB_PORT}
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /health/ready
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1
${nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.port} check`).join('\n')}
`);
  const child = track(spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const hlog = join(DIR, 'haproxy.log');
  child.stdout.on('data', (c) => appendFileSync(hlog, c));
  child.stderr.on('data', (c) => appendFileSync(hlog, c));
  child.once('exit', (code, sig) => { if (!stopping) violation('haproxy', `HAProxy exited (${code ?? sig})`); });
}

// ---------------------------------------------------------------------------------------------
// Measurements, violations and the ledger.

let stopping = false;
const violations = [];
function violation(kind, detail) {
  violations.push({ kind, detail });
  log(`VIOLATION ${kind}: ${detail}`);
}

const stats = {
  requests: 0, ok: 0, cleanFailures: 0, byStatus: {},
  failureAnswers: {}, // "kind status body" -> count, for every 5xx and dropped connection
  fiveXxWithEffect: 0, // writes answered 5xx (or dropped) whose retry found them done whole
  unresolvedRetried: 0,
  faults: { nodeKills: 0, pgRestarts: 0 },
  outages: [], // per PostgreSQL restart: max latency while down, answers seen, time to recover
};
const ledger = {
  codesIssued: new Map(), // code -> issued at (ms)
  codesRedeemed: new Set(),
  codesSpentUnanswered: new Set(), // redemptions answered 5xx whose retry found the code spent
  refreshIssued: new Map(), // refresh token -> { client, family chain id }
  rotations: [], // { old, new, client }
  usersCreated: new Map(), // username -> email
  passwords: new Map(), // username -> last acknowledged password
  passwordWrites: 0,
};

// The PostgreSQL outage under way (null when up); every outage, for the requests overlapping it.
let outage = null;

function record(kind, started, status, detail) {
  const ended = now();
  const ms = ended - started;
  stats.requests++;
  stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  if (detail !== undefined) {
    const key = `${kind} ${status} ${detail}`.replace(/\s+/g, ' ').slice(0, 160);
    stats.failureAnswers[key] = (stats.failureAnswers[key] ?? 0) + 1;
  }
  const windows = outage ? [outage] : stats.outages.slice(-1);
  for (const w of windows) {
    if (started < (w.upAt ?? Infinity) && ended > w.downAt) {
      w.maxLatency = Math.max(w.maxLatency, ms);
      if (ms > FAIL_FAST_MS) violation('slow-during-outage', `${kind} took ${ms} ms (answer ${status})`);
    }
  }
  return ms;
}

/** One HTTP request; never throws: `{ status, headers, text }` or `{ status: 'neterr', error }`. */
async function http(kind, url, { method = 'GET', body, headers = {}, jar } = {}) {
  const started = now();
  const h = { ...headers };
  if (jar?.size) h.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  try {
    const res = await fetch(url, { method, body, headers: h, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    if (jar) {
      for (const line of res.headers.getSetCookie()) {
        const [pair, ...attrs] = line.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        if (!value || attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a))) jar.delete(name); else jar.set(name, value);
      }
    }
    const r = { status: res.status, headers: res.headers, text, ms: 0 };
    r.ms = record(kind, started, res.status, res.status >= 500 ? text : undefined);
    return r;
  } catch (error) {
    const r = { status: 'neterr', error: String(error.cause?.code ?? error.name ?? error), ms: 0 };
    r.ms = record(kind, started, 'neterr', r.error);
    return r;
  }
}

/** A failure that is allowed while faults are injected: the request did not get through. */
const unavailable = (r) => r.status === 'neterr' || (typeof r.status === 'number' && r.status >= 500);

function ok(r) { stats.ok++; return r; }
function clean() { stats.cleanFailures++; }
/** What an answer says, short: a page's main text without its markup, or the body. */
function said(r) {
  if (r.error) return r.error;
  const t = String(r.text ?? '');
  const main = t.match(/<main[^>]*>([\s\S]*?)<\/main>/i);
  return (main ? main[1].replace(/<[^>]+>/g, ' ') : t).replace(/\s+/g, ' ').trim().slice(0, 300);
}
function wrong(kind, r, expected) {
  violation('wrong-answer', `${kind}: expected ${expected}, got ${r.status} ${said(r)}`);
}

// ---------------------------------------------------------------------------------------------
// The Cognito API through the AWS SDK (SigV4 with a real access key for the Admin operations).

let sdk;
let anon;
function apiClients(endpoint, credentials) {
  const handler = new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: REQUEST_TIMEOUT_MS });
  const signed = new cognito.CognitoIdentityProviderClient({ endpoint, region: REGION, credentials, maxAttempts: 1, requestHandler: handler });
  const unsigned = new cognito.CognitoIdentityProviderClient({
    endpoint, region: REGION, maxAttempts: 1, requestHandler: handler,
    credentials: () => Promise.reject(new Error('an unauthenticated operation asked for credentials')),
  });
  return { signed, unsigned };
}

/** Sends an operation: `{ status: 200, out }`, `{ status, name, message }` or `{ status: 'neterr' }`. */
async function api(client, op, input) {
  const started = now();
  try {
    const out = await client.send(new cognito[`${op}Command`](input));
    record(op, started, 200);
    return { status: 200, out };
  } catch (err) {
    const status = err.$metadata?.httpStatusCode ?? err.$response?.statusCode;
    if (status) {
      record(op, started, status, status >= 500 ? `${err.name}: ${err.message}` : undefined);
      return { status, name: err.name, message: err.message };
    }
    record(op, started, 'neterr', `${err.name}: ${err.message}`);
    return { status: 'neterr', error: `${err.name}: ${err.message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Traffic.

function pkce() {
  const verifier = rand(32);
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}
const decodeHtml = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

/**
 * authorize → (sign-in page → form post, unless the jar holds a session) → a code. Returns
 * `{ code, verifier }`, or null after a clean failure.
 */
async function getCode(base, clientId, jar, username, password) {
  const { verifier, challenge } = pkce();
  const state = rand();
  const q = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, scope: 'openid email', state,
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  let r = await http('authorize', `${base}/oauth2/authorize?${q}`, { jar });
  if (unavailable(r)) return clean(), null;
  if (r.status !== 302) return wrong('authorize', r, 302), null;
  let loc = new URL(r.headers.get('location'), base);
  if (loc.pathname.startsWith('/login')) {
    ok(r);
    r = await http('login-page', loc.href.replace(loc.origin, base), { jar });
    if (unavailable(r)) return clean(), null;
    const csrf = r.text.match(/<input[^>]*name="_csrf"[^>]*value="([^"]*)"/i) ?? r.text.match(/<input[^>]*value="([^"]*)"[^>]*name="_csrf"/i);
    if (r.status !== 200 || !csrf) return wrong('login-page', r, '200 with a _csrf input'), null;
    ok(r);
    const form = r.text.match(/<form[^>]*\baction="([^"]*)"/i);
    const action = new URL(form ? decodeHtml(form[1]) : loc.pathname + loc.search, loc);
    r = await http('login-post', action.href.replace(action.origin, base), {
      method: 'POST', jar,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: new URLSearchParams({ _csrf: decodeHtml(csrf[1]), username, password }).toString(),
    });
    if (unavailable(r)) return clean(), null;
    if (r.status !== 302) return wrong(`login-post as ${username}`, r, 302), null;
    loc = new URL(r.headers.get('location'), base);
  }
  const code = loc.searchParams.get('code');
  // RFC 6749 §4.1.2.1: the way the authorization endpoint says it failed on its side.
  if (loc.href.startsWith(REDIRECT_URI) && ['server_error', 'temporarily_unavailable'].includes(loc.searchParams.get('error'))) {
    return clean(), null;
  }
  if (!loc.href.startsWith(REDIRECT_URI) || !code || loc.searchParams.get('state') !== state) {
    return wrong('authorize/login', { status: r.status, text: loc.href }, 'a redirect to the callback with code and state'), null;
  }
  ok(r);
  ledger.codesIssued.set(code, { at: now(), client: clientId });
  return { code, verifier };
}

const form = (o) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o).toString() });

function tokenJson(r) {
  try { return JSON.parse(r.text); } catch { return {}; }
}

/**
 * Retries `attempt` (a write whose first try failed cleanly) until it answers; `decide(r)` says
 * 'done' (the retry succeeded), 'traced' (the retry found the first try's effect) or null (not
 * an answer: retry). Anything else is a violation. Returns the last answer or null.
 */
async function resolveWrite(kind, attempt, decide) {
  const deadline = now() + RESOLVE_MS;
  while (now() < deadline) {
    const r = await attempt();
    const d = decide(r);
    if (d === 'done') return { r, traced: false };
    if (d === 'traced') { stats.fiveXxWithEffect++; return { r, traced: true }; }
    if (!unavailable(r)) { wrong(`${kind} (retried)`, r, 'success or the trace of the first try'); return null; }
    await sleep(250);
  }
  stats.unresolvedRetried++;
  violation('unresolved', `${kind}: no answer within ${RESOLVE_MS} ms`);
  return null;
}

/** Redeems a code; the tokens, or null. A clean failure is retried with the same code. */
async function redeem(base, clientId, { code, verifier }) {
  const send = () => http('token:code', `${base}/oauth2/token`, form({
    grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: REDIRECT_URI, code_verifier: verifier,
  }));
  let r = await send();
  if (r.status === 200) { ok(r); } else if (unavailable(r)) {
    clean();
    const res = await resolveWrite('redeem code', send, (x) => (x.status === 200 ? 'done'
      : x.status === 400 && tokenJson(x).error === 'invalid_grant' ? 'traced' : null));
    if (res?.traced) ledger.codesSpentUnanswered.add(code);
    if (!res || res.traced) return null; // spent by the first try, whose answer was lost
    r = res.r;
  } else return wrong('token:code', r, 200), null;
  const t = tokenJson(r);
  if (!t.access_token || !t.refresh_token || !t.id_token) return wrong('token:code', r, 'three tokens'), null;
  ledger.codesRedeemed.add(code);
  ledger.refreshIssued.set(t.refresh_token, { client: clientId });
  return t;
}

/** One refresh. Rotating: the new tokens, or null when the chain ended; plain: the tokens. */
async function refresh(base, clientId, token) {
  const send = () => http('token:refresh', `${base}/oauth2/token`, form({ grant_type: 'refresh_token', client_id: clientId, refresh_token: token }));
  let r = await send();
  if (r.status === 200) { ok(r); } else if (unavailable(r)) {
    clean();
    // Rotating without grace: a retry after a lost rotation is a reuse and ends the family.
    const res = await resolveWrite('refresh', send, (x) => (x.status === 200 ? 'done'
      : x.status === 400 && tokenJson(x).error === 'invalid_grant' && clientId === ROTATING ? 'traced' : null));
    if (!res || res.traced) return null;
    r = res.r;
  } else return wrong('token:refresh', r, 200), null;
  const t = tokenJson(r);
  if (!t.access_token) return wrong('token:refresh', r, 'an access token'), null;
  if (clientId === ROTATING) {
    if (!t.refresh_token || t.refresh_token === token) return wrong('token:refresh', r, 'a new refresh token'), null;
    ledger.rotations.push({ old: token, new: t.refresh_token });
    ledger.refreshIssued.set(t.refresh_token, { client: clientId, from: token });
  } else if (t.refresh_token) return wrong('token:refresh', r, 'no new refresh token without rotation'), null;
  return t;
}

async function userInfo(base, accessToken, username) {
  for (;;) {
    const r = await http('userInfo', `${base}/oauth2/userInfo`, { headers: { authorization: `Bearer ${accessToken}` } });
    if (unavailable(r)) { clean(); if (stopping) return; await sleep(200); continue; }
    const j = tokenJson(r);
    if (r.status !== 200 || j.username?.toLowerCase() !== username.toLowerCase()) return wrong('userInfo', r, `200 for ${username}`);
    return ok(r);
  }
}

/** Creates a user with a permanent password: AdminCreateUser, then AdminSetUserPassword. */
async function createUser(name) {
  const email = `${name}@example.test`;
  const input = {
    UserPoolId: POOL_ID, Username: name, MessageAction: 'SUPPRESS',
    UserAttributes: [{ Name: 'email', Value: email }, { Name: 'email_verified', Value: 'true' }],
  };
  const send = () => api(sdk, 'AdminCreateUser', input);
  let r = await send();
  if (r.status === 200) ok(r);
  else if (unavailable(r)) {
    clean();
    const res = await resolveWrite('AdminCreateUser', send, (x) => (x.status === 200 ? 'done'
      : x.name === 'UsernameExistsException' ? 'traced' : null));
    if (!res) return false;
    if (res.traced) {
      // Done by the first try: it must be whole (the attributes it was given).
      const g = await resolveWrite('AdminGetUser', () => api(sdk, 'AdminGetUser', { UserPoolId: POOL_ID, Username: name }),
        (x) => (x.status === 200 ? 'done' : null));
      const got = g?.r.out.UserAttributes?.find((a) => a.Name === 'email')?.Value;
      if (got !== email) { violation('partial-effect', `AdminCreateUser ${name} after a 5xx: the user exists with email ${got}`); return false; }
    }
  } else return wrong('AdminCreateUser', r, 200), false;
  ledger.usersCreated.set(name, email);
  return setPassword(name, `Pw-${rand(9)}1a!`);
}

/** AdminSetUserPassword (permanent); idempotent, so an unclear outcome is settled by retrying. */
async function setPassword(name, password) {
  const send = () => api(sdk, 'AdminSetUserPassword', { UserPoolId: POOL_ID, Username: name, Password: password, Permanent: true });
  const r = await send();
  if (r.status === 200) ok(r);
  else if (unavailable(r)) {
    clean();
    if (!await resolveWrite('AdminSetUserPassword', send, (x) => (x.status === 200 ? 'done' : null))) return false;
  } else return wrong('AdminSetUserPassword', r, 200), false;
  ledger.passwords.set(name, password);
  ledger.passwordWrites++;
  return true;
}

/** InitiateAuth USER_PASSWORD_AUTH with the last acknowledged password; the result or null. */
async function apiSignIn(name) {
  for (;;) {
    const r = await api(anon, 'InitiateAuth', {
      ClientId: API_CLIENT, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: name, PASSWORD: ledger.passwords.get(name) },
    });
    if (r.status === 200 && r.out.AuthenticationResult?.AccessToken) return ok(r).out.AuthenticationResult;
    if (unavailable(r)) { clean(); if (stopping) return null; await sleep(200); continue; }
    // The last acknowledged password refused: the password write was lost.
    violation(r.name === 'NotAuthorizedException' ? 'lost-write' : 'wrong-answer',
      `InitiateAuth ${name} with its last acknowledged password: ${r.status} ${r.name} ${r.message}`);
    return null;
  }
}

/** ChangePassword with the user's access token; an unclear outcome is settled by the admin. */
async function changePassword(name, accessToken) {
  const next = `Pw-${rand(9)}2b!`;
  const r = await api(anon, 'ChangePassword', { AccessToken: accessToken, PreviousPassword: ledger.passwords.get(name), ProposedPassword: next });
  if (r.status === 200) {
    ok(r);
    ledger.passwords.set(name, next);
    ledger.passwordWrites++;
    return true;
  }
  if (unavailable(r)) { clean(); return setPassword(name, next); }
  wrong('ChangePassword', r, 200);
  return false;
}

/** One worker: its own users, each step a flow through the balancer. */
async function worker(id, until) {
  let gen = 0;
  let name = `w${id}-u${gen}`;
  while (!await createUser(name)) { if (now() > until) return; name = `w${id}-u${++gen}`; }
  let jar = new Map();
  while (now() < until) {
    const pick = Math.random();
    if (pick < 0.45) {
      // Browser sign-in (a fresh jar half the time: the form; else the session cookie).
      if (Math.random() < 0.5) jar = new Map();
      const client = Math.random() < 0.7 ? ROTATING : PLAIN;
      const c = await getCode(LB, client, jar, name, ledger.passwords.get(name));
      if (!c) continue;
      const t = await redeem(LB, client, c);
      if (!t) continue;
      await userInfo(LB, t.access_token, name);
      let rt = t.refresh_token;
      for (let i = 0; i < 3 && now() < until; i++) {
        const n = await refresh(LB, client, rt);
        if (!n) break;
        if (client === ROTATING) rt = n.refresh_token;
        await userInfo(LB, n.access_token, name);
      }
    } else if (pick < 0.7) {
      const a = await apiSignIn(name);
      if (a) await changePassword(name, a.AccessToken);
    } else if (pick < 0.85) {
      await setPassword(name, `Pw-${rand(9)}3c!`);
    } else {
      gen++;
      const fresh = `w${id}-u${gen}`;
      if (await createUser(fresh)) { name = fresh; jar = new Map(); }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Faults.

async function pgCtl(action) {
  const bin = process.env.FAULTS_PG_BIN;
  const data = process.env.FAULTS_PG_DATA;
  const args = action === 'stop'
    ? ['-D', data, '-m', stats.faults.pgRestarts % 2 ? 'fast' : 'immediate', '-w', 'stop']
    : ['-D', data, '-l', process.env.FAULTS_PG_LOG, '-w', '-o', process.env.FAULTS_PG_OPTS, 'start'];
  const cmd = process.getuid() === 0 ? ['runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args]] : [join(bin, 'pg_ctl'), args];
  // Asynchronous: the traffic (and its clock) must not stop while pg_ctl waits.
  await promisify(execFile)(cmd[0], cmd[1]);
}

/** The outage's probe: a request that needs the database (a reusable token changes nothing). */
const probe = (base) => http('probe', `${base}/oauth2/token`, form({ grant_type: 'refresh_token', client_id: PLAIN, refresh_token: probeToken }));
let probeToken;

async function restartPostgres() {
  log('PostgreSQL: stop');
  outage = { downAt: now(), upAt: null, maxLatency: 0, answers: {}, recoveredMs: {} };
  await pgCtl('stop');
  stats.faults.pgRestarts++;
  // While it is down, every node is probed directly: fast, clear failures only.
  const probing = (async () => {
    while (!outage.upAt) {
      await Promise.all(nodes.map(async (n) => {
        const r = await probe(n.url);
        if (r.status === 200) return; // answered from before the stop took effect
        const key = `${r.status} ${r.error ?? r.text.slice(0, 120)}`;
        outage.answers[key] = (outage.answers[key] ?? 0) + 1;
      }));
      await sleep(200);
    }
  })();
  // Alternately longer than the pool's 5 s wait for a connection (requests must fail) and
  // shorter (requests may wait it out).
  await sleep(stats.faults.pgRestarts % 2 ? PG_DOWN_MS : 2_000);
  await pgCtl('start');
  outage.upAt = now();
  await probing;
  log('PostgreSQL: started; waiting for the nodes to answer');
  // Time to the first success at each node and through the balancer.
  const targets = [...nodes.map((n) => [n.name, n.url]), ['balancer', LB]];
  await Promise.all(targets.map(async ([name, base]) => {
    for (;;) {
      const r = await probe(base);
      if (r.status === 200) { outage.recoveredMs[name] = now() - outage.upAt; return; }
      if (now() - outage.upAt > RECOVERY_LIMIT_MS) {
        violation('no-recovery', `${name} still fails ${RECOVERY_LIMIT_MS} ms after PostgreSQL returned: ${r.status} ${r.error ?? r.text?.slice(0, 200)}`);
        outage.recoveredMs[name] = Infinity;
        return;
      }
      await sleep(50);
    }
  }));
  for (const key of Object.keys(outage.answers)) {
    // A clear error: the server's own 5xx with a JSON error, or the balancer's 503.
    if (!/^5\d\d .*("error"|"__type"|"message")/.test(key) && !/^503 /.test(key)) violation('unclear-outage-error', key);
  }
  log(`PostgreSQL outage: max latency ${outage.maxLatency} ms, recovered ${JSON.stringify(outage.recoveredMs)}, answers ${JSON.stringify(outage.answers)}`);
  stats.outages.push(outage);
  outage = null;
}

async function killAndRestart(node, downMs) {
  log(`kill -9 ${node.name}`);
  killNode(node);
  stats.faults.nodeKills++;
  await sleep(downMs);
  await startNodeRetrying(node);
  log(`${node.name} restarted`);
}

/** The faults, one every FAULT_EVERY_MS: on PostgreSQL kill a node, restart PostgreSQL, kill
 * the other node, and again; on SQLite kill the node. */
async function faults(until) {
  const cycle = BACKEND === 'postgres' ? ['kill', 'pg', 'kill'] : ['kill'];
  let n = 0;
  let kills = 0;
  for (;;) {
    const gap = n === 0 ? FAULT_EVERY_MS / 2 : FAULT_EVERY_MS;
    if (now() + gap > until - 8_000) break; // the last seconds of traffic run undisturbed
    await sleep(gap);
    if (cycle[n++ % cycle.length] === 'pg') await restartPostgres();
    else await killAndRestart(nodes[kills++ % nodes.length], 500 + Math.random() * 2_000);
  }
}

// ---------------------------------------------------------------------------------------------
// Races, on two nodes directly (one node twice on SQLite), with no faults.

async function raceCode(jar, i) {
  const a = nodes[0].url;
  const b = nodes[NODE_COUNT - 1].url;
  const c = await getCode(a, ROTATING, jar, RACE_USER, RACE_PASSWORD);
  if (!c) return violation('race', `code race ${i}: no code`);
  const body = { grant_type: 'authorization_code', client_id: ROTATING, code: c.code, redirect_uri: REDIRECT_URI, code_verifier: c.verifier };
  const rs = await Promise.all([a, b].map((u) => http('race:code', `${u}/oauth2/token`, form(body))));
  const wins = rs.filter((r) => r.status === 200);
  const refused = rs.filter((r) => r.status === 400 && tokenJson(r).error === 'invalid_grant');
  raceStats.code.runs++;
  if (wins.length !== 1 || refused.length !== 1) {
    raceStats.code.bad++;
    return violation('double-redemption', `code race ${i}: ${rs.map((r) => `${r.status} ${r.text?.slice(0, 100)}`).join(' | ')}`);
  }
  ledger.codesRedeemed.add(c.code);
  // The refused replay revokes the winner's tokens (RFC 6749 §4.1.2; token.rs `replayed`).
  const after = await http('race:after', `${a}/oauth2/token`, form({ grant_type: 'refresh_token', client_id: ROTATING, refresh_token: tokenJson(wins[0]).refresh_token }));
  if (!(after.status === 400 && tokenJson(after).error === 'invalid_grant')) {
    violation('race', `code race ${i}: the winner's refresh token still works after the replay: ${after.status}`);
  }
}

async function raceRefresh(jar, i, clientId, aligned = false, edge = null) {
  const a = nodes[0].url;
  const b = nodes[NODE_COUNT - 1].url;
  const c = await getCode(a, clientId, jar, RACE_USER, RACE_PASSWORD);
  const t = c && await redeem(a, clientId, c);
  if (!t) return violation('race', `refresh race ${i}: no refresh token`);
  const body = { grant_type: 'refresh_token', client_id: clientId, refresh_token: t.refresh_token };
  if (aligned) {
    // The server reads its clock in whole seconds: send the pair on a second's edge, so that
    // the two requests often read different seconds (the loser an earlier one than the winner).
    await sleep(995 - (now() % 1000) + (now() % 1000 > 995 ? 1000 : 0));
    while (now() % 1000 < 999 && now() % 1000 > 900);
  }
  let sentAt = now();
  const rs = edge
    ? await edge(body, (t) => { sentAt = t; })
    : await Promise.all([a, b].map((u) => http('race:refresh', `${u}/oauth2/token`, form(body))));
  const wins = rs.filter((r) => r.status === 200);
  const refused = rs.filter((r) => r.status === 400 && tokenJson(r).error === 'invalid_grant');
  const s = edge ? raceStats.rotatingBusyNode : clientId === ROTATING ? raceStats.rotating : raceStats.plain;
  s.runs++;
  const detail = () => rs.map((r) => `${r.status} ${r.text?.slice(0, 100)}`).join(' | ');
  if (clientId === ROTATING) {
    // Rotation without grace: one winner; the loser's reuse ends the family, the winner's too.
    if (wins.length !== 1 || refused.length !== 1) {
      s.bad++;
      // What the database holds of the family, for the report.
      const rows = await dbRows(`SELECT r.created_at, r.replaced_at, f.revoked_at FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id WHERE r.family_id = (SELECT family_id FROM refresh_tokens WHERE hash = '${sha256hex(t.refresh_token)}') ORDER BY r.created_at`);
      return violation('double-redemption', `rotating refresh race ${i}, sent at ${new Date(sentAt).toISOString()} (+${rs.map((r) => r.ms).join(' ms, +')} ms): ${detail()}; family rows ${JSON.stringify(rows)}`);
    }
    const newToken = tokenJson(wins[0]).refresh_token;
    ledger.rotations.push({ old: t.refresh_token, new: newToken, raced: true });
    const after = await http('race:after', `${a}/oauth2/token`, form({ grant_type: 'refresh_token', client_id: clientId, refresh_token: newToken }));
    if (!(after.status === 400 && tokenJson(after).error === 'invalid_grant')) {
      s.bad++;
      violation('race', `rotating refresh race ${i}: the family survived the reuse: the new token answered ${after.status}`);
    }
  } else if (wins.length !== 2) {
    // Without rotation the token is reusable: both must win.
    s.bad++;
    violation('race', `plain refresh race ${i}: a reusable token was refused: ${detail()}`);
  }
}

const raceStats = {
  code: { runs: 0, bad: 0 }, rotating: { runs: 0, bad: 0 }, plain: { runs: 0, bad: 0 }, rotatingBusyNode: { runs: 0, bad: 0 },
};

/**
 * Rotating refresh races where the first request meets a busy node (its database pool queued
 * behind a flood of reads) just before a second's edge and the second an idle one just after:
 * the first reads the earlier second but rotates last, the order that `now - replaced_at`
 * must still refuse.
 */
async function busyNodeRaces(jar, count) {
  const a = nodes[0].url;
  const b = nodes[NODE_COUNT - 1].url;
  let flooding = true;
  const flood = Promise.all(Array.from({ length: 120 }, async () => {
    while (flooding) {
      await fetch(`${a}/oauth2/token`, { ...form({ grant_type: 'refresh_token', client_id: PLAIN, refresh_token: probeToken }), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
        .then((r) => r.text()).catch(() => {});
    }
  }));
  const edge = async (body, sent) => {
    await sleep(990 - (now() % 1000) + (now() % 1000 > 990 ? 1000 : 0));
    sent(now());
    const first = http('race:refresh', `${a}/oauth2/token`, form(body));
    await sleep(15);
    return Promise.all([first, http('race:refresh', `${b}/oauth2/token`, form(body))]);
  };
  try {
    for (let i = 0; i < count; i++) await raceRefresh(jar, i, ROTATING, false, edge);
  } finally {
    flooding = false;
    await flood;
  }
}

async function races() {
  const jar = new Map(); // one sign-in, then the session cookie makes every code
  const plainRuns = Math.max(20, Math.floor(RACES / 10));
  const total = RACES * 2 + plainRuns;
  let done = 0;
  const lanes = 2;
  const jobs = [];
  // One rotating race in ten on a second's edge.
  for (let i = 0; i < RACES; i++) jobs.push(() => raceCode(jar, i), () => raceRefresh(jar, i, ROTATING, i % 10 === 0));
  for (let i = 0; i < plainRuns; i++) jobs.push(() => raceRefresh(jar, i, PLAIN));
  // The first sign-in sets the session cookie before the lanes share the jar.
  await jobs.shift()();
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (jobs.length) {
      await jobs.shift()();
      if (++done % 500 === 0) log(`races: ${done}/${total}`);
    }
  }));
  await busyNodeRaces(jar, Math.max(10, Math.floor(RACES / 20)));
}

// ---------------------------------------------------------------------------------------------
// The ledger against the database.

async function dbRows(sql) {
  if (BACKEND === 'sqlite') {
    const out = execFileSync('sqlite3', ['-json', join(DIR, 'db.sqlite'), sql], { encoding: 'utf8', maxBuffer: 1 << 28 });
    return out.trim() ? JSON.parse(out) : [];
  }
  const pg = require('pg');
  const c = new pg.Client({ connectionString: DATABASE });
  await c.connect();
  try { return (await c.query(sql)).rows; } finally { await c.end(); }
}

/** Runs `fn` over `items`, `n` at a time. */
async function lanes(n, items, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function checkLedger() {
  const checkedAt = now();
  const codes = new Map((await dbRows('SELECT hash, consumed_at FROM auth_codes')).map((r) => [r.hash, r]));
  const tokens = new Map((await dbRows(
    'SELECT r.hash, r.replaced_at, f.revoked_at FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id',
  )).map((r) => [r.hash, r]));
  const users = new Map((await dbRows(`SELECT username, attributes FROM users WHERE pool_id = '${POOL_ID}'`)).map((r) => [r.username, r]));
  const lost = [];
  let codesChecked = 0;
  for (const [code, { at }] of ledger.codesIssued) {
    // Codes past their lifetime may be purged (every minute); younger ones must be there.
    if (checkedAt - at > (CODE_LIFETIME_S - 10) * 1000) continue;
    codesChecked++;
    const row = codes.get(sha256hex(code));
    if (!row) lost.push(`issued code ${code.slice(0, 8)}… is not in auth_codes`);
    else if (ledger.codesRedeemed.has(code) && row.consumed_at == null) lost.push(`redeemed code ${code.slice(0, 8)}… is not consumed`);
  }
  for (const [token] of ledger.refreshIssued) {
    if (!tokens.has(sha256hex(token))) lost.push(`refresh token ${token.slice(0, 8)}… is not in refresh_tokens`);
  }
  for (const { old } of ledger.rotations) {
    const row = tokens.get(sha256hex(old));
    if (row && row.replaced_at == null) lost.push(`rotated token ${old.slice(0, 8)}… is not marked replaced`);
  }
  for (const [name, email] of ledger.usersCreated) {
    const row = users.get(name.toLowerCase()) ?? users.get(name);
    if (!row) lost.push(`user ${name} is not in users`);
    else if (!String(row.attributes).includes(email)) lost.push(`user ${name} lacks its email ${email}: ${row.attributes}`);
  }
  // A code spent by a failed redemption must have issued its tokens (their answer was lost):
  // a code spent with nothing issued is a 5xx with a partial effect. (The retry's replay
  // creates the family revoked and empty; a redemption creates it with its first token.)
  for (const code of ledger.codesSpentUnanswered) {
    const [row] = await dbRows(`SELECT payload FROM auth_codes WHERE hash = '${sha256hex(code)}'`);
    if (!row) continue; // purged after its lifetime
    const family = JSON.parse(row.payload).origin_jti;
    const [{ n }] = await dbRows(`SELECT COUNT(*) AS n FROM refresh_tokens WHERE family_id = '${family}'`);
    if (Number(n) === 0) violation('partial-effect', `code ${code.slice(0, 8)}… was spent by a redemption answered 5xx, and issued nothing`);
  }
  for (const l of lost) violation('lost-write', l);
  // Every acknowledged password still signs in (the last one of each user).
  let passwordsChecked = 0;
  await lanes(4, [...ledger.passwords.keys()], async (name) => {
    if (await apiSignIn(name)) passwordsChecked++;
  });
  // Every redeemed code is refused a second time.
  let replays = 0;
  let doubleRedemptions = raceStats.code.bad + raceStats.rotating.bad + raceStats.rotatingBusyNode.bad;
  await lanes(4, [...ledger.codesRedeemed], async (code) => {
    // The right client and redirect URI; the verifier is not kept, and a spent code is refused
    // before PKCE is checked (token.rs: peek_code, then `replayed`).
    const client = ledger.codesIssued.get(code).client;
    const r = await http('replay', `${LB}/oauth2/token`, form({ grant_type: 'authorization_code', client_id: client, code, redirect_uri: REDIRECT_URI, code_verifier: 'x'.repeat(43) }));
    replays++;
    if (!(r.status === 400 && tokenJson(r).error === 'invalid_grant')) {
      doubleRedemptions++;
      violation('double-redemption', `code ${code.slice(0, 8)}… redeemed again: ${r.status} ${said(r)}`);
    }
  });
  return { codesChecked, lost: lost.length, passwordsChecked, replays, doubleRedemptions };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = now();
  log(`backend ${BACKEND}, ${NODE_COUNT} node(s), balancer ${LB}, ${WORKERS} workers, ${DURATION_MS / 1000} s of traffic, ${RACES} races of each kind`);
  for (const n of nodes) await startNode(n); // one after the other: the first applies the seed
  startHaproxy();
  const printed = execFileSync(BIN, ['access-keys', 'create', '--database', DATABASE, '--data-dir', DIR, '--description', 'faults'],
    { env: { ...process.env, USERPOOL_MASTER_KEY: MASTER_KEY }, encoding: 'utf8' });
  const field = (label) => printed.match(new RegExp(`^${label}\\s+(\\S+)$`, 'm'))?.[1];
  ({ signed: sdk, unsigned: anon } = apiClients(LB, { accessKeyId: field('access key id'), secretAccessKey: field('secret access key') }));
  // Wait for the balancer's first health checks.
  for (let i = 0; ; i++) {
    const r = await http('warmup', `${LB}/health`);
    if (r.status === 200) break;
    if (i > 100) throw new Error(`the balancer does not answer: ${r.status} ${r.error ?? r.text}`);
    await sleep(100);
  }
  // The probe's token: reusable (no rotation), so probes change nothing.
  const pc = await getCode(LB, PLAIN, new Map(), RACE_USER, RACE_PASSWORD);
  probeToken = (await redeem(LB, PLAIN, pc)).refresh_token;

  const until = now() + DURATION_MS;
  await Promise.all([
    ...Array.from({ length: WORKERS }, (_, i) => worker(i, until)),
    faults(until),
  ]);
  stopping = true;
  log('traffic done; races');
  // The races need every node up.
  for (const n of nodes) {
    for (let i = 0; ; i++) {
      if ((await http('wait', `${n.url}/health`)).status === 200) break;
      if (i > 100) throw new Error(`${n.name} is not healthy after the traffic`);
      await sleep(100);
    }
  }
  const raceStarted = now();
  await races();
  const raceSeconds = (now() - raceStarted) / 1000;
  log('checking the ledger against the database');
  const check = await checkLedger();
  const summary = {
    backend: BACKEND,
    seconds: Math.round((now() - started) / 1000),
    requests: stats.requests,
    ok: stats.ok,
    cleanFailures: stats.cleanFailures,
    byStatus: stats.byStatus,
    failureAnswers: stats.failureAnswers,
    faults: stats.faults,
    ledger: {
      codesIssued: ledger.codesIssued.size,
      codesRedeemed: ledger.codesRedeemed.size,
      codesSpentUnanswered: ledger.codesSpentUnanswered.size,
      refreshTokensIssued: ledger.refreshIssued.size,
      rotations: ledger.rotations.length,
      usersCreated: ledger.usersCreated.size,
      passwordWrites: ledger.passwordWrites,
    },
    writesAnswered5xxButDone: stats.fiveXxWithEffect,
    unresolvedWrites: stats.unresolvedRetried,
    check,
    races: { ...raceStats, seconds: Math.round(raceSeconds) },
    pgOutages: stats.outages.map((o) => ({
      downMs: o.upAt - o.downAt, maxLatencyMs: o.maxLatency, recoveredMs: o.recoveredMs, answers: o.answers,
    })),
    maxLatencyDuringOutageMs: Math.max(0, ...stats.outages.map((o) => o.maxLatency)),
    maxRecoveryMs: Math.max(0, ...stats.outages.flatMap((o) => Object.values(o.recoveredMs))),
    violations: violations.length,
  };
  console.log(JSON.stringify(summary, null, 2));
  // Checks that must have had something to check.
  if (stats.ok === 0 || ledger.codesRedeemed.size === 0 || ledger.rotations.length === 0 || ledger.usersCreated.size === 0) {
    violation('no-traffic', 'the run acknowledged no writes of some kind: nothing was proven');
  }
  if (stats.faults.nodeKills === 0 || (BACKEND === 'postgres' && stats.faults.pgRestarts === 0)) {
    violation('no-faults', 'no fault was injected: the run is too short');
  }
  if (violations.length) {
    const byKind = {};
    for (const v of violations) byKind[v.kind] = (byKind[v.kind] ?? 0) + 1;
    console.log(`FAILED: ${violations.length} violation(s): ${JSON.stringify(byKind)}`);
    for (const v of violations.slice(0, 30)) console.log(`  ${v.kind}: ${v.detail}`);
    return 1;
  }
  console.log(`PASSED (${BACKEND})`);
  return 0;
}

main().then((code) => { killAll(); process.exit(code); }, (err) => { console.error(err); killAll(); process.exit(2); });
