// Who is signed in, in the console's header, with Sign out (nothing when no one is: auth off).
import { sessionStore, useSession } from './session';

export function UserMenu() {
  const { session } = useSession();
  if (!session) return null;
  return (
    <div className="user-menu" data-testid="current-user">
      <span className="small muted">signed in as</span> <b>{session.user}</b>
      <button className="small" onClick={() => sessionStore.signOut()}>
        Sign out
      </button>
    </div>
  );
}
