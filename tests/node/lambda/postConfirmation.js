// PostConfirmation: writes the app's profile row for the newly confirmed user.
export const profiles = new Map();

export const handler = async (event) => {
  profiles.set(event.userName, {
    sub: event.request.userAttributes.sub,
    email: event.request.userAttributes.email,
    via: event.triggerSource,
  });
  return event;
};
