import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { SessionSealer } from "../../src/adapters/session.js";
import type { DashboardData } from "../../src/flows/dashboard/gather.js";
import { dashboardWeb } from "../../src/handlers/dashboard-web.js";

const log = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => log,
};
let server: Server | undefined;

async function serve(handler: ReturnType<typeof dashboardWeb>): Promise<string> {
  server = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end("not mine");
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server!.address() as { port: number }).port}`;
}

afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

describe("the dashboard without an OAuth client", () => {
  const data = {} as DashboardData; // never asked: the page is off

  it("is off, says how to turn it on, and leaves other paths alone", async () => {
    const url = await serve(dashboardWeb({ data, sealer: new SessionSealer("k"), log }));
    const res = await fetch(`${url}/dashboard`);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain("<h1>Dashboard is off</h1>");
    expect(html).toContain("<code>GITHUB_CLIENT_ID</code> and <code>GITHUB_CLIENT_SECRET</code>");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(await (await fetch(`${url}/dashboards`)).text()).toBe("not mine");
  });
});

describe("sessions", () => {
  it("open only what this key sealed, and only until it expires", () => {
    const sealer = new SessionSealer("key-one");
    const cookie = sealer.seal({ login: "reviewer", token: "t" }, 2_000);
    expect(sealer.open(cookie, 1_000)).toEqual({ login: "reviewer", token: "t" });
    expect(sealer.open(cookie, 2_000)).toBeUndefined();
    expect(new SessionSealer("key-two").open(cookie, 1_000)).toBeUndefined();
    const flipped = `${cookie.slice(0, 20)}${cookie[20] === "A" ? "B" : "A"}${cookie.slice(21)}`;
    expect(sealer.open(flipped, 1_000)).toBeUndefined();
    expect(cookie).not.toContain("reviewer");
  });
});
