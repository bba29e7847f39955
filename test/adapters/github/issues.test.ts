// Issues adapter: one open issue per marker, even when several events ask for it at once.
import { describe, expect, it } from "vitest";
import type { Octokit } from "../../../src/adapters/github/client.js";
import { Issues } from "../../../src/adapters/github/issues.js";
import { markerTag } from "../../../src/core/markers.js";
import { mockGitHub } from "../../helpers/github-mock.js";
import { UnthrottledOctokit } from "../../helpers/probot.js";

const R = "/repos/acme/manifests";

describe("Issues.upsert", () => {
  it("twelve rejections at once make one issue, then update it: no duplicates", async () => {
    const gh = mockGitHub();
    // GitHub's state as the calls see it: the list shows the issue once it has been created.
    let issue: { number: number; title: string; body: string } | undefined;
    gh.scope
      .get(`${R}/issues`)
      .query({ state: "open", labels: "conveyor:error", per_page: "100" })
      .times(12)
      .reply(() => [200, issue ? [issue] : []]);
    gh.scope.post(`${R}/issues`).reply((_uri, body) => {
      const b = body as { title: string; body: string };
      issue = { number: 7, title: b.title, body: b.body };
      return [201, { number: 7 }];
    });
    const issues = new Issues(new UnthrottledOctokit({ auth: { token: "ghs_t" } }) as Octokit, {
      owner: "acme",
      repo: "manifests",
    });
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        issues.upsert({
          label: "conveyor:error",
          marker: "conveyor:error:api:older-version",
          title: "Refused",
          body: "why",
        }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.number))).toEqual(new Set([7]));
    expect(issue?.body).toBe(`why\n\n${markerTag("conveyor:error:api:older-version")}`);
    expect(gh.calls().filter((c) => c.startsWith("POST"))).toEqual([`POST ${R}/issues`]);
  });
});
