/**
 * The HTTP bridges as doors of the permission matrix (auth-matrix.ts): OPQ (push, replay), RestMQ
 * REST (add, take, /stats/), RestMQ comet and RestMQ websocket (live consumers), GopherMQ
 * (publish, fetch). Each speaks its
 * own dialect with the broker's users: HTTP Basic or a bearer token, the `auth=user:password`
 * cookie on websockets.
 */
import { WebSocket } from "ws";
import type { Credentials, Door, Outcome } from "./auth-matrix.js";
import { MATRIX_QUEUES } from "./auth-matrix.js";
import type { TestClients } from "./clients.js";
import { rawRequest as httpRequest } from "./http-raw.js";
import { opqForm } from "./opq-client.js";
import { form, rawRequest } from "./raw-http.js";
import { bridgeMetric, openComet, waitUntil } from "./restmq-live.js";
import type { TestServer } from "./start-test-server.js";
import { startWebhookTarget, type WebhookTarget } from "./webhook-target.js";

/** The `Authorization` header of some credentials (none for nobody). */
function authorization(creds: Credentials): Record<string, string> {
  if (creds === undefined) return {};
  if ("token" in creds) return { Authorization: `Bearer ${creds.token}` };
  return { Authorization: `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString("base64")}` };
}

/** Fails on an answer no case expects. */
function unexpected(door: string, status: number, body: string): never {
  throw new Error(`${door}: unexpected answer ${status} ${JSON.stringify(body)}`);
}

/**
 * The OPQ bridge: `POST /opq/push` (publish) and `POST /opq/replay` (a Seek). Its queues are OPQ
 * topics, made by a first push of a user who may publish everywhere, delivering to a local
 * target. After each case the door waits until every delivery is done, so the broker's state
 * holds still while the next case runs.
 */
export function opqDoor(): Door {
  let target: WebhookTarget | undefined;
  let adminClients: TestClients | undefined;
  const delivered = () =>
    waitUntil(async () => {
      const { subscriptions } = (await adminClients?.admin.getStats({ topics: MATRIX_QUEUES })) ?? {
        subscriptions: [],
      };
      return subscriptions.every((s) => s.backlog === 0n);
    }, "every OPQ delivery done");
  return {
    name: "opq",
    operations: new Set(["publish", "seek"]),
    tokens: true,
    async prepare(server, admin) {
      adminClients = admin;
      target = await startWebhookTarget();
      const opq = `http://${server.addresses.opq}`;
      const both = authorization({ user: "both", password: "both-pw" });
      for (const topic of MATRIX_QUEUES) {
        const fields: [string, string][] = [
          ["topic", topic],
          ["url", target.url("/matrix")],
        ];
        const a = await opqForm(opq, "/opq/push", fields, Object.entries(both));
        if (a.status !== 201) unexpected("opq prepare", a.status, a.body);
      }
      await delivered();
    },
    async close() {
      await target?.close();
    },
    async run(server, creds, op) {
      const opq = `http://${server.addresses.opq}`;
      const headers = Object.entries(authorization(creds));
      let a: Awaited<ReturnType<typeof opqForm>>;
      if (op.kind === "publish") {
        const fields: [string, string][] = [
          ["topic", op.topic],
          ["url", target?.url("/matrix") ?? ""],
          ["message", "matrix"],
        ];
        a = await opqForm(opq, "/opq/push", fields, headers);
      } else if (op.kind === "seek") {
        const fields: [string, string][] = [
          ["topic", op.queue],
          ["cmd", "0"],
        ];
        a = await opqForm(opq, "/opq/replay", fields, headers);
      } else throw new Error(`opq cannot ${op.kind}`);
      if (a.status === 201 && a.body === "success") {
        await delivered();
        return "ok";
      }
      if (a.status === 401 && a.body.startsWith("Unauthorized: ")) return "unauthenticated";
      if (a.status === 403 && a.body.startsWith("Forbidden: ")) return "denied";
      return unexpected("opq", a.status, a.body);
    },
  };
}

/** RestMQ answers both refusals 401 with a Basic challenge (it had no 403; docs/restmq.md). */
function restmqOutcome(door: string, status: number, body: Buffer, okStatuses: number[]): Outcome {
  if (okStatuses.includes(status)) return "ok";
  if (status === 401) return "refused";
  return unexpected(door, status, body.toString());
}

/** RestMQ over REST: `POST /q/<queue>` (add), `GET /q/<queue>` (take), `GET /stats/` (every queue: admin). */
export function restmqRestDoor(): Door {
  return {
    name: "restmq REST",
    operations: new Set(["publish", "consume", "admin"]),
    tokens: true,
    async run(server, creds, op) {
      const address = server.addresses.restmq as string;
      const headers = authorization(creds);
      switch (op.kind) {
        case "publish": {
          const f = form("value=matrix");
          const r = await rawRequest(address, "POST", `/q/${op.topic}`, {
            ...f,
            headers: { ...f.headers, ...headers },
          });
          return restmqOutcome("restmq REST", r.status, r.body, [200]);
        }
        case "consume": {
          const r = await rawRequest(address, "GET", `/q/${op.queue}`, { headers });
          return restmqOutcome("restmq REST", r.status, r.body, [200, 204]);
        }
        case "admin": {
          const r = await rawRequest(address, "GET", "/stats/", { headers });
          return restmqOutcome("restmq REST", r.status, r.body, [200]);
        }
        default:
          throw new Error(`restmq REST cannot ${op.kind}`);
      }
    },
  };
}

const liveConsumers = (server: TestServer) =>
  bridgeMetric(server.baseUrl, "switchyard_bridge_connections", 'bridge="restmq"');

/**
 * RestMQ's comet consumer (`GET /c/<queue>`): let in, it is attached as a live consumer (the
 * bridge's connection gauge rises; its headers come only with a first element); refused, 401.
 * The stream is closed and the door waits until the consumer is gone.
 */
export function restmqCometDoor(): Door {
  return {
    name: "restmq comet",
    operations: new Set(["consume"]),
    tokens: true,
    minCases: 10,
    async run(server, creds, op) {
      if (op.kind !== "consume") throw new Error(`restmq comet cannot ${op.kind}`);
      const address = server.addresses.restmq as string;
      const comet = openComet(address, `/c/${op.queue}`, authorization(creds));
      try {
        await waitUntil(
          async () => comet.response() !== undefined || (await liveConsumers(server)) > 0,
          "the comet consumer attached or answered",
        );
        const status = comet.response()?.statusCode;
        if (status === undefined || status === 200) return "ok";
        return restmqOutcome("restmq comet", status, Buffer.alloc(0), []);
      } finally {
        comet.close();
        await waitUntil(async () => (await liveConsumers(server)) === 0, "the comet consumer has gone");
      }
    },
  };
}

/**
 * RestMQ's websocket consumer (`/ws/<queue>`), logged in with the `auth=user:password` cookie:
 * let in, the handshake completes; refused, it is answered 401. The socket is closed and the door
 * waits until the consumer is gone.
 */
export function restmqWsDoor(): Door {
  return {
    name: "restmq websocket",
    operations: new Set(["consume"]),
    tokens: false,
    minCases: 9,
    async run(server, creds, op) {
      if (op.kind !== "consume") throw new Error(`restmq websocket cannot ${op.kind}`);
      if (creds !== undefined && "token" in creds) throw new Error("websockets log in with a password");
      const address = server.addresses.restmq as string;
      const headers: Record<string, string> = creds ? { Cookie: `auth=${creds.user}:${creds.password}` } : {};
      const ws = new WebSocket(`ws://${address}/ws/${op.queue}`, { headers, perMessageDeflate: false });
      const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
      ws.on("error", () => {}); // a refused or aborted handshake; the outcome comes from the events below
      try {
        return await new Promise<Outcome>((resolve, reject) => {
          ws.once("open", () => resolve("ok"));
          ws.once("unexpected-response", (_req, res) => {
            res.resume();
            try {
              resolve(restmqOutcome("restmq websocket", res.statusCode ?? 0, Buffer.alloc(0), []));
            } catch (e) {
              reject(e);
            }
          });
          ws.once("error", reject);
        });
      } finally {
        ws.terminate();
        await closed;
        await waitUntil(async () => (await liveConsumers(server)) === 0, "the websocket consumer has gone");
      }
    },
  };
}

/**
 * GopherMQ: `POST /api/publish` and `POST /api/fetch` (with the id of a subscriber made for each
 * queue by a user who may consume everywhere). Echo's answers: 401 `Unauthorized`, 403 `Forbidden`.
 */
export function gophermqDoor(): Door {
  const ids = new Map<string, string>();
  let adminClients: TestClients | undefined;
  const post = (server: TestServer, path: string, value: unknown, headers: Record<string, string>) =>
    httpRequest(`http://${server.addresses.gophermq}${path}`, {
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(value),
    });
  return {
    name: "gophermq",
    operations: new Set(["publish", "consume"]),
    tokens: true,
    async prepare(server, admin) {
      adminClients = admin;
      const both = authorization({ user: "both", password: "both-pw" });
      for (const name of MATRIX_QUEUES) {
        await admin.admin.createTopic({ name, queue: true });
        const r = await post(server, "/api/subscribe", { subject: name }, both);
        if (r.status !== 200) unexpected("gophermq prepare", r.status, r.text);
        ids.set(name, (JSON.parse(r.text) as { id: string }).id);
      }
    },
    async run(server, creds, op) {
      const headers = authorization(creds);
      let r: Awaited<ReturnType<typeof httpRequest>>;
      if (op.kind === "publish") r = await post(server, "/api/publish", { subject: op.topic, data: "matrix" }, headers);
      else if (op.kind === "consume") {
        r = await post(server, "/api/fetch", { subject: op.queue, id: ids.get(op.queue) ?? "" }, headers);
      } else throw new Error(`gophermq cannot ${op.kind}`);
      if (r.status === 200) {
        // A fetch acks what it took once its answer is out: wait for that, so the next case starts quiet.
        const subscription = `gophermq-${op.kind === "consume" ? ids.get(op.queue) : ""}`;
        await waitUntil(async () => {
          const stats = await adminClients?.admin.getStats({ topics: [op.kind === "consume" ? op.queue : op.topic] });
          return (stats?.subscriptions ?? []).every((x) => x.name !== subscription || x.inFlight === 0n);
        }, "the fetch's acks");
        return "ok";
      }
      if (r.status === 401 && r.text === '{"message":"Unauthorized"}\n') return "unauthenticated";
      if (r.status === 403 && r.text === '{"message":"Forbidden"}\n') return "denied";
      return unexpected("gophermq", r.status, r.text);
    },
  };
}
