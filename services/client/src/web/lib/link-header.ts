/**
 * The URL of `rel="next"` in an RFC 8288 `Link` header, or undefined. Relations are a space-separated list,
 * quoted or not (`rel=next`, `rel="next prev"`); commas inside `<…>` belong to the URL.
 */
export function nextLink(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const links = header.matchAll(/<([^>]*)>([^,<]*)/g);
  for (const [, url, params] of links) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params ?? '');
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (url !== undefined && relations.includes('next')) return url;
  }
  return undefined;
}

/** The `after` cursor of a next link (relative or absolute), which the list page keeps in its own URL. */
export function afterCursor(link: string | undefined): string | undefined {
  if (!link) return undefined;
  return new URL(link, 'http://shop.invalid').searchParams.get('after') ?? undefined;
}
