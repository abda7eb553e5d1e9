/**
 * Reminder rounds of an action (issue 19): the `remind` row of the action's partition holds the last round,
 * when it began (its window) and whether every reminder of it was handed to the delivery engine. A round cut
 * short by a crash is finished under the same keys; a finished one uses its window.
 */
import type { TableClient } from '@azure/data-tables';
import { isAlreadyExists, isNotFound, isPreconditionFailed } from '../storage/tables';

const REMIND_ROW = 'remind';

export class ReminderRounds {
  constructor(private readonly table: TableClient) {}

  /**
   * Claims a reminder round and returns its id (when it began): a new round when none began within `windowMs`,
   * or the round of this window that is not finished (a crash before every reminder was handed to the engine),
   * to be finished under the same keys; undefined when a finished round is less than `windowMs` old.
   */
  async claim(partitionKey: string, now: Date, windowMs: number): Promise<string | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const last = await this.reminderRound(partitionKey);
      const recent = last !== undefined && Date.parse(last.at) + windowMs > now.getTime();
      if (recent) return last.done === true ? undefined : last.at;
      const row = { partitionKey, rowKey: REMIND_ROW, at: now.toISOString(), done: false };
      try {
        if (last) await this.table.updateEntity(row, 'Replace', { etag: last.etag });
        else await this.table.createEntity(row);
        return row.at;
      } catch (err) {
        if (!isPreconditionFailed(err) && !isAlreadyExists(err)) throw err; // another instance began one: read it
      }
    }
    return undefined;
  }

  /** Every reminder of the round was handed to the engine: the window is used. */
  async finish(partitionKey: string, round: string): Promise<void> {
    const last = await this.reminderRound(partitionKey);
    if (!last || last.at !== round || last.done === true) return;
    try {
      await this.table.updateEntity({ partitionKey, rowKey: REMIND_ROW, done: true }, 'Merge', { etag: last.etag });
    } catch (err) {
      if (!isPreconditionFailed(err) && !isNotFound(err)) throw err; // another instance finished it
    }
  }

  private async reminderRound(partitionKey: string): Promise<{ at: string; done?: boolean; etag: string } | undefined> {
    try {
      return (await this.table.getEntity<{ at: string; done?: boolean }>(partitionKey, REMIND_ROW)) as {
        at: string;
        done?: boolean;
        etag: string;
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
