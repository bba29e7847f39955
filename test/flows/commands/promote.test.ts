// `/promote <env>`: the planned promotion becomes a commit on the environment's bot branch and a
// PR (opened or updated), or an answer saying why not. Real bare remote and workspace, strict
// GitHub mocks, no renderer (so PR bodies carry no render summary and the run is the same on any
// machine).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Renderer } from "../../../src/adapters/renderer.js";
import type { Action } from "../../../src/core/command-plan.js";
import { parseConfig, type Config } from "../../../src/core/config.js";
import type { CommandRun } from "../../../src/flows/commands/execute.js";
import { promote } from "../../../src/flows/commands/promote.js";
import { signedState, signedStateMarker } from "../../../src/flows/pr-state.js";
import { flowWorld, OWNER, R, type FlowWorld } from "../../helpers/flow-world.js";

const CONFIG = ((r) => (r.ok ? r.config : undefined))(
  parseConfig({
    environments: [
      { name: "staging", autoMerge: true },
      { name: "production", approvers: ["lead"] },
    ],
  }),
) as Config;
const FILE = "services/order-service/overlays/production/kustomization.yaml";
const BRANCH = "conveyor/production/order-service";
const image = (tag: string) => `ghcr.io/acme/order-service:${tag}`;
const EVIDENCE = "Verified in **staging** (deployment 5, #12); promoted by /promote from @lead.";

let w: FlowWorld;
beforeEach(() => (w = flowWorld({ renderer: new Renderer({ env: { KUSTOMIZE_BIN: "/nonexistent/kustomize" } }) })));
afterEach(() => w.cleanup());

const runAs = (user = "lead"): CommandRun => ({
  services: w.services,
  scope: w.scope,
  config: CONFIG,
  user,
  facts: { histories: {}, frozen: [], approver: { production: true } },
  commentUrl: "https://github.com/acme/manifests/pull/12#issuecomment-777",
});

const action = (over: Partial<Extract<Action, { kind: "promote" }>> = {}): Extract<Action, { kind: "promote" }> => ({
  kind: "promote",
  service: "order-service",
  env: "production",
  image: image("1.5.0"),
  force: false,
  evidence: EVIDENCE,
  ...over,
});

/** The overlay on main with another tag, as Conveyor's edit would write it. */
const withTag = (tag: string) => (w.remote.show("main", FILE) as string).replace('newTag: "1.4.0"', `newTag: "${tag}"`);

/** The production bot branch, made from main, proposing `tag`. */
function botBranchWith(tag: string): string {
  w.remote.git("branch", BRANCH, "main");
  return w.remote.commit(BRANCH, { [FILE]: withTag(tag) }, `deploy(order-service/production): ${tag}`);
}

function expectPrCreated(number: number) {
  const seen: { pr?: { head: string; base: string; title: string; body: string }; labels?: string[] } = {};
  w.gh.scope
    .post(`${R}/pulls`, (b) => ((seen.pr = b), true))
    .reply(201, { number, html_url: `https://github.com/acme/manifests/pull/${number}`, head: { sha: "x" } });
  w.gh.scope
    .post(`${R}/issues/${number}/labels`, (b: { labels: string[] }) => ((seen.labels = b.labels), true))
    .reply(200, []);
  return seen;
}

/** The open PR of the bot branch, as Conveyor left it: its body signed for the branch's head. */
function expectOpenPr(number: number | undefined, proposes = "1.5.0") {
  const head = w.remote.head(BRANCH) as string;
  const marker = signedStateMarker(
    w.services,
    "acme/manifests",
    { service: "order-service", env: "production", from: image("1.4.0"), to: image(proposes) },
    head,
  );
  w.gh.scope
    .get(`${R}/pulls`)
    .query({ state: "open", head: `${OWNER}:${BRANCH}`, per_page: "5" })
    .reply(
      200,
      number === undefined
        ? []
        : [
            {
              number,
              html_url: `https://github.com/acme/manifests/pull/${number}`,
              state: "open",
              head: { sha: head, ref: BRANCH, repo: { full_name: "acme/manifests" } },
              base: { sha: w.remote.head("main"), ref: "main" },
              user: { login: "conveyor[bot]", type: "Bot" },
              labels: [{ name: "conveyor" }, { name: "env/production" }],
              body: `Conveyor deploys **order-service** to **production**.\n\n${marker}`,
            },
          ],
    );
}

describe("/promote opens or updates the environment's PR", () => {
  it("opens the production PR with the evidence, changing only the tag (2 calls)", async () => {
    const seen = expectPrCreated(30);
    const outcome = await promote(runAs(), action());
    expect(outcome).toEqual({
      ok: true,
      text: "Opened [#30](https://github.com/acme/manifests/pull/30): `ghcr.io/acme/order-service:1.5.0` to **production**.",
    });
    expect(seen.pr).toMatchObject({ head: BRANCH, base: "main", title: "Deploy order-service 1.5.0 to production" });
    expect(seen.pr?.body).toContain(`### Evidence\n- ${EVIDENCE}`);
    expect(seen.pr?.body).toContain("A reviewer merges this PR (approvers: lead).");
    expect(seen.labels).toEqual(["conveyor", "env/production"]);
    expect(w.remote.show(BRANCH, FILE)).toBe(withTag("1.5.0"));
    // Conveyor can read its own PR back later: what it moves, signed for the commit it pushed.
    expect(signedState(w.services, "acme/manifests", seen.pr?.body ?? "")).toMatchObject({
      service: "order-service",
      env: "production",
      from: image("1.4.0"),
      to: image("1.5.0"),
      head: w.remote.head(BRANCH),
    });
    expect(w.remote.show("main", FILE)).toBe(withTag("1.4.0"));
  });

  it("--force says so in the answer and carries the forced evidence into the PR", async () => {
    const seen = expectPrCreated(31);
    const forced = "Not verified in **staging**: forced by @lead with /promote production --force.";
    const outcome = await promote(runAs(), action({ force: true, evidence: forced }));
    expect(outcome.text).toBe(
      "Opened [#31](https://github.com/acme/manifests/pull/31): `ghcr.io/acme/order-service:1.5.0` to **production** (forced).",
    );
    expect(seen.pr?.body).toContain(`- ${forced}`);
  });

  it("updates the open PR that proposes an older image, and tells that PR what it superseded", async () => {
    botBranchWith("1.4.1");
    expectOpenPr(30, "1.4.1");
    let update: { title: string; body: string } | undefined;
    w.gh.scope.patch(`${R}/pulls/30`, (b) => ((update = b), true)).reply(200, { number: 30 });
    w.gh.scope
      .post(`${R}/issues/30/comments`, {
        body: "Updated to `ghcr.io/acme/order-service:1.5.0`, superseding `ghcr.io/acme/order-service:1.4.1`.",
      })
      .reply(201, { id: 1, html_url: "https://github.com/acme/manifests/pull/30#issuecomment-1" });
    const outcome = await promote(runAs(), action());
    expect(outcome).toEqual({
      ok: true,
      text: "Updated [#30](https://github.com/acme/manifests/pull/30): `ghcr.io/acme/order-service:1.5.0` to **production**.",
    });
    expect(update?.title).toBe("Deploy order-service 1.5.0 to production");
    expect(update?.body).toContain(`- ${EVIDENCE}`);
    expect(w.remote.show(BRANCH, FILE)).toBe(withTag("1.5.0"));
  });
});

describe("/promote that changes nothing", () => {
  it("an open PR that already proposes the image: nothing to do, the branch is left alone (1 call)", async () => {
    const head = botBranchWith("1.5.0");
    expectOpenPr(30);
    const outcome = await promote(runAs(), action());
    expect(outcome).toEqual({
      ok: true,
      text: "Nothing to do: PR #30 already proposes ghcr.io/acme/order-service:1.5.0.",
    });
    expect(w.remote.head(BRANCH)).toBe(head);
  });

  it("the environment already runs the image: nothing to do, no branch, no call", async () => {
    const outcome = await promote(runAs(), action({ image: image("1.4.0") }));
    expect(outcome).toEqual({
      ok: true,
      text: `Nothing to do: ${FILE} already has ghcr.io/acme/order-service:1.4.0.`,
    });
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
  });

  it("an older image than the environment runs is refused, and nothing is pushed", async () => {
    const outcome = await promote(runAs(), action({ image: image("1.3.0") }));
    expect(outcome).toEqual({
      ok: false,
      text: "Refused: ghcr.io/acme/order-service:1.3.0 is older than ghcr.io/acme/order-service:1.4.0 in production; an older version never replaces a newer one (send a rollback instead).",
    });
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
  });

  it("another service's image is refused: one service cannot deploy another's image", async () => {
    const outcome = await promote(runAs(), action({ image: "ghcr.io/acme/payment-service:1.5.0" }));
    expect(outcome.ok).toBe(false);
    expect(outcome.text).toBe(
      "Refused: image `ghcr.io/acme/payment-service` is not this service's image; order-service deploys ghcr.io/acme/order-service.",
    );
    expect(w.remote.branches()).toEqual(["main"]);
  });

  it("a service without an overlay is refused, naming the services that exist", async () => {
    const outcome = await promote(runAs(), action({ service: "search-service", image: "ghcr.io/acme/search:1.0.0" }));
    expect(outcome.ok).toBe(false);
    expect(outcome.text).toBe(
      "Refused: service `search-service` is not configured and has no overlay in this repository (known: cart-service, catalog-service, order-service, payment-service, user-service).",
    );
    expect(w.remote.branches()).toEqual(["main"]);
  });

  it("an image that is not a reference fails before any git or GitHub work", async () => {
    const outcome = await promote(runAs(), action({ image: "ghcr.io/acme/order-service:" }));
    expect(outcome.ok).toBe(false);
    expect(outcome.text).toMatch(/^Failed: .+/);
    expect(w.remote.branches()).toEqual(["main"]);
  });
});
