import { ConversationState, type TurnContext } from 'botbuilder';

/** What BotState keeps in turn state under its key; `hash` is here the state's JSON when loaded or last saved. */
interface CachedState {
  state: Record<string, unknown>;
  hash: string;
}

/**
 * botbuilder's ConversationState, telling a changed state by its JSON rather than by a sha256 of it. The SDK computes its
 * hash (a replacer-driven stringify, then sha256) three times in a turn that saves: at load, to see whether the
 * state changed, and again after the write; with a dialog's question in the state that was about 3% of a dialog
 * turn's CPU. Here the snapshot is JSON.stringify (what TableStorage writes anyway), taken at load and compared
 * once; after a write the snapshot just compared is kept.
 *
 * The rest is botbuilder's contract, unchanged: the same turn-state entry (so `get`, `clear` and `delete` and the
 * property accessors work as before; `clear` leaves an empty snapshot, which never equals an object's JSON, so
 * the cleared state is saved), a state saved only when it changed or when forced, `eTag: '*'` on the write.
 */
export class JsonSnapshotConversationState extends ConversationState {
  override load(context: TurnContext, force = false): Promise<Record<string, unknown>> {
    const cached = this.cachedIn(context);
    if (!force && cached?.state) return Promise.resolve(cached.state);
    return Promise.resolve(this.storageKey(context)).then(async (key) => {
      const items = await this.storage.read([key]);
      const state = (items[key] as Record<string, unknown> | undefined) ?? {};
      context.turnState.set(this.stateKeyOf(), { state, hash: snapshot(state) } satisfies CachedState);
      return state;
    });
  }

  override async saveChanges(context: TurnContext, force = false): Promise<void> {
    let cached = this.cachedIn(context);
    const now = cached ? snapshot(cached.state) : undefined;
    if (!force && (!cached || now === cached.hash)) return;
    const key = await this.storageKey(context);
    cached ??= { state: {}, hash: '' };
    cached.state.eTag = '*';
    await this.storage.write({ [key]: cached.state });
    cached.hash = now ?? snapshot(cached.state);
    context.turnState.set(this.stateKeyOf(), cached);
  }

  private cachedIn(context: TurnContext): CachedState | undefined {
    return context.turnState.get(this.stateKeyOf()) as CachedState | undefined;
  }

  /** BotState's own turn-state key (private in its typings; the same entry its other methods use). */
  private stateKeyOf(): symbol {
    return (this as unknown as { stateKey: symbol }).stateKey;
  }
}

/** The state's JSON without its eTag (as botbuilder's calculateChangeHash leaves the eTag out). */
function snapshot(state: Record<string, unknown>): string {
  const { eTag: _eTag, ...rest } = state;
  return JSON.stringify(rest);
}
