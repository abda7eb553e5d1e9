import { createHash } from 'node:crypto';
import type { TableClient, TableEntity } from '@azure/data-tables';
import type { Storage, StoreItems } from 'botbuilder';
import { isAlreadyExists, isNotFound, isPreconditionFailed } from './tables';

/**
 * botbuilder `Storage` on Azure Table Storage, for dialog and conversation state.
 *
 * - Keys: botbuilder keys contain `/` (e.g. `msteams/conversations/a:1/`), which table keys forbid together with
 *   `\ # ?`, control characters and `%`-ambiguity; they are escaped reversibly, and hashed when too long.
 * - Values: JSON split across string properties of at most 32 K characters (a property holds 64 KiB of
 *   UTF-16); past what one entity can hold the write fails with a clear error instead of a 400 from the service.
 * - eTags as in botbuilder's MemoryStorage: a missing or `*` eTag writes unconditionally, any other eTag must
 *   match the stored one, and a mismatch throws an error whose message contains "eTag conflict" (the SDK's
 *   TeamsSSOTokenExchangeMiddleware and state tests match on that text).
 */
export const CHUNK_CHARS = 32 * 1024;
/** 15 chunks of 32 K characters is ~960 KiB of UTF-16, inside the 1 MiB entity limit with room for keys. */
export const MAX_CHUNKS = 15;
const MAX_KEY_CHARS = 512;
const ROW_KEY = 'state';

interface StateEntity {
  chunks: number;
  [chunk: `d${number}`]: string;
}

export class StateTooLargeError extends Error {
  constructor(key: string, chars: number) {
    super(`Storage: the state for "${key}" is ${chars} characters of JSON; at most ${CHUNK_CHARS * MAX_CHUNKS} fit in one table entity.`);
    this.name = 'StateTooLargeError';
  }
}

export function escapeTableKey(key: string): string {
  // `%` is escaped too, so that decoding is unambiguous.
  const escaped = key.replace(/[%/\\#?\u0000-\u001f\u007f-\u009f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  if (escaped.length <= MAX_KEY_CHARS) return escaped;
  // Long keys keep a readable head and a hash of the whole key, so two long keys never collide.
  return `${escaped.slice(0, 64)}~${createHash('sha256').update(key).digest('hex')}`;
}

export class TableStorage implements Storage {
  constructor(private readonly table: TableClient) {}

  async read(keys: string[]): Promise<StoreItems> {
    const items: StoreItems = {};
    await Promise.all(
      keys.map(async (key) => {
        try {
          const entity = await this.table.getEntity<StateEntity>(escapeTableKey(key), ROW_KEY);
          let json = '';
          for (let i = 0; i < entity.chunks; i++) json += entity[`d${i}`] ?? '';
          items[key] = { ...JSON.parse(json), eTag: entity.etag };
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }),
    );
    return items;
  }

  async write(changes: StoreItems): Promise<void> {
    await Promise.all(Object.entries(changes).map(([key, item]) => this.writeOne(key, item)));
  }

  async delete(keys: string[]): Promise<void> {
    await Promise.all(
      keys.map(async (key) => {
        try {
          // Unconditional on purpose: botbuilder's delete has no eTag parameter.
          await this.table.deleteEntity(escapeTableKey(key), ROW_KEY);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }),
    );
  }

  private async writeOne(key: string, item: Record<string, unknown>): Promise<void> {
    const { eTag, ...value } = item as { eTag?: string };
    const entity = toEntity(key, value);
    if (!eTag || eTag === '*') {
      await this.table.upsertEntity(entity, 'Replace');
      return;
    }
    try {
      await this.table.updateEntity(entity, 'Replace', { etag: eTag });
    } catch (err) {
      if (isPreconditionFailed(err)) throw conflict(key);
      if (!isNotFound(err)) throw err;
      // As in MemoryStorage, an eTag for an item that is not stored any more still writes it, once.
      try {
        await this.table.createEntity(entity);
      } catch (createErr) {
        if (isAlreadyExists(createErr)) throw conflict(key);
        throw createErr;
      }
    }
  }
}

function conflict(key: string): Error {
  return new Error(`Storage: error writing "${key}" due to eTag conflict.`);
}

function toEntity(key: string, value: unknown): TableEntity<StateEntity> {
  const json = JSON.stringify(value);
  const chunks = Math.max(1, Math.ceil(json.length / CHUNK_CHARS));
  if (chunks > MAX_CHUNKS) throw new StateTooLargeError(key, json.length);
  const entity: TableEntity<StateEntity> = { partitionKey: escapeTableKey(key), rowKey: ROW_KEY, chunks };
  for (let i = 0; i < chunks; i++) entity[`d${i}`] = json.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  return entity;
}
