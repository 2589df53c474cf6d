#!/usr/bin/env node
// Prints the Subresource Integrity hashes of the GraphiQL playground's CDN files, computed from the
// exact files of the pinned npm packages in tests/browser/node_modules (`npm ci --prefix tests/browser`
// first). Paste the output into `CDN_FILES` in src/graphql/playground.rs when a pin changes; the
// browser test (tests/browser/playground.test.mjs) serves these same files and fails on a stale hash.
//
//   node scripts/sri.mjs

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const modules = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'browser', 'node_modules');

/** [package, pinned version, file inside the package], in the order the page loads them. */
const FILES = [
  ['react', '18.3.1', 'umd/react.production.min.js'],
  ['react-dom', '18.3.1', 'umd/react-dom.production.min.js'],
  ['graphql-ws', '6.4.2', 'umd/graphql-ws.min.js'],
  ['graphiql', '4.1.2', 'graphiql.min.js'],
  ['graphiql', '4.1.2', 'graphiql.min.css'],
];

let failed = false;
for (const [name, version, file] of FILES) {
  const installed = JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')).version;
  if (installed !== version) {
    // A hash of another version's file would be a hash the CDN never serves for this URL.
    console.error(`${name}: installed ${installed}, pinned ${version} — run npm ci --prefix tests/browser`);
    failed = true;
    continue;
  }
  const digest = createHash('sha384').update(readFileSync(join(modules, name, file))).digest('base64');
  console.log(`("${name}@${version}/${file}", "sha384-${digest}"),`);
}
process.exit(failed ? 1 : 0);
