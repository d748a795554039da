// PLACEHOLDER: replaced by the real sweeper handler in this session. Lets the CDK stack synthesize meanwhile.
export const handler = async (): Promise<never> => {
  throw new Error('sweeper handler not written yet');
};
