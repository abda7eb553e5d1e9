/**
 * What bulk add needs from the world, as interfaces: the organization's directory (Microsoft Graph, or the
 * sample directory when the bot runs without an app registration) and the groups it adds people to.
 */
import type { Standing } from '../groups/groupReads';
import type { MemberRole, PersonRef } from './addressList';

/** A person the directory knows. */
export interface DirectoryUser {
  /** Entra object id. */
  id: string;
  displayName: string;
  userPrincipalName: string;
  /** The directory's tenant. */
  tenantId: string;
  /** Guests (B2B accounts of another organization) cannot be reached by an app installed for the tenant. */
  guest: boolean;
}

export type DirectoryAnswer = { found: DirectoryUser } | { missing: 'unknown' | 'ambiguous' };

export interface UserDirectory {
  /** Looks up every reference (the implementation batches); the answer is keyed by `${kind}:${value}`. */
  lookup(refs: readonly PersonRef[]): Promise<Map<string, DirectoryAnswer>>;
}

export const refKey = (ref: PersonRef) => `${ref.kind}:${ref.value}`;

/** A group the uploader may add people to, found by the name a row gives. */
export interface TargetGroup {
  groupId: string;
  name: string;
}

export interface BulkAddGroups {
  /** The uploader's organization's group of that name (case-insensitive), or undefined. */
  findByName(name: string): Promise<TargetGroup | undefined>;
  /** Each user's standing in the group, read in as few round trips as the store allows. */
  standings(groupId: string, userIds: readonly string[]): Promise<Map<string, Standing>>;
}

export type { MemberRole, PersonRef, Standing };
