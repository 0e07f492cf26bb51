import type { Detail, ErrorCode } from '@sales-process/core';

/** A refusal from the server, carrying API.md's envelope. */
export class ApiClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK',
    readonly details: Detail[],
    message: string,
    readonly messages?: { zh: string; en: string },
  ) {
    super(message);
  }
}

export interface ClientConfig {
  baseUrl: string;
  token: string;
  lang?: string;
}

/** The REST client the elements use: JSON in and out, typed errors. */
export class ApiClient {
  constructor(readonly config: ClientConfig) {}

  get root(): string {
    return `${this.config.baseUrl.replace(/\/$/, '')}/api/v1`;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
    let res: Response;
    try {
      res = await fetch(`${this.root}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.config.token}`,
          'accept-language': this.config.lang?.startsWith('en') ? 'en' : 'zh-CN',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new ApiClientError(0, 'NETWORK', [], (e as Error).message || 'network error', { zh: '无法连接服务器', en: 'Cannot reach the server' });
    }
    if (res.status === 204) return { status: 204, data: undefined as T };
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const err = (data as { error?: { code: ErrorCode; message: string; messages?: { zh: string; en: string }; details?: Detail[] } } | null)?.error;
      throw new ApiClientError(res.status, err?.code ?? 'INTERNAL', err?.details ?? [], err?.message ?? res.statusText, err?.messages);
    }
    return { status: res.status, data: data as T };
  }

  get<T>(path: string) {
    return this.request<T>('GET', path).then((r) => r.data);
  }
  post<T>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body ?? {});
  }
  put<T>(path: string, body: unknown) {
    return this.request<T>('PUT', path, body).then((r) => r.data);
  }
  delete(path: string) {
    return this.request<void>('DELETE', path);
  }
}
