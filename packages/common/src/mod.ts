// The one public entry of @ticketing/common. Every export is listed by name.

// --- context and logging ---
export { correlationIdOrNew, currentContext, runWithContext } from './context';
export type { WorkContext } from './context';
export { createLogger } from './logging';
export type { Logger, LoggerOptions } from './logging';

// --- events, bus, outbox ---

// --- http kit, config, metrics ---
