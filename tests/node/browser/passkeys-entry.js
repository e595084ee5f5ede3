// Browser entry bundled by passkeys.test.js with esbuild: Amplify v6 as an app loads it, its
// functions on `window.amplify`, and `window.call(name, ...args)` that runs one of them and
// answers { ok, value } or { ok: false, error } with the error's name, message and cause (an
// error object does not survive page.evaluate's serialization).
import { Amplify } from 'aws-amplify';
import {
  associateWebAuthnCredential, confirmSignIn, deleteWebAuthnCredential, fetchAuthSession,
  getCurrentUser, listWebAuthnCredentials, signIn, signOut,
} from 'aws-amplify/auth';

const describe = (err) => ({
  name: err?.name,
  message: err?.message,
  recoverySuggestion: err?.recoverySuggestion,
  underlyingError: err?.underlyingError
    ? { name: err.underlyingError.name, message: err.underlyingError.message }
    : undefined,
});

/**
 * The payloads of the session's tokens (a JWT object carries functions); with `forceRefresh`,
 * of the tokens the refresh token gets.
 */
async function sessionPayloads(forceRefresh = false) {
  const { tokens } = await fetchAuthSession({ forceRefresh });
  if (!tokens) return null;
  return { id: tokens.idToken?.payload ?? null, access: tokens.accessToken.payload };
}

const api = {
  configure: (config) => { Amplify.configure(config); },
  signIn, signOut, confirmSignIn, getCurrentUser,
  associateWebAuthnCredential, listWebAuthnCredentials, deleteWebAuthnCredential,
  sessionPayloads,
};

window.amplify = api;
window.call = async (name, ...args) => {
  try {
    return { ok: true, value: await api[name](...args) };
  } catch (err) {
    return { ok: false, error: describe(err) };
  }
};
window.amplifyReady = true;
