// The lazy prefix tree of the key browser: a directory loads its children (one page at a time) when opened.
// Keyboard: Up/Down move, Right opens (or enters), Left closes (or goes to the parent), Enter selects.
import { useCallback, useEffect, useRef, useState } from 'react';
import { consoleApi, type KeyTreeNode } from '../api';

interface Level {
  children: KeyTreeNode[];
  next: string | null;
  loading: boolean;
  error?: string;
}

export function KeyTree({
  root,
  revision,
  selected,
  onSelect,
  refreshToken,
}: {
  root: string;
  revision?: number;
  selected?: string;
  onSelect: (key: string) => void;
  refreshToken: number;
}) {
  const [levels, setLevels] = useState<Record<string, Level>>({});
  // Open the selected key's ancestors (a deep link such as /keys?key=/a/b/c shows where the key is).
  const [open, setOpen] = useState<Set<string>>(() => new Set([root, ...ancestors(root, selected)]));
  const [focus, setFocus] = useState<string>();
  const box = useRef<HTMLUListElement>(null);

  const load = useCallback(
    (prefix: string, after?: string) => {
      setLevels((prev) => ({
        ...prev,
        [prefix]: { children: prev[prefix]?.children ?? [], next: null, loading: true },
      }));
      consoleApi
        .tree(prefix, { after, limit: 200, revision })
        .then((page) =>
          setLevels((prev) => ({
            ...prev,
            [prefix]: {
              children: after ? [...(prev[prefix]?.children ?? []), ...page.children] : page.children,
              next: page.next,
              loading: false,
            },
          })),
        )
        .catch((err: unknown) =>
          setLevels((prev) => ({
            ...prev,
            [prefix]: {
              children: prev[prefix]?.children ?? [],
              next: null,
              loading: false,
              error: String(err),
            },
          })),
        );
    },
    [revision],
  );

  // Reload every open level when the root, the revision or the refresh token changes.
  const openRef = useRef(open);
  openRef.current = open;
  useEffect(() => {
    for (const prefix of new Set([root, ...openRef.current])) load(prefix);
  }, [root, revision, refreshToken, load]);

  const toggle = (path: string): void => {
    const opening = !open.has(path);
    setOpen((prev) => {
      const next = new Set(prev);
      if (opening) next.add(path);
      else next.delete(path);
      return next;
    });
    if (opening) load(path);
  };

  const visible: { node: KeyTreeNode; depth: number; parent: string }[] = [];
  const walk = (prefix: string, depth: number): void => {
    for (const node of levels[prefix]?.children ?? []) {
      visible.push({ node, depth, parent: prefix });
      if (node.dir && open.has(node.path)) walk(node.path, depth + 1);
    }
  };
  walk(root, 0);

  const id = (n: KeyTreeNode): string => `${n.dir ? 'd' : 'k'}:${n.path}`;
  const move = (target: string | undefined): void => {
    if (!target) return;
    setFocus(target);
    // The target row is on screen already: focus it now, so a key pressed right after lands on it.
    box.current?.querySelector<HTMLElement>(`[data-node="${CSS.escape(target)}"]`)?.focus();
  };

  const onKey = (event: React.KeyboardEvent, index: number): void => {
    const item = visible[index];
    const handled = ['ArrowDown', 'ArrowUp', 'ArrowRight', 'ArrowLeft', 'Enter', ' ', 'Home', 'End'];
    if (!handled.includes(event.key)) return;
    event.preventDefault();
    event.stopPropagation();
    if (event.key === 'ArrowDown') move(visible[index + 1] && id(visible[index + 1].node));
    else if (event.key === 'ArrowUp') move(visible[index - 1] && id(visible[index - 1].node));
    else if (event.key === 'Home') move(visible[0] && id(visible[0].node));
    else if (event.key === 'End') move(visible.at(-1) && id(visible.at(-1)!.node));
    else if (event.key === 'ArrowRight' && item.node.dir) {
      if (!open.has(item.node.path)) toggle(item.node.path);
      else move(visible[index + 1] && id(visible[index + 1].node));
    } else if (event.key === 'ArrowLeft') {
      if (item.node.dir && open.has(item.node.path)) toggle(item.node.path);
      else move(`d:${item.parent}`);
    } else if (event.key === 'Enter' || event.key === ' ') {
      if (item.node.dir) toggle(item.node.path);
      else onSelect(item.node.path);
    }
  };

  const rootLevel = levels[root];
  return (
    <div className="treebox panel">
      <ul className="tree" role="tree" aria-label="keys" ref={box}>
        {visible.map(({ node, depth }, index) => {
          const nodeId = id(node);
          const tabbable = focus ? focus === nodeId : index === 0;
          const level = node.dir ? levels[node.path] : undefined;
          return (
            <li
              key={nodeId}
              role="treeitem"
              aria-level={depth + 1}
              aria-expanded={node.dir ? open.has(node.path) : undefined}
              aria-selected={!node.dir && selected === node.path}
              data-node={nodeId}
              tabIndex={tabbable ? 0 : -1}
              onKeyDown={(e) => onKey(e, index)}
              onFocus={() => setFocus(nodeId)}
              style={{ paddingLeft: depth * 14 }}
            >
              <span
                className="label"
                onClick={() => {
                  setFocus(nodeId);
                  if (node.dir) toggle(node.path);
                  else onSelect(node.path);
                }}
              >
                <span aria-hidden="true">{node.dir ? (open.has(node.path) ? '▾' : '▸') : '•'}</span>
                <span className="mono">{node.name === '' ? '(this key)' : node.name}</span>
                {node.dir && <span className="count">{node.count}</span>}
              </span>
              {node.dir && open.has(node.path) && level?.next && (
                <button className="small" onClick={() => load(node.path, level.next ?? undefined)}>
                  more…
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {rootLevel?.loading && <div className="muted small">loading…</div>}
      {rootLevel?.error && <div className="error">{rootLevel.error}</div>}
      {rootLevel && !rootLevel.loading && !rootLevel.error && rootLevel.children.length === 0 && (
        <div className="muted">No keys under “{root || '(root)'}”.</div>
      )}
      {rootLevel?.next && <button onClick={() => load(root, rootLevel.next ?? undefined)}>more keys…</button>}
    </div>
  );
}

/** Directory prefixes between `root` and `key`: /a/b/c under "" gives "/", "/a/", "/a/b/". */
function ancestors(root: string, key: string | undefined): string[] {
  if (!key || !key.startsWith(root)) return [];
  const out: string[] = [];
  for (let i = root.length; i < key.length; i++) {
    if (key[i] === '/' && i < key.length - 1) out.push(key.slice(0, i + 1));
  }
  return out;
}
