import { createHmac } from 'node:crypto';
import { CloudAdapter, ConversationState, UserState, type TurnContext } from 'botbuilder';
import type { Request, Response } from 'restify';
import type { AppConfig } from './config';
import { NotFoundError } from './errors';
import type { Logger } from './logger';
import { KaizalaBot } from './bot';
import { RedeliveryGuard } from './dedupMiddleware';
import { isWellFormedActivity } from './activityShape';
import { createTurnErrorHandler } from './turnErrors';
import { createServer, listen, close } from './server';
import { AdapterMessenger, BackgroundWork } from './proactive';
import { JoinAttemptLimiter } from './joinAttemptLimiter';
import type { EmbeddedAzurite } from './storage/embeddedAzurite';
import { openEmbeddedStore } from './storage/embeddedStore';
import { createTableClients, ensureTables, type TableClients } from './storage/tables';
import { TableStorage } from './storage/tableStorage';
import { DedupStore } from './storage/dedupStore';
import { TableGroupStore } from './storage/tableGroupStore';
import { loadOrCreateAppSecret } from './storage/appSecret';
import { createStorageHealthCheck, withEmbeddedHealth } from './storage/storageHealth';
import { GroupService } from './groups/groupService';
import { createBotFrameworkAuthentication, createChannelGate, processAuthenticated } from './auth/channelAuth';
import { createSsoTokenVerifier } from './auth/entraTokenVerifier';
import { createOrganizationDirectory } from './auth/organizationDirectory';
import { UrlSigner } from './web/signedUrls';
import { GroupPhotoIntake } from './web/groupPhotoIntake';
import type { PhotoFetchOptions } from './web/photoFetcher';
import { landingPageRoutes } from './web/landingPage';
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
}

export interface RunningApp {
  readonly url: string;
  readonly tables: TableClients;
  readonly groups: GroupService;
  readonly adapter: CloudAdapter;
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
  let connectionString = config.STORAGE_CONNECTION_STRING;
  if (!connectionString) {
    // A replaced storage child may lack its last unsaved writes: nothing cached from before may be trusted.
    embedded = await openEmbeddedStore({ dataDir: config.DATA_DIR, logger, onRestart: () => dropStorageCaches() });
    connectionString = embedded.connectionString;
  }
  try {
    const tables = createTableClients({ connectionString, prefix: tablePrefix });
    await ensureTables(tables);
    const appSecret = await loadOrCreateAppSecret(tables.settings, config.APP_SECRET);

    const stateStorage = new TableStorage(tables.botstate);
    const conversationState = new ConversationState(stateStorage);
    const userState = new UserState(stateStorage);
    const dedup = new DedupStore(tables.dedup);
    const groupStore = new TableGroupStore(tables);
    const groups = new GroupService({
      store: groupStore,
      appSecret,
      publicUrl: config.PUBLIC_URL,
      allowedTenantIds: config.ALLOWED_TENANT_IDS,
    });
    dropStorageCaches = () => {
      groupStore.dropCaches();
      groups.dropCaches();
    };
    // Its own key, derived from the app secret, so a signed URL can never stand in for an invite token.
    const signer = new UrlSigner({ secret: createHmac('sha256', appSecret).update('signed-urls').digest(), publicUrl: config.PUBLIC_URL });

    const adapter = new CloudAdapter(createBotFrameworkAuthentication(config, { logger }));
    adapter.onTurnError = createTurnErrorHandler(logger);
    adapter.use(
      new RedeliveryGuard(
        dedup,
        logger,
        (context) => (isJoinRequest(turnInputOf(context)) ? Promise.resolve() : conversationState.load(context)),
        (context) => context.activity.type === 'message' && isJoinRequest(turnInputOf(context)),
      ),
    );

    const background = new BackgroundWork(logger);
    const messenger = new AdapterMessenger({
      adapter,
      botAppId: config.MicrosoftAppId ?? '',
      allowedServiceUrlHosts: config.ALLOWED_SERVICE_URL_HOSTS,
      allowLoopback: !config.channelAuthEnabled,
      logger,
    });
    const actions = new GroupActions({ groups, notices: new AdminJoinNotices(messenger, background), publicUrl: config.PUBLIC_URL });
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
        const reply = await actions.groupInfo({ user: creator, activityId: context.activity.id ?? '' }, group.id, `Your group **${markdownSafe(group.name)}** is ready. Next: Invite People.`);
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
      signer,
      botName: BOT_NAME,
      ...(config.MicrosoftAppId ? { botInstallUrl: `https://teams.microsoft.com/l/chat/0/0?users=28:${config.MicrosoftAppId}` } : {}),
      onPhotoSkipped: (groupId, reason) => logger.info({ groupId, reason }, 'poster made without the group photo'),
    });
    const documents = new GroupDocumentsFlow(groups, (groupId, userId) => documentService.documentLinks(groupId, userId));

    const conversation = new Conversation({
      conversationState,
      logger,
      actions,
      createGroup,
      organization,
      documents,
      joinLimiter: new JoinAttemptLimiter(),
      firstWelcome: (conversationId) => dedup.claim('welcome', conversationId),
    });
    const bot = new KaizalaBot(conversation, [conversationState, userState]);

    const gate = createChannelGate(config);
    const server = createServer({
      logger,
      healthCheck: embedded ? withEmbeddedHealth(embedded, createStorageHealthCheck(tables.settings)) : createStorageHealthCheck(tables.settings),
      handleMessages: async (req: Request, res: Response) => {
        if (gate(req.headers.authorization).ok && !isWellFormedActivity(req.body)) {
          res.status(400);
          res.json({ error: 'The request is not a Bot Framework activity.' });
          return;
        }
        await processAuthenticated({ adapter, gate, logger }, req, res, (context: TurnContext) => bot.run(context));
      },
      routes: [
        landingPageRoutes({
          publicUrl: config.PUBLIC_URL,
          botAppId: config.MicrosoftAppId,
          preview: async (token) => {
            // Only "no such link" is a 404; a storage failure must not tell people their link is invalid.
            const group = await groups.resolveInvite({ kind: 'token', value: token }).catch((err: unknown) => {
              if (err instanceof NotFoundError) return undefined;
              throw err;
            });
            return group && { groupName: group.name, memberCount: group.memberCount, organizationName: group.organizationName, photoUrl: actions.photoUrl(group) };
          },
        }),
        exportRoutes({ groups, signer, logger }),
        apiRoutes({
          groups,
          verifier: verifier ?? SSO_NOT_CONFIGURED,
          documents: documentService,
          publicUrl: config.PUBLIC_URL,
          logger,
          organizationDirectory: createOrganizationDirectory(config, logger, options.fetch),
        }),
        downloadRoutes({ documents: documentService, signer, logger }),
        groupPhotoRoutes({ groups, logger }),
        tabRoutes({ logger, publicUrl: config.PUBLIC_URL, allowTestHooks: config.NODE_ENV === 'test' }),
      ],
    });
    const url = await listen(server, config.PORT, config.HOST);
    logger.info({ url, publicUrl: config.PUBLIC_URL, embeddedStorage: Boolean(embedded), channelAuth: config.channelAuthEnabled }, 'bot listening');

    return {
      url,
      tables,
      groups,
      adapter,
      async stop() {
        await close(server);
        await background.drain();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
