/**
 * Random proto3-JSON values for any message type, from its descriptor: field values are drawn
 * from small pools of typical and boundary values (so the services' checks are reached), with
 * random strings and bytes mixed in. Used to build Connect JSON bodies and, through `fromJson`,
 * valid binary bodies.
 */
import { type DescField, type DescMessage, fromJson, type JsonValue, ScalarType, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const names = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("t0", "t1", "jobs", "q", "t0-sub") },
  { weight: 1, arbitrary: fc.constantFrom("", "a/b", "x".repeat(300), "\u0000", "é", " ", "sy-t0-1") },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
const int32 = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 2_147_483_647, -2_147_483_648, 1000, 1001, 60_000) },
);
const uint32 = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(4_294_967_295, 1000, 1001, 60_000, 2_147_483_648) },
);
const int64 = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 5 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "9007199254740993",
      "18446744073709551615",
      "9223372036854775807",
      "1000",
      "600001",
      "86400000",
    ),
  },
);
const sint64 = fc.oneof(int64, fc.constantFrom("-1", "-9223372036854775808"));
const bytes = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b).toString("base64"));
const timestamp = fc.constantFrom(
  "1970-01-01T00:00:00Z",
  "2026-01-01T00:00:00.5Z",
  "9999-12-31T23:59:59Z",
  "0001-01-01T00:00:00Z",
  "nope",
);
const duration = fc.constantFrom("0s", "1.5s", "-1s", "315576000000s", "x");

function scalar(type: ScalarType): fc.Arbitrary<Json> {
  switch (type) {
    case ScalarType.STRING:
      return names;
    case ScalarType.BYTES:
      return bytes;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return int32;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return uint32;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return sint64;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return int64;
    default:
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom("NaN", "Infinity"));
  }
}

function fieldValue(field: DescField, depth: number): fc.Arbitrary<Json> {
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar);
    case "enum":
      return fc.constantFrom<Json>(...field.enum.values.map((v) => v.name), 0, 1, 99);
    case "message":
      return message(field.message, depth + 1);
    case "list": {
      const item =
        field.listKind === "scalar"
          ? scalar(field.scalar)
          : field.listKind === "enum"
            ? fc.constantFrom<Json>(...field.enum.values.map((v) => v.name))
            : message(field.message, depth + 1);
      return fc.array(item, { maxLength: 3 });
    }
    case "map": {
      const value =
        field.mapKind === "scalar"
          ? scalar(field.scalar)
          : field.mapKind === "enum"
            ? fc.constantFrom<Json>(...field.enum.values.map((v) => v.name))
            : message(field.message, depth + 1);
      return fc.dictionary(fc.oneof(names, fc.constantFrom("k", "switchyard-x")), value, { maxKeys: 3 });
    }
  }
}

const cache = new Map<string, fc.Arbitrary<Json>>();

/** A random proto3-JSON object of `desc` (fields left out at random; at most one member per oneof). */
export function message(desc: DescMessage, depth = 0): fc.Arbitrary<Json> {
  if (desc.typeName === "google.protobuf.Timestamp") return timestamp;
  if (desc.typeName === "google.protobuf.Duration") return duration;
  if (depth > 3) return fc.constant({});
  const key = `${desc.typeName}/${depth}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const plain = desc.fields.filter((f) => f.oneof === undefined);
  const fields = fc.record(Object.fromEntries(plain.map((f) => [f.jsonName, fieldValue(f, depth)])), {
    requiredKeys: [],
  });
  const oneofs = desc.oneofs.map((o) =>
    fc.option(fc.oneof(...o.fields.map((f) => fieldValue(f, depth).map((v) => ({ [f.jsonName]: v })))), {
      nil: undefined,
    }),
  );
  const arb = fc
    .tuple(fields, fc.tuple(...oneofs))
    .map(([record, chosen]) => Object.assign({}, record, ...chosen.filter((c) => c !== undefined)) as Json);
  cache.set(key, arb);
  return arb;
}

/**
 * A request body for `schema`: random bytes, the JSON itself (for JSON protocols), or its binary
 * encoding (random bytes when the JSON is not a valid message); `mutated` flips a few bits.
 */
export function requestBody(
  schema: DescMessage,
  c: { body: "random" | "valid" | "mutated" | string; json: JsonValue; random: Uint8Array; flips: readonly number[] },
  json: boolean,
): Uint8Array {
  let data: Uint8Array;
  if (c.body === "random") data = c.random;
  else if (json) data = Buffer.from(JSON.stringify(c.json));
  else {
    try {
      data = toBinary(schema, fromJson(schema, c.json));
    } catch {
      data = c.random;
    }
  }
  if (c.body === "mutated" && data.length > 0) {
    const b = Buffer.from(data);
    for (const f of c.flips) b[f % b.length] = (b[f % b.length] as number) ^ (1 << (f % 8));
    data = b;
  }
  return data;
}
