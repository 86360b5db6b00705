import type { IncomingMessage, ServerResponse } from 'node:http';
import { type HttpServerHandle, listenHttp } from '@ticketing/testing';

/** One POST a receiver got. */
export interface Received {
  eventId: string;
  signature: string;
  rawBody: string;
  body: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
  /** What the receiver answered. */
  status: number;
  at: number;
}

/** A real HTTP webhook receiver on a loopback port; `answer` picks each status code (default 200). */
export interface Receiver {
  url: string;
  received: Received[];
  /** Status codes to answer from now on. */
  answer: (received: Omit<Received, 'status'>) => number;
  /** Bytes of body to answer with. */
  responseBody: string;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let server: HttpServerHandle | undefined;
  const receiver: Receiver = {
    url: '',
    received: [],
    answer: () => 200,
    responseBody: 'ok',
    close: () => server!.close(),
  };
  server = await listenHttp((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const seen = {
        eventId: String(req.headers['ticketing-event-id']),
        signature: String(req.headers['ticketing-signature']),
        rawBody,
        body: JSON.parse(rawBody),
        at: Date.now(),
      };
      const status = receiver.answer(seen);
      receiver.received.push({ ...seen, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(receiver.responseBody);
    });
  });
  receiver.url = `${server.url}/hook`;
  return receiver;
}
