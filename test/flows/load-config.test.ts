// load-config: `.github/conveyor.yml`, read the way Probot reads it. On an event an invalid file is
// reported in one conveyor:config issue (updated, never duplicated) and Conveyor does nothing;
// readConfig, used away from events, never reports. Strict GitHub mocks state every call.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { markerTag } from "../../src/core/markers.js";
import { parseConfig } from "../../src/core/config.js";
import { loadConfig, readConfig } from "../../src/flows/load-config.js";
import { mockConfig } from "../helpers/github-mock.js";
import { flowWorld, OWNER, R, REPO, type FlowWorld } from "../helpers/flow-world.js";

const CONFIG_PATH = `${R}/contents/.github%2Fconveyor.yml`;
/** The same request as the mock log records it (decoded). */
const CONFIG_CALL = `GET ${R}/contents/.github/conveyor.yml`;
const TITLE = "Conveyor: .github/conveyor.yml is invalid";
const MARKER = markerTag("conveyor:config");
const INVALID = `environments:
  - name: Staging
    soak: soon
rollback:
  auto: maybe
`;

let w: FlowWorld;
beforeEach(() => (w = flowWorld()));
afterEach(() => w.cleanup());

const load = () => loadConfig(w.scope.gh, w.scope.log);
const read = () => readConfig(w.scope.gh);

function expectConfigIssues(existing: Array<{ number: number; title: string; body: string }>) {
  w.gh.scope
    .get(`${R}/issues`)
    .query({ state: "open", labels: "conveyor:config", per_page: "100" })
    .reply(200, existing);
}

function expectIssueCreated() {
  const seen: { body?: Record<string, unknown> } = {};
  w.gh.scope.post(`${R}/issues`, (body) => ((seen.body = body), true)).reply(201, { number: 8 });
  return seen;
}

describe("loadConfig", () => {
  it("without a file (in the repo or the org's .github) uses the defaults: staging auto-merges, then production", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);

    const config = await load();

    expect(config).toEqual((parseConfig(null) as { ok: true; config: unknown }).config);
    expect(config?.environments.map((e) => [e.name, e.autoMerge, e.soak])).toEqual([
      ["staging", true, 120_000],
      ["production", false, 300_000],
    ]);
    expect(w.gh.calls()).toEqual([CONFIG_CALL, `GET /repos/${OWNER}/.github/contents/.github/conveyor.yml`]);
  });

  it("honours a valid file, read with one call", async () => {
    mockConfig(
      w.gh.scope,
      OWNER,
      REPO,
      "environments:\n  - name: dev\n    autoMerge: true\n  - name: prod\n    approvers: ['@acme/sre']\n",
    );

    const config = await load();

    expect(config?.environments.map((e) => e.name)).toEqual(["dev", "prod"]);
    expect(config?.environments[1]?.approvers).toEqual(["@acme/sre"]);
    expect(w.gh.calls()).toHaveLength(1);
  });

  it("reports an invalid file in a conveyor:config issue that lists each problem by key, and returns nothing", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, INVALID);
    expectConfigIssues([]);
    const created = expectIssueCreated();

    expect(await load()).toBeUndefined();

    expect(created.body).toMatchObject({ title: TITLE, labels: ["conveyor:config"] });
    const body = created.body?.body as string;
    expect(body).toContain("does nothing for this repository until it is fixed");
    expect(body).toContain(
      "| `environments.0.name` | must be a lowercase name: a-z, 0-9, '.', '_' or '-', 1 to 63 characters |",
    );
    expect(body).toContain('| `environments.0.soak` | use a number of seconds or a duration like "30s", "5m", "1h" |');
    expect(body).toContain("| `rollback.auto` |");
    expect(body.endsWith(MARKER)).toBe(true);
    expect(w.logs.some((l) => l.level === "warn" && l.msg?.includes("invalid .github/conveyor.yml"))).toBe(true);
  });

  it("updates the open config issue instead of opening a second one", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, INVALID);
    expectConfigIssues([{ number: 5, title: TITLE, body: `| \`environments\` | Too small |\n\n${MARKER}` }]);
    let update: Record<string, unknown> | undefined;
    w.gh.scope.patch(`${R}/issues/5`, (body) => ((update = body), true)).reply(200, {});

    expect(await load()).toBeUndefined();

    expect(update?.title).toBe(TITLE);
    expect(update?.body).toContain("| `environments.0.name` |");
    expect(update?.body).not.toContain("Too small");
  });

  it("leaves an open config issue that already says the same alone", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, INVALID);
    expectConfigIssues([]);
    const created = expectIssueCreated();
    await load();
    const { title, body } = created.body as { title: string; body: string };

    mockConfig(w.gh.scope, OWNER, REPO, INVALID);
    expectConfigIssues([{ number: 8, title, body }]);
    expect(await load()).toBeUndefined();

    expect(w.gh.calls().filter((c) => !c.startsWith("GET"))).toEqual([`POST ${R}/issues`]);
  });

  it.each([
    ["an unclosed list", "environments: [staging\n", "not valid YAML"],
    ["a bare string", "just some words\n", "not a mapping of settings"],
    ["a file of 300 KiB", `# ${"x".repeat(300 * 1024)}\nenvironments: [staging]\n`, "larger than 256 KiB"],
  ])("reports a file that cannot be used (%s) as a problem with the file", async (_name, yaml, problem) => {
    mockConfig(w.gh.scope, OWNER, REPO, yaml);
    expectConfigIssues([]);
    const created = expectIssueCreated();

    expect(await load()).toBeUndefined();

    expect(created.body?.body).toContain(`| \`(file)\` | ${problem} |`);
  });

  it("a GitHub error reading the file is an error, not an invalid config: no issue", async () => {
    w.gh.scope.get(CONFIG_PATH).reply(500, { message: "boom" });

    await expect(load()).rejects.toMatchObject({ status: 500 });
  });
});

describe("readConfig (verification, resuming, render checks)", () => {
  it("returns the defaults without a file", async () => {
    mockConfig(w.gh.scope, OWNER, REPO, undefined);

    expect((await read())?.environments.map((e) => e.name)).toEqual(["staging", "production"]);
  });

  it.each([
    ["an invalid file", INVALID],
    ["unparsable YAML", "environments: [staging\n"],
  ])("returns nothing for %s and never opens or updates an issue", async (_name, yaml) => {
    mockConfig(w.gh.scope, OWNER, REPO, yaml);

    expect(await read()).toBeUndefined();

    expect(w.gh.calls()).toEqual([CONFIG_CALL]);
  });
});
