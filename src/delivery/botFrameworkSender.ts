import { MicrosoftAppCredentials } from 'botframework-connector';
import { isAllowedServiceUrl } from '../auth/channelAuth';
import { ChannelError, parseRetryAfter, type ChannelSender } from './channelSender';

export interface BotFrameworkSenderOptions {
  allowedServiceUrlHosts: readonly string[];
  /** Local runs without an app id talk to a loopback channel (the playground, tests). */
  allowLoopback: boolean;
  /** The bot's access token for the channel (undefined: no app id, local only). */
  getToken?: () => Promise<string | undefined>;
  timeoutMs?: number;
}

interface Reference {
  serviceUrl?: string;
  channelId?: string;
  conversation?: { id?: string; tenantId?: string; conversationType?: string };
  bot?: { id?: string; name?: string };
  user?: { id?: string; name?: string; aadObjectId?: string };
}

/**
 * The engine's sends, straight on the Bot Connector REST API (`/v3/conversations/...`) with the bot's token.
 * Deliberately not through botbuilder's ConnectorClient: its pipeline retries 429 and 5xx by itself, which would
 * spend the tenant's budget behind the engine's back and hide Retry-After from it. One call = one request; a
 * failure is a ChannelError with the status and Retry-After. Only allow-listed service URLs are called (the
 * token goes to whatever URL a reference names).
 */
export class BotFrameworkSender implements ChannelSender {
  constructor(private readonly options: BotFrameworkSenderOptions) {}

  async send(conversationRef: unknown, activity: Record<string, unknown>): Promise<{ id: string }> {
    const ref = this.checked(conversationRef);
    const body = await this.call(
      'POST',
      `${base(ref)}/v3/conversations/${encodeURIComponent(ref.conversation!.id!)}/activities`,
      this.envelope(ref, activity),
    );
    const id = (body as { id?: unknown } | undefined)?.id;
    return { id: typeof id === 'string' ? id : '' };
  }

  async update(conversationRef: unknown, activityId: string, activity: Record<string, unknown>): Promise<void> {
    const ref = this.checked(conversationRef);
    const path = `${base(ref)}/v3/conversations/${encodeURIComponent(ref.conversation!.id!)}/activities/${encodeURIComponent(activityId)}`;
    await this.call('PUT', path, { ...this.envelope(ref, activity), id: activityId });
  }

  async delete(conversationRef: unknown, activityId: string): Promise<void> {
    const ref = this.checked(conversationRef);
    await this.call(
      'DELETE',
      `${base(ref)}/v3/conversations/${encodeURIComponent(ref.conversation!.id!)}/activities/${encodeURIComponent(activityId)}`,
    );
  }

  /** A personal chat with a member who has none (Teams answers 403 where the bot is not installed for them). */
  async createConversation(userId: string, tenantId: string, serviceUrl: string): Promise<unknown> {
    const ref: Reference = { serviceUrl, conversation: { id: '-' } };
    this.checked(ref);
    const body = (await this.call('POST', `${base(ref)}/v3/conversations`, {
      isGroup: false,
      members: [{ id: userId }],
      tenantId,
      channelData: { tenant: { id: tenantId } },
    })) as { id?: string } | undefined;
    if (!body?.id) throw new ChannelError(502, undefined, 'NoConversationId');
    return {
      serviceUrl,
      channelId: 'msteams',
      conversation: { id: body.id, tenantId, conversationType: 'personal' },
      user: { id: userId },
    };
  }

  private checked(conversationRef: unknown): Reference {
    const ref = (typeof conversationRef === 'string' ? JSON.parse(conversationRef) : conversationRef) as Reference | undefined;
    if (!ref?.conversation?.id || !ref.serviceUrl) throw new ChannelError(404, undefined, 'NoConversation');
    if (!isAllowedServiceUrl(ref.serviceUrl, this.options.allowedServiceUrlHosts, { allowLoopback: this.options.allowLoopback })) {
      // Final, not retried: the reference itself is unusable.
      throw new ChannelError(403, undefined, 'ServiceUrlNotAllowed');
    }
    return ref;
  }

  private envelope(ref: Reference, activity: Record<string, unknown>): Record<string, unknown> {
    return {
      type: 'message',
      ...activity,
      channelId: ref.channelId ?? 'msteams',
      serviceUrl: ref.serviceUrl,
      conversation: ref.conversation,
      from: ref.bot,
      recipient: ref.user,
    };
  }

  private async call(method: string, url: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    const token = await this.options.getToken?.();
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch {
      throw new ChannelError(0, undefined, 'NetworkError');
    }
    const text = await response.text();
    if (!response.ok) {
      let code: string | undefined;
      try {
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
      } catch {
        code = undefined;
      }
      throw new ChannelError(response.status, parseRetryAfter(response.headers.get('retry-after')), code);
    }
    return text ? (JSON.parse(text) as unknown) : undefined;
  }
}

function base(ref: Reference): string {
  return ref.serviceUrl!.replace(/\/+$/, '');
}

/** The bot's token for channel calls from its app registration (MicrosoftAppId / MicrosoftAppPassword). */
export function appCredentialsToken(appId: string, password: string, tenantId?: string): () => Promise<string | undefined> {
  const credentials = new MicrosoftAppCredentials(appId, password, tenantId);
  return () => credentials.getToken();
}
