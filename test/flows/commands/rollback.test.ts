// `/rollback`: the planned revert becomes a commit on the revert branch and a revert PR, or an
// answer saying why not. Deployed changes are real commits on the bare remote's main branch; the
// Deployment facts point at them as GitHub's Deployments would.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Renderer } from "../../../src/adapters/renderer.js";
import type { Action, DeploymentFact } from "../../../src/core/command-plan.js";
import { parseCommands, type Command } from "../../../src/core/commands.js";
import { parseConfig, type Config } from "../../../src/core/config.js";
import type { CommandRun } from "../../../src/flows/commands/execute.js";
import { rollback } from "../../../src/flows/commands/rollback.js";
import { flowWorld, OWNER, R, type FlowWorld } from "../../helpers/flow-world.js";

const CONFIG = ((r) => (r.ok ? r.config : undefined))(
  parseConfig({ environments: [{ name: "staging", autoMerge: true }, { name: "production" }] }),
) as Config;
const FILE = "services/order-service/overlays/staging/kustomization.yaml";
const REVERT_BRANCH = "conveyor/revert/staging/order-service";
const image = (tag: string) => `ghcr.io/acme/order-service:${tag}`;

let w: FlowWorld;
beforeEach(() => (w = flowWorld({ renderer: new Renderer({ env: { KUSTOMIZE_BIN: "/nonexistent/kustomize" } }) })));
afterEach(() => w.cleanup());

const runAs = (user = "dev"): CommandRun => ({
  services: w.services,
  scope: w.scope,
  config: CONFIG,
  user,
  facts: { histories: {}, frozen: [], approver: {} },
  commentUrl: "https://github.com/acme/manifests/pull/12#issuecomment-777",
});

function command(line: string): Command {
  const parsed = parseCommands(line);
  if (parsed.errors.length || parsed.commands.length !== 1) throw new Error(JSON.stringify(parsed));
  return parsed.commands[0] as Command;
}

/** The staging overlay on main with another tag (the seed runs 1.4.0). */
const withTag = (tag: string) => (w.remote.show("main", FILE) as string).replace(/newTag: "[^"]+"/, `newTag: "${tag}"`);

/** Merges a deploy of `tag` to staging, as a merged Conveyor PR would: returns its commit and its parent. */
function deploy(tag: string): { sha: string; base: string } {
  const base = w.remote.head("main") as string;
  const sha = w.remote.commit("main", { [FILE]: withTag(tag) }, `deploy(order-service/staging): ${tag}`);
  return { sha, base };
}

function fact(id: number, at: { sha: string; base: string }, to: string, from: string, pr = 12): DeploymentFact {
  return {
    id,
    sha: at.sha,
    service: "order-service",
    env: "staging",
    to,
    from,
    base: at.base,
    file: FILE,
    pr,
    state: "success",
    createdAt: "2025-06-02T09:14:05Z",
  };
}

type Revert = Extract<Action, { kind: "revert" }>;
const revertOf = (deployment: DeploymentFact, target: string | null, originalPr?: number): Revert => ({
  kind: "revert",
  service: "order-service",
  env: "staging",
  deployment,
  target,
  ...(originalPr !== undefined ? { originalPr } : {}),
});

function expectRevertPr(number: number) {
  const seen: { pr?: { head: string; base: string; title: string; body: string }; labels?: string[] } = {};
  w.gh.scope
    .post(`${R}/pulls`, (b) => ((seen.pr = b), true))
    .reply(201, { number, html_url: `https://github.com/acme/manifests/pull/${number}`, head: { sha: "x" } });
  w.gh.scope
    .post(`${R}/issues/${number}/labels`, (b: { labels: string[] }) => ((seen.labels = b.labels), true))
    .reply(200, []);
  return seen;
}

describe("/rollback opens a revert PR", () => {
  it("on a merged PR: a byte-exact revert of its overlay change, labelled as a revert (2 calls)", async () => {
    const before = w.remote.show("main", FILE);
    const at = deploy("1.5.0");
    const seen = expectRevertPr(33);
    const outcome = await rollback(
      runAs(),
      revertOf(fact(5, at, image("1.5.0"), image("1.4.0")), image("1.4.0"), 12),
      command("/rollback"),
    );
    expect(outcome).toEqual({
      ok: true,
      text: "Opened revert [#33](https://github.com/acme/manifests/pull/33): order-service in **staging** back to `ghcr.io/acme/order-service:1.4.0`.",
    });
    expect(w.remote.show(REVERT_BRANCH, FILE)).toBe(before);
    expect(w.remote.show("main", FILE)).toBe(withTag("1.5.0"));
    expect(seen.pr).toMatchObject({
      head: REVERT_BRANCH,
      base: "main",
      title: "Revert order-service in staging to order-service:1.4.0",
    });
    expect(seen.pr?.body).toContain("after #12 (deployment 5)");
    expect(seen.pr?.body).toContain("because @dev asked for it after #12 (deployment 5)");
    expect(seen.pr?.body).toContain("**Request:** `/rollback`");
    expect(seen.pr?.body).not.toContain("failed");
    expect(seen.pr?.body).toContain("This is a revert of the overlay change.");
    expect(seen.labels).toEqual(["conveyor", "env/staging", "conveyor:revert"]);
  });

  it("when the overlay changed again since, it sets the previous image and keeps the later change", async () => {
    const at = deploy("1.5.0");
    // A person scales staging after the deploy: a plain revert would undo that too.
    w.remote.commit("main", { [FILE]: withTag("1.5.0").replace("count: 1", "count: 2") }, "scale staging");
    const seen = expectRevertPr(34);
    const outcome = await rollback(
      runAs(),
      revertOf(fact(5, at, image("1.5.0"), image("1.4.0")), image("1.4.0"), 12),
      command("/rollback"),
    );
    expect(outcome.ok).toBe(true);
    expect(w.remote.show(REVERT_BRANCH, FILE)).toBe(withTag("1.4.0").replace("count: 1", "count: 2"));
    expect(seen.pr?.body).toContain("this sets the previous verified image instead");
  });

  it("/rollback <service> <env> <image> goes back two deploys, to the overlay as it was then", async () => {
    const seedSha = w.remote.head("main") as string;
    const original = w.remote.show("main", FILE);
    deploy("1.5.0");
    const latest = deploy("1.6.0");
    // What the planner hands over: the newest deployment, to be reverted back to the target's commit.
    const current = fact(7, latest, image("1.6.0"), image("1.5.0"), 14);
    const seen = expectRevertPr(35);
    const outcome = await rollback(
      runAs("lead"),
      revertOf({ ...current, from: image("1.4.0"), base: seedSha }, image("1.4.0")),
      command("/rollback order-service staging ghcr.io/acme/order-service:1.4.0"),
    );
    expect(outcome.text).toBe(
      "Opened revert [#35](https://github.com/acme/manifests/pull/35): order-service in **staging** back to `ghcr.io/acme/order-service:1.4.0`.",
    );
    expect(w.remote.show(REVERT_BRANCH, FILE)).toBe(original);
    expect(seen.pr?.body).toContain("| now | `ghcr.io/acme/order-service:1.6.0` |");
    expect(seen.pr?.body).toContain("| back to | `ghcr.io/acme/order-service:1.4.0` |");
    expect(seen.pr?.body).toContain("**Request:** `/rollback order-service staging ghcr.io/acme/order-service:1.4.0`");
  });
});

describe("/rollback that changes nothing", () => {
  it("asked twice, the open revert PR already restores the overlay: nothing to do, nothing pushed", async () => {
    const d = fact(5, deploy("1.5.0"), image("1.5.0"), image("1.4.0"));
    const first = expectRevertPr(33);
    await rollback(runAs(), revertOf(d, image("1.4.0"), 12), command("/rollback"));
    const head = w.remote.head(REVERT_BRANCH);
    w.gh.scope
      .get(`${R}/pulls`)
      .query({ state: "open", head: `${OWNER}:${REVERT_BRANCH}`, per_page: "5" })
      .reply(200, [
        {
          number: 33,
          html_url: "https://github.com/acme/manifests/pull/33",
          state: "open",
          head: { sha: head, ref: REVERT_BRANCH, repo: { full_name: "acme/manifests" } },
          user: { login: "conveyor[bot]", type: "Bot" },
          labels: [{ name: "conveyor" }, { name: "env/staging" }, { name: "conveyor:revert" }],
          // The body Conveyor wrote, whose signed marker names the head it pushed.
          body: first.pr?.body,
        },
      ]);
    const again = await rollback(runAs(), revertOf(d, image("1.4.0"), 12), command("/rollback"));
    expect(again).toEqual({ ok: true, text: "Nothing to do: revert PR #33 already restores this overlay." });
    expect(w.remote.head(REVERT_BRANCH)).toBe(head);
  });

  it("the overlay is already back (someone reverted it by hand): nothing to do, no branch, no call", async () => {
    const before = w.remote.show("main", FILE) as string;
    const d = fact(5, deploy("1.5.0"), image("1.5.0"), image("1.4.0"));
    w.remote.commit("main", { [FILE]: before }, "manual revert");
    const outcome = await rollback(runAs(), revertOf(d, image("1.4.0"), 12), command("/rollback"));
    expect(outcome).toEqual({
      ok: true,
      text: "Nothing to do: the overlay is already back to its previous content.",
    });
    expect(w.remote.branches()).toEqual(["main"]);
    expect(w.gh.calls()).toEqual([]);
  });

  it("a change that created the overlay cannot be rolled back, and the answer says why", async () => {
    const at = deploy("1.5.0");
    const outcome = await rollback(
      runAs(),
      revertOf({ ...fact(5, at, image("1.5.0"), image("1.4.0")), base: null }, image("1.4.0"), 12),
      command("/rollback"),
    );
    expect(outcome).toEqual({
      ok: false,
      text: "Cannot roll back: the overlay did not exist before the change or no longer exists.",
    });
    expect(w.remote.branches()).toEqual(["main"]);
  });

  it("a deployment that does not record its overlay fails before any git or GitHub work", async () => {
    const at = deploy("1.5.0");
    const outcome = await rollback(
      runAs(),
      revertOf({ ...fact(5, at, image("1.5.0"), image("1.4.0")), file: null }, image("1.4.0"), 12),
      command("/rollback"),
    );
    expect(outcome).toEqual({
      ok: false,
      text: "Failed: deployment 5 does not record which overlay it changed.",
    });
    expect(w.remote.branches()).toEqual(["main"]);
  });
});
