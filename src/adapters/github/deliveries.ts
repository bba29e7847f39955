// The app's webhook deliveries as GitHub recorded them (JWT-authenticated): listed newest first
// through GitHub's cursor pages, one read for an event's payload, and a redelivery.
import type { DeliveryRecord } from "../../core/replay.js";
import type { Octokit } from "./client.js";

export class AppDeliveries {
  constructor(private readonly auth: () => Promise<Octokit>) {}

  /** Deliveries newest first, until `stopAt` says stop (1 call per 100). */
  async recent(stopAt: (record: DeliveryRecord) => boolean): Promise<DeliveryRecord[]> {
    const octokit = await this.auth();
    const records: DeliveryRecord[] = [];
    for await (const page of octokit.paginate.iterator(octokit.rest.apps.listWebhookDeliveries, { per_page: 100 })) {
      for (const d of page.data) {
        const record: DeliveryRecord = {
          id: d.id,
          guid: d.guid,
          deliveredAt: d.delivered_at,
          redelivery: d.redelivery,
          statusCode: d.status_code,
          event: d.event,
          action: d.action,
          installationId: d.installation_id,
        };
        if (stopAt(record)) return records;
        records.push(record);
      }
    }
    return records;
  }

  /** The payload GitHub sent in one attempt (1 call). */
  async payload(id: number): Promise<Record<string, unknown>> {
    const octokit = await this.auth();
    const { data } = await octokit.rest.apps.getWebhookDelivery({ delivery_id: id });
    const payload = data.request.payload;
    return payload && typeof payload === "object" ? (payload as Record<string, unknown>) : {};
  }

  /** Asks GitHub to deliver an attempt again (1 call). */
  async redeliver(id: number): Promise<void> {
    const octokit = await this.auth();
    await octokit.rest.apps.redeliverWebhookDelivery({ delivery_id: id });
  }
}
