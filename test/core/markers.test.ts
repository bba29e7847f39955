// The text protocol Conveyor keeps in GitHub, read back by its own parsers: whatever a writer puts
// into a PR or issue body must come back out as the same facts, and text a person (or Argo CD's
// messages, quoted in a reason) adds must not change them. Bodies are built the way GitHub ends up
// storing them: issues get their hidden marker appended by adapters/github/issues.ts (upsert).
import { describe, expect, it } from "vitest";
import {
  freezeIssueText,
  freezeMarker,
  holdIssueText,
  holdMarker,
  markerTag,
  parseFreezeIssue,
  parseHoldIssue,
  parseStateMarker,
  stateMarker,
  stateSigningText,
  type Hold,
  type PrState,
} from "../../src/core/markers.js";

const API = "ghcr.io/acme/api";

/** An issue body as Conveyor stores it: the text, a blank line, the marker. */
const issueBody = (body: string, marker: string) => `${body}\n\n${markerTag(marker)}`;

describe("PR state marker", () => {
  it.each<[string, Parameters<typeof stateMarker>[0], PrState]>([
    [
      "a move from one image to another",
      { service: "api", env: "staging", from: `${API}:1.4.0`, to: `${API}:1.5.0` },
      { service: "api", env: "staging", from: `${API}:1.4.0`, to: `${API}:1.5.0` },
    ],
    [
      "a first deploy (no previous image) reads back as from null",
      { service: "api", env: "production", from: undefined, to: `${API}:1.5.0` },
      { service: "api", env: "production", from: null, to: `${API}:1.5.0` },
    ],
    [
      "an explicit null from",
      { service: "api", env: "production", from: null, to: `${API}:1.5.0` },
      { service: "api", env: "production", from: null, to: `${API}:1.5.0` },
    ],
    [
      "a digest-pinned image",
      { service: "payments.v2", env: "eu-west_1", from: `${API}:1.4.0`, to: `${API}@sha256:${"a".repeat(64)}` },
      { service: "payments.v2", env: "eu-west_1", from: `${API}:1.4.0`, to: `${API}@sha256:${"a".repeat(64)}` },
    ],
  ])("round trip: %s", (_title, move, expected) => {
    const marker = stateMarker(move);
    expect(parseStateMarker(marker)).toEqual(expected);
    // In a PR body, among other text, it is an invisible HTML comment and still found.
    expect(parseStateMarker(`Conveyor deploys **api**.\n\n| a | b |\n\n${marker}\n`)).toEqual(expected);
    expect(marker).toMatch(/^<!-- conveyor:\{.*\} -->$/);
  });

  const valid = stateMarker({ service: "api", env: "staging", from: `${API}:1.4.0`, to: `${API}:1.5.0` });
  it.each<[string, string | null | undefined]>([
    ["a hand-edited marker that is no longer JSON", valid.replace('"service":', "service:")],
    ["a marker whose JSON lost its target image", '<!-- conveyor:{"service":"api","env":"staging","from":null} -->'],
    ["a marker whose image is not text", '<!-- conveyor:{"service":"api","env":"staging","to":15} -->'],
    ["a marker without its service", `<!-- conveyor:{"env":"staging","to":"${API}:1.5.0"} -->`],
    ["a marker without the comment's spaces", valid.replace("<!-- ", "<!--")],
    ["a body without a marker", "Bumps api to 1.5.0"],
    ["an empty body", ""],
    ["no body at all (null)", null],
    ["no body at all (undefined)", undefined],
  ])("absent: %s", (_title, body) => {
    expect(parseStateMarker(body)).toBeUndefined();
  });
});

describe("PR state marker: the image's source", () => {
  const SOURCE = {
    repository: "acme/api",
    sha: "a".repeat(40),
    runUrl: "https://github.com/acme/api/actions/runs/1",
    digest: `sha256:${"b".repeat(64)}`,
  };
  const move = { service: "api", env: "staging", from: `${API}:1.4.0`, to: `${API}:1.5.0` };

  it("is kept in the marker and read back", () => {
    const marker = stateMarker({ ...move, source: SOURCE, head: "c".repeat(40) });
    expect(marker).toContain(`"source":{"repository":"acme/api","sha":"${"a".repeat(40)}","run_url":`);
    expect(parseStateMarker(`body\n\n${marker}`)).toEqual({ ...move, source: SOURCE, head: "c".repeat(40) });
  });

  it("is covered by the signature, and a marker without one signs as before sources were kept", () => {
    const without = stateSigningText("acme/manifests", { ...move, head: "c" });
    expect(without).toBe(
      ["conveyor-pr-state/v1", "acme/manifests", "api", "staging", `${API}:1.4.0`, `${API}:1.5.0`, "c"].join("\n"),
    );
    expect(stateSigningText("acme/manifests", { ...move, head: "c", source: SOURCE })).not.toBe(without);
    expect(stateSigningText("acme/manifests", { ...move, head: "c", source: {} })).toBe(without);
  });

  it("an invalid source in an edited marker is dropped, not believed", () => {
    const marker = stateMarker({ ...move, head: "c".repeat(40) }).replace(
      '"to"',
      '"source":{"repository":"acme/api","sha":"not-a-sha"},"to"',
    );
    expect(parseStateMarker(marker)).toEqual({ ...move, head: "c".repeat(40) });
  });
});

describe("freeze issues", () => {
  const text = (env: string, reason?: string) =>
    freezeIssueText({
      env,
      user: "alice",
      at: "2025-06-02T09:14:05.000Z",
      reason,
      commentUrl: "https://github.com/acme/manifests/pull/12#issuecomment-7",
    });

  it.each([
    ["production", "release on Monday"],
    ["staging", undefined],
    ["eu-west_1.prod", "a reason\nover two lines"],
  ])("the freeze issue of %s reads back as that environment (reason %j)", (env, reason) => {
    const t = text(env, reason);
    expect(t.title).toBe(`Conveyor: ${env} is frozen`);
    expect(parseFreezeIssue(issueBody(t.body, freezeMarker(env)))).toBe(env);
  });

  it("says who froze it, when and why, and how to lift it; a reason stays on its line", () => {
    expect(text("production", "release\non Monday").body).toBe(
      [
        "**production** is frozen: Conveyor merges nothing into it automatically and promotes nothing into it, for every service.",
        "",
        "- Frozen by: @alice",
        "- When: 2025-06-02T09:14:05.000Z",
        "- Why: `release on Monday` ([comment](https://github.com/acme/manifests/pull/12#issuecomment-7))",
        "",
        "Comment `/unhold` here (or `/unhold production` on any pull request) to unfreeze it.",
      ].join("\n"),
    );
    expect(text("staging").body).toContain("- Why: no reason given ([comment](");
  });

  // Regression (found in review, fixed): the reason (written by whoever comments `/hold staging -- ...`) is copied into the body
  // before the real marker, and parseFreezeIssue takes the first marker it finds: the staging
  // freeze reads back as a production freeze, so staging keeps auto-merging and production stops.
  it("a reason quoting another environment's freeze marker cannot change the frozen environment", () => {
    const t = text("staging", "see <!-- conveyor:freeze:production -->");
    expect(parseFreezeIssue(issueBody(t.body, freezeMarker("staging")))).toBe("staging");
  });

  it.each<[string, string | null | undefined]>([
    ["a hold issue", issueBody("held image: `x:1`", holdMarker("api", "staging"))],
    ["a freeze marker with an upper-case environment", "<!-- conveyor:freeze:Production -->"],
    ["the marker's text without the comment around it", "conveyor:freeze:production"],
    ["an ordinary issue", "The staging cluster is slow"],
    ["no body", null],
    ["undefined", undefined],
  ])("other text is not a freeze: %s", (_title, body) => {
    expect(parseFreezeIssue(body)).toBeUndefined();
  });
});

describe("hold issues", () => {
  const IMAGE = `${API}:1.5.0`;
  const hold = (reason: string, image = IMAGE, service = "api", env = "staging") =>
    issueBody(holdIssueText({ service, env, reason, image }).body, holdMarker(service, env));

  it.each<[string, string, Hold]>([
    ["a tag", hold("Degraded", IMAGE), { service: "api", env: "staging", image: IMAGE }],
    [
      "a digest",
      hold("Degraded", `${API}@sha256:${"b".repeat(64)}`),
      { service: "api", env: "staging", image: `${API}@sha256:${"b".repeat(64)}` },
    ],
    [
      "names with dots, dashes and underscores",
      hold("Degraded", IMAGE, "payments.v2", "eu-west_1"),
      { service: "payments.v2", env: "eu-west_1", image: IMAGE },
    ],
  ])("the hold issue reads back as its service, environment and image (%s)", (_title, body, expected) => {
    expect(parseHoldIssue(body)).toEqual(expected);
  });

  it("its title and text name the service, environment, reason and image", () => {
    const t = holdIssueText({ service: "api", env: "staging", reason: "Degraded", image: IMAGE });
    expect(t.title).toBe("Conveyor: api is held in staging");
    expect(t.body).toBe(
      [
        "The rollout of api in **staging** failed: Degraded",
        "",
        `held image: \`${IMAGE}\``,
        "",
        "Nothing is merged automatically for api in staging with this image until a newer image arrives or someone comments `/unhold` here.",
      ].join("\n"),
    );
  });

  const FAKE = "held image: `ghcr.io/evil/api:6.6.6`";
  it.each([
    ["a newline", `sync failed\n${FAKE}\nmore`],
    ["CRLF line ends", `sync failed\r\n${FAKE}\r\n`],
    ["bare carriage returns", `sync failed\r${FAKE}\r`],
    ["several blank lines", `sync failed\n\n\n${FAKE}\n\n`],
    ["the fake line first", `${FAKE}\nsync failed`],
  ])("a reason with %s and a fake 'held image:' line cannot change the parsed image", (_title, reason) => {
    expect(parseHoldIssue(hold(reason))).toEqual({ service: "api", env: "staging", image: IMAGE });
  });

  // Regression (found in review, fixed): holdIssueText only flattens \r and \n, but the parser's /^...$/m also starts a line after
  // U+2028 and U+2029. A reason (Argo CD's messages are quoted in it) carrying one of them fakes the
  // held image: Conveyor then believes a newer image arrived, lifts the hold and auto-merges the
  // image that just failed.
  it.each([
    ["U+2028 (line separator)", `sync failed\u2028${FAKE}\u2028`],
    ["U+2029 (paragraph separator)", `sync failed\u2029${FAKE}\u2029`],
  ])("a reason with %s and a fake 'held image:' line cannot change the parsed image", (_title, reason) => {
    expect(parseHoldIssue(hold(reason))).toEqual({ service: "api", env: "staging", image: IMAGE });
  });

  // Regression (found in review, fixed): as with freezes, the reason comes before the real marker and the first marker wins: a
  // reason quoting another service's hold marker moves the hold to that service and environment.
  it("a reason quoting another hold marker cannot change the held service and environment", () => {
    const body = hold(`see ${markerTag(holdMarker("billing", "production"))}`);
    expect(parseHoldIssue(body)).toEqual({ service: "api", env: "staging", image: IMAGE });
  });

  it("a hold issue whose image line was edited away still holds the service, without an image", () => {
    const body = hold("Degraded").replace(/^held image: .*$/m, "held image: (removed)");
    expect(parseHoldIssue(body)).toEqual({ service: "api", env: "staging" });
  });

  it.each<[string, string | null | undefined]>([
    ["a freeze issue", issueBody("frozen", freezeMarker("staging"))],
    ["a held-image line without the marker", `The rollout failed.\n\nheld image: \`${IMAGE}\``],
    ["a hold marker missing its environment", "<!-- conveyor:hold:api -->"],
    ["an ordinary issue", "api is flaky in staging"],
    ["no body", null],
    ["undefined", undefined],
  ])("other text is not a hold: %s", (_title, body) => {
    expect(parseHoldIssue(body)).toBeUndefined();
  });
});

describe("marker names", () => {
  it.each([
    ["freeze", freezeMarker("production"), "<!-- conveyor:freeze:production -->"],
    ["hold", holdMarker("api", "staging"), "<!-- conveyor:hold:api:staging -->"],
  ])("the %s marker is an HTML comment, invisible on GitHub", (_kind, marker, tag) => {
    expect(markerTag(marker)).toBe(tag);
  });
});
