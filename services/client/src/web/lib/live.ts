import { useEffect, useRef } from 'preact/hooks';

/** One event of an update stream: its subject and payload (which always holds the aggregate's `id`). */
export interface LiveEvent {
  subject: string;
  data: { id: string; [field: string]: unknown };
}

/**
 * Follows a Server-Sent Events stream of the API while the component is mounted. EventSource reconnects by
 * itself and sends `Last-Event-ID`, so the server replays what was missed. `onEvent` may change every render.
 */
export function useLiveEvents(
  url: string | undefined,
  subjects: readonly string[],
  onEvent: (event: LiveEvent) => void,
) {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = subjects.join(',');
  useEffect(() => {
    if (!url || typeof EventSource === 'undefined') return;
    const source = new EventSource(url, { withCredentials: true });
    const listen = (subject: string) => (message: MessageEvent<string>) => {
      try {
        handler.current({ subject, data: JSON.parse(message.data) });
      } catch {
        // not JSON: nothing a page can apply
      }
    };
    const listeners = key.split(',').map((subject) => [subject, listen(subject)] as const);
    for (const [subject, listener] of listeners) source.addEventListener(subject, listener);
    // Marks the page for tests and for people debugging: the stream is open.
    source.addEventListener('open', () => document.documentElement.setAttribute('data-live', 'open'));
    return () => {
      for (const [subject, listener] of listeners) source.removeEventListener(subject, listener);
      source.close();
    };
  }, [url, key]);
}
