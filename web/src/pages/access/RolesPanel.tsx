// Roles (etcd's RoleAdd/RoleDelete/RoleGrantPermission/RoleRevokePermission): the list, a role's permissions,
// and a form to grant READ, WRITE or READWRITE on a key, a prefix, every key from a key on, or a range.
// Registry and config permissions are prefixes too: write on /cairn/config/<ns>/<app>/ may publish that app.
import { useState } from 'react';
import { authApi, type PermType } from '../../auth/auth-api';
import { AddForm } from '../../components/AddForm';
import { Confirm, ErrorBanner } from '../../components/common';
import { PickList } from '../../components/PickList';
import { usePoll } from '../../hooks';
import { useAction } from '../../use-action';
import { describeRange, encodeRange, type RangeKind } from './perm-range';

const PERM_TYPES: PermType[] = ['READ', 'WRITE', 'READWRITE'];
const RANGE_KINDS: { kind: RangeKind; label: string }[] = [
  { kind: 'prefix', label: 'prefix' },
  { kind: 'key', label: 'key' },
  { kind: 'from-key', label: 'from key on' },
  { kind: 'range', label: 'range [key, end)' },
];

export function RolesPanel({
  roles,
  error: listError,
  changes,
  onChanged,
}: {
  roles: string[];
  error: unknown;
  changes: number;
  onChanged: () => void;
}) {
  const [selected, setSelected] = useState('');
  const { error, run } = useAction();
  return (
    <div className="panel" data-testid="roles">
      <h3 style={{ marginTop: 0 }}>Roles</h3>
      <ErrorBanner error={listError ?? error} />
      <div className="row">
        <div style={{ minWidth: 180 }}>
          <PickList
            label="roles"
            entries={roles}
            keyOf={(r) => r}
            selected={selected}
            onPick={setSelected}
            render={(r) => <span className="mono">{r}</span>}
          />
          {roles.length === 0 && <div className="muted small">No roles.</div>}
          <AddForm
            label="new role"
            size={14}
            onAdd={(name, clear) =>
              run(authApi.roleAdd(name), () => {
                clear();
                setSelected(name);
                onChanged();
              })
            }
          />
        </div>
        <div className="grow">
          {selected && roles.includes(selected) ? (
            <RoleDetail
              key={selected}
              role={selected}
              changes={changes}
              onChanged={onChanged}
              onDeleted={() => setSelected('')}
            />
          ) : (
            <div className="muted small">Pick a role to see and change its permissions.</div>
          )}
        </div>
      </div>
    </div>
  );
}

function RoleDetail({
  role,
  changes,
  onChanged,
  onDeleted,
}: {
  role: string;
  changes: number;
  onChanged: () => void;
  onDeleted: () => void;
}) {
  const detail = usePoll(() => authApi.roleGet(role), [role, changes]);
  const { error, run } = useAction();
  const [kind, setKind] = useState<RangeKind>('prefix');
  const [key, setKey] = useState('');
  const [end, setEnd] = useState('');
  const [type, setType] = useState<PermType>('READ');
  const [deleting, setDeleting] = useState(false);
  const perms = detail.data?.perm ?? [];
  const changed = (): void => {
    detail.reload();
    onChanged();
  };
  return (
    <div data-testid={`role-${role}`}>
      <ErrorBanner error={detail.error ?? error} />
      <table aria-label={`permissions of ${role}`}>
        <thead>
          <tr>
            <th>Permission</th>
            <th>Range</th>
            <th>Key</th>
            <th>End</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {perms.map((p, i) => {
            const r = describeRange(p.key, p.range_end);
            const permType = p.permType ?? 'READ';
            return (
              <tr key={i}>
                <td>{permType}</td>
                <td>{RANGE_KINDS.find((k) => k.kind === r.kind)?.label}</td>
                <td className="mono">{r.key}</td>
                <td className="mono">{r.end}</td>
                <td>
                  <button
                    className="small"
                    aria-label={`revoke ${permType} on ${r.key}`}
                    onClick={() =>
                      run(authApi.roleRevokePermission(role, p.key ?? '', p.range_end ?? ''), changed)
                    }
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {perms.length === 0 && (
        <div className="muted small">{role === 'root' ? 'root may do anything.' : 'No permissions.'}</div>
      )}
      <form
        className="toolbar"
        aria-label={`grant a permission to ${role}`}
        style={{ marginTop: 8 }}
        onSubmit={(e) => {
          e.preventDefault();
          run(authApi.roleGrantPermission(role, { permType: type, ...encodeRange(kind, key, end) }), () => {
            setKey('');
            setEnd('');
            changed();
          });
        }}
      >
        <label>
          Permission
          <select
            aria-label="permission type"
            value={type}
            onChange={(e) => setType(e.target.value as PermType)}
          >
            {PERM_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          On
          <select aria-label="range kind" value={kind} onChange={(e) => setKind(e.target.value as RangeKind)}>
            {RANGE_KINDS.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Key
          <input
            aria-label="permission key"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            size={30}
            placeholder="/cairn/config/shop/"
          />
        </label>
        {kind === 'range' && (
          <label>
            End
            <input aria-label="range end" value={end} onChange={(e) => setEnd(e.target.value)} size={20} />
          </label>
        )}
        <button className="primary" disabled={!key || (kind === 'range' && !end)}>
          Grant
        </button>
        <button type="button" className="danger" onClick={() => setDeleting(true)}>
          Delete role…
        </button>
      </form>
      <Confirm
        open={deleting}
        title={`Delete role ${role}?`}
        confirmLabel="Delete"
        danger
        onCancel={() => setDeleting(false)}
        onConfirm={() => {
          setDeleting(false);
          run(authApi.roleDelete(role), () => {
            onDeleted();
            onChanged();
          });
        }}
      >
        <p>Users that have it lose its permissions at once.</p>
      </Confirm>
    </div>
  );
}
