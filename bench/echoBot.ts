import restify from 'restify';
import {
  ActivityHandler,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  ConfigurationServiceClientCredentialFactory,
  type TurnContext,
} from 'botbuilder';
import type { AddressInfo } from 'node:net';

export interface PlainBot {
  url: string;
  stop(): Promise<void>;
}

/** The baseline: a plain echo bot on the same stack (restify + CloudAdapter), no storage. */
export function startEchoBot(): Promise<PlainBot> {
  return startPlainBot(async (context) => {
    await context.sendActivity(`Echo: ${context.activity.text}`);
  });
}

/** restify + CloudAdapter (no channel authentication) + an ActivityHandler whose message handler is `onMessage`. */
export async function startPlainBot(onMessage: (context: TurnContext) => Promise<void>): Promise<PlainBot> {
  const adapter = new CloudAdapter(
    new ConfigurationBotFrameworkAuthentication(
      {},
      new ConfigurationServiceClientCredentialFactory({
        MicrosoftAppId: '',
        MicrosoftAppPassword: '',
        MicrosoftAppType: 'MultiTenant',
        MicrosoftAppTenantId: '',
      }),
    ),
  );
  const bot = new ActivityHandler();
  bot.onMessage(async (context, next) => {
    await onMessage(context);
    await next();
  });
  const server = restify.createServer();
  server.use(restify.plugins.bodyParser());
  server.post('/api/messages', async (req: restify.Request, res: restify.Response) => {
    await adapter.process(req, res, (context) => bot.run(context));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
