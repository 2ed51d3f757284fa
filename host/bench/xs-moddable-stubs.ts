// Stand-ins for the Moddable modules that the SDK's classic `mqtt` module imports ("socket",
// "timer", "time", "websocket"), for measuring that module inside xsnap as the reference.
// Timers queue their callbacks until the benchmark runs them; sockets hand back what it feeds.

type Callback = (...args: unknown[]) => void;

export let lastSocket: Socket | undefined;
const queued: Callback[] = [];

export class Socket {
  callback: ((message: number, value?: number) => void) | undefined;
  pending: ArrayBuffer | undefined;
  written = 0;
  constructor(_dictionary: object) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the bench reads the socket the guest made
    lastSocket = this;
  }
  write(buffer: ArrayBuffer): void {
    this.written += buffer.byteLength;
  }
  read(_type: unknown): ArrayBuffer | undefined {
    const data = this.pending;
    this.pending = undefined;
    return data;
  }
  close(): void {}
  /** Delivers bytes the way Moddable's socket does: callback(2, bytes available), then read(). */
  receive(data: ArrayBuffer): void {
    this.pending = data;
    this.callback!(2, data.byteLength);
  }
}

export class Client extends Socket {}

const Timer = {
  set(callback: Callback): object {
    queued.push(callback);
    return {};
  },
  repeat(_callback: Callback): object {
    return {};
  },
  clear(): void {},
};
export default Timer;

export const Time = { ticks: 0, delta: (a: number, b: number) => b - a };

/** Runs the timer callbacks queued so far (Moddable's `Timer.set(cb)` fires on the next turn). */
export function runTimers(): void {
  while (queued.length) queued.shift()!();
}
