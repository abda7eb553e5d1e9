import type { AppConfig } from '../config';
import type { AppOptions } from '../app';
import { KaizalaBot } from '../teams/bot';
import type { BackgroundWork } from '../teams/proactive';
import { JoinAttemptLimiter } from '../groups/joinAttemptLimiter';
import { TableDocumentProfileStore } from '../storage/documentProfileStore';
import { createSsoTokenVerifier } from '../auth/entraTokenVerifier';
import { createOrganizationDirectory } from '../auth/organizationDirectory';
import { GroupPhotoIntake } from '../web/groupPhotoIntake';
import { exportLinks } from '../web/exportDownloads';
import { DocumentService } from '../web/documentService';
import { Conversation } from '../teams/conversation';
import { CreateGroupDialog } from '../../dialogs/createGroupDialog';
import { createGroupAndShow } from '../teams/handlers/groupCreation';
import { GroupActions } from '../teams/handlers/groupActions';
import { AdminJoinNotices } from '../teams/notices/joinNotices';
import { RemovedMemberNotices } from '../teams/notices/removalNotices';
import { JoinDigests } from '../teams/notices/joinDigest';
import { TableJoinDigestStore } from '../storage/tableJoinDigestStore';
import { OrganizationSignInFlow } from '../../dialogs/organizationFlow';
import { GroupDocumentsFlow } from '../teams/handlers/documentsFlow';
import { PostsFlow } from '../teams/handlers/postsFlow';
import { ImportFlow } from '../teams/handlers/importFlow';
import { ExportIntake } from '../web/exportIntake';
import type { Domain } from './storage';
import type { ConversationWiring } from './conversation';
import type { BulkAddFlow } from '../teams/handlers/bulkAddFlow';

/** What the dialogs take besides config: the bot's name (as in the manifest) and the after-the-answer runner. */
export interface DialogSettings {
  botName: string;
  background: BackgroundWork;
  /** `add people` (issue 18). */
  bulkAdd?: BulkAddFlow;
}

/** The sign-in pieces the chat and the tab's API share (one organization directory, one tenant cache). */
export function wireSignIn(config: AppConfig, options: AppOptions) {
  // The tab's getAuthToken needs the domain in the Application ID URI (api://<host>/botid-<id>); the bot's
  // own OAuth connection may use either form, so both are accepted (plus the bare app id of v2 tokens).
  const verifier = createSsoTokenVerifier(config, {
    extraAudiences: config.MicrosoftAppId ? [`api://${new URL(config.PUBLIC_URL).host}/botid-${config.MicrosoftAppId}`] : [],
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return { verifier, directory: createOrganizationDirectory(config, options.logger, options.fetch) };
}

export type SignIn = ReturnType<typeof wireSignIn>;

/** The conversation's dialogs and flows, and the bot that runs them. */
export function wireBot(
  config: AppConfig,
  options: AppOptions,
  domain: Domain,
  chat: ConversationWiring,
  signIn: SignIn,
  settings: DialogSettings,
) {
  const { logger } = options;
  const { groups, dedup, conversationState, userState } = domain;
  const { engine, onRemoved, onGroupDeleted } = chat;
  const removalNotices = new RemovedMemberNotices(engine, settings.background);
  const joinDigests = new JoinDigests(new TableJoinDigestStore(domain.tables.groups), groups, engine);
  const actions = new GroupActions({
    groups,
    notices: new AdminJoinNotices(engine, settings.background, undefined, joinDigests),
    publicUrl: config.PUBLIC_URL,
    onRemoved,
    onGroupDeleted,
    removalNotices,
    notReachedCount: async (groupId) =>
      engine.notReachedCount ? engine.notReachedCount(groupId) : { unreachable: await engine.unreachableCount(groupId), retrying: 0 },
  });
  // Attachments hosted by the channel itself are fetched from it; with channel authentication on, only from
  // allow-listed service hosts.
  const photos = new GroupPhotoIntake(options.photoFetchOptions, {
    allowChannelHostedAttachments: !config.channelAuthEnabled,
    trustedServiceUrlHosts: config.ALLOWED_SERVICE_URL_HOSTS,
  });
  const organization = new OrganizationSignInFlow({
    groups,
    userState,
    logger,
    orgAdminObjectIds: config.ORG_ADMIN_OBJECT_IDS,
    exportLinks: exportLinks(domain.signer),
    onRemoved,
    removalNotices,
    ...(settings.bulkAdd ? { addPeopleCard: settings.bulkAdd.cardFor.bind(settings.bulkAdd) } : {}),
    sso:
      signIn.verifier && config.SSO_CONNECTION_NAME
        ? {
            connectionName: config.SSO_CONNECTION_NAME,
            dedup: { tryClaim: (key) => dedup.claim('sso-token-exchange', key) },
            verifier: signIn.verifier,
            directory: signIn.directory,
          }
        : undefined,
  });
  const documentService = new DocumentService({
    groups,
    profiles: new TableDocumentProfileStore(domain.tables.groups),
    signer: domain.signer,
    botName: settings.botName,
    ...(config.MicrosoftAppId ? { botInstallUrl: `https://teams.microsoft.com/l/chat/0/0?users=28:${config.MicrosoftAppId}` } : {}),
    // The invite page has its Open in Teams button only with an app id (src/web/landingPage.ts).
    joinPath: config.MicrosoftAppId ? 'teamsButton' : 'message',
    onPhotoSkipped: (groupId, reason) => logger.info({ groupId, reason }, 'poster made without the group photo'),
  });
  const conversation = new Conversation({
    conversationState,
    logger,
    actions,
    createGroup: new CreateGroupDialog({ photos, create: createGroupAndShow(groups, actions) }),
    organization,
    documents: new GroupDocumentsFlow(groups, (groupId, userId) => documentService.documentLinks(groupId, userId), documentService),
    joinLimiter: new JoinAttemptLimiter(),
    firstWelcome: (conversationId) => dedup.claim('welcome', conversationId),
    posts: new PostsFlow({
      conversation: chat.conversation,
      groups,
      actions,
      logger,
      imports: new ImportFlow({
        imports: chat.imports,
        intake: new ExportIntake({ ...options.photoFetchOptions, fileHosts: options.exportFileHosts }),
        pending: chat.importJobs.pending,
        jobs: chat.importJobs.jobs,
        logger,
        hasRetention: config.MESSAGE_RETENTION_DAYS !== undefined,
      }),
    }),
    ...(settings.bulkAdd ? { bulkAdd: settings.bulkAdd } : {}),
    announcements: chat.actions.flow,
  });
  return { bot: new KaizalaBot(conversation, [conversationState, userState]), actions, documentService, joinDigests };
}

export type BotWiring = ReturnType<typeof wireBot>;
