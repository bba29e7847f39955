// Strict mocks of the PR calls a publishing flow makes (opening a PR, finding the open one), for
// flow tests over a FlowWorld. `bodies` keeps the last body Conveyor wrote to each PR, so a later
// `pulls.list` hands it back as GitHub would.
import { BOT, OWNER, R, REPO, type FlowWorld } from "./flow-world.js";

/** Mocks `pulls.create` + `issues.addLabels` (exactly `labels`); returns what create was sent. */
export function expectNewPr(w: FlowWorld, bodies: Map<number, string>, number: number, labels: string[]) {
  const seen: { create?: Record<string, unknown>; labels?: Record<string, unknown> } = {};
  w.gh.scope
    .post(`${R}/pulls`, (body) => {
      seen.create = body;
      bodies.set(number, body.body as string);
      return true;
    })
    .reply(201, { number, html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`, head: { sha: "x" } });
  w.gh.scope
    .post(`${R}/issues/${number}/labels`, (body) => {
      seen.labels = body;
      return JSON.stringify(body) === JSON.stringify({ labels });
    })
    .reply(200, []);
  return seen;
}

/** Mocks `pulls.list` for a bot branch: the open PR from it at the branch's head, or none. */
export function expectOpenPr(
  w: FlowWorld,
  bodies: Map<number, string>,
  branch: string,
  number: number | undefined,
  labels: string[],
) {
  w.gh.scope
    .get(`${R}/pulls`)
    .query({ state: "open", head: `${OWNER}:${branch}`, per_page: "5" })
    .reply(
      200,
      number === undefined
        ? []
        : [
            {
              number,
              state: "open",
              html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`,
              head: { sha: w.remote.head(branch), ref: branch, repo: { full_name: `${OWNER}/${REPO}` } },
              user: { login: BOT, type: "Bot" },
              body: bodies.get(number) ?? "",
              labels: labels.map((name) => ({ name })),
            },
          ],
    );
}
