// Validate GLB files with the Khronos glTF-Validator; prints one JSON report per file on stdout:
// {"file", "numErrors", "numWarnings", "messages": [...]}. Exit 0 unless a file could not be read.
// Usage: node tools/validate-gltf.mjs a.glb [b.glb ...]
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

const reports = [];
for (const file of process.argv.slice(2)) {
  const bytes = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(bytes, { maxIssues: 200, writeTimestamp: false });
  reports.push({
    file,
    numErrors: report.issues.numErrors,
    numWarnings: report.issues.numWarnings,
    messages: report.issues.messages,
  });
}
process.stdout.write(JSON.stringify(reports));
