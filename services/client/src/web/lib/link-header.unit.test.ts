import { afterCursor, nextLink } from './link-header';

describe('nextLink', () => {
  it('finds rel="next" among several links, quoted or not', () => {
    expect(nextLink('</api/tickets?limit=20&after=abc>; rel="next"')).toBe('/api/tickets?limit=20&after=abc');
    expect(nextLink('</a?after=1>; rel="prev", </a?after=2>; rel=next')).toBe('/a?after=2');
    expect(nextLink('<https://x.test/a?after=3>; title="x"; rel="last next"')).toBe(
      'https://x.test/a?after=3',
    );
  });

  it('is undefined without a header or without a next relation', () => {
    expect(nextLink(null)).toBeUndefined();
    expect(nextLink('')).toBeUndefined();
    expect(nextLink('</a?after=1>; rel="prev"')).toBeUndefined();
    expect(nextLink('</a?after=1>; rel="nextpage"')).toBeUndefined();
  });

  it('keeps commas inside the URL', () => {
    expect(nextLink('</a?tags=x,y&after=9>; rel="next"')).toBe('/a?tags=x,y&after=9');
  });
});

describe('afterCursor', () => {
  it('reads the after parameter of a relative or absolute link', () => {
    expect(afterCursor('/api/tickets?limit=20&after=6a1f')).toBe('6a1f');
    expect(afterCursor('https://shop.test/api/tickets?after=zz')).toBe('zz');
    expect(afterCursor('/api/tickets?limit=20')).toBeUndefined();
    expect(afterCursor(undefined)).toBeUndefined();
  });
});
