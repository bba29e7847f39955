/** Local stand-in for GitHub ("the forge"). See server.ts for the API. */
export { startForge } from "./server.js";
export type {
  Forge,
  ForgeFaults,
  ForgeOptions,
  ForgeRepoInfo,
  ForgeRequest,
  ForgeUserSpec,
  Permission,
  WebhookDelivery,
} from "./server.js";
export { sign as signWebhook } from "./webhooks.js";
