/**
 * Reaching people who never opened the bot (issue 18): Teams lets a bot message only people who have its app,
 * so bulk add installs it for them through Graph (`POST /users/{id}/teamwork/installedApps`, permission
 * TeamsAppInstallation.ReadWriteSelfForUser.All) and finds their personal chat with it
 * (`GET .../installedApps?$filter=teamsApp/id eq '{app}'`, then `.../installedApps/{id}/chat`). Every call goes
 * in `$batch`es of 20; a 429 waits for its Retry-After; each person's failure keeps a reason an admin can act on.
 */
import { GraphUnavailableError, MAX_BATCH, retryAfterMs, type GraphClient, type GraphRequest, type GraphResponse } from './graphClient';

export type ReachFailure = 'blocked_by_policy' | 'user_not_found' | 'no_teams' | 'app_not_in_catalog' | 'graph_error' | 'chat_refused';

export type Reach = { chatId: string } | { failed: ReachFailure; detail: string };

export const REACH_FAILURES: Record<ReachFailure, string> = {
  blocked_by_policy: "blocked by your organization's app permission policy: allow the app for these people in the Teams admin center",
  user_not_found: 'not found in the directory any more',
  no_teams: 'has no Teams (no license, or Teams is turned off for them)',
  app_not_in_catalog: "the app is not in your organization's app catalog: upload it there first",
  graph_error: 'Microsoft Graph could not complete the request; try again later',
  chat_refused: 'Teams would not open a chat with them; the app may not be installed for them',
};

const MAX_THROTTLED_ROUNDS = 8;

export interface GraphInstallerOptions {
  client: GraphClient;
  /** The app's id in the manifest (its externalId in the organization's catalog). */
  manifestAppId: string;
  graphRoot?: string;
  take?: (calls: number) => Promise<void>;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Find each chat through Graph (two more calls a person: the installation, then its chat). Off, the install is
   * the only Graph call: the chat is left empty ('') and the channel creates it at the first send (the welcome),
   * within Teams' budget, as for any member without a personal chat. Default on.
   */
  findChat?: boolean;
}

export class GraphInstaller {
  private catalogId?: Promise<string | undefined>;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: GraphInstallerOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Installs the app for each user (already installed is fine) and finds each one's chat with the bot. */
  async reach(userIds: readonly string[]): Promise<Map<string, Reach>> {
    const results = new Map<string, Reach>();
    const catalogId = await this.appCatalogId();
    if (!catalogId) {
      for (const id of userIds) results.set(id, { failed: 'app_not_in_catalog', detail: REACH_FAILURES.app_not_in_catalog });
      return results;
    }
    const bind = `${(this.options.graphRoot ?? 'https://graph.microsoft.com/v1.0').replace(/\/$/, '')}/appCatalogs/teamsApps/${catalogId}`;
    // 1. Install (201 created, 409 installed already).
    const installed = await this.each(userIds, (id) => ({
      method: 'POST',
      url: `/users/${encodeURIComponent(id)}/teamwork/installedApps`,
      body: { 'teamsApp@odata.bind': bind },
    }));
    const next: string[] = [];
    for (const id of userIds) {
      const response = installed.get(id)!;
      if (response.status === 201 || response.status === 409 || response.status === 200) next.push(id);
      else results.set(id, failureOf(response));
    }
    if (this.options.findChat === false) {
      for (const id of next) results.set(id, { chatId: '' });
      return results;
    }
    // 2. The installation, then its chat.
    const filter = encodeURIComponent(`teamsApp/id eq '${catalogId}'`);
    const installations = await this.each(next, (id) => ({
      method: 'GET',
      url: `/users/${encodeURIComponent(id)}/teamwork/installedApps?$expand=teamsApp&$filter=${filter}`,
    }));
    const withInstallation = new Map<string, string>();
    for (const id of next) {
      const response = installations.get(id)!;
      const installationId = (response.body as { value?: Array<{ id?: string }> } | undefined)?.value?.[0]?.id;
      if (response.status === 200 && installationId) withInstallation.set(id, installationId);
      else results.set(id, response.status === 200 ? { failed: 'no_teams', detail: REACH_FAILURES.no_teams } : failureOf(response));
    }
    const chats = await this.each([...withInstallation.keys()], (id) => ({
      method: 'GET',
      url: `/users/${encodeURIComponent(id)}/teamwork/installedApps/${encodeURIComponent(withInstallation.get(id)!)}/chat`,
    }));
    for (const [id] of withInstallation) {
      const response = chats.get(id)!;
      const chatId = (response.body as { id?: string } | undefined)?.id;
      results.set(id, response.status === 200 && chatId ? { chatId } : failureOf(response));
    }
    return results;
  }

  /** The app's id in the organization's catalog, looked up once (it differs from the manifest id for org apps). */
  appCatalogId(): Promise<string | undefined> {
    this.catalogId ??= (async () => {
      await this.options.take?.(1);
      const filter = encodeURIComponent(`externalId eq '${this.options.manifestAppId.replace(/'/g, "''")}'`);
      const response = await this.options.client.call({ method: 'GET', url: `/appCatalogs/teamsApps?$filter=${filter}` });
      if (response.status !== 200) throw new GraphUnavailableError(`Graph answered ${response.status} for the app catalog`);
      return (response.body as { value?: Array<{ id?: string }> }).value?.[0]?.id;
    })().catch((err: unknown) => {
      this.catalogId = undefined; // a failed lookup is asked again next time
      throw err;
    });
    return this.catalogId;
  }

  /** One request per user, 20 to a batch; throttled ones wait for Retry-After and go again. */
  private async each(
    userIds: readonly string[],
    request: (userId: string) => Omit<GraphRequest, 'id'>,
  ): Promise<Map<string, GraphResponse>> {
    const out = new Map<string, GraphResponse>();
    for (let i = 0; i < userIds.length; i += MAX_BATCH) {
      let pending = userIds.slice(i, i + MAX_BATCH);
      for (let round = 0; pending.length > 0; round++) {
        if (round >= MAX_THROTTLED_ROUNDS) throw new GraphUnavailableError('Graph kept answering 429 (too many requests)');
        await this.options.take?.(pending.length);
        const responses = await this.options.client.batch(pending.map((id, index) => ({ id: String(index), ...request(id) })));
        const throttled: string[] = [];
        let waitMs = 0;
        responses.forEach((response, index) => {
          const userId = pending[index]!;
          if (response.status === 429 || response.status === 503) {
            throttled.push(userId);
            waitMs = Math.max(waitMs, retryAfterMs(response.headers['retry-after']) ?? 1_000);
          } else out.set(userId, response);
        });
        pending = throttled;
        if (pending.length > 0) await this.sleep(waitMs);
      }
    }
    return out;
  }
}

function failureOf(response: GraphResponse): { failed: ReachFailure; detail: string } {
  const error = (response.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const detail = `${response.status} ${error?.code ?? ''}`.trim();
  if (response.status === 403)
    return { failed: 'blocked_by_policy', detail: `${REACH_FAILURES.blocked_by_policy}; Graph answered ${detail}` };
  if (response.status === 404) {
    const gone = /ResourceNotFound|does not exist/i.test(`${error?.code} ${error?.message}`);
    return gone
      ? { failed: 'user_not_found', detail: `${REACH_FAILURES.user_not_found}; Graph answered ${detail}` }
      : { failed: 'no_teams', detail: `${REACH_FAILURES.no_teams}; Graph answered ${detail}` };
  }
  return { failed: 'graph_error', detail: `${REACH_FAILURES.graph_error}; Graph answered ${detail}` };
}
