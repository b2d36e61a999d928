/**
 * Runs a private single RabbitMQ node for the benchmark: its own epmd on a free loopback port,
 * node name `bench-<pid>-<port>@localhost`, AMQP and distribution ports, Erlang cookie (HOME),
 * config, env file and plugin list (none), with Mnesia, quorum-queue WAL and logs under the data
 * dir. Nothing of a system RabbitMQ (/etc/rabbitmq, /var/lib/rabbitmq, port 5672, epmd on 4369)
 * is used. The VM is exec'ed directly (RUNNING_UNDER_SYSTEMD), so the PID we spawn is beam.smp.
 */

import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ChannelModel, connect } from "amqplib";
import {
  canConnect,
  freePort,
  makePeerDir,
  type PeerProcess,
  removePeerDir,
  requireBinary,
  runCommand,
  spawnPeer,
  tailFile,
  waitUntil,
  withTimeout,
} from "./process.js";
import { childPids, killIfRunning, processesMatching } from "./procfs.js";

const PEER = "rabbitmq";
const RABBIT_BIN = "/usr/lib/rabbitmq/bin";
const STARTUP_TIMEOUT_MS = 90_000;

/** A running private RabbitMQ node. */
export interface RabbitNode {
  /** PID of the beam.smp process running the node. */
  readonly beamPid: number;
  readonly nodeName: string;
  readonly amqpPort: number;
  /** Opens an AMQP connection as guest (allowed on loopback), bounded to 10 s. */
  connect(): Promise<ChannelModel>;
  /** Stops the node (rabbitmqctl stop, then signals), its epmd and any leftover, and removes its data. */
  stop(): Promise<void>;
}

/** Starts a private RabbitMQ node with its data under a fresh directory in `dataDir`. */
export async function startRabbitNode(dataDir: string): Promise<RabbitNode> {
  const server = await requireBinary(PEER, `${RABBIT_BIN}/rabbitmq-server`);
  const ctl = await requireBinary(PEER, `${RABBIT_BIN}/rabbitmqctl`);
  const epmdBinary = await requireBinary(PEER, "epmd");
  const dir = await makePeerDir(dataDir, PEER);
  const [amqpPort, distPort, epmdPort] = await distinctFreePorts();
  const nodeName = `bench-${process.pid}-${amqpPort}@localhost`;
  await writeNodeFiles(dir, amqpPort);
  const env = nodeEnv(dir, nodeName, amqpPort, distPort, epmdPort);
  let epmd: PeerProcess | undefined;
  let beam: PeerProcess | undefined;
  let beamChildren: number[] = [];

  const open = (): Promise<ChannelModel> =>
    withTimeout(
      connect(
        { protocol: "amqp", hostname: "127.0.0.1", port: amqpPort, username: "guest", password: "guest" },
        // TCP_NODELAY, as ioredis and nats.js set by default (amqplib does not; Nagle adds ~40 ms stalls).
        { noDelay: true },
      ),
      10_000,
      `${PEER}: AMQP connect`,
      (late) => void late.close().catch(() => undefined),
    );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const problems: string[] = [];
      try {
        if (beam !== undefined && !beam.exited()) {
          beamChildren = [...beamChildren, ...childPids(beam.pid)];
          const result = await runCommand(ctl, ["-n", nodeName, "stop"], { env, timeoutMs: 30_000 }).catch(
            (error: unknown) => ({ code: null, output: String(error) }),
          );
          if (!(await beam.waitForExit(result.code === 0 ? 20_000 : 1_000))) await beam.stop(10_000);
        }
        await epmd?.stop(5_000);
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
      const leftovers = killIfRunning([...beamChildren, ...processesMatching(nodeName), ...processesMatching(dir)]);
      if (leftovers.length > 0) problems.push(`killed leftover pids ${leftovers.join(", ")}`);
      await removePeerDir(dir);
      if (problems.some((problem) => !problem.startsWith("killed"))) {
        throw new Error(`${PEER}: stop: ${problems.join("; ")}`);
      }
    })();
    return stopping;
  };

  try {
    epmd = await spawnPeer({
      peer: `${PEER} epmd`,
      command: epmdBinary,
      args: ["-port", String(epmdPort)],
      env,
      cwd: dir,
      logFile: join(dir, "epmd.log"),
    });
    const epmdProcess = epmd;
    await waitUntil(`${PEER} epmd`, epmdProcess, 10_000, () => canConnect(epmdPort));
    beam = await spawnPeer({
      peer: PEER,
      command: server,
      args: [],
      env,
      cwd: dir,
      logFile: join(dir, "server.log"),
    });
    const beamProcess = beam;
    await waitUntil(PEER, beamProcess, STARTUP_TIMEOUT_MS, async () => {
      if (!(await canConnect(amqpPort))) return false;
      const connection = await open();
      await connection.close();
      return true;
    });
    const pidFile = (await readFile(join(dir, "rabbit.pid"), "utf8").catch(() => "")).trim();
    if (pidFile !== "" && Number(pidFile) !== beamProcess.pid) {
      throw new Error(`${PEER}: beam.smp pid ${pidFile} differs from the spawned pid ${beamProcess.pid}`);
    }
    const comm = (await readFile(`/proc/${beamProcess.pid}/comm`, "utf8").catch(() => "")).trim();
    if (comm !== "beam.smp") throw new Error(`${PEER}: spawned pid ${beamProcess.pid} is ${comm}, not beam.smp`);
    beamChildren = childPids(beamProcess.pid);
    return { beamPid: beamProcess.pid, nodeName, amqpPort, connect: open, stop };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const log = tailFile(join(dir, "log", `${nodeName}.log`), 15);
    await stop().catch(() => undefined);
    const text = message.startsWith(PEER) ? message : `${PEER}: failed to start: ${message}`;
    throw new Error(log === "" ? text : `${text}\nnode log:\n${log}`, { cause: error });
  }
}

/** Three distinct free ports: AMQP, Erlang distribution, epmd. */
async function distinctFreePorts(): Promise<[number, number, number]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < 3 && attempt < 20; attempt++) ports.add(await freePort());
  const [amqp, dist, epmd] = [...ports];
  if (amqp === undefined || dist === undefined || epmd === undefined) throw new Error(`${PEER}: no free ports`);
  return [amqp, dist, epmd];
}

function nodeEnv(dir: string, nodeName: string, amqpPort: number, distPort: number, epmdPort: number) {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(RABBITMQ_|ERL_|NOTIFY_SOCKET$|LC_|LANG)/.test(key)) env[key] = value;
  }
  const loopbackDist = "-kernel inet_dist_use_interface {127,0,0,1}";
  return {
    ...env,
    HOME: join(dir, "home"),
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    RUNNING_UNDER_SYSTEMD: "true",
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONF_ENV_FILE: join(dir, "rabbitmq-env.conf"),
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq.conf"),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, "advanced.config"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_PID_FILE: join(dir, "rabbit.pid"),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: loopbackDist,
    RABBITMQ_CTL_ERL_ARGS: loopbackDist,
  };
}

async function writeNodeFiles(dir: string, amqpPort: number): Promise<void> {
  await mkdir(join(dir, "home"), { recursive: true });
  await writeFile(join(dir, "home", ".erlang.cookie"), randomBytes(24).toString("hex").toUpperCase(), {
    mode: 0o400,
  });
  await writeFile(join(dir, "enabled_plugins"), "[].\n");
  await writeFile(join(dir, "rabbitmq-env.conf"), "");
  const config = [`listeners.tcp.default = 127.0.0.1:${amqpPort}`, "log.console = false", "log.file.level = info"];
  await writeFile(join(dir, "rabbitmq.conf"), `${config.join("\n")}\n`);
}
