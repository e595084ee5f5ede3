// CustomMessage: the app's own wording for every message, with Cognito's placeholders.
const TEXTS = {
  CustomMessage_SignUp: ['Welcome to Acme', 'Welcome! Your confirmation code is {####}.'],
  CustomMessage_ResendCode: ['Your Acme code, again', 'Here it is again: your confirmation code is {####}.'],
  CustomMessage_ForgotPassword: ['Reset your Acme password', 'Someone asked to reset it: your code is {####}.'],
  CustomMessage_UpdateUserAttribute: ['Confirm your new Acme address', 'Confirm this address: your code is {####}.'],
  CustomMessage_VerifyUserAttribute: ['Verify your Acme address', 'Verify this address: your code is {####}.'],
  CustomMessage_Authentication: ['Your Acme sign-in code', 'Signing in? Your code is {####}.'],
};

export const handler = async (event) => {
  if (event.triggerSource === 'CustomMessage_AdminCreateUser') {
    event.response.emailSubject = 'Your new Acme account';
    event.response.emailMessage = `Sign in as ${event.request.usernameParameter} with ${event.request.codeParameter}.`;
    return event;
  }
  const text = TEXTS[event.triggerSource];
  if (text) {
    event.response.emailSubject = text[0];
    event.response.emailMessage = text[1].replace('{####}', event.request.codeParameter);
  }
  return event;
};
