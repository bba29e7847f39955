// End to end: the web dashboard of the real Conveyor process, signed in through the forge's OAuth
// web flow, after the sandbox's scenario (a deploy verified in staging and production, a bad build
// that failed and was reverted). The outsider is no collaborator of acme/manifests here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, OWNER, REPO, type World } from "../../sandbox/world.js";
import { runScenario } from "../../sandbox/scenario.js";
import { page, signIn } from "./dashboard/session.js";

let world: World;
let reviewer: string;

beforeAll(async () => {
  world = await startWorld();
  await runScenario(world, () => undefined);
  world.forge.setPermission(OWNER, REPO, "outsider", "none");
  reviewer = await signIn(world, "reviewer");
}, 240_000);

afterAll(async () => {
  await world?.close();
});

describe("the web dashboard", () => {
  it("asks to sign in first, and signs in through GitHub's OAuth web flow", async () => {
    const anonymous = await page(world, "/dashboard");
    expect(anonymous.html).toContain('<a href="/dashboard/login">Sign in with GitHub</a>');
    const signedIn = await page(world, "/dashboard", reviewer);
    expect(signedIn.html).toContain("Signed in as <strong>reviewer</strong>");
    expect(signedIn.html).toContain("<caption>Services by environment in acme/manifests</caption>");
  });

  it("shows every service x environment: production verified on 1.5.0, staging back on 1.5.0 and held after the failure", async () => {
    const { html } = await page(world, `/dashboard/${OWNER}/${REPO}`, reviewer);
    const row = html.slice(
      html.indexOf('services/order-service">order-service'),
      html.indexOf("</tr>", html.indexOf('services/order-service">order-service')),
    );
    expect(row.match(/data-state="\w+"/g)).toEqual(['data-state="held"', 'data-state="verified"']);
    expect(row).toContain("(last change verified)");
    expect(row).toContain("ghcr.io/acme/order-service:1.5.0");
    expect(html).toContain("ghcr.io/acme/order-service:1.6.0-bad</code> in <strong>staging</strong>");
    for (const title of ["Deployment frequency", "Lead time for changes", "Change failure rate", "Time to restore"])
      expect(html).toContain(`<figcaption>${title}</figcaption>`);
    expect(html).toMatch(/1 of 3\)|1 of 2\)/);
  });

  it("a service's history shows the deployment, the failure and the verified revert", async () => {
    const { status, html } = await page(world, `/dashboard/${OWNER}/${REPO}/services/order-service`, reviewer);
    expect(status).toBe(200);
    for (const kind of ["deployed", "verified", "failed", "reverted", "revert verified"])
      expect(html).toContain(`>${kind}</span>`);
  });

  it("the outsider sees no repository, and not this one by its address", async () => {
    const outsider = await signIn(world, "outsider");
    expect((await page(world, "/dashboard", outsider)).html).toContain(
      "You can read no repository where Conveyor is installed.",
    );
    const direct = await page(world, `/dashboard/${OWNER}/${REPO}`, outsider);
    expect(direct.status).toBe(404);
    expect(direct.html).not.toContain("order-service");
  });

  it("an edited session cookie or a foreign OAuth state signs nobody in", async () => {
    const [name, value] = reviewer.split("=") as [string, string];
    const edited = `${name}=${value.slice(0, -4)}${value.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
    expect((await page(world, "/dashboard", edited)).html).toContain("Sign in with GitHub");
    const forged = await page(world, "/dashboard/callback?code=abc&state=not-mine");
    expect(forged.status).toBe(400);
  });

  it("never shows the client secret or a token, on pages or in the log", async () => {
    const { clientSecret } = world.forge.oauthClient();
    const token = reviewer.split("=")[1] as string;
    const pages = await Promise.all(
      ["/dashboard", `/dashboard/${OWNER}/${REPO}`, `/dashboard/${OWNER}/${REPO}/services/order-service`].map((p) =>
        page(world, p, reviewer),
      ),
    );
    for (const { html } of pages) {
      expect(html).not.toContain(clientSecret);
      expect(html).not.toMatch(/gh[usp]_[A-Za-z0-9]{20,}/);
    }
    expect(world.appLog()).not.toContain(clientSecret);
    expect(world.appLog()).not.toMatch(/ghu_[A-Za-z0-9]{20,}/);
    expect(token.length).toBeGreaterThan(40);
  });

  it("exports the same figures on /metrics as gauges", async () => {
    const text = await (await fetch(`${world.appUrl}/metrics`)).text();
    expect(text).toMatch(/conveyor_delivery_deployments\{repo="acme\/manifests",env="production",window="7d"\} 1/);
    expect(text).toMatch(
      /conveyor_delivery_change_failure_rate\{repo="acme\/manifests",env="staging",window="30d"\} 0\.\d+/,
    );
    expect(text).toMatch(
      /conveyor_delivery_time_to_restore_seconds\{repo="acme\/manifests",env="staging",window="90d"\} \d/,
    );
  });
});
