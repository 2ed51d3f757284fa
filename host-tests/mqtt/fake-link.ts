// The shared fake clock, and a fake byte stream whose server side the test plays, with
// mqtt-packet generating what the "server" sends and parsing what the client wrote.
import * as mqttPacket from "mqtt-packet";
import type { Failure } from "../../firmware/platform/failure.js";
import type { Transport, TransportEvents } from "../../firmware/platform/seam.js";
import type { MqttClientEvents } from "../../firmware/mqtt/client.js";

export { FakeTime } from "../support/fake-time.js";

/** One fake connection: the test opens it, sends server packets and reads what the client wrote. */
export class FakeStream implements Transport {
  events!: TransportEvents;
  written: mqttPacket.Packet[] = [];
  closed = false;
  #parser = mqttPacket.parser({ protocolVersion: 4 });

  constructor() {
    this.#parser.on("packet", (p) => this.written.push(p));
    this.#parser.on("error", (e) => { throw e; });
  }

  write(bytes: Uint8Array, more?: Uint8Array): void {
    if (this.closed) throw new Error("write after close");
    this.#parser.parse(Buffer.from(bytes));
    if (more) this.#parser.parse(Buffer.from(more));
  }

  close(): void {
    this.closed = true;
  }

  open(): void {
    this.events.onOpen({});
  }

  send(packet: mqttPacket.Packet): void {
    this.events.onData(new Uint8Array(mqttPacket.generate(packet)));
  }

  sendBytes(bytes: number[]): void {
    this.events.onData(Uint8Array.from(bytes));
  }

  /** Opens and accepts the CONNECT. */
  accept(sessionPresent = false): void {
    this.open();
    this.send({ cmd: "connack", returnCode: 0, sessionPresent });
  }

  drop(failure?: Failure): void {
    this.closed = true;
    this.events.onClose(failure);
  }

  take(): mqttPacket.Packet[] {
    const out = this.written;
    this.written = [];
    return out;
  }
}

/** An OpenStream that hands out FakeStreams and remembers the latest one. */
export function fakeOpener() {
  const streams: FakeStream[] = [];
  const open = (events: TransportEvents) => {
    const s = new FakeStream();
    s.events = events;
    streams.push(s);
    return s;
  };
  return { open, streams, get last() { return streams[streams.length - 1]; } };
}

/** Events that record what the client reported. */
export function recordingEvents() {
  const log = {
    connected: [] as boolean[],
    messages: [] as { topic: string; payload: string; qos: number; retain: boolean; dup: boolean }[],
    disconnected: [] as (Failure | undefined)[],
  };
  const events: MqttClientEvents = {
    onConnected: (info) => { log.connected.push(info.sessionPresent); },
    onMessage: (topic, payload, info) => { log.messages.push({ topic, payload: Buffer.from(payload).toString(), ...info }); },
    onDisconnected: (f) => { log.disconnected.push(f); },
  };
  return { events, log };
}
