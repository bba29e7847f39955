// The strict GitHub mock is what makes the handler and flow tests strict: it must fail a test on
// a call nobody expected and on an expected call that never came, and say which calls were made.
import { describe, expect, it } from "vitest";
import { Octokit } from "@octokit/rest";
import { mockGitHub, verifyGitHubMocks } from "./helpers/github-mock.js";

const octokit = new Octokit({ auth: "ghs_test", request: { retries: 0 } });

describe("the strict GitHub mock, as run after every test", () => {
  it("fails on a mock that was never used, listing the calls made", async () => {
    const gh = mockGitHub();
    gh.scope.get("/repos/acme/manifests").reply(200, { id: 1 });
    gh.scope.get("/repos/acme/manifests/pulls/1").reply(200, { number: 1 });
    await octokit.rest.repos.get({ owner: "acme", repo: "manifests" });
    expect(() => verifyGitHubMocks()).toThrow(
      /mocks never used:\n.*\/repos\/acme\/manifests\/pulls\/1[\s\S]*calls made:\nGET \/repos\/acme\/manifests/,
    );
  });

  it("fails on a request no mock expected", async () => {
    const gh = mockGitHub();
    gh.scope.get("/repos/acme/manifests").reply(200, { id: 1 });
    await octokit.rest.repos.get({ owner: "acme", repo: "manifests" });
    await expect(octokit.rest.issues.create({ owner: "acme", repo: "manifests", title: "x" })).rejects.toThrow();
    expect(() => verifyGitHubMocks()).toThrow(/requests without a mock:\nPOST \/repos\/acme\/manifests\/issues/);
  });

  it("passes when every mock was used and nothing else was asked", async () => {
    const gh = mockGitHub();
    gh.scope.get("/repos/acme/manifests").reply(200, { id: 1 });
    await octokit.rest.repos.get({ owner: "acme", repo: "manifests" });
    expect(() => verifyGitHubMocks()).not.toThrow();
    expect(gh.calls()).toEqual(["GET /repos/acme/manifests"]);
  });
});
