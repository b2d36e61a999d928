/** Every fuzzer, in the order `npm run fuzz` runs them. */
import { bridgeHostileFuzzer } from "./bridge-hostile.fuzz.js";
import { connectRpcFuzzer } from "./connect-rpc.fuzz.js";
import type { Fuzzer } from "./fuzz-kit.js";
import { gophermqHttpFuzzer } from "./gophermq-http.fuzz.js";
import { h2HostileFuzzer } from "./h2-hostile.fuzz.js";
import { ohpqSessionFuzzer } from "./ohpq-session.fuzz.js";
import { okqSessionFuzzer } from "./okq-session.fuzz.js";
import { opqHttpFuzzer } from "./opq-http.fuzz.js";
import { respDecoderFuzzer } from "./resp-decoder.fuzz.js";
import { restmqHttpFuzzer } from "./restmq-http.fuzz.js";
import { rpcHttp2Fuzzer } from "./rpc-http2.fuzz.js";

export const FUZZERS: readonly Fuzzer[] = [
  respDecoderFuzzer,
  okqSessionFuzzer,
  connectRpcFuzzer,
  opqHttpFuzzer,
  gophermqHttpFuzzer,
  rpcHttp2Fuzzer,
  ohpqSessionFuzzer,
  restmqHttpFuzzer,
  h2HostileFuzzer,
  bridgeHostileFuzzer,
];
