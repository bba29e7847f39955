// The process's logger never writes a webhook payload: the webhooks library attaches the whole
// event to the errors it reports (a bad signature among them), and pino would serialize it.
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { safeError } from "../../src/adapters/log.js";
import { scrubRenderError } from "../../src/adapters/renderer.js";

describe("safeError", () => {
  it("drops the event (and its payload) from a webhook error, also inside an AggregateError", () => {
    const inner = Object.assign(new Error("[@octokit/webhooks] signature does not match event payload and secret"), {
      status: 400,
      event: { id: "d-1", name: "push", payload: '{"huge":"ATTACKER-CONTROLLED-PAYLOAD"}' },
    });
    const aggregate = Object.assign(new AggregateError([inner], "signature does not match"), { event: inner.event });
    const lines: string[] = [];
    const log = pino(
      { serializers: { err: safeError } },
      new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }),
    );
    log.error(aggregate);
    log.error({ err: inner }, "verification failed");
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain("ATTACKER-CONTROLLED-PAYLOAD");
      expect(line).toContain("signature does not match");
    }
  });
});

describe("scrubRenderError", () => {
  it("masks credentials echoed in an error but keeps file names that merely contain the word", () => {
    const text = scrubRenderError(
      "literal app.token=s3cr3t-value and db.password: hunter2; open secret.txt: no such file or directory",
    );
    expect(text).not.toContain("s3cr3t-value");
    expect(text).not.toContain("hunter2");
    expect(text).toContain("app.token=[REDACTED]");
    expect(text).toContain("open secret.txt: no such file or directory");
  });
});
