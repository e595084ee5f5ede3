// A function that goes wrong on purpose, by the user's name, on sign-up and sign-in (every other
// trigger passes): "slow-" takes 6 s (longer than Cognito's 5 s), "malformed-" answers a string,
// "badshape-" answers an event whose response is a string, "throw-" throws.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const handler = async (event) => {
  if (!['PreSignUp_SignUp', 'PreAuthentication_Authentication'].includes(event.triggerSource)) return event;
  const name = event.userName;
  if (name.startsWith('slow-')) {
    await sleep(6_000);
    return event;
  }
  if (name.startsWith('malformed-')) return 'not an event';
  if (name.startsWith('badshape-')) return { ...event, response: 'x' };
  if (name.startsWith('throw-')) throw new Error('Nope');
  return event;
};
