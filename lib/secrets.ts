// The two Stripe secrets. The stack creates them with a random placeholder (so no value is
// ever in a template or an environment variable); the operator sets the real values
// (`npm run register-endpoint` stores the signing secret). Functions read them by ARN.

import { Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface StripeSecretsProps {
  /** Create the webhook signing secret (not needed when events come through EventBridge only). @default true */
  readonly webhookSecret?: boolean;
}

export class StripeSecrets extends Construct {
  /** Webhook signing secrets (`whsec_...`, comma-separated during rotation); the verifier's only. */
  readonly signingSecret: secretsmanager.Secret | undefined;
  /** Optional Stripe API key (`sk_...`/`rk_...`); a placeholder means "not configured". */
  readonly apiKeySecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: StripeSecretsProps = {}) {
    super(scope, id);
    // The placeholder is neither a `whsec_` secret nor a Stripe key, so the functions
    // recognise it as "not set yet" (the verifier answers 500 until the operator sets it,
    // and Stripe retries those deliveries).
    const placeholder = { excludePunctuation: true, passwordLength: 32 };
    this.signingSecret =
      props.webhookSecret === false
        ? undefined
        : new secretsmanager.Secret(this, 'WebhookSigningSecret', {
            description:
              'Stripe webhook signing secret(s), comma-separated; read by the verifier only',
            generateSecretString: placeholder,
          });
    this.apiKeySecret = new secretsmanager.Secret(this, 'StripeApiKey', {
      description:
        'Optional Stripe API key (restricted key with read access to charges); read by the dispute processors and the sweeper',
      generateSecretString: placeholder,
    });
    for (const secret of [this.signingSecret, this.apiKeySecret].filter((s) => s !== undefined)) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Stripe issues these values (dashboard or register-endpoint); Secrets Manager cannot rotate them. The operator rotates them in Stripe and stores the new value (the verifier accepts old and new signing secrets together).',
      });
    }
  }

  /** The webhook signing secret; throws when the stack has none (see signingSecret). */
  get webhookSecret(): secretsmanager.Secret {
    if (!this.signingSecret) throw new Error('this stack has no webhook signing secret (ingress)');
    return this.signingSecret;
  }
}
