/** Facts about the machine for the results file (`nproc`, memory, CPU model, Node version). */
import { cpus, totalmem } from "node:os";

/** What the results were measured on. */
export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  memTotalGiB: number;
  node: string;
  platform: string;
}

/** The current machine. */
export function machineFacts(): MachineFacts {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memTotalGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}
