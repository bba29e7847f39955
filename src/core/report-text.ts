// Text for the people who caused a problem: a refused deploy event or an invalid config file.
import type { ConfigProblem } from "./config.js";
import type { DispatchSource, RejectCode } from "./dispatch.js";
import { quote } from "./names.js";
import { describeSource } from "./pr-text.js";

export const ERROR_LABEL = "conveyor:error";
export const CONFIG_LABEL = "conveyor:config";
export const CONFIG_MARKER = "conveyor:config";

export interface RejectionReport {
  /** One issue per (service, reason): the marker is its identity. */
  marker: string;
  title: string;
  body: string;
  checkName: string;
}

export function rejectionReport(input: {
  manifestsRepo: string;
  eventType: string;
  service?: string;
  code: RejectCode;
  reason: string;
  source: DispatchSource;
  deliveryId: string;
  /** The GitHub server's web address, for links to the source. */
  web?: string;
}): RejectionReport {
  const subject = input.service ?? "an unknown service";
  return {
    marker: `conveyor:error:${input.service ?? "-"}:${input.code}`,
    title: `Conveyor refused a deploy of ${subject} (${input.code})`,
    checkName: "conveyor/deploy",
    body: [
      `Conveyor refused a ${quote(input.eventType, 80)} event for **${subject}** in ${input.manifestsRepo}. Nothing was changed.`,
      "",
      `**Reason:** ${input.reason}`,
      "",
      `Sent by: ${describeSource(input.source, input.web)}`,
      `Delivery: ${quote(input.deliveryId, 80)}`,
      "",
      "Fix the event (or `.github/conveyor.yml`) and send it again. This issue is updated, not duplicated, when the same problem happens again.",
    ].join("\n"),
  };
}

/**
 * The check run that follows one service's deploy through its retries: updated in place, so it
 * is named for the service (one commit may send deploys of several services, and a refusal of
 * one must not be overwritten by another's retry).
 */
const failureCheckName = (service: string) => `conveyor/deploy (${service})`;

/**
 * An accepted deploy event whose PR could not be made (pushes kept being refused, GitHub kept
 * failing): said to its sender like a refusal, with the promise that Conveyor keeps trying.
 */
export function failureReport(input: {
  manifestsRepo: string;
  eventType: string;
  service: string;
  reason: string;
  source: DispatchSource;
  deliveryId: string;
  /** When Conveyor tries again; undefined when it has given up. */
  retryAt?: string;
}): RejectionReport {
  return {
    marker: `conveyor:error:${input.service}:failed`,
    title: `Conveyor could not open the PR for a deploy of ${input.service}`,
    checkName: failureCheckName(input.service),
    body: [
      `Conveyor accepted a ${quote(input.eventType, 80)} event for **${input.service}** in ${input.manifestsRepo}, but could not make its pull request.`,
      "",
      `**What failed:** ${input.reason}`,
      "",
      `Sent by: ${describeSource(input.source)}`,
      `Delivery: ${quote(input.deliveryId, 80)}`,
      "",
      input.retryAt
        ? `The event is kept: Conveyor tries again at ${input.retryAt}, and after a restart. Nothing to do unless this keeps happening.`
        : "Conveyor gave up on this event after several attempts: send it again once the problem is fixed.",
    ].join("\n"),
  };
}

/**
 * An accepted event whose PR was made after all, on a later attempt: what its sender was told
 * at the first failure is put right (the check run passes, the issue is closed).
 */
export function recoveredReport(input: {
  manifestsRepo: string;
  service: string;
  deliveryId: string;
  pr: string;
  attempts: number;
}): RejectionReport {
  return {
    marker: `conveyor:error:${input.service}:failed`,
    title: `Conveyor opened the PR for a deploy of ${input.service} on attempt ${input.attempts}`,
    checkName: failureCheckName(input.service),
    body: [
      `The pull request for **${input.service}** in ${input.manifestsRepo} was made after all: ${input.pr}.`,
      "",
      `Delivery: ${quote(input.deliveryId, 80)}, attempt ${input.attempts}. Nothing to do.`,
    ].join("\n"),
  };
}

export function configReport(problems: ConfigProblem[]): { title: string; body: string } {
  return {
    title: "Conveyor: .github/conveyor.yml is invalid",
    body: [
      "Conveyor cannot use `.github/conveyor.yml` and does nothing for this repository until it is fixed.",
      "",
      "| key | problem |",
      "|---|---|",
      ...problems
        .slice(0, 50)
        .map((p) => `| \`${p.path.replace(/[|`]/g, "")}\` | ${p.message.replace(/\|/g, "\\|").replace(/\n/g, " ")} |`),
      "",
      "The schema is in `schema/conveyor.schema.json` of the Conveyor repository; this issue closes itself when a valid config lands on the default branch.",
    ].join("\n"),
  };
}
