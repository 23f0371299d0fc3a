#!/usr/bin/env node
// Thin launcher for the bundled CLI (built by `npm run build` into dist/cli.js).
require('../dist/cli.js')
  .main(process.argv.slice(2))
  .then((code) => { process.exitCode = code; });
