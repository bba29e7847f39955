// Shared generators and run settings for the hostile-input property tests (see README.md here).
// Not a test file itself: vitest only collects *.test.ts.
import fc from "fast-check";

/** Fixed seed, so a run is reproducible; FUZZ_SEED picks another one. */
export const SEED = envNumber("FUZZ_SEED") ?? 42;
/** FUZZ_RUNS, when set, replaces every property's own number of runs. */
const RUNS_OVERRIDE = envNumber("FUZZ_RUNS");

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Settings for `fc.assert`: the fixed seed and `runs` runs (or FUZZ_RUNS). */
export function settings<T>(runs: number): fc.Parameters<T> {
  return { seed: SEED, numRuns: RUNS_OVERRIDE ?? runs };
}

/** vitest timeout for a property, scaled up when FUZZ_RUNS asks for more runs than `runs`. */
export function timeoutFor(runs: number, base = 60_000): number {
  return RUNS_OVERRIDE && RUNS_OVERRIDE > runs ? Math.ceil((base * RUNS_OVERRIDE) / runs) : base;
}

// ---------------------------------------------------------------------------------------------
// Strings

/** Pieces an attacker reaches for: markup, markers, separators, traversal, encodings. */
export const HOSTILE_PIECES = [
  "\u2028",
  "\u2029",
  "\u0085",
  "\v",
  "\f",
  "\t",
  "\r\n",
  "\n",
  "\r",
  "\0",
  "\u202e",
  "\ufeff",
  "\u200b",
  "`",
  "```",
  "~~~",
  "@admin",
  "@acme/sre",
  "[click](https://evil.example/x)",
  "![img](javascript:alert(1))",
  "<script>alert(1)</script>",
  "<!--",
  "-->",
  "<!-- conveyor:freeze:production -->",
  "<!-- conveyor:hold:api:production -->",
  '<!-- conveyor:{"service":"evil","env":"production","from":null,"to":"evil/img:6.6.6"} -->',
  "<!-- conveyor:config -->",
  "held image: `evil/img:6.6.6`",
  "\nheld image: `evil/img:6.6.6`\n",
  "../",
  "../../etc/passwd",
  "/etc/passwd",
  "..",
  "%2e%2e%2f",
  "..\\..\\",
  "file:///etc/passwd",
  "https://evil.example/x?ref=main",
  "git@github.com:evil/repo",
  "{{ .Values.image }}",
  "{% raw %}",
  "*",
  "&anchor",
  "*anchor",
  "<<",
  "'",
  '"',
  "#",
  ": ",
  "- ",
  "|",
  ">",
  "---",
  "...",
  "!!binary",
  "%YAML 1.1",
  "😀",
  "👩‍👩‍👧",
  "e\u0301",
  "ſ",
  "\u212a",
  "İ",
  "sha256:",
  `@sha256:${"ab".repeat(32)}`,
  ":latest",
  "/promote production",
  "/conveyor unhold production",
  "/rollback api production",
  "--force",
  "--",
  "$(id)",
  "; rm -rf /",
  "\\u0000",
  "%00",
  "null",
  "~",
  "yes",
  "0x1F",
  "1e400",
  "__proto__",
  "constructor",
];

/** A lone UTF-16 surrogate: JSON and GitHub may mangle or refuse it. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** One hostile piece, or a run of arbitrary characters. */
const hostileUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_PIECES) },
  { weight: 3, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 6 }) },
  { weight: 1, arbitrary: loneSurrogate },
);

/** A string built from hostile pieces and arbitrary characters, at most `maxPieces` of them. */
export function hostileString(maxPieces = 12): fc.Arbitrary<string> {
  return fc.array(hostileUnit, { maxLength: maxPieces }).map((parts) => parts.join(""));
}

/** A very long string: a repeated hostile piece, up to `max` characters. */
export function longString(max = 20_000): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom("a", "é", "😀", "`", "\n", "../", "<!--", "x".repeat(10)), fc.integer({ min: 1, max }))
    .map(([piece, length]) => piece.repeat(Math.ceil(length / piece.length)).slice(0, length));
}

/**
 * Padding, then a character outside the BMP (a surrogate pair), then more: lands the pair on
 * whatever cut a message shortens a quoted value at.
 */
export const straddlingString: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 0, max: 130 }), fc.constantFrom("😀", "𝕏", "👩‍👩‍👧"), hostileString(3))
  .map(([pad, wide, tail]) => `${"a".repeat(pad)}${wide}${tail} x${"b".repeat(pad)}`);

/** Any string a caller might pass: arbitrary unicode, hostile pieces, or (rarely) very long. */
export function anyString(maxPieces = 12): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: hostileString(maxPieces) },
    { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
    { weight: 1, arbitrary: straddlingString },
    { weight: 1, arbitrary: longString(3_000) },
  );
}

/** True when `text` has no lone surrogate (String.prototype.isWellFormed is ES2024). */
export function isWellFormed(text: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

/** True when every string in a JSON-ish value (keys included) is well-formed. */
export function deepWellFormed(value: unknown): boolean {
  if (typeof value === "string") return isWellFormed(value);
  if (Array.isArray(value)) return value.every(deepWellFormed);
  if (typeof value === "object" && value !== null)
    return Object.entries(value).every(([key, item]) => isWellFormed(key) && deepWellFormed(item));
  return true;
}

// ---------------------------------------------------------------------------------------------
// Names and images

export const ENV_POOL = ["dev", "staging", "production", "qa"] as const;
export const SERVICE_POOL = ["api", "web", "order-service", "billing.v2"] as const;

/** A valid name (lowercase, 1-63 characters, no ".."). */
export const validName: fc.Arbitrary<string> = fc
  .stringMatching(/^[a-z0-9](?:[a-z0-9._-]{0,20}[a-z0-9])?$/)
  .filter((name) => !name.includes(".."));

/** A name-like token: valid, almost valid, or hostile. */
export const nameLike: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ENV_POOL, ...SERVICE_POOL) },
  { weight: 3, arbitrary: validName },
  {
    weight: 2,
    arbitrary: fc.constantFrom("", "A", "Prod", "-x", "x-", "a..b", "..", ".", "a/b", "x".repeat(63), "x".repeat(64)),
  },
  { weight: 2, arbitrary: hostileString(4) },
);

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });

export const sha256Digest: fc.Arbitrary<string> = hex(64).map((h) => `sha256:${h}`);
export const commitSha: fc.Arbitrary<string> = hex(40);

const pathComponent = fc.stringMatching(/^[a-z0-9]{1,8}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,8}){0,2}$/);
const registry = fc.constantFrom(
  "ghcr.io",
  "docker.io",
  "localhost",
  "localhost:5000",
  "registry.example.com:443",
  "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
  "[::1]:5000",
  "[fe80::1]",
);
export const validTag: fc.Arbitrary<string> = fc.stringMatching(/^[\w][\w.-]{0,30}$/);

/**
 * A valid image name: optional registry, 1-3 path components. Without a registry the first
 * component must not look like a host (a "." or ":" in it, or "localhost"), as in Docker's grammar.
 */
export const validImageName: fc.Arbitrary<string> = fc
  .tuple(fc.option(registry, { nil: undefined }), fc.array(pathComponent, { minLength: 1, maxLength: 3 }))
  .filter(([reg, parts]) => reg !== undefined || parts.length === 1 || !/[.:]|^localhost$/.test(parts[0] ?? ""))
  .map(([reg, parts]) => [...(reg ? [reg] : []), ...parts].join("/"));

/** A valid, pinned image reference: name with a tag, a digest or both. */
export const validImageRef: fc.Arbitrary<string> = fc
  .tuple(validImageName, fc.option(validTag, { nil: undefined }), fc.option(sha256Digest, { nil: undefined }))
  .filter(([, tag, digest]) => tag !== undefined || digest !== undefined)
  .map(([name, tag, digest]) => `${name}${tag !== undefined ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`);

/** An image reference built from the grammar, then maybe broken with a hostile piece. */
export const imageRefLike: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: validImageRef },
  { weight: 1, arbitrary: validImageName },
  {
    weight: 3,
    arbitrary: fc
      .tuple(validImageRef, fc.nat(), hostileUnit)
      .map(([ref, at, piece]) => ref.slice(0, at % (ref.length + 1)) + piece + ref.slice(at % (ref.length + 1))),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      `app@sha512:${"a".repeat(128)}`,
      `app@sha256:${"A".repeat(64)}`,
      `app@sha256:${"a".repeat(63)}`,
      `app:${"t".repeat(128)}`,
      `app:${"t".repeat(129)}`,
      `${"a".repeat(256)}:1`,
      `${"a/".repeat(200)}a:1`,
      "registry:99999/app:1",
      "[::1::2]:5000/app:1",
      "[1.2.3.4]/app:1",
      "UPPER/app:1",
      "app:-tag",
      "app:.tag",
      "a__b/c___d:1",
      "@sha256:",
      ":",
      "/app:1",
      "app/:1",
      "app//x:1",
    ),
  },
);

// ---------------------------------------------------------------------------------------------
// Generic JSON-ish values with hostile strings

/** JSON values whose strings are hostile. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    anyString(6),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(anyString(3), fc.constantFrom("__proto__", "constructor", "toString")), tie("value"), {
      maxKeys: 4,
    }),
  ),
})).value;
