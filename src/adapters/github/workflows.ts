// GitHub Actions workflow runs, for E2E gates: dispatch a gate's workflow and read its run back.
// GitHub answers a dispatch with the run's id when asked (return_run_details); where it does not
// (older GitHub Enterprise Server), the run is found by the correlation id in its title.
import { findGateRun, type GateDispatch, type GateRun } from "../../core/gates.js";
import type { Octokit, RepoRef } from "./client.js";

interface RunFields {
  id: number;
  status: string | null;
  conclusion: string | null;
  html_url: string;
  display_title?: string;
  created_at?: string;
}

const toGateRun = (run: RunFields): GateRun => ({
  id: run.id,
  status: run.status ?? "queued",
  conclusion: run.conclusion,
  htmlUrl: run.html_url,
});

export class Workflows {
  constructor(
    private readonly octokit: Octokit,
    private readonly ref: RepoRef,
  ) {}

  /** Starts the gate's workflow; the run's id when GitHub says it. */
  async dispatch(dispatch: GateDispatch): Promise<{ runId?: number }> {
    const response = await this.octokit.request(
      "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
      {
        ...this.ref,
        workflow_id: dispatch.workflow,
        ref: dispatch.ref,
        inputs: dispatch.inputs,
        return_run_details: true,
      },
    );
    const data = response.data as { workflow_run_id?: unknown } | undefined;
    return typeof data?.workflow_run_id === "number" ? { runId: data.workflow_run_id } : {};
  }

  async getRun(id: number): Promise<GateRun> {
    const { data } = await this.octokit.rest.actions.getWorkflowRun({ ...this.ref, run_id: id });
    return toGateRun(data);
  }

  /** The gate's run among the workflow's recent dispatched runs, by its correlation id, made since `notBefore`. */
  async findRun(workflow: string, correlationId: string, notBefore?: string): Promise<GateRun | undefined> {
    const { data } = await this.octokit.rest.actions.listWorkflowRuns({
      ...this.ref,
      workflow_id: workflow,
      event: "workflow_dispatch",
      per_page: 50,
    });
    const run = findGateRun(data.workflow_runs, correlationId, notBefore);
    return run ? toGateRun(run) : undefined;
  }
}
