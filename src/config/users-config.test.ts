import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig, validateConfig } from "./index.js";

const HASH = "scrypt$N=1024,r=8,p=1$r8kPFg0aR84wuO+lYsyDpQ$izOjUAge8M5+8fEeTVDE6FLqwzvDXZzisG7ujLT6cLw";

async function withFile(name: string, text: string, fn: (file: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-users-"));
  try {
    const file = join(dir, name);
    await writeFile(file, text);
    await fn(file, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rejects = (argv: string[], pattern: RegExp, secret?: string) =>
  assert.rejects(loadConfig(argv), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, pattern);
    if (secret) assert.ok(!e.message.includes(secret), `the message holds a secret: ${e.message}`);
    return true;
  });

describe("config users", () => {
  it("config users - the native form: passwords, hashes, tokens, roles and topics", async () => {
    const yaml = `users:
  - name: orders-app
    password: "s3cret"
    tokens: ["tok_1"]
    roles: [publisher, subscriber]
    topics: ["orders", "orders.*"]
  - name: ops
    password_hash: "${HASH}"
    roles: [admin]
`;
    await withFile("c.yaml", yaml, async (file) => {
      const { config } = await loadConfig(["--config", file]);
      assert.deepEqual(config.users, [
        {
          name: "orders-app",
          password: "s3cret",
          tokens: ["tok_1"],
          roles: ["publisher", "subscriber"],
          topics: ["orders", "orders.*"],
        },
        { name: "ops", passwordHash: HASH, tokens: [], roles: ["admin"], topics: [] },
      ]);
      assert.deepEqual(validateConfig(config).users, config.users, "a parsed list validates again unchanged");
    });
  });

  it("config users - no users key: auth off (users undefined); an empty list turns it on", async () => {
    assert.equal((await loadConfig([])).config.users, undefined);
    await withFile("c.yaml", "users: []\n", async (file) => {
      assert.deepEqual((await loadConfig(["--config", file])).config.users, []);
    });
  });

  it("config users - every bad entry names its place and never echoes a password", async () => {
    const cases: [string, RegExp][] = [
      ["users: {name: a}\n", /users: expected a list of users/],
      ["users: [x]\n", /users\[0\]: expected a mapping/],
      [
        "users:\n  - {name: a, password: pw1, roles: [publisher], tokenz: [x]}\n",
        /users\[0\]\.tokenz: expected no such key/,
      ],
      [
        "users:\n  - {name: a, password: pw1, roles: [owner]}\n",
        /users\[0\]\.roles\[0\]: expected one of publisher, subscriber, admin/,
      ],
      ["users:\n  - {name: a, password: pw1, roles: []}\n", /users\[0\]\.roles: expected at least one/],
      ["users:\n  - {name: a, password: pw1}\n", /users\[0\]\.roles: expected a list/],
      ["users:\n  - {name: a, roles: [admin]}\n", /users\[0\]: expected a password, a password_hash or tokens/],
      ["users:\n  - {name: 'a:b', password: pw1, roles: [admin]}\n", /users\[0\]\.name: expected a user name without/],
      [
        "users:\n  - {name: a, password: pw1, password_hash: x, roles: [admin]}\n",
        /users\[0\]\.password_hash: expected either/,
      ],
      [
        "users:\n  - {name: a, password_hash: 'scrypt$bad', roles: [admin]}\n",
        /users\[0\]\.password_hash: expected a hash of the form/,
      ],
      [
        "users:\n  - {name: a, password: pw1, roles: [admin], topics: [1]}\n",
        /users\[0\]\.topics\[0\]: expected a topic name/,
      ],
      [
        "users:\n  - {name: a, password: pw1, roles: [admin]}\n  - {name: a, password: pw2, roles: [admin]}\n",
        /users\[1\]\.name: expected a name used once/,
      ],
      [
        "users:\n  - {name: a, tokens: [pw1], roles: [admin]}\n  - {name: b, tokens: [pw1], roles: [admin]}\n",
        /users\[1\]\.tokens\[0\]: expected a token no other user has/,
      ],
    ];
    for (const [yaml, pattern] of cases) {
      await withFile("c.yaml", yaml, (file) => rejects(["--config", file], pattern, "pw1"));
    }
  });

  it("config users - no part of a password is quoted, whatever is wrong with the file", async () => {
    const secret = "Pw9xSecretPart";
    const cases: [string, string, RegExp][] = [
      // An ohpq password that starts like a hash is parsed as one: the error must not quote it.
      [
        "o.json",
        JSON.stringify({ users: [{ username: "bob", password: `scrypt$${secret}$x$y`, role: "publisher" }] }),
        /users\[0\]\.password: expected scrypt parameters of the form N=…,r=…,p=…$/,
      ],
      [
        "c.yaml",
        `users:\n  - {name: a, password_hash: 'scrypt$N=${secret}$x$y', roles: [admin]}\n`,
        /users\[0\]\.password_hash: expected scrypt parameters/,
      ],
      // Syntax errors: the parsers quote the text around the error.
      ["c.yaml", `users:\n  - name: a\n    password: ${secret}: more\n`, /not valid YAML at line 3, column \d+ \(/],
      ["c.yaml", `users:\n  - name: a\n    password: "${secret}\n    roles: [admin]\n`, /not valid YAML at line/],
      [
        "c.json",
        `{"users":[{"name":"a","password":"${secret}","roles":["admin"]]}`,
        /not valid JSON at line 1, column/,
      ],
      ["c.json", `{"users":[{"name":"a","password": ${secret}}]}`, /not valid JSON$/],
    ];
    for (const [name, text, pattern] of cases) {
      await withFile(name, text, (file) => rejects(["--config", file], pattern, secret.slice(2, 8)));
    }
  });

  it("config users - users cannot be given as a flag", async () => {
    await rejects(["--users", "x"], /unknown flag --users/);
  });

  it("config ohpq - an unchanged Oh-Please-Queue file maps ports, data dir, broker id and users", async () => {
    const json = JSON.stringify({
      broker_id: "broker1",
      port: "8080",
      http_port: "8081",
      peers: ["localhost:8082", "localhost:8083"],
      savequeuepath: "./queues",
      enable_persistence: false,
      users: [
        { username: "bob", password: "password123", role: "publisher", allowed_queues: ["myqueue"] },
        { username: "alice", password: HASH, role: "subscriber", allowed_queues: ["read_all"] },
      ],
    });
    await withFile("config.json", json, async (file, dir) => {
      const { config, notes } = await loadConfig(["--config", file]);
      assert.equal(config.ohpqPort, 8080);
      assert.equal(config.ohpqHttpPort, 8081);
      assert.equal(config.port, 7440, "the RPC port keeps its default: the file's port is the ohpq port");
      assert.equal(config.dataDir, join(dir, "queues"));
      assert.equal(config.ohpqBrokerId, "broker1");
      assert.deepEqual(config.users, [
        { name: "bob", password: "password123", tokens: [], roles: ["publisher"], topics: ["myqueue"] },
        { name: "alice", passwordHash: HASH, tokens: [], roles: ["subscriber"], topics: ["read_all"] },
      ]);
      assert.equal(notes.length, 2);
      assert.match(notes[0] ?? "", /peers localhost:8082, localhost:8083 are not used/);
      assert.match(notes[1] ?? "", /enable_persistence false is ignored: Switchyard always stores messages durably/);
      const overridden = await loadConfig(["--config", file, "--ohpq-port", "9000", "--data-dir", "/tmp/x"]);
      assert.equal(overridden.config.ohpqPort, 9000, "flags win over the file");
      assert.equal(overridden.config.dataDir, "/tmp/x");
    });
  });

  it("config ohpq - bad ohpq entries name the key", async () => {
    const bad: [object, RegExp][] = [
      [{ port: "80x", broker_id: "b" }, /port "80x": expected a port/],
      [{ peers: "localhost:1" }, /peers: expected a list of "host:port" strings/],
      [{ enable_persistence: "yes" }, /enable_persistence: expected true or false/],
      [{ users: [{ username: "bob", password: "pw1", role: "root" }] }, /users\[0\]\.role: expected one of/],
      [{ users: [{ username: "bob", role: "publisher" }] }, /users\[0\]\.password: expected a non-empty password/],
      [
        { users: [{ username: "bob", password: "pw1", role: "publisher", queues: [] }] },
        /users\[0\]\.queues: expected no such key/,
      ],
    ];
    for (const [doc, pattern] of bad) {
      await withFile("o.json", JSON.stringify(doc), (file) => rejects(["--config", file], pattern, "pw1"));
    }
  });

  it("config tls - cert and key go together; relative paths follow the config file", async () => {
    await rejects(["--tls-cert", "/tmp/c.pem"], /--tls-cert and --tls-key go together/);
    await withFile("c.yaml", "tls-cert: certs/c.pem\ntlsKey: certs/k.pem\n", async (file, dir) => {
      const { config } = await loadConfig(["--config", file]);
      assert.equal(config.tlsCert, join(dir, "certs/c.pem"));
      assert.equal(config.tlsKey, join(dir, "certs/k.pem"));
    });
  });
});
