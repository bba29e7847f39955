// Property-based tests over the parsers that read text and JSON from anyone who can dispatch,
// comment or open a pull request: image references, repository_dispatch payloads, slash commands
// (and what the planner makes of them), the config file, and the markers in issue and PR bodies.
// Every parser returns its errors as values: none may throw, every refusal says why, and what
// comes out is bounded however large the input. Seeds and run counts: README.md here.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  historyKey,
  planCommands,
  requirements,
  type Action,
  type DeploymentFact,
  type Facts,
  type Permission,
  type Subject,
} from "../../src/core/command-plan.js";
import { MAX_COMMANDS, MAX_COMMENT_CHARS, MAX_LINE_CHARS, parseCommands, VERBS } from "../../src/core/commands.js";
import { findEnvironment, overlayDir, parseConfig, type Config } from "../../src/core/config.js";
import { parseDispatch, type DispatchSource } from "../../src/core/dispatch.js";
import { formatImageRef, parseImageRef } from "../../src/core/image-ref.js";
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
  withStateMarker,
  type PrState,
} from "../../src/core/markers.js";
import { isSafeRelativePath, isValidName } from "../../src/core/names.js";
import { deployPrText } from "../../src/core/pr-text.js";
import {
  anyString,
  commitSha,
  deepWellFormed,
  ENV_POOL,
  hostileJson,
  hostileString,
  imageRefLike,
  isWellFormed,
  longString,
  nameLike,
  SERVICE_POOL,
  settings,
  sha256Digest,
  straddlingString,
  timeoutFor,
  validImageRef,
  validName,
  validTag,
} from "./arbitraries.js";

const hasLineBreak = (text: string) => /[\r\n]/.test(text);

// ---------------------------------------------------------------------------------------------
// Image references

describe("parseImageRef on hostile input", () => {
  const imageInput = fc.oneof(
    { weight: 3, arbitrary: imageRefLike },
    { weight: 2, arbitrary: anyString(8) },
    { weight: 1, arbitrary: longString(700) },
  );

  function checkImage(input: string): void {
    const parsed = parseImageRef(input);
    if (parsed.ok) {
      const ref = parsed.value;
      // Accepted means: exactly what was written, in the grammar, within the limits.
      expect(formatImageRef(ref)).toBe(input);
      expect(input.length).toBeLessThanOrEqual(512);
      expect(input).not.toMatch(/\s/);
      expect(ref.name).toBe(ref.registry !== undefined ? `${ref.registry}/${ref.repository}` : ref.repository);
      expect(ref.name.length).toBeLessThanOrEqual(255);
      expect(ref.repository).toMatch(
        /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/,
      );
      if (ref.tag !== undefined) expect(ref.tag).toMatch(/^\w[\w.-]{0,127}$/);
      if (ref.digest !== undefined) expect(ref.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    } else {
      expect(parsed.reason.trim().length).toBeGreaterThan(0);
      expect(parsed.reason.length).toBeLessThanOrEqual(300);
      expect(hasLineBreak(parsed.reason)).toBe(false);
    }
  }

  it("never throws; accepts only exact, in-grammar references and explains every refusal", () => {
    fc.assert(fc.property(imageInput, checkImage), settings(1200));
  });

  it("round-trips every reference built from the grammar", () => {
    fc.assert(
      fc.property(validImageRef, (input) => {
        const parsed = parseImageRef(input);
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(formatImageRef(parsed.value)).toBe(input);
      }),
      settings(1000),
    );
  });

  it("refuses a reference over the 512-character cap with a reason that names the cap", () => {
    const result = parseImageRef(`ghcr.io/acme/${"a".repeat(600)}:1`);
    expect(result).toEqual({ ok: false, reason: expect.stringContaining("longer than 512 characters") });
  });

  it("keeps refusal reasons well-formed UTF-16 (quoted fragments are JSON-escaped)", () => {
    fc.assert(
      fc.property(fc.oneof(straddlingString, anyString(8)), (input) => {
        const parsed = parseImageRef(input);
        if (!parsed.ok) expect(isWellFormed(parsed.reason)).toBe(true);
      }),
      settings(1000),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// repository_dispatch payloads

const runUrl = fc.oneof(
  fc.nat({ max: 99999 }).map((n) => `https://github.com/acme/app/actions/runs/${n}`),
  hostileString(6).map((s) => `https://ci.example.com/run?${s}`),
  hostileString(4).map((s) => `https://ci.example.com/${s}`),
  fc.constantFrom(
    "javascript:alert(1)",
    "http://user:pass@ci.example.com/",
    "file:///etc/passwd",
    `https://ci.example.com/${"x".repeat(600)}`,
    "https://ci.example.com/<!-- conveyor:freeze:production -->",
    "https://ci.example.com/`code`",
  ),
);

const dispatchSource = fc.record(
  {
    repository: fc.oneof(fc.constantFrom("acme/app", "acme/app.js", "a/..", "-x/y", "acme/a b"), anyString(4)),
    sha: fc.oneof(commitSha, anyString(3)),
    run_url: runUrl,
    runUrl,
    digest: fc.oneof(fc.constant(`sha256:${"ab".repeat(32)}`), anyString(3)),
  },
  { requiredKeys: [] },
);

/** A dispatch body: each field valid, hostile, or another JSON type. */
const dispatchPayload = fc.record(
  {
    service: fc.oneof(nameLike, hostileJson),
    image: fc.oneof(imageRefLike, hostileJson),
    tag: fc.oneof(validTag, anyString(4), hostileJson),
    digest: fc.oneof(sha256Digest, anyString(4)),
    environment: fc.oneof(nameLike, hostileJson),
    source: fc.oneof({ weight: 4, arbitrary: dispatchSource }, { weight: 1, arbitrary: hostileJson }),
    extra: hostileJson,
  },
  { requiredKeys: [] },
);

const eventType = fc.oneof(
  { weight: 3, arbitrary: fc.constant("deploy") },
  { weight: 3, arbitrary: nameLike.map((name) => `deploy-${name}`) },
  { weight: 1, arbitrary: anyString(4) },
  { weight: 1, arbitrary: hostileJson },
);

const REJECT_CODES = [
  "invalid-payload",
  "invalid-service",
  "unknown-service",
  "invalid-image",
  "image-mismatch",
  "invalid-environment",
  "unknown-environment",
  "direct-deploy-refused",
  "older-version",
  "invalid-overlay",
  "rollback-in-progress",
];

function checkSource(source: DispatchSource): void {
  if (source.repository !== undefined) expect(source.repository).toMatch(/^[A-Za-z0-9][A-Za-z0-9-]*\/[\w.-]+$/);
  if (source.repository !== undefined) expect(source.repository).not.toContain("..");
  if (source.sha !== undefined) expect(source.sha).toMatch(/^[a-f0-9]{40}(?:[a-f0-9]{24})?$/);
  if (source.runUrl !== undefined) {
    expect(source.runUrl.length).toBeLessThanOrEqual(500);
    expect(source.runUrl).toMatch(/^https?:/i);
  }
}

function checkDispatch(type: unknown, payload: unknown): void {
  const intent = parseDispatch(type, payload);
  if (intent.kind === "ignore" || intent.kind === "reject") {
    expect(intent.reason.trim().length).toBeGreaterThan(0);
    expect(intent.reason.length).toBeLessThanOrEqual(600);
    expect(hasLineBreak(intent.reason)).toBe(false);
  }
  if (typeof type !== "string" || (type !== "deploy" && !type.startsWith("deploy-"))) {
    expect(intent.kind).toBe("ignore");
    return;
  }
  if (intent.kind === "reject") {
    expect(REJECT_CODES).toContain(intent.code);
    if (intent.service !== undefined) expect(isValidName(intent.service)).toBe(true);
    checkSource(intent.source);
    return;
  }
  expect(intent.kind).toBe("deploy");
  if (intent.kind !== "deploy") return;
  const { request } = intent;
  const body = payload as Record<string, unknown>;
  expect(isValidName(request.service)).toBe(true);
  const given = [request.image, request.tag, request.digest].filter((v) => v !== undefined);
  expect(given).toHaveLength(1);
  if (request.image) {
    expect(formatImageRef(request.image)).toBe(body.image);
    expect(request.image.tag !== undefined || request.image.digest !== undefined).toBe(true);
  }
  if (request.tag !== undefined) expect(request.tag).toMatch(/^\w[\w.-]{0,127}$/);
  if (request.digest !== undefined) expect(request.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  if (request.environment !== undefined) expect(isValidName(request.environment)).toBe(true);
  checkSource(request.source);
  expect(JSON.stringify(payload).length).toBeLessThanOrEqual(8 * 1024);
}

describe("parseDispatch on hostile payloads", () => {
  it(
    "never throws on arbitrary values; every intent is well-formed",
    () => {
      fc.assert(
        fc.property(eventType, fc.oneof(fc.anything(), fc.jsonValue(), hostileJson), checkDispatch),
        settings(1000),
      );
    },
    timeoutFor(1000),
  );

  it(
    "never throws on JSON-ish deploy payloads; a deploy carries only validated names, images and sources",
    () => {
      fc.assert(fc.property(eventType, dispatchPayload, checkDispatch), settings(1200));
    },
    timeoutFor(1200),
  );

  it("refuses a payload over the 8 KiB cap, naming the cap", () => {
    const intent = parseDispatch("deploy-api", { image: "ghcr.io/acme/api:1.0.0", note: "x".repeat(9000) });
    expect(intent).toMatchObject({ kind: "reject", code: "invalid-payload", service: "api" });
    expect(intent.kind === "reject" && intent.reason).toMatch(/larger than 8192 bytes/);
  });

  // Regression (found by this suite, fixed): parseSource (src/core/dispatch.ts) checks `run_url` with `new URL()`, which silently
  // drops tabs and line breaks and accepts NUL and other controls, and then keeps the raw string.
  // deployPrText writes it into the commit message as `Run: <url>`, so anyone who can dispatch
  // adds lines of their choice to Conveyor's commits (a forged `Signed-off-by:` or
  // `Co-authored-by:` trailer, text that reads as Conveyor's own). Minimal counterexample:
  // run_url "https://ci.example.com/1\nSigned-off-by: Mallory <m@evil.example>".
  it("accepts no line break or control character in a source URL (it ends up in commit messages)", () => {
    const config = mustConfig(null);
    fc.assert(
      fc.property(dispatchSource, (source) => {
        const intent = parseDispatch("deploy-api", { image: "ghcr.io/acme/api:1.2.3", source });
        if (intent.kind !== "deploy") return;
        const runUrl = intent.request.source.runUrl ?? "";
        expect(
          [...runUrl].some((ch) => ch.charCodeAt(0) < 0x20 || ch === "\x7f" || ch === "\u2028" || ch === "\u2029"),
        ).toBe(false);
        const move = { service: "api", env: "staging", from: undefined, to: "ghcr.io/acme/api:1.2.3", file: "f" };
        const { commitMessage } = deployPrText({ ...move, source: intent.request.source }, config);
        // The subject, a blank line, and at most one Source:, one Run: and one Digest: line.
        expect(commitMessage.split("\n").length).toBeLessThanOrEqual(5);
      }),
      settings(1000),
    );
  });

  // Regression (found by this suite, fixed): quote() in src/core/names.ts cuts at `max` UTF-16 code units and can split a surrogate
  // pair: the rejection reason (posted back to GitHub) then holds a lone surrogate.
  // Minimal counterexample: parseDispatch(`deploy-${"a".repeat(69)}😀`, {}) (the invalid service
  // is quoted at 70 units; the emoji's high surrogate is the 70th).
  it("keeps rejection reasons well-formed UTF-16 when the input is", () => {
    fc.assert(
      fc.property(eventType, dispatchPayload, (type, payload) => {
        fc.pre(deepWellFormed(type) && deepWellFormed(payload));
        const intent = parseDispatch(type, payload);
        if (intent.kind !== "deploy") expect(isWellFormed(intent.reason)).toBe(true);
      }),
      settings(1000),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Slash commands

const verbWord = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...VERBS) },
  { weight: 2, arbitrary: fc.constantFrom("PROMOTE", "Hold", "promot", "rolback", "unhld", "stauts", "helpp") },
  { weight: 1, arbitrary: fc.constantFrom("deploy", "etc", "usr", "approve", "lgtm", "") },
  { weight: 1, arbitrary: hostileString(2) },
);

const argument = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ENV_POOL, ...SERVICE_POOL) },
  { weight: 2, arbitrary: validImageRef },
  { weight: 2, arbitrary: fc.constantFrom("--force", "--FORCE", "--", "--bogus", "-f", "---") },
  { weight: 2, arbitrary: nameLike },
  { weight: 1, arbitrary: imageRefLike },
  { weight: 1, arbitrary: hostileString(3) },
);

const commandLine = fc
  .tuple(
    fc.constantFrom("", " ", "  ", "   ", "    ", "\t", "> ", ">"),
    fc.constantFrom("/", "/conveyor ", "/CONVEYOR ", "/conveyor  ", "/conveyor\t"),
    verbWord,
    fc.array(fc.tuple(fc.constantFrom(" ", "  ", "\t", "\u2028", "\u00a0", "\u3000"), argument), { maxLength: 6 }),
    fc.option(longString(600), { freq: 20, nil: undefined }),
  )
  .map(
    ([indent, prefix, verb, args, tail]) =>
      `${indent}${prefix}${verb}${args.map(([sep, arg]) => sep + arg).join("")}${tail ? ` ${tail}` : ""}`,
  );

const commentLine = fc.oneof(
  { weight: 6, arbitrary: commandLine },
  { weight: 1, arbitrary: fc.constantFrom("```", "````", "~~~", "```bash", "   ```", "    ```", "> ```", "") },
  { weight: 2, arbitrary: hostileString(6) },
  { weight: 1, arbitrary: fc.constantFrom("/etc/passwd", "/usr/bin/env", "/", "//", "/ promote staging") },
);

const comment = fc
  .tuple(fc.array(commentLine, { maxLength: 30 }), fc.constantFrom("\n", "\r\n", "\r"))
  .map(([lines, eol]) => lines.join(eol));

function checkParsed(body: string, requireNamespace: boolean): void {
  const parsed = parseCommands(body, { requireNamespace });
  expect(parsed.commands.length).toBeLessThanOrEqual(MAX_COMMANDS);
  expect(parsed.errors.length).toBeLessThanOrEqual(MAX_COMMANDS + 1);
  for (const command of parsed.commands) {
    expect(VERBS).toContain(command.verb);
    expect(command.line.length).toBeLessThanOrEqual(MAX_LINE_CHARS);
    expect(hasLineBreak(command.line)).toBe(false);
    expect(command.line.startsWith("/")).toBe(true);
    if (requireNamespace) expect(command.line).toMatch(/^\/conveyor\s/i);
    if ("env" in command && command.env !== undefined) expect(isValidName(command.env)).toBe(true);
    if ("service" in command && command.service !== undefined) expect(isValidName(command.service)).toBe(true);
    if (command.verb === "rollback" && command.image !== undefined) {
      const image = parseImageRef(command.image);
      expect(image.ok && (image.value.tag !== undefined || image.value.digest !== undefined)).toBe(true);
    }
    if ((command.verb === "hold" || command.verb === "unhold") && command.reason !== undefined) {
      expect(command.reason.length).toBeLessThanOrEqual(280);
      expect(command.reason.trim()).toBe(command.reason);
      expect(command.reason.length).toBeGreaterThan(0);
    }
  }
  for (const error of parsed.errors) {
    expect(error.message.trim().length).toBeGreaterThan(0);
    expect(error.message.length).toBeLessThanOrEqual(400);
    expect(error.line.length).toBeLessThanOrEqual(120);
    expect(hasLineBreak(error.line) || hasLineBreak(error.message)).toBe(false);
  }
}

describe("parseCommands on hostile comments", () => {
  it(
    "never throws; bounded, validated commands and explained errors (arbitrary text)",
    () => {
      fc.assert(
        fc.property(fc.oneof(anyString(30), fc.string({ unit: "binary", maxLength: 2000 })), fc.boolean(), checkParsed),
        settings(1000),
      );
    },
    timeoutFor(1000),
  );

  it(
    "never throws; bounded, validated commands and explained errors (commands mixed with garbage)",
    () => {
      fc.assert(fc.property(comment, fc.boolean(), checkParsed), settings(1000));
    },
    timeoutFor(1000),
  );

  // Regression (found by this suite, fixed): quote() in src/core/names.ts and clip() in src/core/commands.ts cut at a count of UTF-16
  // code units and can split a surrogate pair, so an error echoed back to the PR holds a lone
  // surrogate. Minimal counterexample: parseCommands(`/promote ${"a".repeat(39)}😀`) (the
  // environment is quoted at 40 units).
  it("keeps error texts well-formed UTF-16 when the comment is", () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.constantFrom(...VERBS), straddlingString).map(([verb, arg]) => `/${verb} ${arg}`),
        comment,
        (line, rest) => {
          fc.pre(isWellFormed(line) && isWellFormed(rest));
          for (const error of parseCommands(`${rest}\n${line}`).errors) {
            expect(isWellFormed(error.line)).toBe(true);
            expect(isWellFormed(error.message)).toBe(true);
          }
        },
      ),
      settings(1000),
    );
  });

  it("reads each command's own line back as exactly that command", () => {
    fc.assert(
      fc.property(comment, (body) => {
        for (const command of parseCommands(body).commands) {
          expect(parseCommands(command.line)).toEqual({ commands: [command], errors: [] });
        }
      }),
      settings(800),
    );
  });

  it("finds no command in a fenced block, an indented block or a quote", () => {
    const inner = fc
      .array(fc.oneof(commandLine, hostileString(4)), { minLength: 1, maxLength: 10 })
      .map((lines) => lines.flatMap((line) => line.split(/\r\n|\r|\n/)));
    fc.assert(
      fc.property(inner, fc.constantFrom("fence", "indent", "quote"), (lines, how) => {
        let body: string;
        if (how === "fence") {
          const safe = lines.filter((line) => !/^ {0,3}(`{3,}|~{3,})/.test(line));
          body = ["```", ...safe, "```"].join("\n");
        } else {
          body = lines.map((line) => (how === "indent" ? `    ${line}` : `> ${line}`)).join("\n");
        }
        expect(parseCommands(body)).toEqual({ commands: [], errors: [] });
      }),
      settings(500),
    );
  });

  it("refuses a comment over the 64 KiB cap with one comment-wide error and no commands", () => {
    const body = `/hold production\n${"x".repeat(MAX_COMMENT_CHARS)}`;
    const parsed = parseCommands(body);
    expect(parsed.commands).toEqual([]);
    expect(parsed.errors).toEqual([
      { line: "(the comment)", message: expect.stringContaining(`longer than ${MAX_COMMENT_CHARS} characters`) },
    ]);
  });

  it("reads at most ten commands from a comment at the cap", () => {
    const line = "/status api\n";
    const body = line.repeat(Math.floor(MAX_COMMENT_CHARS / line.length));
    expect(body.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    const parsed = parseCommands(body);
    expect(parsed.commands).toHaveLength(MAX_COMMANDS);
    expect(parsed.errors).toEqual([
      { line: "(the comment)", message: expect.stringContaining(`at most ${MAX_COMMANDS} are allowed`) },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Command planning

function mustConfig(raw: unknown): Config {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

const planConfig: fc.Arbitrary<Config> = fc
  .uniqueArray(
    fc.record({
      name: fc.constantFrom(...ENV_POOL),
      approvers: fc.subarray(["alice", "@acme/sre"]),
      autoMerge: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4, selector: (env) => env.name },
  )
  .map((environments) => mustConfig({ environments }));

const anyEnv = fc.oneof(fc.constantFrom(...ENV_POOL), fc.constant("nowhere"));
const anyService = fc.constantFrom(...SERVICE_POOL);

const subject: fc.Arbitrary<Subject> = fc.oneof(
  fc.record({
    kind: fc.constant("pr" as const),
    number: fc.integer({ min: 1, max: 50 }),
    open: fc.boolean(),
    merged: fc.boolean(),
    conveyor: fc.option(
      fc.record({
        service: anyService,
        env: anyEnv,
        kind: fc.constantFrom("deploy" as const, "revert" as const),
        to: validImageRef,
        from: fc.option(validImageRef, { nil: null }),
      }),
      { nil: undefined },
    ),
  }),
  fc.record({ kind: fc.constant("freeze-issue" as const), number: fc.nat(), env: anyEnv }),
  fc.record({ kind: fc.constant("hold-issue" as const), number: fc.nat(), service: anyService, env: anyEnv }),
);

const deploymentFact = (service: string, env: string): fc.Arbitrary<DeploymentFact> =>
  fc.record({
    id: fc.nat(),
    sha: commitSha,
    service: fc.constant(service),
    env: fc.constant(env),
    to: fc.option(fc.constantFrom("ghcr.io/acme/api:1.0.0", "ghcr.io/acme/api:2.0.0", "evil:1"), { nil: null }),
    from: fc.option(fc.constantFrom("ghcr.io/acme/api:1.0.0", "ghcr.io/acme/api:0.9.0"), { nil: null }),
    base: fc.option(commitSha, { nil: null }),
    file: fc.constant(null),
    pr: fc.option(fc.integer({ min: 1, max: 50 }), { nil: null }),
    revert: fc.boolean(),
    state: fc.constantFrom("success", "failure", "error", "in_progress", "pending"),
    createdAt: fc.constant("2024-01-01T00:00:00Z"),
  });

const facts: fc.Arbitrary<Facts> = fc.record({
  histories: fc
    .array(
      fc
        .tuple(anyService, fc.constantFrom(...ENV_POOL))
        .chain(([service, env]) =>
          fc
            .array(deploymentFact(service, env), { maxLength: 4 })
            .map((list) => [historyKey(service, env), list] as const),
        ),
      { maxLength: 8 },
    )
    .map((entries) => Object.fromEntries(entries)),
  frozen: fc.subarray([...ENV_POOL]),
  approver: fc
    .array(fc.tuple(fc.constantFrom(...ENV_POOL), fc.boolean()), { maxLength: 4 })
    .map((entries) => Object.fromEntries(entries)),
});

/** Commands as the handler gets them: parsed from a comment of real commands and garbage. */
const planCommandsArb = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...VERBS), fc.array(argument, { maxLength: 3 })) },
      {
        weight: 2,
        arbitrary: fc.tuple(
          fc.constantFrom("promote", "rollback"),
          fc.tuple(anyService, fc.constantFrom(...ENV_POOL), validImageRef).map((args) => [...args]),
        ),
      },
    ),
    { maxLength: 6 },
  )
  .map((lines) => parseCommands(lines.map(([verb, args]) => `/${verb} ${args.join(" ")}`).join("\n")).commands);

/** The environment an action moves, when moving it needs that environment's approvers. */
function movedEnv(action: Action): string | undefined {
  switch (action.kind) {
    case "promote":
    case "revert":
    case "retry-edit":
    case "retry-verification":
    case "unfreeze":
    case "unhold-image":
      return action.env;
    case "unhold-pr":
      return action.env;
    default:
      return undefined;
  }
}

describe("planCommands on hostile commands, subjects and facts", () => {
  it(
    "never throws; refusals say why; nothing moves a protected environment without its approver",
    () => {
      fc.assert(
        fc.property(
          planCommandsArb,
          subject,
          planConfig,
          fc.constantFrom<Permission>("admin", "maintain", "write", "triage", "read", "none"),
          facts,
          (commands, subj, config, permission, knownFacts) => {
            const needs = requirements(commands, subj, config);
            for (const { env } of needs.histories) expect(findEnvironment(config, env)).toBeDefined();
            for (const env of needs.approverEnvs) expect(isValidName(env)).toBe(true);

            const plan = planCommands({
              commands,
              subject: subj,
              config,
              commenter: { login: "mallory", permission },
              facts: knownFacts,
            });
            if (plan.kind === "refuse") {
              expect(plan.refusal.reason.trim().length).toBeGreaterThan(0);
              return;
            }
            expect(["admin", "maintain", "write"]).toContain(permission);
            expect(plan.steps).toHaveLength(commands.length);
            plan.steps.forEach((step, i) => {
              expect(step.command).toBe(commands[i]);
              if ("refusal" in step) {
                expect(step.refusal.reason.trim().length).toBeGreaterThan(0);
                return;
              }
              const action = step.action;
              const env = movedEnv(action);
              const configured = env !== undefined ? findEnvironment(config, env) : undefined;
              if (env !== undefined && configured && configured.approvers.length > 0) {
                expect(knownFacts.approver[env]).toBe(true);
              }
              if (action.kind === "promote") {
                expect(configured).toBeDefined();
                expect(knownFacts.frozen).not.toContain(action.env);
              }
              if (action.kind === "freeze" || action.kind === "unfreeze" || action.kind === "revert") {
                expect(findEnvironment(config, action.env)).toBeDefined();
              }
            });
          },
        ),
        settings(600),
      );
    },
    timeoutFor(600),
  );
});

// ---------------------------------------------------------------------------------------------
// .github/conveyor.yml

const pathTemplateLike = fc.oneof(
  fc.constantFrom(
    "services/{service}/overlays/{env}",
    "deploy/{env}/{service}",
    "../{service}",
    "/etc/{env}",
    "a/./b",
    "a//b",
    "{service}/../../x",
    "{other}/x",
    "a\\..\\b",
    "{env}",
    "x".repeat(256),
  ),
  hostileString(4),
);

const rawEnvironment = fc.record(
  {
    name: nameLike,
    path: pathTemplateLike,
    autoMerge: fc.oneof(fc.boolean(), hostileJson),
    approvers: fc.array(fc.oneof(fc.constantFrom("alice", "@acme/sre", "@x", "a".repeat(40)), anyString(3)), {
      maxLength: 3,
    }),
    soak: fc.oneof(fc.constantFrom("5m", "90s", "1h", "250ms", 30, -1, 1.5, "5 m", "1d"), hostileJson),
    timeouts: fc.oneof(fc.record({ sync: fc.constantFrom("5m", 10, "x") }, { requiredKeys: [] }), hostileJson),
    directDeploy: fc.boolean(),
    policy: fc.oneof(
      fc.record(
        {
          protected: fc.boolean(),
          mutableTags: fc.array(anyString(2), { maxLength: 3 }),
          allowedRegistries: fc.array(anyString(2), { maxLength: 3 }),
          requireDigest: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
      hostileJson,
    ),
    unknownKey: hostileJson,
  },
  { requiredKeys: ["name"] },
);

const rawConfig = fc.record(
  {
    environments: fc.oneof(fc.array(rawEnvironment, { maxLength: 4 }), hostileJson),
    services: fc.oneof(
      fc.dictionary(
        fc.oneof(nameLike, fc.constantFrom("__proto__", "constructor", "../x")),
        fc.record(
          { image: anyString(3), paths: fc.dictionary(nameLike, pathTemplateLike, { maxKeys: 3 }) },
          {
            requiredKeys: [],
          },
        ),
        { maxKeys: 3 },
      ),
      hostileJson,
    ),
    discover: fc.oneof(fc.boolean(), hostileJson),
    argocd: fc.record({ application: fc.oneof(fc.constant("{service}-{env}"), anyString(3)) }, { requiredKeys: [] }),
    render: fc.record(
      {
        allowRemote: fc.array(
          fc.oneof(
            fc.constantFrom(
              "github.com/acme/",
              "https://github.com/acme",
              "git@github.com:acme",
              "file:///",
              "http://github.com/acme",
              "github.com/../x",
              "github.com/a b",
            ),
            anyString(3),
          ),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: [] },
    ),
    commands: fc.record({ requireNamespace: fc.oneof(fc.boolean(), hostileJson) }, { requiredKeys: [] }),
    unknown: hostileJson,
  },
  { requiredKeys: [] },
);

function checkConfig(raw: unknown): void {
  const result = parseConfig(raw);
  if (!result.ok) {
    expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of result.problems) {
      expect(problem.path.length).toBeGreaterThan(0);
      expect(problem.message.trim().length).toBeGreaterThan(0);
    }
    return;
  }
  const config = result.config;
  expect(config.environments.length).toBeGreaterThan(0);
  const names = config.environments.map((env) => env.name);
  expect(new Set(names).size).toBe(names.length);
  for (const env of config.environments) {
    expect(isValidName(env.name)).toBe(true);
    for (const approver of env.approvers) expect(approver).toMatch(/^(@[\w-]+\/[\w.-]+|[A-Za-z0-9][A-Za-z0-9-]*)$/);
    // Whatever the templates say, an overlay directory stays inside the repository.
    for (const service of ["api", ...Object.keys(config.services)]) {
      if (isValidName(service)) expect(isSafeRelativePath(overlayDir(config, service, env))).toBe(true);
    }
  }
  for (const prefix of config.render.allowRemote) {
    expect(prefix).not.toMatch(/\s/);
    expect(prefix).not.toMatch(/^(?:git::)?(?:file|http):/i);
  }
}

describe("parseConfig on hostile config files", () => {
  it(
    "never throws on arbitrary values; a valid config keeps every overlay inside the repository",
    () => {
      fc.assert(
        fc.property(fc.oneof(fc.anything({ withNullPrototype: true }), fc.jsonValue(), hostileJson), checkConfig),
        settings(500),
      );
    },
    timeoutFor(500),
  );

  it(
    "never throws on config-shaped values with hostile fields",
    () => {
      fc.assert(fc.property(rawConfig, checkConfig), settings(500));
    },
    timeoutFor(500),
  );

  // Regression (found by this suite, fixed): zod's "Unrecognized key" message quotes every unknown key in full, and parseConfig passes
  // it on unclipped; configReport (src/core/report-text.ts) puts it into the config issue's body, so
  // one long key makes an issue body of any size (GitHub refuses bodies over 65536 characters) with
  // the key's markdown/HTML in it. Minimal counterexample: parseConfig({ ["a".repeat(1001)]: 0 }).
  it("keeps each problem message short, whatever the keys", () => {
    fc.assert(
      fc.property(rawConfig, fc.dictionary(longString(5_000), hostileJson, { maxKeys: 2 }), (raw, extra) => {
        const result = parseConfig({ ...raw, ...extra });
        if (!result.ok) for (const problem of result.problems) expect(problem.message.length).toBeLessThanOrEqual(1000);
      }),
      settings(300),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Markers in issue and PR bodies

const prState: fc.Arbitrary<PrState> = fc.record(
  {
    service: validName,
    env: validName,
    from: fc.option(validImageRef, { nil: null }),
    to: validImageRef,
    source: fc.record(
      {
        repository: fc.constantFrom("acme/api", "a-b/c.d_e"),
        sha: commitSha,
        runUrl: fc.constantFrom("https://github.com/acme/api/actions/runs/1", "http://ci.example.com/run?a=1&b=2"),
        digest: fc.constant(`sha256:${"0f".repeat(32)}`),
      },
      { requiredKeys: ["repository"] },
    ),
    head: commitSha,
    sig: fc.base64String({ minLength: 4, maxLength: 88 }),
  },
  { requiredKeys: ["service", "env", "from", "to"] },
);

describe("marker parsers on hostile bodies", () => {
  it("never throw on arbitrary text, and what they read is well-formed", () => {
    const body = fc.oneof(
      anyString(20),
      fc.array(fc.oneof(hostileString(4), prState.map(stateMarker)), { maxLength: 6 }).map((parts) => parts.join("")),
    );
    fc.assert(
      fc.property(fc.oneof(body, fc.constant(null), fc.constant(undefined)), (text) => {
        const state = parseStateMarker(text);
        if (state) {
          expect(typeof state.service).toBe("string");
          expect(typeof state.env).toBe("string");
          expect(typeof state.to).toBe("string");
          expect(state.from === null || typeof state.from === "string").toBe(true);
        }
        const frozen = parseFreezeIssue(text);
        if (frozen !== undefined) expect(frozen).toMatch(/^[a-z0-9._-]+$/);
        const hold = parseHoldIssue(text);
        if (hold) {
          expect(hold.service).toMatch(/^[a-z0-9._-]+$/);
          expect(hold.env).toMatch(/^[a-z0-9._-]+$/);
          if (hold.image !== undefined) expect(hold.image).not.toMatch(/[`\n]/);
        }
      }),
      settings(1000),
    );
  });

  it("reads back the state marker Conveyor writes at the end of a body with no marker in it", () => {
    const body = anyString(20).filter((text) => !text.includes("<!-- conveyor:"));
    fc.assert(
      fc.property(body, prState, (text, state) => {
        expect(parseStateMarker(withStateMarker(text, stateMarker(state)))).toEqual(state);
      }),
      settings(800),
    );
  });

  it("reads the frozen environment from the marker, never from a forged one in the reason", () => {
    fc.assert(
      fc.property(validName, anyString(20), (env, reason) => {
        const text = freezeIssueText({
          env,
          user: "mallory",
          at: "2024-01-01T00:00:00Z",
          reason,
          commentUrl: "https://github.com/acme/manifests/pull/1#issuecomment-1",
        });
        expect(parseFreezeIssue(text.body)).toBeUndefined();
        expect(parseFreezeIssue(`${text.body}\n\n${markerTag(freezeMarker(env))}`)).toBe(env);
      }),
      settings(1000),
    );
  });

  it("reads the held service, environment and image from the issue, never from a forged reason", () => {
    fc.assert(
      fc.property(validName, validName, validImageRef, anyString(20), (service, env, image, reason) => {
        const text = holdIssueText({ service, env, reason, image });
        expect(parseHoldIssue(text.body)).toBeUndefined();
        expect(parseHoldIssue(`${text.body}\n\n${markerTag(holdMarker(service, env))}`)).toEqual({
          service,
          env,
          image,
        });
      }),
      settings(1000),
    );
  });

  // Regression (found by this suite, fixed): a dispatch's `source.run_url` is checked only to be an http(s) URL of at most 500
  // characters, and deployPrText copies it verbatim into the PR body ("[CI run](...)"), ahead of
  // the state marker Conveyor appends. parseStateMarker reads the FIRST marker of a body, so a
  // run_url carrying `<!-- conveyor:{...} -->` replaces what Conveyor reads back: the signature
  // then fails and the PR is treated as edited by someone else (untrusted, never auto-merged).
  // Anyone who can send a repository_dispatch can do this to every deploy PR. Minimal
  // counterexample: run_url `https://ci.example.com/run?<!-- conveyor:{"service":"evil","env":"production","from":null,"to":"evil/img:6.6.6"} -->`.
  it("reads back Conveyor's own state marker from a deploy PR, whatever the dispatch carried", () => {
    const config = mustConfig(null);
    fc.assert(
      fc.property(dispatchSource, prState, (source, state) => {
        const intent = parseDispatch("deploy-api", { image: "ghcr.io/acme/api:1.2.3", source });
        fc.pre(intent.kind === "deploy");
        if (intent.kind !== "deploy") return;
        const text = deployPrText(
          {
            service: "api",
            env: "staging",
            from: undefined,
            to: "ghcr.io/acme/api:1.2.3",
            file: "f",
            source: intent.request.source,
          },
          config,
        );
        expect(parseStateMarker(withStateMarker(text.body, stateMarker(state)))).toEqual(state);
      }),
      settings(1000),
    );
  });
});
