// PreSignUp: sign-ups from a partner domain are confirmed at once (email verified, no code sent),
// those from a closed domain are refused; everything else goes the usual way.
const TRUSTED = 'trusted.example';
const CLOSED = 'blocked.example';

export const handler = async (event) => {
  const email = event.request.userAttributes?.email ?? '';
  const domain = email.split('@')[1]?.toLowerCase();
  if (domain === CLOSED) throw new Error(`Sign-ups from ${CLOSED} are closed`);
  if (event.triggerSource === 'PreSignUp_SignUp' && domain === TRUSTED) {
    event.response.autoConfirmUser = true;
    event.response.autoVerifyEmail = true;
  }
  return event;
};
