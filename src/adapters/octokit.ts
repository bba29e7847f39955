// Probot's Octokit with Conveyor's accounting: every GitHub call is counted, and rate limits,
// primary and secondary, are waited out and retried (never dropped), with the wait counted.
import { ProbotOctokit } from "probot";
import { metrics } from "../runtime/metrics.js";

const MAX_RETRIES = 5;

type RequestOptions = { method?: string; url?: string; request?: { retryCount?: number } };

export const ConveyorOctokit = ProbotOctokit.plugin((octokit) => {
  octokit.hook.after("request", (response, options) => {
    metrics.githubRequests.inc({ method: String(options.method), status: String(response.status) });
  });
  octokit.hook.error("request", (error, options) => {
    const status = (error as { status?: number }).status;
    metrics.githubRequests.inc({ method: String(options.method), status: String(status ?? "error") });
    throw error;
  });
  return {};
}).defaults((options: Record<string, unknown> & { throttle?: Record<string, unknown> }) => ({
  // A function, not an object: Probot passes its own throttle options (which give up on secondary
  // limits) with every instance, and only a function can put ours on top of them.
  ...options,
  throttle: {
    ...options.throttle,
    onRateLimit: (retryAfter: number, request: RequestOptions, octokit: { log: { warn(msg: string): void } }) => {
      metrics.rateLimitWaits.inc({ kind: "primary" });
      octokit.log.warn(`rate limit hit on ${request.method} ${request.url}; retrying in ${retryAfter} s`);
      return (request.request?.retryCount ?? 0) < MAX_RETRIES;
    },
    onSecondaryRateLimit: (retryAfter: number, request: RequestOptions, octokit: { log: { warn(msg: string): void } }) => {
      metrics.rateLimitWaits.inc({ kind: "secondary" });
      octokit.log.warn(`secondary rate limit hit on ${request.method} ${request.url}; retrying in ${retryAfter} s`);
      return (request.request?.retryCount ?? 0) < MAX_RETRIES;
    },
  },
}));
