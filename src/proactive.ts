import type { CloudAdapter, ConversationReference } from 'botbuilder';
import type { Activity } from 'botbuilder';
import { isAllowedServiceUrl } from './auth/channelAuth';
import type { Logger } from './logger';

/** Sends a message to a conversation the bot was in before (a stored conversation reference). */
export interface ProactiveMessenger {
  send(conversationRefJson: string, activity: Partial<Activity>): Promise<boolean>;
}

export interface AdapterMessengerOptions {
  adapter: CloudAdapter;
  botAppId: string;
  allowedServiceUrlHosts: readonly string[];
  /** Local runs without an app id talk to a loopback channel (the playground, tests). */
  allowLoopback: boolean;
  logger: Logger;
}

/**
 * Proactive messages through the adapter, only to allow-listed service URLs: the SDK sends the bot's token to
 * whatever serviceUrl a reference names, and trusts every one.
 */
export class AdapterMessenger implements ProactiveMessenger {
  constructor(private readonly options: AdapterMessengerOptions) {}

  async send(conversationRefJson: string, activity: Partial<Activity>): Promise<boolean> {
    let reference: Partial<ConversationReference>;
    try {
      reference = JSON.parse(conversationRefJson) as Partial<ConversationReference>;
    } catch {
      return false;
    }
    const serviceUrl = reference.serviceUrl ?? '';
    if (!isAllowedServiceUrl(serviceUrl, this.options.allowedServiceUrlHosts, { allowLoopback: this.options.allowLoopback })) {
      this.options.logger.warn({ serviceHost: safeHost(serviceUrl) }, 'proactive message refused: service URL not allowed');
      return false;
    }
    await this.options.adapter.continueConversationAsync(this.options.botAppId, reference, async (context) => {
      await context.sendActivity(activity);
    });
    return true;
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid)';
  }
}

/**
 * Work that runs after the turn has answered (notices to other people). Failures are logged, never thrown at
 * the user who is done; shutdown waits for what is in flight.
 */
export class BackgroundWork {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  run(description: string, work: () => Promise<void>): void {
    const task = work()
      .catch((err: Error) => this.logger.warn({ err: err.message, work: description }, 'background work failed'))
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }
}
