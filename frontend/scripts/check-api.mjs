// Fails when openapi.yaml or src/api/schema.d.ts are behind the backend's OpenAPI schema.
// Regenerates both into a temporary folder and compares them with the committed files.
// Fix a failure with: npm run schema && npm run gen:api
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const frontend = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(frontend, "..");
const python = process.env.PYTHON ?? (existsSync(join(root, ".venv/bin/python")) ? join(root, ".venv/bin/python") : "python3");
const work = mkdtempSync(join(tmpdir(), "masklet-api-"));
try {
  const schema = join(work, "openapi.yaml");
  const types = join(work, "schema.d.ts");
  execFileSync(python, ["manage.py", "spectacular", "--file", schema], { cwd: root, stdio: "inherit" });
  execFileSync(join(frontend, "node_modules/.bin/openapi-typescript"), [schema, "-o", types], {
    cwd: frontend,
    stdio: "ignore",
  });
  const stale = [
    ["frontend/openapi.yaml", schema, join(frontend, "openapi.yaml")],
    ["frontend/src/api/schema.d.ts", types, join(frontend, "src/api/schema.d.ts")],
  ].filter(([, fresh, committed]) => !existsSync(committed) || readFileSync(fresh, "utf8") !== readFileSync(committed, "utf8"));
  if (stale.length) {
    console.error(`Out of date with the backend's API: ${stale.map(([name]) => name).join(", ")}`);
    console.error("Regenerate them in frontend/ with: npm run schema && npm run gen:api");
    process.exit(1);
  }
  console.log("openapi.yaml and src/api/schema.d.ts match the backend.");
} finally {
  rmSync(work, { recursive: true, force: true });
}
