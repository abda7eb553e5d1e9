import { ActionPosts } from '../actions/actionPosts';
import { ActionService, groupMemberLister } from '../actions/actionService';
import { ActionStore } from '../actions/actionStore';
import { PollClosing } from '../actions/pollClosing';
import type { DeliveryEngine } from '../delivery/ports';
import type { ConversationService } from '../groups/conversationService';
import type { Logger } from '../logger';
import type { TablePostStore } from '../storage/tablePostStore';
import { ActionsFlow } from '../teams/handlers/actionsFlow';
import type { BackgroundWork } from '../teams/proactive';
import { actionReportLinks } from '../web/actionReport';
import type { Domain } from './storage';

/** Announcements and polls (issue 19): their table, rules, posts and the chat flow, over the conversation. */
export function wireActions(
  domain: Domain,
  parts: {
    conversation: ConversationService;
    postStore: TablePostStore;
    engine: DeliveryEngine;
    background: BackgroundWork;
    logger: Logger;
  },
) {
  const store = new ActionStore(domain.tables.actions);
  const service = new ActionService({ store, members: parts.conversation, lister: groupMemberLister(domain.groups) });
  const posts = new ActionPosts({ service, conversation: parts.conversation });
  const flow = new ActionsFlow({
    service,
    posts,
    conversation: parts.conversation,
    recipients: parts.postStore,
    engine: parts.engine,
    background: parts.background,
    reportUrl: actionReportLinks(domain.signer),
    logger: parts.logger,
  });
  // Polls past their closing time: locked, and their results posted once (started and stopped by app.ts).
  const closing = new PollClosing({ service, posts }, parts.logger);
  return { store, service, posts, flow, closing };
}

export type ActionsWiring = ReturnType<typeof wireActions>;
