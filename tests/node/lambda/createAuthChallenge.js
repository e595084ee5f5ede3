// CreateAuthChallenge: a six-digit code "mailed" to the user (kept in `outbox`, this app's
// mailer), the same code for the retries of one sign-in (carried in challengeMetadata).
import { randomInt } from 'node:crypto';

export const outbox = new Map();

export const handler = async (event) => {
  if (event.request.challengeName !== 'CUSTOM_CHALLENGE') return event;
  const previous = (event.request.session ?? [])
    .map((s) => s.challengeMetadata?.match(/^CODE-(\d{6})$/)?.[1]).filter(Boolean).at(-1);
  const code = previous ?? String(randomInt(0, 1_000_000)).padStart(6, '0');
  if (!previous) outbox.set(event.userName, code);
  const email = event.request.userAttributes.email ?? '';
  event.response.publicChallengeParameters = { hint: 'code-by-email', email: `${email[0]}***@${email.split('@')[1]}` };
  event.response.privateChallengeParameters = { answer: code };
  event.response.challengeMetadata = `CODE-${code}`;
  return event;
};
