#!/usr/bin/env node
// Runs the GraphQL-over-HTTP conformance audit of the official `graphql-http`
// package (`auditServer`) against a running gifchat, so the Rust integration
// tests can hold the HTTP endpoint to the spec as that package reads it.
//
// Usage: node graphql-http-audit.mjs <httpUrl of /graphql>
//
// Output on stdout: one JSON array with one entry per audit, in the package's
// order: { id, name, status } where status is "ok", or "notice" (a MAY),
// "warn" (a SHOULD) or "error" (a MUST) — a failing entry also carries the
// package's reason and the response it judged (status, content-type, body).
// Exit status: 0 when the audit ran (whatever its results: the caller judges
// them), 1 when it could not run at all, 64 on bad arguments.

import { auditServer } from 'graphql-http';

const [url] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: node graphql-http-audit.mjs <httpUrl>\n');
  process.exit(64);
}

// The audit's assertions may already have read the body; then only the status
// line and headers are left to show.
async function describe(response) {
  if (!response) return null;
  let body = null;
  if (!response.bodyUsed) {
    try {
      body = await response.text();
    } catch (err) {
      body = `(unreadable: ${err.message})`;
    }
  }
  return { status: response.status, contentType: response.headers.get('content-type'), body };
}

try {
  const results = await auditServer({ url });
  const out = [];
  for (const r of results) {
    const entry = { id: r.id, name: r.name, status: r.status };
    if (r.status !== 'ok') {
      entry.reason = r.reason;
      entry.response = await describe(r.response);
    }
    out.push(entry);
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
} catch (err) {
  // Only a fatal error (server unreachable, a crash in the audit) gets here.
  process.stderr.write(`audit could not run: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}
