// A reader for the subset of the NATS server configuration format that infra/k8s uses: maps (`{}`), arrays
// (`[]`), `key: value` / `key = value` / `key { ... }`, quoted and bare strings, `$VARIABLE` references,
// `#` and `//` comments, and `include <file>`. It is only for checking what the config says; nats-server
// itself (`nats-server -t`) is the judge of whether the file is valid.

/** A `$NAME` reference, resolved by nats-server from the config or the environment. */
export interface NatsVariable {
  variable: string;
}
/** A value of the config: strings stay strings (numbers and sizes are not interpreted). */
export type NatsValue = string | NatsVariable | NatsValue[] | NatsMap;
/** A `{ ... }` block, or the file's top level. */
export interface NatsMap {
  [key: string]: NatsValue;
}

/** The file is not in the supported subset, or is malformed. */
export class NatsConfSyntaxError extends Error {
  override readonly name = 'NatsConfSyntaxError';
}

export function isVariable(value: NatsValue | undefined): value is NatsVariable {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && typeof value.variable === 'string'
  );
}

export function isMap(value: NatsValue | undefined): value is NatsMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isVariable(value);
}

const bareChar = /[^\s,;\]}{[#"']/;
const keyChar = /[A-Za-z0-9_\-.$]/;

class Reader {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  fail(message: string): never {
    const line = this.text.slice(0, this.pos).split('\n').length;
    throw new NatsConfSyntaxError(`${this.file}:${line}: ${message}`);
  }

  private peek(offset = 0): string {
    return this.text[this.pos + offset] ?? '';
  }

  /** Skips blanks and comments; with `newlines`, also newlines and the separators `,` and `;`. */
  skip(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r') this.pos++;
      else if (newlines && (c === '\n' || c === ',' || c === ';')) this.pos++;
      else if (c === '#' || (c === '/' && this.peek(1) === '/')) {
        while (this.pos < this.text.length && this.peek() !== '\n') this.pos++;
      } else return;
    }
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** Entries until `close` (`}`) or the end of the text (`close` undefined: the top level). */
  map(close: '}' | undefined, includes: (path: string) => NatsMap): NatsMap {
    const result: NatsMap = {};
    for (;;) {
      this.skip(true);
      if (close === undefined ? this.atEnd() : this.peek() === close) {
        if (close) this.pos++;
        return result;
      }
      if (this.atEnd()) this.fail(`missing "${close}"`);
      const key = this.key();
      if (key === 'include') {
        this.skip(false);
        const path = this.scalar();
        if (typeof path !== 'string') this.fail('include needs a file name');
        Object.assign(result, includes(path));
        continue;
      }
      this.skip(false);
      if (this.peek() === ':' || this.peek() === '=') {
        this.pos++;
        this.skip(false);
      }
      if (Object.hasOwn(result, key)) this.fail(`"${key}" is set twice`);
      result[key] = this.value(includes);
    }
  }

  private key(): string {
    const c = this.peek();
    if (c === '"' || c === "'") return this.quoted();
    const start = this.pos;
    while (keyChar.test(this.peek())) this.pos++;
    if (this.pos === start) this.fail(`unexpected "${c}" where a key was expected`);
    return this.text.slice(start, this.pos);
  }

  private value(includes: (path: string) => NatsMap): NatsValue {
    const c = this.peek();
    if (c === '{') {
      this.pos++;
      return this.map('}', includes);
    }
    if (c === '[') {
      this.pos++;
      const items: NatsValue[] = [];
      for (;;) {
        this.skip(true);
        if (this.peek() === ']') {
          this.pos++;
          return items;
        }
        if (this.atEnd()) this.fail('missing "]"');
        items.push(this.value(includes));
      }
    }
    return this.scalar();
  }

  private scalar(): string | NatsVariable {
    const c = this.peek();
    if (c === '"' || c === "'") return this.quoted();
    const start = this.pos;
    while (this.pos < this.text.length && bareChar.test(this.peek())) this.pos++;
    const token = this.text.slice(start, this.pos);
    if (token === '') this.fail(`unexpected "${c || 'end of file'}" where a value was expected`);
    if (token.startsWith('$')) return { variable: token.slice(1) };
    return token;
  }

  private quoted(): string {
    const quote = this.peek();
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === '' || c === '\n') this.fail('unterminated string');
      this.pos++;
      if (c === quote) return out;
      if (c === '\\' && quote === '"') {
        const next = this.peek();
        this.pos++;
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
      } else out += c;
    }
  }
}

/**
 * Parses a config file. `files` holds the files `include` may name (by the name written after `include`,
 * with a leading `./` dropped): the ConfigMap's keys.
 */
export function parseNatsConf(file: string, files: Record<string, string>): NatsMap {
  const seen: string[] = [];
  const load = (name: string): NatsMap => {
    const key = name.replace(/^\.\//, '');
    const text = files[key];
    if (text === undefined)
      throw new NatsConfSyntaxError(`include ${name}: no such file among ${Object.keys(files).join(', ')}`);
    if (seen.includes(key)) throw new NatsConfSyntaxError(`include ${name}: included twice (or in a loop)`);
    seen.push(key);
    return new Reader(text, key).map(undefined, load);
  };
  return load(file);
}
