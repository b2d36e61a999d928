/**
 * The TCP bridges as doors of the permission matrix (auth-matrix.ts): okQ (RESP: AUTH, QLPUSH,
 * QRPOP, QFLUSH) and the ohpq text protocol (AUTH, PUB, GET), plain or over TLS.
 */
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import type { Door, Outcome } from "./auth-matrix.js";

/** Reads one RESP reply (simple, error, integer, bulk, array) and returns its first line. */
async function readReply(socket: Duplex, buffered: { data: Buffer }): Promise<string> {
  const complete = (b: Buffer, at: number): number | undefined => {
    const eol = b.indexOf("\r\n", at);
    if (eol < 0) return undefined;
    const type = String.fromCharCode(b[at] as number);
    const n = Number(b.subarray(at + 1, eol).toString("latin1"));
    if (type === "$") return n < 0 ? eol + 2 : b.length >= eol + 4 + n ? eol + 4 + n : undefined;
    if (type === "*") {
      let pos: number | undefined = eol + 2;
      for (let i = 0; i < n && pos !== undefined; i++) pos = complete(b, pos);
      return pos;
    }
    return eol + 2;
  };
  for (;;) {
    const end = complete(buffered.data, 0);
    if (end !== undefined && buffered.data.length > 0) {
      const line = buffered.data.subarray(0, buffered.data.indexOf("\r\n")).toString("utf8");
      buffered.data = buffered.data.subarray(end);
      return line;
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no RESP reply within 5 s")), 5_000);
      socket.once("data", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** What a RESP answer means in the matrix; fails on an answer no case expects. */
function respOutcome(line: string): Outcome {
  if (line.startsWith("-NOAUTH ") || line.startsWith("-WRONGPASS ")) return "unauthenticated";
  if (line.startsWith("-NOPERM ")) return "denied";
  if (line.startsWith("-")) throw new Error(`unexpected RESP error: ${line}`);
  return "ok";
}

/** The okQ bridge (RESP): AUTH, then QLPUSH / QRPOP / QFLUSH. */
export function respDoor(tlsCa?: string): Door {
  return {
    name: `resp${tlsCa ? " over TLS" : ""}`,
    operations: new Set(["publish", "consume", "admin"]),
    tokens: false,
    async run(server, creds, op) {
      const { host, port } = server.okq as { host: string; port: number };
      const socket: net.Socket = tlsCa ? tls.connect({ host, port, ca: tlsCa }) : net.connect({ host, port });
      await new Promise<void>((resolve, reject) => {
        socket.once(tlsCa ? "secureConnect" : "connect", resolve);
        socket.once("error", reject);
      });
      const buffered = { data: Buffer.alloc(0) };
      socket.on("data", (chunk: Buffer) => {
        buffered.data = Buffer.concat([buffered.data, chunk]);
      });
      const send = async (...args: string[]) => {
        socket.write(encodeCommand(args));
        return readReply(socket, buffered);
      };
      try {
        if (creds && "user" in creds) {
          const reply = await send("AUTH", creds.user, creds.password);
          if (reply !== "+OK") return respOutcome(reply);
        }
        switch (op.kind) {
          case "publish":
            return respOutcome(await send("QLPUSH", op.topic, `id-${Math.random()}`, "x"));
          case "consume":
            return respOutcome(await send("QRPOP", op.queue, "EX", "0"));
          case "admin":
            return respOutcome(await send("QFLUSH", "orders"));
          default:
            throw new Error(`resp cannot ${op.kind}`);
        }
      } finally {
        socket.destroy();
      }
    },
  };
}

/** Reads one `\n`-terminated line (within 5 s). */
async function readLine(socket: Duplex, buffered: { data: Buffer }): Promise<string> {
  for (;;) {
    const nl = buffered.data.indexOf(0x0a);
    if (nl >= 0) {
      const line = buffered.data.subarray(0, nl).toString("utf8");
      buffered.data = buffered.data.subarray(nl + 1);
      return line;
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no ohpq line within 5 s")), 5_000);
      socket.once("data", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** What an ohpq answer line means in the matrix (README "Oh, Please Queue" bridge). */
function ohpqOutcome(line: string): Outcome {
  if (line === "ERROR not authenticated" || line === "ERROR authentication failed") return "unauthenticated";
  if (line === "ERROR permission denied") return "denied";
  if (line.startsWith("ERROR")) throw new Error(`unexpected ohpq error: ${line}`);
  return "ok";
}

/** The "Oh, Please Queue" text bridge: AUTH, then PUB / GET (it has no admin command). */
export function ohpqDoor(tlsCa?: string): Door {
  return {
    name: `ohpq text${tlsCa ? " over TLS" : ""}`,
    operations: new Set(["publish", "consume"]),
    tokens: false,
    async run(server, creds, op) {
      const address = server.addresses.ohpq as string;
      const i = address.lastIndexOf(":");
      const target = { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
      const socket: net.Socket = tlsCa ? tls.connect({ ...target, ca: tlsCa }) : net.connect(target);
      await new Promise<void>((resolve, reject) => {
        socket.once(tlsCa ? "secureConnect" : "connect", resolve);
        socket.once("error", reject);
      });
      const buffered = { data: Buffer.alloc(0) };
      socket.on("data", (chunk: Buffer) => {
        buffered.data = Buffer.concat([buffered.data, chunk]);
      });
      const send = (line: string) => {
        socket.write(`${line}\n`);
        return readLine(socket, buffered);
      };
      try {
        if (creds && "user" in creds) {
          const reply = await send(`AUTH ${creds.user} ${creds.password}`);
          if (reply !== "OK authenticated") return ohpqOutcome(reply);
        }
        switch (op.kind) {
          case "publish":
            return ohpqOutcome(await send(`PUB ${op.topic} matrix message`));
          case "consume":
            return ohpqOutcome(await send(`GET ${op.queue}`));
          default:
            throw new Error(`ohpq cannot ${op.kind}`);
        }
      } finally {
        socket.destroy();
      }
    },
  };
}
