/** Download rate over a sliding window (bytes per second) and the time left at that rate. */
export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly now: () => number,
    private readonly windowMs = 5000,
  ) {}

  /** Records that `bytes` (a running total) had arrived by now. */
  sample(bytes: number): void {
    const t = this.now();
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[1].t >= this.windowMs) this.samples.shift();
  }

  /** Restarts the window (after a pause or a restart from zero). */
  reset(): void {
    this.samples = [];
  }

  rate(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? Math.max(0, (last.bytes - first.bytes) / dt) : 0;
  }

  etaSeconds(bytes: number, total: number | null): number | null {
    const rate = this.rate();
    if (total === null || rate <= 0) return null;
    return Math.max(0, (total - bytes) / rate);
  }
}
