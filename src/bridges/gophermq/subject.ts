/**
 * GopherMQ's subject check (docs/gophermq.md "Subjects"): a subject is invalid when it contains a
 * space, tab, CR or LF, or when a `.`-separated token is empty (so `""`, `.a`, `a.` and `a..b`).
 * Subjects match exactly; there are no wildcards.
 */
export function badSubject(subject: string): boolean {
  if (/[ \t\r\n]/.test(subject)) return true;
  return subject.split(".").some((token) => token.length === 0);
}
