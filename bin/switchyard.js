#!/usr/bin/env node
// The `switchyard` command (and `npm start`). It runs one esbuild bundle of the TypeScript sources
// (dist/switchyard.js, gitignored), rebuilt first whenever any of its inputs changed, so a start
// loads one file instead of compiling every module through tsx (README "Running", bin/fresh-bundle.js).
import { fileURLToPath, pathToFileURL } from "node:url";
import { BundleWriteError, freshBundle } from "./fresh-bundle.js";

// Stack traces name src/*.ts lines (the bundle has a linked source map); costs ~30 ms of start.
process.setSourceMapsEnabled(true);
const rootDir = fileURLToPath(new URL("..", import.meta.url));
let bundle;
try {
  bundle = await freshBundle({ rootDir, entry: "src/cli/main.ts", outFile: "dist/switchyard.js" });
} catch (e) {
  if (e instanceof BundleWriteError) {
    // A read-only checkout: compile the sources at start instead (slower start, same program).
    process.stderr.write(`switchyard: ${e.message}; starting from src/ through tsx instead\n`);
    const { register } = await import("tsx/esm/api");
    register();
    await import(pathToFileURL(`${rootDir}src/cli/main.ts`).href);
  } else {
    process.stderr.write(
      `switchyard: cannot build dist/switchyard.js from src/: ${e instanceof Error ? e.message : e}\n`,
    );
    process.exit(1);
  }
}
if (bundle) await import(pathToFileURL(bundle.path).href);
