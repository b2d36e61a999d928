import type { WebSocket } from "ws";
import type { BrokerClients } from "../../bridge.js";
import { type ConsumerBounds, type EndReason, LiveConsumer, type LiveElement } from "./consumer.js";

/**
 * A websocket consumer (`/ws/<queue>`, docs/restmq.md): one text frame per element with
 * `{"key": …, "value": …}` (no CRLF), and every frame the client sends is sent back as it came.
 * Echoes count against the same output bound as elements, so a client that sends without
 * reading is dropped like any slow consumer. DELETE of the queue sends a last `null` frame and
 * closes (1000); shutdown closes with 1001.
 */
export class WebsocketConsumer extends LiveConsumer {
  constructor(
    queue: string,
    clients: BrokerClients,
    bounds: ConsumerBounds,
    private readonly ws: WebSocket,
  ) {
    super(queue, clients, bounds);
    ws.once("close", () => this.end("gone"));
    ws.on("error", () => this.end("gone"));
    ws.on("message", (data, isBinary) => this.echo(data as Buffer | Buffer[] | ArrayBuffer, isBinary));
  }

  private echo(data: Buffer | Buffer[] | ArrayBuffer, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    const flushed = this.reserve(bytes.length);
    if (!flushed) return;
    this.ws.send(bytes, { binary: isBinary }, () => flushed());
  }

  protected frame(element: LiveElement): string {
    return element.json;
  }

  protected transmit(frame: string, flushed: () => void): void {
    this.ws.send(frame, () => flushed());
  }

  protected close(reason: EndReason): void {
    switch (reason) {
      case "purged":
        if (this.ws.readyState === this.ws.OPEN) this.ws.send("null");
        this.ws.close(1000);
        return;
      case "shutdown":
        this.ws.close(1001, "server shutting down");
        return;
      case "denied":
        this.ws.close(1008, "not allowed to read this queue");
        return;
      case "slow":
        // Its socket does not drain: a close frame would never get through.
        this.ws.terminate();
        return;
      case "gone":
        this.ws.terminate();
        return;
    }
  }
}
