// The GitHub calls a verdict's flow makes on the manifests repository, as strict mocks that keep
// what was sent: a new PR (with its labels), and a verdict's comment on a PR.
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
