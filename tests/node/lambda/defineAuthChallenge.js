// DefineAuthChallenge: a one-time code challenge, after a password check by SRP when the client
// starts with SRP_A (CUSTOM_WITH_SRP). Tokens after one right answer; the sign-in fails after
// three wrong ones.
const MAX_ATTEMPTS = 3;

export const handler = async (event) => {
  const session = event.request.session ?? [];
  const last = session.at(-1);
  const custom = session.filter((s) => s.challengeName === 'CUSTOM_CHALLENGE');
  event.response.issueTokens = false;
  event.response.failAuthentication = false;
  if (event.request.userNotFound) {
    event.response.failAuthentication = true;
  } else if (last?.challengeName === 'SRP_A') {
    event.response.challengeName = 'PASSWORD_VERIFIER';
  } else if (last?.challengeName === 'PASSWORD_VERIFIER') {
    if (last.challengeResult) event.response.challengeName = 'CUSTOM_CHALLENGE';
    else event.response.failAuthentication = true;
  } else if (last?.challengeName === 'CUSTOM_CHALLENGE' && last.challengeResult) {
    event.response.issueTokens = true;
  } else if (custom.length >= MAX_ATTEMPTS) {
    event.response.failAuthentication = true;
  } else {
    event.response.challengeName = 'CUSTOM_CHALLENGE';
  }
  return event;
};
