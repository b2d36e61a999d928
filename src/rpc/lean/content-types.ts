import {
  contentTypeStreamRegExp as connectStreamContentType,
  contentTypeUnaryRegExp as connectUnaryContentType,
  parseContentType as parseConnectContentType,
} from "@connectrpc/connect/protocol-connect";
import { contentTypeRegExp as grpcContentType } from "@connectrpc/connect/protocol-grpc";

/** What a request's content type says to the lean path (connect's own regular expressions decide). */
export interface ContentKind {
  /** gRPC (`application/grpc`, `+proto`, `+json`). */
  readonly grpc: boolean;
  /** Connect unary (`application/proto`, `application/json`). */
  readonly connectUnary: boolean;
  /** Connect streaming in the binary format (`application/connect+proto`). */
  readonly connectStreamBinary: boolean;
  /** The binary format (Protobuf), for gRPC and Connect unary; false for JSON. */
  readonly binary: boolean;
}

/** Content types remembered at most (clients send a handful; an odd one past this is parsed per call). */
const MAX_REMEMBERED = 64;
const remembered = new Map<string, ContentKind>();

/**
 * The {@link ContentKind} of a content type, as connect's regular expressions read it: worked out
 * once per distinct value and remembered (a few values cover every client), not per call.
 */
export function contentKindOf(contentType: string): ContentKind {
  const known = remembered.get(contentType);
  if (known !== undefined) return known;
  const kind = classify(contentType);
  if (remembered.size < MAX_REMEMBERED) remembered.set(contentType, kind);
  return kind;
}

function classify(contentType: string): ContentKind {
  const grpc = grpcContentType.exec(contentType);
  if (grpc !== null)
    return { grpc: true, connectUnary: false, connectStreamBinary: false, binary: grpc[1] === undefined };
  const type = parseConnectContentType(contentType);
  const connectUnary = connectUnaryContentType.test(contentType) && type !== undefined && !type.stream;
  const connectStreamBinary = connectStreamContentType.test(contentType) && type?.stream === true && type.binary;
  return { grpc: false, connectUnary, connectStreamBinary, binary: type?.binary === true };
}
