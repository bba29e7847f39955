// The fetch Octokit's requests go through, against a real HTTP server: what it answers must be
// what the built-in fetch answers, redirects must be followed as fetch follows them (never
// carrying the token to another origin), and failures must look like fetch's.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, gzipSync } from "node:zlib";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { httpFetch } from "../../src/adapters/http-fetch.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

// nock (loaded for every test file, for the GitHub mocks) replaces node:http's sockets with its
// own, which are never kept alive: these tests talk to a real server over real connections.
beforeAll(() => nock.restore());
afterAll(() => nock.activate());

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server that records what it was sent and answers with `handle`; its origin, and what it saw. */
async function serve(handle: (req: Seen, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(r);
      handle(r, res);
    });
  });
  server.on("connection", () => connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, seen, connections: () => connections, server };
}

const fetch = httpFetch();

describe("httpFetch", () => {
  it("answers as the built-in fetch does: status, headers, address and body; and reuses its connection", async () => {
    const { origin, connections } = await serve((req, res) => {
      if (req.url === "/none") return res.writeHead(204).end();
      res.setHeader("content-type", "application/json; charset=utf-8");
      res.setHeader("x-many", ["a", "b"]);
      res.setHeader("link", '<https://api.github.com/x?page=2>; rel="next"');
      res
        .writeHead(201, "Made")
        .end(JSON.stringify({ got: req.body, method: req.method, type: req.headers["content-type"] }));
    });
    for (const [path, init] of [
      [
        "/a?x=1",
        {
          method: "POST",
          body: '{"title":"ü"}',
          headers: { authorization: "token t", "content-type": "application/json" },
        },
      ],
      ["/b", { method: "PATCH", body: "plain" }],
      ["/c", {}],
      ["/none", { method: "DELETE" }],
    ] as Array<[string, RequestInit]>) {
      const [mine, theirs] = [await fetch(`${origin}${path}`, init), await globalThis.fetch(`${origin}${path}`, init)];
      expect([mine.status, mine.statusText, mine.url, mine.ok]).toEqual([
        theirs.status,
        theirs.statusText,
        theirs.url,
        theirs.ok,
      ]);
      for (const name of ["content-type", "x-many", "link"])
        expect(mine.headers.get(name)).toBe(theirs.headers.get(name));
      expect(mine.body === null).toBe(theirs.body === null);
      expect(await mine.text()).toBe(await theirs.text());
    }
    // Four requests of ours on one kept-alive connection (and the built-in fetch's own).
    expect(connections()).toBeLessThanOrEqual(2);
  });

  it("asks for compressed answers and decompresses them as fetch does", async () => {
    const text = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `pull ${i}` })) });
    const { origin, seen } = await serve((req, res) => {
      const wanted = String(req.headers["accept-encoding"] ?? "");
      if (req.url === "/br" && wanted.includes("br"))
        return res.writeHead(200, { "content-encoding": "br" }).end(brotliCompressSync(text));
      if (wanted.includes("gzip")) return res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync(text));
      res.writeHead(200).end(text);
    });
    expect(await (await fetch(`${origin}/gz`)).text()).toBe(text);
    expect(await (await fetch(`${origin}/br`)).text()).toBe(text);
    expect(seen.map((r) => r.headers["accept-encoding"])).toEqual(["gzip, br", "gzip, br"]);
    const corrupt = await serve((_req, res) => res.writeHead(200, { "content-encoding": "gzip" }).end("not gzip"));
    await expect(fetch(`${corrupt.origin}/x`)).rejects.toMatchObject({ name: "TypeError", message: "fetch failed" });
  });

  it("gives bytes as bytes and a stream to whoever asks for one", async () => {
    const { origin } = await serve((_req, res) =>
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.from([0, 1, 255])),
    );
    expect([...new Uint8Array(await (await fetch(`${origin}/bin`)).arrayBuffer())]).toEqual([0, 1, 255]);
    const streamed = (await fetch(`${origin}/bin`)).body as ReadableStream<Uint8Array>;
    expect([...new Uint8Array(await new Response(streamed).arrayBuffer())]).toEqual([0, 1, 255]);
  });

  it("follows redirects as fetch does, and never carries the token to another origin", async () => {
    const other = await serve((req, res) =>
      res.writeHead(200).end(`other ${req.method} ${req.headers.authorization ?? "no token"}`),
    );
    const { origin, seen } = await serve((req, res) => {
      if (req.url === "/moved") return res.writeHead(301, { location: "/here" }).end();
      if (req.url === "/away") return res.writeHead(302, { location: `${other.origin}/there` }).end();
      if (req.url === "/see-other") return res.writeHead(303, { location: "/here" }).end();
      if (req.url === "/temporary") return res.writeHead(307, { location: "/here" }).end();
      if (req.url === "/loop") return res.writeHead(302, { location: "/loop" }).end();
      res.writeHead(200).end(`here ${req.method} ${req.headers.authorization ?? "no token"} ${req.body}`);
    });
    const auth = { authorization: "token secret" };
    const moved = await fetch(`${origin}/moved`, { headers: auth });
    expect([await moved.text(), moved.url, moved.redirected]).toEqual([
      "here GET token secret ",
      `${origin}/here`,
      true,
    ]);
    expect(await (await fetch(`${origin}/away`, { headers: auth })).text()).toBe("other GET no token");
    expect(await (await fetch(`${origin}/see-other`, { method: "POST", body: "x", headers: auth })).text()).toBe(
      "here GET token secret ",
    );
    expect(await (await fetch(`${origin}/temporary`, { method: "PUT", body: "kept", headers: auth })).text()).toBe(
      "here PUT token secret kept",
    );
    const manual = await fetch(`${origin}/moved`, { redirect: "manual" });
    expect([manual.status, manual.headers.get("location")]).toEqual([301, "/here"]);
    await expect(fetch(`${origin}/moved`, { redirect: "error" })).rejects.toThrow(TypeError);
    await expect(fetch(`${origin}/loop`)).rejects.toMatchObject({
      name: "TypeError",
      cause: { message: "too many redirects" },
    });
    // 1 + 20 redirects followed, then refused.
    expect(seen.filter((r) => r.url === "/loop")).toHaveLength(21);
  });

  it("sends a GET again when the kept connection it went out on was closed under it, never a POST", async () => {
    let n = 0;
    const { origin } = await serve((req, res) => {
      n++;
      // The second request of each run finds its connection closed, as a server ending an idle one.
      if (n === 2 || n === 5) return res.socket?.destroy();
      res.writeHead(200).end(`${req.method} ${n}`);
    });
    expect(await (await fetch(`${origin}/1`)).text()).toBe("GET 1");
    expect(await (await fetch(`${origin}/2`)).text()).toBe("GET 3");
    expect(await (await fetch(`${origin}/3`, { method: "POST", body: "x" })).text()).toBe("POST 4");
    await expect(fetch(`${origin}/4`, { method: "POST", body: "x" })).rejects.toMatchObject({
      message: "fetch failed",
    });
    expect(n).toBe(5);
  });

  it("fails as fetch fails: the cause of a refused connection, an abort, a silent server", async () => {
    const closed = await serve(() => undefined);
    await new Promise((resolve) => closed.server.close(resolve));
    servers.splice(servers.indexOf(closed.server), 1);
    const refused = await fetch(`${closed.origin}/x`).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as TypeError).message).toBe("fetch failed");
    expect(((refused as TypeError).cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");

    const silent = await serve(() => undefined);
    const controller = new AbortController();
    const aborted = fetch(`${silent.origin}/x`, { signal: controller.signal }).catch((error: unknown) => error);
    setTimeout(() => controller.abort(), 50);
    expect((await aborted) as Error).toMatchObject({ name: "AbortError" });

    const quick = httpFetch({ idleTimeoutMs: 200 });
    const timedOut = (await quick(`${silent.origin}/y`).catch((error: unknown) => error)) as TypeError;
    expect(timedOut).toBeInstanceOf(TypeError);
    expect((timedOut.cause as Error).message).toBe("no answer for 200 ms");
  });
});
