import type { AppConfig } from '../config';
import type { AppOptions } from '../app';
import type { BackgroundWork } from '../teams/proactive';
import { channelTokenSource } from '../auth/channelAuth';
import { ConversationService } from '../groups/conversationService';
import { deleteCopiesIfOwned } from '../groups/removedMemberCopies';
import { TablePostStore } from '../storage/tablePostStore';
import { TableCurrentGroupStore } from '../storage/tableCurrentGroupStore';
import { MemoryPostRateLimiter } from '../groups/postRateLimiter';
import { DAY_MS, RetentionSweeper } from '../retentionSweeper';
import { queueEngineOrExplain } from '../startupErrors';
import type { DeliveryEngine } from '../delivery/ports';
import type { DeliveryHealth } from '../delivery/health';
import { createDeliveryEngine } from '../delivery/index';
import { DeliveryCleanup } from '../delivery/deliveryCleanup';
import { PostDeletion } from '../groups/postDeletion';
import { createPostCopyRenderer } from '../teams/notices/postCopies';
import type { Domain, StorageAccount } from './storage';
import { ImportService } from '../import/importService';
import { memberNamesFrom } from '../import/senderMatch';
import { TableImportStore } from '../storage/tableImportStore';
import { wireImportJobs } from './importJobs';
import { ImportNotices } from '../teams/notices/importNotices';
import { TableGroupStore } from '../storage/tableGroupStore';
import { wireActions, type ActionsWiring } from './actions';

/**
 * The group's conversation (issue 10): posts in the groups' partitions, delivered by the engine on the same
 * storage account's queues (the embedded Azurite runs its queue service too). The engine's sends use the
 * adapter's credentials, straight on the Bot Connector API (it owns retries and Teams' limits).
 */
export function wireConversation(
  config: AppConfig,
  options: AppOptions,
  account: StorageAccount,
  domain: Domain,
  background: BackgroundWork,
) {
  const { tables, groups } = domain;
  const { logger, tablePrefix } = options;
  const postStore = new TablePostStore(tables);
  // An announcement's or poll's post renders as the member's card of it (issue 19); wired below, used later.
  const late: { actions?: ActionsWiring } = {};
  const copies = createPostCopyRenderer(postStore, config.PUBLIC_URL, Date.now, (group, actionId, userId) =>
    late.actions ? late.actions.flow.deliveryCopy(group, actionId, userId) : Promise.resolve(undefined),
  );
  const engine: DeliveryEngine & { dropCaches?(): void; health?(): DeliveryHealth } =
    options.createDeliveryEngine?.({ source: postStore, render: copies.render, logger }) ??
    queueEngineOrExplain(() =>
      createDeliveryEngine({
        config,
        connectionString: account.connectionString,
        prefix: tablePrefix ?? '',
        tables,
        source: postStore,
        render: copies.render,
        logger,
        getToken: channelTokenSource(config, options.fetch ? { fetch: options.fetch } : {}),
        // After a deleted post's update pass, its records go (issue 17).
        tuning: { ...options.deliveryTuning, afterUpdate: async (groupId, seq) => void (await deletion.finish(groupId, seq)) },
      }),
    );
  // What the engine keeps about a post or a group (recipients' rows, outbox, markers) goes with it.
  const cleanup = new DeliveryCleanup(tables.deliveries, tables.outbox);
  const postChanged = async (groupId: string, seq: number) => {
    copies.forget(groupId, seq);
    await engine.postChanged(groupId, seq);
  };
  // Nothing about a deleted post outlives its deletion: quotes at once, records once the copies are deleted.
  const deletion = new PostDeletion({ posts: postStore, store: postStore.deletion, records: cleanup, changed: postChanged });
  account.staleCaches.push(
    () => postStore.dropCaches(),
    () => engine.dropCaches?.(),
  );
  const conversation = new ConversationService({
    posts: postStore,
    current: new TableCurrentGroupStore(tables.usergroups),
    engine: { postAccepted: (groupId, seq) => engine.postAccepted(groupId, seq), postChanged },
    limiter: new MemoryPostRateLimiter(),
    deleted: async (groupId, seq, was) => {
      await deletion.scrubQuotes(groupId, seq).catch((err: unknown) => {
        logger.warn({ err: (err as Error).message, groupId, seq }, 'quotes of a deleted post not scrubbed yet; the sweep will');
      });
      // An announcement's or poll's answers and tallies go with its post (left to retention or the group's
      // deletion only if this fails: the tombstone keeps no action id).
      if (was.action)
        await late.actions?.store.forgetAction(groupId, was.action.id).catch((err: unknown) => {
          logger.warn({ err: (err as Error).message, groupId, seq }, "a deleted post's action rows not deleted; retention will");
        });
    },
  });
  // Importing chat exports (issue 20): rows apart from live posts; the one announcement is a live post.
  const importStore = new TableImportStore(tables);
  const imports = new ImportService({
    store: importStore,
    posts: postStore,
    members: memberNamesFrom(new TableGroupStore(tables)),
    announce: async (post) => void (await conversation.post(post)),
    retentionDays: config.MESSAGE_RETENTION_DAYS,
  });
  const importJobs = wireImportJobs(tables, imports, options.logger, { reporter: new ImportNotices(engine) });
  const actions = (late.actions = wireActions(domain, { conversation, postStore, engine, background, logger }));
  const actionStore = actions.store;
  return {
    postStore,
    engine,
    conversation,
    imports,
    importStore,
    importJobs,
    actions,
    onRemoved: deleteCopiesIfOwned({ groups, engine, background }),
    onGroupDeleted: async (groupId: string) => {
      postStore.forgetGroupView(groupId);
      background.run("forget a deleted group's deliveries", async () => {
        await cleanup.forgetGroup(groupId);
        await actionStore.forgetGroup(groupId);
      });
      background.run("forget a deleted group's imported messages", async () => {
        await importStore.forgetGroup(groupId);
      });
    },
    retention: config.MESSAGE_RETENTION_DAYS
      ? new RetentionSweeper(
          {
            // Imported messages by their original time, like posts by theirs.
            deleteOlderThan: async (cutoff) =>
              (await postStore.deleteOlderThan(cutoff, async (groupId, seqs) => {
                for (const seq of seqs) copies.forget(groupId, seq);
                await cleanup.forgetPosts(groupId, seqs);
              })) +
              (await importStore.deleteOlderThan(cutoff)) +
              (await actionStore.deleteOlderThan(cutoff)),
          },
          { what: 'posts', keepMs: config.MESSAGE_RETENTION_DAYS * DAY_MS },
          logger,
        )
      : undefined,
    // Deletions a crash or a lost message left unfinished (tables are the truth): at start-up and every hour.
    deletedPosts: new RetentionSweeper(
      { deleteOlderThan: (cutoff) => deletion.sweep(cutoff) },
      { what: 'deleted posts finished', keepMs: FINISH_DELETIONS_AFTER_MS },
      logger,
    ),
  };
}

/** A deletion still unfinished this long after it is the sweep's (the engine's update pass takes seconds). */
const FINISH_DELETIONS_AFTER_MS = 10 * 60_000;

export type ConversationWiring = ReturnType<typeof wireConversation>;
