/** Keys of the delivery engine's rows (see deliveryStore.ts and outboxStore.ts for the rows themselves). */
export const enc = (s: string) => encodeURIComponent(s);
export const dec = (s: string) => decodeURIComponent(s);
export const seqKey = (seq: number) => String(seq).padStart(10, '0');
/** `deliveries` partition of one post: a row per recipient. */
export const postPartition = (groupId: string, seq: number) => `${enc(groupId)}|${seqKey(seq)}`;
/** `outbox` row of an unfinished post, in its group's partition. */
export const outboxRow = (seq: number) => `post|${seqKey(seq)}`;
/** The sequence number of an outbox row key. */
export const seqOfOutboxRow = (rowKey: string) => Number(rowKey.slice(5));
