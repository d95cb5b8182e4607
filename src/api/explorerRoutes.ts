import { readFile } from "node:fs/promises";
import type { FastifyInstance } from "fastify";

/**
 * The explorer (docs/explorer.md): three static files read once at start and served from memory, a page that
 * reads only the public API. Its policy lets the page load its own script and style and talk to this node, and
 * nothing else: no inline script, no other origin, no framing, so a memo or reason that slipped past the
 * page's text-only rendering still could not run.
 */
const EXPLORER_SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
} as const;

const ASSETS = [
  { route: "/explorer/", file: "index.html", type: "text/html; charset=utf-8" },
  { route: "/explorer/explorer.js", file: "explorer.js", type: "text/javascript; charset=utf-8" },
  { route: "/explorer/explorer.css", file: "explorer.css", type: "text/css; charset=utf-8" },
] as const;

export async function registerExplorerRoutes(app: FastifyInstance): Promise<void> {
  const directory = new URL("./explorer/", import.meta.url);
  for (const asset of ASSETS) {
    const body = await readFile(new URL(asset.file, directory));
    app.get(asset.route, { schema: { hide: true } }, async (_request, reply) =>
      reply.headers(EXPLORER_SECURITY_HEADERS).type(asset.type).send(body),
    );
  }
  // A browser pointed at the node's API address lands on the explorer.
  for (const route of ["/", "/explorer"])
    app.get(route, { schema: { hide: true } }, async (_request, reply) => reply.redirect("/explorer/", 302));
}
