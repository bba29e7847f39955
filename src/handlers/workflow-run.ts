// workflow_run (completed) -> an E2E gate this process waits for may have finished: look at it now.
// The payload is only a nudge: what counts is GitHub's record of the run, read by the gate's flow,
// and only a run of the repository the gate was dispatched to nudges it.
import type { Context } from "probot";
import { correlationIdsIn } from "../core/gates.js";
import type { Services } from "../flows/services.js";

export async function handleWorkflowRun(context: Context<"workflow_run">, services: Services): Promise<void> {
  const { payload } = context;
  if (payload.action !== "completed" || !services.gateWaits) return;
  const title = payload.workflow_run.display_title ?? "";
  for (const id of correlationIdsIn(title.slice(0, 1_000))) {
    if (services.gateWaits.nudge(id, payload.repository.full_name))
      context.log.info({ run: payload.workflow_run.id, gate: id }, "E2E gate run finished: looking at it");
  }
}
