// The GitHub calls a verdict's flow makes on the manifests repository, as strict mocks that keep
// what was sent: a new PR (with its labels), a verdict's comment on a PR, and the lookup of where an
// image came from.
import type { FlowWorld } from "./flow-world.js";
import { R } from "./flow-world.js";

export function expectNewPr(w: FlowWorld, number: number) {
  const seen: { create?: Record<string, string>; labels?: unknown } = {};
  w.gh.scope
    .post(`${R}/pulls`, (b) => ((seen.create = b), true))
    .reply(201, { number, html_url: `https://github.com/acme/manifests/pull/${number}`, head: { sha: "x" } });
  w.gh.scope.post(`${R}/issues/${number}/labels`, (b) => ((seen.labels = b), true)).reply(200, []);
  return seen;
}

/** A comment on the PR, after checking that this verdict has not commented there already. */
export function expectVerdictComment(w: FlowWorld, number: number) {
  const seen: { body?: string } = {};
  w.gh.scope.get(`${R}/issues/${number}/comments`).query({ per_page: "100" }).reply(200, []);
  w.gh.scope
    .post(`${R}/issues/${number}/comments`, (b: { body: string }) => ((seen.body = b.body), true))
    .reply(201, { id: 1, html_url: "c" });
  return seen;
}

/**
 * Where an image came from: Conveyor's Deployments of it (the newest 100). Asked for the image a
 * revert goes back to, and for the image a verified change replaced (its commit is superseded).
 */
export function expectDeploymentsOfImage(
  w: FlowWorld,
  deployments: Array<{ id: number; payload: Record<string, unknown> }> = [],
) {
  w.gh.scope
    .get(`${R}/deployments`)
    .query({ task: "deploy", per_page: "100" })
    .reply(
      200,
      deployments.map((d) => ({
        ...d,
        sha: "a".repeat(40),
        environment: "staging",
        created_at: "2026-01-01T09:00:00Z",
      })),
    );
}
