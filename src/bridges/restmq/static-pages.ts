import type { Handler } from "./call.js";
import { HttpError, send } from "./http-io.js";

/**
 * The two pages RestMQ's redirects point at (`GET /` → `/static/index.html`, `GET /queue` →
 * `/static/help.html`). RestMQ shipped its own; these are short pages of the bridge's own that
 * say what the port offers. Everything else under `/static/` is 404.
 */
const PAGES: Readonly<Record<string, string>> = {
  "index.html": `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>RestMQ (Switchyard bridge)</title></head>
<body>
<h1>RestMQ on Switchyard</h1>
<p>This port speaks RestMQ's HTTP protocol on the Switchyard broker.</p>
<ul>
<li><code>POST /q/&lt;queue&gt;</code> with <code>value=…</code> adds an element; <code>GET /q/&lt;queue&gt;</code> takes the oldest; <code>DELETE /q/&lt;queue&gt;</code> empties the queue.</li>
<li><code>POST /queue</code> with <code>body={"cmd": "add"|"get"|"take"|"del", …}</code>: the JSON protocol (<a href="/static/help.html">help</a>).</li>
<li><code>GET /c/&lt;queue&gt;</code> (comet) and <code>/ws/&lt;queue&gt;</code> (websocket): live consumers.</li>
<li><code>/p/&lt;queue&gt;</code> policy, <code>/control/&lt;queue&gt;</code> start/stop, <code>/stats/</code> statistics, <a href="/q/">queue list</a>.</li>
</ul>
</body></html>
`,
  "help.html": `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>RestMQ JSON protocol</title></head>
<body>
<h1>The JSON protocol</h1>
<p>POST a JSON document to <code>/queue</code> in the form field <code>body</code>, for example
<code>curl -d 'body={"cmd":"add","queue":"jobs","value":"hello"}' http://host:8888/queue</code>.</p>
<ul>
<li><code>{"cmd": "add", "queue": Q, "value": V}</code> adds V: <code>{"queue": Q, "value": V, "key": "Q:n"}</code></li>
<li><code>{"cmd": "get", "queue": Q}</code> reads the oldest element and leaves it; <code>count</code> says how often it was read.</li>
<li><code>{"cmd": "take", "queue": Q}</code> takes the oldest element off the queue.</li>
<li><code>{"cmd": "del", "queue": Q, "key": K}</code> deletes the element K.</li>
</ul>
</body></html>
`,
};

/** `GET /static/<file>`. */
export const staticGet: Handler = async (_ctx, call) => {
  const page = Object.hasOwn(PAGES, call.name) ? PAGES[call.name] : undefined;
  if (page === undefined) throw new HttpError(404);
  send(call.req, call.res, 200, page);
};
