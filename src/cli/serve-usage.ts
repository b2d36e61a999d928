import { DEFAULT_CONFIG } from "../config/index.js";
import { BROKER_HEAP_GROWING_PERCENT } from "./heap-growth.js";

const d = DEFAULT_CONFIG;

/** The text of `switchyard serve --help` (and `switchyard help serve`). */
export const SERVE_USAGE = `Usage: switchyard serve [flags]

Runs the Switchyard broker: the Protobuf API (Connect, gRPC, gRPC-web) plus /metrics and
/healthz on one port, and the legacy bridges on theirs. When every listener is up it prints
one line to stdout, e.g.  switchyard ready {"rpc":"127.0.0.1:7440","auth":"off"}  with the
bound address of each listener that is on ("auth":"off" when no users are configured).
Logs go to stderr. SIGINT/SIGTERM shut down gracefully (exit 0); a second signal exits at
once (exit 1). SIGHUP reloads the TLS certificate and key. Startup errors exit 1.

Flags (a config file may set the same; flags win over it):
  --config FILE                 JSON or YAML file with settings (keys: dataDir or data-dir, ...;
                                users only here; an Oh-Please-Queue config file works as is)
  --data-dir DIR                data directory (default ${d.dataDir})
  --host ADDR                   address every listener binds to (default ${d.host})
  --port N                      RPC port (default ${d.port}; 0 picks a free port)
  --okq-port N|off              okQ (RESP) bridge (default ${d.okqPort})
  --opq-port N|off              OPQ (HTTP form post) bridge (default ${d.opqPort})
  --restmq-port N|off           RestMQ bridge (default ${d.restmqPort})
  --ohpq-port N|off             "Oh, Please Queue" text TCP bridge (default ${d.ohpqPort})
  --ohpq-http-port N|off        "Oh, Please Queue" HTTP interface (default ${d.ohpqHttpPort})
  --gophermq-port N|off         GopherMQ bridge (default ${d.gophermqPort})
  --gophermq-metrics-port N|off GopherMQ metrics (default ${d.gophermqMetricsPort})
  --gophermq-max-pending N      GopherMQ publishes get 429 while a subject has more than N
                                pending messages (default ${d.gophermqMaxPending})
  --gophermq-idle-expiry-ms N   a GopherMQ subscriber unused this long is deleted (default ${d.gophermqIdleExpiryMs})
  --gophermq-max-subscribers N  live GopherMQ subscribers at once; more get 429 (default ${d.gophermqMaxSubscribers})
  --metrics-max-topics N        topics with their own label in /metrics; later ones are
                                counted with an empty topic label (default ${d.metricsMaxTopics})
  --metrics-max-subscriptions N subscriptions with their own label in /metrics (default ${d.metricsMaxSubscriptions})
  --durability MODE             flush (synced to disk), commit (the same on LMDB) or none (default ${d.durability})
  --ack-commit-delay-ms N       while Publishes come often, an Ack waits up to N ms to share the
                                next one's synced transaction; 0: never (default ${d.ackCommitDelayMs})
  --commit-delay-ms N           while Publishes come often, one that finds no commit in flight
                                waits up to N ms for the ones behind it to share its
                                transaction; 0: never (default ${d.commitDelayMs})
  --min-free-disk SIZE|N%       publishes are refused while the data directory's disk has
                                less free space (bytes, e.g. 2GiB, or a percentage; 0: no
                                floor; default 1GiB or 5%, whichever is smaller)
  --max-store-bytes SIZE        most the store's data file may use for publishes (e.g. 50GiB;
                                at least 16MiB; 0: no cap, the default): publishes are refused
                                as on a full disk when less than the floor is left under it
  --max-message-bytes N         largest message, data plus attributes (default ${d.maxMessageBytes})
  --shutdown-grace-ms N         how long shutdown waits for in-flight calls (default ${d.shutdownGraceMs})
  --log-level LEVEL             debug, info, warn, error or silent (default ${d.logLevel})
  --log-format FORMAT           json (one object per line), pretty, or auto: pretty when
                                stderr is a terminal, else json (default ${d.logFormat})
  --push-allowed-hosts LIST     hosts push subscriptions may deliver to, comma-separated
                                (host, host:port, *.domain; default: any host)
  --okq-qstatus FORMAT          okQ QSTATUS replies: string or nested (default ${d.okqQstatus})
  --okq-idle-timeout-ms N       close okQ connections silent for N ms with no command running
                                (default ${d.okqIdleTimeoutMs}; 0: never)
  --okq-max-connections N       most open okQ connections (default ${d.okqMaxConnections})
  --okq-max-pending-bytes-total N  command bytes okQ reads ahead across connections
                                (default ${d.okqMaxPendingBytesTotal})
  --tls-cert FILE               PEM certificate chain: TLS on the RPC port and the TCP bridges
                                (reloaded on SIGHUP)
  --tls-key FILE                PEM private key of --tls-cert (both or neither)
  --ohpq-broker-id ID           broker_id on the ohpq HTTP /status (default ${d.ohpqBrokerId})
  --ohpq-max-line-bytes N       longest ohpq command line (default ${d.ohpqMaxLineBytes})
  --ohpq-ack-timeout-ms N       ohpq pending messages go back after N ms without ACK
                                (default ${d.ohpqAckTimeoutMs}: never)
  --ohpq-idle-timeout-ms N      close ohpq connections silent for N ms, unless subscribed or
                                holding a pending message (default ${d.ohpqIdleTimeoutMs}; 0: never)
  --ohpq-max-connections N      most open ohpq connections (default ${d.ohpqMaxConnections})
  --opq-any-response            OPQ: any HTTP answer counts as delivered (default: a 5xx is retried)
  --opq-max-attempts N          OPQ: attempts before a message is dead-lettered (default 0: unlimited)
  --opq-dead-letter-topic NAME  OPQ: where dead letters go (default ${d.opqDeadLetterTopic})
  --opq-timeout-ms N            OPQ: time limit of one delivery attempt (default ${d.opqTimeoutMs})
  --opq-retain-ms N             OPQ: how long delivered messages stay for replay (default ${d.opqRetainMs})
  --restmq-numeric-values MODE  RestMQ values that look like numbers come back as number
                                (as RestMQ did) or string (default ${d.restmqNumericValues})
  --restmq-hosts-allow LIST     address prefixes the RestMQ bridge lets in, comma-separated
  --restmq-hosts-deny LIST      address prefixes the RestMQ bridge refuses (401)
  --restmq-max-consumer-buffer-bytes N
                                unsent output a RestMQ comet/websocket consumer may hold before
                                it is dropped as too slow (default ${d.restmqMaxConsumerBufferBytes})
  --lean-rpc on|off             lean HTTP/2 path for Publish, Pull, Ack, Nack, ModifyAckDeadline
                                (default ${d.leanRpc}; off sends every call through connect-node)
  --rpc-max-connections N       RPC port: most connections at once (default ${d.rpcMaxConnections})
  --opq-max-connections N       OPQ port: most connections at once (default ${d.opqMaxConnections})
  --restmq-max-connections N    RestMQ port: most connections, live consumers included (default ${d.restmqMaxConnections})
  --gophermq-max-connections N  GopherMQ port: most connections at once (default ${d.gophermqMaxConnections})
  --ohpq-http-max-connections N ohpq HTTP port: most connections at once (default ${d.ohpqHttpMaxConnections})
  --rpc-max-request-bytes-in-flight N
                                RPC port: most request bytes being read at once, all connections
                                (default ${d.rpcMaxRequestBytesInFlight}; past it calls fail SERVER_BUSY;
                                one client address, or IPv6 /64, may hold at most half of it)
  --http-headers-timeout-ms N   every HTTP port (RPC and bridges), HTTP/1.1: time to send request
                                headers (default ${d.httpHeadersTimeoutMs})
  --http-request-timeout-ms N   every HTTP port: time to send a whole request (HTTP/1.1) or request
                                body (HTTP/2: the stream is reset) (default ${d.httpRequestTimeoutMs})
  --http2-idle-timeout-ms N     every HTTP port, HTTP/2: close sessions idle this long, 0 never (default ${d.http2IdleTimeoutMs})
  --http2-max-concurrent-streams N
                                every HTTP port, HTTP/2: open streams per session (default ${d.http2MaxConcurrentStreams})
  --http2-max-open-streams N    every HTTP port, HTTP/2: open streams across all of its sessions;
                                new ones are refused past it (default ${d.http2MaxOpenStreams})
  --http2-max-session-memory-mb N
                                every HTTP port, HTTP/2: buffer limit per session in MiB (default ${d.http2MaxSessionMemoryMb})
  -h, --help                    print this help

Auth is on when the config file defines users (README "Auth and TLS"):
  users:
    - name: orders-app
      password_hash: "scrypt$..."    # from: switchyard hash-password (or password: plain)
      tokens: ["tok_..."]            # bearer tokens for Connect, gRPC, gRPC-web
      roles: [publisher, subscriber] # publisher, subscriber, admin
      topics: ["orders", "orders.*"] # names, * patterns, read_all

Memory: serve sets V8's --heap-growing-percent to ${BROKER_HEAP_GROWING_PERCENT} for its own process (the heap may grow to
3 times what a full collection left alive, where V8's own factor goes up to 4); to choose,
start node with it: node --heap-growing-percent=N bin/switchyard.js serve (0: V8's own).
The store's data file is read through a memory map: its pages count in RSS as file pages
(RssFile in /proc/PID/status), which the kernel can reclaim.

Of the bridges okQ, OPQ, RestMQ, "Oh, Please Queue" (ohpq, ohpq-http) and GopherMQ (gophermq,
gophermq-metrics) are built: the other bridge flags are accepted and checked, and the ready
line lists only listeners that exist.
`;
