import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";

const root = new URL("..", import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
  });
}

function imports(file: string): string[] {
  const src = readFileSync(file, "utf8");
  return [...src.matchAll(/^\s*(?:import|export)[^"']*?from\s+["']([^"']+)["']/gm)].map((m) => m[1] as string);
}

/** Layers and what each may not import (path fragments or module names). */
const RULES: Array<{ layer: string; forbidden: string[] }> = [
  {
    layer: "src/core",
    forbidden: [
      "/rpc/",
      "/bridges/",
      "/server/",
      "/cli/",
      "node:net",
      "node:http",
      "node:http2",
      "@connectrpc",
      "lmdb",
    ],
  },
  {
    layer: "src/store",
    forbidden: ["/core/", "/rpc/", "/bridges/", "/server/", "/cli/", "/push/", "@connectrpc", "node:net", "node:http"],
  },
  // Domain types: the bottom layer, below both the core and the store.
  { layer: "src/model", forbidden: ["../", "node:", "@connectrpc", "lmdb"] },
  { layer: "src/errors", forbidden: ["/core/", "/store/", "/rpc/", "@connectrpc"] },
  { layer: "src/notify", forbidden: ["/core/", "/store/", "/rpc/"] },
  { layer: "src/bridges", forbidden: ["/core/", "/store/"] },
  // The push agent drives delivery through the core only; HTTP out is its own business (node:http).
  { layer: "src/push", forbidden: ["/rpc/", "/bridges/", "/server/", "/cli/", "/gen/", "@connectrpc", "lmdb"] },
  // Users and permissions are plain rules: the server's interceptor applies them to every door.
  {
    layer: "src/auth",
    forbidden: [
      "/core/",
      "/store/",
      "/rpc/",
      "/bridges/",
      "/server/",
      "/cli/",
      "/config/",
      "/gen/",
      "@connectrpc",
      "node:net",
      "node:http",
    ],
  },
  // The Node client transport is what users import next to gen/: nothing of the broker itself.
  {
    layer: "src/client",
    forbidden: ["/core/", "/store/", "/rpc/", "/server/", "/bridges/", "/push/", "/auth/", "/config/", "lmdb"],
  },
  // The client commands are a remote client: they reach the broker only through the generated
  // Connect clients over the network, like any other program.
  { layer: "src/cli/client", forbidden: ["/core/", "/store/", "/rpc/", "/server/", "/bridges/", "/push/", "lmdb"] },
  { layer: "src/cli/commands", forbidden: ["/core/", "/store/", "/rpc/", "/server/", "/bridges/", "/push/", "lmdb"] },
];

test("architecture - layers import only what they may", () => {
  const violations: string[] = [];
  for (const { layer, forbidden } of RULES) {
    let dir: string;
    try {
      dir = join(root, layer);
      statSync(dir);
    } catch {
      continue;
    }
    for (const f of files(dir)) {
      for (const spec of imports(f)) {
        if (forbidden.some((bad) => spec.includes(bad) || spec === bad.replace(/\//g, ""))) {
          violations.push(`${relative(root, f)} imports ${spec}`);
        }
      }
    }
  }
  assert.deepEqual(violations, []);
});

test("architecture - no generated proto types inside the core or the store", () => {
  const offenders = ["src/core", "src/store"].flatMap((layer) =>
    files(join(root, layer)).filter((f) => imports(f).some((s) => s.includes("/gen/"))),
  );
  assert.deepEqual(
    offenders.map((f) => relative(root, f)),
    [],
  );
});

test("architecture - the import scanner sees imports (guards against a vacuous pass)", () => {
  const core = files(join(root, "src/core"));
  assert.ok(core.length > 3);
  assert.ok(core.some((f) => imports(f).some((s) => s.includes("/store/"))));
  const store = files(join(root, "src/store"));
  assert.ok(
    store.some((f) => imports(f).some((s) => s.includes("/model/"))),
    "the store sees the model",
  );
  assert.ok(files(join(root, "src/model")).length > 0, "the model layer exists");
});

test("architecture - code, tests and docs cite only files of this repository", () => {
  // The project stands on its own: no reference to the planning notes it was built from.
  const outside = /protocols\.md|design\.md|toolchain\.md|\.\.\/shared\b/;
  const roots = ["src", "test", "bench", "scripts", "docs", "examples"].map((d) => join(root, d));
  const all = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const p = join(dir, name);
      if (name === "node_modules" || name === "results" || name.startsWith(".")) return [];
      return statSync(p).isDirectory() ? all(p) : [p];
    });
  const checked = [...roots.flatMap(all), join(root, "README.md"), join(root, "BENCHMARKS.md")].filter((p) =>
    /\.(ts|md|sh|py|txt|json)$/.test(p),
  );
  assert.ok(checked.length > 100, "the scan sees the repository's files");
  const offenders = checked
    .filter((p) => p !== new URL(import.meta.url).pathname)
    .filter((p) => outside.test(readFileSync(p, "utf8")))
    .map((p) => relative(root, p));
  assert.deepEqual(offenders, []);
});
