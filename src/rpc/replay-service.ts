import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ReadRequest, ReplayService, SeekRequest, SnapshotSchema } from "../../gen/switchyard/v1/replay_pb.js";
import type { Broker, ReadFrom, SeekTarget, SnapshotInfo } from "../core/index.js";
import { invalidArgument } from "../errors/index.js";
import type { Logger } from "../util/index.js";
import { message, toMs, toNumber } from "./convert.js";
import { mapErrors, toConnectError } from "./to-connect-error.js";

function seekTarget(req: SeekRequest): SeekTarget {
  switch (req.target.case) {
    case "seq":
      return { kind: "seq", seq: toNumber(req.target.value, "seq") };
    case "time":
      return { kind: "time", timeMs: toMs(req.target.value, "time") };
    case "snapshot":
      return { kind: "snapshot", name: req.target.value };
    default:
      throw invalidArgument("a Seek needs a target: seq, time or snapshot", "target");
  }
}

/** Where a Read starts; unset: the start of the log. */
function readFrom(req: ReadRequest): ReadFrom {
  switch (req.from.case) {
    case "fromSeq":
      return { kind: "seq", seq: toNumber(req.from.value, "from_seq") };
    case "fromTime":
      return { kind: "time", timeMs: toMs(req.from.value, "from_time") };
    default:
      return { kind: "seq", seq: 1 };
  }
}

function snapshot(s: SnapshotInfo): MessageInitShape<typeof SnapshotSchema> {
  return {
    name: s.name,
    subscription: s.subscription,
    topic: s.topic,
    createTime: timestampFromMs(s.createTimeMs),
    lastSeq: BigInt(s.lastSeq),
    messages: BigInt(s.messages),
  };
}

/** ReplayService on the broker core. */
export function replayService(broker: Broker, logger: Logger): ServiceImpl<typeof ReplayService> {
  return {
    seek: mapErrors(logger, async (req) => {
      await broker.seek(req.subscription, seekTarget(req));
      return {};
    }),
    read: async function* (req, ctx) {
      try {
        const request = { topic: req.topic, from: readFrom(req), follow: req.follow, maxMessages: req.maxMessages };
        // connect-node awaits each write (and 'drain') between yields: a slow reader pauses the
        // core generator, which holds one batch at most.
        for await (const batch of broker.read(request, ctx.signal)) yield { messages: batch.map(message) };
      } catch (e) {
        throw toConnectError(e, logger);
      }
    },
    createSnapshot: mapErrors(logger, async (req) => ({
      snapshot: snapshot(await broker.createSnapshot(req.name, req.subscription)),
    })),
    listSnapshots: mapErrors(logger, async (req) => {
      const page = await broker.listSnapshots(req.subscription, req.pageSize, req.pageToken);
      return { snapshots: page.items.map(snapshot), nextPageToken: page.nextPageToken };
    }),
    deleteSnapshot: mapErrors(logger, async (req) => {
      await broker.deleteSnapshot(req.name);
      return {};
    }),
  };
}
