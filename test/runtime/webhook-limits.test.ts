// Webhook bodies are limited before they are read: a body over the limit is refused with 413,
// whether it says how big it is or not, and a body within it is handed on as the exact text.
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { webhookBodyLimit } from "../../src/runtime/webhook-limits.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server with the limit in front of a handler that records what it was handed. */
async function serve(maxBytes: number) {
  const handed: string[] = [];
  const limit = webhookBodyLimit({ path: "/api/github/webhooks", maxBytes });
  server = createServer((req, res) => {
    void limit(req, res).then((done) => {
      if (done) return;
      handed.push(String((req as IncomingMessage & { body?: string }).body));
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { port: (server?.address() as AddressInfo).port, handed };
}

function post(port: number, chunks: string[], headers: Record<string, string | number> = {}) {
  return new Promise<{ status: number; sent: number }>((resolve, reject) => {
    let sent = 0;
    const req = request(
      {
        port,
        host: "127.0.0.1",
        method: "POST",
        path: "/api/github/webhooks",
        headers: { "content-type": "application/json", ...headers },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, sent }));
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) =>
      error.code === "EPIPE" || error.code === "ECONNRESET" ? undefined : reject(error),
    );
    for (const chunk of chunks) {
      if (req.destroyed) break;
      sent += chunk.length;
      req.write(chunk);
    }
    req.end();
  });
}

describe("webhookBodyLimit", () => {
  it("refuses a body whose declared length is over the limit without reading it", async () => {
    const { port, handed } = await serve(1024);
    const result = await post(port, ["x".repeat(10)], { "content-length": 10_000_000 });
    expect(result.status).toBe(413);
    expect(handed).toEqual([]);
  });

  it("refuses a chunked body once it passes the limit, and hands nothing on", async () => {
    const { port, handed } = await serve(1024);
    const result = await post(
      port,
      Array.from({ length: 20 }, () => "y".repeat(200)),
      { "transfer-encoding": "chunked" },
    );
    expect(result.status).toBe(413);
    expect(handed).toEqual([]);
  });

  it("hands a body within the limit on as the exact text", async () => {
    const { port, handed } = await serve(1024);
    const body = JSON.stringify({ action: "opened", note: "héllo ✓" });
    const result = await post(port, [body], { "content-length": Buffer.byteLength(body) });
    expect(result.status).toBe(200);
    expect(handed).toEqual([body]);
  });
});
