// Waiting on a condition that something asynchronous (a socket, a worker) makes true.

/** Polls every 10 ms; rejects after `ms` naming what never happened, so no test can hang. */
export async function waitFor(what: string, ready: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
