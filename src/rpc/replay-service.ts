import type { ServiceImpl } from "@connectrpc/connect";
import type { ReplayService } from "../../gen/switchyard/v1/replay_pb.js";
import { BrokerError } from "../errors/index.js";
import type { Logger } from "../util/index.js";
import { mapErrors, toConnectError } from "./to-connect-error.js";

const notYet = (rpc: string) => new BrokerError("UNIMPLEMENTED", `${rpc} is not implemented yet`);

/** ReplayService: every RPC answers UNIMPLEMENTED until replay lands. */
export function replayService(logger: Logger): ServiceImpl<typeof ReplayService> {
  const fail = (rpc: string) =>
    mapErrors(logger, async (): Promise<never> => {
      throw notYet(rpc);
    });
  return {
    seek: fail("Seek"),
    // biome-ignore lint/correctness/useYield: answers UNIMPLEMENTED until replay lands
    read: async function* () {
      throw toConnectError(notYet("Read"), logger);
    },
    createSnapshot: fail("CreateSnapshot"),
    listSnapshots: fail("ListSnapshots"),
    deleteSnapshot: fail("DeleteSnapshot"),
  };
}
