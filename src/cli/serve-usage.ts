import { DEFAULT_CONFIG } from "../config/index.js";

const d = DEFAULT_CONFIG;

/** The text of `switchyard serve --help` (and `switchyard help serve`). */
export const SERVE_USAGE = `Usage: switchyard serve [flags]

Runs the Switchyard broker: the Protobuf API (Connect, gRPC, gRPC-web) plus /metrics and
/healthz on one port, and the legacy bridges on theirs. When every listener is up it prints
one line to stdout, e.g.  switchyard ready {"rpc":"127.0.0.1:7440"}  with the bound
address of each listener that is on. Logs go to stderr. SIGINT/SIGTERM shut down
gracefully (exit 0); a second signal exits at once (exit 1). Startup errors exit 1.

Flags (a config file may set the same; flags win over it):
  --config FILE                 JSON or YAML file with settings (keys: dataDir or data-dir, ...)
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
  --metrics-max-topics N        topics with their own label in /metrics; later ones are
                                counted as topic "other" (default ${d.metricsMaxTopics})
  --metrics-max-subscriptions N subscriptions with their own label in /metrics (default ${d.metricsMaxSubscriptions})
  --durability MODE             flush (synced to disk), commit or none (default ${d.durability})
  --max-message-bytes N         largest message, data plus attributes (default ${d.maxMessageBytes})
  --shutdown-grace-ms N         how long shutdown waits for in-flight calls (default ${d.shutdownGraceMs})
  --log-level LEVEL             debug, info, warn, error or silent (default ${d.logLevel})
  --log-format FORMAT           json (one object per line), pretty, or auto: pretty when
                                stderr is a terminal, else json (default ${d.logFormat})
  --push-allowed-hosts LIST     hosts push subscriptions may deliver to, comma-separated
                                (host, host:port, *.domain; default: any host)
  --okq-qstatus FORMAT          okQ QSTATUS replies: string or nested (default ${d.okqQstatus})
  --ohpq-broker-id ID           broker_id on the ohpq HTTP /status (default ${d.ohpqBrokerId})
  --ohpq-max-line-bytes N       longest ohpq command line (default ${d.ohpqMaxLineBytes})
  --ohpq-ack-timeout-ms N       ohpq pending messages go back after N ms without ACK
                                (default ${d.ohpqAckTimeoutMs}: never)
  --ohpq-idle-timeout-ms N      close ohpq connections silent for N ms, unless subscribed
                                (default ${d.ohpqIdleTimeoutMs}; 0: never)
  --ohpq-max-connections N      most open ohpq connections (default ${d.ohpqMaxConnections})
  --opq-any-response            OPQ: any HTTP answer counts as delivered (default: a 5xx is retried)
  --opq-max-attempts N          OPQ: attempts before a message is dead-lettered (default 0: unlimited)
  --opq-dead-letter-topic NAME  OPQ: where dead letters go (default ${d.opqDeadLetterTopic})
  --opq-timeout-ms N            OPQ: time limit of one delivery attempt (default ${d.opqTimeoutMs})
  --opq-retain-ms N             OPQ: how long delivered messages stay for replay (default ${d.opqRetainMs})
  -h, --help                    print this help

Of the bridges okQ, OPQ, "Oh, Please Queue" (ohpq, ohpq-http) and GopherMQ (gophermq,
gophermq-metrics) are built: the other bridge flags are accepted and checked, and the ready
line lists only listeners that exist.
`;
