// The fetch Conveyor sends GitHub requests (Octokit) and git over HTTP (git-http.ts) with:
// node:http(s) on keep-alive connections instead of Node's built-in fetch (undici), whose web
// streams and per-request machinery cost more CPU than the request itself in a burst. It does what
// Octokit's fetch wrapper and git-http need and no more:
// - the answer's status, status text, headers, final address, and body as text, bytes or a stream
//   (asked for compressed, gzip or brotli, and decompressed, as fetch does);
// - redirects followed as fetch follows them (at most 20; 303, and 301/302 after a POST, become a
//   GET without a body; the Authorization header is not carried to another origin);
// - `redirect: "manual"` answers the redirect itself, `"error"` fails on one;
// - an AbortSignal; a connection that stays silent for `idleTimeoutMs` (5 minutes, undici's
//   default) fails the request;
// - failures thrown as fetch throws them: TypeError("fetch failed") with the cause, AbortError.
// Bodies of other kinds than text and bytes (streams) go through the built-in fetch.
import http from "node:http";
import https from "node:https";
import zlib from "node:zlib";

export interface HttpFetchOptions {
  /** Connections kept per origin (default 32). */
  maxSockets?: number;
  /** How long a connection may stay silent during a request (default 300 s). */
  idleTimeoutMs?: number;
}

const MAX_REDIRECTS = 20;
const FREE_SOCKET_MS = 4_000;
/** A compressed answer larger than this once decompressed fails the request. */
const MAX_DECODED_BYTES = 256 * 1024 * 1024;
/** Methods a request may be sent again with when the kept connection it went out on was closed. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  bytes: Buffer;
}

/** What Octokit reads from a fetch response (and no more), over bytes already received. */
export class BufferedResponse {
  private used = false;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    private readonly bytes: Buffer,
    readonly redirected: boolean,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  /** A stream of the bytes, for whoever asks for one (null when there are none, as fetch gives). */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.bytes.length === 0 && [101, 204, 205, 304].includes(this.status)) return null;
    return new Response(this.bytes).body;
  }

  private take(): Buffer {
    if (this.used) throw new TypeError("Body is unusable: Body has already been read");
    this.used = true;
    return this.bytes;
  }

  async text(): Promise<string> {
    return this.take().toString("utf8");
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /** The same answer under other headers (the bytes are shared, not copied). */
  withHeaders(headers: Headers): BufferedResponse {
    return new BufferedResponse(this.url, this.status, this.statusText, headers, this.bytes, this.redirected);
  }
}

class ClosedConnection extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

/** A compressed body, decompressed as fetch does (its content-encoding header is left as sent). */
function decoded(encoding: string | null, bytes: Buffer): Promise<Buffer> {
  const coding = encoding?.trim().toLowerCase();
  if (!coding || coding === "identity" || bytes.length === 0) return Promise.resolve(bytes);
  const options = { maxOutputLength: MAX_DECODED_BYTES };
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: Buffer) => (error ? reject(error) : resolve(result));
    if (coding === "gzip" || coding === "x-gzip") zlib.gunzip(bytes, options, done);
    else if (coding === "br") zlib.brotliDecompress(bytes, options, done);
    else if (coding === "deflate") zlib.inflate(bytes, options, done);
    else resolve(bytes);
  });
}

function failed(cause: unknown): TypeError {
  return new TypeError("fetch failed", { cause });
}

export function httpFetch(options: HttpFetchOptions = {}): typeof globalThis.fetch {
  const maxSockets = options.maxSockets ?? 32;
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  // An idle connection is closed after 4 s (a server's Keep-Alive hint, when it gives one, is
  // taken instead), as undici does: before a server would close it under a request being sent.
  const agents = {
    "http:": new http.Agent({ keepAlive: true, maxSockets, timeout: FREE_SOCKET_MS }),
    "https:": new https.Agent({ keepAlive: true, maxSockets, timeout: FREE_SOCKET_MS }),
  };

  const once = (url: URL, method: string, headers: Headers, body: Buffer | undefined, signal?: AbortSignal | null) =>
    new Promise<Answer>((resolve, reject) => {
      const protocol = url.protocol as "http:" | "https:";
      const outgoing: Record<string, string> = {};
      headers.forEach((value, name) => (outgoing[name] = value));
      if (body !== undefined) outgoing["content-length"] = String(body.length);
      const request = (protocol === "https:" ? https : http).request(
        url,
        { method, headers: outgoing, agent: agents[protocol], ...(signal ? { signal } : {}) },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", (error) => reject(signal?.aborted ? signal.reason : failed(error)));
          response.on("end", () => {
            const answer = new Headers();
            const raw = response.rawHeaders;
            for (let i = 0; i + 1 < raw.length; i += 2) answer.append(raw[i] as string, raw[i + 1] as string);
            const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
            decoded(answer.get("content-encoding"), bytes).then(
              (body) =>
                resolve({
                  status: response.statusCode ?? 0,
                  statusText: response.statusMessage ?? "",
                  headers: answer,
                  bytes: body,
                }),
              (error: unknown) => reject(failed(error)),
            );
          });
        },
      );
      request.setTimeout(idleTimeoutMs, () => request.destroy(new Error(`no answer for ${idleTimeoutMs} ms`)));
      request.on("error", (error: NodeJS.ErrnoException) => {
        if (signal?.aborted) return reject(signal.reason);
        // The server closed a kept connection as the request went out on it: nothing was answered.
        const closed = request.reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE");
        reject(closed ? new ClosedConnection(error) : failed(error));
      });
      request.end(body);
    });

  const fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    if (
      input instanceof Request ||
      (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array))
    )
      return globalThis.fetch(input, init);
    let url = new URL(String(input));
    if (url.protocol !== "http:" && url.protocol !== "https:") return globalThis.fetch(input, init);
    let method = (init.method ?? "GET").toUpperCase();
    const headers = new Headers(init.headers);
    // Compressed answers, as fetch asks for them: GitHub's lists are a tenth of their size.
    if (!headers.has("accept-encoding")) headers.set("accept-encoding", "gzip, br");
    let bytes = body === undefined || body === null ? undefined : Buffer.from(body as string | Uint8Array);
    if (typeof body === "string" && !headers.has("content-type"))
      headers.set("content-type", "text/plain;charset=UTF-8");
    for (let redirects = 0; ; redirects++) {
      if (init.signal?.aborted) throw init.signal.reason;
      const answer = await once(url, method, headers, bytes, init.signal).catch((error: unknown) => {
        if (!(error instanceof ClosedConnection)) throw error;
        // Once more on a new connection, where sending twice does no harm.
        if (!IDEMPOTENT.has(method)) throw failed(error.error);
        return once(url, method, headers, bytes, init.signal).catch((again: unknown) => {
          throw again instanceof ClosedConnection ? failed(again.error) : again;
        });
      });
      const location = answer.headers.get("location");
      if (!REDIRECTS.has(answer.status) || location === null || init.redirect === "manual")
        return new BufferedResponse(
          url.href,
          answer.status,
          answer.statusText,
          answer.headers,
          answer.bytes,
          redirects > 0,
        ) as unknown as Response;
      if (init.redirect === "error") throw failed(new Error(`redirected to ${location}`));
      if (redirects >= MAX_REDIRECTS) throw failed(new Error("too many redirects"));
      const next = new URL(location, url);
      if (next.protocol !== "http:" && next.protocol !== "https:")
        throw failed(new Error("redirected to a URL that is not HTTP"));
      if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === "POST")) {
        if (method !== "HEAD") method = "GET";
        bytes = undefined;
        for (const name of [
          "content-type",
          "content-length",
          "content-encoding",
          "content-language",
          "content-location",
        ])
          headers.delete(name);
      }
      if (next.origin !== url.origin) {
        headers.delete("authorization");
        headers.delete("cookie");
        headers.delete("proxy-authorization");
      }
      url = next;
    }
  };
  return fetch as typeof globalThis.fetch;
}
