// The process's logger: pino, formatted as Probot formats it (LOG_FORMAT, LOG_LEVEL), with one
// difference that matters: an error never carries a webhook's payload into a log line. The
// webhooks library attaches the whole event (payload included) to the errors it reports, a bad
// signature among them; a body an attacker sent is not something to write to disk, twice.
import { getTransformStream } from "@probot/pino";
import pino, { type Logger } from "pino";
import { redact } from "./redact.js";

type Serialized = Record<string, unknown> & { aggregateErrors?: Serialized[] };

/** pino's error serializer, without `event` (and its payload), with the message redacted. */
export function safeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const plain = pino.stdSerializers.err(error) as unknown as Serialized;
  return scrub(plain);
}

function scrub(error: Serialized): Serialized {
  const { event, payload, request, response, ...rest } = error as Serialized & {
    event?: unknown;
    payload?: unknown;
    request?: unknown;
    response?: unknown;
  };
  void event;
  void payload;
  void request;
  void response;
  const out: Serialized = { ...rest };
  if (typeof out.message === "string") out.message = redact(out.message);
  if (typeof out.stack === "string") out.stack = redact(out.stack);
  if (Array.isArray(out.aggregateErrors)) out.aggregateErrors = out.aggregateErrors.map(scrub);
  return out;
}

export async function createLog(env: NodeJS.ProcessEnv): Promise<Logger> {
  const transform = await getTransformStream({
    logFormat: env.LOG_FORMAT === "json" ? "json" : "pretty",
    logLevelInString: env.LOG_LEVEL_IN_STRING === "true",
    sentryDsn: env.SENTRY_DSN,
  });
  transform.pipe(pino.destination(1) as unknown as NodeJS.WritableStream);
  return pino(
    {
      name: "probot",
      level: env.LOG_LEVEL ?? "info",
      messageKey: env.LOG_MESSAGE_KEY ?? "msg",
      serializers: { err: safeError, error: safeError },
    },
    transform,
  );
}
