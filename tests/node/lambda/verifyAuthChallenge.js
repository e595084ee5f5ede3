// VerifyAuthChallengeResponse: the answer must be the code CreateAuthChallenge made.
export const handler = async (event) => {
  event.response.answerCorrect = event.request.challengeAnswer === event.request.privateChallengeParameters.answer;
  return event;
};
