import { createHmac, timingSafeEqual } from "node:crypto";
import type http from "node:http";

/** The cookie a login through the dashboard's form sets: a MAC of the token, never the token itself. */
export const SESSION_COOKIE = "upsched_session";

/** The shortest DASHBOARD_TOKEN accepted: a guessable token would open every tenant's queue. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Who may act through the HTTP endpoint. Without DASHBOARD_TOKEN the dashboard is read-only and
 * the JSON API answers 403. With it, every request but /healthz, /readyz, /metrics, /login and
 * /openapi.json proves it knows the token: an `Authorization: Bearer <token>` header, or the
 * session cookie the login form sets (HttpOnly, SameSite=Strict). A write carried by the cookie
 * also carries the CSRF value the page put in its form (or an `X-CSRF-Token` header), and comes
 * from this origin; a bearer header is never sent by a browser on its own, so it needs neither.
 */
export class EndpointAuth {
  readonly enabled: boolean;

  constructor(private readonly token: string | null | undefined) {
    this.enabled = Boolean(token);
  }

  private mac(purpose: string): string {
    return createHmac("sha256", this.token!).update(`upload-scheduler ${purpose}`).digest("base64url");
  }

  /** The session cookie's value. */
  session(): string {
    return this.mac("dashboard session");
  }

  /** The value every form of the page carries, and every write through the cookie must. */
  csrf(): string {
    return this.mac("csrf");
  }

  /** How the request proves it knows the token: its bearer header, its session cookie, or not at all. */
  authenticate(req: http.IncomingMessage): "bearer" | "cookie" | null {
    if (!this.enabled) return null;
    const header = req.headers.authorization;
    if (header && /^bearer /i.test(header) && same(header.slice(7).trim(), this.token!)) return "bearer";
    const cookie = cookies(req.headers.cookie)[SESSION_COOKIE];
    if (cookie && same(cookie, this.session())) return "cookie";
    return null;
  }

  /** Whether a token typed into the login form is the token. */
  isToken(candidate: string | undefined | null): boolean {
    return this.enabled && typeof candidate === "string" && same(candidate, this.token!);
  }

  /**
   * Whether a write is the page's own: the CSRF value matches, and the browser's Origin (sent with
   * every POST) is this endpoint's.
   */
  isOwnWrite(req: http.IncomingMessage, csrf: string | undefined | null): boolean {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`) return false;
    return typeof csrf === "string" && same(csrf, this.csrf());
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** The Set-Cookie header of a login. */
export function sessionCookie(value: string): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(value)}; HttpOnly; SameSite=Strict; Path=/`;
}
