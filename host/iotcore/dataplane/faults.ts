// Fault injection for tests: drop a connection at a chosen stage, pause, throttle. Each
// armed fault fires for `count` matching connections (default 1), optionally only for one
// client id. Restart lives on the core (it owns the listeners).

export type FaultStage = "handshake" | "after-connect" | "before-puback";

interface ArmedFault { stage: FaultStage; clientId?: string; remaining: number }

export class Faults {
  private armed: ArmedFault[] = [];
  private pausedWaiters: (() => void)[] | undefined;
  /** extra latency added before each CONNACK and each PUBACK/forward, in ms */
  throttleMs = 0;

  constructor(private readonly log: (line: string) => void) {}

  /** Set by the core: closes every connection and the listeners, then listens again on the same ports. */
  restartHandler?: () => Promise<void>;

  /** Restarts the data plane as a redeploy would (state kept); rejects if a port is lost. */
  restart(): Promise<void> {
    if (!this.restartHandler) return Promise.reject(new Error("restart is not available before the core has started"));
    this.log("fault: restarting the data plane");
    return this.restartHandler();
  }

  /** Drops the next `count` connections at `stage` (handshake: before TLS completes). */
  drop(stage: FaultStage, options: { clientId?: string; count?: number } = {}): void {
    this.armed.push({ stage, clientId: options.clientId, remaining: options.count ?? 1 });
  }

  /** Adds latency to every CONNECT and PUBLISH until set back to 0. */
  throttle(ms: number): void {
    this.throttleMs = ms;
  }

  /** Holds new connections and inbound packets until resume(). */
  pause(): void {
    this.pausedWaiters ??= [];
  }

  resume(): void {
    const waiters = this.pausedWaiters ?? [];
    this.pausedWaiters = undefined;
    for (const wake of waiters) wake();
  }

  get paused(): boolean {
    return this.pausedWaiters !== undefined;
  }

  /** Disarms everything and resumes. */
  clear(): void {
    this.armed = [];
    this.throttleMs = 0;
    this.resume();
  }

  /** Resolves when not paused (at once if not), then after the throttle delay. */
  async gate(): Promise<void> {
    if (this.pausedWaiters) await new Promise<void>((wake) => this.pausedWaiters!.push(wake));
    if (this.throttleMs > 0) await new Promise((wake) => setTimeout(wake, this.throttleMs));
  }

  /** True (and consumes one) when a fault is armed for this stage and client. */
  take(stage: FaultStage, clientId?: string): boolean {
    const fault = this.armed.find((f) => f.stage === stage && (f.clientId === undefined || f.clientId === clientId));
    if (!fault) return false;
    if (--fault.remaining <= 0) this.armed = this.armed.filter((f) => f !== fault);
    this.log(`fault: dropping ${clientId ? `client ${clientId}` : "a connection"} at ${stage}`);
    return true;
  }
}
