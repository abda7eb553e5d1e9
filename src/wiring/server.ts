import { CloudAdapter } from 'botbuilder';
import type { AppConfig } from '../config';
import type { AppOptions } from '../app';
import { RedeliveryGuard } from '../teams/dedupMiddleware';
import { DAY_MS, RetentionSweeper } from '../retentionSweeper';
import { DeliveryCleanup } from '../delivery/deliveryCleanup';
import { createTurnErrorHandler } from '../teams/turnErrors';
import { createServer } from '../server';
import { messagesEndpoint } from '../teams/messagesEndpoint';
import { createBotFrameworkAuthentication, createChannelGate } from '../auth/channelAuth';
import { createStorageHealthCheck, withEmbeddedHealth } from '../storage/storageHealth';
import { invitePreviewOf, landingPageRoutes } from '../web/landingPage';
import { infoPageRoutes } from '../web/infoPages';
import { exportRoutes } from '../web/exportDownloads';
import { actionReportLinks, actionReportRoutes } from '../web/actionReport';
import { apiRoutes, SSO_NOT_CONFIGURED } from '../web/api';
import { IMPORT_UPLOAD_PATH } from '../web/importApi';
import { downloadRoutes } from '../web/downloads';
import { groupPhotoRoutes } from '../web/groupPhoto';
import { tabRoutes } from '../web/tab/tabPage';
import { turnInputOf } from '../teams/input/turnInput';
import { isIdempotentRequest } from '../teams/handlers/handlers';
import type { Domain, StorageAccount } from './storage';
import type { ConversationWiring } from './conversation';
import type { BotWiring, SignIn } from './dialogs';
import type { BulkAddWiring } from './bulkAdd';

/**
 * The Bot Framework adapter, with the turn error handler and the redelivery guard in front of every turn, and the
 * sweep that deletes the guard's leases a day after their turn (Teams redelivers within minutes).
 */
export function wireAdapter(config: AppConfig, options: AppOptions, domain: Domain) {
  const { logger } = options;
  const adapter = new CloudAdapter(createBotFrameworkAuthentication(config, { logger }));
  adapter.onTurnError = createTurnErrorHandler(logger);
  const redelivery = new RedeliveryGuard(domain.dedup, logger, {
    preload: (context) => (isIdempotentRequest(turnInputOf(context)) ? Promise.resolve() : domain.conversationState.load(context)),
    idempotent: (context) => context.activity.type === 'message' && isIdempotentRequest(turnInputOf(context)),
    leaseMs: config.REDELIVERY_LEASE_MS,
  });
  adapter.use(redelivery);
  // One-off send records (admins' notices) guard against a second send for as long as a redelivery can come: a
  // day, like the leases, and they go in the same sweep.
  const oneOffs = new DeliveryCleanup(domain.tables.deliveries, domain.tables.outbox);
  const leaseSweep = new RetentionSweeper(
    {
      deleteOlderThan: async (cutoff) =>
        (await domain.dedup.deleteLeasesClaimedBefore(cutoff)) + (await oneOffs.deleteOneOffsBefore(cutoff)),
    },
    { what: 'redelivery leases and one-off send records', keepMs: DAY_MS },
    logger,
  );
  return { adapter, redelivery, leaseSweep };
}

/** The HTTP server: /api/messages, the health check, and the web routes (pages, API, downloads, the tab). */
export function wireServer(
  config: AppConfig,
  options: AppOptions,
  parts: {
    account: StorageAccount;
    domain: Domain;
    adapter: CloudAdapter;
    chat: ConversationWiring;
    signIn: SignIn;
    bot: BotWiring;
    bulkAdd?: BulkAddWiring['tab'];
  },
) {
  const { logger } = options;
  const { account, domain, chat, signIn, bot } = parts;
  const { groups, signer, tables } = domain;
  const storageHealth = createStorageHealthCheck(tables.settings);
  return createServer({
    logger,
    healthCheck: account.embedded ? withEmbeddedHealth(account.embedded, storageHealth) : storageHealth,
    deliveryHealth: () => chat.engine.health?.(),
    rawBodyPaths: [IMPORT_UPLOAD_PATH],
    handleMessages: messagesEndpoint({ adapter: parts.adapter, gate: createChannelGate(config), logger, bot: bot.bot }),
    routes: [
      landingPageRoutes({
        publicUrl: config.PUBLIC_URL,
        botAppId: config.MicrosoftAppId,
        teamsAppId: config.TEAMS_APP_ID,
        wasReset: (token) => groups.wasInviteReset(token),
        preview: invitePreviewOf(groups, (group) => bot.actions.photoUrl(group)),
      }),
      infoPageRoutes({ retentionDays: config.MESSAGE_RETENTION_DAYS }),
      exportRoutes({ groups, signer, logger, posts: chat.postStore, imported: chat.importStore }),
      actionReportRoutes({ actions: chat.actions.service, signer, logger }),
      apiRoutes({
        groups,
        verifier: signIn.verifier ?? SSO_NOT_CONFIGURED,
        documents: bot.documentService,
        publicUrl: config.PUBLIC_URL,
        logger,
        organizationDirectory: signIn.directory,
        conversation: chat.conversation,
        imports: chat.imports,
        importing: {
          imports: chat.imports,
          pending: chat.importJobs.pending,
          jobs: chat.importJobs.jobs,
          onJobError: (err) => logger.warn({ err: (err as Error).message }, 'import job failed; the sweep retries it'),
        },
        ...(parts.bulkAdd ? { bulkAdd: parts.bulkAdd } : {}),
        actions: { actions: chat.actions.service, posts: chat.actions.posts, reportUrl: actionReportLinks(signer) },
      }),
      downloadRoutes({ documents: bot.documentService, signer, logger }),
      groupPhotoRoutes({ groups, logger }),
      tabRoutes({ logger, publicUrl: config.PUBLIC_URL, allowTestHooks: config.NODE_ENV === 'test' }),
    ],
  });
}
