import { createHmac, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../errors';
import {
  deriveInviteToken,
  deriveJoinCode,
  formatJoinCode,
  hashInviteSecret,
  inviteUrl,
  parseInviteReference,
  isDamagedInviteReference,
} from './inviteSecrets';
import type {
  Actor,
  AuditAction,
  AuditEntry,
  Ban,
  Group,
  GroupPhoto,
  Invite,
  InviteReference,
  Member,
  MyGroup,
  Page,
  PageRequest,
  UserRef,
} from './model';
import { ConcurrentChangeError, type GroupRecord, type GroupStore, type JoinCodeAttempts } from './ports';

/** Where a person stands in a group, for bulk add. */
export type Standing = 'admin' | 'member' | 'removed' | 'left' | 'none';
const STANDING_READS_AT_ONCE = 16;
/** People a typed name is matched against at most: enough to say "more than one", and to name them. */
export const NAME_MATCHES = 8;
/** A user id has no spaces (Teams' 29:..., an Entra object id); a name with a space is never one. */
const looksLikeId = (text: string) => !/\s/.test(text);
import type { GroupExport, GroupServiceOptions } from './groupInputs';
import { nameKey, nameMatches } from './memberNames';
import {
  CACHE_ENTRIES,
  DECISION_ATTEMPTS,
  GROUP_NOT_FOUND,
  INVITE_NOT_VALID,
  inviteNotValid,
  isOrgAdminOf,
  pageQuery,
  publicGroup,
  remember,
  requireAdmin,
} from './groupRules';

/**
 * What GroupService reads (groups, members, admins, invites, listings, exports, photos) and the helpers its
 * changes share: the one base of GroupService, which adds the changes.
 */
export abstract class GroupReads {
  protected readonly store: GroupStore;
  protected readonly appSecret: string;
  protected readonly publicUrl: string;
  protected readonly now: () => Date;
  protected readonly allowedTenantIds: ReadonlySet<string>;
  protected readonly joinCodeAttempts?: JoinCodeAttempts;
  /** Caches of what cannot go stale (see adminsOf, inviteGroupId): speed only, never a source of truth. */
  protected readonly adminCache = new Map<string, Member[]>();
  protected readonly inviteCache = new Map<string, string>();

  constructor(options: GroupServiceOptions) {
    if (!options.appSecret || options.appSecret.length < 16) throw new Error('GroupService needs an app secret of at least 16 characters');
    this.store = options.store;
    this.appSecret = options.appSecret;
    this.publicUrl = options.publicUrl.replace(/\/+$/, '');
    this.now = options.now ?? (() => new Date());
    this.allowedTenantIds = new Set((options.allowedTenantIds ?? []).map((id) => id.toLowerCase()));
    this.joinCodeAttempts = options.joinCodeAttempts;
  }

  /** Forgets the cached admins and invite links: storage may have gone back in time (an embedded store restarted). */
  dropCaches(): void {
    this.adminCache.clear();
    this.inviteCache.clear();
  }

  /**
   * The admins' member rows. Every change of who is admin changes the group's version, so rows read at one
   * version stay right for that version: a join storm reads them once, not once per join.
   */
  protected async adminsOf(record: GroupRecord): Promise<Member[]> {
    const key = `${record.group.id}|${record.version}`;
    const cached = this.adminCache.get(key);
    if (cached) return cached;
    const admins = (await Promise.all(record.adminIds.map((id) => this.store.getMember(record.group.id, id)))).filter(
      (member): member is Member => member !== undefined,
    );
    remember(this.adminCache, key, admins, CACHE_ENTRIES);
    return admins;
  }

  /**
   * Which group an invite hash names. The mapping never changes (a reset makes new hashes; old ones are
   * refused by the nonce check against the group row), so found mappings are kept in memory.
   */
  protected async inviteGroupId(secretHash: string): Promise<string | undefined> {
    const cached = this.inviteCache.get(secretHash);
    if (cached) return cached;
    const groupId = await this.store.findInviteGroupId(secretHash);
    if (groupId) remember(this.inviteCache, secretHash, groupId, CACHE_ENTRIES);
    return groupId;
  }

  // ---- helpers --------------------------------------------------------------------------------------------

  protected groupIdFor(idempotencyKey: string): string {
    return createHmac('sha256', this.appSecret).update(`group|${idempotencyKey}`, 'utf8').digest('hex').slice(0, 24);
  }

  protected inviteFor(record: GroupRecord): Invite {
    const token = deriveInviteToken(this.appSecret, record.group.id, record.linkNonce);
    const code = deriveJoinCode(this.appSecret, record.group.id, record.linkNonce);
    return { url: inviteUrl(this.publicUrl, token), token, joinCode: formatJoinCode(code) };
  }

  protected inviteHashes(record: GroupRecord): string[] {
    return [
      hashInviteSecret('token', deriveInviteToken(this.appSecret, record.group.id, record.linkNonce)),
      hashInviteSecret('code', deriveJoinCode(this.appSecret, record.group.id, record.linkNonce)),
    ];
  }

  /** The invite row only says where to look; the group's current nonce decides whether the secret still works. */
  protected isCurrentInvite(record: GroupRecord, reference: InviteReference): boolean {
    const current =
      reference.kind === 'token'
        ? deriveInviteToken(this.appSecret, record.group.id, record.linkNonce)
        : deriveJoinCode(this.appSecret, record.group.id, record.linkNonce);
    return current === reference.value;
  }

  protected toReference(ref: string | InviteReference): InviteReference {
    const parsed = typeof ref === 'string' ? parseInviteReference(ref, this.publicUrl) : parseInviteReference(ref.value, this.publicUrl);
    if (!parsed && isDamagedInviteReference(typeof ref === 'string' ? ref : ref.value, this.publicUrl))
      throw new NotFoundError(INVITE_NOT_VALID);
    if (!parsed || (typeof ref !== 'string' && parsed.kind !== ref.kind)) {
      throw new InvalidInputError('That does not look like an invite link or a join code. Please check it and try again.');
    }
    return parsed;
  }

  protected async requireGroup(groupId: string): Promise<GroupRecord> {
    const record = await this.store.getGroup(groupId);
    if (!record) throw new NotFoundError(GROUP_NOT_FOUND);
    return record;
  }

  protected async requireMembership(groupId: string, userId: string, notMember: string): Promise<{ record: GroupRecord; member: Member }> {
    const found = await this.store.getGroupWithMember(groupId, userId);
    if (!found) throw new NotFoundError(GROUP_NOT_FOUND);
    if (!found.member) throw new ForbiddenError(notMember);
    return { record: found.record, member: found.member };
  }

  protected audit(groupId: string, action: AuditAction, actor: UserRef, subject?: UserRef, detail?: string): AuditEntry {
    const entry: AuditEntry = { groupId, at: this.timestamp(), action, actor };
    if (subject) entry.subject = subject;
    if (detail !== undefined) entry.detail = detail;
    return entry;
  }

  protected timestamp(): string {
    return this.now().toISOString();
  }

  /** Read, decide, write conditionally; when someone changed the group in between, read and decide again. */
  protected async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    for (let round = 0; ; round++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof ConcurrentChangeError) || round + 1 >= DECISION_ATTEMPTS) throw err;
        await sleep(randomInt(1, 10 + 10 * round));
      }
    }
  }

  // ---- reads ----------------------------------------------------------------------------------------------

  async getGroup(groupId: string): Promise<Group> {
    return publicGroup((await this.requireGroup(groupId)).group);
  }

  /** The group as one of its members sees it: with their own membership. Members only. */
  async getGroupAsMember(groupId: string, userId: string): Promise<{ group: Group; member: Member }> {
    const { record, member } = await this.requireMembership(groupId, userId, 'You are not a member of this group.');
    return { group: publicGroup(record.group), member };
  }

  /** Group Info: the group, the viewer's membership and the admins, from one read of the group. Members only. */
  async getGroupInfo(groupId: string, userId: string): Promise<{ group: Group; member: Member; admins: Member[] }> {
    const { record, member } = await this.requireMembership(groupId, userId, 'You are not a member of this group.');
    return { group: publicGroup(record.group), member, admins: await this.adminsOf(record) };
  }

  /** True when an invite token is one a group admin reset (only the hashes of reset links are kept). */
  async wasInviteReset(token: string): Promise<boolean> {
    if (!this.store.isRevokedInvite) return false;
    return this.store.isRevokedInvite(hashInviteSecret('token', token));
  }

  async resolveInvite(ref: string | InviteReference): Promise<Group> {
    const reference = this.toReference(ref);
    const groupId = await this.inviteGroupId(hashInviteSecret(reference.kind, reference.value));
    const record = groupId ? await this.store.getGroup(groupId) : undefined;
    if (!record || !this.isCurrentInvite(record, reference)) throw new NotFoundError(inviteNotValid(reference.kind));
    return publicGroup(record.group);
  }

  /** The people admins removed (and who may not rejoin). Group admins and organization admins only. */
  async listBans(groupId: string, actor: Actor, page: PageRequest = {}): Promise<Page<Ban>> {
    requireAdmin(await this.requireGroup(groupId), actor, 'Only group admins can see who was removed.');
    return this.store.listBans(groupId, pageQuery(page));
  }

  /**
   * Where each of these people stands in the group (for bulk add's dry run): admin, member, removed by an
   * admin, left on their own (per the audit trail), or none of these. Group admins and organization admins only.
   */
  async standingsFor(groupId: string, actor: Actor, userIds: readonly string[]): Promise<Map<string, Standing>> {
    requireAdmin(await this.requireGroup(groupId), actor, 'Only group admins can add people in bulk.');
    const standings = new Map<string, Standing>();
    const unknown = new Set<string>();
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(STANDING_READS_AT_ONCE, userIds.length) }, async () => {
        while (next < userIds.length) {
          const userId = userIds[next++]!;
          const member = await this.store.getMember(groupId, userId);
          if (member) standings.set(userId, member.role);
          else if (await this.store.getBan(groupId, userId)) standings.set(userId, 'removed');
          else unknown.add(userId);
        }
      }),
    );
    // Leaving bans nobody and leaves no row but its audit entry.
    let continuationToken: string | undefined;
    while (unknown.size > 0) {
      const page = await this.store.listAudit(groupId, pageQuery({ pageSize: 200, continuationToken }));
      for (const entry of page.items) {
        if (entry.action === 'left' && unknown.delete(entry.actor.id)) standings.set(entry.actor.id, 'left');
      }
      continuationToken = page.continuationToken;
      if (!continuationToken) break;
    }
    for (const userId of unknown) standings.set(userId, 'none');
    return standings;
  }

  // ---- listings -------------------------------------------------------------------------------------------

  /**
   * Members of the group (and organization admins of the owning tenant) only. When members do not see each
   * other (group types), a member gets the admins and themselves: never other members' names.
   */
  async listMembers(groupId: string, actor: Actor, page: PageRequest = {}): Promise<Page<Member>> {
    const found = await this.store.getGroupWithMember(groupId, actor.user.id);
    if (!found) throw new NotFoundError(GROUP_NOT_FOUND);
    if (!found.member && !isOrgAdminOf(found.record, actor)) {
      throw new ForbiddenError('Only members of this group can see who is in it.');
    }
    if (this.seesAdminsOnly(found.record, actor)) {
      const admins = await this.adminsOf(found.record);
      const self = found.member && found.member.role !== 'admin' ? [found.member] : [];
      const wanted = nameKey(page.search ?? '');
      const items = [...admins, ...self].filter((m) => !wanted || nameMatches(m.user.name, wanted).partial);
      return { items: page.continuationToken ? [] : items };
    }
    // A search finds a name by its start or a word's ("lee" finds Ann Lee), through the name index, never the list.
    const typed = nameKey(page.search ?? '');
    if (typed) return this.store.searchMembers(groupId, typed, pageQuery(page));
    return this.store.listMembers(groupId, pageQuery(page));
  }

  /**
   * Who a typed name means among the members this actor may see (as listMembers): the member with that id, else
   * those whose whole name it is, else those with a word start beginning with it ("Lee", "ann m"); at most
   * NAME_MATCHES. A few storage requests whatever the group's size (the store's name index), never the list.
   */
  async membersNamed(groupId: string, actor: Actor, name: string): Promise<Member[]> {
    const wanted = name.trim();
    const typed = nameKey(wanted);
    if (!typed) return [];
    const [found, byId, people] = await Promise.all([
      this.store.getGroupWithMember(groupId, actor.user.id),
      looksLikeId(wanted) ? this.store.getMember(groupId, wanted) : undefined,
      this.store.peopleNamed(groupId, typed, NAME_MATCHES),
    ]);
    if (!found) throw new NotFoundError(GROUP_NOT_FOUND);
    if (!found.member && !isOrgAdminOf(found.record, actor)) {
      throw new ForbiddenError('Only members of this group can see who is in it.');
    }
    const adminsOnly = this.seesAdminsOnly(found.record, actor);
    const visible = (m: Member | undefined): m is Member =>
      m !== undefined && (!adminsOnly || m.role === 'admin' || m.user.id === actor.user.id);
    if (visible(byId)) return [byId];
    const members = people.filter((p) => visible(p.member));
    const exact = members.filter((p) => p.exact);
    return (exact.length ? exact : members).map((p) => p.member!);
  }

  /** As membersNamed, among the people admins removed (group admins and organization admins only, as listBans). */
  async removedNamed(groupId: string, actor: Actor, name: string): Promise<Ban[]> {
    const wanted = name.trim();
    const typed = nameKey(wanted);
    const [record, byId, people] = await Promise.all([
      this.requireGroup(groupId),
      typed && looksLikeId(wanted) ? this.store.getBan(groupId, wanted) : undefined,
      typed ? this.store.peopleNamed(groupId, typed, NAME_MATCHES) : [],
    ]);
    requireAdmin(record, actor, 'Only group admins can see who was removed.');
    if (byId) return [byId];
    const removed = people.filter((p) => !p.member);
    const exact = removed.filter((p) => p.exact);
    const bans = await Promise.all((exact.length ? exact : removed).map((p) => this.store.getBan(groupId, p.user.id)));
    return bans.filter((ban): ban is Ban => ban !== undefined);
  }

  /** A member of a group whose members do not see each other (admins and organization admins see everyone). */
  protected seesAdminsOnly(record: GroupRecord, actor: Actor): boolean {
    return record.group.membersHidden === true && !record.adminIds.includes(actor.user.id) && !isOrgAdminOf(record, actor);
  }

  /** One member of a group, for its admins (undefined: not a member now). */
  async getMemberAsAdmin(groupId: string, actor: Actor, userId: string): Promise<Member | undefined> {
    requireAdmin(await this.requireGroup(groupId), actor, 'Only group admins can manage members.');
    return this.store.getMember(groupId, userId);
  }

  async listAdmins(groupId: string): Promise<Member[]> {
    return this.adminsOf(await this.requireGroup(groupId));
  }

  /** A page may hold fewer items than asked: index rows whose membership has ended are dropped (and repaired). */
  async listMyGroups(userId: string, page: PageRequest = {}): Promise<Page<MyGroup>> {
    const ids = await this.store.listUserGroupIds(userId, pageQuery(page));
    const rows = await Promise.all(
      ids.items.map(async (groupId): Promise<MyGroup | undefined> => {
        const found = await this.store.getGroupWithMember(groupId, userId);
        if (!found?.member) {
          await this.store.unindexUserGroup(userId, groupId);
          return undefined;
        }
        return { group: publicGroup(found.record.group), role: found.member.role, joinedAt: found.member.joinedAt };
      }),
    );
    return { items: rows.filter((row): row is MyGroup => row !== undefined), continuationToken: ids.continuationToken };
  }

  /** For organization admins (the glue checks that the caller is one of this tenant). */
  async listOrgGroups(tenantId: string, page: PageRequest = {}): Promise<Page<Group>> {
    const tenant = tenantId.trim().toLowerCase();
    const ids = await this.store.listOrgGroupIds(tenant, pageQuery(page));
    const groups = await Promise.all(
      ids.items.map(async (groupId) => {
        const record = await this.store.getGroup(groupId);
        if (!record) await this.store.unindexOrgGroup(tenant, groupId); // deleted: repair the index
        return record?.group.tenantId === tenant ? publicGroup(record.group) : undefined;
      }),
    );
    return { items: groups.filter((g): g is Group => g !== undefined), continuationToken: ids.continuationToken };
  }

  /** For organization admins (the glue checks the caller). Streams: groups can have thousands of members. */
  async exportGroup(groupId: string): Promise<GroupExport> {
    const record = await this.requireGroup(groupId);
    return {
      group: publicGroup(record.group),
      members: this.store.allMembers(groupId),
      audit: this.store.allAudit(groupId),
    };
  }

  /** Newest first. */
  async auditTrail(groupId: string, page: PageRequest = {}): Promise<Page<AuditEntry>> {
    await this.requireGroup(groupId);
    return this.store.listAudit(groupId, pageQuery(page));
  }

  // ---- photo ----------------------------------------------------------------------------------------------

  async getPhoto(groupId: string): Promise<GroupPhoto> {
    const photo = await this.store.getPhoto(groupId);
    if (!photo) throw new NotFoundError('This group has no photo.');
    return photo;
  }
}
