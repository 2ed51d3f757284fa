// The SDK's classic `mqtt` module, resolved at bench time from $MODDABLE (never committed).
declare module "moddable-mqtt" {
  export default class Client {
    constructor(dictionary: Record<string, unknown>);
    publish(topic: string, data: ArrayBuffer | string, flags?: { quality?: number }): void;
    onReady?: () => void;
    onMessage?: (topic: string, payload: ArrayBuffer) => void;
    onClose?: () => void;
  }
}
