// Strict GitHub HTTP expectations, after Renovate's helper: a request without a mock fails the
// test, and so does a mock that was never used. Every test states the calls its flow makes; the
// check runs by itself after each test (test/setup.ts), and its failure lists the calls made.
import nock from "nock";

export const API = "https://api.github.com";

export interface GitHubMock {
  scope: nock.Scope;
  /** Requests that matched no mock (each fails the test in `verify`). */
  unmatched: string[];
  /** API calls served, not counting installation-token requests. */
  calls(): string[];
  /** Fails on unmatched requests and unused mocks; runs after every test, once. */
  verify(): void;
}

const active = new Set<GitHubMock>();

/** Verifies every mock made in the test that just ended (test/setup.ts calls this after each test). */
export function verifyGitHubMocks(): void {
  const mocks = [...active];
  active.clear();
  for (const mock of mocks) mock.verify();
}

export function mockGitHub(): GitHubMock {
  nock.disableNetConnect();
  const unmatched: string[] = [];
  const served: string[] = [];
  const onNoMatch = (req: { method?: string; path?: string; options?: { method?: string; path?: string } }) => {
    unmatched.push(`${req.method ?? req.options?.method} ${req.path ?? req.options?.path}`);
  };
  nock.emitter.on("no match", onNoMatch);
  const scope = nock(API);
  scope.on("request", (req: { method: string; path: string }) => {
    if (!/\/access_tokens$/.test(req.path))
      served.push(`${req.method} ${decodeURIComponent(req.path.split("?")[0] as string)}`);
  });
  let verified = false;
  const mock: GitHubMock = {
    scope,
    unmatched,
    calls: () => [...served],
    verify() {
      if (verified) return;
      verified = true;
      active.delete(mock);
      nock.emitter.removeListener("no match", onNoMatch);
      const pending = scope.pendingMocks();
      nock.cleanAll();
      const made = `calls made:\n${served.join("\n") || "(none)"}`;
      if (unmatched.length) throw new Error(`requests without a mock:\n${unmatched.join("\n")}\n${made}`);
      if (pending.length) throw new Error(`mocks never used:\n${pending.join("\n")}\n${made}`);
    },
  };
  active.add(mock);
  return mock;
}

export function mockInstallationToken(
  scope: nock.Scope,
  installationId: number,
  token = "ghs_testinstallationtoken000000000000",
): void {
  scope
    .post(`/app/installations/${installationId}/access_tokens`)
    .reply(201, { token, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: {} });
}

/** Probot looks for .github/conveyor.yml in the repo, then in the org's .github repo. */
export function mockConfig(scope: nock.Scope, owner: string, repo: string, yaml: string | undefined): void {
  const path = "/contents/.github%2Fconveyor.yml";
  if (yaml !== undefined) {
    scope
      .get(`/repos/${owner}/${repo}${path}`)
      .reply(200, yaml, { "content-type": "application/vnd.github.v3.raw; charset=utf-8" });
    return;
  }
  scope.get(`/repos/${owner}/${repo}${path}`).reply(404, { message: "Not Found" });
  scope.get(`/repos/${owner}/.github${path}`).reply(404, { message: "Not Found" });
}
