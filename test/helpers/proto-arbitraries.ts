/**
 * fast-check arbitraries shared by the property tests of the hand-written protobuf codecs
 * (src/rpc/lean/*-encoder.test.ts): inputs that tell an encoder from protobuf-es's `toBinary`.
 */
import fc from "fast-check";

/** Strings of every kind: ASCII, any code point, lone surrogates, integer-like (map order), empty. */
export const protoText = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.string({ unit: fc.constantFrom("\ud800", "\udfff", "a", "é", "😀"), maxLength: 6 }),
  fc.nat({ max: 1000 }).map(String),
  fc.constant(""),
);
