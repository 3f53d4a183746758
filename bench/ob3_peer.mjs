// The Digital Credentials Consortium's verifier-core, run by bench/ob3_verify.py on the same
// credentials as ours. Offline: the documents the credentials point at (status lists, did:web
// documents) come from the corpus through a fetch that maps their URLs to its files; anything
// else (the OB 3.0 JSON schemas on purl.imsglobal.org) answers 404, which verifier-core reports
// as additional information only. Its JSON-LD contexts are bundled with it.
// Usage: node ob3_peer.mjs TASK.json
//   TASK: {"nodeDir": dir holding node_modules, "urlMap": {prefix: folder}, "credentials": [...],
//          "timed": [indexes], "rounds": N}
// Prints {"verdicts": [{"valid", "errors", "failed"}...], "best": s, "cpu": s} on stdout.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const task = JSON.parse(readFileSync(process.argv[2], 'utf8'));

globalThis.fetch = async (input) => {
  const url = typeof input === 'string' ? input : (input.url ?? String(input));
  for (const [prefix, folder] of Object.entries(task.urlMap)) {
    if (url.startsWith(prefix)) {
      try {
        const body = readFileSync(folder + url.slice(prefix.length));
        return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
      } catch {
        break;
      }
    }
  }
  return new Response('not found (offline)', { status: 404 });
};
console.log = console.error; // verifier-core logs; stdout carries the answer alone

const entry = createRequire(`${task.nodeDir}/package.json`).resolve('@digitalcredentials/verifier-core');
const { verifyCredential } = await import(pathToFileURL(entry).href);

// What decides validity: no fatal error, and the signature, expiry and status checks pass.
// (The issuer-registry check is additional information: no registry is known here.)
const DECIDING = new Set(['valid_signature', 'expiration', 'revocation_status']);

async function verify(credential) {
  const result = await verifyCredential({ credential, knownDIDRegistries: [] });
  const errors = (result.errors ?? []).map((e) => e.name ?? e.message);
  const failed = (result.log ?? []).filter((e) => DECIDING.has(e.id) && !e.valid).map((e) => e.id);
  return { valid: errors.length === 0 && failed.length === 0, errors, failed };
}

const verdicts = [];
for (const credential of task.credentials) verdicts.push(await verify(credential));
const timed = task.timed.map((i) => task.credentials[i]);
let best = Infinity;
let cpu = Infinity;
for (let round = 0; round < task.rounds; round += 1) {
  const wall = process.hrtime.bigint();
  const used = process.cpuUsage();
  for (const credential of timed) await verify(credential);
  best = Math.min(best, Number(process.hrtime.bigint() - wall) / 1e9);
  const spent = process.cpuUsage(used);
  cpu = Math.min(cpu, (spent.user + spent.system) / 1e6);
}
process.stdout.write(JSON.stringify({ verdicts, best, cpu }));
