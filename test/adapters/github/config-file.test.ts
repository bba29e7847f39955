// config-file: `.github/conveyor.yml` read as Probot reads it (the repository, the organisation's
// .github, `_extends`), asked for again conditionally, parsed once per text, and refused whole
// when it is too large or not a mapping. Strict GitHub mocks state every call.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Octokit } from "../../../src/adapters/github/client.js";
import { ConfigFileProblem, MAX_CONFIG_BYTES, readConfigFile } from "../../../src/adapters/github/config-file.js";
import { mockGitHub } from "../../helpers/github-mock.js";
import { UnthrottledOctokit } from "../../helpers/probot.js";

const RAW = { "content-type": "application/vnd.github.raw; charset=utf-8" };
const FILE = "/contents/.github%2Fconveyor.yml";
const octokit = () => new UnthrottledOctokit({ auth: { token: "ghs_t" } }) as Octokit;
/** A repository no other test read: answers are kept by address across reads. */
const fresh = () => ({ owner: "acme", repo: `manifests-${randomUUID().slice(0, 8)}` });

describe("readConfigFile", () => {
  it("asks again with the ETag, and on 304 uses the file read before without parsing it again", async () => {
    const gh = mockGitHub();
    const ref = fresh();
    const text = `environments:\n  - name: staging\n    autoMerge: true\n# ${randomUUID()}\n`;
    gh.scope.get(`/repos/acme/${ref.repo}${FILE}`).reply(200, text, { ...RAW, etag: '"v1"' });
    gh.scope.get(`/repos/acme/${ref.repo}${FILE}`).matchHeader("if-none-match", '"v1"').reply(304, "");

    const first = (await readConfigFile(octokit(), ref, "conveyor.yml")) as { environments: unknown[] };
    const second = (await readConfigFile(octokit(), ref, "conveyor.yml")) as { environments: unknown[] };

    expect(first).toEqual({ environments: [{ name: "staging", autoMerge: true }] });
    expect(second).toEqual(first);
    // The same parse, shared and frozen: no reader can change what the next one sees.
    expect(second.environments).toBe(first.environments);
    expect(Object.isFrozen(first.environments[0])).toBe(true);
  });

  it("reads a changed file anew", async () => {
    const gh = mockGitHub();
    const ref = fresh();
    gh.scope.get(`/repos/acme/${ref.repo}${FILE}`).reply(200, "environments: [staging]\n", { ...RAW, etag: '"v1"' });
    gh.scope
      .get(`/repos/acme/${ref.repo}${FILE}`)
      .matchHeader("if-none-match", '"v1"')
      .reply(200, "environments: [qa]\n", { ...RAW, etag: '"v2"' });

    expect(await readConfigFile(octokit(), ref, "conveyor.yml")).toEqual({ environments: ["staging"] });
    expect(await readConfigFile(octokit(), ref, "conveyor.yml")).toEqual({ environments: ["qa"] });
  });

  it("falls back to the organisation's .github and follows _extends, the extending file's keys first", async () => {
    const gh = mockGitHub();
    const ref = fresh();
    const shared = `shared-${randomUUID().slice(0, 8)}`;
    gh.scope.get(`/repos/acme/${ref.repo}${FILE}`).reply(404, { message: "Not Found" });
    gh.scope
      .get(`/repos/acme/.github${FILE}`)
      .reply(200, `_extends: platform/${shared}:ci/base.yml\nenvironments: [staging]\n`, RAW);
    gh.scope
      .get(`/repos/platform/${shared}/contents/ci%2Fbase.yml`)
      .reply(200, "environments: [production]\nrender:\n  enabled: false\n", RAW);

    expect(await readConfigFile(octokit(), ref, "conveyor.yml")).toEqual({
      environments: ["staging"],
      render: { enabled: false },
    });
  });

  it("refuses an _extends loop, naming it", async () => {
    const gh = mockGitHub();
    const ref = fresh();
    gh.scope.get(`/repos/acme/${ref.repo}${FILE}`).reply(200, "_extends: other\nenvironments: [staging]\n", RAW);
    gh.scope.get(`/repos/acme/other${FILE}`).reply(200, `_extends: ${ref.repo}\n`, RAW);

    const error = await readConfigFile(octokit(), ref, "conveyor.yml").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigFileProblem);
    expect((error as ConfigFileProblem).problem).toBe(`_extends: ${ref.repo} was already read`);
  });

  it("refuses a chain of _extends longer than ten files, reading no further", async () => {
    const gh = mockGitHub();
    const ref = fresh();
    const chain = Array.from({ length: 10 }, (_, i) => `${ref.repo}-base-${i}`);
    gh.scope.get(`/repos/acme/${ref.repo}${FILE}`).reply(200, `_extends: ${chain[0]}\n`, RAW);
    chain.slice(0, 9).forEach((repo, i) => {
      gh.scope.get(`/repos/acme/${repo}${FILE}`).reply(200, `_extends: ${chain[i + 1]}\n`, RAW);
    });

    const error = await readConfigFile(octokit(), ref, "conveyor.yml").catch((e: unknown) => e);
    expect((error as ConfigFileProblem).problem).toBe("more than 10 files through _extends");
    expect(gh.calls()).toHaveLength(10);
  });

  it.each([
    ["larger than 256 KiB", `# ${"x".repeat(MAX_CONFIG_BYTES)}\nenvironments: [staging]\n`, "larger than 256 KiB"],
    ["not valid YAML", "environments: [staging\n", "not valid YAML"],
    ["a string, not settings", "just words\n", "not a mapping of settings"],
  ])("refuses a file that is %s, with that reason", async (_what, text, problem) => {
    const gh = mockGitHub();
    const ref = fresh();
    gh.scope.get(`/repos/acme/${ref.repo}${FILE}`).reply(200, `${text}# ${randomUUID()}\n`, RAW);

    const error = await readConfigFile(octokit(), ref, "conveyor.yml").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigFileProblem);
    expect((error as ConfigFileProblem).problem).toBe(problem);
    expect((error as Error).message).toContain(`/repos/acme/${ref.repo}/contents/.github%2Fconveyor.yml`);
  });

  it("reads nothing when neither place has a file", async () => {
    const gh = mockGitHub();
    const ref = fresh();
    gh.scope.get(`/repos/acme/${ref.repo}${FILE}`).reply(404, { message: "Not Found" });
    gh.scope.get(`/repos/acme/.github${FILE}`).reply(404, { message: "Not Found" });

    expect(await readConfigFile(octokit(), ref, "conveyor.yml")).toBeNull();
  });
});
