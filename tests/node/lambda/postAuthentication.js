// PostAuthentication: keeps the time of each user's last sign-in.
export const lastSignIn = new Map();

export const handler = async (event) => {
  lastSignIn.set(event.userName, { at: Date.now(), newDevice: event.request.newDeviceUsed });
  return event;
};
