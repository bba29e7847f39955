// Conveyor's Octokit: writes are spaced by the configured interval across every client the class
// makes (one per installation token), and a secondary rate limit is waited out and retried.
// The build of Bottleneck Octokit's throttling plugin loads.
// @ts-expect-error: the package declares types for its main build only
import BottleneckLight from "bottleneck/light.js";
import { describe, expect, it, vi } from "vitest";
import { LightLimiter } from "../../../src/adapters/github/limiter.js";
import { conveyorOctokit } from "../../../src/adapters/github/octokit.js";
import { mockGitHub, type GitHubMock } from "../../helpers/github-mock.js";

let gh: GitHubMock | undefined;

/** A strict mock for `times` writes to `path` that records when each arrived. */
function arrivals(path: string, times: number, status: number, body: unknown): number[] {
  gh = mockGitHub();
  const at: number[] = [];
  gh.scope
    .post(path)
    .times(times)
    .reply(() => (at.push(performance.now()), [status, body]));
  return at;
}

describe("conveyorOctokit", () => {
  it("spaces writes by writeIntervalMs, shared by every client of the class", async () => {
    const at = arrivals("/repos/acme/manifests/issues/1/labels", 4, 200, []);
    const Octokit = conveyorOctokit({ writeIntervalMs: 300 });
    const clients = [new Octokit({ auth: "ghs_one" }), new Octokit({ auth: "ghs_two" })];
    // Without Redis, every limit is kept by the light limiter, not Bottleneck.
    const light = vi.spyOn(LightLimiter.prototype, "schedule");
    const bottleneck = vi.spyOn((BottleneckLight as { prototype: { schedule(): unknown } }).prototype, "schedule");
    const started = performance.now();
    await Promise.all(
      [0, 1, 2, 3].map((i) =>
        clients[i % 2]?.rest.issues.addLabels({ owner: "acme", repo: "manifests", issue_number: 1, labels: [`l${i}`] }),
      ),
    );
    // Four writes spaced 300 ms apart cannot all arrive sooner than 900 ms after the first was
    // asked for; one limiter per client would let them through in 300 ms. A busy machine only
    // delays arrivals, so this bound holds under load (gaps between arrivals would not).
    expect(Math.max(...at) - started).toBeGreaterThanOrEqual(870);
    // Per write: the retry limiter, the write spacing and the global concurrency.
    expect(light.mock.calls.length).toBeGreaterThanOrEqual(12);
    expect(bottleneck).not.toHaveBeenCalled();
    light.mockRestore();
    bottleneck.mockRestore();
  });

  it("spaces writes that notify people (PRs, comments) by notificationIntervalMs", async () => {
    const at = arrivals("/repos/acme/manifests/issues/1/comments", 3, 201, {});
    const Octokit = conveyorOctokit({ writeIntervalMs: 10, notificationIntervalMs: 400 });
    const octokit = new Octokit({ auth: "ghs_one" });
    const started = performance.now();
    await Promise.all(
      [0, 1, 2].map((i) =>
        octokit.rest.issues.createComment({ owner: "acme", repo: "manifests", issue_number: 1, body: `c${i}` }),
      ),
    );
    // Spaced by the 400 ms notification interval, not the 10 ms write interval.
    expect(Math.max(...at) - started).toBeGreaterThanOrEqual(770);
  });

  it("waits out a secondary rate limit and sends the write again", async () => {
    gh = mockGitHub();
    gh.scope
      .post("/repos/acme/manifests/pulls")
      .reply(403, { message: "You have exceeded a secondary rate limit" }, { "retry-after": "1" })
      .post("/repos/acme/manifests/pulls")
      .reply(201, { number: 7 });
    const Octokit = conveyorOctokit({ writeIntervalMs: 10, notificationIntervalMs: 10 });
    const octokit = new Octokit({ auth: "ghs_one" });
    const started = performance.now();
    const { data } = await octokit.rest.pulls.create({
      owner: "acme",
      repo: "manifests",
      head: "conveyor/staging/cart",
      base: "main",
      title: "t",
    });
    expect(data.number).toBe(7);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("sends a request again after a server error, not after a refusal, without a Bottleneck per request", async () => {
    gh = mockGitHub();
    gh.scope
      .get("/repos/acme/manifests/pulls/1")
      .reply(502, { message: "Server Error" })
      .get("/repos/acme/manifests/pulls/1")
      .reply(200, { number: 1 })
      .get("/repos/acme/manifests/pulls/2")
      .reply(404, { message: "Not Found" });
    const bottleneck = vi.spyOn((BottleneckLight as { prototype: { schedule(): unknown } }).prototype, "schedule");
    const Octokit = conveyorOctokit({ writeIntervalMs: 1, notificationIntervalMs: 1 });
    const octokit = new Octokit({ auth: "ghs_one" });
    const started = performance.now();
    expect((await octokit.request("GET /repos/acme/manifests/pulls/1")).data).toEqual({ number: 1 });
    // The first retry waits a second.
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    // Asked once: the strict mock has no second answer for it.
    await expect(octokit.request("GET /repos/acme/manifests/pulls/2")).rejects.toMatchObject({ status: 404 });
    expect(bottleneck).not.toHaveBeenCalled();
    bottleneck.mockRestore();
  });

  it("gives JSON, text and bytes back as Octokit does, and a stream to whoever asks for one", async () => {
    gh = mockGitHub();
    const pull = { number: 7, id: 2_147_483_648_123, title: "Deploy", labels: [{ name: "conveyor" }], draft: false };
    gh.scope
      .get("/repos/acme/manifests/pulls/7")
      .reply(200, JSON.stringify(pull), { "content-type": "application/json; charset=utf-8" })
      .get("/repos/acme/manifests/contents/a.txt")
      .reply(200, "plain text", { "content-type": "text/plain; charset=utf-8" })
      .get("/repos/acme/manifests/tarball/main")
      .reply(200, Buffer.from([0, 1, 2, 255]), { "content-type": "application/octet-stream" })
      .get("/repos/acme/manifests/zipball/main")
      .reply(200, "streamed", { "content-type": "application/zip" })
      .delete("/repos/acme/manifests/git/refs/heads/old")
      .reply(204)
      .get("/repos/acme/manifests/pulls/8")
      .reply(200, "{not json", { "content-type": "application/json" })
      .get("/repos/acme/manifests/pulls/9")
      .reply(422, { message: "Validation Failed", errors: [] }, { "content-type": "application/json" })
      .get("/repos/acme/manifests/pulls/10")
      .reply(200, '{"id":12345678901234567890}', { "content-type": "application/json" });
    const Octokit = conveyorOctokit({ writeIntervalMs: 1, notificationIntervalMs: 1 });
    const octokit = new Octokit({ auth: "ghs_one" });
    const got = await octokit.request("GET /repos/acme/manifests/pulls/7");
    expect(got.data).toEqual(pull);
    expect(got.headers["content-type"]).toBe("application/json; charset=utf-8");
    // Pagination reads the page's address from the response.
    expect(got.url).toBe("https://api.github.com/repos/acme/manifests/pulls/7");
    expect((await octokit.request("GET /repos/acme/manifests/contents/a.txt")).data).toBe("plain text");
    const bytes = (await octokit.request("GET /repos/acme/manifests/tarball/main")).data as ArrayBuffer;
    expect([...new Uint8Array(bytes)]).toEqual([0, 1, 2, 255]);
    const stream = (
      await octokit.request("GET /repos/acme/manifests/zipball/main", { request: { parseSuccessResponseBody: false } })
    ).data as unknown as ReadableStream;
    expect(await new Response(stream).text()).toBe("streamed");
    const deleted = await octokit.request("DELETE /repos/acme/manifests/git/refs/heads/old");
    expect([deleted.status, deleted.data]).toEqual([204, ""]);
    // What is not JSON after all is given as the text it is, as Octokit does.
    expect((await octokit.request("GET /repos/acme/manifests/pulls/8")).data).toBe("{not json");
    // An error keeps its parsed body, which Octokit reads the message from.
    await expect(octokit.request("GET /repos/acme/manifests/pulls/9")).rejects.toMatchObject({
      status: 422,
      message: expect.stringContaining("Validation Failed"),
      response: { data: { message: "Validation Failed" } },
    });
    // Numbers come back as numbers, never BigInt, which JSON.stringify (every log line) refuses.
    const big = (await octokit.request("GET /repos/acme/manifests/pulls/10")).data as { id: unknown };
    expect(typeof big.id).toBe("number");
    expect(() => JSON.stringify(big)).not.toThrow();
  });
});
