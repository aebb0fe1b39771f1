// Password hashing as etcd does it: bcrypt (--bcrypt-cost), hashed by the member that takes the request, so
// the Raft log and the backend only ever hold the hash. bcryptjs yields to the event loop between rounds.
import bcrypt from 'bcryptjs';

/** A bcrypt hash nobody's password matches: compared against when the user is unknown, to take as long. */
const UNKNOWN_USER_HASH = '$2b$10$mfDjaYjn1AIr/6Hx4.ROsexQUKnAjo63BomhFUo1ZM4V.JdkCxca2';

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

/** Whether `password` matches `hash`; a missing hash still costs one comparison. */
export async function checkPassword(password: string, hash: string | undefined): Promise<boolean> {
  const matches = await bcrypt.compare(password, hash || UNKNOWN_USER_HASH);
  return matches && !!hash;
}
