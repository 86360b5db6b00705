import { eventCatalog } from './catalog';
import { titleSchema } from './title';

const messages = (input: unknown) => {
  const result = titleSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
};

describe('titleSchema', () => {
  it('normalises to NFC and trims', () => {
    // "Café" with a combining acute accent (5 code points) becomes the precomposed 4-code-point form.
    expect(titleSchema.parse('  Cafe\u0301 concert  ')).toBe('Caf\u00e9 concert');
    expect(titleSchema.parse('\n\tOpen air\u00a0')).toBe('Open air');
    expect(titleSchema.parse('東京ドーム 🎸')).toBe('東京ドーム 🎸');
    expect(titleSchema.parse('Ünïcödé & co., 2026!')).toBe('Ünïcödé & co., 2026!');
  });

  it.each([
    ['NUL', 'Concert\u0000'],
    ['ESC sequence', 'Concert \u001b[31mred\u001b[0m'],
    ['a newline inside', 'Line one\nLine two'],
    ['a tab inside', 'A\tB'],
    ['DEL', 'Concert\u007f!'],
    ['C1 control (CSI)', 'Concert\u009b31m'],
    ['NEL (C1)', 'Concert\u0085x'],
  ])('refuses %s', (_name, title) => {
    expect(messages(title)).toEqual(['must not contain control characters']);
  });

  it.each([
    ['U+202A LRE', '\u202aConcert'],
    ['U+202B RLE', 'Concert\u202bx'],
    ['U+202C PDF', 'Concert\u202cx'],
    ['U+202D LRO', 'Concert\u202dx'],
    ['U+202E RLO', 'Concert\u202etxt.exe'],
    ['U+2066 LRI', 'Concert\u2066x'],
    ['U+2067 RLI', 'Concert\u2067x'],
    ['U+2068 FSI', 'Concert\u2068x'],
    ['U+2069 PDI', 'Concert\u2069x'],
  ])('refuses a bidirectional override or isolate: %s', (_name, title) => {
    expect(messages(title)).toEqual([
      'must not contain bidirectional override or isolate characters (U+202A-U+202E, U+2066-U+2069)',
    ]);
  });

  it.each([
    ['zero-width spaces', '\u200b\u200b\u200b'],
    ['zero-width joiners and word joiners', '\u200d\u2060\ufeff'],
    ['a combining mark alone', '\u0301'],
    ['ideographic spaces around a zero-width space', '\u3000\u200b\u3000'],
  ])('refuses a title with nothing visible: %s', (_name, title) => {
    expect(messages(title)).toEqual(['must contain at least one visible character']);
  });

  it('keeps a zero-width joiner inside visible text (emoji sequences, Indic scripts)', () => {
    expect(titleSchema.parse('👩\u200d🎤 live')).toBe('👩\u200d🎤 live');
  });

  it('refuses empty, blank, too long and non-string titles with one message each', () => {
    expect(messages('')).toEqual(['must not be empty']);
    expect(messages('   \n ')).toEqual(['must not be empty']);
    expect(messages('x'.repeat(201))).toEqual(['must be at most 200 characters']);
    expect(titleSchema.parse(` ${'x'.repeat(200)} `)).toHaveLength(200);
    expect(messages(42)).toEqual(['must be a string']);
  });

  it('is the title of ticket events, so no service publishes or applies another kind', () => {
    const created = eventCatalog['ticket.created'].schema;
    const base = { id: 'a'.repeat(24), version: 0, price: 10, userId: 'b'.repeat(24) };
    expect(created.safeParse({ ...base, title: 'Concert\u202e' }).success).toBe(false);
    expect(created.parse({ ...base, title: ' Cafe\u0301 ' }).title).toBe('Caf\u00e9');
    const updated = eventCatalog['ticket.updated'].schema;
    expect(updated.safeParse({ ...base, title: '\u200b' }).success).toBe(false);
  });
});
