/** Base of every error the bench throws: a stable `code` to branch on, beside the human message. */
export class BenchError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchError';
    this.code = code;
  }
}

/** A BENCH_* environment variable has a value the bench cannot use. */
export class BenchConfigError extends BenchError {
  /** The variable at fault. */
  readonly variable: string;

  constructor(variable: string, message: string) {
    super('BENCH_CONFIG', `${variable}: ${message}`);
    this.name = 'BenchConfigError';
    this.variable = variable;
  }
}

/** stack.json is unreadable or lacks what the bench needs. */
export class StackStateError extends BenchError {
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('STACK_STATE', `${file}: ${message}`, options);
    this.name = 'StackStateError';
  }
}

/** The stack the bench started itself did not become ready. */
export class StackStartError extends BenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STACK_START', message, options);
    this.name = 'StackStartError';
  }
}

/** A measurement could not be taken (no successful sample, a server that did not answer, …). */
export class MeasurementError extends BenchError {
  constructor(what: string, message: string, options?: { cause?: unknown }) {
    super('MEASUREMENT_FAILED', `${what}: ${message}`, options);
    this.name = 'MeasurementError';
  }
}
