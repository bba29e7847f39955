// End to end: the web dashboard of the real Conveyor process, signed in through the forge's OAuth
// web flow, after the sandbox's scenario (a deploy verified in staging and production, a bad build
// that failed and was reverted). The outsider is no collaborator of acme/manifests here.
import { Octokit } from "@octokit/rest";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, waitFor, DEMO_CONFIG, OWNER, REPO, type World } from "../../sandbox/world.js";
import { runScenario } from "../../sandbox/scenario.js";
import { page, signIn } from "./dashboard/session.js";
import { launchChromium } from "../helpers/browser.js";

let world: World;
let reviewer: string;

beforeAll(async () => {
  world = await startWorld({ config: DEMO_CONFIG });
  await runScenario(world, () => undefined);
  world.forge.setPermission(OWNER, REPO, "outsider", "none");
  reviewer = await signIn(world, "reviewer");
  // Pages are gathered from GitHub and kept for up to 10 s: wait until they show the revert's verdict.
  await waitFor(
    async () =>
      (await page(world, `/dashboard/${OWNER}/${REPO}/services/order-service`, reviewer)).html.includes(
        ">revert verified</span>",
      ),
    60_000,
    500,
  );
}, 300_000);

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
    // Staging: order-service's 1.5.0, its bad build and (once counted) the revert, and cart-service's
    // two blue-green steps; one of them failed.
    expect(html).toMatch(/\(1 of [45]\)/);
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

describe("the dashboard issue", () => {
  const repo = { owner: OWNER, repo: REPO };
  const as = (user: "admin" | "reviewer") => new Octokit({ baseUrl: world.forge.url, auth: world.tokens[user] });
  const dashboards = async () =>
    (await as("admin").rest.issues.listForRepo({ ...repo, labels: "conveyor:dashboard", state: "all" })).data;
  const issueWith = async (text: string) => {
    let found: Awaited<ReturnType<typeof dashboards>>[number] | undefined;
    await waitFor(
      async () => {
        found = (await dashboards()).find((i) => i.state === "open" && (i.body ?? "").includes(text));
        return Boolean(found);
      },
      60_000,
      250,
    );
    return found as NonNullable<typeof found>;
  };
  /** Ticks the box whose line holds `marker`, as `user`, and waits for Conveyor's reply to them. */
  const tick = async (user: "admin" | "reviewer", marker: string) => {
    const issue = await issueWith(marker);
    const { data: before } = await as(user).rest.issues.listComments({ ...repo, issue_number: issue.number });
    const body = (issue.body ?? "")
      .split("\n")
      .map((l) => (l.includes(marker) ? l.replace("- [ ]", "- [x]") : l))
      .join("\n");
    await as(user).rest.issues.update({ ...repo, issue_number: issue.number, body });
    let reply = "";
    await waitFor(
      async () => {
        const { data } = await as(user).rest.issues.listComments({ ...repo, issue_number: issue.number });
        reply = data.slice(before.length).find((c) => (c.body ?? "").startsWith(`@${user}`))?.body ?? "";
        return reply !== "";
      },
      60_000,
      250,
    );
    return { issue: issue.number, reply };
  };

  it("is one issue, with the matrix, the hold and a box to lift it", async () => {
    const issue = await issueWith("<!-- conveyor:action:unhold:order-service:staging -->");
    expect(issue.title).toBe("Conveyor dashboard");
    expect(issue.body).toContain("| Service | staging | production |");
    expect(issue.body).toContain(`Charts and history: ${world.dashboardUrl}/${OWNER}/${REPO}`);
    expect(await dashboards()).toHaveLength(1);
  });

  it("a tick by the reviewer lifts the hold, as /unhold would", async () => {
    const { reply } = await tick("reviewer", "conveyor:action:unhold:order-service:staging");
    expect(reply).toContain("✅");
    expect(reply).toContain("lifted the hold on order-service in **staging**");
    const { data: holds } = await as("admin").rest.issues.listForRepo({
      ...repo,
      labels: "conveyor:hold",
      state: "open",
    });
    expect(holds).toEqual([]);
    await issueWith("No holds or freezes.");
  });

  it("a tick by someone /unhold would refuse is unticked, and the reply says why", async () => {
    const { data: prs } = await as("admin").rest.pulls.list({ ...repo, state: "closed", per_page: 100 });
    const merged = prs.find((p) => p.head.ref === "conveyor/production/order-service") as { number: number };
    await as("reviewer").rest.issues.createComment({
      ...repo,
      issue_number: merged.number,
      body: "/hold production -- release",
    });
    const marker = "conveyor:action:unfreeze:production";
    const { issue, reply } = await tick("admin", marker);
    expect(reply).toContain("only its approvers may do");
    expect(reply).toContain("@reviewer");
    await waitFor(
      async () => {
        const { data } = await as("admin").rest.issues.get({ ...repo, issue_number: issue });
        return (data.body ?? "")
          .split("\n")
          .some((l) => l.startsWith("- [ ] unfreeze **production**") && l.includes(marker));
      },
      30_000,
      250,
    );
    const { data: freezes } = await as("admin").rest.issues.listForRepo({
      ...repo,
      labels: "conveyor:freeze",
      state: "open",
    });
    expect(freezes).toHaveLength(1);
  });

  it("closed by mistake, it is opened again on the next event, never duplicated", async () => {
    const [issue] = await dashboards();
    await as("admin").rest.issues.update({ ...repo, issue_number: issue!.number, state: "closed" });
    await as("admin").rest.repos.createDispatchEvent({
      ...repo,
      event_type: "deploy-user-service",
      client_payload: { image: "ghcr.io/acme/user-service:2.0.0" },
    });
    await waitFor(async () => (await dashboards())[0]?.state === "open", 60_000, 250);
    expect(await dashboards()).toHaveLength(1);
  });
});

describe("in a real browser (headless Chromium, JavaScript off)", () => {
  let browser: Browser;
  const shots = process.env.DASHBOARD_SCREENSHOTS;

  beforeAll(async () => {
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** Signs in the way a person does: the dashboard's link, then the forge's one-click user list. */
  async function signedInPage(user: string): Promise<Page> {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const tab = await context.newPage();
    await tab.goto(world.dashboardUrl);
    await tab.getByRole("link", { name: "Sign in with GitHub" }).click();
    await tab.getByRole("link", { name: `Sign in as ${user}` }).click();
    await tab.waitForURL(/\/dashboard$/);
    return tab;
  }

  it("the reviewer signs in and sees the matrix", async () => {
    const tab = await signedInPage("reviewer");
    expect(await tab.getByRole("heading", { level: 1 }).textContent()).toBe("Conveyor dashboard");
    expect(await tab.getByText("Signed in as reviewer").count()).toBe(1);
    const table = tab.getByRole("table", { name: "Services by environment in acme/manifests" });
    expect(await table.getByRole("columnheader").allTextContents()).toEqual(["Service", "staging", "production"]);
    expect(await table.getByRole("rowheader").allTextContents()).toEqual([
      "cart-service",
      "catalog-service",
      "order-service",
      "payment-service",
      "user-service",
    ]);
    if (shots) await tab.screenshot({ path: `${shots}/dashboard-overview.png`, fullPage: true });
    await tab.context().close();
  });

  it("opens a service's history from the matrix", async () => {
    const tab = await signedInPage("reviewer");
    await tab.getByRole("link", { name: "order-service" }).first().click();
    expect(await tab.getByRole("heading", { level: 1 }).textContent()).toBe("order-service in acme/manifests");
    const rows = tab
      .getByRole("table", { name: /Deployments, verifications and reverts of order-service/ })
      .getByRole("row");
    const texts = await rows.allTextContents();
    expect(texts.some((t) => t.includes("revert verified") && t.includes("staging"))).toBe(true);
    expect(texts.some((t) => t.includes("failed") && t.includes("1.6.0-bad"))).toBe(true);
    if (shots) await tab.screenshot({ path: `${shots}/dashboard-history.png`, fullPage: true });
    await tab.context().close();
  });

  it("sees the four delivery metrics as charts for each environment", async () => {
    const tab = await signedInPage("reviewer");
    await tab.getByRole("link", { name: "Delivery metrics, holds and failures of acme/manifests" }).click();
    await tab.getByRole("link", { name: "7 days" }).click();
    expect(await tab.getByRole("heading", { level: 3 }).allTextContents()).toEqual(["staging", "production"]);
    const charts = tab.getByRole("img");
    expect(await charts.count()).toBe(8);
    expect(await tab.getByRole("img", { name: "Deployments to staging per day" }).isVisible()).toBe(true);
    expect(await tab.getByRole("img", { name: "Time to restore in staging per day" }).isVisible()).toBe(true);
    const bars = await tab.locator('svg[aria-labelledby*="frequency"] rect[fill="#1f5fa8"] title').allTextContents();
    expect(bars.length).toBeGreaterThan(0);
    if (shots) await tab.screenshot({ path: `${shots}/dashboard-metrics.png`, fullPage: true });
    await tab.context().close();
  });

  it("the outsider sees no repository", async () => {
    const tab = await signedInPage("outsider");
    expect(await tab.getByText("You can read no repository where Conveyor is installed.").isVisible()).toBe(true);
    expect(await tab.getByRole("table").count()).toBe(0);
    await tab.context().close();
  });
});
