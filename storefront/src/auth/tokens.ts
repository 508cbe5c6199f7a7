/**
 * The signed-in person's tokens, held in memory only: never in localStorage, sessionStorage or a
 * cookie, so a reload forgets them. The access token is refreshed about a minute before it expires
 * and once when an API refuses it. Refresh tokens rotate, so the newest one always replaces the old,
 * and only one refresh runs at a time: two refreshes with the same token would look like a stolen
 * token to identity_svc, which would then end the whole sign-in.
 */

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
}

export interface Timer {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

/** What changed: new tokens, tokens forgotten on purpose, or a session that ended because a refresh failed. */
export type SessionEvent = "tokens" | "cleared" | "ended";

export const REFRESH_LEAD_SECONDS = 60;

const browserTimer: Timer = {
  set: (callback, delayMs) => setTimeout(callback, delayMs),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * How long to wait before refreshing a token that lives `expiresInSeconds`: until a minute before it
 * expires, or half its life for a token that lives two minutes or less. Null when the life is unknown.
 */
export function refreshDelayMs(expiresInSeconds: number | undefined): number | null {
  if (expiresInSeconds === undefined || !Number.isFinite(expiresInSeconds) || expiresInSeconds <= 0) {
    return null;
  }
  const lead = expiresInSeconds > 2 * REFRESH_LEAD_SECONDS ? REFRESH_LEAD_SECONDS : expiresInSeconds / 2;
  return Math.round((expiresInSeconds - lead) * 1000);
}

export class TokenSession {
  private access: string | null = null;
  private refresh: string | null = null;
  private scheduled: unknown = null;
  private refreshing: Promise<boolean> | null = null;
  private readonly listeners = new Set<(event: SessionEvent) => void>();
  private readonly timer: Timer;
  private readonly refreshTokens: (refreshToken: string) => Promise<TokenResponse>;

  constructor(deps: { refreshTokens: (refreshToken: string) => Promise<TokenResponse>; timer?: Timer }) {
    this.refreshTokens = deps.refreshTokens;
    this.timer = deps.timer ?? browserTimer;
  }

  get accessToken(): string | null {
    return this.access;
  }

  get refreshToken(): string | null {
    return this.refresh;
  }

  /** Take the tokens of a token response, and plan the next refresh. */
  accept(response: TokenResponse): void {
    this.access = response.access_token;
    if (response.refresh_token) {
      this.refresh = response.refresh_token;
    }
    this.schedule(refreshDelayMs(response.expires_in));
    this.emit("tokens");
  }

  /**
   * Get a fresh access token. Given the token an API just refused, a newer token that arrived
   * meanwhile counts as renewed without asking again. Concurrent callers share one refresh. A failed
   * refresh forgets every token (the person is signed out locally) and answers false.
   */
  renew(rejectedAccessToken?: string | null): Promise<boolean> {
    if (this.refreshing) {
      return this.refreshing;
    }
    if (rejectedAccessToken && this.access && rejectedAccessToken !== this.access) {
      return Promise.resolve(true);
    }
    const refreshToken = this.refresh;
    if (!refreshToken) {
      return Promise.resolve(false);
    }
    this.refreshing = this.refreshTokens(refreshToken)
      .then((response) => {
        this.accept(response);
        return true;
      })
      .catch(() => {
        this.forget("ended");
        return false;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** Forget every token, on purpose (sign-out). */
  clear(): void {
    this.forget("cleared");
  }

  onChange(listener: (event: SessionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private forget(event: SessionEvent): void {
    this.access = null;
    this.refresh = null;
    this.schedule(null);
    this.emit(event);
  }

  private schedule(delayMs: number | null): void {
    if (this.scheduled !== null) {
      this.timer.clear(this.scheduled);
      this.scheduled = null;
    }
    if (delayMs !== null && this.refresh) {
      this.scheduled = this.timer.set(() => {
        this.scheduled = null;
        void this.renew();
      }, delayMs);
    }
  }

  private emit(event: SessionEvent): void {
    for (const listener of this.listeners) {
      listener(event);
    }
  }
}
