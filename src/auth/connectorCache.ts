import type { ConnectorClient, ConnectorFactory, UserTokenClient } from 'botframework-connector';

/** Distinct (app, service URL, audience) clients kept; Teams uses a handful of regional service URLs. */
export const CONNECTOR_CACHE_SIZE = 64;

/**
 * One ConnectorClient per (app id, service URL, audience), reused across turns. The SDK's CloudAdapter builds a
 * fresh ConnectorClient (its whole HTTP pipeline) on every turn, which measured as about 3% of a turn's CPU here;
 * BotFrameworkAdapter, its predecessor, kept them per service URL the same way. A client holds no per-turn state,
 * so turns share it. The cache is bounded (least recently used goes) because without channel authentication the
 * service URL is whatever a caller sent.
 *
 * The same goes for the UserTokenClient the adapter makes for every turn (a TokenApiClient with its own pipeline,
 * and credentials for it): one per app id, about 3% of a turn's CPU in a V8 profile of the bench. It too holds no
 * per-turn state (user, connection and channel are arguments of each call), and its credentials are the app's.
 */
export class ConnectorClientCache {
  private readonly clients = new Map<string, Promise<ConnectorClient | UserTokenClient>>();

  constructor(private readonly capacity = CONNECTOR_CACHE_SIZE) {}

  /** `factory`, with its clients kept here under `appId` (the app the factory was made for). */
  wrap(factory: ConnectorFactory, appId: string | undefined): ConnectorFactory {
    return {
      create: (serviceUrl: string, audience?: string) =>
        this.get(`${appId ?? ''}\n${serviceUrl}\n${audience ?? ''}`, () => factory.create(serviceUrl, audience)),
    } as ConnectorFactory;
  }

  /** The app's UserTokenClient, made by `create` the first time (and again after a failed creation). */
  userTokenClient(appId: string | undefined, create: () => Promise<UserTokenClient>): Promise<UserTokenClient> {
    // A connector's key starts with its app id (a validated audience, or empty without authentication): never NUL.
    return this.get(`\u0000token\n${appId ?? ''}`, create);
  }

  get size(): number {
    return this.clients.size;
  }

  private get<T extends ConnectorClient | UserTokenClient>(key: string, create: () => Promise<T>): Promise<T> {
    const cached = this.clients.get(key) as Promise<T> | undefined;
    if (cached) {
      this.clients.delete(key);
      this.clients.set(key, cached);
      return cached;
    }
    const created = create();
    // A failed creation (credentials could not be built) is not kept: the next turn tries again.
    created.catch(() => this.clients.get(key) === created && this.clients.delete(key));
    this.clients.set(key, created);
    if (this.clients.size > this.capacity) this.clients.delete(this.clients.keys().next().value!);
    return created;
  }
}
