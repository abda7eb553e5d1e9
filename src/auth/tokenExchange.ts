import type { Logger } from '../logger';
import type { EntraTokenVerifier, VerifiedUser } from './entraTokenVerifier';
import { TokenVerificationError } from './entraTokenVerifier';

/**
 * Teams SSO: the `signin/tokenExchange` invoke. Teams sends one copy per signed-in client, all with the same
 * `value.id`. Same order as botbuilder's TeamsSSOTokenExchangeMiddleware:
 *   1. every copy exchanges the token at the Bot Framework Token Service, so that every caller gets the 412 when
 *      consent is needed (Teams then shows the sign-in card);
 *   2. an insert-only claim on `channelId/conversationId/value.id` lets exactly one copy proceed; the others get 200.
 * Before both, the SSO token itself (its audience is this app) is verified: it is the only source of the user's
 * tenant and object id. The activity's tenant id is never used.
 */

/** Insert-only store: true the first time a key is claimed, false ever after. */
export interface ExchangeDedup {
  tryClaim(key: string): Promise<boolean>;
}

/** The SDK's UserTokenClient.exchangeToken, bound by the caller: `{ token }` on success, undefined (or a throw) on failure. */
export type ExchangeTokenFn = (
  userId: string,
  connectionName: string,
  token: string,
  channelId: string,
) => Promise<{ token?: string } | undefined>;

export interface TeamsSsoExchangeOptions {
  dedup: ExchangeDedup;
  verifier: Pick<EntraTokenVerifier, 'verify'>;
  exchange: ExchangeTokenFn;
  /**
   * The bot's OAuth connection (SSO_CONNECTION_NAME). When set it is used for the exchange and the 412 body, like the
   * SDK middleware; otherwise the invoke's `value.connectionName` is used.
   */
  connectionName?: string;
  logger?: Pick<Logger, 'warn' | 'info'>;
}

export interface TokenExchangeInvoke {
  channelId: string;
  conversationId: string;
  /** activity.from.id */
  userId: string;
  value: { id?: unknown; connectionName?: unknown; token?: unknown } | undefined;
  /**
   * The tenant the activity claims (channelData.tenant.id / conversation.tenantId). Never used for identity; a
   * mismatch with the verified token's tid is only logged.
   */
  activityTenantId?: string;
}

export interface TokenExchangeFailureBody {
  id: string;
  connectionName: string;
  failureDetail: string;
}

export type TokenExchangeResult =
  /**
   * This copy won: proceed (map the group) as this verified user. The exchanged token is deliberately not returned;
   * the Token Service keeps it (UserTokenClient.getUserToken) and the SSO token in `value.token` serves OBO.
   */
  | { status: 200; duplicate?: false; user: VerifiedUser }
  /** Another copy of the same exchange already proceeded: answer 200 and do nothing else. */
  | { status: 200; duplicate: true }
  /** Exchange (or verification) failed: answer 412 with this body; Teams falls back to the sign-in card. */
  | { status: 412; body: TokenExchangeFailureBody; reason: string }
  /** Not a usable invoke at all (no id, no token). */
  | { status: 400; reason: string };

/** The failure text the SDK middleware sends. */
export const EXCHANGE_FAILURE_DETAIL = 'The bot is unable to exchange token. Proceed with regular login.';

/** The dedup key, as the SDK middleware builds it. */
export function tokenExchangeKey(channelId: string, conversationId: string, exchangeId: string): string {
  return `${channelId}/${conversationId}/${exchangeId}`;
}

export class TeamsSsoExchange {
  constructor(private readonly options: TeamsSsoExchangeOptions) {}

  async handle(invoke: TokenExchangeInvoke): Promise<TokenExchangeResult> {
    const value = invoke.value ?? {};
    const id = typeof value.id === 'string' ? value.id : '';
    const token = typeof value.token === 'string' ? value.token : '';
    const connectionName = this.options.connectionName ?? (typeof value.connectionName === 'string' ? value.connectionName : '');
    if (!id || !invoke.channelId || !invoke.conversationId || !invoke.userId) {
      return { status: 400, reason: 'missing id, channel, conversation or user' };
    }
    const fail = (reason: string): TokenExchangeResult => {
      this.options.logger?.warn({ reason, exchangeId: id }, 'SSO token exchange failed');
      return { status: 412, body: { id, connectionName, failureDetail: EXCHANGE_FAILURE_DETAIL }, reason };
    };
    if (!token || !connectionName) return fail(!token ? 'no token' : 'no connection name');

    // 1. The SSO token must be ours and valid; its tid/oid are the user's identity.
    let user: VerifiedUser;
    try {
      user = await this.options.verifier.verify(token);
    } catch (err) {
      return fail(err instanceof TokenVerificationError ? `sso token: ${err.reason}` : 'sso token: verification error');
    }

    // 2. Every copy exchanges.
    let exchanged: { token?: string } | undefined;
    try {
      exchanged = await this.options.exchange(invoke.userId, connectionName, token, invoke.channelId);
    } catch {
      exchanged = undefined;
    }
    if (!exchanged?.token) return fail('token service refused the exchange');

    // 3. One copy proceeds.
    const claimed = await this.options.dedup.tryClaim(tokenExchangeKey(invoke.channelId, invoke.conversationId, id));
    if (!claimed) return { status: 200, duplicate: true };
    if (invoke.activityTenantId && invoke.activityTenantId.toLowerCase() !== user.tenantId) {
      this.options.logger?.info(
        { exchangeId: id, tokenTenantId: user.tenantId },
        'SSO token tenant differs from the activity tenant; using the token tenant',
      );
    }
    return { status: 200, user };
  }
}
