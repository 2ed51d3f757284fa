// The TLS listeners: "8883" (MQTT, client certificate), "443" (routed by ALPN:
// x-amzn-mqtt-ca -> MQTT with client certificate, mqtt -> MQTT with custom auth, none,
// http/1.1 or x-amzn-http-ca -> HTTPS on the same socket, where WebSocket upgrades and other
// endpoints plug in) and "8443" (HTTPS with a client certificate, no ALPN needed).
// Server certificates are chosen by SNI from a map; an unknown SNI is refused.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { logValue as v } from "../log.js";
import { dropNow, type MqttBroker } from "./broker.js";
import type { Faults } from "./faults.js";
import { LIMITS } from "./quotas.js";
import { listenerName, type ConnectionInfo, type Listener, type Route } from "./types.js";
import type { LogWriter } from "../log.js";

export const ALPN = { mqttCertificate: "x-amzn-mqtt-ca", mqttCustomAuth: "mqtt", httpCertificate: "x-amzn-http-ca", http: "http/1.1" } as const;
const SUPPORTED_ALPN_443: string[] = [ALPN.mqttCertificate, ALPN.mqttCustomAuth, ALPN.httpCertificate, ALPN.http];

export interface ListenerPorts { mqtt: number; https: number; httpsMtls: number }
export interface ServerKeyMaterial { key: string; cert: string; ca?: string }
/** Returns true when it took the request (and answers it). */
export type HttpsRequestHandler = (request: IncomingMessage, response: ServerResponse, info: ConnectionInfo) => boolean;
/** Returns true when it took the upgrade (and owns the socket). */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer, info: ConnectionInfo) => boolean;

export interface ListenerOptions {
  host: string;
  defaultIdentity: ServerKeyMaterial;
  /** names served with the default identity (the endpoint, localhost, ...) */
  defaultNames: string[];
  broker: MqttBroker;
  faults: Faults;
  log: LogWriter;
  /** ms for the TLS handshake, and then for the first HTTP request on 443 (default LIMITS: 10,000) */
  deadlineMs?: number;
}

/** How long close() waits for the listeners to finish once every connection is destroyed. */
const CLOSE_BOUND_MS = 5000;

export class DataPlaneListeners {
  private readonly contexts = new Map<string, tls.SecureContext>();
  private readonly requestHandlers: HttpsRequestHandler[] = [];
  private readonly upgradeHandlers: UpgradeHandler[] = [];
  private readonly https = createHttpServer();
  private readonly infos = new WeakMap<Socket, ConnectionInfo>();
  /** every TCP connection, from accept on (before TLS completes too) */
  private readonly sockets = new Set<Socket>();
  /** HTTPS connections still waiting for their first request */
  private readonly requestDeadlines = new WeakMap<Socket, NodeJS.Timeout>();
  private servers: tls.Server[] = [];

  constructor(private readonly options: ListenerOptions) {
    for (const name of options.defaultNames) this.addServerName(name, options.defaultIdentity);
    this.https.on("request", (request, response) => this.routeRequest(request, response));
    this.https.on("upgrade", (request, socket, head) => this.routeUpgrade(request, socket, head));
  }

  /** Serves `name` (SNI, case-insensitive) with its own certificate (custom domains). */
  addServerName(name: string, material: ServerKeyMaterial): void {
    this.contexts.set(name.toLowerCase(), tls.createSecureContext({ key: material.key, cert: material.cert, ca: material.ca }));
  }

  removeServerName(name: string): void {
    this.contexts.delete(name.toLowerCase());
  }

  servesName(name: string): boolean {
    return this.contexts.has(name.toLowerCase());
  }

  /** HTTPS requests on 443 (no ALPN or http/1.1) go to the first handler that takes them. */
  onHttpsRequest(handler: HttpsRequestHandler): void {
    this.requestHandlers.push(handler);
  }

  /** HTTP upgrades on 443 (WebSocket `/mqtt`) go to the first handler that takes them. */
  onUpgrade(handler: UpgradeHandler): void {
    this.upgradeHandlers.push(handler);
  }

  /** Listens on the three ports (0 = ephemeral); resolves the actual ports. */
  async listen(ports: ListenerPorts): Promise<ListenerPorts> {
    const mqtt = this.createServer("mqtt");
    const https = this.createServer("https");
    const httpsMtls = this.createServer("https-mtls");
    this.servers = [mqtt, https, httpsMtls];
    const listen = (server: tls.Server, port: number) => new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.options.host, () => resolve((server.address() as AddressInfo).port));
    });
    return { mqtt: await listen(mqtt, ports.mqtt), https: await listen(https, ports.https), httpsMtls: await listen(httpsMtls, ports.httpsMtls) };
  }

  /**
   * Stops listening and drops every open connection, whatever state it is in (silent TCP,
   * mid-handshake, paused, upgraded to WebSocket); resolves within CLOSE_BOUND_MS whatever
   * the clients do.
   */
  async close(): Promise<void> {
    const closing = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    this.servers = [];
    for (const socket of this.sockets) dropNow(socket);   // not the broker's graceful end
    let bound: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(closing).then(() => false),
      new Promise<boolean>((resolve) => { bound = setTimeout(() => resolve(true), CLOSE_BOUND_MS); }),
    ]);
    clearTimeout(bound);
    if (timedOut) this.options.log(`listeners: ${this.sockets.size} connections still closing after ${CLOSE_BOUND_MS} ms; going on without them`);
  }

  private createServer(listener: Listener): tls.Server {
    const { defaultIdentity } = this.options;
    const server = tls.createServer({
      key: defaultIdentity.key,
      cert: defaultIdentity.cert,
      minVersion: "TLSv1.2",
      requestCert: true,
      rejectUnauthorized: false,   // the chain is checked against the registry after the handshake
      handshakeTimeout: this.options.deadlineMs ?? LIMITS.tlsHandshakeMs,
      SNICallback: (name, done) => {
        const context = this.contexts.get(name.toLowerCase());
        if (context) return done(null, context);
        this.options.log(`tls refused: SNI ${v(name)} is not a name this endpoint serves`,
          { event: "tls", outcome: "refused", listener: listenerName(listener), sni: name, reason: "SNI is not a name this endpoint serves" });
        done(new Error(`unknown server name ${name}`));
      },
      ...(listener === "https" ? { ALPNCallback: ({ protocols }: { protocols: string[] }) => protocols.find((p) => SUPPORTED_ALPN_443.includes(p)) } : {}),
    });
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      if (this.options.faults.take("handshake")) socket.destroy();
    });
    server.on("tlsClientError", (error, socket) => {
      this.options.log(`tls handshake failed on ${listenerName(listener)} from ${v(socket.remoteAddress)}: ${v(error.message)}; connection dropped`,
        { event: "tls", outcome: "refused", listener: listenerName(listener), remoteAddress: socket.remoteAddress, reason: error.message });
      socket.destroy();   // a handshake timeout leaves the TCP connection open otherwise
    });
    server.on("secureConnection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      socket.on("error", () => undefined);
      this.options.faults.gate().then(() => this.route(socket, listener));
    });
    return server;
  }

  private route(socket: tls.TLSSocket, listener: Listener): void {
    if (socket.destroyed) return;
    const alpn = socket.alpnProtocol || null;
    const route: Route | "http" = listener === "https-mtls" ? "http"
      : listener === "mqtt" || alpn === ALPN.mqttCertificate ? "mqtt-x509"
        : alpn === ALPN.mqttCustomAuth ? "mqtt-custom-auth" : "http";
    const info = connectionInfo(socket, listener, route === "http" ? "websocket" : route);
    if (route === "http") {
      this.infos.set(socket, info);
      const deadlineMs = this.options.deadlineMs ?? LIMITS.connectDeadlineMs;
      const deadline = setTimeout(() => {
        this.options.log(`connection refused: from ${v(socket.remoteAddress)} via ${listenerName(listener)}: no HTTP request within ${deadlineMs} ms; connection dropped`);
        socket.destroy();
      }, deadlineMs);
      deadline.unref();
      socket.once("close", () => clearTimeout(deadline));
      this.requestDeadlines.set(socket, deadline);
      this.https.emit("connection", socket);
      return;
    }
    this.options.broker.handle(socket, info);
  }

  private routeRequest(request: IncomingMessage, response: ServerResponse): void {
    clearTimeout(this.requestDeadlines.get(request.socket));
    const info = this.infos.get(request.socket) ?? connectionInfo(request.socket as tls.TLSSocket, "https", "websocket");
    for (const handler of this.requestHandlers) if (handler(request, response, { ...info, httpRequest: request })) return;
    const body = JSON.stringify({ message: `no endpoint for ${request.method} ${request.url}` });
    response.writeHead(404, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    response.end(body);
  }

  private routeUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    clearTimeout(this.requestDeadlines.get(request.socket));
    const info = this.infos.get(request.socket) ?? connectionInfo(request.socket as tls.TLSSocket, "https", "websocket");
    for (const handler of this.upgradeHandlers) if (handler(request, socket, head, { ...info, httpRequest: request })) return;
    this.options.log(`https refused: upgrade ${v(request.url)}: no handler`);
    socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  }
}

/** The facts the authenticators see about a TLS connection. */
export function connectionInfo(socket: tls.TLSSocket, listener: Listener, route: Route, httpRequest?: IncomingMessage): ConnectionInfo {
  return {
    listener, route, alpn: socket.alpnProtocol || null,
    serverName: (socket as tls.TLSSocket & { servername?: string | false }).servername || null,
    peerCertificateChain: peerChain(socket), remoteAddress: socket.remoteAddress, httpRequest, stream: socket,
  };
}

/** DER certificates the peer sent, leaf first; empty without a client certificate. */
export function peerChain(socket: tls.TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate;
  const seen = new Set<string>();
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(cert.raw);
    cert = cert.issuerCertificate;
  }
  return chain;
}
