/**
 * Calls for one key that overlap share one request: the first starts it, the others get its promise until it
 * settles. Only for reads whose answer may predate the caller by one round trip.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, read: () => Promise<T>): Promise<T> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = read().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  clear(): void {
    this.inFlight.clear();
  }
}
