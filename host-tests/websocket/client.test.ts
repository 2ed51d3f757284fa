import assert from "node:assert/strict";
import net from "node:net";
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { openWebSocket, type WebSocketOptions } from "../../firmware/websocket/client.js";
import type { Failure } from "../../firmware/platform/failure.js";
import { waitFor } from "../support/wait.js";
import { tcpOpener, seededRandom, realTimers, within } from "./tcp-transport.js";

interface Peer {
  socket: WebSocket;
  request: IncomingMessage;
}

/** Opens our client against `port` and records what it reports. */
function client(port: number, extra: Partial<WebSocketOptions> = {}) {
  const received: Buffer[] = [];
  let resolveOpen!: () => void;
  let resolveClose!: (f: Failure | undefined) => void;
  const opened = new Promise<void>((r) => (resolveOpen = r));
  const closed = new Promise<Failure | undefined>((r) => (resolveClose = r));
  const transport = openWebSocket(
    { random: seededRandom(), timers: realTimers, crypto: { sha1: (data) => new Uint8Array(createHash("sha1").update(data).digest()) } },
    tcpOpener(port),
    { host: `127.0.0.1:${port}`, path: "/mqtt", protocol: "mqtt", ...extra },
    {
      onOpen: () => resolveOpen(),
      onData: (bytes) => received.push(Buffer.from(bytes)),
      onClose: (f) => resolveClose(f),
    },
  );
  const bounded = <T>(p: Promise<T>) => within<T>(5000, (resolve) => void p.then(resolve));
  return { transport, received, opened: bounded(opened), closed: bounded(closed) };
}

describe("WebSocket client against the ws package as the server", () => {
  let server: WebSocketServer;
  let port: number;
  let peers: Promise<Peer>;
  let refuse: number | undefined;
  let agreeProtocol = true;

  beforeEach(async () => {
    refuse = undefined;
    agreeProtocol = true;
    server = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      handleProtocols: (protocols) => (agreeProtocol && protocols.has("mqtt") ? "mqtt" : false),
      verifyClient: (_info, cb) => (refuse ? cb(false, refuse, refuse === 403 ? "Forbidden" : "Service Unavailable") : cb(true)),
    });
    peers = new Promise((resolve) => server.on("connection", (socket, request) => resolve({ socket, request })));
    await new Promise<void>((r) => server.on("listening", () => r()));
    port = (server.address() as net.AddressInfo).port;
  });

  afterEach(async () => {
    for (const c of server.clients) c.terminate();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("upgrades with GET on the given path, the mqtt subprotocol and the extra headers", async () => {
    const c = client(port, { path: "/mqtt?x-amz-customauthorizer-name=auth", headers: [["x-amz-customauthorizer-name", "auth"], ["my-token", "sample-token"]] });
    await c.opened;
    const { socket, request } = await peers;
    assert.equal(request.url, "/mqtt?x-amz-customauthorizer-name=auth");
    assert.equal(socket.protocol, "mqtt");
    assert.equal(request.headers["my-token"], "sample-token");
    assert.equal(request.headers["x-amz-customauthorizer-name"], "auth");
    assert.equal(request.headers.host, `127.0.0.1:${port}`);
    c.transport.close();
    assert.equal(await c.closed, undefined);
  });

  it("carries binary data both ways, small and larger than 64 KiB, with masked client frames", async () => {
    const c = client(port);
    await c.opened;
    const { socket } = await peers;
    const big = Buffer.alloc(70000, 0xab);
    const got = within<Buffer[]>(5000, (resolve) => {
      const frames: Buffer[] = [];
      socket.on("message", (data, isBinary) => {
        assert.ok(isBinary);
        frames.push(data as Buffer);
        if (frames.length === 2) resolve(frames);
      });
    });
    c.transport.write(new Uint8Array([0x10, 0x02, 0, 0]));
    c.transport.write(big);
    const [small, large] = await got;
    assert.deepEqual([...small], [0x10, 0x02, 0, 0]);
    assert.ok(large.equals(big));
    socket.send(big);
    await waitFor("the large message", () => Buffer.concat(c.received).length >= big.length, 5000);
    assert.ok(Buffer.concat(c.received).equals(big));
    c.transport.close();
    await c.closed;
  });

  it("passes a fragmented server message through as one continuous byte stream", async () => {
    const c = client(port);
    await c.opened;
    const { socket } = await peers;
    socket.send(Buffer.from([1, 2]), { binary: true, fin: false });
    socket.send(Buffer.from([3]), { binary: true, fin: false });
    socket.send(Buffer.from([4, 5]), { binary: true, fin: true });
    await waitFor("the fragments' five bytes", () => Buffer.concat(c.received).length >= 5, 5000);
    assert.deepEqual([...Buffer.concat(c.received)], [1, 2, 3, 4, 5]);
    c.transport.close();
    await c.closed;
  });

  it("answers a ping with a pong carrying the same payload", async () => {
    const c = client(port);
    await c.opened;
    const { socket } = await peers;
    const pong = within<Buffer>(5000, (resolve) => socket.on("pong", resolve));
    socket.ping(Buffer.from("are you there"));
    assert.equal((await pong).toString(), "are you there");
    c.transport.close();
    await c.closed;
  });

  it("closes with code 1000 when asked to, reporting no failure", async () => {
    const c = client(port);
    await c.opened;
    const { socket } = await peers;
    const serverSaw = within<number>(5000, (resolve) => socket.on("close", (code) => resolve(code)));
    c.transport.close();
    assert.equal(await c.closed, undefined);
    assert.equal(await serverSaw, 1000);
  });

  it("reports a server close as connection-closed with the close code, and echoes the code", async () => {
    const c = client(port);
    await c.opened;
    const { socket } = await peers;
    const serverSaw = within<number>(5000, (resolve) => socket.on("close", (code) => resolve(code)));
    socket.close(4001, "session ended");
    const f = await c.closed;
    assert.equal(f?.code, "connection-closed");
    assert.match(f!.message, /4001 \(session ended\)/);
    assert.equal(f?.retryable, true);
    assert.equal(await serverSaw, 4001);
  });

  it("reports a refused upgrade as websocket-upgrade-refused naming the HTTP status, and never opens", async () => {
    refuse = 403;
    let opened = false;
    const c = client(port);
    c.opened.then(() => (opened = true), () => {});
    const f = await c.closed;
    assert.equal(f?.code, "websocket-upgrade-refused");
    assert.match(f!.message, /HTTP 403 Forbidden/);
    assert.equal(f?.retryable, false);
    assert.equal(opened, false);
  });

  it("treats a 503 refusal as worth retrying", async () => {
    refuse = 503;
    const f = await client(port).closed;
    assert.equal(f?.code, "websocket-upgrade-refused");
    assert.equal(f?.retryable, true);
  });

  it("refuses a server that does not agree to the mqtt subprotocol", async () => {
    agreeProtocol = false;
    const f = await client(port).closed;
    assert.equal(f?.code, "websocket-handshake-invalid");
    assert.match(f!.message, /subprotocol/);
  });
});

describe("WebSocket client against a raw TCP server that misbehaves", () => {
  let server: net.Server;
  let port: number;
  let answer: (request: string, socket: net.Socket) => void;
  const sockets = new Set<net.Socket>();

  before(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      let text = "";
      socket.on("data", (d) => {
        if (text.includes("\r\n\r\n")) return;
        text += d.toString("latin1");
        if (text.includes("\r\n\r\n")) answer(text, socket);
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as net.AddressInfo).port;
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const acceptFor = async (request: string) => {
    const { createHash } = await import("node:crypto");
    const key = /Sec-WebSocket-Key: (\S+)/.exec(request)![1];
    return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  };

  it("refuses a 101 answer whose Sec-WebSocket-Accept does not match the key", async () => {
    answer = (_req, socket) => socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n");
    const f = await client(port).closed;
    assert.equal(f?.code, "websocket-handshake-invalid");
    assert.match(f!.message, /Sec-WebSocket-Accept/);
  });

  it("takes frames that arrive in the same read as the 101 answer", async () => {
    answer = async (req, socket) => socket.write(Buffer.concat([
      Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${await acceptFor(req)}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`),
      Buffer.from([0x82, 0x02, 0x20, 0x02]),
    ]));
    const c = client(port);
    await c.opened;
    await waitFor("the first message", () => c.received.length > 0, 5000);
    assert.deepEqual([...Buffer.concat(c.received)], [0x20, 0x02]);
    c.transport.close();
    await c.closed;
  });

  it("closes with 1002 and reports websocket-protocol-error when the server masks its frames", async () => {
    let closeFrame: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
    answer = async (req, socket) => {
      closeFrame = within<Buffer>(5000, (resolve) => socket.once("data", resolve));
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${await acceptFor(req)}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`);
      socket.write(Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5]));
    };
    const f = await client(port).closed;
    assert.equal(f?.code, "websocket-protocol-error");
    const frame = await closeFrame;
    assert.equal(frame[0], 0x88);
    const mask = frame.subarray(2, 6);
    assert.equal(((frame[6] ^ mask[0]) << 8) | (frame[7] ^ mask[1]), 1002);
  });

  it("reports a server that hangs up during the upgrade without letting the stream open", async () => {
    answer = (_req, socket) => socket.end();
    const f = await client(port).closed;
    assert.equal(f?.code, "websocket-upgrade-dropped");
    assert.equal(f?.retryable, true);
  });

  it("gives up with websocket-handshake-timeout when the upgrade gets no answer", async () => {
    answer = () => {};
    const f = await client(port, { handshakeTimeoutMs: 100 }).closed;
    assert.equal(f?.code, "websocket-handshake-timeout");
  });
});
