import { StreamTimeoutError } from './errors';

/** One event read from a text/event-stream answer. */
export interface ReceivedEvent {
  /** The `id:` field ('' when absent). */
  id: string;
  /** The `event:` field ('message' when absent, as in browsers). */
  event: string;
  /** The `data:` lines, joined with newlines. */
  data: string;
}

/** An open Server-Sent Events answer, read as it arrives. */
export interface EventStreamReader {
  /** HTTP status. */
  status: number;
  /** Response headers. */
  headers: Headers;
  /** Every event so far, in order. */
  events: ReceivedEvent[];
  /** Every comment line so far (without the leading colon), e.g. keep-alives. */
  comments: string[];
  /** The `retry:` value the server announced, if any. */
  retryMs?: number;
  /** The raw body for an answer that is not an event stream (an error's JSON). */
  text(): Promise<string>;
  /** Resolves once `predicate` holds for what was read, or rejects with StreamTimeoutError after `timeoutMs`. */
  waitFor(predicate: (reader: EventStreamReader) => boolean, timeoutMs?: number): Promise<void>;
  /** True once the server ended the answer. */
  ended: boolean;
  /** Closes the connection. */
  close(): void;
}

/**
 * Opens an event stream with fetch and parses it as the browser's EventSource would (fields, comments, events
 * dispatched on a blank line), so tests can assert what a client receives and when.
 */
export async function openEventStream(url: string, init: RequestInit = {}): Promise<EventStreamReader> {
  const abort = new AbortController();
  const response = await fetch(url, {
    ...init,
    headers: { accept: 'text/event-stream', ...(init.headers as Record<string, string> | undefined) },
    signal: abort.signal,
  });
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  const isStream = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
  const reader: EventStreamReader = {
    status: response.status,
    headers: response.headers,
    events: [],
    comments: [],
    ended: false,
    text: () => response.text(),
    close: () => abort.abort(),
    waitFor(predicate, timeoutMs = 10_000) {
      if (predicate(reader)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(reader)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          } else if (reader.ended) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new StreamTimeoutError(`the event stream ended first (${reader.events.length} events)`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new StreamTimeoutError(
              `no match within ${timeoutMs} ms; got ${JSON.stringify(reader.events.map((e) => [e.id, e.event]))}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
      });
    },
  };
  if (isStream && response.body) void pump(response.body, reader, notify);
  return reader;
}

async function pump(body: ReadableStream<Uint8Array>, reader: EventStreamReader, notify: () => void) {
  const decoder = new TextDecoder();
  let buffer = '';
  let current: ReceivedEvent = { id: '', event: 'message', data: '' };
  let hasData = false;
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline = buffer.search(/\r\n|\r|\n/);
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (hasData) reader.events.push(current);
          current = { id: current.id, event: 'message', data: '' };
          hasData = false;
        } else if (line.startsWith(':')) {
          reader.comments.push(line.slice(1).trim());
        } else {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') {
            current.data = hasData ? `${current.data}\n${value}` : value;
            hasData = true;
          } else if (field === 'event') current.event = value;
          else if (field === 'id') current.id = value;
          else if (field === 'retry' && /^\d+$/.test(value)) reader.retryMs = Number(value);
        }
        newline = buffer.search(/\r\n|\r|\n/);
      }
      notify();
    }
  } catch {
    // aborted by close(), or the connection dropped: either way the stream is over
  }
  reader.ended = true;
  notify();
}
