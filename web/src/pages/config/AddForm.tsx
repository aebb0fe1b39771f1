// The small "new namespace / new app / new item" form of the navigator: one text field (its aria-label is also
// its placeholder), optional extra fields, and Add (disabled while the name is empty).
import { useState, type ReactNode } from 'react';

export function AddForm({
  label,
  size,
  onAdd,
  children,
}: {
  label: string;
  size: number;
  /** Called with the name; `clear` empties the field (call it once the add succeeded). */
  onAdd: (name: string, clear: () => void) => void;
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
      <button disabled={!name}>Add</button>
    </form>
  );
}
