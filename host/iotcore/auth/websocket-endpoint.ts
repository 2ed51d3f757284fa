// MQTT over WebSocket on the 443 listener: `GET /mqtt` with subprotocol `mqtt`. A SigV4
// presigned URL is verified at the upgrade (refused with 403 as AWS does); without one the
// connection goes on to a custom authorizer at CONNECT. Accepted upgrades become MQTT streams.

import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { createWebSocketStream, WebSocketServer } from "ws";
import { listenerName, type ConnectionInfo } from "../dataplane/types.js";
import { logValue, type LogFields, type LogWriter } from "../log.js";
import type { ConnectionAuth, ConnectionPrincipal } from "./connection-auth.js";

export interface WebSocketEndpointOptions {
  auth: ConnectionAuth;
  /** Serves MQTT on the WebSocket's byte stream (the broker's `handle`). */
  serveMqtt(stream: Duplex, info: ConnectionInfo): void;
  log: LogWriter;
}

export class MqttWebSocketEndpoint {
  private readonly server = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has("mqtt") ? "mqtt" : false) });
  private readonly sigv4 = new WeakMap<IncomingMessage, ConnectionPrincipal>();

  constructor(private readonly options: WebSocketEndpointOptions) {}

  /** The principal a presigned URL established for this upgrade request, if any. */
  presignedPrincipal(request: IncomingMessage | undefined): ConnectionPrincipal | undefined {
    return request ? this.sigv4.get(request) : undefined;
  }

  /** An upgrade handler for the 443 listener; returns false for anything but `/mqtt`. */
  readonly upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer, info: ConnectionInfo): boolean => {
    const path = (request.url ?? "").split("?")[0];
    if (path !== "/mqtt") return false;
    const from = `${info.remoteAddress ?? "?"} sni=${logValue(info.serverName)}`;
    const protocols = String(request.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    if (request.method !== "GET" || !protocols.includes("mqtt")) {
      return this.refuse(socket, 400, `websocket refused from ${from}: GET /mqtt needs Sec-WebSocket-Protocol: mqtt`);
    }
    socket.on("error", () => undefined);
    void this.options.auth.checkUpgrade({ method: request.method, url: request.url ?? "", headers: request.headers }).then((decision) => {
      if (socket.destroyed) return;
      if (!decision.ok) {
        return this.refuse(socket, 403, `websocket refused from ${from}: ${decision.failure.code}: ${decision.failure.message}`,
          { event: "websocket", outcome: "refused", listener: listenerName(info.listener), sni: info.serverName, remoteAddress: info.remoteAddress, reason: `${decision.failure.code}: ${decision.failure.message}`, answer: "HTTP 403" });
      }
      if (decision.value.kind === "sigv4") {
        this.sigv4.set(request, decision.value.principal);
        this.options.log(`websocket accepted from ${from}: SigV4 ${decision.value.principal.via} (${logValue(decision.value.principal.principalId)})`);
      }
      this.server.handleUpgrade(request, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on("error", () => undefined);
        this.options.serveMqtt(stream, { ...info, httpRequest: request, stream });
      });
    });
    return true;
  };

  close(): void {
    this.server.close();
  }

  private refuse(socket: Duplex, status: 400 | 403, line: string, fields?: LogFields): true {
    this.options.log(line, fields);
    const reason = status === 403 ? "Forbidden" : "Bad Request";
    socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    return true;
  }
}
