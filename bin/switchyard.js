#!/usr/bin/env node
// The `switchyard` command. The package ships TypeScript sources; tsx (a dependency) compiles
// them on the fly, so no build step is needed and this works from node_modules/.bin too.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
