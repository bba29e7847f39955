// Reads a repository's `.github/<file>` the way Probot's `context.config` does: the repository's
// file, else the organisation's `.github` repository's; `_extends` followed (`repo`, `owner/repo`
// or `owner/repo:path.yml`), each file's keys over those of the file it extends. 1 call, 2 when
// the repository has none.
//
// Every event reads the file, and it rarely changes. So each answer is kept with its ETag and
// asked for again conditionally: GitHub answers 304 without the file when it is unchanged, which
// costs no rate limit, and the kept parse is used. A file's text is parsed once however it
// arrives (the same text from another address, an unconditional answer), and the parse is frozen:
// readers share it. A text larger than MAX_CONFIG_BYTES is refused unparsed: it would hold the
// event loop.
import { parse } from "yaml";
import { deepFreeze } from "../../core/deep-freeze.js";
import { statusOf, type Octokit, type RepoRef } from "./client.js";

/** The largest configuration file read (Conveyor's own are a few KiB). */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** The most files one configuration may be made of (its own, the org's, then each `_extends`). */
const MAX_FILES = 10;
/** Answers kept by address, and parses kept by text: 64 of each, the oldest dropped first ... */
const KEPT = 64;
/** ... and only for texts up to this size (the others are read and parsed each time). */
const KEPT_MAX_BYTES = 32 * 1024;

/** A configuration file that is there but cannot be used: the user's problem to fix, not a crash. */
export class ConfigFileProblem extends Error {
  constructor(
    readonly url: string,
    readonly problem: string,
  ) {
    super(`Configuration could not be parsed from ${url}: ${problem}`);
  }
}

interface Place {
  owner: string;
  repo: string;
  path: string;
}

interface Read extends Place {
  /** The parsed file (frozen: shared between reads), or null when there is none. */
  config: Readonly<Record<string, unknown>> | null;
}

const answers = new Map<string, { etag: string; text: string }>();
const parses = new Map<string, Record<string, unknown> | ConfigFileProblem>();

function keep<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > KEPT) map.delete(map.keys().next().value as string);
}

/** The merged configuration, or null when neither place has a file. Unusable files throw ConfigFileProblem. */
export async function readConfigFile(octokit: Octokit, ref: RepoRef, file: string): Promise<unknown> {
  const path = `.github/${file}`;
  const files = [await readOne(octokit, { ...ref, path })];
  if (!files[0]?.config && ref.repo !== ".github")
    files.push(await readOne(octokit, { ...ref, repo: ".github", path }));
  for (let last = files[files.length - 1] as Read; last.config && "_extends" in last.config;) {
    const next = extendsPlace(octokit, last, path);
    if (files.some((f) => f.owner === next.owner && f.repo === next.repo && f.path === next.path))
      throw new ConfigFileProblem(urlOf(octokit, last), `_extends: ${String(last.config._extends)} was already read`);
    if (files.length >= MAX_FILES)
      throw new ConfigFileProblem(urlOf(octokit, last), `more than ${MAX_FILES} files through _extends`);
    last = await readOne(octokit, next);
    files.push(last);
  }
  if (files.every((f) => f.config === null)) return null;
  const configs = files.map((f) => f.config).filter((c): c is Record<string, unknown> => c !== null);
  const { _extends: _, ...merged } = Object.assign({}, ...configs.reverse()) as Record<string, unknown>;
  return merged;
}

/** Where `_extends` points: a repository of the same owner, `owner/repo`, and optionally `:path`. */
function extendsPlace(octokit: Octokit, from: Read, path: string): Place {
  const value = from.config?._extends;
  const match =
    typeof value === "string"
      ? /^(?:([a-z\d](?:[a-z\d]|-(?=[a-z\d])){0,38})\/)?([-_.\w]+)(?::([-_./\w]+\.ya?ml))?$/i.exec(value)
      : null;
  if (!match)
    throw new ConfigFileProblem(urlOf(octokit, from), `_extends: ${JSON.stringify(value)} is not a repository`);
  return { owner: match[1] ?? from.owner, repo: match[2] as string, path: match[3] ?? path };
}

const ROUTE = "GET /repos/{owner}/{repo}/contents/{path}";
const urlOf = (octokit: Octokit, place: Place) => octokit.request.endpoint(ROUTE, { ...place }).url;

async function readOne(octokit: Octokit, place: Place): Promise<Read> {
  const key = `${place.owner}/${place.repo}:${place.path}`.toLowerCase();
  const kept = answers.get(key);
  let text: string;
  try {
    const response = await octokit.request(ROUTE, {
      ...place,
      mediaType: { format: "raw" },
      headers: kept ? { "if-none-match": kept.etag } : {},
    });
    if (String(response.headers["content-type"] ?? "").startsWith("application/json"))
      throw new Error(`${urlOf(octokit, place)} exists, but is either a directory or a submodule`);
    const data: unknown = response.data;
    text = typeof data === "string" ? data : Buffer.from(data as ArrayBuffer).toString("utf8");
    const etag = response.headers.etag;
    if (etag && Buffer.byteLength(text) <= KEPT_MAX_BYTES) keep(answers, key, { etag, text });
    else answers.delete(key);
  } catch (error) {
    const status = statusOf(error);
    if (status === 304 && kept) text = kept.text;
    else if (status === 404) {
      answers.delete(key);
      return { ...place, config: null };
    } else throw error;
  }
  return { ...place, config: parsed(() => urlOf(octokit, place), text) };
}

/** The text as YAML (an empty file is an empty configuration), once per text. */
function parsed(url: () => string, text: string): Readonly<Record<string, unknown>> {
  let result = parses.get(text);
  if (result === undefined) {
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_CONFIG_BYTES) throw new ConfigFileProblem(url(), `larger than ${MAX_CONFIG_BYTES / 1024} KiB`);
    try {
      const value: unknown = parse(text, { logLevel: "error" }) ?? {};
      result =
        typeof value === "object"
          ? deepFreeze(value as Record<string, unknown>)
          : new ConfigFileProblem("", "not a mapping of settings");
    } catch {
      result = new ConfigFileProblem("", "not valid YAML");
    }
    if (bytes <= KEPT_MAX_BYTES) keep(parses, text, result);
  }
  if (result instanceof ConfigFileProblem) throw new ConfigFileProblem(url(), result.problem);
  return result;
}

/** What is wrong with a configuration file that cannot be used, or undefined for other errors. */
export function configFileProblem(error: unknown): string | undefined {
  return error instanceof ConfigFileProblem ? error.problem : undefined;
}
