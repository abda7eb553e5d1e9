/** The page's one polite live region: results and errors, announced in order. Browser code. */
export class StatusRegion {
  constructor(private readonly node: HTMLElement) {}

  /** Results and errors both go to the one polite live region, so screen readers hear them in order. */
  show(message: string, kind: 'info' | 'success' | 'error' = 'info'): void {
    this.node.dataset.kind = kind;
    // Clearing first makes a repeated message be announced again.
    this.node.textContent = '';
    window.setTimeout(() => {
      this.node.textContent = message;
    }, 30);
  }
}
