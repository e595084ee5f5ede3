// PreTokenGeneration V1_0: a plan claim added to the ID token, the phone number kept out of it,
// and the groups replaced by the ones the app computes.
export const handler = async (event) => {
  event.response.claimsOverrideDetails = {
    claimsToAddOrOverride: { plan: 'gold', family_name: 'Overridden' },
    claimsToSuppress: ['email'],
    groupOverrideDetails: { groupsToOverride: ['editors', 'beta'] },
  };
  return event;
};
