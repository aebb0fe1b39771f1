// A small "new namespace / new app / new role" form: one text field (its aria-label is also
// its placeholder), optional extra fields, and Add (disabled while the name is empty).
import { useState, type ReactNode } from 'react';

export function AddForm({
  label,
  size,
  onAdd,
  mayAdd,
  children,
}: {
  label: string;
  size: number;
  /** Called with the name; `clear` empties the field (call it once the add succeeded). */
  onAdd: (name: string, clear: () => void) => void;
  /** Whether the user may add this name (the server would refuse it otherwise); default yes. */
  mayAdd?: (name: string) => boolean;
  /** Extra fields between the name and the button (the item's format). */
  children?: ReactNode;
}) {
  const [name, setName] = useState('');
  return (
    <form
      className="toolbar"
      style={{ marginTop: 6 }}
      onSubmit={(e) => {
        e.preventDefault();
        onAdd(name, () => setName(''));
      }}
    >
      <input
        aria-label={label}
        placeholder={label}
        value={name}
        onChange={(e) => setName(e.target.value)}
        size={size}
      />
      {children}
      <button
        disabled={!name || (mayAdd && !mayAdd(name))}
        title={name && mayAdd && !mayAdd(name) ? `You may not create “${name}” here` : undefined}
      >
        Add
      </button>
    </form>
  );
}
