// Wiring only: which event goes to which handler.
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApplicationFunctionOptions, Probot } from "probot";
import { Workspaces } from "./adapters/workspaces.js";
import { KeyedQueue } from "./runtime/keyed-queue.js";
import { handleDeployDispatch } from "./handlers/deploy-dispatch.js";
import type { AppServices } from "./handlers/services.js";

export interface ConveyorOptions {
  /** Where manifests-repo clones live; CONVEYOR_WORKSPACE_DIR or a folder in the temp dir. */
  workspaceDir?: string;
}

export function createConveyor(options: ConveyorOptions = {}) {
  return (app: Probot, _probotOptions?: ApplicationFunctionOptions): void => {
    const services: AppServices = {
      workspaces: new Workspaces(options.workspaceDir ?? process.env.CONVEYOR_WORKSPACE_DIR ?? join(tmpdir(), "conveyor-workspaces")),
      queue: new KeyedQueue(),
    };
    app.on("repository_dispatch", (context) => handleDeployDispatch(context, app, services));
  };
}

export default createConveyor();
