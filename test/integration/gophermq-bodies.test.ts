/**
 * The GopherMQ bridge with bodies at the edges of what GopherMQ (Echo v4.7.0 on Go) accepts:
 * multipart and form bodies Go cannot read, JSON nested past Go's depth limit, and megabyte
 * strings full of characters that need escaping (docs/gophermq.md "Request bodies", "Bytes on
 * the wire"). Each over a real socket, answered byte for byte.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { postJson, type RawResponse, rawRequest } from "../helpers/http-raw.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const INVALID = '{"message":"request\'s body is invalid"}\n';
const MiB = 1024 * 1024;

let server: TestServer;
let base: string;

before(async () => {
  server = await startTestServer({ config: { okqPort: "off", gophermqMaxPending: 10 } });
  base = `http://${server.addresses.gophermq}`;
});
after(() => server.close());

function expectBody(res: RawResponse, status: number, text: string): void {
  assert.equal(res.status, status, res.text.slice(0, 200));
  assert.equal(res.headers["content-type"], "application/json; charset=UTF-8");
  assert.equal(res.text, text);
}

const post = (path: string, contentType: string, body: string | Buffer) =>
  rawRequest(`${base}${path}`, { headers: { "content-type": contentType }, body });

async function subscribe(subject: string): Promise<string> {
  const res = await postJson(`${base}/api/subscribe`, { subject });
  assert.equal(res.status, 200, res.text);
  return (JSON.parse(res.text) as { id: string }).id;
}

describe("gophermq bodies", () => {
  it("gophermq - multipart bodies Go cannot read are 400; readable ones bind nothing (400 invalid subject)", async () => {
    const type = "multipart/form-data; boundary=XyZ";
    for (const body of ["subject=a", "--XyZ\r\n\r\nno closing boundary", "--XyZ\r\nno colon\r\n\r\nv\r\n--XyZ--\r\n"]) {
      expectBody(await post("/api/subscribe", type, body), 400, INVALID);
    }
    expectBody(await post("/api/subscribe", "multipart/form-data", "--XyZ--\r\n"), 400, INVALID);
    const readable = '--XyZ\r\nContent-Disposition: form-data; name="subject"\r\n\r\nforms\r\n--XyZ--\r\n';
    expectBody(await post("/api/subscribe", type, readable), 400, '{"message":"invalid subject"}\n');
    expectBody(await post("/api/subscribe?x=%zz", type, readable), 400, INVALID);
  });

  it("gophermq - a form whose body or URL query does not parse is 400; one that parses binds nothing", async () => {
    const type = "application/x-www-form-urlencoded";
    expectBody(await post("/api/publish?x=%zz", type, "subject=a&data=b"), 400, INVALID);
    expectBody(await post("/api/publish?a=1;b=2", type, "subject=a&data=b"), 400, INVALID);
    expectBody(await post("/api/publish", type, "data=%zz"), 400, INVALID);
    expectBody(await post("/api/publish?x=1", type, "subject=a&data=b"), 400, '{"message":"invalid subject"}\n');
    // A JSON body never looks at the query: Echo binds query parameters only for GET, DELETE and HEAD.
    const id = await subscribe("query.ignored");
    expectBody(
      await post("/api/fetch?x=%zz", "application/json", JSON.stringify({ subject: "query.ignored", id })),
      200,
      `{"data":[],"id":"${id}","subject":"query.ignored"}\n`,
    );
  });

  it("gophermq - JSON nested deeper than Go's 10000 levels is 400, even inside a field GopherMQ ignores", async () => {
    const nested = (levels: number) => `{"a":${"[".repeat(levels - 1)}${"]".repeat(levels - 1)},"subject":"deep"}`;
    const ok = await post("/api/subscribe", "application/json", nested(10_000));
    assert.equal(ok.status, 200, ok.text);
    expectBody(await post("/api/subscribe", "application/json", nested(10_001)), 400, INVALID);
    expectBody(await post("/api/subscribe", "application/json", nested(500_000)), 400, INVALID);
  });

  it("gophermq - a 1 MiB message of '<' is fetched as Go writes it: \\u003c each", async () => {
    const id = await subscribe("big.lt");
    expectBody(
      await postJson(`${base}/api/publish`, { subject: "big.lt", data: "<".repeat(MiB) }),
      200,
      '{"status":"ok"}\n',
    );
    const res = await postJson(`${base}/api/fetch`, { subject: "big.lt", id });
    expectBody(res, 200, `{"data":["${"\\u003c".repeat(MiB)}"],"id":"${id}","subject":"big.lt"}\n`);
  });

  it("gophermq - 1 MiB of 0xff in a JSON body decodes as one U+FFFD per byte, as Go does", async () => {
    // Invalid UTF-8 in an ignored field: the subject still binds.
    const ignored = Buffer.concat([
      Buffer.from('{"subject":"big.ff","x":"'),
      Buffer.alloc(MiB, 0xff),
      Buffer.from('"}'),
    ]);
    const sub = await post("/api/subscribe", "application/json", ignored);
    assert.equal(sub.status, 200, sub.text);
    const { id } = JSON.parse(sub.text) as { id: string };
    // In the data: stored as the text Go decoded (U+FFFD per byte), fetched back as that text.
    const data = Buffer.concat([
      Buffer.from('{"subject":"big.ff","data":"'),
      Buffer.alloc(MiB / 4, 0xff),
      Buffer.from('"}'),
    ]);
    expectBody(await post("/api/publish", "application/json", data), 200, '{"status":"ok"}\n');
    const res = await postJson(`${base}/api/fetch`, { subject: "big.ff", id });
    expectBody(res, 200, `{"data":["${"\ufffd".repeat(MiB / 4)}"],"id":"${id}","subject":"big.ff"}\n`);
  });
});
