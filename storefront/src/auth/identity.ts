/**
 * The calls to identity_svc's OAuth endpoints: redeem a code, refresh, revoke. Form-encoded, as
 * OAuth 2 wants; the storefront is a public client, so it sends its client_id and no secret.
 */

import { ApiError } from "../api/errors";
import type { StorefrontConfig } from "../config";
import type { TokenResponse } from "./tokens";

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export class IdentityClient {
  private readonly fetchFn: Fetch;

  constructor(
    private readonly config: StorefrontConfig,
    fetchFn?: Fetch,
  ) {
    this.fetchFn = fetchFn ?? ((input, init) => fetch(input, init));
  }

  exchangeCode(request: { code: string; verifier: string; redirectUri: string }): Promise<TokenResponse> {
    return this.tokens({
      grant_type: "authorization_code",
      code: request.code,
      redirect_uri: request.redirectUri,
      client_id: this.config.client_id,
      code_verifier: request.verifier,
    });
  }

  refresh(refreshToken: string): Promise<TokenResponse> {
    return this.tokens({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: this.config.client_id });
  }

  async revoke(token: string): Promise<void> {
    const response = await this.postForm("/oauth/revoke", { token, client_id: this.config.client_id });
    if (!response.ok) {
      throw ApiError.fromResponse(response.status, await response.text().catch(() => ""));
    }
  }

  private async tokens(form: Record<string, string>): Promise<TokenResponse> {
    const response = await this.postForm("/oauth/token", form);
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      throw ApiError.fromResponse(response.status, text, response.headers.get("Retry-After"));
    }
    let body: Partial<TokenResponse> | null = null;
    try {
      body = JSON.parse(text) as Partial<TokenResponse>;
    } catch {
      body = null;
    }
    if (!body || typeof body.access_token !== "string") {
      throw new ApiError({ kind: "http", status: response.status, message: "The sign-in service gave no usable token." });
    }
    const tokens: TokenResponse = { access_token: body.access_token };
    if (typeof body.refresh_token === "string") {
      tokens.refresh_token = body.refresh_token;
    }
    if (typeof body.expires_in === "number") {
      tokens.expires_in = body.expires_in;
    }
    return tokens;
  }

  private async postForm(path: string, form: Record<string, string>): Promise<Response> {
    try {
      return await this.fetchFn(`${this.config.identity}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: new URLSearchParams(form).toString(),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw ApiError.network();
    }
  }
}
