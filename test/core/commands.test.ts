import { describe, expect, it } from "vitest";
import { closestVerb, editDistance, helpText, MAX_COMMANDS, parseCommands } from "../../src/core/commands.js";

const verbs = (body: string, options = {}) => parseCommands(body, options).commands.map((c) => c.line);

describe("parseCommands: what counts as a command line", () => {
  it.each([
    ["plain", "/promote production", ["/promote production"]],
    ["CRLF line endings", "LGTM\r\n/hold\r\n/status\r\n", ["/hold", "/status"]],
    ["old Mac CR line endings", "x\r/help\r", ["/help"]],
    ["up to three leading spaces", "   /help", ["/help"]],
    ["four spaces is indented code", "    /help", []],
    ["a tab is indented code", "\t/help", []],
    ["upper-case verb", "/PROMOTE production", ["/PROMOTE production"]],
    ["namespaced", "/conveyor promote production", ["/conveyor promote production"]],
    ["namespaced, upper case", "/Conveyor HELP", ["/Conveyor HELP"]],
    ["not at the start of the line", "please /promote production", []],
    ["inside a ``` fence", "```\n/promote production\n```\n/help", ["/help"]],
    ["inside a ~~~ fence with info string", "~~~sh\n/rollback\n~~~", []],
    ["a longer fence is closed only by a fence as long", "````\n```\n/hold\n````\n/status", ["/status"]],
    ["an unclosed fence hides the rest", "```\n/hold", []],
    ["a > quote", "> /promote production\n/help", ["/help"]],
    ["a nested quote", ">> /hold", []],
    ["a path in prose", "/etc/passwd is not a command", []],
    ["another bot's command", "/assign @me", []],
    ["Unicode around it", "déjà vu ✨\n/status order-service\n🚀", ["/status order-service"]],
    ["non-breaking spaces between words", "/promote\u00a0production", ["/promote\u00a0production"]],
  ])("%s", (_name, body, expected) => {
    expect(verbs(body)).toEqual(expected);
  });

  it("runs several commands in order", () => {
    const { commands } = parseCommands("/hold production -- release on Monday\n/promote staging\n/status");
    expect(commands).toEqual([
      { verb: "hold", line: "/hold production -- release on Monday", env: "production", reason: "release on Monday" },
      { verb: "promote", line: "/promote staging", env: "staging", force: false },
      { verb: "status", line: "/status" },
    ]);
  });

  it("with requireNamespace, only /conveyor <verb> counts", () => {
    expect(verbs("/promote production\n/conveyor hold", { requireNamespace: true })).toEqual(["/conveyor hold"]);
  });

  it("finds a command at the end of a long comment", () => {
    const body = `${"lorem ipsum ".repeat(4_000)}\n/help`;
    expect(verbs(body)).toEqual(["/help"]);
  });

  it("refuses a comment over 64 KiB without reading it", () => {
    const result = parseCommands(`/help\n${"x".repeat(70_000)}`);
    expect(result.commands).toEqual([]);
    expect(result.errors[0]?.message).toMatch(/longer than 65536 characters/);
  });

  it(`reads at most ${MAX_COMMANDS} commands`, () => {
    const result = parseCommands(Array.from({ length: 12 }, () => "/status").join("\n"));
    expect(result.commands).toHaveLength(MAX_COMMANDS);
    expect(result.errors).toEqual([
      {
        line: "(the comment)",
        message: `the comment has 12 command lines; at most ${MAX_COMMANDS} are allowed in one comment`,
      },
    ]);
  });
});

describe("parseCommands: arguments", () => {
  it.each([
    ["/promote production --force", { verb: "promote", env: "production", force: true }],
    ["/promote Production", { verb: "promote", env: "production", force: false }],
    ["/rollback", { verb: "rollback" }],
    ["/rollback production", { verb: "rollback", env: "production" }],
    ["/rollback order-service production", { verb: "rollback", service: "order-service", env: "production" }],
    [
      "/rollback order-service production ghcr.io/acme/order-service:1.4.0",
      { verb: "rollback", service: "order-service", env: "production", image: "ghcr.io/acme/order-service:1.4.0" },
    ],
    ["/hold", { verb: "hold" }],
    ["/hold staging", { verb: "hold", env: "staging" }],
    ["/unhold staging", { verb: "unhold", env: "staging" }],
    ["/status", { verb: "status" }],
    ["/status order-service", { verb: "status", service: "order-service" }],
    ["/retry", { verb: "retry" }],
    ["/conveyor help", { verb: "help" }],
  ])("%s", (line, expected) => {
    const { commands, errors } = parseCommands(line);
    expect(errors).toEqual([]);
    expect(commands).toEqual([{ line, ...expected }]);
  });

  it.each([
    ["/promote", /name the environment/],
    ["/promote staging production", /too many arguments/],
    ["/promote production --yes", /unknown option `--yes`/],
    ["/promote ../../etc", /not a valid environment name/],
    ["/promote production/../../x", /not a valid environment name/],
    ["/promote /absolute", /not a valid environment name/],
    ["/promote 'prod: {x: 1}'", /too many arguments/],
    ["/promote prod:{x:1}", /not a valid environment name/],
    ["/promote prodüction", /not a valid environment name/],
    ["/status ${HOME}", /not a valid service name/],
    ["/rollback order-service production ghcr.io/acme/order-service", /needs a tag or a digest/],
    ["/rollback order-service production ghcr.io/acme/x:1.0;rm", /invalid|not|tag/i],
    ["/rollback ../x production", /not a valid service name/],
    ["/rollback a b c d", /too many arguments/],
    ["/hold staging now please", /write a reason after `--`/],
    ["/retry now", /too many arguments/],
    ["/status -- why", /only read by \/hold/],
  ])("%s is refused", (line, message) => {
    const { commands, errors } = parseCommands(line);
    expect(commands).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(message);
    expect(errors[0]?.usage).toBeTruthy();
  });

  it("keeps the reason out of YAML and markdown structure (it is one line of text)", () => {
    const [command] = parseCommands("/hold production -- a: {b: c} `x` ../../").commands;
    expect(command).toMatchObject({ env: "production", reason: "a: {b: c} `x` ../../" });
  });
});

describe("unknown verbs", () => {
  it.each([
    ["/promte production", "/promote"],
    ["/rollbak", "/rollback"],
    ["/stauts", "/status"],
    ["/conveyor hlep", "/conveyor help"],
    ["/unhodl staging", "/unhold"],
  ])("%s -> did you mean %s", (line, suggestion) => {
    const { commands, errors } = parseCommands(line);
    expect(commands).toEqual([]);
    expect(errors[0]).toMatchObject({ message: expect.stringMatching(/unknown command/), suggestion });
  });

  it("/conveyor <anything> always answers, even far from a verb", () => {
    expect(parseCommands("/conveyor deploy-everything").errors[0]).toMatchObject({
      message: "unknown command `deploy-everything`",
      suggestion: undefined,
    });
    expect(parseCommands("/conveyor").errors[0]?.message).toBe("no command after /conveyor");
  });

  it("edit distance counts a swap as one edit", () => {
    expect(editDistance("stauts", "status")).toBe(1);
    expect(editDistance("promote", "promote")).toBe(0);
    expect(closestVerb("x")).toBeUndefined();
  });
});

it("help lists every command with one line each", () => {
  const lines = helpText().split("\n");
  expect(lines).toHaveLength(7);
  expect(lines[0]).toMatch(/^- `\/promote <env> \[--force\]`: /);
});
