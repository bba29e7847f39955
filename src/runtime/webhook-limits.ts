// A webhook body is read only up to GitHub's own limit (25 MB): a larger one is refused with 413
// before it is held in memory, whatever its signature says. A body within the limit is handed on
// as text, so the webhooks middleware verifies and parses the very bytes counted here.
import type { IncomingMessage, ServerResponse } from "node:http";

/** GitHub caps webhook payloads at 25 MB. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

export function webhookBodyLimit(options: { path: string; maxBytes?: number }) {
  const max = options.maxBytes ?? MAX_WEBHOOK_BYTES;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "POST" || (req.url ?? "").split("?")[0]?.replace(/\/+$/, "") !== options.path) return false;
    const refuse = () => {
      if (!res.headersSent) res.writeHead(413, { "content-type": "application/json", connection: "close" });
      // The answer first, then the connection goes, so the rest of the body is never read.
      res.end(JSON.stringify({ error: `webhook payload larger than ${max} bytes` }), () => req.destroy());
      return true;
    };
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > max) return refuse();
    const chunks: Buffer[] = [];
    let size = 0;
    const within = await new Promise<boolean>((resolve) => {
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) {
          resolve(false);
          return;
        }
        chunks.push(chunk);
      });
      req.on("end", () => resolve(true));
      req.on("error", () => resolve(false));
    });
    if (!within) return refuse();
    (req as IncomingMessage & { body?: string }).body = Buffer.concat(chunks).toString("utf8");
    return false;
  };
}
