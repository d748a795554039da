// PLACEHOLDER: replaced by the real processor handler in this session. Lets the CDK stack synthesize meanwhile.
export const handler = async (): Promise<never> => {
  throw new Error('processor handler not written yet');
};
