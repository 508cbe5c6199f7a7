/**
 * The one HTTP client of the page. It sends the access token as a bearer token (except on public
 * reads), JSON both ways, an Idempotency-Key where one is given, and no cookies. When an API refuses
 * the token (401), it renews the token once and sends the call once more; a refusal after that, or a
 * failed renewal, is the person being signed out.
 */

import { ApiError } from "./errors";

export interface TokenSource {
  readonly accessToken: string | null;
  renew(rejectedAccessToken?: string | null): Promise<boolean>;
}

export interface RequestOptions {
  body?: unknown;
  idempotencyKey?: string;
  /** A public read: no token is sent, and none is needed. */
  anonymous?: boolean;
  signal?: AbortSignal;
}

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export class ApiClient {
  private readonly tokens: TokenSource;
  private readonly fetchFn: Fetch;

  constructor(deps: { tokens: TokenSource; fetch?: Fetch }) {
    this.tokens = deps.tokens;
    this.fetchFn = deps.fetch ?? ((input, init) => fetch(input, init));
  }

  get<T>(url: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>("GET", url, options);
  }

  post<T>(url: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>("POST", url, { ...options, body });
  }

  put<T>(url: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>("PUT", url, { ...options, body });
  }

  delete(url: string, options: RequestOptions = {}): Promise<void> {
    return this.request<void>("DELETE", url, options);
  }

  async request<T>(method: string, url: string, options: RequestOptions = {}): Promise<T> {
    if (options.anonymous) {
      return this.read<T>(await this.send(method, url, options, null));
    }
    const token = this.tokens.accessToken;
    if (!token) {
      throw ApiError.signedOut();
    }
    let response = await this.send(method, url, options, token);
    if (response.status === 401) {
      if (!(await this.tokens.renew(token)) || !this.tokens.accessToken) {
        throw ApiError.signedOut();
      }
      response = await this.send(method, url, options, this.tokens.accessToken);
    }
    return this.read<T>(response);
  }

  private async send(method: string, url: string, options: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (token) {
      headers["Authorization"] = `Bearer ${token}`;
    }
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
    }
    if (options.idempotencyKey) {
      headers["Idempotency-Key"] = options.idempotencyKey;
    }
    const init: RequestInit = { method, headers, credentials: "omit", cache: "no-store" };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
    }
    if (options.signal) {
      init.signal = options.signal;
    }
    try {
      return await this.fetchFn(url, init);
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") {
        throw error;
      }
      throw ApiError.network();
    }
  }

  private async read<T>(response: Response): Promise<T> {
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      throw ApiError.fromResponse(response.status, text, response.headers.get("Retry-After"));
    }
    if (response.status === 204 || text === "") {
      return undefined as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError({ kind: "http", status: response.status, message: "The server's answer could not be read." });
    }
  }
}
