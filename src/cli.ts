/**
 * `conveyor set-image <kustomization.yaml> <spec>... [--stdout]`: the lossless image edit from
 * the command line, for trying Conveyor's edits on a real file before installing the app.
 *
 * Exit codes: 0 done (or nothing to change), 1 bad arguments or image spec, 2 a file this tool
 * cannot edit (missing, empty, templated, invalid YAML, ...). The file is never touched unless
 * the edit succeeded.
 */
import { readFile, writeFile } from "node:fs/promises";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseImageSpec, type ImageChange } from "./core/image-spec.js";
import { setImages } from "./core/set-image.js";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => Promise<string>;
  writeFile: (path: string, text: string) => Promise<void>;
}

export const USAGE = `Usage: conveyor set-image <kustomization.yaml> <spec>... [--stdout]

Set image names, tags or digests in a kustomization file, changing only those values:
comments, quoting, key order, indentation and line endings stay as they are.

Specs (the syntax of "kustomize edit set image"):
  app:1.2.3                     set newTag (removes digest)
  app@sha256:<64 hex>           set digest (removes newTag)
  app:1.2.3@sha256:<64 hex>     set both
  app=registry.example/app:1.2  set newName and newTag
  app=*:1.2.3                   "*" keeps the current value

Options:
  --stdout   print the edited file instead of writing it
  --help     show this help

Exit codes: 0 done, 1 bad arguments or spec, 2 file cannot be edited (left untouched).
`;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    (argv.length === 0 ? io.stderr : io.stdout)(USAGE);
    return argv.length === 0 ? 1 : 0;
  }
  const [command, ...rest] = argv;
  if (command !== "set-image") {
    io.stderr(`conveyor: unknown command ${JSON.stringify(command)}; try "conveyor --help"\n`);
    return 1;
  }

  const toStdout = rest.includes("--stdout");
  const unknownOption = rest.find((arg) => arg.startsWith("--") && arg !== "--stdout");
  if (unknownOption !== undefined) {
    io.stderr(`conveyor: unknown option ${JSON.stringify(unknownOption)}; try "conveyor --help"\n`);
    return 1;
  }
  const [file, ...specs] = rest.filter((arg) => arg !== "--stdout");
  if (file === undefined || specs.length === 0) {
    io.stderr(`conveyor: set-image needs a kustomization file and at least one image spec; try "conveyor --help"\n`);
    return 1;
  }

  const changes: ImageChange[] = [];
  for (const spec of specs) {
    const parsed = parseImageSpec(spec);
    if (!parsed.ok) {
      io.stderr(`conveyor: ${parsed.reason}\n`);
      return 1;
    }
    changes.push(parsed.value);
  }

  let text: string;
  try {
    text = await io.readFile(file);
  } catch (error) {
    const code = (error as { code?: string }).code;
    io.stderr(`conveyor: cannot read ${file}${code ? ` (${code})` : ""}\n`);
    return 2;
  }

  const result = setImages(text, changes);
  if (!result.ok) {
    io.stderr(`conveyor: ${file}: ${result.reason}\n`);
    return 2;
  }
  if (toStdout) {
    io.stdout(result.text);
    return 0;
  }
  if (result.changed) {
    await io.writeFile(file, result.text);
    io.stderr(`conveyor: updated ${file}\n`);
  } else {
    io.stderr(`conveyor: ${file} already up to date\n`);
  }
  return 0;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  return runCli(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readFile: (path) => readFile(path, "utf8"),
    writeFile: (path, text) => writeFile(path, text, "utf8"),
  });
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main();
}
