import { z } from 'zod';

/** Longest title, in UTF-16 code units after normalisation (1-200). */
export const TITLE_MAX_LENGTH = 200;

// C0 controls, DEL and C1 controls: NUL, ESC (terminal escape sequences), newlines that forge log lines...
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's job
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/u;
// Bidirectional embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069) reorder the text shown
// around them: "Concert\u202Eelbuod" displays as a different title than the one stored.
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/u;
// Something a reader sees: a letter, digit, punctuation or symbol. Spaces, marks on their own, format
// characters such as U+200B ZERO WIDTH SPACE and unassigned code points are not.
const VISIBLE_CHARACTER = /[\p{L}\p{N}\p{P}\p{S}]/u;

/**
 * A ticket title as the system stores and shows it: NFC-normalised and trimmed, then 1-200 characters with no
 * control or bidirectional-control character and at least one visible one. Requests, events and answers all
 * use this one definition; a failure names the field it is used for (400 in a request).
 */
export const titleSchema = z
  .string({ error: 'must be a string' })
  .normalize('NFC')
  .trim()
  .min(1, { error: 'must not be empty', abort: true })
  .max(TITLE_MAX_LENGTH, `must be at most ${TITLE_MAX_LENGTH} characters`)
  .refine((title) => !CONTROL_CHARACTER.test(title), 'must not contain control characters')
  .refine(
    (title) => !BIDI_CONTROL.test(title),
    'must not contain bidirectional override or isolate characters (U+202A-U+202E, U+2066-U+2069)',
  )
  .refine((title) => VISIBLE_CHARACTER.test(title), 'must contain at least one visible character')
  .meta({
    description:
      'NFC-normalised and trimmed; no control characters, no U+202A-U+202E or U+2066-U+2069, at least one visible character',
  });
