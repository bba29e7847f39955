// Git's smart HTTP protocol (version 0), the two requests Conveyor makes from this process instead
// of starting `git fetch` or `git push` (each of which starts three or four processes): reading
// where the remote's branches are, and sending a pack of objects with leased ref updates. Other
// transports, or a machine that needs a proxy for git, keep using git itself (see usable()). Both
// go over kept connections (http-fetch.ts).
import { httpFetch } from "./http-fetch.js";
import { redact } from "./redact.js";

export const ZERO_ID = "0".repeat(40);

export interface RefUpdate {
  ref: string;
  /** What the ref must be now (ZERO_ID: must not exist); the remote refuses the update otherwise. */
  old: string;
  new: string;
}

const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/**
 * Whether this process may speak to the remote itself: http(s) without credentials in the URL,
 * and no proxy configured (git would honour it; fetch() here would not).
 */
export function usable(remoteUrl: string, env: NodeJS.ProcessEnv = process.env): boolean {
  let url: URL;
  try {
    url = new URL(remoteUrl);
  } catch {
    return false;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return false;
  if (url.username || url.password) return false;
  return !PROXY_VARIABLES.some((name) => env[name]?.trim());
}

function pkt(text: string | Buffer): Buffer {
  const body = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, "0"), "latin1"), body]);
}

/** The pkt-lines of a response; a flush packet is an empty string. */
function pktLines(data: Buffer): string[] {
  const lines: string[] = [];
  let at = 0;
  while (at + 4 <= data.length) {
    const length = parseInt(data.subarray(at, at + 4).toString("latin1"), 16);
    if (Number.isNaN(length)) throw new Error("git over HTTP: the remote's answer is not pkt-lines");
    if (length === 0) {
      lines.push("");
      at += 4;
      continue;
    }
    if (length < 4 || at + length > data.length) throw new Error("git over HTTP: a truncated pkt-line");
    lines.push(data.subarray(at + 4, at + length).toString("utf8"));
    at += length;
  }
  return lines;
}

const base = (remoteUrl: string) => remoteUrl.replace(/\/+$/, "");

/** Kept connections to the remote, as Octokit's requests have (see http-fetch.ts). */
const send = httpFetch();

async function request(url: string, init: RequestInit & { what: string }): Promise<Buffer> {
  let res: Response;
  try {
    res = await send(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(120_000) });
  } catch (error) {
    throw new Error(`${init.what} failed: ${redact(error instanceof Error ? error.message : String(error))}`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200)
    throw new Error(`${init.what} failed: the remote answered ${res.status} ${redact(body.toString("utf8", 0, 300))}`);
  return body;
}

/** Branches of the remote and their commits, from one `info/refs` request. */
export async function remoteHeads(remoteUrl: string, authorization?: string): Promise<Map<string, string>> {
  const body = await request(`${base(remoteUrl)}/info/refs?service=git-upload-pack`, {
    what: "git fetch",
    headers: { ...(authorization ? { authorization } : {}), "user-agent": "git/conveyor" },
  });
  const lines = pktLines(body);
  if (!lines[0]?.startsWith("# service=git-upload-pack"))
    throw new Error("git fetch failed: the remote does not speak smart HTTP");
  const heads = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const match = /^([0-9a-f]{40}) refs\/heads\/([^\0\n]+)/.exec(line);
    if (match) heads.set(match[2] as string, match[1] as string);
  }
  return heads;
}

/**
 * Sends `pack` and the ref updates in one `git-receive-pack` request. Per ref: accepted, or the
 * remote's reason for refusing it (a lease that no longer holds, a protected branch).
 */
export async function receivePack(
  remoteUrl: string,
  updates: RefUpdate[],
  pack: Buffer,
  authorization?: string,
): Promise<Map<string, { ok: true } | { ok: false; reason: string }>> {
  const commands = updates.map((u, i) => pkt(`${u.old} ${u.new} ${u.ref}${i === 0 ? "\0report-status" : ""}\n`));
  const body = await request(`${base(remoteUrl)}/git-receive-pack`, {
    what: "git push",
    method: "POST",
    headers: {
      ...(authorization ? { authorization } : {}),
      "content-type": "application/x-git-receive-pack-request",
      accept: "application/x-git-receive-pack-result",
      "user-agent": "git/conveyor",
    },
    body: Buffer.concat([...commands, Buffer.from("0000", "latin1"), pack]),
  });
  const lines = pktLines(body).map((l) => l.replace(/\n$/, ""));
  const unpack = lines.find((l) => l.startsWith("unpack "));
  if (unpack !== "unpack ok") throw new Error(`git push failed: ${redact(unpack ?? "no status from the remote")}`);
  const results = new Map<string, { ok: true } | { ok: false; reason: string }>();
  for (const line of lines) {
    const ok = /^ok (\S+)$/.exec(line);
    if (ok) results.set(ok[1] as string, { ok: true });
    const ng = /^ng (\S+) ?(.*)$/.exec(line);
    if (ng) results.set(ng[1] as string, { ok: false, reason: redact(ng[2] ?? "") });
  }
  return results;
}
