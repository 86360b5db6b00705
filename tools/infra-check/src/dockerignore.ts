// .dockerignore as Docker reads it, for the patterns this repository uses: `*`, `?`, `**`, comments, a leading
// `/`. Exceptions (`!pattern`) are refused rather than half-supported.

/** A .dockerignore's exclusion test for context-relative paths (`a/b/c`, no leading `./`). */
export type IgnoreTest = (path: string) => boolean;

function patternToRegExp(pattern: string): RegExp {
  let source = '';
  const segments = pattern.split('/');
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**') {
      source += last ? '.*' : '(?:[^/]+/)*';
      return;
    }
    for (const char of segment) {
      if (char === '*') source += '[^/]*';
      else if (char === '?') source += '[^/]';
      else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    if (!last) source += '/';
  });
  return new RegExp(`^${source}$`);
}

/** Parses .dockerignore text. A path is excluded when it, or a folder above it, matches a pattern. */
export function parseDockerignore(text: string): IgnoreTest {
  const patterns: RegExp[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('!'))
      throw new Error(`.dockerignore: exceptions (${line}) are not supported by the checks`);
    const pattern = line.replace(/^\/+/, '').replace(/\/+$/, '').replace(/^\.\//, '');
    patterns.push(patternToRegExp(pattern));
  }
  return (path: string) => {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (patterns.some((p) => p.test(prefix))) return true;
    }
    return false;
  };
}
