// repository_dispatch -> a PR per (service, environment). The event is checked and answered at
// once; the edit is left to the background: in a burst it waits its turn in the repository's
// queue far longer than GitHub waits for a webhook answer.
import type { Context } from "probot";
import { eventRepo } from "../adapters/github/event.js";
import type { Services } from "../flows/services.js";
import { takeDispatch } from "../flows/take-dispatch.js";

export async function handleRepositoryDispatch(
  context: Context<"repository_dispatch">,
  services: Services,
): Promise<void> {
  const { payload } = context;
  await takeDispatch(
    services,
    eventRepo(context),
    { eventType: payload.action, clientPayload: payload.client_payload, deliveryId: context.id },
    context.log,
  );
}
