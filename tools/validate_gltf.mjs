// Validate glTF files with the Khronos glTF validator (npm `gltf-validator`).
// Usage: node tools/validate_gltf.mjs FILE.glb [...]; prints each report's JSON, one per line;
// exit 1 when any file has errors. NODE_PATH must reach gltf-validator (the Makefile installs it
// under .cache/node/node_modules).
import { createRequire } from "module";
import { readFileSync } from "fs";
import path from "path";

const require = createRequire(path.join(process.cwd(), "noop.js"));
const validator = require(process.env.GLTF_VALIDATOR || "gltf-validator");
let failed = false;
for (const file of process.argv.slice(2)) {
  const report = await validator.validateBytes(new Uint8Array(readFileSync(file)), { maxIssues: 50, uri: file });
  if (report.issues.numErrors > 0) failed = true;
  console.log(JSON.stringify(report));
}
process.exit(failed ? 1 : 0);
