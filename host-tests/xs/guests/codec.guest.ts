// Guest for codec.test.ts: the MQTT codec exercises, run inside XS.
import { exposeCalls } from "../../../host/runtime/xs/guest/bridge.js";
import { type ConnectCase, decodeInChunks, encodeClientPackets, fromHex, serverStream, soup, type PublishCase } from "./codec-cases.js";

exposeCalls({
  encode: (args) => ({ parts: encodeClientPackets(args.connect as ConnectCase, args.publishes as PublishCase[]) }),
  decode: (args) => {
    const { bytes } = serverStream(args.publishes as PublishCase[]);
    return { result: (args.chunks as number[]).map((chunk) => decodeInChunks(bytes, chunk)) };
  },
  decodeHex: (args) => ({ result: (args.inputs as string[]).map((input) => [decodeInChunks(fromHex(input), 0), decodeInChunks(fromHex(input), 1)]) }),
  soup: (args) => ({ result: (args.seeds as number[]).map((seed) => decodeInChunks(soup(seed, 600), 37)) }),
});
