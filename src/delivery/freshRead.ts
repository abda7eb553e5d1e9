/**
 * A value read from storage for callers that must see it as it is *now*: every caller gets a read that began
 * after it asked (never an answer to an older request, which could predate an edit). Callers that ask while a
 * read is on its way share the next one, so a lane sending hundreds of copies a second makes one read per
 * round trip, not one per copy.
 */
export class FreshRead<T> {
  private current?: Promise<T>;
  private next?: Promise<T>;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.current) return this.begin();
    this.next ??= this.current
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.next = undefined;
        return this.begin();
      });
    return this.next;
  }

  private begin(): Promise<T> {
    const read = this.read();
    this.current = read;
    const settle = () => {
      if (this.current === read) this.current = undefined;
    };
    read.then(settle, settle);
    return read;
  }
}
