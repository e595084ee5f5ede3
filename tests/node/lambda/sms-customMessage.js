// CustomMessage for codes sent by text message: the app's own short wording (`smsMessage`, at
// most 140 characters, with Cognito's placeholders). Email fields are left alone (the defaults).
// Users named "sms140-" get a text of exactly 140 characters, "sms141-" one of 141 and
// "smsnocode-" one without the code's placeholder: only the first may replace the default.
const TEXTS = {
  CustomMessage_SignUp: 'Acme: your sign-up code is {####}',
  CustomMessage_ResendCode: 'Acme: your sign-up code, again: {####}',
  CustomMessage_ForgotPassword: 'Acme: reset your password with {####}',
  CustomMessage_UpdateUserAttribute: 'Acme: confirm your new number with {####}',
  CustomMessage_VerifyUserAttribute: 'Acme: verify your number with {####}',
  CustomMessage_AdminCreateUser: 'Acme: hi {username}, your temporary password is {####}',
};

/** The text of `length` characters, with the code placeholder at its end. */
export const sized = (length) => `Acme: ${'x'.repeat(length - 'Acme: '.length - ' {####}'.length)} {####}`;

export const handler = async (event) => {
  const text = TEXTS[event.triggerSource];
  if (!text) return event;
  const name = event.userName;
  let message;
  if (name.startsWith('sms140-')) message = sized(140);
  else if (name.startsWith('sms141-')) message = sized(141);
  else if (name.startsWith('smsnocode-')) message = 'Acme: your code is on its way';
  else message = text.replace('{username}', event.request.usernameParameter).replace('{####}', event.request.codeParameter);
  event.response.smsMessage = message;
  return event;
};
