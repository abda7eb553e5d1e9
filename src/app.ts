import { createHmac } from 'node:crypto';
import { CloudAdapter, ConversationState, UserState, type TurnContext } from 'botbuilder';
import type { Request, Response } from 'restify';
import { ConfigError, type AppConfig } from './config';
import { InvalidInputError, NotFoundError } from './errors';
import type { Logger } from './logger';
import { KaizalaBot } from './bot';
import { RedeliveryGuard } from './dedupMiddleware';
import { activityShapeProblem } from './activityShape';
import { createTurnErrorHandler } from './turnErrors';
import { createServer, listen, close } from './server';
import { BackgroundWork } from './proactive';
import { JoinAttemptLimiter, JoinCodeLimiter } from './joinAttemptLimiter';
import type { EmbeddedAzurite } from './storage/embeddedAzurite';
import { openEmbeddedStore } from './storage/embeddedStore';
import { createTableClients, ensureTables, type TableClients } from './storage/tables';
import { TableStorage } from './storage/tableStorage';
import { DedupStore } from './storage/dedupStore';
import { TableGroupStore } from './storage/tableGroupStore';
import { TableWindowCounter } from './storage/windowCounter';
import { TableDocumentProfileStore } from './storage/documentProfileStore';
import { loadOrCreateAppSecret } from './storage/appSecret';
import { createStorageHealthCheck, withEmbeddedHealth } from './storage/storageHealth';
import { GroupService } from './groups/groupService';
import { channelTokenSource, createBotFrameworkAuthentication, createChannelGate, processAuthenticated } from './auth/channelAuth';
import { createSsoTokenVerifier } from './auth/entraTokenVerifier';
import { createOrganizationDirectory } from './auth/organizationDirectory';
import { UrlSigner } from './web/signedUrls';
import { GroupPhotoIntake } from './web/groupPhotoIntake';
import type { PhotoFetchOptions } from './web/photoFetcher';
import { landingPageRoutes } from './web/landingPage';
import { infoPageRoutes } from './web/infoPages';
import { exportLinks, exportRoutes } from './web/exportDownloads';
import { apiRoutes, SSO_NOT_CONFIGURED } from './web/api';
import { DocumentService } from './web/documentService';
import { downloadRoutes } from './web/downloads';
import { groupPhotoRoutes } from './web/groupPhoto';
import { tabRoutes } from './web/tab/tabPage';
import { Conversation } from '../dialogs/conversation';
import { CreateGroupDialog } from '../dialogs/createGroupDialog';
import { GroupActions, markdownSafe } from '../dialogs/groupActions';
import { AdminJoinNotices } from '../dialogs/joinNotices';
import { OrganizationSignInFlow } from '../dialogs/organizationFlow';
import { GroupDocumentsFlow } from '../dialogs/documentsFlow';
import { conversationRefOf, userFromActivity } from '../dialogs/identity';
import { isJoinRequest, turnInputOf } from '../dialogs/turnInput';
import { PostsFlow } from '../dialogs/postsFlow';
import { createPostCopyRenderer } from '../dialogs/postCopies';
import { ConversationService } from './groups/conversationService';
import { TablePostStore } from './storage/tablePostStore';
import { TableCurrentGroupStore } from './storage/tableCurrentGroupStore';
import { MemoryPostRateLimiter } from './postRateLimiter';
import { PostRetentionSweeper } from './postRetention';
import type { DeliveryEngine, FanoutSource, RenderCopy } from './delivery/ports';
import { createDeliveryEngine } from './delivery/index';
import type { QueueDeliveryEngineOptions } from './delivery/engine';

/** The bot's display name, as in the manifest. */
export const BOT_NAME = 'Kaizala Groups';

export interface AppOptions {
  logger: Logger;
  /** Table name prefix, so that tests can share one storage account. */
  tablePrefix?: string;
  /** Tests only: how group photos may be fetched (their own CA, a loopback address policy). */
  photoFetchOptions?: PhotoFetchOptions;
  /** Tests only: fetch used to reach Entra and Graph stand-ins. */
  fetch?: typeof fetch;
  /**
   * Tests only: a delivery engine in place of the real one (src/delivery), built over the posts' FanoutSource and
   * RenderCopy (the contract in src/delivery/ports.ts). The posting tests pass a recording one.
   */
  createDeliveryEngine?: (deps: { source: FanoutSource; render: RenderCopy; logger: Logger }) => DeliveryEngine;
  /** Tests only: the real engine's timings (shorter polls and leases). */
  deliveryTuning?: Partial<QueueDeliveryEngineOptions>;
}

export interface RunningApp {
  readonly url: string;
  readonly tables: TableClients;
  readonly groups: GroupService;
  readonly adapter: CloudAdapter;
  readonly posts: TablePostStore;
  readonly conversation: ConversationService;
  readonly delivery: DeliveryEngine;
  /** Present when MESSAGE_RETENTION_DAYS is set. */
  readonly retention?: PostRetentionSweeper;
  stop(): Promise<void>;
}

/**
 * The composition root: config -> storage -> repositories -> state -> dialogs -> bot -> adapter -> server.
 * Nothing here decides anything; each part takes its collaborators in its constructor.
 */
export async function startApp(config: AppConfig, options: AppOptions): Promise<RunningApp> {
  const { logger, tablePrefix } = options;
  let embedded: EmbeddedAzurite | undefined;
  let dropStorageCaches = () => {};
  let dropEngineCaches = () => {};
  let connectionString = config.STORAGE_CONNECTION_STRING;
  if (!connectionString) {
    // A replaced storage child may lack its last unsaved writes: nothing cached from before may be trusted.
    embedded = await openEmbeddedStore({ dataDir: config.DATA_DIR, logger, onRestart: () => dropStorageCaches() });
    connectionString = embedded.connectionString;
  }
  try {
    const tables = createTableClients({ connectionString, prefix: tablePrefix, timeoutMs: config.STORAGE_TIMEOUT_MS });
    await ensureTables(tables);
    const appSecret = await loadOrCreateAppSecret(tables.settings, config.APP_SECRET);

    const stateStorage = new TableStorage(tables.botstate);
    const conversationState = new ConversationState(stateStorage);
    const userState = new UserState(stateStorage);
    const dedup = new DedupStore(tables.dedup);
    const groupStore = new TableGroupStore(tables);
    const joinCodeCounter = new TableWindowCounter(tables.limits);
    const groups = new GroupService({
      store: groupStore,
      appSecret,
      publicUrl: config.PUBLIC_URL,
      allowedTenantIds: config.ALLOWED_TENANT_IDS,
      joinCodeAttempts: new JoinCodeLimiter(joinCodeCounter),
    });
    dropStorageCaches = () => {
      joinCodeCounter.dropCaches();
      groupStore.dropCaches();
      groups.dropCaches();
      postStore.dropCaches();
      dropEngineCaches();
    };
    // Its own key, derived from the app secret, so a signed URL can never stand in for an invite token.
    const signer = new UrlSigner({ secret: createHmac('sha256', appSecret).update('signed-urls').digest(), publicUrl: config.PUBLIC_URL });

    const adapter = new CloudAdapter(createBotFrameworkAuthentication(config, { logger }));
    adapter.onTurnError = createTurnErrorHandler(logger);
    const redelivery = new RedeliveryGuard(dedup, logger, {
      preload: (context) => (isJoinRequest(turnInputOf(context)) ? Promise.resolve() : conversationState.load(context)),
      idempotent: (context) => context.activity.type === 'message' && isJoinRequest(turnInputOf(context)),
      leaseMs: config.REDELIVERY_LEASE_MS,
    });
    adapter.use(redelivery);

    const background = new BackgroundWork(logger);
    // The group's conversation (issue 10): posts in the groups' partitions, delivered by the engine on the same
    // storage account's queues (the embedded Azurite runs its queue service too). The engine's sends use the
    // adapter's credentials, straight on the Bot Connector API (it owns retries and Teams' limits).
    const postStore = new TablePostStore(tables);
    const copies = createPostCopyRenderer(postStore, config.PUBLIC_URL);
    const engine: DeliveryEngine & { dropCaches?(): void } =
      options.createDeliveryEngine?.({ source: postStore, render: copies.render, logger }) ??
      queueEngineOrExplain(() => createDeliveryEngine({
        config,
        connectionString,
        prefix: tablePrefix ?? '',
        tables,
        source: postStore,
        render: copies.render,
        logger,
        getToken: channelTokenSource(config, options.fetch ? { fetch: options.fetch } : {}),
        tuning: options.deliveryTuning,
      }));
    dropEngineCaches = () => engine.dropCaches?.();
    /** A removal from a group the organization owns also deletes what was delivered to that member (issue 10). */
    const deleteCopiesIfOwned = async (groupId: string, userId: string): Promise<void> => {
      // After the answer (the removal is done; the deletions go through the tenant's lane at Teams' pace).
      background.run('delete a removed member\'s copies', async () => {
        const group = await groups.getGroup(groupId);
        if (group.tenantId) await engine.deleteCopiesFor(groupId, userId);
      });
    };
    const conversationService = new ConversationService({
      posts: postStore,
      current: new TableCurrentGroupStore(tables.usergroups),
      engine: {
        postAccepted: (groupId, seq) => engine.postAccepted(groupId, seq),
        postChanged: async (groupId, seq) => {
          copies.forget(groupId, seq);
          await engine.postChanged(groupId, seq);
        },
      },
      limiter: new MemoryPostRateLimiter(),
    });
    const retention = config.MESSAGE_RETENTION_DAYS ? new PostRetentionSweeper(postStore, config.MESSAGE_RETENTION_DAYS, logger) : undefined;
    const actions = new GroupActions({
      groups,
      notices: new AdminJoinNotices(engine, background),
      publicUrl: config.PUBLIC_URL,
      onRemoved: deleteCopiesIfOwned,
      unreachableCount: (groupId) => engine.unreachableCount(groupId),
    });
    const posts = new PostsFlow({ conversation: conversationService, groups, actions, logger });
    // Attachments hosted by the channel itself are fetched from it; with channel authentication on, only from
    // allow-listed service hosts.
    const photos = new GroupPhotoIntake(options.photoFetchOptions, {
      allowChannelHostedAttachments: !config.channelAuthEnabled,
      trustedServiceUrlHosts: config.ALLOWED_SERVICE_URL_HOSTS,
    });
    const createGroup = new CreateGroupDialog({
      photos,
      create: async (context: TurnContext, draft) => {
        const creator = userFromActivity(context.activity);
        const group = await groups.createGroup({
          name: draft.name,
          creator,
          photo: draft.photo,
          idempotencyKey: `${context.activity.conversation.id}|${context.activity.id}`,
          conversationRef: conversationRefOf(context.activity),
        });
        const reply = await actions.groupInfo({ user: creator, activityId: context.activity.id ?? '' }, group.id, `Your group **${markdownSafe(group.name)}** is ready. Next: Invite People. What you type here now goes to the group.`);
        if (reply.text) await context.sendActivity(reply.text);
        await context.sendActivity({ attachments: reply.cards });
        return group;
      },
    });

    // The tab's getAuthToken needs the domain in the Application ID URI (api://<host>/botid-<id>); the bot's
    // own OAuth connection may use either form, so both are accepted (plus the bare app id of v2 tokens).
    const verifier = createSsoTokenVerifier(config, {
      extraAudiences: config.MicrosoftAppId ? [`api://${new URL(config.PUBLIC_URL).host}/botid-${config.MicrosoftAppId}`] : [],
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const organization = new OrganizationSignInFlow({
      groups,
      userState,
      logger,
      orgAdminObjectIds: config.ORG_ADMIN_OBJECT_IDS,
      exportLinks: exportLinks(signer),
      onRemoved: deleteCopiesIfOwned,
      sso:
        verifier && config.SSO_CONNECTION_NAME
          ? {
              connectionName: config.SSO_CONNECTION_NAME,
              dedup: { tryClaim: (key) => dedup.claim('sso-token-exchange', key) },
              verifier,
              directory: createOrganizationDirectory(config, logger, options.fetch),
            }
          : undefined,
    });
    const documentService = new DocumentService({
      groups,
      profiles: new TableDocumentProfileStore(tables.groups),
      signer,
      botName: BOT_NAME,
      ...(config.MicrosoftAppId ? { botInstallUrl: `https://teams.microsoft.com/l/chat/0/0?users=28:${config.MicrosoftAppId}` } : {}),
      onPhotoSkipped: (groupId, reason) => logger.info({ groupId, reason }, 'poster made without the group photo'),
    });
    const documents = new GroupDocumentsFlow(groups, (groupId, userId) => documentService.documentLinks(groupId, userId), documentService);

    const conversation = new Conversation({
      conversationState,
      logger,
      actions,
      createGroup,
      organization,
      documents,
      joinLimiter: new JoinAttemptLimiter(),
      firstWelcome: (conversationId) => dedup.claim('welcome', conversationId),
      posts,
    });
    const bot = new KaizalaBot(conversation, [conversationState, userState]);

    const gate = createChannelGate(config);
    const server = createServer({
      logger,
      healthCheck: embedded ? withEmbeddedHealth(embedded, createStorageHealthCheck(tables.settings)) : createStorageHealthCheck(tables.settings),
      handleMessages: async (req: Request, res: Response) => {
        const problem = gate(req.headers.authorization).ok ? activityShapeProblem(req.body) : undefined;
        if (problem !== undefined) {
          // One line, no stack, no field values: a malformed activity is the caller's mistake, not ours.
          logger.warn({ field: problem, activityType: typeof req.body?.type === 'string' ? req.body.type.slice(0, 64) : undefined }, 'activity refused: a field has the wrong type');
          res.status(400);
          res.json({ error: `The request is not a Bot Framework activity (${problem}).` });
          return;
        }
        await processAuthenticated({ adapter, gate, logger }, req, res, (context: TurnContext) => bot.run(context));
      },
      routes: [
        landingPageRoutes({
          publicUrl: config.PUBLIC_URL,
          botAppId: config.MicrosoftAppId,
          teamsAppId: config.TEAMS_APP_ID,
          wasReset: (token) => groups.wasInviteReset(token),
          preview: async (token) => {
            // Only "no such link" (or no link at all) is a 404; a storage failure must not tell people their
            // link is invalid.
            const group = await groups.resolveInvite({ kind: 'token', value: token }).catch((err: unknown) => {
              if (err instanceof NotFoundError || err instanceof InvalidInputError) return undefined;
              throw err;
            });
            return group && { groupName: group.name, memberCount: group.memberCount, organizationName: group.organizationName, photoUrl: actions.photoUrl(group) };
          },
        }),
        infoPageRoutes({ retentionDays: config.MESSAGE_RETENTION_DAYS }),
        exportRoutes({ groups, signer, logger, posts: postStore }),
        apiRoutes({
          groups,
          verifier: verifier ?? SSO_NOT_CONFIGURED,
          documents: documentService,
          publicUrl: config.PUBLIC_URL,
          logger,
          organizationDirectory: createOrganizationDirectory(config, logger, options.fetch),
          conversation: conversationService,
        }),
        downloadRoutes({ documents: documentService, signer, logger }),
        groupPhotoRoutes({ groups, logger }),
        tabRoutes({ logger, publicUrl: config.PUBLIC_URL, allowTestHooks: config.NODE_ENV === 'test' }),
      ],
    });
    // The engine first: the first post accepted after listening can be delivered.
    await engine.start();
    const url = await listen(server, config.PORT, config.HOST).catch(async (err: unknown) => {
      await engine.stop();
      throw err;
    });
    logger.info({ url, publicUrl: config.PUBLIC_URL, embeddedStorage: Boolean(embedded), channelAuth: config.channelAuthEnabled }, 'bot listening');
    retention?.start();

    return {
      url,
      tables,
      groups,
      adapter,
      posts: postStore,
      conversation: conversationService,
      delivery: engine,
      retention,
      async stop() {
        await close(server);
        await redelivery.drain();
        await retention?.stop();
        // Pending join notices and copy deletions hand their work to the engine's queue first.
        await background.drain();
        await engine.stop();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

/** The engine needs the account's queues: a connection string without a queue endpoint fails start-up in words. */
function queueEngineOrExplain(create: () => DeliveryEngine): DeliveryEngine {
  try {
    return create();
  } catch (err) {
    throw new ConfigError(
      'STORAGE_CONNECTION_STRING',
      `cannot reach the storage account's queues, which the group conversation's delivery needs (${(err as Error).message}). Use the account's full connection string (with QueueEndpoint for Azurite).`,
    );
  }
}
