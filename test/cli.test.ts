import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, type CliIo } from "../src/cli.js";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../bin/conveyor.js", import.meta.url));

const KUSTOMIZATION = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
images:
  - name: app # {"$imagepolicy": "flux-system:app"}
    newTag: "1.19" # pinned
`;

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "conveyor-cli-"));
  file = join(dir, "kustomization.yaml");
  await writeFile(file, KUSTOMIZATION);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string; writes: number }> {
  let stdout = "";
  let stderr = "";
  let writes = 0;
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    readFile: (path) => readFile(path, "utf8"),
    writeFile: async (path, text) => {
      writes++;
      await writeFile(path, text);
    },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr, writes };
}

describe("conveyor set-image", () => {
  it("edits the file in place, changing only the tag", async () => {
    const result = await cli("set-image", file, "app:1.20");
    expect(result).toMatchObject({ code: 0, stdout: "", writes: 1 });
    expect(result.stderr).toBe(`conveyor: updated ${file}\n`);
    expect(await readFile(file, "utf8")).toBe(KUSTOMIZATION.replace('"1.19"', '"1.20"'));
  });

  it("applies several specs in order", async () => {
    const result = await cli("set-image", file, "app:v2", "web=ghcr.io/acme/web:v1");
    expect(result.code).toBe(0);
    expect(await readFile(file, "utf8")).toBe(
      `${KUSTOMIZATION.replace('"1.19"', '"v2"')}  - name: web\n    newName: ghcr.io/acme/web\n    newTag: "v1"\n`,
    );
  });

  it("prints the edited file with --stdout and leaves the file alone", async () => {
    const result = await cli("set-image", "--stdout", file, "app:1.20");
    expect(result).toMatchObject({ code: 0, stderr: "", writes: 0 });
    expect(result.stdout).toBe(KUSTOMIZATION.replace('"1.19"', '"1.20"'));
    expect(await readFile(file, "utf8")).toBe(KUSTOMIZATION);
  });

  it("does not rewrite a file that is already up to date", async () => {
    const result = await cli("set-image", file, "app:1.19");
    expect(result).toMatchObject({ code: 0, writes: 0, stderr: `conveyor: ${file} already up to date\n` });
  });

  it.each([
    ["app", /sets nothing/],
    ["app:-1", /invalid tag/],
    ["app@sha256:123", /invalid digest/],
  ])("exits 1 on the bad spec %j with a one-line reason, file untouched", async (spec, reason) => {
    const result = await cli("set-image", file, "app:v2", spec);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(reason);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(await readFile(file, "utf8")).toBe(KUSTOMIZATION);
  });

  it.each([
    ["empty", "", /empty/],
    ["templated", "images:\n  - name: app\n    newTag: {{ .Values.tag }}\n", /template/],
    ["invalid YAML", "images:\n  - name: app\n   newTag: [v1\n", /invalid YAML/],
    ["not a kustomization", "apiVersion: v1\nkind: ConfigMap\n", /kind is "ConfigMap"/],
  ])("exits 2 on an %s file and leaves it untouched", async (_what, text, reason) => {
    await writeFile(file, text);
    const result = await cli("set-image", file, "app:v2");
    expect(result).toMatchObject({ code: 2, stdout: "", writes: 0 });
    expect(result.stderr).toMatch(reason);
    expect(result.stderr.startsWith(`conveyor: ${file}: `)).toBe(true);
    expect(await readFile(file, "utf8")).toBe(text);
  });

  it("exits 2 when the file cannot be read", async () => {
    const result = await cli("set-image", join(dir, "missing.yaml"), "app:v2");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot read .*missing\.yaml \(ENOENT\)/);
  });

  it.each([
    [[], 1, "stderr"],
    [["--help"], 0, "stdout"],
    [["set-image", "--help"], 0, "stdout"],
  ] as const)("prints usage for %j", async (argv, code, stream) => {
    const result = await cli(...argv);
    expect(result.code).toBe(code);
    expect(result[stream]).toMatch(/^Usage: conveyor set-image <kustomization.yaml> <spec>\.\.\. \[--stdout\]/);
  });

  it.each([
    [["deploy"], /unknown command "deploy"/],
    [["set-image", "FILE"], /needs a kustomization file and at least one image spec/],
    [["set-image", "FILE", "app:v2", "--in-place"], /unknown option "--in-place"/],
  ])("exits 1 on bad arguments %j", async (argv, reason) => {
    const result = await cli(...argv.map((arg) => (arg === "FILE" ? file : arg)));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(reason);
    expect(await readFile(file, "utf8")).toBe(KUSTOMIZATION);
  });
});

describe("bin/conveyor.js", () => {
  it("runs the CLI as a real process", async () => {
    const edited = await run(process.execPath, [BIN, "set-image", file, "app=ghcr.io/acme/app:*"]);
    expect(edited.stderr).toBe(`conveyor: updated ${file}\n`);
    expect(await readFile(file, "utf8")).toBe(
      KUSTOMIZATION.replace(
        '    newTag: "1.19" # pinned\n',
        '    newTag: "1.19" # pinned\n    newName: ghcr.io/acme/app\n',
      ),
    );

    const failed = await run(process.execPath, [BIN, "set-image", file, "app:"]).catch((error: unknown) => error);
    expect(failed).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^conveyor: image spec "app:" has an invalid tag/),
    });
  });
});
