import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pushConfig } from "../../test/helpers/push-test-kit.js";
import { FIELD_PREFIX, HEADER_PREFIX, TARGET_ATTRIBUTE } from "../bridges/opq/push.js";
import type { Delivery } from "../core/index.js";
import {
  buildFormRequest,
  FORM_FIELD_PREFIX,
  FORM_HEADER_PREFIX,
  FORM_TARGET_ATTRIBUTE,
  FORM_URL_ATTRIBUTE,
  formBody,
  UndeliverableError,
} from "./form-request.js";
import { signature } from "./request.js";

function delivery(attributes: Record<string, string>): Delivery {
  return {
    ackId: "a",
    deliveryAttempt: 1,
    message: {
      topic: "t",
      seq: 1,
      id: "i",
      data: new Uint8Array(),
      attributes,
      publishTimeMs: 0,
      priority: 0,
      orderingKey: "opq",
    },
  } as Delivery;
}

const form = pushConfig({ endpoint: "", form: true });

describe("push form requests", () => {
  it("form - the OPQ bridge writes the attribute names the form push reads", () => {
    assert.equal(FIELD_PREFIX, FORM_FIELD_PREFIX);
    assert.equal(HEADER_PREFIX, FORM_HEADER_PREFIX);
    assert.equal(TARGET_ATTRIBUTE, FORM_TARGET_ATTRIBUTE);
  });

  it("form - the target is target.url when the message has it (kept out of the body), else form.url", () => {
    const r = buildFormRequest(
      form,
      delivery({ [FORM_TARGET_ATTRIBUTE]: "http://first.example/a", "form.message": "m", "form.topic": "t" }),
      [],
    );
    assert.equal(r.url, "http://first.example/a");
    assert.equal(Buffer.from(r.body).toString(), "message=m&topic=t");
    const both = buildFormRequest(
      form,
      delivery({ [FORM_TARGET_ATTRIBUTE]: "http://first.example/", [FORM_URL_ATTRIBUTE]: "http://other.example/" }),
      [],
    );
    assert.equal(both.url, "http://first.example/");
    assert.equal(Buffer.from(both.body).toString(), "url=http%3A%2F%2Fother.example%2F");
    assert.throws(
      () => buildFormRequest(form, delivery({ [FORM_TARGET_ATTRIBUTE]: "mailto:x@y" }), []),
      /target\.url must be an http or https URL, got mailto:/,
    );
  });

  it("form - body: every form.* field, names in UTF-8 byte order, Go's QueryEscape", () => {
    const body = formBody({
      "form.url": "http://127.0.0.1/Comment/addComment?comment=nny&user=q18",
      "form.topic": "comment",
      "form.message": "this is message body",
      "form.é": "ü",
      "form.\uffff": "last",
      "form.\u{1f600}": "astral sorts after U+FFFF in UTF-8",
      "header.X-A": "not a field",
      other: "not a field",
    });
    assert.equal(
      body,
      "message=this+is+message+body&topic=comment&url=http%3A%2F%2F127.0.0.1%2FComment%2FaddComment%3Fcomment%3Dnny%26user%3Dq18" +
        "&%C3%A9=%C3%BC&%EF%BF%BF=last&%F0%9F%98%80=astral+sorts+after+U%2BFFFF+in+UTF-8",
    );
  });

  it("form - request: POST to form.url with the producer's headers; framing, hop-by-hop and non-form content types left out", () => {
    const r = buildFormRequest(
      form,
      delivery({
        [FORM_URL_ATTRIBUTE]: "http://127.0.0.1:9/in?x=1",
        "form.topic": "t",
        "header.User-Agent": "curl/8.5.0",
        "header.Accept": "*/*",
        "header.X-Trace": "caf\u00e9 latin1 bytes",
        "header.Content-Type": "multipart/form-data; boundary=xyz",
        "header.Content-Length": "999",
        "header.Expect": "100-continue",
        "header.Connection": "keep-alive",
        "header.Host": "elsewhere",
      }),
      [],
    );
    assert.equal(r.url, "http://127.0.0.1:9/in?x=1");
    assert.deepEqual(r.headers, {
      "User-Agent": "curl/8.5.0",
      Accept: "*/*",
      "X-Trace": "caf\u00e9 latin1 bytes",
      "Content-Type": "application/x-www-form-urlencoded",
    });
    assert.equal(Buffer.from(r.body).toString(), "topic=t&url=http%3A%2F%2F127.0.0.1%3A9%2Fin%3Fx%3D1");
  });

  it("form - a url-encoded Content-Type of the producer is kept with its parameters; subscription headers and the signature go on top", () => {
    const r = buildFormRequest(
      { ...form, headers: { Authorization: "Bearer op" }, hmacSecret: "k" },
      delivery({
        [FORM_URL_ATTRIBUTE]: "https://hooks.example.com/",
        "header.Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
        "header.authorization": "Basic producer",
      }),
      [],
    );
    assert.deepEqual(r.headers, {
      "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
      Authorization: "Bearer op",
      "Switchyard-Signature": signature("k", r.body),
    });
  });

  it("form - a message that cannot be sent says why (a failed attempt, no request)", () => {
    const cases: [Record<string, string>, RegExp, string[]?][] = [
      [{}, /has no target\.url or form\.url attribute/],
      [{ [FORM_URL_ATTRIBUTE]: "http://[::1" }, /is not a URL/],
      [{ [FORM_URL_ATTRIBUTE]: "" }, /is not a URL/],
      [{ [FORM_URL_ATTRIBUTE]: "ftp://x/" }, /must be an http or https URL, got ftp:/],
      [
        { [FORM_URL_ATTRIBUTE]: "http://evil.example/" },
        /host evil\.example is not in push-allowed-hosts/,
        ["ok.example"],
      ],
      [{ [FORM_URL_ATTRIBUTE]: "http://x/", "header.Bad Name": "v" }, /not a valid header name/],
      [{ [FORM_URL_ATTRIBUTE]: "http://x/", "header.X": "a\r\nInjected: 1" }, /cannot be sent/],
    ];
    for (const [attributes, message, allowed] of cases) {
      assert.throws(
        () => buildFormRequest(form, delivery(attributes), allowed ?? []),
        (e: unknown) => e instanceof UndeliverableError && message.test(e.message),
        String(message),
      );
    }
  });
});
