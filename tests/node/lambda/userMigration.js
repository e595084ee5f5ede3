// UserMigration: users of the old system are moved in on their first sign-in (the old password
// checked against the old table) or on a forgotten-password request.
export const oldSystem = new Map([
  ['legacy-lee', { password: 'Old-Passw0rd!', email: 'lee@legacy.example', name: 'Lee Legacy' }],
  ['legacy-kim', { password: 'Old-Passw0rd!', email: 'kim@legacy.example', name: 'Kim Legacy' }],
  ['legacy-ray', { password: 'Old-Passw0rd!', email: 'ray@legacy.example', name: 'Ray Legacy' }],
  // Moved in through the managed-login pages (/login, /forgotPassword).
  ['legacy-pia', { password: 'Old-Passw0rd!', email: 'pia@legacy.example', name: 'Pia Legacy' }],
  ['legacy-sam', { password: 'Old-Passw0rd!', email: 'sam@legacy.example', name: 'Sam Legacy' }],
]);

export const handler = async (event) => {
  const old = oldSystem.get(event.userName);
  if (!old) throw new Error('User not found');
  const userAttributes = { email: old.email, email_verified: 'true', name: old.name };
  if (event.triggerSource === 'UserMigration_Authentication') {
    if (event.request.password !== old.password) throw new Error('Bad password');
    event.response.userAttributes = userAttributes;
    event.response.finalUserStatus = 'CONFIRMED';
    event.response.messageAction = 'SUPPRESS';
  } else if (event.triggerSource === 'UserMigration_ForgotPassword') {
    event.response.userAttributes = userAttributes;
    event.response.messageAction = 'SUPPRESS';
  }
  return event;
};
