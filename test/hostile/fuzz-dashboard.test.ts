// The dashboard reads text anyone with access can write (issue bodies someone edits, hold and
// freeze reasons, images) and writes it into Markdown and HTML. Properties: reading ticked boxes
// never throws and yields only valid names; what people wrote can neither forge a box in the
// dashboard issue nor a tag in the web page.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dashboardIssueText, tickedActions } from "../../src/core/dashboard/issue.js";
import { buildDashboard } from "../../src/core/dashboard/matrix.js";
import type { DashboardInput } from "../../src/core/dashboard/model.js";
import { repoPage } from "../../src/core/dashboard/page.js";
import { isValidName } from "../../src/core/names.js";
import { anyString, hostileString, settings } from "./arbitraries.js";

const input = (text: string): DashboardInput => ({
  repo: "acme/manifests",
  htmlUrl: "https://github.com/acme/manifests",
  environments: [
    { name: "staging", approvers: [], autoMerge: true },
    { name: "production", approvers: [], autoMerge: false },
  ],
  services: ["order-service"],
  deployments: [
    {
      id: 1,
      service: "order-service",
      env: "staging",
      image: text,
      from: null,
      pr: 2,
      revert: false,
      sha: "a".repeat(40),
      createdAt: "2026-03-01T10:00:00Z",
      statuses: [{ state: "failure", at: "2026-03-01T10:05:00Z", description: text }],
    },
  ],
  holds: [
    { service: "order-service", env: "staging", issue: 3, since: "2026-03-01T10:06:00Z", reason: text, image: text },
  ],
  freezes: [{ env: "production", issue: 4, since: "2026-03-01T10:07:00Z", by: "reviewer", reason: text }],
  waiting: [],
  verifying: [],
});

describe("dashboard parsers and texts on hostile input", () => {
  it("tickedActions never throws and names only valid services and environments", () => {
    fc.assert(
      fc.property(anyString(), anyString(), (before, after) => {
        for (const action of tickedActions(before, after)) {
          expect(isValidName(action.env)).toBe(true);
          if (action.kind !== "unfreeze") expect(isValidName(action.service)).toBe(true);
        }
      }),
      settings(300),
    );
  });

  it("a reason or image cannot forge a box in the dashboard issue", () => {
    fc.assert(
      fc.property(hostileString(), (text) => {
        const { body } = dashboardIssueText(buildDashboard(input(text)));
        // Conveyor writes exactly two boxes here: lift the hold, and unfreeze.
        expect(body.match(/<!-- conveyor:action:/g)).toHaveLength(2);
        const ticked = body.replace(/- \[ \]/g, "- [x]");
        expect(tickedActions(body, ticked)).toEqual([
          { kind: "unfreeze", env: "production" },
          { kind: "unhold", service: "order-service", env: "staging" },
        ]);
      }),
      settings(300),
    );
  });

  it("a reason or image cannot open a tag in the web page", () => {
    fc.assert(
      fc.property(hostileString(), (text) => {
        const html = repoPage({ login: "reviewer" }, buildDashboard(input(text)), [], 30);
        const tags = new Set([...html.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => (m[1] as string).toLowerCase()));
        for (const tag of tags)
          expect([
            "html",
            "head",
            "meta",
            "title",
            "style",
            "body",
            "a",
            "header",
            "main",
            "h1",
            "h2",
            "h3",
            "table",
            "caption",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "span",
            "br",
            "code",
            "time",
            "ul",
            "li",
            "p",
            "nav",
            "strong",
            "form",
            "button",
            "section",
            "div",
          ]).toContain(tag);
      }),
      settings(200),
    );
  });
});
