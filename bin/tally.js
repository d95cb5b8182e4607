#!/usr/bin/env node
// The CLI is TypeScript run directly by Node (type stripping needs Node >= 22.18; libp2p needs >= 22).
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  process.stderr.write(
    `tally: Node.js >= 22 is required (this is ${process.version}); run it as \`npx --no tally\` from the repo, which uses the pinned Node 24\n`,
  );
  process.exit(1);
}
await import("../src/cli/main.ts");
