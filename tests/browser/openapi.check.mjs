// Checks an OpenAPI document with an independent validator (swagger-parser: the official
// OpenAPI 3.1 schema, and every $ref resolved). Run by crates/civitas/tests/devnet_samples.rs
// on the document a node serves: `node openapi.check.mjs <file>`.
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node openapi.check.mjs <openapi.json>");
  process.exit(2);
}
try {
  const api = await SwaggerParser.validate(file);
  const operations = Object.values(api.paths).reduce(
    (n, item) => n + Object.keys(item).length,
    0,
  );
  console.log(`valid OpenAPI ${api.openapi}: ${operations} operations`);
} catch (error) {
  console.error(`invalid: ${error.message}`);
  process.exit(1);
}
