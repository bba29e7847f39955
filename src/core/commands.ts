// Slash commands in PR comments, parsed into typed commands. Pure: the comment text in, commands
// and user-facing errors out. Every argument is untrusted: names must be valid names and images
// valid OCI references before anything downstream sees them.
import { parseImageRef } from "./image-ref.js";
import { isValidName, quote } from "./names.js";

export const MAX_COMMENT_CHARS = 65_536;
export const MAX_COMMANDS = 10;
export const MAX_LINE_CHARS = 512;
export const NAMESPACE = "conveyor";

export type Command =
  | { verb: "promote"; line: string; env: string; force: boolean }
  | { verb: "rollback"; line: string; env?: string; service?: string; image?: string }
  | { verb: "hold" | "unhold"; line: string; env?: string; reason?: string }
  | { verb: "retry"; line: string }
  | { verb: "status"; line: string; service?: string }
  | { verb: "help"; line: string };

export type Verb = Command["verb"];

export interface CommandError {
  /** The offending line, trimmed (or a description of the comment for comment-wide errors). */
  line: string;
  message: string;
  usage?: string;
  suggestion?: string;
}

export interface ParsedComment {
  commands: Command[];
  errors: CommandError[];
}

export const USAGE: Record<Verb, { usage: string; summary: string }> = {
  promote: {
    usage: "/promote <env> [--force]",
    summary:
      "open or update the PR that takes this change's image to <env>; --force skips the verification check (approvers of <env> only)",
  },
  rollback: {
    usage: "/rollback [<env>]  or  /rollback <service> <env> [<image>]",
    summary:
      "revert this PR's change (in its environment or <env>), or set <service> in <env> back to its previous verified image (or <image>)",
  },
  hold: {
    usage: "/hold [<env>] [-- <reason>]",
    summary: "stop auto-merge of this PR, or freeze automatic merges and promotions into <env>",
  },
  unhold: {
    usage: "/unhold [<env>]",
    summary: "resume auto-merge of this PR, unfreeze <env>, or (on its issue) lift a failed rollout's hold",
  },
  retry: { usage: "/retry", summary: "re-run the step that failed last on this PR (the edit, or the verification)" },
  status: {
    usage: "/status [<service>]",
    summary: "reply with each environment's image, health, last change and holds",
  },
  help: { usage: "/help", summary: "this list" },
};

export const VERBS = Object.keys(USAGE) as Verb[];

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Reads the command lines of a comment. A command line starts (after at most three spaces) with
 * `/<verb>` or `/conveyor <verb>`; lines in fenced code blocks, indented code and `>` quotes are
 * not commands. A `/word` that is neither a verb nor close to one is ordinary text.
 */
export function parseCommands(body: string, options: { requireNamespace?: boolean } = {}): ParsedComment {
  const commands: Command[] = [];
  const errors: CommandError[] = [];
  if (body.length > MAX_COMMENT_CHARS) {
    return {
      commands,
      errors: [
        {
          line: "(the comment)",
          message: `the comment is longer than ${MAX_COMMENT_CHARS} characters; commands were not read`,
        },
      ],
    };
  }
  let fence: string | undefined;
  let commandLines = 0;
  for (const rawLine of body.split(/\r\n|\r|\n/)) {
    const fenceMatch = FENCE.exec(rawLine);
    if (fence !== undefined) {
      if (
        fenceMatch &&
        (fenceMatch[1] as string)[0] === fence[0] &&
        (fenceMatch[1] as string).length >= fence.length &&
        rawLine.trim() === fenceMatch[1]
      )
        fence = undefined;
      continue;
    }
    if (fenceMatch) {
      fence = fenceMatch[1];
      continue;
    }
    if (!/^ {0,3}\//.test(rawLine)) continue;
    const line = rawLine.trim();
    const tokens = line.split(/\s+/u);
    let head = (tokens[0] as string).slice(1).toLowerCase();
    let rest = tokens.slice(1);
    const namespaced = head === NAMESPACE;
    if (namespaced) {
      head = (rest[0] ?? "").toLowerCase();
      rest = rest.slice(1);
    } else if (options.requireNamespace) {
      continue;
    }
    if (!isVerb(head)) {
      const suggestion = closestVerb(head);
      // Without the namespace, `/something` far from any verb is just text (a path, another bot's command).
      if (!namespaced && suggestion === undefined) continue;
      if (++commandLines > MAX_COMMANDS) continue;
      errors.push({
        line: clip(line),
        message: head === "" ? "no command after /conveyor" : `unknown command ${quote(head, 40)}`,
        usage: VERBS.map((v) => USAGE[v].usage).join("\n"),
        suggestion: suggestion ? `/${namespaced ? `${NAMESPACE} ` : ""}${suggestion}` : undefined,
      });
      continue;
    }
    if (++commandLines > MAX_COMMANDS) continue;
    if (line.length > MAX_LINE_CHARS) {
      errors.push({
        line: clip(line),
        message: `the command line is longer than ${MAX_LINE_CHARS} characters`,
        usage: USAGE[head].usage,
      });
      continue;
    }
    const parsed = parseArguments(head, rest, line);
    if ("message" in parsed) errors.push({ line: clip(line), usage: USAGE[head].usage, ...parsed });
    else commands.push(parsed);
  }
  if (commandLines > MAX_COMMANDS) {
    errors.push({
      line: "(the comment)",
      message: `the comment has ${commandLines} command lines; at most ${MAX_COMMANDS} are allowed in one comment`,
    });
  }
  return { commands, errors };
}

function parseArguments(verb: Verb, args: string[], line: string): Command | { message: string; suggestion?: string } {
  const flags = args.filter((a) => a.startsWith("--") && a !== "--");
  const reasonAt = args.indexOf("--");
  const positional = (reasonAt >= 0 ? args.slice(0, reasonAt) : args).filter((a) => !a.startsWith("--"));
  const reason =
    reasonAt >= 0
      ? args
          .slice(reasonAt + 1)
          .join(" ")
          .trim()
      : undefined;
  const allowedFlags = verb === "promote" ? ["--force"] : [];
  const badFlag = (reasonAt >= 0 ? args.slice(0, reasonAt) : args).find(
    (a) => a.startsWith("--") && a !== "--" && !allowedFlags.includes(a.toLowerCase()),
  );
  if (badFlag) return { message: `unknown option ${quote(badFlag, 40)}` };
  if (reasonAt >= 0 && verb !== "hold") return { message: `${quote("--", 4)} (a reason) is only read by /hold` };

  const name = (what: "environment" | "service", value: string): string | { message: string } => {
    const lower = value.toLowerCase();
    return isValidName(lower)
      ? lower
      : {
          message: `${quote(value, 40)} is not a valid ${what} name (lowercase letters, digits, '.', '_' or '-', at most 63 characters)`,
        };
  };
  const tooMany = (max: number) =>
    positional.length > max ? { message: `too many arguments (${positional.length}; at most ${max})` } : undefined;

  switch (verb) {
    case "promote": {
      if (positional.length === 0) return { message: "name the environment to promote to" };
      const extra = tooMany(1);
      if (extra) return extra;
      const env = name("environment", positional[0] as string);
      if (typeof env !== "string") return env;
      return { verb, line, env, force: flags.some((f) => f.toLowerCase() === "--force") };
    }
    case "rollback": {
      const extra = tooMany(3);
      if (extra) return extra;
      if (positional.length <= 1) {
        if (positional.length === 0) return { verb, line };
        const env = name("environment", positional[0] as string);
        return typeof env === "string" ? { verb, line, env } : env;
      }
      const service = name("service", positional[0] as string);
      if (typeof service !== "string") return service;
      const env = name("environment", positional[1] as string);
      if (typeof env !== "string") return env;
      if (positional.length === 2) return { verb, line, service, env };
      const image = parseImageRef(positional[2] as string);
      if (!image.ok) return { message: image.reason };
      if (image.value.tag === undefined && image.value.digest === undefined)
        return { message: `image ${quote(positional[2], 80)} needs a tag or a digest` };
      return { verb, line, service, env, image: positional[2] as string };
    }
    case "hold":
    case "unhold": {
      const extra = tooMany(1);
      if (extra)
        return verb === "hold"
          ? {
              message: `${extra.message}; write a reason after ${quote("--", 4)}, e.g. /hold production -- release freeze`,
            }
          : extra;
      if (reason !== undefined && reason.length > 280) return { message: "the reason is longer than 280 characters" };
      const command: Command = { verb, line };
      if (reason) command.reason = reason;
      if (positional.length === 0) return command;
      const env = name("environment", positional[0] as string);
      return typeof env === "string" ? { ...command, env } : env;
    }
    case "status": {
      const extra = tooMany(1);
      if (extra) return extra;
      if (positional.length === 0) return { verb, line };
      const service = name("service", positional[0] as string);
      return typeof service === "string" ? { verb, line, service } : service;
    }
    case "retry":
    case "help": {
      const extra = tooMany(0);
      return extra ?? { verb, line };
    }
  }
}

function isVerb(value: string): value is Verb {
  return (VERBS as string[]).includes(value);
}

/** The verb within edit distance 2 of a mistyped one (and not a mere prefix of a long word). */
export function closestVerb(word: string): Verb | undefined {
  if (word.length < 2 || word.length > 12) return undefined;
  let best: { verb: Verb; distance: number } | undefined;
  for (const verb of VERBS) {
    const distance = editDistance(word, verb);
    if (distance <= Math.min(2, Math.floor(verb.length / 2)) && (!best || distance < best.distance))
      best = { verb, distance };
  }
  return best?.verb;
}

/** Damerau–Levenshtein distance (optimal string alignment): a swapped pair counts as one edit. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

function clip(line: string): string {
  if (line.length <= 120) return line;
  // At most 117 UTF-16 units, cut between code points so no half of an emoji is left.
  let out = "";
  for (const point of line) {
    if (out.length + point.length > 117) break;
    out += point;
  }
  return `${out}...`;
}

/** The /help text: one line per command. */
export function helpText(): string {
  return VERBS.map((v) => `- \`${USAGE[v].usage}\`: ${USAGE[v].summary}`).join("\n");
}
