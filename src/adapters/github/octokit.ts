// Probot's Octokit with Conveyor's accounting: every GitHub call is reported, and rate limits,
// primary and secondary, are waited out and retried (never dropped), with the wait reported.
import Bottleneck from "bottleneck";
import { ProbotOctokit } from "probot";
import { BufferedResponse, httpFetch } from "../http-fetch.js";
import { LightLimiter } from "./limiter.js";

type LightGroup = InstanceType<typeof LightLimiter.Group>;

const MAX_RETRIES = 5;
/** Tries after the first for a server error or no answer, as Octokit's retry plugin makes. */
const RETRIES = 3;
const RETRY_BASE_MS = 1_000;
/** Answers that say the request is wrong (a 403 may be a rate limit: the throttling's): not sent again. */
const NOT_RETRIED = [400, 401, 403, 404, 410, 422, 451];
/**
 * A secondary limit says "wait, then send again": it refuses nothing for good. Writes queued behind
 * one another (a burst of PRs, their labels and check runs) can each be refused several times
 * in a row while the others take the window's turns, so they get more tries than other failures
 * before the flow gives up and starts the whole change again later.
 */
const MAX_SECONDARY_RETRIES = 20;

type RequestOptions = { method?: string; url?: string; request?: { retryCount?: number } };
type ThrottleOptions = Record<string, unknown> & {
  connection?: Bottleneck.IORedisConnection | Bottleneck.RedisConnection;
};

export interface OctokitTuning {
  /**
   * Minimum time between two writes (POST, PATCH, PUT, DELETE) of one installation; Octokit's
   * default is 1000 ms.
   */
  writeIntervalMs?: number;
  /**
   * Minimum time between two writes that notify people (opening a PR or an issue, commenting,
   * merging); Octokit's default is 3000 ms, so by default Conveyor opens at most 20 PRs a minute
   * per installation. GitHub's secondary limit is about 80 content-creating requests a minute;
   * GitHub Enterprise Server's limits are the admin's to set; benchmarks that compress time
   * compress these too.
   */
  notificationIntervalMs?: number;
}

/** Where the client reports what it did (the process's metrics, in production). */
export interface OctokitRecorder {
  request(method: string, status: string): void;
  rateLimitWait(kind: "primary" | "secondary"): void;
}

const ignore: OctokitRecorder = { request: () => undefined, rateLimitWait: () => undefined };

/** Where jsonAsText keeps a response's own content type. */
const JSON_TYPE = "x-conveyor-json-content-type";

/**
 * Octokit parses every JSON response with a BigInt-aware parser (json-with-bigint) that, on Node
 * 20, rewrites the whole text with a regular expression and then revives every value: a large
 * share of Conveyor's CPU in a burst. GitHub's REST numbers are all safe integers, so JSON.parse
 * gives the same objects. This fetch hands a successful JSON response to Octokit as text (its
 * type kept aside); the request hook below parses it. Errors keep their type: Octokit reads
 * their message from the parsed body.
 */
function jsonAsText(fetch: typeof globalThis.fetch): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const type = response.headers.get("content-type") ?? "";
    const mime = type.split(";")[0]?.trim().toLowerCase();
    if (response.status < 200 || response.status > 299 || response.status === 204 || response.status === 205)
      return response;
    if (mime !== "application/json") return response;
    const buffered = response instanceof BufferedResponse;
    // (A buffered response's body is made on demand: not asked for here.)
    if (!buffered && response.body === null) return response;
    const headers = new Headers(response.headers);
    headers.set(JSON_TYPE, type);
    headers.set("content-type", "text/plain; charset=utf-8");
    if (buffered) return response.withHeaders(headers) as unknown as Response;
    const text = new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    // Pagination reads the page's address from the response.
    Object.defineProperty(text, "url", { value: response.url });
    return text;
  };
}

export function conveyorOctokit(tuning: OctokitTuning = {}, recorder: OctokitRecorder = ignore) {
  // One limiter of each kind for every client this class makes (one per installation token),
  // keyed by installation as Octokit's own are; with REDIS_URL they live in Redis and replicas
  // share them.
  // One set of keep-alive connections for every client the class makes.
  const sharedFetch = httpFetch();
  const groups: { write?: Bottleneck.Group | LightGroup; notifications?: Bottleneck.Group | LightGroup } = {};
  const tuned = (throttle: ThrottleOptions | undefined) => {
    const make = (id: string, minTime: number) =>
      throttle?.connection
        ? new Bottleneck.Group({ id, maxConcurrent: 1, minTime, timeout: 120_000, connection: throttle.connection })
        : new LightLimiter.Group({ maxConcurrent: 1, minTime });
    if (tuning.writeIntervalMs !== undefined) groups.write ??= make("conveyor-write", tuning.writeIntervalMs);
    if (tuning.notificationIntervalMs !== undefined)
      groups.notifications ??= make("conveyor-notifications", tuning.notificationIntervalMs);
    return { ...groups };
  };
  return ProbotOctokit.plugin((octokit) => {
    // The JSON that jsonAsText handed over as text, parsed, under its own type again.
    octokit.hook.wrap("request", async (request, options) => {
      const response = await request(options);
      const headers = response.headers as Record<string, string | undefined>;
      const type = headers[JSON_TYPE];
      if (type === undefined) return response;
      delete headers[JSON_TYPE];
      headers["content-type"] = type;
      if (typeof response.data === "string")
        try {
          response.data = JSON.parse(response.data) as unknown;
        } catch {
          // Not JSON after all: the text, as Octokit gives it.
        }
      return response;
    });
    octokit.hook.after("request", (response, options) => {
      recorder.request(String(options.method), String(response.status));
    });
    octokit.hook.error("request", (error, options) => {
      const status = (error as { status?: number }).status;
      recorder.request(String(options.method), String(status ?? "error"));
      throw error;
    });
    // Octokit's retry plugin, minus its Bottleneck (one made per request): a server error, a 429
    // the throttling gave up on, or a request that got no answer, is sent again up to RETRIES
    // times, after 1, 4 and 9 s; other refusals (the request itself is wrong; a 403 rate limit is
    // the throttling's) are not.
    octokit.hook.wrap("request", async (request, options) => {
      const wait = (attempt: number) => {
        (options.request as { retryCount?: number }).retryCount = attempt + 1;
        return new Promise((resolve) => setTimeout(resolve, (attempt + 1) ** 2 * RETRY_BASE_MS));
      };
      for (let attempt = 0; ; attempt++) {
        try {
          const response = await request(options);
          // GitHub's GraphQL API answers a failure on its side with 200 and this message.
          const errors = (response.data as { errors?: Array<{ message?: unknown }> } | undefined)?.errors;
          if (
            attempt < RETRIES &&
            /Something went wrong while executing your query/.test(String(errors?.[0]?.message))
          ) {
            await wait(attempt);
            continue;
          }
          return response;
        } catch (error) {
          const status = (error as { status?: number; request?: unknown }).status;
          const fromRequest = (error as { request?: unknown }).request !== undefined;
          if (
            !fromRequest ||
            status === undefined ||
            status < 400 ||
            NOT_RETRIED.includes(status) ||
            attempt >= RETRIES
          )
            throw error;
          await wait(attempt);
        }
      }
    });
    return {};
  }).defaults((options: Record<string, unknown> & { throttle?: ThrottleOptions }) => ({
    // A function, not an object: Probot passes its own throttle options (which give up on secondary
    // limits) with every instance, and only a function can put ours on top of them.
    ...options,
    // Its retries are the request hook's above.
    retry: { enabled: false },
    request: {
      ...(options.request as Record<string, unknown> | undefined),
      fetch: jsonAsText((options.request as { fetch?: typeof fetch } | undefined)?.fetch ?? sharedFetch),
    },
    throttle: {
      ...options.throttle,
      // In one process, a lighter limiter than Bottleneck; shared through Redis, Bottleneck's.
      ...(options.throttle?.connection ? {} : { Bottleneck: LightLimiter }),
      ...tuned(options.throttle),
      onRateLimit: (retryAfter: number, request: RequestOptions, octokit: { log: { warn(msg: string): void } }) => {
        recorder.rateLimitWait("primary");
        octokit.log.warn(`rate limit hit on ${request.method} ${request.url}; retrying in ${retryAfter} s`);
        return (request.request?.retryCount ?? 0) < MAX_RETRIES;
      },
      onSecondaryRateLimit: (
        retryAfter: number,
        request: RequestOptions,
        octokit: { log: { warn(msg: string): void } },
      ) => {
        recorder.rateLimitWait("secondary");
        octokit.log.warn(`secondary rate limit hit on ${request.method} ${request.url}; retrying in ${retryAfter} s`);
        return (request.request?.retryCount ?? 0) < MAX_SECONDARY_RETRIES;
      },
    },
  }));
}
