// A keyboard-navigable list to pick one entry (config apps and items, users, roles): click, or ↑/↓ then Enter.
import type { ReactNode } from 'react';
import { rowKeyNav } from '../hooks';

export function PickList<T>({
  label,
  entries,
  keyOf,
  selected,
  onPick,
  render,
}: {
  label: string;
  entries: T[];
  keyOf: (entry: T) => string;
  selected: string;
  onPick: (key: string) => void;
  render: (entry: T) => ReactNode;
}) {
  return (
    <ul className="tree" role="listbox" aria-label={label}>
      {entries.map((entry) => {
        const key = keyOf(entry);
        const isSelected = key === selected;
        return (
          <li
            key={key}
            role="option"
            aria-selected={isSelected}
            tabIndex={0}
            onKeyDown={(e) => rowKeyNav(e, () => onPick(key))}
            onClick={() => onPick(key)}
            className={isSelected ? 'selected' : undefined}
            style={{ padding: '2px 4px', cursor: 'pointer', background: isSelected ? '#e3ebff' : undefined }}
          >
            {render(entry)}
          </li>
        );
      })}
    </ul>
  );
}
