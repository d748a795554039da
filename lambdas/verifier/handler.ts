// PLACEHOLDER: replaced by the real verifier handler in this session. Lets the CDK stack synthesize meanwhile.
export const handler = async (): Promise<never> => {
  throw new Error('verifier handler not written yet');
};
