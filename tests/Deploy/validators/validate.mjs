// Validates Kubernetes objects offline against the API's JSON schemas (kubernetes-models): types, enums,
// required fields. Unknown fields pass here; KubernetesClient's strict load catches those.
// Usage: node validate.mjs FILE.yaml...  Prints one JSON report per file ({"files": [{file, objects,
// failures: [{document, object, error}]}]}); exits 1 if any object fails.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const files = [];
for (const file of process.argv.slice(2)) {
  const report = { file, objects: 0, failures: [] };
  files.push(report);
  for (const [index, document] of parseAllDocuments(readFileSync(file, "utf8")).entries()) {
    if (document.errors.length > 0) {
      report.failures.push({ document: index, object: "?", error: document.errors.map(String).join("; ") });
      continue;
    }
    const object = document.toJS();
    if (object === null) continue;
    report.objects++;
    const name = `${object.kind ?? "?"}/${object.metadata?.name ?? "?"}`;
    try {
      const model = await modelOf(object.apiVersion, object.kind);
      new model(object).validate();
    } catch (e) {
      report.failures.push({ document: index, object: name, error: e.message });
    }
  }
}
console.log(JSON.stringify({ files }));
process.exit(files.every((f) => f.failures.length === 0 && f.objects > 0) ? 0 : 1);

// "apps/v1" -> kubernetes-models/apps/v1, "v1" -> kubernetes-models/v1. An unknown kind is a failure, so
// that no object goes unchecked.
async function modelOf(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    throw new Error("apiVersion and kind must be strings");
  }
  let module;
  try {
    module = await import(`kubernetes-models/${apiVersion}`);
  } catch {
    throw new Error(`unknown apiVersion ${apiVersion}`);
  }
  const model = module[kind];
  if (typeof model !== "function") throw new Error(`unknown kind ${kind} in ${apiVersion}`);
  return model;
}
