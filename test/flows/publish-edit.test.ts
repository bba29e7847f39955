// publish-edit: the one path by which a planned edit becomes a commit on a bot branch and a PR.
// Real git (a bare remote, pushes with a lease), strict GitHub mocks.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { signedState } from "../../src/flows/pr-state.js";
import { publishEdit, type Edit } from "../../src/flows/publish-edit.js";
import { flowWorld, R, type FlowWorld } from "../helpers/flow-world.js";

const FILE = "services/order-service/overlays/staging/kustomization.yaml";
const BRANCH = "conveyor/staging/order-service";

let w: FlowWorld;
beforeEach(() => (w = flowWorld()));
afterEach(() => w.cleanup());

function edit(parent: string, branchSha: string | undefined, text: string, pr: Partial<Edit["pr"]> = {}): Edit {
  return {
    branch: BRANCH,
    branchSha,
    parent,
    file: FILE,
    text,
    message: "deploy(order-service/staging): 1.4.0 -> 1.5.0",
    pr: {
      title: "Deploy order-service 1.5.0 to staging",
      body: () => "body",
      labels: ["conveyor", "env/staging"],
      state: {
        service: "order-service",
        env: "staging",
        from: "ghcr.io/acme/order-service:1.4.0",
        to: "ghcr.io/acme/order-service:1.5.0",
      },
      ...pr,
    },
  };
}

const bumped = (w: FlowWorld) => (w.remote.show("main", FILE) as string).replace('newTag: "1.4.0"', 'newTag: "1.5.0"');

describe("publishEdit", () => {
  it("commits the file onto a new bot branch and opens one labelled PR (2 calls)", async () => {
    let created: Record<string, unknown> | undefined;
    w.gh.scope
      .post(`${R}/pulls`, (b) => ((created = b), true))
      .reply(201, { number: 5, html_url: "u", head: { sha: "x" } });
    w.gh.scope.post(`${R}/issues/5/labels`, { labels: ["conveyor", "env/staging"] }).reply(200, []);
    const text = bumped(w);
    const result = await publishEdit(w.services, w.scope, {
      service: "order-service",
      what: "order-service",
      plan: async (view) => ({ kind: "edit", edit: edit(view.defaultSha, undefined, text) }),
    });
    expect(result).toMatchObject({ kind: "opened", pr: 5 });
    expect(w.remote.show(BRANCH, FILE)).toBe(text);
    expect(w.remote.head(BRANCH)).toBe((result as { headSha: string }).headSha);
    expect(created).toMatchObject({
      head: BRANCH,
      base: "main",
      title: "Deploy order-service 1.5.0 to staging",
      maintainer_can_modify: false,
    });
    // The body ends with the state marker, signed for the commit just pushed.
    const body = String(created?.body);
    expect(body.startsWith("body\n\n<!-- conveyor:")).toBe(true);
    expect(signedState(w.services, "acme/manifests", body)).toMatchObject({
      service: "order-service",
      to: "ghcr.io/acme/order-service:1.5.0",
      head: w.remote.head(BRANCH),
    });
  });

  it("updates the existing PR, says why on it, and builds the body from the new commit", async () => {
    let bodyFor: string | undefined;
    let patched: { title?: string; body?: string } = {};
    w.gh.scope.patch(`${R}/pulls/9`, (b) => ((patched = b), true)).reply(200, {});
    w.gh.scope.post(`${R}/issues/9/comments`, { body: "superseded" }).reply(201, { id: 1, html_url: "c" });
    const result = await publishEdit(w.services, w.scope, {
      service: "order-service",
      what: "order-service",
      plan: async (view) => ({
        kind: "edit",
        edit: edit(view.defaultSha, undefined, bumped(w), {
          existing: 9,
          title: "t2",
          updateComment: "superseded",
          body: (commit) => ((bodyFor = commit), "body of the commit"),
        }),
      }),
    });
    expect(result).toMatchObject({ kind: "updated", pr: 9 });
    expect(bodyFor).toBe(w.remote.head(BRANCH));
    expect(patched.title).toBe("t2");
    expect(patched.body).toMatch(/^body of the commit\n\n<!-- conveyor:\{.*\} -->$/);
    expect(signedState(w.services, "acme/manifests", patched.body ?? "")?.head).toBe(w.remote.head(BRANCH));
  });

  it("re-plans after another writer moved the branch, and pushes on top of what it sees then", async () => {
    w.gh.scope.post(`${R}/pulls`).reply(201, { number: 6, html_url: "u", head: { sha: "x" } });
    w.gh.scope.post(`${R}/issues/6/labels`).reply(200, []);
    const text = bumped(w);
    const seen: Array<string | undefined> = [];
    const result = await publishEdit(w.services, w.scope, {
      service: "order-service",
      what: "order-service",
      plan: async (view) => {
        const current = await view.branchSha(BRANCH);
        seen.push(current);
        // The first plan leases on "no branch", but someone creates it before the push.
        if (seen.length === 1) w.remote.commit(BRANCH, { "other.txt": "someone else" }, "a person's commit");
        return { kind: "edit", edit: edit(view.defaultSha, current, text) };
      },
    });
    expect(result).toMatchObject({ kind: "opened", pr: 6 });
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBeUndefined();
    expect(seen[1]).toMatch(/^[0-9a-f]{40}$/);
    expect(w.logs.some((l) => l.msg?.includes("was rejected (someone else moved it)"))).toBe(true);
  });

  it("gives up after three refused pushes instead of looping, and says which branch kept moving", async () => {
    const text = bumped(w);
    let n = 0;
    const run = publishEdit(w.services, w.scope, {
      service: "order-service",
      what: "order-service",
      plan: async (view) => {
        w.remote.commit(BRANCH, { [`other-${++n}.txt`]: "x" }, "moves again");
        return { kind: "edit", edit: edit(view.defaultSha, undefined, text) };
      },
    });
    await expect(run).rejects.toThrow("could not push order-service after 3 attempts: the branch kept moving");
  });

  it("a plan that stops changes nothing and makes no call", async () => {
    const before = w.remote.branches();
    const result = await publishEdit(w.services, w.scope, {
      service: "order-service",
      what: "order-service",
      plan: async () => ({ kind: "stop", result: { kind: "noop" as const, reason: "already there" } }),
    });
    expect(result).toEqual({ kind: "noop", reason: "already there" });
    expect(w.remote.branches()).toEqual(before);
    expect(w.gh.calls()).toEqual([]);
  });
});
