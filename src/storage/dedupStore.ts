import { createHash } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { isAlreadyExists, isNotFound } from './tables';

/**
 * Insert-only markers: "this activity (or this SSO exchange) has been handled". The first claim inserts a row
 * and wins; every later claim gets 409 from the service and loses. No read-then-write, so concurrent
 * redeliveries cannot both win, on Azure or on Azurite.
 */
export class DedupStore {
  constructor(
    private readonly table: TableClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** True the first time (scope, id) is claimed, false ever after. */
  async claim(scope: string, id: string): Promise<boolean> {
    try {
      await this.table.createEntity({
        partitionKey: hashKey(scope),
        rowKey: hashKey(id),
        claimedAt: this.now().toISOString(),
      });
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      throw err;
    }
  }

  /** Gives a claim back, so that a redelivery of work that failed half-way is handled again. */
  async release(scope: string, id: string): Promise<void> {
    try {
      // Unconditional on purpose: only the claimant releases, and a missing marker is the goal.
      await this.table.deleteEntity(hashKey(scope), hashKey(id));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Scopes and ids come from the channel (any characters, any length); a hash is always a valid table key. */
function hashKey(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
