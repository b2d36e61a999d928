import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { it } from "node:test";
import { pushConfig, text, utf8 } from "../../test/helpers/push-test-kit.js";
import type { Delivery } from "../core/index.js";
import { pushBackoffMs } from "./backoff.js";
import { attributeHeaderName, buildPushRequest, headerValue } from "./request.js";

const delivery: Delivery = {
  ackId: "tok",
  deliveryAttempt: 3,
  message: {
    topic: "tópic",
    seq: 42,
    id: "id-1",
    data: utf8("payload"),
    attributes: { plain: "v", "sp ace": " edge ", pct: "50%" },
    publishTimeMs: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    priority: 0,
    orderingKey: "",
    deliverAtMs: 0,
    expireAtMs: 0,
  },
};

it("request - raw: the data as body, Switchyard headers, attributes percent-encoded only where needed", () => {
  const r = buildPushRequest("sub", pushConfig({ headers: { Authorization: "Bearer x" } }), delivery);
  assert.equal(r.url, "http://hooks.test/in");
  assert.equal(text(r.body), "payload");
  assert.deepEqual(r.headers, {
    Authorization: "Bearer x",
    "Content-Type": "application/octet-stream",
    "Switchyard-Topic": "t%C3%B3pic",
    "Switchyard-Subscription": "sub",
    "Switchyard-Seq": "42",
    "Switchyard-Id": "id-1",
    "Switchyard-Delivery-Attempt": "3",
    "Switchyard-Publish-Time": "2026-01-02T03:04:05.006Z",
    "Switchyard-Attr-plain": "v",
    "Switchyard-Attr-sp%20ace": "%20edge%20",
    "Switchyard-Attr-pct": "50%25",
  });
  for (const [k, v] of Object.entries(r.headers)) {
    assert.match(k, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
    assert.match(v, /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/);
  }
});

it("request - header encoding round-trips through decodeURIComponent", () => {
  for (const s of ["plain", "100%", " a b ", "ünï\r\n\u0000", "%41"]) {
    assert.equal(decodeURIComponent(headerValue(s)), s);
    assert.equal(decodeURIComponent(attributeHeaderName(s).slice("Switchyard-Attr-".length)), s);
  }
});

it("request - the signature is HMAC-SHA256 of the exact body, wrapped or raw", () => {
  for (const wrap of [false, true]) {
    const r = buildPushRequest("sub", pushConfig({ hmacSecret: "k", wrap }), delivery);
    const expected = createHmac("sha256", "k").update(r.body).digest("hex");
    assert.equal(r.headers["Switchyard-Signature"], `sha256=${expected}`);
  }
  assert.equal(buildPushRequest("sub", pushConfig(), delivery).headers["Switchyard-Signature"], undefined);
});

it("request - wrap: JSON envelope, attributes inside, a custom Content-Type wins", () => {
  const r = buildPushRequest(
    "sub",
    pushConfig({ wrap: true, headers: { "content-type": "application/x-env" } }),
    delivery,
  );
  assert.equal(r.headers["content-type"], "application/x-env");
  assert.equal(r.headers["Content-Type"], undefined);
  assert.equal(r.headers["Switchyard-Attr-plain"], undefined);
  assert.deepEqual(JSON.parse(text(r.body)), {
    subscription: "sub",
    deliveryAttempt: 3,
    message: {
      topic: "tópic",
      seq: "42",
      id: "id-1",
      data: Buffer.from("payload").toString("base64"),
      attributes: delivery.message.attributes,
      publishTime: "2026-01-02T03:04:05.006Z",
      priority: 0,
      orderingKey: "",
    },
  });
});

it("backoff - the broker's retry backoff; an unset policy is 100 ms doubling to 60 s for push", () => {
  const none = { minBackoffMs: 0, maxBackoffMs: 0 };
  const noJitter = () => 0;
  assert.deepEqual(
    [1, 2, 3, 4, 11, 12, 1000].map((n) => pushBackoffMs(n, none, noJitter)),
    [100, 200, 400, 800, 60_000, 60_000, 60_000],
  );
  const policy = { minBackoffMs: 500, maxBackoffMs: 1_500 };
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => pushBackoffMs(n, policy, noJitter)),
    [500, 1_000, 1_500, 1_500],
  );
  for (let i = 0; i < 100; i++) {
    const d = pushBackoffMs(5, policy, Math.random);
    assert.ok(d >= 750 && d <= 1_500, String(d));
  }
  assert.equal(
    pushBackoffMs(1, none, () => 0.999_999),
    100,
    "jitter never goes below the minimum",
  );
});
