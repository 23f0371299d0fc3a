#!/usr/bin/env node
// Thin launcher for the bundled CLI (built by `npm run build` into dist/cli.js).
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  // A checkout that was never built: say what to do instead of Node's "Cannot find module".
  process.stderr.write(`early-exit: this checkout is not built (dist/cli.js is missing); run "npm run build" in ${path.resolve(__dirname, '..')} first\n`);
  process.exit(2);
}
require(cli)
  .main(process.argv.slice(2))
  .then((code) => { process.exitCode = code; });
