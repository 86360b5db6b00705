interface TextFieldProps {
  /** The input's name, which is also the API's `field` for its errors. */
  name: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  /** The API's message for this field, shown under it and tied to it for assistive technology. */
  error?: string;
  hint?: string;
  type?: 'text' | 'email' | 'password';
  inputMode?: 'text' | 'decimal' | 'email';
  autoComplete?: string;
  required?: boolean;
  disabled?: boolean;
}

// Preact's input typing ties `type` to the ARIA roles it allows, so each literal is spelled out.
function inputType(type: TextFieldProps['type']) {
  return type === 'password'
    ? { type: 'password' as const }
    : type === 'email'
      ? { type: 'email' as const }
      : { type: 'text' as const };
}

/** A labelled input with its hint and its error, both linked by aria-describedby. */
export function TextField(props: TextFieldProps) {
  const id = `field-${props.name}`;
  const described = [props.hint ? `${id}-hint` : '', props.error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class={props.error ? 'field field-invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      <input
        {...inputType(props.type)}
        id={id}
        name={props.name}
        inputMode={props.inputMode}
        autoComplete={props.autoComplete}
        required={props.required}
        disabled={props.disabled}
        value={props.value}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={described || undefined}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
      {props.error && (
        <p class="field-error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}
