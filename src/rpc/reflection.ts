import {
  create,
  type DescFile,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  ServerReflection as ServerReflectionV1,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflectionRequestSchema as AlphaRequestSchema,
  ServerReflectionResponseSchema as AlphaResponseSchema,
  ServerReflection as ServerReflectionV1alpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

type ResponseInit = MessageInitShape<typeof ServerReflectionResponseSchema>;

/**
 * An index of everything reflection can answer from: every file reachable from the served
 * files (imports included, transitively), keyed by file name and by fully qualified symbol.
 */
export interface ReflectionIndex {
  /** Fully qualified names of the services declared in the served files, sorted. */
  readonly services: readonly string[];
  /** Looks up a file by its proto path, e.g. `switchyard/v1/admin.proto`. */
  fileByName(name: string): DescFile | undefined;
  /** Looks up the file declaring a symbol (service, method, message, field, enum, value, extension). */
  fileBySymbol(symbol: string): DescFile | undefined;
  /** The file declaring extension `number` of message `extendee`. */
  fileByExtension(extendee: string, number: number): DescFile | undefined;
  /** Extension numbers known for message `extendee`; undefined when the message is unknown. */
  extensionNumbers(extendee: string): number[] | undefined;
}

/** Builds a {@link ReflectionIndex} from the served files (usually the generated `file_*` exports). */
export function createReflectionIndex(files: readonly DescFile[]): ReflectionIndex {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const messages = new Set<string>();
  const extensions = new Map<string, Map<number, DescFile>>();
  const addExtension = (file: DescFile, extendee: string, number: number, typeName: string) => {
    bySymbol.set(typeName, file);
    const numbers = extensions.get(extendee) ?? new Map<number, DescFile>();
    extensions.set(extendee, numbers);
    numbers.set(number, file);
  };
  const addMessage = (file: DescFile, message: DescMessage) => {
    bySymbol.set(message.typeName, file);
    messages.add(message.typeName);
    for (const field of message.fields) bySymbol.set(`${message.typeName}.${field.name}`, file);
    for (const oneof of message.oneofs) bySymbol.set(`${message.typeName}.${oneof.name}`, file);
    for (const nested of message.nestedMessages) addMessage(file, nested);
    for (const e of message.nestedEnums) {
      bySymbol.set(e.typeName, file);
      for (const v of e.values) bySymbol.set(`${message.typeName}.${v.name}`, file);
    }
    for (const ext of message.nestedExtensions) addExtension(file, ext.extendee.typeName, ext.number, ext.typeName);
  };
  const visit = (file: DescFile) => {
    if (byName.has(file.proto.name)) return;
    byName.set(file.proto.name, file);
    const pkg = file.proto.package;
    const scoped = (name: string) => (pkg ? `${pkg}.${name}` : name);
    for (const message of file.messages) addMessage(file, message);
    for (const e of file.enums) {
      bySymbol.set(e.typeName, file);
      for (const v of e.values) bySymbol.set(scoped(v.name), file);
    }
    for (const ext of file.extensions) addExtension(file, ext.extendee.typeName, ext.number, ext.typeName);
    for (const service of file.services) {
      bySymbol.set(service.typeName, file);
      for (const method of service.methods) bySymbol.set(`${service.typeName}.${method.name}`, file);
    }
    for (const dep of file.dependencies) visit(dep);
  };
  for (const file of files) visit(file);
  const services = [...new Set(files.flatMap((f) => f.services.map((s) => s.typeName)))].sort();
  return {
    services,
    fileByName: (name) => byName.get(name),
    fileBySymbol: (symbol) => bySymbol.get(symbol.startsWith(".") ? symbol.slice(1) : symbol),
    fileByExtension: (extendee, number) => extensions.get(extendee)?.get(number),
    extensionNumbers: (extendee) => {
      if (!messages.has(extendee)) return undefined;
      return [...(extensions.get(extendee)?.keys() ?? [])].sort((a, b) => a - b);
    },
  };
}

/**
 * Serializes `file` and, breadth first, its imports. The requested file always comes first;
 * an import already in `sent` (sent earlier on the same stream) is left out, as grpc-go does
 * and the reflection spec allows.
 */
function fileWithDependencies(file: DescFile, sent: Set<string>): Uint8Array[] {
  const out: Uint8Array[] = [];
  const queue: DescFile[] = [file];
  const seen = new Set<string>();
  for (let current = queue.shift(); current; current = queue.shift()) {
    if (seen.has(current.proto.name)) continue;
    seen.add(current.proto.name);
    if (out.length === 0 || !sent.has(current.proto.name)) {
      sent.add(current.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, current.proto));
    }
    queue.push(...current.dependencies);
  }
  return out;
}

const notFound = (message: string): ResponseInit["messageResponse"] => ({
  case: "errorResponse",
  value: { errorCode: Code.NotFound, errorMessage: message },
});

/**
 * Answers one reflection request (v1 shapes). `sent` holds the file names already sent on the
 * stream. Unknown names become an `error_response` with NOT_FOUND, never a stream error.
 */
export function answerReflectionRequest(
  index: ReflectionIndex,
  request: ServerReflectionRequest,
  sent: Set<string>,
): ResponseInit {
  const files = (file: DescFile | undefined, what: string): ResponseInit["messageResponse"] =>
    file
      ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: fileWithDependencies(file, sent) } }
      : notFound(`${what} not found`);
  let messageResponse: ResponseInit["messageResponse"];
  const r = request.messageRequest;
  switch (r.case) {
    case "listServices":
      messageResponse = { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
      break;
    case "fileByFilename":
      messageResponse = files(index.fileByName(r.value), `file "${r.value}"`);
      break;
    case "fileContainingSymbol":
      messageResponse = files(index.fileBySymbol(r.value), `symbol "${r.value}"`);
      break;
    case "fileContainingExtension":
      messageResponse = files(
        index.fileByExtension(r.value.containingType, r.value.extensionNumber),
        `extension ${r.value.extensionNumber} of "${r.value.containingType}"`,
      );
      break;
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(r.value);
      messageResponse = numbers
        ? { case: "allExtensionNumbersResponse", value: { baseTypeName: r.value, extensionNumber: numbers } }
        : notFound(`type "${r.value}" not found`);
      break;
    }
    default:
      messageResponse = {
        case: "errorResponse",
        value: { errorCode: Code.Unimplemented, errorMessage: "unsupported reflection request" },
      };
  }
  return { validHost: request.host, originalRequest: request, messageResponse };
}

/**
 * Renders an abort reason for clients: ConnectErrors pass through, errors carrying a canonical
 * numeric `code` (such as BrokerError SHUTTING_DOWN → UNAVAILABLE) keep it, anything else is CANCELED.
 */
export function abortReasonToConnectError(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) return reason;
  const code = (reason as { code?: unknown } | undefined)?.code;
  if (typeof code === "number" && code > 0 && code <= Code.Unauthenticated && reason instanceof Error) {
    return new ConnectError(reason.message, code as Code);
  }
  return new ConnectError("the operation was canceled", Code.Canceled);
}

/** Iterates `source` until it ends or `signal` aborts; an abort throws {@link abortReasonToConnectError}. */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReasonToConnectError(signal.reason));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    for (;;) {
      const next = await Promise.race([it.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    void it.return?.()?.catch(() => {});
  }
}

/**
 * Registers gRPC server reflection, `grpc.reflection.v1.ServerReflection` and
 * `grpc.reflection.v1alpha.ServerReflection`, answering from the descriptors embedded in the
 * generated code. `files` are the served files (their imports are found transitively), so
 * `grpcurl -plaintext HOST list` and `buf curl --reflect` work without proto files.
 *
 * ServerReflectionInfo is a bidi stream and therefore needs HTTP/2 (gRPC or Connect over h2/h2c).
 */
export function registerReflection(router: ConnectRouter, files: readonly DescFile[]): void {
  const index = createReflectionIndex(files);
  router.service(ServerReflectionV1, {
    async *serverReflectionInfo(requests, ctx) {
      const sent = new Set<string>();
      for await (const request of untilAborted(requests, ctx.signal))
        yield answerReflectionRequest(index, request, sent);
    },
  });
  router.service(ServerReflectionV1alpha, {
    async *serverReflectionInfo(requests, ctx) {
      // v1alpha is wire-identical to v1: translate through the binary encoding.
      const sent = new Set<string>();
      for await (const alpha of untilAborted(requests, ctx.signal)) {
        const request = fromBinary(ServerReflectionRequestSchema, toBinary(AlphaRequestSchema, alpha));
        const answer = create(ServerReflectionResponseSchema, answerReflectionRequest(index, request, sent));
        yield fromBinary(AlphaResponseSchema, toBinary(ServerReflectionResponseSchema, answer));
      }
    },
  });
}
