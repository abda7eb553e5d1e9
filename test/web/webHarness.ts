import { ActionPosts } from '../../src/actions/actionPosts';
import { ActionService, groupMemberLister } from '../../src/actions/actionService';
import { ActionStore } from '../../src/actions/actionStore';
import { actionReportLinks, actionReportRoutes } from '../../src/web/actionReport';
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Server } from 'restify';
import { createLogger, type Logger } from '../../src/logger';
import { createServer, listen, close } from '../../src/server';
import { EntraTokenVerifier } from '../../src/auth/entraTokenVerifier';
import { GroupService } from '../../src/groups/groupService';
import type { Group, UserRef } from '../../src/groups/model';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import type { TableClients } from '../../src/storage/tables';
import { UrlSigner } from '../../src/web/signedUrls';
import { apiRoutes, type ApiDependencies } from '../../src/web/api';
import { DocumentService } from '../../src/web/documentService';
import { downloadRoutes } from '../../src/web/downloads';
import { groupPhotoRoutes, groupPhotoUrl } from '../../src/web/groupPhoto';
import { tabRoutes } from '../../src/web/tab/tabPage';
import { landingPageRoutes } from '../../src/web/landingPage';
import { TableDocumentProfileStore } from '../../src/storage/documentProfileStore';
import { infoPageRoutes } from '../../src/web/infoPages';
import { isAppError } from '../../src/errors';
import { freshTables } from '../helpers/azurite';
import { FakeEntra } from '../helpers/fakeEntra';
import { RecordingDeliveryEngine } from '../helpers/recordingEngine';
import { ConversationService } from '../../src/groups/conversationService';
import { MemoryPostRateLimiter } from '../../src/groups/postRateLimiter';
import { TableCurrentGroupStore } from '../../src/storage/tableCurrentGroupStore';
import { TablePostStore } from '../../src/storage/tablePostStore';
import { ImportService } from '../../src/import/importService';
import { ImportJobs } from '../../src/import/importJobs';
import { memberNamesFrom } from '../../src/import/senderMatch';
import { TableImportStore } from '../../src/storage/tableImportStore';
import { TablePendingUploads } from '../../src/storage/tablePendingUploads';
import { IMPORT_UPLOAD_PATH } from '../../src/web/importApi';

/**
 * The web side of the bot on a real restify server (127.0.0.1, port 0): JSON API, downloads, group photos, tab and
 * landing page, over a GroupService on Azurite and the real EntraTokenVerifier pointed at a local fake Entra.
 * The wiring mirrors what src/app.ts does, so the tests exercise the same route modules.
 */

export const APP_ID = '00000000-1111-2222-3333-444444444444';
export const BOT_NAME = 'Kaizala Groups';

export interface TestUser extends UserRef {
  /** Entra tenant of the user. */
  tid: string;
}

export interface WebHarness {
  url: string;
  groups: GroupService;
  /** The group's conversation behind GET/POST /api/groups/:id/posts (deliveries only recorded). */
  conversation: ConversationService;
  posts: TablePostStore;
  /** Importing chat exports (issue 20): the tab's import and imported history. */
  imports: ImportService;
  /** Announcements and polls behind /api/groups/:id/actions. */
  actions: ActionService;
  entra: FakeEntra;
  tables: TableClients;
  logs: Array<Record<string, unknown>>;
  /** Moves the signer's clock (download link expiry) forward. */
  advanceLinkClock(ms: number): void;
  newUser(name: string, tid?: string): TestUser;
  /** A valid Teams SSO token for the user (options change claims for refusal tests). */
  tokenFor(user: TestUser, claims?: Partial<{ expiresIn: number; tid: string; preferredUsername: string }>): Promise<string>;
  createGroup(creator: UserRef, name: string, photo?: { bytes: Buffer; contentType: string }): Promise<Group>;
  joinGroup(group: Group, admin: UserRef, user: UserRef): Promise<void>;
  stop(): Promise<void>;
}

/** A log destination that keeps lines in memory, so tests can read what was logged. */
function memoryLogger(): { logger: Logger; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), logs };
}

export async function startWebHarness(
  options: {
    allowTestHooks?: boolean;
    landing?: { botAppId?: string; teamsAppId?: string };
    /** More API parts (bulk add's), built over the harness's groups and tables. */
    api?: (parts: { groups: GroupService; tables: TableClients }) => Partial<ApiDependencies>;
  } = {},
): Promise<WebHarness> {
  const [{ clients }, entra] = await Promise.all([freshTables(), FakeEntra.start()]);
  const { logger, logs } = memoryLogger();
  let server: Server | undefined;
  try {
    server = createServer({
      logger,
      healthCheck: async () => true,
      rawBodyPaths: [IMPORT_UPLOAD_PATH],
      handleMessages: async (_req, res) => {
        res.status(404);
        res.json({ error: 'not in this test' });
      },
    });
    // Port 0 first; the services need the resulting URL (invite links, signed links), and restify takes routes late.
    const url = await listen(server, 0, '127.0.0.1');
    let clockOffset = 0;
    const groups = new GroupService({ store: new TableGroupStore(clients), appSecret: randomBytes(24).toString('hex'), publicUrl: url });
    const signer = new UrlSigner({ secret: randomBytes(32), publicUrl: url, now: () => Date.now() + clockOffset });
    const verifier = new EntraTokenVerifier({
      metadataUrl: entra.metadataUrl,
      audiences: [APP_ID, `api://botid-${APP_ID}`],
      requiredScope: 'access_as_user',
      clockSkewSeconds: 60,
    });
    const posts = new TablePostStore(clients);
    const conversation = new ConversationService({
      posts,
      current: new TableCurrentGroupStore(clients.usergroups),
      engine: new RecordingDeliveryEngine(),
      limiter: new MemoryPostRateLimiter(),
    });
    const documents = new DocumentService({ groups, signer, botName: BOT_NAME, profiles: new TableDocumentProfileStore(clients.groups) });

    // Announcements and polls (issue 19): created and watched from the tab, the report downloaded by link.
    const actionService = new ActionService({
      store: new ActionStore(clients.actions),
      members: conversation,
      lister: groupMemberLister(groups),
    });
    const actions = {
      actions: actionService,
      posts: new ActionPosts({ service: actionService, conversation }),
      reportUrl: actionReportLinks(signer),
    };
    const groupStore = new TableGroupStore(clients);
    const imports = new ImportService({
      store: new TableImportStore(clients),
      posts,
      members: memberNamesFrom(groupStore),
      announce: async (post) => void (await conversation.post(post)),
    });
    const pending = new TablePendingUploads(clients.importuploads);
    const jobs = new ImportJobs({ pending, imports, holder: 'web-harness' });
    apiRoutes({
      groups,
      verifier,
      documents,
      publicUrl: url,
      logger,
      conversation,
      imports,
      importing: { imports, pending, jobs },
      actions,
      ...options.api?.({ groups, tables: clients }),
    })(server);
    actionReportRoutes({ actions: actionService, signer, logger })(server);
    downloadRoutes({ documents, signer, logger })(server);
    groupPhotoRoutes({ groups, logger })(server);
    tabRoutes({ logger, publicUrl: url, allowTestHooks: options.allowTestHooks === true })(server);
    infoPageRoutes()(server);
    landingPageRoutes({
      publicUrl: url,
      ...options.landing,
      wasReset: (token) => groups.wasInviteReset(token),
      async preview(token) {
        try {
          const group = await groups.resolveInvite(token);
          return {
            groupName: group.name,
            memberCount: group.memberCount,
            ...(group.organizationName ? { organizationName: group.organizationName } : {}),
            ...(group.photo ? { photoUrl: groupPhotoUrl(url, group.id, group.photo.version) } : {}),
          };
        } catch (err) {
          if (isAppError(err)) return undefined;
          throw err;
        }
      },
    })(server);

    let keys = 0;
    const running = server;
    return {
      url,
      groups,
      conversation,
      posts,
      imports,
      actions: actionService,
      entra,
      tables: clients,
      logs,
      advanceLinkClock(ms) {
        clockOffset += ms;
      },
      newUser(name, tid = randomUUID()) {
        return { id: randomUUID(), name, tid };
      },
      tokenFor(user, claims = {}) {
        return entra.signToken(
          entra.ssoClaims({
            aud: APP_ID,
            tid: claims.tid ?? user.tid,
            oid: user.id,
            name: user.name,
            ...(claims.expiresIn !== undefined ? { expiresIn: claims.expiresIn } : {}),
            ...(claims.preferredUsername !== undefined ? { preferredUsername: claims.preferredUsername } : {}),
          }),
        );
      },
      createGroup(creator, name, photo) {
        return groups.createGroup({ name, creator, idempotencyKey: `web-test|${++keys}|${randomUUID()}`, ...(photo ? { photo } : {}) });
      },
      async joinGroup(group, admin, user) {
        const invite = await groups.getInvite(group.id, admin);
        await groups.join({ ref: invite.url, user });
      },
      async stop() {
        await close(running);
        await entra.close();
      },
    };
  } catch (err) {
    if (server) await close(server);
    await entra.close();
    throw err;
  }
}
