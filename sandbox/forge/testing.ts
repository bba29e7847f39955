/**
 * Helpers for tests and the sandbox that talk to the forge: an app key pair,
 * app JWTs, and a local webhook receiver that checks signatures.
 */
import { createServer } from "node:http";
import { generateKeyPairSync, sign as rsaSign, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { sign } from "./webhooks.js";

export function generateAppKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** An RS256 GitHub App JWT, as @octokit/auth-app makes one (iat 30 s back, exp +10 min). */
export function createAppJwt(appId: number, privateKeyPem: string, opts: { iat?: number; exp?: number } = {}): string {
  const nowSec = Math.floor(Date.now() / 1000);
  const iat = opts.iat ?? nowSec - 30;
  const exp = opts.exp ?? iat + 600;
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${enc({ alg: "RS256", typ: "JWT" })}.${enc({ iat, exp, iss: appId })}`;
  return `${input}.${rsaSign("RSA-SHA256", Buffer.from(input), privateKeyPem).toString("base64url")}`;
}

export interface ReceivedWebhook {
  event: string;
  delivery: string;
  signatureValid: boolean;
  headers: Record<string, string | string[] | undefined>;
  payload: Record<string, unknown>;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Status to answer with (default 200). */
  status: number;
  close(): Promise<void>;
}

/** A local HTTP server collecting webhooks and checking X-Hub-Signature-256. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: "",
    received: [],
    status: 200,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const expected = Buffer.from(sign(secret, body));
      const got = Buffer.from(String(req.headers["x-hub-signature-256"] ?? ""));
      let payload: Record<string, unknown> = {};
      try {
        payload = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // keep empty
      }
      receiver.received.push({
        event: String(req.headers["x-github-event"] ?? ""),
        delivery: String(req.headers["x-github-delivery"] ?? ""),
        signatureValid: expected.length === got.length && timingSafeEqual(expected, got),
        headers: req.headers,
        payload,
      });
      res.writeHead(receiver.status);
      res.end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return receiver;
}

/** A workflow an E2E gate can dispatch: its run title carries the image and the correlation id. */
export const E2E_WORKFLOW = `name: e2e
run-name: e2e of \${{ inputs.image }} [\${{ inputs.correlation_id }}]
on:
  workflow_dispatch:
    inputs:
      image: { required: true }
      environment: { required: true }
      service: { required: true }
      manifests_commit: { required: true }
      correlation_id: { required: true }
jobs: {}
`;
