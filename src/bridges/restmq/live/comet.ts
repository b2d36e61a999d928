import type { Writable } from "node:stream";
import type { BrokerClients } from "../../bridge.js";
import { errorPage, HTML, PLAIN, type Response, SERVER } from "../http-io.js";
import { type ConsumerBounds, type EndReason, LiveConsumer, type LiveElement } from "./consumer.js";

/**
 * A comet consumer (`GET /c/<queue>`, docs/restmq.md): a long GET that gets no bytes, not even
 * headers, until its first element; then `200 text/plain`, chunked on HTTP/1.1 (a plain stream
 * until close on HTTP/1.0), one `{"key": …, "value": …}\r\n` per element, or `cb({…});\r\n` with a
 * JSONP callback. DELETE of the queue ends it with a last `null\r\n`.
 */
export class CometConsumer extends LiveConsumer {
  private started = false;

  constructor(
    queue: string,
    clients: BrokerClients,
    bounds: ConsumerBounds,
    private readonly res: Response,
    private readonly callback: string | undefined,
  ) {
    super(queue, clients, bounds);
    res.once("close", () => this.end("gone"));
  }

  protected frame(element: LiveElement): string {
    return this.line(element.json);
  }

  private line(json: string): string {
    return this.callback === undefined ? `${json}\r\n` : `${this.callback}(${json});\r\n`;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { "Content-Type": PLAIN, Server: SERVER });
  }

  protected transmit(frame: string, flushed: () => void): void {
    this.start();
    (this.res as Writable).write(frame, () => flushed());
  }

  protected close(reason: EndReason): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    switch (reason) {
      case "purged":
        // RestMQ's DELETE finished every consumer with json_encode(None).
        this.start();
        this.res.end(this.line("null"));
        return;
      case "shutdown":
      case "denied": {
        if (this.started) {
          this.res.end();
          return;
        }
        const status = reason === "shutdown" ? 503 : 401;
        this.res.writeHead(status, { "Content-Type": HTML, Server: SERVER });
        this.res.end(errorPage(status));
        return;
      }
      case "slow":
      case "gone":
        this.res.destroy();
        return;
    }
  }
}
