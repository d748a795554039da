// PLACEHOLDER: replaced by the real status-api handler in this session. Lets the CDK stack synthesize meanwhile.
export const handler = async (): Promise<never> => {
  throw new Error('status-api handler not written yet');
};
