// Why the stand-in could not start, as one sentence naming the cause, the file, address or port,
// and the fix, for the CLIs that start it (`npm run iotcore`, `npm start`, `npm run sim`).

/** A file in the state folder that the stand-in cannot use; the message names it and the fix. */
export class StateFileError extends Error {
  readonly code = "iotcore-state-invalid";
}

interface StartContext {
  /** The folder given as the state folder, and the option that named it. */
  stateDir: string;
  stateOption?: string;
  host: string;
}

/** The sentence for a failure of startIotCore(), or undefined when it is not one the user can fix. */
export function explainStartupFailure(error: unknown, context: StartContext): string | undefined {
  if (error instanceof StateFileError) return error.message;
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
  const state = context.stateOption ?? "--state";
  const place = e.port !== undefined ? `${e.address ?? context.host}:${e.port}` : context.host;
  if (e.syscall === "listen" || e.syscall === "bind") {
    if (e.code === "EADDRINUSE") return `${place} is already in use: stop what holds it or choose other ports with --mqtt-port, --https-port, --https-mtls-port, --control-port (0 picks a free one)`;
    if (e.code === "EACCES") return `not allowed to listen on ${place}: ports under 1024 need root; use ports from 1024 up`;
    if (e.code === "EADDRNOTAVAIL") return `${context.host} is not an address of this machine, so nothing can listen on it: pass --host 127.0.0.1 or ::1`;
  }
  if (e.syscall === "getaddrinfo") return `--host ${context.host} is not an address of this machine (${e.code}): pass an IP address such as 127.0.0.1 or ::1`;
  if (e.path !== undefined) {
    if (e.code === "EACCES" || e.code === "EPERM" || e.code === "EROFS") return `${e.path} cannot be ${e.syscall === "open" || e.syscall === "scandir" ? "read or written" : "created or written"} (${e.code}): make ${context.stateDir} readable and writable for this user, or choose another folder with ${state}`;
    if (e.code === "ENOTDIR" || e.code === "EEXIST") return `${state} ${context.stateDir} is not a folder (${e.path} is in the way): name a folder, which is created when missing`;
    if (e.code === "EISDIR") return `${e.path} is a folder where the stand-in keeps a file: remove it, or choose another folder with ${state}`;
    if (e.code === "ENOSPC") return `no space left for ${e.path}: free some, or choose another folder with ${state}`;
  }
  return undefined;
}
