// PreAuthentication: accounts of a suspended organisation may not sign in.
export const handler = async (event) => {
  const email = event.request.userAttributes?.email ?? '';
  if (email.toLowerCase().endsWith('@suspended.example')) throw new Error('Account suspended');
  return event;
};
