/**
 * The organization's directory through Microsoft Graph: users by user principal name or object id
 * (`GET /users/{id}`), and by mobile number (`GET /users?$filter=mobilePhone eq '...'`, as Kaizala's phone-number
 * groups need), 20 to a `$batch`. A sub-request answered 429 waits for its Retry-After and is asked again; the
 * budget (GraphBudget) spaces every call, so all instances together stay within the tenant's share.
 */
import type { PersonRef } from './addressList';
import { GraphUnavailableError, MAX_BATCH, retryAfterMs, type GraphClient, type GraphRequest, type GraphResponse } from './graphClient';
import { refKey, type DirectoryAnswer, type UserDirectory } from './ports';

const SELECT = '$select=id,displayName,userPrincipalName,userType,mail';
/** Rounds of 429 answers one lookup sits out before it gives up for now. */
const MAX_THROTTLED_ROUNDS = 8;
const DEFAULT_RETRY_AFTER_MS = 1_000;

interface GraphUser {
  id: string;
  displayName?: string;
  userPrincipalName?: string;
  userType?: string;
  mail?: string;
}

export interface GraphDirectoryOptions {
  client: GraphClient;
  /** The tenant whose directory this is (the organization that owns the groups). */
  tenantId: string;
  /** Waits before each call to Graph: the shared request budget. */
  take?: (calls: number) => Promise<void>;
  sleep?: (ms: number) => Promise<void>;
}

export class GraphDirectory implements UserDirectory {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: GraphDirectoryOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async lookup(refs: readonly PersonRef[]): Promise<Map<string, DirectoryAnswer>> {
    const answers = new Map<string, DirectoryAnswer>();
    const unique = [...new Map(refs.map((ref) => [refKey(ref), ref])).values()];
    for (let i = 0; i < unique.length; i += MAX_BATCH) {
      const chunk = unique.slice(i, i + MAX_BATCH);
      for (const [key, answer] of await this.lookupBatch(chunk)) answers.set(key, answer);
    }
    return answers;
  }

  private async lookupBatch(refs: readonly PersonRef[]): Promise<Map<string, DirectoryAnswer>> {
    const answers = new Map<string, DirectoryAnswer>();
    let pending = refs.map((ref, index): GraphRequest & { ref: PersonRef } => ({
      id: String(index),
      method: 'GET',
      url: urlFor(ref),
      ref,
    }));
    for (let round = 0; pending.length > 0; round++) {
      if (round >= MAX_THROTTLED_ROUNDS) throw new GraphUnavailableError('Graph kept answering 429 (too many requests)');
      await this.options.take?.(pending.length);
      const responses = await this.options.client.batch(pending);
      const throttled: typeof pending = [];
      let waitMs = 0;
      responses.forEach((response, index) => {
        const request = pending[index]!;
        if (response.status === 429 || response.status === 503) {
          throttled.push(request);
          waitMs = Math.max(waitMs, retryAfterMs(response.headers['retry-after']) ?? DEFAULT_RETRY_AFTER_MS);
          return;
        }
        answers.set(refKey(request.ref), this.answerOf(request.ref, response));
      });
      pending = throttled;
      if (pending.length > 0) await this.sleep(waitMs);
    }
    return answers;
  }

  private answerOf(ref: PersonRef, response: GraphResponse): DirectoryAnswer {
    if (response.status === 404 || response.status === 400) return { missing: 'unknown' };
    if (response.status !== 200) throw new GraphUnavailableError(`Graph answered ${response.status} for a user lookup`);
    const body = response.body as GraphUser & { value?: GraphUser[] };
    const users = ref.kind === 'mobile' ? (body.value ?? []) : [body];
    if (users.length === 0) return { missing: 'unknown' };
    if (users.length > 1) return { missing: 'ambiguous' };
    const user = users[0]!;
    return {
      found: {
        id: user.id,
        displayName: user.displayName ?? user.userPrincipalName ?? user.id,
        userPrincipalName: user.userPrincipalName ?? user.mail ?? '',
        tenantId: this.options.tenantId,
        guest: (user.userType ?? '').toLowerCase() === 'guest',
      },
    };
  }
}

function urlFor(ref: PersonRef): string {
  if (ref.kind === 'mobile') {
    // OData string literal: a quote doubles. The number is digits and '+' already (addressList), so this is belt
    // and braces.
    return `/users?$filter=${encodeURIComponent(`mobilePhone eq '${ref.value.replace(/'/g, "''")}'`)}&${SELECT}`;
  }
  return `/users/${encodeURIComponent(ref.value)}?${SELECT}`;
}
