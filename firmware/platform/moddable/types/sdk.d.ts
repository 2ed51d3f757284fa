// Typings of the Moddable SDK modules the binding uses, written here from Moddable's documented
// APIs (documentation/network/network.md, base/base.md, files/files.md, crypt/crypt.md, ...) so
// that `npm test`'s type-check covers firmware/platform/moddable/ without the SDK installed.
// Only the host's tsconfig loads this file: under mcconfig the SDK's own typings apply (the
// manifest lists globals.d.ts and modules.d.ts, never this one), so the code must type-check
// against both.

/** Moddable's trace(): text to xsbug and the serial console. */
declare function trace(...items: unknown[]): void;

declare module "mc/config" {
  /** The manifest's `config` object (ours and Moddable's keys). */
  const config: {
    preferenceDomain?: string;
    sntp?: string;
    partition?: string;
    features?: Record<string, unknown>;
    memory?: boolean;
    // manifests/probe.json
    host: string;
    port: number;
    serverName: string;
    clientId: string;
    alpn?: string;
  } & Record<string, unknown>;
  export default config;
}

declare module "modules" {
  /** Modules of the build, loaded by name at run time. */
  export default class Modules {
    static has(name: string): boolean;
    /** The module's default export. */
    static importNow(name: string): unknown;
  }
}

declare module "timer" {
  export default class Timer {
    private constructor();
    private brand: true;
    /** Calls `callback` once after `delay` ms (0 when absent), then every `repeat` ms if given. */
    static set(callback: (timer: Timer) => void, delay?: number, repeat?: number): Timer;
    static repeat(callback: (timer: Timer) => void, interval: number): Timer;
    /** Cancels; a timer that already fired (or undefined) is ignored. */
    static clear(timer: Timer | undefined): void;
  }
}

declare module "time" {
  const Time: {
    /** Sets the clock, in seconds since the epoch. */
    set(seconds: number): void;
    readonly ticks: number;
  };
  export default Time;
}

declare module "sntp" {
  export default class SNTP {
    /** `value`: seconds since the epoch, with `SNTP.time`. */
    constructor(options: { host: string }, callback: (message: -1 | 1 | 2, value?: number) => void);
    static readonly time: 1;
    static readonly retry: 2;
    static readonly error: -1;
  }
}

declare module "preference" {
  type Value = string | boolean | number | ArrayBuffer;
  const Preference: {
    get(domain: string, key: string): Value | undefined;
    set(domain: string, key: string, value: Value): void;
    delete(domain: string, key: string): void;
    keys(domain: string): string[];
  };
  export default Preference;
}

declare module "flash" {
  /** A flash partition, opened by name (ESP32: a data partition of the partition table). */
  export default class Flash {
    constructor(partition: string);
    read(offset: number, byteLength: number): ArrayBuffer;
    write(offset: number, byteLength: number, buffer: ArrayBuffer): void;
    erase(sector: number): void;
    readonly byteLength: number;
    readonly blockSize: number;
  }
}

declare module "Resource" {
  /** Read-only bytes baked into the image by the manifest's `resources`/`data`. */
  interface ResourceBytes {
    readonly byteLength: number;
    slice(begin: number, end?: number): ArrayBuffer;
  }
  const Resource: {
    new (path: string): ResourceBytes;
    exists(path: string): boolean;
  };
  export default Resource;
}

declare module "crypt" {
  export class Digest {
    constructor(type: "MD5" | "SHA1" | "SHA224" | "SHA256" | "SHA384" | "SHA512");
    write(message: string | ArrayBuffer): void;
    /** The digest; the object must be reset before it is used again. */
    close(): ArrayBuffer;
    reset(): void;
  }
}

declare module "socket" {
  /** A TCP socket; `callback(message, value)`: 1 connected, 2 data (value: bytes readable), 3 writable (value: room), -1 disconnected, -2 error. */
  export class Socket {
    constructor(options: { host?: string; address?: string; port: number });
    callback?: (message: number, value?: number) => void;
    read(type?: typeof ArrayBuffer | typeof String, until?: number): unknown;
    write(...data: (ArrayBuffer | Uint8Array | string | number)[]): number;
    close(): void;
  }
}

declare module "securesocket" {
  /** TLS over a Socket (Moddable's own TLS 1.2 stack); `secure` holds the TLS options. */
  export default class SecureSocket {
    constructor(options: { sock?: unknown; host?: string; address?: string; port: number; secure: Record<string, unknown> });
    read(type: typeof ArrayBuffer): ArrayBuffer;
    write(...data: (ArrayBuffer | Uint8Array | string)[]): void;
    close(): void;
  }
}

declare module "text/encoder" {
  export default class TextEncoder {
    encode(text: string): Uint8Array;
  }
}

declare module "text/decoder" {
  export default class TextDecoder {
    constructor(label?: string, options?: { fatal?: boolean });
    decode(bytes: ArrayBuffer | ArrayBufferView, options?: { stream?: boolean }): string;
  }
}

declare module "instrumentation" {
  /** Counters of the runtime, by index; `map` gives the index of a name ("XS Chunk Heap Used", ...). */
  const Instrumentation: {
    get(what: number): number | undefined;
    map(name: string): number | undefined;
    name(what: number): string | undefined;
  };
  export default Instrumentation;
}

declare module "debug" {
  const Debug: {
    /** Runs a garbage collection now (debug builds). */
    gc(): void;
  };
  export default Debug;
}

declare module "file" {
  /** A file under the platform's file root (modules/files/file); throws when it cannot be opened. */
  export class File {
    constructor(path: string, write?: boolean);
    read(type: typeof String, bytes?: number): string;
    read(type: typeof ArrayBuffer, bytes?: number): ArrayBuffer;
    write(value: ArrayBuffer | string): void;
    close(): void;
    readonly length: number;
    position: number;
    static delete(path: string): boolean;
    static exists(path: string): boolean;
  }
  export class Directory {
    static create(path: string): void;
  }
}
