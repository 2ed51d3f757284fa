// MQTT over WebSocket (`GET <path>`, subprotocol `mqtt`) over TLS to the endpoint: the stream
// the wss-* modes open, each with its own path and headers.

import type { Platform, Transport, TransportEvents } from "../platform/seam.js";
import { openWebSocket } from "../websocket/client.js";
import { hostHeader } from "../websocket/http-head.js";
import type { ConnectionCredentials, Endpoint } from "./config.js";
import { tlsOpener } from "./stream.js";

export type WebSocketOpener = (path: string, headers: [string, string][], events: TransportEvents) => Transport;

/** Opens a WebSocket at `path` with `headers` added to the upgrade request; the Host header from the server name. */
export function webSocketOpener(config: Endpoint, credentials: ConnectionCredentials, platform: Platform): WebSocketOpener {
  const openTls = tlsOpener(config, credentials, platform);
  const host = hostHeader(config.serverName, config.port);
  return (path, headers, events) => openWebSocket(platform, openTls, { host, path, protocol: "mqtt", headers }, events);
}
