// Completes package-lock.json with the platform-specific optional binaries of other machines.
//
// Why: the npm registry mirror these machines use answers 404 for other platforms' binaries (for example
// @biomejs/cli-darwin-arm64), so `npm install` here cannot record them, and `npm ci` then refuses the lockfile
// ("Missing: … from lock file") — on CI and on every macOS or Windows laptop. Each such package is an optional
// dependency pinned to an exact version by its parent (biome, swc, turbo, unrs-resolver), and its name says its
// platform, so the entry npm would have written can be derived: version, os, cpu, libc, optional. Entries carry
// no `resolved`/`integrity` (like every entry here, see omit-lockfile-registry-resolved): npm fetches them by
// name and version on the machines that need them and skips them everywhere else.
//
// Usage: node scripts/complete-lockfile.js          (after `npm install` here; idempotent)
const fs = require('node:fs');
const path = require('node:path');

const lockPath = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
const packages = lock.packages;

const OS = { android: 'android', darwin: 'darwin', freebsd: 'freebsd', linux: 'linux', win32: 'win32', windows: 'win32', openharmony: 'openharmony', wasm32: null };
const CPU = { arm64: 'arm64', x64: 'x64', '64': 'x64', ia32: 'ia32', arm: 'arm', ppc64: 'ppc64', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', wasm32: 'wasm32' };

/** os, cpu and libc from a platform package's name, e.g. `core-linux-arm64-musl` → linux, arm64, musl. */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const osIndex = parts.findIndex((part) => part in OS);
  if (osIndex < 0) return undefined;
  const os = OS[parts[osIndex]];
  const rest = parts.slice(osIndex + 1);
  const cpu = rest.map((part) => CPU[part]).find(Boolean) ?? (os === 'win32' || os === 'darwin' ? undefined : undefined);
  if (!os || !cpu) return undefined;
  const libcPart = rest.find((part) => /^(musl|musleabihf|gnu|gnueabihf)$/.test(part));
  const libc = libcPart ? (libcPart.startsWith('musl') ? 'musl' : 'glibc') : undefined;
  return { os, cpu, libc };
}

let added = 0;
const unknown = [];
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    if (packages[target] || packages[`${location}/node_modules/${name}`]) continue;
    const platform = platformOf(name);
    if (!platform || !/^\d+\.\d+\.\d+/.test(spec)) {
      unknown.push(`${name}@${spec} (optional dependency of ${location || 'the root'})`);
      continue;
    }
    packages[target] = {
      version: spec,
      cpu: [platform.cpu],
      ...(entry.dev ? { dev: true } : {}),
      ...(platform.libc ? { libc: [platform.libc] } : {}),
      optional: true,
      os: [platform.os],
    };
    added++;
  }
}

const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
lock.packages = sorted;
fs.writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
if (unknown.length > 0) {
  console.error(`complete-lockfile: cannot derive these, add them by hand:\n  ${unknown.join('\n  ')}`);
  process.exit(1);
}
