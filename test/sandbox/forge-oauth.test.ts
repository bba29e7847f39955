// The forge's OAuth web flow for the App's client, as the dashboard's sign-in uses it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startForge, type Forge } from "../../sandbox/forge/index.js";
import { generateAppKeyPair } from "../../sandbox/forge/testing.js";

let dir: string;
let forge: Forge;
const callback = "http://127.0.0.1:9/dashboard/callback";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "forge-oauth-"));
  forge = await startForge({
    dataDir: dir,
    app: { id: 7, slug: "conveyor", publicKeyPem: generateAppKeyPair().publicKeyPem },
    log: () => undefined,
  });
  await forge.createRepo("acme", "manifests");
  await forge.createRepo("other", "secret");
  forge.installApp("acme");
  forge.installApp("other");
  forge.setPermission("other", "secret", "reviewer", "none");
  forge.setPermission("acme", "manifests", "outsider", "none");
  forge.setPermission("other", "secret", "outsider", "none");
});

afterAll(async () => {
  await forge.close();
  await rm(dir, { recursive: true, force: true });
});

const authorize = (params: Record<string, string>) =>
  fetch(`${forge.webUrl}/login/oauth/authorize?${new URLSearchParams(params).toString()}`, { redirect: "manual" });

async function tokenFor(login: string): Promise<string> {
  const { clientId, clientSecret } = forge.oauthClient();
  const res = await authorize({ client_id: clientId, redirect_uri: callback, state: "s1", login });
  const code = new URL(res.headers.get("location") as string).searchParams.get("code") as string;
  const exchange = await fetch(`${forge.webUrl}/login/oauth/access_token`, {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json" },
    body: JSON.stringify({ client_id: clientId, client_secret: clientSecret, code, redirect_uri: callback }),
  });
  return ((await exchange.json()) as { access_token: string }).access_token;
}

const api = async (token: string, path: string) =>
  (await fetch(`${forge.url}${path}`, { headers: { authorization: `token ${token}` } })).json() as Promise<
    Record<string, unknown>
  >;

describe("the forge's OAuth web flow", () => {
  it("without a login hint, offers each sandbox user as one link", async () => {
    const res = await authorize({ client_id: forge.oauthClient().clientId, redirect_uri: callback, state: "x" });
    const html = await res.text();
    expect(res.headers.get("content-type")).toContain("text/html");
    for (const user of ["admin", "reviewer", "outsider"]) expect(html).toContain(`Sign in as ${user}`);
  });

  it("approves a named user at once, back to the redirect with the code and the state", async () => {
    const res = await authorize({
      client_id: forge.oauthClient().clientId,
      redirect_uri: callback,
      state: "st",
      login: "reviewer",
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location") as string);
    expect(`${location.origin}${location.pathname}`).toBe(callback);
    expect(location.searchParams.get("state")).toBe("st");
    expect(location.searchParams.get("code")).toMatch(/^\w{20,}$/);
  });

  it("refuses an unknown client, a wrong secret and a code used twice", async () => {
    expect((await authorize({ client_id: "Iv1.other", redirect_uri: callback, login: "reviewer" })).status).toBe(404);
    const { clientId, clientSecret } = forge.oauthClient();
    const res = await authorize({ client_id: clientId, redirect_uri: callback, login: "reviewer" });
    const code = new URL(res.headers.get("location") as string).searchParams.get("code") as string;
    const exchange = (secret: string) =>
      fetch(`${forge.webUrl}/login/oauth/access_token`, {
        method: "POST",
        headers: { accept: "application/json", "content-type": "application/json" },
        body: JSON.stringify({ client_id: clientId, client_secret: secret, code }),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
    expect((await exchange("wrong")).error).toBe("incorrect_client_credentials");
    expect((await exchange(clientSecret)).access_token).toMatch(/^ghu_/);
    expect((await exchange(clientSecret)).error).toBe("bad_verification_code");
  });

  it("a user token lists only the installations and repositories that user can read", async () => {
    const reviewer = await tokenFor("reviewer");
    expect(((await api(reviewer, "/user")) as { login: string }).login).toBe("reviewer");
    const installations = (await api(reviewer, "/user/installations")) as { installations: Array<{ id: number }> };
    expect(installations.installations).toHaveLength(1);
    const repos = (await api(reviewer, `/user/installations/${installations.installations[0]!.id}/repositories`)) as {
      repositories: Array<{ full_name: string }>;
    };
    expect(repos.repositories.map((r) => r.full_name)).toEqual(["acme/manifests"]);
    const outsider = await tokenFor("outsider");
    expect(((await api(outsider, "/user/installations")) as { total_count: number }).total_count).toBe(0);
  });
});
