// Verifies every credential of an exported wallet file with @digitalcredentials/verifier-core and
// prints one JSON result per credential on stdout (its own diagnostics go to stderr).
// Usage: node verify_ob3.mjs <export.ob3.json> <known DID registries as JSON>
import { readFileSync } from 'node:fs';
import { verifyCredential } from '@digitalcredentials/verifier-core';

const [file, registries] = process.argv.slice(2);
const { credentials } = JSON.parse(readFileSync(file, 'utf8'));
const knownDIDRegistries = JSON.parse(registries ?? '[]');
// verifier-core logs to console; keep stdout for the results alone.
console.log = console.error;

const results = [];
for (const credential of credentials) {
  const result = await verifyCredential({ credential, knownDIDRegistries });
  results.push({
    id: credential.id,
    log: result.log ?? null,
    errors: (result.errors ?? []).map((e) => ({ name: e.name, message: e.message })),
    additionalInformation: result.additionalInformation ?? null,
  });
}
process.stdout.write(JSON.stringify(results));
